"""Child processes started by offline tools, and how they are stopped.

Processes started in the background can inherit SIGINT/SIGTERM as ignored; children reset
them, and are stopped by PID (or process group) with SIGKILL so none is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any


def reset_signal_handlers() -> None:
    """``preexec_fn`` for children: default SIGINT/SIGTERM handling, whatever was inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_termination() -> None:
    """Make SIGINT and SIGTERM raise :class:`KeyboardInterrupt` in the main thread.

    A plain ``kill`` (SIGTERM) would otherwise end the process without unwinding its ``with``
    blocks and ``finally`` clauses, leaving the servers and runs it started running. Installed
    explicitly, so it holds even where the process inherited the signals as ignored.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def run_process_group(
    command: Sequence[str], env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion in its own session, capturing text output.

    If this process is interrupted meanwhile (any exception, :class:`KeyboardInterrupt`
    included), the command and everything it started are killed before the exception goes on:
    a Dagster CLI run leaves step processes and orphan watchers behind when only its own PID
    is killed.
    """
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=reset_signal_handlers,
    )
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        kill_process_group(process)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def kill_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGKILL a child started with ``start_new_session=True`` and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
