"""The Dagster asset: materialized in process and through the CLI, against a real instance."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import icechunk
import numpy as np
import pytest
import xarray as xr
from dagster import AssetKey, DagsterInstance, materialize

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.offline.reference_decode import eccodes_decode
from vidx_pipeline.offline.s3_server import LocalS3
from vidx_pipeline.orchestration.assets import (
    build_dataset_asset,
    repository_resource_key,
    source_resource_key,
)
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource, SourceStoreResource
from vidx_pipeline.repository import RepositorySettings, reader_credentials
from vidx_pipeline_tests.conftest import SMALL_LEADS, PublishFn, small_gfs_spec

SPEC = small_gfs_spec()
ASSET_KEY = AssetKey("noaa_gfs_forecast")


def _resources(tmp_path: Path, s3: LocalS3) -> dict[str, object]:
    return {
        repository_resource_key(SPEC): IcechunkRepositoryResource(
            dataset_id=SPEC.dataset_id, local_root=str(tmp_path), source_endpoint=s3.endpoint
        ),
        source_resource_key(SPEC): SourceStoreResource(
            dataset_id=SPEC.dataset_id, endpoint=s3.endpoint
        ),
    }


def _materialize(tmp_path: Path, s3: LocalS3, instance: DagsterInstance, partition: str):
    result = materialize(
        [build_dataset_asset(SPEC)],
        partition_key=partition,
        resources=_resources(tmp_path, s3),
        instance=instance,
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    (check,) = result.get_asset_check_evaluations()
    return event.materialization.metadata, check


def test_materialize_in_process_is_idempotent_and_checked(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 8, 0, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours)
    with DagsterInstance.ephemeral() as instance:
        metadata, check = _materialize(tmp_path, local_s3, instance, "2025-08-08T00:00")
        assert metadata["files_ingested"].value == len(SPEC.lead_hours)
        assert metadata["files_seen"].value == len(SPEC.lead_hours)
        assert metadata["missing_count"].value == 0
        assert metadata["refs_written"].value == check.metadata["refs_found"].value
        snapshot = metadata["snapshot_id"].value
        assert len(snapshot) == 20
        assert check.passed
        # Again: nothing new, no commit, still complete.
        metadata, check = _materialize(tmp_path, local_s3, instance, "2025-08-08T00:00")
        assert metadata["files_ingested"].value == 0
        assert metadata["files_already_ingested"].value == len(SPEC.lead_hours)
        assert metadata["snapshot_id"].value == "(no new commit)"
        assert check.passed


def test_check_fails_for_an_incomplete_partition(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 9, 0, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours[:3])
    with DagsterInstance.ephemeral() as instance:
        metadata, check = _materialize(tmp_path, local_s3, instance, "2025-08-09T00:00")
    assert metadata["files_ingested"].value == 3
    assert not check.passed
    assert check.metadata["files_ingested"].value == 3
    assert check.metadata["files_expected"].value == len(SPEC.lead_hours)


def test_materialize_through_the_cli(tmp_path, local_s3: LocalS3, publish: PublishFn) -> None:
    """The real code location and the real GFS spec (721 x 1440), through `dagster asset
    materialize`, into a persistent Dagster instance."""
    spec = get_dataset("noaa-gfs-forecast")
    init = dt.datetime(2025, 8, 10, 6, tzinfo=dt.UTC)
    fields = [("TMP", "2 m above ground"), ("PRMSL", "mean sea level")]
    files = publish(init, [0, 1], grid=spec.grid.shape, fields=fields)
    home = tmp_path / "dagster-home"
    home.mkdir()
    env = {
        **os.environ,
        **local_s3.env(),
        "VIDX_REPO_ROOT": str(tmp_path / "repos"),
        "DAGSTER_HOME": str(home),
    }
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "asset",
        "materialize",
        "-m",
        "vidx_pipeline.definitions",
        "--select",
        "noaa_gfs_forecast",
        "--partition",
        "2025-08-10T06:00",
    ]
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2]
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert local_s3.secret_access_key not in completed.stdout + completed.stderr

    with DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(ASSET_KEY)
    assert event is not None
    assert event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    assert metadata["files_ingested"].value == 2
    # 27 variables, 2 of them published; lead 0 carries no windowed field.
    assert metadata["refs_written"].value == 4
    assert metadata["missing_count"].value > 0

    settings = RepositorySettings(local_root=str(tmp_path / "repos"))
    repo = icechunk.Repository.open(
        settings.storage(spec.dataset_id), authorize_virtual_chunk_access=reader_credentials(spec)
    )
    ds = xr.open_zarr(repo.readonly_session(branch="main").store, consolidated=False)
    chunk = ds.temperature_2m.sel(
        init_time=init.replace(tzinfo=None), lead_time=np.timedelta64(1, "h")
    ).values
    file = files[1]
    info = next(m for m in file.messages if m.line.element == "TMP")
    expected = eccodes_decode(file.data[info.offset : info.offset + info.length])
    np.testing.assert_allclose(chunk, expected, rtol=1e-6)


def _materialize_range(tmp_path: Path, s3: LocalS3, first: str, last: str, config: dict):
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [build_dataset_asset(SPEC)],
            resources=_resources(tmp_path, s3),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
            run_config={"ops": {"noaa_gfs_forecast": {"config": config}}},
        )
    assert result.success
    events = result.get_asset_materialization_events()
    assert [e.materialization.partition for e in events] == [first, "2025-08-11T06:00", last]
    return events[0].materialization.metadata


@pytest.mark.parametrize(("max_files", "commits"), [(1000, 1), (len(SMALL_LEADS), 3)])
def test_a_backfill_run_over_a_partition_range(
    tmp_path, local_s3: LocalS3, publish: PublishFn, max_files: int, commits: int
) -> None:
    """Several partitions per run (the backfill policy), committed together unless the batch
    would exceed ``max_files_per_commit``."""
    inits = [dt.datetime(2025, 8, 11, h, tzinfo=dt.UTC) for h in (0, 6, 12)]
    for init in inits:
        publish(init, SPEC.lead_hours)
    metadata = _materialize_range(
        tmp_path,
        local_s3,
        "2025-08-11T00:00",
        "2025-08-11T12:00",
        {"max_files_per_commit": max_files},
    )
    assert metadata["partitions"].value == 3
    assert metadata["files_ingested"].value == 3 * len(SPEC.lead_hours)
    assert metadata["commits"].value == commits
    repo = IcechunkRepositoryResource(
        dataset_id=SPEC.dataset_id, local_root=str(tmp_path), source_endpoint=local_s3.endpoint
    ).open(SPEC)
    messages = [s.message for s in repo.repo.ancestry(branch="main")]
    if commits == 1:
        assert messages[0] == (
            "noaa-gfs-forecast init_time=2025-08-11T00:00..2025-08-11T12:00 (3 partitions): "
            f"{3 * len(SPEC.lead_hours)} files"
        )


def test_backfill_policy_and_run_limits(tmp_path: Path) -> None:
    """Backfills run several partitions per run; the instance caps concurrent backfill runs."""
    from vidx_pipeline.definitions import defs

    asset = defs.get_assets_def("noaa_gfs_forecast")
    assert asset.backfill_policy is not None
    assert asset.backfill_policy.max_partitions_per_run == 4
    shutil.copy(Path(__file__).parents[2] / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.run_coordinator.inst_data.config_dict
    assert {"key": "dagster/backfill", "limit": 4} in config["tag_concurrency_limits"]
    assert config["max_concurrent_runs"] >= 8
