"""The mirror in the code location: where the environment puts it, which partitions the schedule
copies (those the producer may still hold), the mirror asset copying a partition from a real
loopback HTTP server, and the dataset asset downstream of it reading the copies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    SensorDefinition,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
    materialize,
)
from dagster._core.test_utils import create_run_for_test

from vidx_offline.http_server import LocalHttp, running_http_server
from vidx_offline.icon_archive import IcosahedralGrid, Tree, WrittenIconFile, write_icon_archive
from vidx_offline.reference_decode import eccodes_decode
from vidx_pipeline.catalog import open_spec_dataset
from vidx_pipeline.catalog.version import select_version
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.definitions import build_definitions
from vidx_pipeline.locations import Locations
from vidx_pipeline.mirror import mirror_store_from_env, mirrored_spec
from vidx_pipeline.orchestration.assets import (
    build_dataset_asset,
    repository_resource_key,
    source_resource_key,
)
from vidx_pipeline.orchestration.mirror import (
    COPIED_COUNT,
    build_mirror_asset,
    mirror_asset_name,
    partitions_at_producer,
    producer_resource_key,
)
from vidx_pipeline.orchestration.partitions import asset_name
from vidx_pipeline.orchestration.resources import (
    REPOSITORY_STORAGE_KEY,
    IcechunkRepositoryResource,
    RepositoryStorageResource,
    SourceStoreResource,
)
from vidx_pipeline.orchestration.sensors import PUBLICATION_GRACE, build_publication_sensor
from vidx_pipeline.repository import RepositorySettings
from vidx_pipeline.spec import HttpStoreSpec, LocalStoreSpec, ObjectStoreSpec
from vidx_pipeline_tests.datasets.test_dwd_icon_eu_forecast_5_day import (
    INIT,
    SMALL_LEADS,
    SMALL_SHAPE,
    small_fields,
    small_spec,
)

SPEC = get_dataset("dwd-icon-eu-forecast-5-day")
ICOSAHEDRAL = get_dataset("dwd-icon-eu-icosahedral-forecast-5-day")
PARTITION = f"{INIT:%Y-%m-%dT%H:%M}"


def test_the_mirror_is_a_local_directory_unless_configured_as_a_bucket(tmp_path: Path) -> None:
    local = mirror_store_from_env({"VIDX_MIRROR_ROOT": str(tmp_path / "m")})
    assert local == LocalStoreSpec(root=str(tmp_path / "m"))
    bucket = mirror_store_from_env({"VIDX_MIRROR_KIND": "s3", "VIDX_MIRROR_BUCKET": "mirror"})
    assert isinstance(bucket, ObjectStoreSpec)
    assert (bucket.bucket, bucket.anonymous, bucket.url_prefix) == ("mirror", False, "s3://mirror/")
    with pytest.raises(ValueError, match="VIDX_MIRROR_BUCKET"):
        mirror_store_from_env({"VIDX_MIRROR_KIND": "s3"})
    with pytest.raises(ValueError, match="'ftp'"):
        mirror_store_from_env({"VIDX_MIRROR_KIND": "ftp"})


def test_the_schedule_copies_every_partition_the_producer_may_still_hold() -> None:
    now = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
    # Due 2 h after init (less 2 min), deadline 5 h after, DWD keeps files a day after that.
    assert partitions_at_producer(SPEC, now) == [
        dt.datetime(2026, 11, 29, 6, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 29, 18, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
    ]
    assert partitions_at_producer(SPEC, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) == []


def test_the_code_location_reads_the_mirror_downstream_of_the_mirror_asset(
    tmp_path: Path,
) -> None:
    mirror = LocalStoreSpec(root=str(tmp_path / "mirror"))
    defs = build_definitions(
        [SPEC], RepositoryStorageResource(local_root=str(tmp_path)), mirror_store=mirror
    )
    graph = defs.resolve_asset_graph()
    dataset = graph.get(AssetKey(asset_name(SPEC)))
    assert dataset.parent_keys == {AssetKey(mirror_asset_name(SPEC))}
    assert dataset.metadata["source"] == f"file://{tmp_path / 'mirror'}/"
    assert {s.name for s in defs.schedules or ()} >= {f"{mirror_asset_name(SPEC)}_schedule"}


def _tick(
    sensor: SensorDefinition,
    definitions: Definitions,
    instance: DagsterInstance,
    cursor: str | None,
) -> tuple[list[RunRequest], str | None]:
    """One evaluation of ``sensor`` as the daemon's: its run requests and its new cursor."""
    with build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources=dict(definitions.resources or {}),
        definitions=definitions,
        sensor_name=sensor.name,
    ) as context:
        result = sensor.evaluate_tick(context)
    return list(result.run_requests or ()), result.cursor


def test_the_code_locations_sensor_follows_the_mirror_asset(tmp_path: Path) -> None:
    """The registered dataset's publication sensor reads its mirror asset's materializations:
    one that copied objects of the tree's last cycle (long past its window) starts a run."""
    mirror = LocalStoreSpec(root=str(tmp_path / "mirror"))
    defs = build_definitions(
        [SPEC], RepositoryStorageResource(local_root=str(tmp_path)), mirror_store=mirror
    )
    sensor = defs.resolve_sensor_def(f"{asset_name(SPEC)}_publication_sensor")
    last = f"{SPEC.append_dimension.end:%Y-%m-%dT%H:%M}"
    with instance_for_test() as instance:
        requests, cursor = _tick(sensor, defs, instance, None)
        assert requests == []
        instance.report_runless_asset_event(
            AssetMaterialization(
                AssetKey(mirror_asset_name(SPEC)), partition=last, metadata={COPIED_COUNT: 2}
            )
        )
        (request,), _ = _tick(sensor, defs, instance, cursor)
        assert request.partition_key == last
        assert request.tags["vidx/trigger"] == "mirror"


@pytest.fixture
def served(tmp_path: Path):
    with running_http_server(tmp_path / "opendata") as http:
        yield http


def _resources(
    tmp_path: Path, spec, mirrored, *, http_source_endpoint: str = ""
) -> dict[str, object]:
    storage = RepositoryStorageResource(
        kind="local",
        local_root=str(tmp_path / "repos"),
        http_source_endpoint=http_source_endpoint,
    )
    return {
        REPOSITORY_STORAGE_KEY: storage,
        producer_resource_key(spec): SourceStoreResource(
            dataset_id=spec.dataset_id, storage=storage
        ),
        source_resource_key(mirrored): SourceStoreResource(
            dataset_id=spec.dataset_id, storage=storage
        ),
        repository_resource_key(mirrored): IcechunkRepositoryResource(
            dataset_id=spec.dataset_id, storage=storage
        ),
    }


def _assert_all_copied(
    result: ExecuteInProcessResult,
    written: list[WrittenIconFile],
    served: LocalHttp,
    mirror_root: Path,
    init: dt.datetime,
) -> None:
    """The run copied every written object, byte for byte, under the init's mirror prefix."""
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["copied_count"].value == len(written) == metadata["files_published"].value
    for file in written:
        copy = mirror_root / f"{init:%Y%m%d%H}" / file.key
        assert copy.read_bytes() == (served.root / file.key).read_bytes()


@pytest.mark.slow
def test_the_mirror_asset_copies_a_partition_once(tmp_path: Path, served: LocalHttp) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root, (INIT,), SMALL_LEADS, fields=small_fields(), shape=SMALL_SHAPE
    )
    mirrored = mirrored_spec(spec, LocalStoreSpec(root=str(tmp_path / "mirror")))
    asset = build_mirror_asset(spec, mirrored, source_resource_key(mirrored))
    instance = DagsterInstance.ephemeral()
    resources = _resources(tmp_path, spec, mirrored)
    first = materialize([asset], partition_key=PARTITION, resources=resources, instance=instance)
    _assert_all_copied(first, written, served, tmp_path / "mirror", INIT)
    again = materialize([asset], partition_key=PARTITION, resources=resources, instance=instance)
    (event,) = again.get_asset_materialization_events()
    assert event.materialization.metadata["copied_count"].value == 0
    assert event.materialization.metadata["already_mirrored"].value == len(written)


@pytest.mark.slow
def test_the_dataset_asset_ingests_the_mirrored_partition(
    tmp_path: Path, served: LocalHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root, (INIT,), SMALL_LEADS, fields=small_fields(), shape=SMALL_SHAPE
    )
    mirrored = mirrored_spec(spec, LocalStoreSpec(root=str(tmp_path / "mirror")))
    assets = [
        build_mirror_asset(spec, mirrored, source_resource_key(mirrored)),
        build_dataset_asset(mirrored, mirror_asset_name(spec)),
    ]
    result = materialize(
        assets,
        partition_key=PARTITION,
        resources=_resources(tmp_path, spec, mirrored),
        instance=DagsterInstance.ephemeral(),
    )
    by_asset = {
        e.materialization.asset_key: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    ingested = by_asset[AssetKey(asset_name(spec))]
    assert ingested["files_ingested"].value == len(written) == ingested["files_expected"].value
    assert ingested["missing_count"].value == 0

    # Readers find the refs' mirror where the code location's VIDX_MIRROR_* put it.
    monkeypatch.setenv("VIDX_MIRROR_ROOT", str(tmp_path / "mirror"))
    locations = Locations(repository=RepositorySettings(local_root=str(tmp_path / "repos")))
    ds = open_spec_dataset(spec, locations, select_version()).sel(
        init_time=INIT.replace(tzinfo=None)
    )
    file = written[0]
    name = file.field.param.lower() if file.field.level_hpa is None else None
    assert name is not None, "the first file written is a single-level field"
    np.testing.assert_array_equal(
        ds[name].sel(lead_time=np.timedelta64(file.lead_hours, "h")).values,
        eccodes_decode(file.grib),
    )


@pytest.mark.slow
@pytest.mark.parametrize("late", [True, False], ids=["after the window", "inside the window"])
def test_the_sensor_follows_what_the_mirror_copies(
    tmp_path: Path, served: LocalHttp, late: bool
) -> None:
    """Objects the mirror copies after the sensor stopped watching their cycle start a run;
    inside the window the sensor's listing of the mirror starts it, once."""
    spec = small_spec(served.base_url)
    mirrored = mirrored_spec(spec, LocalStoreSpec(root=str(tmp_path / "mirror")))
    mirror = build_mirror_asset(spec, mirrored, source_resource_key(mirrored))
    resources = _resources(tmp_path, spec, mirrored)
    job = define_asset_job(
        f"{asset_name(mirrored)}_operational_job", selection=[asset_name(mirrored)]
    )
    after_deadline = PUBLICATION_GRACE + dt.timedelta(hours=2) if late else PUBLICATION_GRACE / 2
    now = spec.publication_deadline(INIT) + after_deadline
    sensor = build_publication_sensor(
        mirrored,
        job,
        repository_resource_key(mirrored),
        source_resource_key(mirrored),
        clock=lambda: now,
        mirror_asset=AssetKey(mirror_asset_name(spec)),
    )
    definitions = Definitions(
        assets=[mirror, build_dataset_asset(mirrored, mirror_asset_name(spec))],
        jobs=[job],
        sensors=[sensor],
        resources=resources,
    )
    with instance_for_test() as instance:
        cursor: str | None = None

        def tick() -> list[RunRequest]:
            """The tick's requests for the partition (later cycles may be due meanwhile)."""
            nonlocal cursor
            requests, cursor = _tick(sensor, definitions, instance, cursor)
            return [r for r in requests if r.partition_key == PARTITION]

        def mirror_now() -> int:
            result = materialize(
                [mirror], partition_key=PARTITION, resources=resources, instance=instance
            )
            (event,) = result.get_asset_materialization_events()
            return int(event.materialization.metadata["copied_count"].value)

        assert tick() == [], "nothing published, nothing mirrored"
        written = write_icon_archive(
            served.root, (INIT,), SMALL_LEADS[:1], fields=small_fields()[:2], shape=SMALL_SHAPE
        )
        assert mirror_now() == len(written)
        (request,) = tick()
        assert request.partition_key == PARTITION
        assert request.tags["vidx/trigger"] == ("mirror" if late else "first-file")
        if late:  # (inside the window, a published file not held without a run is a recovery)
            assert tick() == [], "a copy is followed once"
        # The daemon launches it: while it runs, nothing more is requested for the partition.
        create_run_for_test(
            instance,
            job_name=job.name,
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": PARTITION},
        )
        assert tick() == []
        assert mirror_now() == 0
        assert tick() == [], "a mirror run that copied nothing starts nothing"
        write_icon_archive(
            served.root, (INIT,), SMALL_LEADS[1:2], fields=small_fields()[:1], shape=SMALL_SHAPE
        )
        assert mirror_now() == 1
        assert tick() == [], "the run going reads the mirror itself"


@pytest.mark.parametrize("dataset_id", [s.dataset_id for s in (SPEC, ICOSAHEDRAL)])
def test_the_registered_producer_is_read_on_the_configured_http_endpoint(
    tmp_path: Path, served: LocalHttp, dataset_id: str
) -> None:
    """The registered spec (DWD's own base URL, every parameter and lead) with the storage
    resource's HTTP endpoint set to the loopback server: the mirror asset lists DWD's paths
    there and copies what is published, as it would from opendata.dwd.de."""
    spec = get_dataset(dataset_id)
    assert isinstance(spec.source.store, HttpStoreSpec)
    init = spec.append_dimension.value_at(0)
    tree: Tree = "regular" if spec is SPEC else "icosahedral"
    written = write_icon_archive(
        served.root,
        (init,),
        (0, 1),
        fields=small_fields(),
        shape=SMALL_SHAPE,
        tree=tree,
        icosahedral=IcosahedralGrid(cells=12),
    )
    mirrored = mirrored_spec(spec, LocalStoreSpec(root=str(tmp_path / "mirror")))
    endpoint = served.base_url.rstrip("/")
    result = materialize(
        [build_mirror_asset(spec, mirrored, source_resource_key(mirrored))],
        partition_key=f"{init:%Y-%m-%dT%H:%M}",
        resources=_resources(tmp_path, spec, mirrored, http_source_endpoint=endpoint),
        instance=DagsterInstance.ephemeral(),
    )
    _assert_all_copied(result, written, served, tmp_path / "mirror", init)
    listed = {path for method, path in served.requests if method == "GET" and path.endswith("/")}
    assert any(path.startswith("/weather/nwp/") for path in listed)
