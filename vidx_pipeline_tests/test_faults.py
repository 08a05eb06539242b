"""Fault injection: a source that fails requests, and a repository store that rejects a commit
mid-way, between the pipeline and the real loopback S3 API (:mod:`vidx_offline.fault_proxy`).

The pipeline must retry what a client retries (HTTP 5xx, with backoff), converge to the same
repository as without faults, and never leave a commit half-visible.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest
from dagster import instance_for_test

from vidx_offline.fault_proxy import FaultPlan, running_fault_proxy
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.completeness import completeness
from vidx_pipeline.checks.coordinates import coordinates
from vidx_pipeline.ingest import IngestResult, IngestSettings, ingest_partition
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT
from vidx_pipeline.orchestration.resources import RepositoryStorageResource
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import (
    SourceClientSettings,
    SourceUnavailableError,
    open_source_store,
)
from vidx_pipeline_tests.conftest import PublishFn, small_gfs_spec
from vidx_pipeline_tests.orchestration.test_sensors import Harness

BUCKET = "gfs-faults-test"
SPEC = small_gfs_spec(bucket=BUCKET)
LATER = dt.timedelta(days=30)
IMPATIENT = SourceClientSettings(
    request_timeout_seconds=0.5,
    max_retries=2,
    retry_timeout_seconds=30,
    initial_backoff_seconds=0.05,
)
"""A client that gives up on a request after 0.5 s and retries it twice."""
SLOW_SECONDS = 3.0


@pytest.fixture
def bucket(local_s3: LocalS3) -> str:
    local_s3.create_bucket(BUCKET, public_read=True)
    return BUCKET


def _ingest(
    repository: DatasetRepository,
    endpoint: str,
    init: dt.datetime,
    client: SourceClientSettings | None = None,
    **settings: object,
) -> IngestResult:
    store = open_source_store(SPEC.source.store, endpoint, client)
    return ingest_partition(
        SPEC,
        repository,
        store,
        init,
        IngestSettings.model_validate(settings),
        clock=lambda: init + LATER,
    )


def _local_repository(tmp_path: Path, s3: LocalS3) -> DatasetRepository:
    return open_repository(
        SPEC, RepositorySettings(local_root=str(tmp_path)), source_endpoint=s3.endpoint
    )


def _values(repository: DatasetRepository, init: dt.datetime) -> dict[str, np.ndarray]:
    """Every variable's values at the partition, read through the repository."""
    import xarray as xr

    ds = xr.open_zarr(repository.repo.readonly_session(branch="main").store, consolidated=False)
    step = ds.sel(init_time=init.replace(tzinfo=None))
    return {name: step[name].values for name in ("temperature_2m", "temperature_isobaric")}


@pytest.mark.slow
def test_a_source_failing_one_request_in_ten_converges_to_the_clean_result(
    tmp_path: Path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours, bucket=bucket)
    clean = _local_repository(tmp_path / "clean", local_s3)
    _ingest(clean, local_s3.endpoint, init)
    faulty = _local_repository(tmp_path / "faulty", local_s3)
    with running_fault_proxy(local_s3.endpoint, FaultPlan(fail_fraction=0.1, seed=7)) as proxy:
        result = _ingest(faulty, proxy.endpoint, init)
    assert proxy.failed > 0  # faults were injected, and retried
    assert result.complete
    assert result.refs_written == SPEC.refs_per_partition
    for name, values in _values(clean, init).items():
        np.testing.assert_array_equal(_values(faulty, init)[name], values, err_msg=name)


@pytest.mark.slow
def test_an_index_failing_with_http_500_then_succeeding_is_retried(
    tmp_path: Path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 10, 2, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours, bucket=bucket)
    index_key = files[3].index_key
    plan = FaultPlan(fail_first=3, methods=frozenset({"GET"}), path_contains=index_key)
    repository = _local_repository(tmp_path, local_s3)
    with running_fault_proxy(local_s3.endpoint, plan) as proxy:
        result = _ingest(repository, proxy.endpoint, init)
    assert proxy.failed == 3
    assert result.complete


def test_a_slow_source_times_out_is_retried_then_fails_naming_the_object(
    tmp_path: Path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 10, 5, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours, bucket=bucket)
    index_key = files[2].index_key
    repository = _local_repository(tmp_path, local_s3)
    tip = repository.repo.lookup_branch("main")
    plan = FaultPlan(
        delay_seconds=SLOW_SECONDS, methods=frozenset({"GET"}), path_contains=index_key
    )
    with (
        running_fault_proxy(local_s3.endpoint, plan) as proxy,
        pytest.raises(
            SourceUnavailableError,
            match=rf"{re.escape(index_key)}: requests timed out; gave up after .*2 retries",
        ),
    ):
        _ingest(repository, proxy.endpoint, init, IMPATIENT)
    assert proxy.matched == 1 + IMPATIENT.max_retries  # the first try and each retry
    assert repository.repo.lookup_branch("main") == tip  # nothing of the batch committed


def test_a_source_slow_for_a_while_is_retried_until_it_answers(
    tmp_path: Path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours, bucket=bucket)
    plan = FaultPlan(
        delay_seconds=SLOW_SECONDS,
        delay_first=IMPATIENT.max_retries,
        methods=frozenset({"GET"}),
        path_contains=files[2].index_key,
    )
    repository = _local_repository(tmp_path, local_s3)
    with running_fault_proxy(local_s3.endpoint, plan) as proxy:
        result = _ingest(repository, proxy.endpoint, init, IMPATIENT)
    assert proxy.matched == 1 + IMPATIENT.max_retries  # two timed out, the last try answered
    assert result.complete
    assert result.refs_written == SPEC.refs_per_partition


@pytest.mark.slow
def test_the_sensor_keeps_starting_runs_through_a_failing_source(
    tmp_path: Path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    cycle = dt.datetime(2025, 10, 3, 6, tzinfo=dt.UTC)
    publish(cycle, [0], bucket=bucket)
    now = cycle + SPEC.publication.first_file_after - SPEC.publication.poll_ahead
    now -= dt.timedelta(minutes=1)  # not due yet: only the published file starts the cycle

    def five_ticks(endpoint: str, root: Path) -> list[str]:
        with instance_for_test() as instance:
            storage = RepositoryStorageResource(
                kind="local", local_root=str(root), source_endpoint=endpoint
            )
            harness = Harness(storage, instance, now, SPEC)
            return [r.run_key or "" for _ in range(5) for r in harness.tick()]

    clean = five_ticks(local_s3.endpoint, tmp_path / "clean")
    with running_fault_proxy(local_s3.endpoint, FaultPlan(fail_fraction=0.1, seed=3)) as proxy:
        faulty = five_ticks(proxy.endpoint, tmp_path / "faulty")
    assert proxy.requests >= 5
    assert clean[0] == f"{cycle.strftime(PARTITION_FORMAT)}:start"
    assert faulty == clean  # the same runs started (then recovered: no run is launched here)


@pytest.mark.slow
def test_a_commit_rejected_mid_way_leaves_nothing_half_visible_and_a_rerun_converges(
    tmp_path: Path, local_s3: LocalS3, s3_env: LocalS3, bucket: str, publish: PublishFn
) -> None:
    """The repository's store (S3) accepts a few writes of the commit, then refuses the rest
    (HTTP 403, which no client retries): the run fails, readers still see the repository as
    before, and a re-run once the store is healthy commits everything."""
    init = dt.datetime(2025, 10, 4, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours, bucket=bucket)
    repositories = "gfs-faults-repositories"
    local_s3.create_bucket(repositories)
    with running_fault_proxy(local_s3.endpoint) as proxy:
        settings = RepositorySettings(
            kind="s3", bucket=repositories, prefix=f"run-{tmp_path.name}", endpoint=proxy.endpoint
        )
        repository = open_repository(SPEC, settings, source_endpoint=local_s3.endpoint)
        tip = repository.repo.lookup_branch("main")
        proxy.plan = FaultPlan(
            pass_first=3, fail_fraction=1.0, fail_status=403, methods=frozenset({"PUT"})
        )
        with pytest.raises(Exception, match=r"403|[Ff]orbidden|AccessDenied|InternalError"):
            _ingest(repository, local_s3.endpoint, init)
        assert proxy.failed > 0
        assert repository.repo.lookup_branch("main") == tip  # nothing of the batch is visible

        proxy.heal()
        reopened = open_repository(SPEC, settings, source_endpoint=local_s3.endpoint)
        result = _ingest(reopened, local_s3.endpoint, init)
    assert result.complete
    assert result.refs_written == SPEC.refs_per_partition
    store = open_source_store(SPEC.source.store, local_s3.endpoint)
    inputs = CheckInputs(reopened, store, [init], init + LATER)
    for check in (coordinates, completeness):
        outcome = check(inputs)
        assert outcome.passed, (check.__name__, outcome.details)
