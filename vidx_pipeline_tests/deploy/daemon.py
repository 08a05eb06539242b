"""The Dagster daemon of a deployment test: ``dagster-daemon run`` on the test's code location
and instance, in its own session, stopped with everything it started (by PID, SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import psutil

from vidx_offline.processes import reset_signal_handlers
from vidx_pipeline_tests.deploy.instance_setup import dagster_cli

LOCATION_MODULE = "vidx_pipeline_tests.deploy.location"
T = TypeVar("T")


class Daemon:
    """A running daemon (and its code server and run workers) and its log."""

    def __init__(self, env: Mapping[str, str], workdir: Path) -> None:
        self.log_path = workdir / "daemon.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [dagster_cli("dagster-daemon"), "run", "-m", LOCATION_MODULE],
                env=dict(env),
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=reset_signal_handlers,
            )

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float = 240.0) -> T:
        """Poll ``probe`` until it returns something truthy; fail naming ``what`` (with the daemon's
        log) after ``timeout`` seconds or if the daemon exits."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon exited waiting for {what}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout}s: {self.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGKILL the daemon's session and every descendant that left it; reap the daemon."""
        descendants: list[psutil.Process] = []
        with contextlib.suppress(psutil.NoSuchProcess):
            descendants = psutil.Process(self.process.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.process.wait(timeout=30)


@contextlib.contextmanager
def running_daemon(env: Mapping[str, str], workdir: Path) -> Iterator[Daemon]:
    daemon = Daemon(env, workdir)
    try:
        yield daemon
    finally:
        daemon.stop()
