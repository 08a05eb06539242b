"""Child processes started by offline tools, and how they are stopped.

Processes started in the background can inherit SIGINT/SIGTERM as ignored; children reset
them, and are stopped by PID (or process group) with SIGKILL so none is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def reset_signal_handlers() -> None:
    """``preexec_fn`` for children: default SIGINT/SIGTERM handling, whatever was inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def kill_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child started with ``start_new_session=True`` and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
