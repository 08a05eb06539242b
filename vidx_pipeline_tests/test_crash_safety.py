"""Runs killed with SIGKILL in the middle of their work leave no partial commit, and re-running
converges to the refs of a clean run. Backfill runs (past partitions, one commit each) and
operational runs (following a cycle as it is published, committing every 0.3 s).

Every kill provably lands inside a run: the parent kills only once the run has reported a
commit (and checks that commit is in the repository), and the run cannot have finished by then,
because it also waits for files that are not published until after the kill. Where in the run
the kill lands (between commits, inside one, while polling) varies with a seeded delay.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import obstore
import pytest

from vidx_offline.gfs_archive import GfsArchiveConfig, GfsFile
from vidx_offline.publisher import CyclePublisher, render_cycle
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.validation import check_partition_complete, partial_commit_problems
from vidx_pipeline_tests.conftest import small_gfs_spec, spec_fields, write_archive
from vidx_pipeline_tests.refs_snapshot import contents_differences, repository_contents
from vidx_pipeline_tests.workers import Commit, WriterJob, write_job

BACKFILL_SPEC = small_gfs_spec(lead_hours=(0, 1, 2, 3))
BACKFILL = [dt.datetime(2025, 10, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(4)]
OPERATIONAL_BUCKET = "gfs-crash-operational"
TRIALS = 6  # per kind: 12 kills in all
COMMIT_TIMEOUT = 120.0


def _repo(spec: DatasetSpec, path: Path, s3: LocalS3) -> DatasetRepository:
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
                cwd=Path(__file__).parents[1],
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


def _assert_consistent_after_kill(
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


@pytest.fixture(scope="module")
def backfill_archive(local_s3: LocalS3) -> None:
    write_archive(local_s3, BACKFILL_SPEC, BACKFILL)


@pytest.mark.slow
def test_killed_backfills_leave_no_partial_commit(
    tmp_path: Path, local_s3: LocalS3, backfill_archive: None, start_worker: StartWorker
) -> None:
    spec = BACKFILL_SPEC
    files_per_partition = len(spec.lead_hours)
    store = open_source_store(spec.source.store, local_s3.endpoint)
    clean = _repo(spec, tmp_path / "clean", local_s3)
    for partition in BACKFILL:
        ingest_partition(spec, clean, store, partition)
    expected = repository_contents(clean, BACKFILL)
    # A cycle a day ahead, which nobody publishes: the run polls for it until its deadline, a
    # day away, so it is still running when it is killed.
    latest = spec.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    unpublished = latest + dt.timedelta(days=1)
    # One commit per partition: the run commits as soon as a partition's files are pending.
    settings = IngestSettings(max_files_per_commit=files_per_partition)

    for trial in range(TRIALS):
        seeded = random.Random(trial)
        kill_after_commits = seeded.randint(1, len(BACKFILL))  # the last: while it polls
        delay = seeded.uniform(0.0, 0.5)
        path = tmp_path / f"trial-{trial}"
        repo = _repo(spec, path / "repo", local_s3)
        job = WriterJob(
            spec,
            repo.settings,
            local_s3.endpoint,
            [*BACKFILL, unpublished],
            settings,
            env=local_s3.env(),
        )
        worker = start_worker(job, path)
        worker.wait_for_commits(kill_after_commits)
        time.sleep(delay)
        worker.kill()
        where = f"trial {trial}: killed {delay:.2f}s after commit {kill_after_commits}"

        _assert_consistent_after_kill(repo, BACKFILL, worker.commits)
        assert [c.partitions for c in worker.commits] == [[p] for p in BACKFILL][
            : len(worker.commits)
        ], where
        for partition in BACKFILL:  # each commit is a whole partition, or nothing of it
            ingested = check_partition_complete(repo, partition).files_ingested
            assert ingested in (0, files_per_partition), (where, partition, ingested)

        for partition in BACKFILL:  # re-run
            ingest_partition(spec, repo, store, partition)
        actual = repository_contents(repo, BACKFILL)
        assert contents_differences(actual, expected) == [], where


def _empty_bucket(s3: LocalS3, bucket: str) -> str:
    """``bucket``, public like the producer's, holding nothing."""
    s3.create_bucket(bucket, public_read=True)
    client = s3.boto3_client()
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    return bucket


def _publish(s3: LocalS3, bucket: str, files: list[GfsFile]) -> None:
    store = s3.store(bucket)
    for file in files:
        obstore.put(store, file.data_key, file.data)
        obstore.put(store, file.index_key, file.index_text.encode())


@pytest.mark.slow
def test_killed_operational_runs_leave_no_partial_commit(
    tmp_path: Path, local_s3: LocalS3, start_worker: StartWorker
) -> None:
    base = small_gfs_spec(bucket=OPERATIONAL_BUCKET)
    cycle = base.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    config = GfsArchiveConfig(
        init_times=(cycle,),
        lead_hours=base.lead_hours,
        grid=base.grid.shape,
        fields=spec_fields(base),
    )
    files = render_cycle(config, cycle, base.lead_hours)
    settings = IngestSettings(commit_interval_seconds=0.3, poll_interval_seconds=0.1)

    # The clean run: the same files, all out, in a bucket of their own. Trials publish the same
    # bytes into buckets of theirs, so their refs compare byte for byte with these.
    _publish(local_s3, _empty_bucket(local_s3, f"{OPERATIONAL_BUCKET}-clean"), files)
    clean_spec = small_gfs_spec(bucket=f"{OPERATIONAL_BUCKET}-clean")
    clean = _repo(clean_spec, tmp_path / "clean", local_s3)
    ingest_partition(
        clean_spec, clean, open_source_store(clean_spec.source.store, local_s3.endpoint), cycle
    )
    expected = repository_contents(clean, [cycle])

    for trial in range(TRIALS):
        delay = random.Random(100 + trial).uniform(0.0, 1.2)
        bucket = _empty_bucket(local_s3, f"{OPERATIONAL_BUCKET}-{trial}")
        spec = small_gfs_spec(bucket=bucket)
        path = tmp_path / f"trial-{trial}"
        repo = _repo(spec, path / "repo", local_s3)
        # Every file but the last is published while the run follows; the last only after the
        # kill, so the run cannot have completed the cycle when it is killed (and its deadline,
        # the latest publication plus an hour's grace, is at least an hour away).
        publisher = CyclePublisher(
            local_s3.store(bucket),
            files[:-1],
            file_interval_seconds=0.2,
            index_lag_seconds=0.1,
        )
        job = WriterJob(spec, repo.settings, local_s3.endpoint, [cycle], settings, local_s3.env())
        worker = start_worker(job, path)  # started, its imports done
        publisher.start()
        worker.wait_for_commits(1)
        time.sleep(delay)
        worker.kill()
        publisher.join(timeout=30)
        where = f"trial {trial}: killed {delay:.2f}s after its first commit"

        _assert_consistent_after_kill(repo, [cycle], worker.commits)
        ingested = check_partition_complete(repo, cycle).files_ingested
        assert 0 < ingested < len(files), (where, ingested)

        _publish(local_s3, bucket, files[-1:])
        source = open_source_store(spec.source.store, local_s3.endpoint)
        result = ingest_partition(spec, repo, source, cycle, settings)  # re-run
        assert result.files_already_ingested == ingested, where  # nothing fetched twice
        assert result.complete, where
        actual = repository_contents(repo, [cycle])
        assert contents_differences(actual, expected) == [], where
