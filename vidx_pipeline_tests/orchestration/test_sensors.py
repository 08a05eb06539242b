"""The publication sensor against a live local S3 API and a real (SQLite) Dagster instance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
)
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.test_utils import create_run_for_test

from vidx_pipeline.ingest import ingest_partition
from vidx_pipeline.offline.s3_server import LocalS3
from vidx_pipeline.orchestration.assets import (
    build_dataset_asset,
    repository_resource_key,
    source_resource_key,
)
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource, SourceStoreResource
from vidx_pipeline.orchestration.sensors import PublicationCursor, build_publication_sensor
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline_tests.conftest import PublishFn, small_gfs_spec

BUCKET = "gfs-sensor-test"
SPEC = small_gfs_spec(bucket=BUCKET)
JOB = define_asset_job(
    "noaa_gfs_forecast_operational_job",
    selection=["noaa_gfs_forecast"],
)


def _current_cycle(now: dt.datetime) -> dt.datetime:
    axis = SPEC.append_dimension
    return axis.latest_at_or_before(now)


class Harness:
    """Evaluates the sensor tick by tick, carrying its cursor as the daemon would."""

    def __init__(
        self, tmp_path: Path, s3: LocalS3, instance: DagsterInstance, now: dt.datetime
    ) -> None:
        self.instance = instance
        self.cursor: str | None = None
        self.sensor = build_publication_sensor(
            SPEC,
            JOB,
            repository_resource_key(SPEC),
            source_resource_key(SPEC),
            clock=lambda: now,
        )
        self.repository = IcechunkRepositoryResource(
            dataset_id=SPEC.dataset_id, local_root=str(tmp_path), source_endpoint=s3.endpoint
        )
        self.source = SourceStoreResource(dataset_id=SPEC.dataset_id, endpoint=s3.endpoint)
        self.resources = {
            repository_resource_key(SPEC): self.repository,
            source_resource_key(SPEC): self.source,
        }
        self.definitions = Definitions(
            assets=[build_dataset_asset(SPEC)],
            jobs=[JOB],
            sensors=[self.sensor],
            resources=self.resources,
        )

    def tick(self) -> SensorExecutionData:
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=self.resources,
            definitions=self.definitions,
            sensor_name=self.sensor.name,
        )
        result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return result


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
    now = dt.datetime.now(dt.UTC)
    cycle = _current_cycle(now)
    key = cycle.strftime(PARTITION_FORMAT)
    with instance_for_test() as instance:
        harness = Harness(tmp_path, local_s3, instance, now)

        assert harness.tick().run_requests == []  # nothing published

        publish(cycle, [0], bucket=bucket, write_index=False)
        assert harness.tick().run_requests == []  # data without its index is not published

        publish(cycle, [0], bucket=bucket)
        (request,) = harness.tick().run_requests
        assert request.run_key == f"{key}:start"
        assert request.partition_key == key
        config = request.run_config["ops"]["noaa_gfs_forecast"]["config"]
        assert config["commit_interval_seconds"] == 1.0
        assert PublicationCursor.parse(harness.cursor).started.keys() == {key}

        # The cursor is persisted: the next tick does not start the cycle again, and while a
        # run of the partition is live it does not recover it either.
        live = create_run_for_test(
            instance,
            job_name=JOB.name,
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": key},
        )
        publish(cycle, [1, 2], bucket=bucket)
        assert harness.tick().run_requests == []

        # The run dies: published files the repository lacks get a recovery run, once per tick
        # until a run is live again, each with its own run key.
        instance.report_run_failed(live)
        (recovery,) = harness.tick().run_requests
        assert recovery.run_key == f"{key}:recover:1"
        assert recovery.tags["vidx/trigger"] == "recovery"
        create_run_for_test(
            instance,
            job_name=JOB.name,
            status=DagsterRunStatus.STARTING,
            tags={"dagster/partition": key},
        )
        assert harness.tick().run_requests == []

        # Once the repository holds every published file there is nothing to recover.
        repo = open_repository(
            SPEC, RepositorySettings(local_root=str(tmp_path)), source_endpoint=local_s3.endpoint
        )
        ingest_partition(
            SPEC,
            repo,
            open_source_store(SPEC.source.store, local_s3.endpoint),
            cycle,
            clock=lambda: cycle + dt.timedelta(days=30),
        )
        for run in instance.get_runs():
            if run.status == DagsterRunStatus.STARTING:
                instance.report_run_canceled(run)
        assert harness.tick().run_requests == []


def test_cycles_outside_the_publication_window_are_ignored(
    tmp_path, local_s3: LocalS3, bucket: str, publish: PublishFn
) -> None:
    now = dt.datetime.now(dt.UTC)
    old_cycle = _current_cycle(now) - dt.timedelta(days=2)
    publish(old_cycle, [0], bucket=bucket)
    with instance_for_test() as instance:
        result = Harness(tmp_path, local_s3, instance, now).tick()
    assert result.run_requests == []
