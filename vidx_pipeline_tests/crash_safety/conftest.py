"""Runs killed with SIGKILL in the middle of their work leave no partial commit, and re-running
converges to the refs of a clean run: backfill runs (past partitions, one commit each,
``test_backfill_runs.py``) and operational runs (following a cycle as it is published, committing
every 0.3 s, ``test_operational_runs.py``). Two files, so that the two run on separate workers.

Every kill provably lands inside a run: the parent kills only once the run has reported a
commit (and checks that commit is in the repository), and the run cannot have finished by then,
because it also waits for files that are not published until after the kill. Where in the run
the kill lands (between commits, inside one, while polling) varies with a seeded delay.

This conftest holds what both share: the run in a child process and the checks after a kill.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.validation import check_partition_complete, partial_commit_problems
from vidx_pipeline_tests.workers import Commit, WriterJob, write_job

TRIALS = 6  # per kind: 12 kills in all
COMMIT_TIMEOUT = 120.0


def repo_at(spec: DatasetSpec, path: Path, s3: LocalS3) -> DatasetRepository:
    """A local repository of ``spec`` at ``path`` whose sources are on ``s3``."""
    return open_repository(
        spec, RepositorySettings(local_root=str(path)), source_endpoint=s3.endpoint
    )


class Worker:
    """A run in a child process (``python -m vidx_pipeline_tests.workers``), the commits it
    reports on stdout as they land, and its end by SIGKILL."""

    def __init__(self, job: WriterJob, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        job_file = write_job(job, directory / "worker.job")
        self.stderr_path = directory / "worker.stderr"
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vidx_pipeline_tests.workers", str(job_file)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=Path(__file__).parents[2],
            )
        self.lines: queue.Queue[str | None] = queue.Queue()  # None: end of output
        self.commits: list[Commit] = []
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next_line() == "ready", self._stderr()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def _stderr(self) -> str:
        return self.stderr_path.read_text()[-3000:]

    def _next_line(self, timeout: float = COMMIT_TIMEOUT) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the worker said nothing for {timeout}s") from None

    def _take(self, line: str) -> None:
        assert line.startswith("commit "), line  # a finished run ("done") must not be seen
        self.commits.append(Commit.model_validate_json(line.removeprefix("commit ")))

    def wait_for_commits(self, count: int) -> None:
        """Block until the run has reported ``count`` commits."""
        while len(self.commits) < count:
            line = self._next_line()
            assert line is not None, f"the worker exited: {self._stderr()}"
            self._take(line)

    def kill(self) -> None:
        """SIGKILL the run, which must still be running; collect what it reported before."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL, self._stderr()
        while (line := self._next_line()) is not None:
            self._take(line)


StartWorker = Callable[[WriterJob, Path], Worker]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """Start workers; any a failing test left running is killed (by its pid) at teardown."""
    started: list[Worker] = []

    def start(job: WriterJob, directory: Path) -> Worker:
        started.append(Worker(job, directory))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait(timeout=30)


def assert_consistent_after_kill(
    repo: DatasetRepository, partitions: list[dt.datetime], reported: list[Commit]
) -> None:
    """No partition shows a partial commit; every commit the run reported is in the history
    and its partitions hold all their refs."""
    history = {snapshot.id for snapshot in repo.repo.ancestry(branch="main")}
    assert {commit.snapshot for commit in reported} <= history
    for partition in partitions:
        assert partial_commit_problems(repo, partition) == [], partition
    for partition in {p for commit in reported for p in commit.partitions}:
        report = check_partition_complete(repo, partition)
        assert report.files_ingested > 0, partition
        assert report.absent_refs == [], (partition, report.absent_refs[:5])
