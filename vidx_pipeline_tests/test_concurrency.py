"""Eight runs of different partitions committing to one repository at once, on S3 and on a
local directory: every commit lands, and the result equals running them one after another."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest

from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.offline.s3_server import LocalS3
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline_tests.conftest import small_gfs_spec, write_archive
from vidx_pipeline_tests.refs_snapshot import repository_contents
from vidx_pipeline_tests.workers import report_ingest

SPEC = small_gfs_spec(lead_hours=(0, 1, 2, 3))
WRITERS = 8
# Out of order on purpose: later partitions grow init_time before earlier ones land.
PARTITIONS = [
    dt.datetime(2025, 9, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i)
    for i in (5, 0, 7, 2, 6, 1, 4, 3)
]


@pytest.fixture(scope="module")
def published(local_s3: LocalS3) -> list[dt.datetime]:
    write_archive(local_s3, SPEC, PARTITIONS)
    return PARTITIONS


def _sequential(tmp_path, s3: LocalS3):
    repo = open_repository(
        SPEC,
        RepositorySettings(local_root=str(tmp_path / "sequential")),
        source_endpoint=s3.endpoint,
    )
    store = open_source_store(SPEC.source.store, s3.endpoint)
    for when in sorted(PARTITIONS):
        ingest_partition(SPEC, repo, store, when)
    return repository_contents(repo, PARTITIONS)


@pytest.mark.parametrize("kind", ["s3", "local"])
def test_eight_concurrent_writers_all_land(
    tmp_path, local_s3: LocalS3, s3_env: LocalS3, published: list[dt.datetime], kind: str
) -> None:
    if kind == "s3":
        local_s3.create_bucket("vidx-concurrency")
        settings = RepositorySettings(
            kind="s3",
            bucket="vidx-concurrency",
            prefix=f"run-{tmp_path.name}",
            endpoint=local_s3.endpoint,
        )
    else:
        settings = RepositorySettings(local_root=str(tmp_path / "concurrent"))
    repo = open_repository(SPEC, settings, source_endpoint=local_s3.endpoint)  # creates it
    before = len(list(repo.repo.ancestry(branch="main")))

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    results = context.Queue()
    processes = [
        context.Process(
            target=report_ingest,
            args=(
                results,
                SPEC.model_dump_json(),
                settings.model_dump_json(),
                local_s3.endpoint,
                [when.isoformat()],
                IngestSettings().model_dump_json(),
                local_s3.env(),
                barrier,
            ),
        )
        for when in PARTITIONS
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=240) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert not any(isinstance(outcome, str) for outcome in outcomes), outcomes

    attempts = [attempt for outcome in outcomes for attempt, _ in outcome]
    snapshots = {snapshot for outcome in outcomes for _, snapshot in outcome}
    assert None not in snapshots
    assert len(snapshots) == WRITERS
    history = list(repo.repo.ancestry(branch="main"))
    assert len(history) == before + WRITERS, "a commit was lost"
    assert snapshots <= {s.id for s in history}
    # Races did happen (and were redone), or this test proved nothing about them.
    assert sum(attempts) > WRITERS
    assert repository_contents(repo, PARTITIONS) == _sequential(tmp_path, local_s3)
