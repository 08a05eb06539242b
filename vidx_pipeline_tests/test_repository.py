"""First runs racing on a brand-new repository: the template is committed once, and nothing any
run committed is lost to another's template, on S3 and on a local directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import icechunk
import pytest

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestResult, ingest_partition
from vidx_pipeline.repository import (
    DatasetRepository,
    RepositorySettings,
    _create_template,
    open_repository,
    reader_credentials,
    repository_config,
)
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.template import write_template
from vidx_pipeline.validation import check_partition_complete, partial_commit_problems
from vidx_pipeline_tests.conftest import new_repository_settings, small_gfs_spec, write_archive
from vidx_pipeline_tests.workers import WriterJob, run_concurrently

SPEC = small_gfs_spec(lead_hours=(0, 1))
WRITERS = 8
PARTITIONS = [
    dt.datetime(2025, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(WRITERS)
]
BUCKET = "vidx-repository-test"


@pytest.fixture(scope="module")
def published(local_s3: LocalS3) -> list[dt.datetime]:
    write_archive(local_s3, SPEC, PARTITIONS)
    return PARTITIONS


def _settings(kind: str, tmp_path: Path, s3: LocalS3) -> RepositorySettings:
    return new_repository_settings(kind, tmp_path, s3, BUCKET)


def _assert_partitions_whole(repo: DatasetRepository, partitions: list[dt.datetime]) -> None:
    for when in partitions:
        assert partial_commit_problems(repo, when) == [], when
        report = check_partition_complete(repo, when)
        assert report.passed, (when, report.files_ingested, report.absent_refs[:5])
        assert report.files_ingested == len(SPEC.lead_hours)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["s3", "local"])
def test_concurrent_first_runs_commit_the_template_once(
    tmp_path: Path, s3_env: LocalS3, published: list[dt.datetime], kind: str
) -> None:
    settings = _settings(kind, tmp_path, s3_env)
    assert not icechunk.Repository.exists(settings.storage(SPEC.dataset_id))
    jobs = [
        WriterJob(SPEC, settings, s3_env.endpoint, [when], env=s3_env.env(), create=True)
        for when in published
    ]
    outcomes = run_concurrently(jobs)

    repo = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint, create=False)
    history = list(repo.repo.ancestry(branch="main"))  # newest first
    kinds = [snapshot.metadata.get("kind") for snapshot in history]
    assert kinds.count("template") == 1, [s.message for s in history]
    # The repository's own first snapshot, then the template, then one commit per run.
    assert kinds[-2] == "template"
    assert len(history) == 2 + WRITERS
    for job, commits in zip(jobs, outcomes, strict=True):
        assert [commit.partitions for commit in commits] == [job.partitions]
    assert {c.snapshot for cs in outcomes for c in cs} == {s.id for s in history[:WRITERS]}
    _assert_partitions_whole(repo, published)


@dataclass
class _OtherWriterAtFirstSession(DatasetRepository):
    """A handle on which ``other_writer`` runs when the first writable session is asked for:
    just before that session is taken (its base then holds the other writer's commits), or just
    after (its base predates them, so a check made in it sees the repository without them)."""

    other_writer: Callable[[], None] | None = None
    other_writer_first: bool = True

    def writable_session(self) -> icechunk.Session:
        other_writer, self.other_writer = self.other_writer, None
        if other_writer is not None and self.other_writer_first:
            other_writer()
        session = super().writable_session()
        if other_writer is not None and not self.other_writer_first:
            other_writer()
        return session


@pytest.mark.parametrize("b_lands", ["before A's session", "after A's session"])
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_template_write_that_lost_the_race_wipes_nothing(
    tmp_path: Path, s3_env: LocalS3, published: list[dt.datetime], kind: str, b_lands: str
) -> None:
    """Run A finds a brand-new repository without its template; run B then commits the template
    and a partition, either before A opens the session it writes the template in, or after (A's
    check in that session then sees no template and its write must conflict). Either way A must
    end up with B's template and commit nothing over B's partition."""
    settings = _settings(kind, tmp_path, s3_env)
    when = published[0]
    # A brand-new repository, as open_repository leaves it between creating it and committing
    # its template.
    bare = icechunk.Repository.create(
        settings.storage(SPEC.dataset_id),
        config=repository_config(SPEC, s3_env.endpoint),
        authorize_virtual_chunk_access=reader_credentials(SPEC),
    )
    b_ingested: list[IngestResult] = []

    def run_b() -> None:
        b = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint)  # the template
        store = open_source_store(SPEC.source.store, s3_env.endpoint)
        b_ingested.append(ingest_partition(SPEC, b, store, when))  # and a partition

    a = _OtherWriterAtFirstSession(
        SPEC,
        settings,
        bare,
        other_writer=run_b,
        other_writer_first=b_lands == "before A's session",
    )
    assert not a.has_template()  # A's check, as open_repository makes it
    _create_template(a)

    (b_result,) = b_ingested  # B did run between A's check and A's write
    assert b_result.snapshot_id is not None
    history = list(bare.ancestry(branch="main"))
    assert [s.metadata.get("kind") for s in history].count("template") == 1
    assert history[0].id == b_result.snapshot_id, "A committed on top of B's partition"
    _assert_partitions_whole(a, [when])

    # What was at stake: the template written over that history would have wiped B's partition.
    session = a.writable_session()
    write_template(SPEC, session.store)
    a.commit(session, "template over a partition", {})
    assert not check_partition_complete(a, when).passed
