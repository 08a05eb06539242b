"""Operational runs follow a cycle as it is published, and stop at its deadline."""

from __future__ import annotations

import datetime as dt
import itertools
import time

from vidx_offline.gfs_archive import GfsArchiveConfig
from vidx_offline.publisher import CyclePublisher, render_cycle
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestResult, IngestRun, IngestSettings, ingest_partition
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline_tests.conftest import PublishFn, small_gfs_spec, spec_fields
from vidx_pipeline_tests.refs_snapshot import contents_differences, repository_contents

BUCKET = "gfs-follow-test"
SPEC = small_gfs_spec(bucket=BUCKET)
COMMIT_INTERVAL = 1.0


def _current_cycle() -> dt.datetime:
    axis = SPEC.append_dimension
    return axis.latest_at_or_before(dt.datetime.now(dt.UTC))


def _repo(path, s3: LocalS3):
    return open_repository(
        SPEC, RepositorySettings(local_root=str(path)), source_endpoint=s3.endpoint
    )


def test_operational_run_follows_publication_to_completion(tmp_path, local_s3: LocalS3) -> None:
    local_s3.create_bucket(BUCKET, public_read=True)
    cycle = _current_cycle()
    config = GfsArchiveConfig(
        init_times=(cycle,),
        lead_hours=SPEC.lead_hours,
        grid=SPEC.grid.shape,
        fields=spec_fields(SPEC),
    )
    files = render_cycle(config, cycle, SPEC.lead_hours)
    half = len(files) // 2
    # The first half of the cycle is published as the run starts; the second half only once
    # the run has committed: the run has to keep following publication to complete the cycle.
    first, second = (
        CyclePublisher(
            local_s3.store(BUCKET), part, file_interval_seconds=0.4, index_lag_seconds=0.3
        )
        for part in (files[:half], files[half:])
    )
    repo = _repo(tmp_path / "operational", local_s3)
    store = open_source_store(SPEC.source.store, local_s3.endpoint)
    # Per commit: when it started (the run's clock), when it had landed (wall clock, as the
    # publisher records visibility), and how many files the partition then held.
    commits: list[tuple[float, float, int]] = []

    def on_commit(snapshot: str, results: list[IngestResult]) -> None:
        (result,) = results
        started = time.perf_counter() - result.commit_seconds
        commits.append((started, time.time(), result.files_ingested))
        if len(commits) == 1:
            second.start()

    settings = IngestSettings(commit_interval_seconds=COMMIT_INTERVAL, poll_interval_seconds=0.25)
    run = IngestRun(SPEC, repo, store, [cycle], settings, on_commit=on_commit)
    first.start()
    (result,) = run.run()
    published = first.join() + second.join()

    # It did not stop at what was published when it first committed, and ended when every
    # file was in.
    assert result.complete
    assert result.files_ingested == len(files)
    assert commits[0][2] <= half < commits[-1][2] == len(files)
    # Commits start at most once per interval (the last may come sooner: nothing more can
    # arrive), and none holds a file before its index was visible.
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(commits[:-1])]
    assert all(gap >= COMMIT_INTERVAL * 0.95 for gap in gaps), gaps
    for _, at, files_in in commits:
        visible = sum(
            p.index_visible_at is not None and p.index_visible_at <= at for p in published
        )
        assert files_in <= visible, (at, files_in, visible)

    # Same refs as ingesting the finished cycle in one go.
    reference = _repo(tmp_path / "reference", local_s3)
    ingest_partition(SPEC, reference, store, cycle)
    actual = repository_contents(repo, [cycle])
    assert contents_differences(actual, repository_contents(reference, [cycle])) == []


class SteppingClock:
    """A clock that reads ``before`` for its first ``ticks`` readings, ``after`` from then on."""

    def __init__(self, before: dt.datetime, after: dt.datetime, ticks: int) -> None:
        self.readings = 0
        self.before, self.after, self.ticks = before, after, ticks

    def __call__(self) -> dt.datetime:
        self.readings += 1
        return self.before if self.readings <= self.ticks else self.after


def test_run_ends_at_the_deadline_with_what_was_published(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    cycle = dt.datetime(2025, 10, 5, 0, tzinfo=dt.UTC)
    publish(cycle, SPEC.lead_hours[:3], bucket=BUCKET)
    local_s3.create_bucket(BUCKET, public_read=True)
    deadline = cycle + SPEC.publication.last_file_after + dt.timedelta(hours=1)
    clock = SteppingClock(deadline - dt.timedelta(seconds=1), deadline, ticks=3)
    repo = _repo(tmp_path, local_s3)
    store = open_source_store(SPEC.source.store, local_s3.endpoint)
    settings = IngestSettings(commit_interval_seconds=0, poll_interval_seconds=0.05)
    (result,) = IngestRun(SPEC, repo, store, [cycle], settings, clock=clock).run()
    assert clock.readings > 3  # it kept polling until the deadline passed
    assert (result.files_ingested, result.complete) == (3, False)
