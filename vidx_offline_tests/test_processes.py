"""A tool that runs a command with :func:`run_process_group` and is stopped with a plain
``kill`` stops the command and everything the command started (a Dagster CLI run leaves step
processes and orphan watchers behind when only its own PID is killed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from vidx_offline.processes import run_process_group
from vidx_offline_tests.process_tree import command_line, descendants, kill_all, terminate

ROOT = Path(__file__).resolve().parents[1]
SLEEPER = "import time; time.sleep(600)"
# A command that starts a grandchild of its own, then waits.
COMMAND = (
    "import subprocess, sys, time; "
    f"subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); "
    "time.sleep(600)"
)
TOOL = textwrap.dedent(
    f"""
    import os, sys
    from vidx_offline.processes import interrupt_on_termination, run_process_group
    interrupt_on_termination()
    run_process_group([sys.executable, "-c", {COMMAND!r}], dict(os.environ))
    """
)


def test_a_command_that_finishes_gives_its_output_and_status() -> None:
    completed = run_process_group(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); exit(3)"],
        dict(os.environ),
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (3, "out\n", "err\n")


def test_a_terminated_tool_stops_the_command_and_what_the_command_started() -> None:
    tool = subprocess.Popen(
        [sys.executable, "-c", TOOL],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(started) < 2:  # the command and its grandchild
            assert tool.poll() is None, "the tool ended on its own"
            assert time.monotonic() < deadline, "the command did not start its grandchild"
            time.sleep(0.05)
            started = descendants(tool.pid)
        assert sum(command_line(pid).endswith(f"-c {SLEEPER} ") for pid in started) == 1

        left = terminate(tool, started)
        assert not left, f"still running after the tool was terminated: {left}"
    finally:
        kill_all(tool, started)
