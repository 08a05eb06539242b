"""``make demo`` stopped with a plain ``kill`` leaves none of the processes it started running.

The demo is stopped while it writes its first archive, with its S3 server up; what stops a
Dagster run in flight with it (:func:`vidx_offline.processes.run_process_group`) is tested on
its own in ``test_processes.py``, as stopping the demo later would first take minutes of
encoding.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidx_offline_tests.process_tree import command_line, descendants, kill_all, terminate

ROOT = Path(__file__).resolve().parents[1]
SERVER_LINE = "[demo] local S3 API on "
SECONDS_TO_START = 120


@pytest.mark.slow
def test_a_terminated_demo_stops_its_s3_server(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-u", "-m", "vidx_offline.demo"],
        cwd=tmp_path,  # the demo writes ./demo-output
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # vidx_offline is not in the wheel
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        assert demo.stdout is not None
        output: list[str] = []
        deadline = time.monotonic() + SECONDS_TO_START
        while not any(line.startswith(SERVER_LINE) for line in output):
            line = demo.stdout.readline()
            assert line, "the demo ended before starting its S3 server:\n" + "".join(output)
            assert time.monotonic() < deadline, "the demo did not start its S3 server in time"
            output.append(line)
        started = descendants(demo.pid)
        assert any("moto_server" in command_line(pid) for pid in started)

        left = terminate(demo, started)
        assert not left, f"still running after the demo was terminated: {left}"
    finally:
        kill_all(demo, started)
