"""Eight runs of different partitions committing to one repository at once, on S3 and on a
local directory: every commit lands, and the result equals running them one after another."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import ingest_partition
from vidx_pipeline.repository import RepositorySettings, open_repository, partition_tag
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.validation import check_partition_complete, partial_commit_problems
from vidx_pipeline_tests.conftest import new_repository_settings, small_gfs_spec, write_archive
from vidx_pipeline_tests.refs_snapshot import contents_differences, repository_contents
from vidx_pipeline_tests.workers import WriterJob, run_concurrently

SPEC = small_gfs_spec(lead_hours=(0, 1, 2, 3))
WRITERS = 8
# Out of order on purpose: later partitions grow init_time before earlier ones land.
PARTITIONS = [
    dt.datetime(2025, 9, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i)
    for i in (5, 0, 7, 2, 6, 1, 4, 3)
]
BUCKET = "vidx-concurrency"


@pytest.fixture(scope="module")
def published(local_s3: LocalS3) -> list[dt.datetime]:
    write_archive(local_s3, SPEC, PARTITIONS)
    return PARTITIONS


@pytest.fixture(scope="module")
def sequential(
    tmp_path_factory: pytest.TempPathFactory, local_s3: LocalS3, published: list[dt.datetime]
) -> dict[str, object]:
    """What ingesting the partitions one after another, in one process, commits."""
    root = tmp_path_factory.mktemp("sequential")
    repo = open_repository(
        SPEC, RepositorySettings(local_root=str(root)), source_endpoint=local_s3.endpoint
    )
    store = open_source_store(SPEC.source.store, local_s3.endpoint)
    for when in sorted(published):
        ingest_partition(SPEC, repo, store, when)
    return repository_contents(repo, published)


def _settings(kind: str, tmp_path: Path, s3: LocalS3) -> RepositorySettings:
    return new_repository_settings(kind, tmp_path, s3, BUCKET)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["s3", "local"])
def test_eight_concurrent_writers_all_land(
    tmp_path: Path,
    s3_env: LocalS3,
    published: list[dt.datetime],
    sequential: dict[str, object],
    kind: str,
) -> None:
    settings = _settings(kind, tmp_path, s3_env)
    repo = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint)  # creates it
    before = [snapshot.id for snapshot in repo.repo.ancestry(branch="main")]

    jobs = [
        WriterJob(SPEC, settings, s3_env.endpoint, [when], env=s3_env.env()) for when in published
    ]
    outcomes = run_concurrently(jobs)

    # Every writer committed its own partition, once; and its commit is in the history.
    for job, commits in zip(jobs, outcomes, strict=True):
        assert [commit.partitions for commit in commits] == [job.partitions]
    history = list(repo.repo.ancestry(branch="main"))
    new, old = history[: -len(before)], history[-len(before) :]
    assert [snapshot.id for snapshot in old] == before, "the history was rewritten"
    assert {snapshot.id for snapshot in new} == {c.snapshot for cs in outcomes for c in cs}, (
        "a commit was lost, or one landed that no writer made"
    )
    committed = sorted(p for snapshot in new for p in snapshot.metadata["partitions"])
    assert committed == sorted(when.isoformat() for when in published)

    # No partition lost anything to another writer's commit.
    for when in published:
        assert partial_commit_problems(repo, when) == [], when
        report = check_partition_complete(repo, when)
        assert report.passed, (when, report.files_ingested, report.absent_refs[:5])
        assert report.refs_found > 0
    actual = repository_contents(repo, published)
    assert contents_differences(actual, sequential) == []

    # Each partition's tag, created while the others committed, names its writer's snapshot.
    snapshot_of = {c.partitions[0]: c.snapshot for cs in outcomes for c in cs}
    tags = repo.repo.list_tags()
    assert tags == {partition_tag(SPEC, when) for when in published}
    for when in published:
        assert repo.repo.lookup_tag(partition_tag(SPEC, when)) == snapshot_of[when]
