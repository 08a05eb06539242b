"""A process's descendants and their state, read from ``/proc`` (Linux), for tests that check
that stopping a tool leaves nothing running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path


def _state_and_parent(pid: str) -> tuple[str, int]:
    # The command may hold spaces and parentheses: the fields come after its last ')'.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every live (not zombie) descendant of ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                state, parent = _state_and_parent(entry.name)
                if state != "Z":
                    children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever reaps orphans here)."""
    try:
        return _state_and_parent(str(pid))[0] != "Z"
    except OSError:
        return False


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def terminate(
    process: subprocess.Popen[str] | subprocess.Popen[bytes], started: Iterable[int]
) -> dict[int, str]:
    """SIGTERM ``process`` alone (not its group), wait for it to end (it must end failing),
    and return those of ``started`` still running, with their command lines."""
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode != 0
    return {pid: command_line(pid) for pid in started if running(pid)}


def kill_all(
    process: subprocess.Popen[str] | subprocess.Popen[bytes], started: Iterable[int]
) -> None:
    """SIGKILL ``process`` and ``started`` (a test's clean-up, whatever happened) and reap it."""
    for pid in [process.pid, *started]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
