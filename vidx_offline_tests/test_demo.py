"""``make demo`` stopped with a plain ``kill`` leaves none of the processes it started running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MATERIALIZE_LINE = "[demo] asset materialize"
SECONDS_TO_REACH_THE_FIRST_RUN = 600


def _children() -> dict[int, list[int]]:
    """Every live process's children, by parent PID, read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # The command may hold spaces and parentheses: the fields after its last ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    children = _children()
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever reaps orphans here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _command(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def _wait_for_a_dagster_run_with_workers(demo: subprocess.Popen[str]) -> set[int]:
    """The demo's descendants once its ``dagster asset materialize`` has started processes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert demo.poll() is None, "the demo ended before its first run could be interrupted"
        descendants = _descendants(demo.pid)
        runs = [pid for pid in descendants if "asset materialize" in _command(pid)]
        if runs and _descendants(runs[0]):
            return descendants
        time.sleep(0.2)
    raise AssertionError("the demo's first `dagster asset materialize` started no process")


@pytest.mark.slow
def test_a_terminated_demo_stops_its_s3_server_and_the_run_in_flight(tmp_path: Path) -> None:
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
        deadline = time.monotonic() + SECONDS_TO_REACH_THE_FIRST_RUN
        while not any(line.startswith(MATERIALIZE_LINE) for line in output):
            line = demo.stdout.readline()
            assert line, "the demo ended before its first run:\n" + "".join(output)
            assert time.monotonic() < deadline, "the demo did not reach its first run in time"
            output.append(line)
        started = _wait_for_a_dagster_run_with_workers(demo)
        assert any("moto_server" in _command(pid) for pid in started)

        os.kill(demo.pid, signal.SIGTERM)  # a plain kill of the demo alone, not of its group
        demo.communicate(timeout=120)

        assert demo.returncode != 0
        left = {pid: _command(pid) for pid in started if _running(pid)}
        assert not left, f"still running after the demo was terminated: {left}"
    finally:
        for pid in [demo.pid, *started]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        demo.wait(timeout=30)
