"""The publication sensor against a live local S3 API and a real (SQLite) Dagster instance.

The sensor's clock is fixed in every test, relative to a cycle and the spec's publication
schedule, so what is "due" never depends on when the tests run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
)
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.test_utils import create_run_for_test

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import ingest_partition
from vidx_pipeline.orchestration.assets import (
    build_dataset_asset,
    repository_resource_key,
    source_resource_key,
)
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT, asset_name
from vidx_pipeline.orchestration.resources import (
    REPOSITORY_STORAGE_KEY,
    IcechunkRepositoryResource,
    RepositoryStorageResource,
    SourceStoreResource,
)
from vidx_pipeline.orchestration.sensors import PublicationCursor, build_publication_sensor
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline_tests.conftest import PublishFn, small_gfs_spec
from vidx_pipeline_tests.datasets.test_noaa_gfs_analysis import small_analysis_spec

BUCKET = "gfs-sensor-test"
SPEC = small_gfs_spec(bucket=BUCKET)
JOB = define_asset_job(
    "noaa_gfs_forecast_operational_job",
    selection=["noaa_gfs_forecast"],
)
CYCLE = dt.datetime(2025, 9, 1, 6, tzinfo=dt.UTC)
KEY = CYCLE.strftime(PARTITION_FORMAT)
PUBLICATION = SPEC.publication
DUE = CYCLE + PUBLICATION.first_file_after - PUBLICATION.poll_ahead
"""The moment the sensor starts polling a cycle whose first file has not appeared yet."""
BEFORE_DUE = DUE - dt.timedelta(minutes=1)
"""A clock at which the cycle is not yet due: only a published file starts it."""


def _local_storage(tmp_path: Path, s3: LocalS3) -> RepositoryStorageResource:
    return RepositoryStorageResource(
        kind="local", local_root=str(tmp_path / "repos"), source_endpoint=s3.endpoint
    )


class Harness:
    """Evaluates the sensor tick by tick, carrying its cursor as the daemon would."""

    def __init__(
        self,
        storage: RepositoryStorageResource,
        instance: DagsterInstance,
        now: dt.datetime,
        spec: DatasetSpec = SPEC,
    ) -> None:
        self.instance = instance
        self.cursor: str | None = None
        self.now = now
        job = define_asset_job(f"{asset_name(spec)}_operational_job", selection=[asset_name(spec)])
        self.sensor = build_publication_sensor(
            spec,
            job,
            repository_resource_key(spec),
            source_resource_key(spec),
            clock=lambda: self.now,
        )
        self.resources = {
            REPOSITORY_STORAGE_KEY: storage,
            repository_resource_key(spec): IcechunkRepositoryResource(
                dataset_id=spec.dataset_id, storage=storage
            ),
            source_resource_key(spec): SourceStoreResource(
                dataset_id=spec.dataset_id, storage=storage
            ),
        }
        self.definitions = Definitions(
            assets=[build_dataset_asset(spec)],
            jobs=[job],
            sensors=[self.sensor],
            resources=self.resources,
        )

    def tick(self) -> list[RunRequest]:
        """The tick's run requests; its cursor is kept for the next tick."""
        # A context manager: the repository and source resources nest the storage resource.
        with build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=self.resources,
            definitions=self.definitions,
            sensor_name=self.sensor.name,
        ) as context:
            result: SensorExecutionData = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor
        assert result.run_requests is not None
        return list(result.run_requests)


def _live_run(instance: DagsterInstance, status: DagsterRunStatus = DagsterRunStatus.STARTED):
    return create_run_for_test(
        instance, job_name=JOB.name, status=status, tags={"dagster/partition": KEY}
    )


@pytest.fixture
def bucket(local_s3: LocalS3) -> str:
    local_s3.create_bucket(BUCKET, public_read=True)
    client = local_s3.boto3_client()
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    return BUCKET


def test_first_file_starts_one_run_then_recovery(
    tmp_path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    with instance_for_test() as instance:
        harness = Harness(_local_storage(tmp_path, local_s3), instance, BEFORE_DUE)

        assert harness.tick() == []  # nothing published, not due yet

        publish(CYCLE, [0], bucket=bucket, write_index=False)
        assert harness.tick() == []  # data without its index is not published

        publish(CYCLE, [0], bucket=bucket)
        (request,) = harness.tick()
        assert request.run_key == f"{KEY}:start"
        assert request.partition_key == KEY
        assert request.tags["vidx/trigger"] == "first-file"
        config = request.run_config["ops"]["noaa_gfs_forecast"]["config"]
        assert config["commit_interval_seconds"] == 0.0
        assert PublicationCursor.parse(harness.cursor).started.keys() == {KEY}

        # The cursor is persisted: the next tick does not start the cycle again, and while a
        # run of the partition is live it does not recover it either.
        live = _live_run(instance)
        publish(CYCLE, [1, 2], bucket=bucket)
        assert harness.tick() == []

        # The run dies: published files the repository lacks get a recovery run, once per tick
        # until a run is live again, each with its own run key.
        instance.report_run_failed(live)
        (recovery,) = harness.tick()
        assert recovery.run_key == f"{KEY}:recover:1"
        assert recovery.partition_key == KEY
        assert recovery.tags["vidx/trigger"] == "recovery"
        _live_run(instance, DagsterRunStatus.STARTING)
        assert harness.tick() == []

        # Once the repository holds every published file there is nothing to recover.
        repo = open_repository(
            SPEC,
            RepositorySettings(local_root=str(tmp_path / "repos")),
            source_endpoint=local_s3.endpoint,
        )
        result = ingest_partition(
            SPEC,
            repo,
            open_source_store(SPEC.source.store, local_s3.endpoint),
            CYCLE,
            clock=lambda: CYCLE + dt.timedelta(days=30),
        )
        assert result.files_ingested == 3
        for run in instance.get_runs():
            if run.status == DagsterRunStatus.STARTING:
                instance.report_run_canceled(run)
        assert harness.tick() == []


def test_a_due_cycle_starts_before_its_first_file(
    tmp_path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    """``poll_ahead`` before the first file is due, the cycle's run starts with nothing
    published; the first file then starts nothing more."""
    with instance_for_test() as instance:
        harness = Harness(_local_storage(tmp_path, local_s3), instance, DUE)
        (request,) = harness.tick()
        assert request.run_key == f"{KEY}:start"
        assert request.partition_key == KEY
        assert request.tags["vidx/trigger"] == "due"
        assert request.tags["vidx/run_kind"] == "operational"
        config = request.run_config["ops"]["noaa_gfs_forecast"]["config"]
        assert config["commit_interval_seconds"] == 0.0
        assert PublicationCursor.parse(harness.cursor).started.keys() == {KEY}

        assert harness.tick() == []  # started once

        _live_run(instance)
        publish(CYCLE, [0], bucket=bucket)
        assert harness.tick() == []  # the first file does not start it again


@pytest.mark.parametrize(
    "now",
    [BEFORE_DUE, CYCLE + PUBLICATION.last_file_after],
    ids=["before-poll-ahead", "after-last-file"],
)
def test_nothing_published_and_not_due_starts_nothing(
    tmp_path, local_s3: LocalS3, bucket: str, now: dt.datetime
) -> None:
    with instance_for_test() as instance:
        harness = Harness(_local_storage(tmp_path, local_s3), instance, now)
        assert harness.tick() == []
    assert PublicationCursor.parse(harness.cursor).started == {}


def test_cycles_outside_the_publication_window_are_ignored(
    tmp_path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    old_cycle = CYCLE - dt.timedelta(days=2)
    publish(old_cycle, [0], bucket=bucket)
    with instance_for_test() as instance:
        assert Harness(_local_storage(tmp_path, local_s3), instance, BEFORE_DUE).tick() == []


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_tick_never_creates_the_repository(
    tmp_path, s3_env: LocalS3, bucket: str, publish: PublishFn, kind: str
) -> None:
    """Before a run has created the repository, the sensor starts and recovers the cycle from
    the listing alone and leaves the repository's location empty."""
    repos_bucket = "vidx-sensor-repositories"
    if kind == "s3":
        s3_env.create_bucket(repos_bucket)
        storage = RepositoryStorageResource(
            kind="s3",
            bucket=repos_bucket,
            prefix="sensor-test",
            region=s3_env.region,
            endpoint=s3_env.endpoint,
            source_endpoint=s3_env.endpoint,
        )
    else:
        storage = _local_storage(tmp_path, s3_env)

    def repository_objects() -> list[str]:
        """What exists at the repository's location (local: the directory itself)."""
        if kind == "local":
            location = Path(storage.settings().location(SPEC.dataset_id))
            return [str(location)] if location.exists() else []
        listing = s3_env.boto3_client().list_objects_v2(Bucket=repos_bucket, Prefix="sensor-test/")
        return [item["Key"] for item in listing.get("Contents", [])]

    publish(CYCLE, [0], bucket=bucket)
    with instance_for_test() as instance:
        harness = Harness(storage, instance, BEFORE_DUE)
        (start,) = harness.tick()
        assert start.run_key == f"{KEY}:start"
        (recovery,) = harness.tick()  # no run is live: the file is not held
        assert recovery.run_key == f"{KEY}:recover:1"
    assert repository_objects() == []


def test_an_analysis_hour_starts_when_its_file_is_published_and_its_hour_has_come(
    tmp_path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    """The analysis's hours come from the cycle's f000-f005, published before the last of
    those hours: each hour's run starts once its file is listed and its hour has come."""
    analysis = small_analysis_spec(bucket)
    with instance_for_test() as instance:
        now = CYCLE + dt.timedelta(hours=2, minutes=30)  # before the cycle's files are due
        harness = Harness(_local_storage(tmp_path, local_s3), instance, now, analysis)
        assert harness.tick() == []  # nothing published, not due yet

        publish(CYCLE, [0, 1, 2, 3, 4, 5], bucket=bucket)
        hours = [CYCLE + dt.timedelta(hours=h) for h in range(6)]
        assert _started(harness.tick()) == [h.strftime(PARTITION_FORMAT) for h in hours[:3]]

        harness.now = CYCLE + dt.timedelta(hours=5, minutes=10)
        assert _started(harness.tick()) == [h.strftime(PARTITION_FORMAT) for h in hours[3:]]
        assert _started(harness.tick()) == []  # started once each


def _started(requests: list[RunRequest]) -> list[str]:
    """The partitions a tick starts (not those it recovers), in order."""
    return sorted(r.partition_key for r in requests if r.run_key.endswith(":start"))
