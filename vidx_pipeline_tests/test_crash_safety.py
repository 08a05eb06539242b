"""Runs killed with SIGKILL at random moments leave no partial commit, and re-running converges
to the refs of a clean run. Backfill runs (past partitions, one commit each) and operational
runs (following a cycle as it is published, committing every 0.3 s)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_offline.gfs_archive import GfsArchiveConfig
from vidx_offline.publisher import CyclePublisher, render_cycle
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.validation import partial_commit_problems
from vidx_pipeline_tests.conftest import small_gfs_spec, spec_fields, write_archive
from vidx_pipeline_tests.refs_snapshot import repository_contents

BACKFILL_SPEC = small_gfs_spec(lead_hours=(0, 1, 2, 3))
BACKFILL = [dt.datetime(2025, 10, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(4)]
OPERATIONAL_BUCKET = "gfs-crash-operational"
OPERATIONAL_SPEC = small_gfs_spec(bucket=OPERATIONAL_BUCKET)
TRIALS = 6  # per kind: 12 kills in all


def _repo(spec: DatasetSpec, path: Path, s3: LocalS3) -> DatasetRepository:
    return open_repository(
        spec, RepositorySettings(local_root=str(path)), source_endpoint=s3.endpoint
    )


def _start_worker(
    spec: DatasetSpec,
    path: Path,
    s3: LocalS3,
    partitions: list[dt.datetime],
    settings: IngestSettings,
) -> subprocess.Popen[str]:
    arguments = {
        "spec": spec.model_dump_json(),
        "repository": RepositorySettings(local_root=str(path)).model_dump_json(),
        "endpoint": s3.endpoint,
        "partitions": [p.isoformat() for p in partitions],
        "settings": settings.model_dump_json(),
        "env": s3.env(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "vidx_pipeline_tests.workers", json.dumps(arguments)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def _kill(process: subprocess.Popen[str]) -> bool:
    """SIGKILL the worker; True if it had not finished."""
    finished = process.poll() is not None
    if not finished:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return not finished and process.returncode == -signal.SIGKILL


def _assert_no_partial_commit(repo: DatasetRepository, partitions: list[dt.datetime]) -> None:
    for partition in partitions:
        assert partial_commit_problems(repo, partition) == [], partition


@pytest.fixture(scope="module")
def backfill_archive(local_s3: LocalS3) -> None:
    write_archive(local_s3, BACKFILL_SPEC, BACKFILL)


def test_killed_backfills_leave_no_partial_commit(
    tmp_path, local_s3: LocalS3, backfill_archive: None
) -> None:
    store = open_source_store(BACKFILL_SPEC.source.store, local_s3.endpoint)
    clean = _repo(BACKFILL_SPEC, tmp_path / "clean", local_s3)
    for partition in BACKFILL:
        ingest_partition(BACKFILL_SPEC, clean, store, partition)
    expected = repository_contents(clean, BACKFILL)

    killed_mid_run = 0
    for trial in range(TRIALS):
        path = tmp_path / f"trial-{trial}"
        repo = _repo(BACKFILL_SPEC, path, local_s3)
        worker = _start_worker(BACKFILL_SPEC, path, local_s3, BACKFILL, IngestSettings())
        delay = random.Random(trial).uniform(0.0, 1.5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=delay)
        killed_mid_run += _kill(worker)
        _assert_no_partial_commit(repo, BACKFILL)
        for partition in BACKFILL:  # re-run
            ingest_partition(BACKFILL_SPEC, repo, store, partition)
        assert repository_contents(repo, BACKFILL) == expected, f"trial {trial}, kill at {delay}"
    assert killed_mid_run >= TRIALS // 2, "most kills must land inside the run"


def test_killed_operational_runs_leave_no_partial_commit(tmp_path, local_s3: LocalS3) -> None:
    spec = OPERATIONAL_SPEC
    local_s3.create_bucket(OPERATIONAL_BUCKET, public_read=True)
    axis = spec.append_dimension
    cycle = axis.latest_at_or_before(dt.datetime.now(dt.UTC))
    config = GfsArchiveConfig(
        init_times=(cycle,),
        lead_hours=spec.lead_hours,
        grid=spec.grid.shape,
        fields=spec_fields(spec),
    )
    source = open_source_store(spec.source.store, local_s3.endpoint)
    settings = IngestSettings(commit_interval_seconds=0.3, poll_interval_seconds=0.1)
    killed_mid_run = 0
    for trial in range(TRIALS):
        client = local_s3.boto3_client()
        for item in client.list_objects_v2(Bucket=OPERATIONAL_BUCKET).get("Contents", []):
            client.delete_object(Bucket=OPERATIONAL_BUCKET, Key=item["Key"])
        path = tmp_path / f"trial-{trial}"
        repo = _repo(spec, path, local_s3)
        publisher = CyclePublisher(
            local_s3.store(OPERATIONAL_BUCKET),
            render_cycle(config, cycle, spec.lead_hours),
            file_interval_seconds=0.2,
            index_lag_seconds=0.1,
        )
        worker = _start_worker(spec, path, local_s3, [cycle], settings)
        publisher.start()
        delay = random.Random(100 + trial).uniform(0.1, 1.6)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=delay)
        killed_mid_run += _kill(worker)
        publisher.join(timeout=30)
        _assert_no_partial_commit(repo, [cycle])
        ingest_partition(spec, repo, source, cycle, settings)  # re-run: all files are out now
        clean = _repo(spec, tmp_path / f"clean-{trial}", local_s3)
        ingest_partition(spec, clean, source, cycle, settings)
        assert repository_contents(repo, [cycle]) == repository_contents(clean, [cycle]), (
            f"trial {trial}, kill at {delay}"
        )
    assert killed_mid_run >= TRIALS // 2, "most kills must land inside the run"
