"""Operational runs killed with SIGKILL while they follow a cycle leave no partial commit;
re-running converges (the package's conftest says how every kill provably lands inside a run)."""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

import pytest

from vidx_offline.gfs_archive import GfsArchiveConfig
from vidx_offline.publisher import CyclePublisher, render_cycle
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.validation import check_partition_complete
from vidx_pipeline_tests.conftest import (
    empty_bucket,
    publish_files,
    small_gfs_spec,
    spec_fields,
)
from vidx_pipeline_tests.crash_safety.conftest import (
    TRIALS,
    StartWorker,
    assert_consistent_after_kill,
    repo_at,
)
from vidx_pipeline_tests.refs_snapshot import contents_differences, repository_contents
from vidx_pipeline_tests.workers import WriterJob

OPERATIONAL_BUCKET = "gfs-crash-operational"


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
    publish_files(local_s3, empty_bucket(local_s3, f"{OPERATIONAL_BUCKET}-clean"), files)
    clean_spec = small_gfs_spec(bucket=f"{OPERATIONAL_BUCKET}-clean")
    clean = repo_at(clean_spec, tmp_path / "clean", local_s3)
    ingest_partition(
        clean_spec, clean, open_source_store(clean_spec.source.store, local_s3.endpoint), cycle
    )
    expected = repository_contents(clean, [cycle])

    for trial in range(TRIALS):
        delay = random.Random(100 + trial).uniform(0.0, 1.2)
        bucket = empty_bucket(local_s3, f"{OPERATIONAL_BUCKET}-{trial}")
        spec = small_gfs_spec(bucket=bucket)
        path = tmp_path / f"trial-{trial}"
        repo = repo_at(spec, path / "repo", local_s3)
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

        assert_consistent_after_kill(repo, [cycle], worker.commits)
        ingested = check_partition_complete(repo, cycle).files_ingested
        assert 0 < ingested < len(files), (where, ingested)

        publish_files(local_s3, bucket, files[-1:])
        source = open_source_store(spec.source.store, local_s3.endpoint)
        result = ingest_partition(spec, repo, source, cycle, settings)  # re-run
        assert result.files_already_ingested == ingested, where  # nothing fetched twice
        assert result.complete, where
        actual = repository_contents(repo, [cycle])
        assert contents_differences(actual, expected) == [], where
