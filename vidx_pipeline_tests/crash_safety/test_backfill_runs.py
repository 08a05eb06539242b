"""Backfill runs killed with SIGKILL leave no partial commit; re-running converges (the
package's conftest says how every kill provably lands inside a run)."""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

import pytest

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.validation import check_partition_complete
from vidx_pipeline_tests.conftest import small_gfs_spec, write_archive
from vidx_pipeline_tests.crash_safety.conftest import (
    TRIALS,
    StartWorker,
    assert_consistent_after_kill,
    repo_at,
)
from vidx_pipeline_tests.refs_snapshot import contents_differences, repository_contents
from vidx_pipeline_tests.workers import WriterJob

BACKFILL_SPEC = small_gfs_spec(lead_hours=(0, 1, 2, 3))
BACKFILL = [dt.datetime(2025, 10, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(4)]


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
    clean = repo_at(spec, tmp_path / "clean", local_s3)
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
        repo = repo_at(spec, path / "repo", local_s3)
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

        assert_consistent_after_kill(repo, BACKFILL, worker.commits)
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
