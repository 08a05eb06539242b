"""The Dagster asset: materialized in process and through the CLI, against a real instance."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import icechunk
import numpy as np
import pytest
import xarray as xr
from dagster import (
    AssetCheckKey,
    AssetChecksDefinition,
    AssetKey,
    DagsterInstance,
    DagsterInvalidConfigError,
    Definitions,
    materialize,
    validate_run_config,
)
from dagster._config import Shape
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._serdes import serialize_value

from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks import CHECKS
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.definitions import build_definitions
from vidx_pipeline.ingest import IngestSettings
from vidx_pipeline.orchestration.assets import (
    IngestRunConfig,
    build_dataset_asset,
    ingest_settings,
    repository_resource_key,
    source_resource_key,
)
from vidx_pipeline.orchestration.checks import build_dataset_checks
from vidx_pipeline.orchestration.partitions import asset_name
from vidx_pipeline.orchestration.resources import (
    ENV_DEFAULTS,
    REPOSITORY_STORAGE_KEY,
    IcechunkRepositoryResource,
    RepositoryStorageResource,
    SourceStoreResource,
)
from vidx_pipeline.orchestration.sensors import operational_run_config
from vidx_pipeline.repository import RepositorySettings, reader_credentials
from vidx_pipeline_tests.conftest import SMALL_LEADS, PublishFn, small_gfs_spec

SPEC = small_gfs_spec()
ASSET = asset_name(SPEC)
ASSET_KEY = AssetKey(ASSET)
CHECKOUT = Path(__file__).parents[2]


def _storage(tmp_path: Path, s3: LocalS3) -> RepositoryStorageResource:
    return RepositoryStorageResource(
        kind="local", local_root=str(tmp_path), source_endpoint=s3.endpoint
    )


def _resources(tmp_path: Path, s3: LocalS3) -> dict[str, object]:
    """The resources as the code location wires them: the dataset's two resources share one
    storage resource."""
    storage = _storage(tmp_path, s3)
    return {
        REPOSITORY_STORAGE_KEY: storage,
        repository_resource_key(SPEC): IcechunkRepositoryResource(
            dataset_id=SPEC.dataset_id, storage=storage
        ),
        source_resource_key(SPEC): SourceStoreResource(dataset_id=SPEC.dataset_id, storage=storage),
    }


def _materialize(
    tmp_path: Path,
    s3: LocalS3,
    instance: DagsterInstance,
    partition: str,
    run_config: Mapping[str, Any] | None = None,
):
    result = materialize(
        [build_dataset_asset(SPEC), *_checks()],
        partition_key=partition,
        resources=_resources(tmp_path, s3),
        instance=instance,
        run_config=run_config,
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks.keys() == {kind.name for kind in CHECKS}
    assert all(c.partition == partition for c in checks.values())
    return event.materialization.metadata, checks["completeness"]


def _checks() -> list[AssetChecksDefinition]:
    return build_dataset_checks(SPEC, repository_resource_key(SPEC), source_resource_key(SPEC))


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
        assert metadata["new_producer_output_count"].value == 0
        assert metadata["refused_count"].value == 0
        assert metadata["refs_written"].value == check.metadata["chunks_present"].value
        assert metadata["repository"].value == str(tmp_path / SPEC.dataset_id)
        snapshot = metadata["snapshot_id"].value
        assert len(snapshot) == 20
        assert check.passed
        assert metadata["tags"].value == ["noaa-gfs-forecast/2025-08-08T00"]
        assert "| 2025-08-08T00:00 | 8/8 | noaa-gfs-forecast/2025-08-08T00 |" in (
            metadata["progress"].value
        )
        _assert_preview_shows_the_field(metadata["preview"].value, tmp_path, init)
        # Again: nothing new, no commit, still complete.
        metadata, check = _materialize(tmp_path, local_s3, instance, "2025-08-08T00:00")
        assert metadata["files_ingested"].value == 0
        assert metadata["files_already_ingested"].value == len(SPEC.lead_hours)
        assert metadata["snapshot_id"].value == "(no new commit)"
        assert check.passed


VIRIDIS_ENDS = (np.array([68, 1, 84]) / 255, np.array([253, 231, 37]) / 255)


def _assert_preview_shows_the_field(markdown: str, root: Path, init: dt.datetime) -> None:
    """The preview is a PNG of the chunk its caption names, read here through xarray: one
    pixel per grid point (a small grid is not subsampled), north up, the field's minimum dark
    violet and maximum yellow (viridis' ends), NaN transparent."""
    import base64
    import io
    import re

    from matplotlib.image import imread

    caption = re.match(r"2025-08-08T00:00 \*\*(.+?)\*\* \((.+?)\)", markdown)
    assert caption, markdown[:200]
    name, *labels, lead = caption.group(1).split()
    encoded = re.search(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert encoded
    image = imread(io.BytesIO(base64.b64decode(encoded.group(1))), format="png")

    reader = icechunk.Repository.open(
        RepositorySettings(local_root=str(root)).storage(SPEC.dataset_id),
        authorize_virtual_chunk_access=reader_credentials(SPEC),
    )
    ds = xr.open_zarr(reader.readonly_session(branch="main").store, consolidated=False)
    field = ds[name].sel(
        init_time=init.replace(tzinfo=None),
        lead_time=np.timedelta64(int(lead.lstrip("f")), "h"),
        **{dim: float(value) for dim, value in (label.split("=") for label in labels)},
    )
    assert caption.group(2) == field.attrs["units"]
    values = field.values
    if ds.latitude.values[-1] > ds.latitude.values[0]:
        values = values[::-1]
    assert image.shape == (*values.shape, 4)
    np.testing.assert_array_equal(image[..., 3] == 0, np.isnan(values))
    low, high = np.nanargmin(values), np.nanargmax(values)
    pixels = image[..., :3].reshape(-1, 3)
    np.testing.assert_allclose(pixels[low], VIRIDIS_ENDS[0], atol=1 / 255)
    np.testing.assert_allclose(pixels[high], VIRIDIS_ENDS[1], atol=1 / 255)


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
    assert check.metadata["files_judged"].value == len(SPEC.lead_hours)


def _new_field_and_sub_message(lead: int, text: str) -> str:
    """The producer's index with (1) the 2 m temperature's message relabelled as a field the
    dataset does not hold and (2) its first message split into sub-messages 1.1 and 1.2, which
    share the message's bytes."""
    lines = text.splitlines(keepends=True)
    (tmp_2m,) = [i for i, line in enumerate(lines) if ":TMP:2 m above ground:" in line]
    lines[tmp_2m] = lines[tmp_2m].replace(":TMP:", ":NEWFLD:")
    number, offset, date, element, level, window, _ = lines[0].split(":")
    assert number == "1"
    lines[0:1] = [
        f"1.1:{offset}:{date}:{element}:{level}:{window}:\n",
        f"1.2:{offset}:{date}:NEWSUB:{level}:{window}:\n",
    ]
    return "".join(lines)


def test_metadata_reports_new_producer_output_and_refused_messages(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 12, 0, tzinfo=dt.UTC)
    leads = [1, 2]
    publish(init, leads, edit_index=_new_field_and_sub_message)
    with DagsterInstance.ephemeral() as instance:
        metadata, _ = _materialize(tmp_path, local_s3, instance, "2025-08-12T00:00")
    assert metadata["files_ingested"].value == len(leads)
    new_output = metadata["new_producer_output"].value
    refused = metadata["refused"].value
    assert metadata["new_producer_output_count"].value == len(new_output) == len(leads)
    assert all("NEWFLD:2 m above ground" in line for line in new_output)
    assert metadata["refused_count"].value == len(refused) == len(leads)
    assert all("NEWSUB" in line and "sub-message 1.2" in line for line in refused)
    # The relabelled field is missing; the sub-message's parent (1.1) is placed as usual.
    missing = metadata["missing"].value
    assert metadata["missing_count"].value == len(missing) == len(leads)
    assert all(line.startswith("temperature_2m") for line in missing)


@pytest.mark.slow
def test_materialize_through_the_cli(tmp_path, local_s3: LocalS3, publish: PublishFn) -> None:
    """The real code location and the real GFS spec (721 x 1440), through `dagster asset
    materialize`, into a persistent Dagster instance.

    The subprocess gets ENV_DEFAULTS plus overrides in its environment and runs outside the
    checkout: the dagster CLI loads ``.env`` from its working directory *over* the environment,
    so in the checkout the repo-root ``.env`` would replace these overrides."""
    spec = get_dataset("noaa-gfs-forecast")
    init = dt.datetime(2025, 8, 10, 6, tzinfo=dt.UTC)
    fields = [("TMP", "2 m above ground"), ("PRMSL", "mean sea level")]
    files = publish(init, [0, 1], grid=spec.grid.shape, fields=fields)
    home = tmp_path / "dagster-home"
    home.mkdir()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {
        **os.environ,
        **ENV_DEFAULTS,
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
        asset_name(spec),
        "--partition",
        "2025-08-10T06:00",
    ]
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, cwd=workdir
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert local_s3.secret_access_key not in completed.stdout + completed.stderr

    # The checks ran in the same run; they run again from the CLI through the checks job.
    checks = [
        str(Path(sys.executable).with_name("dagster")),
        *("job", "execute", "-m", "vidx_pipeline.definitions"),
        *("-j", f"{asset_name(spec)}_checks_job"),
        *("--tags", json.dumps({"dagster/partition": "2025-08-10T06:00"})),
    ]
    completed = subprocess.run(
        checks, env=env, capture_output=True, text=True, check=False, cwd=workdir
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    with DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(AssetKey(asset_name(spec)))
        runs = instance.get_runs()
        stored = "".join(_stored_run_texts(instance, run.run_id) for run in runs)
        history = {
            kind.name: instance.event_log_storage.get_asset_check_execution_history(
                AssetCheckKey(AssetKey(asset_name(spec)), kind.name), limit=10
            )
            for kind in CHECKS
        }
    assert len(runs) == 2
    for name, executions in history.items():
        assert len(executions) == 2, name
        assert {e.run_id for e in executions} == {run.run_id for run in runs}
        assert all(e.evaluation is not None for e in executions), name
    # Two fields of the spec's variables are published: incomplete, and they decode healthily.
    (completeness, *_) = history["completeness"]
    assert completeness.evaluation is not None
    assert not completeness.evaluation.passed
    (decode, *_) = history["decode_health"]
    assert decode.evaluation is not None
    assert decode.evaluation.passed
    assert local_s3.secret_access_key not in stored
    assert event is not None
    assert event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    assert metadata["files_ingested"].value == 2
    # Two fields published of the spec's variables; lead 0 carries no windowed field.
    assert metadata["refs_written"].value == 4
    missing_count = metadata["missing_count"].value
    assert isinstance(missing_count, int)
    assert missing_count > 0
    assert metadata["repository"].value == str(tmp_path / "repos" / spec.dataset_id)

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


@pytest.mark.slow
def test_definitions_validate_through_the_cli(tmp_path: Path) -> None:
    """`dagster definitions validate` loads the code location from the checkout, where the
    ``.env`` file supplies the environment variables it needs."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_DEFAULTS}
    env["DAGSTER_HOME"] = str(tmp_path)
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "definitions",
        "validate",
        "-m",
        "vidx_pipeline.definitions",
    ]
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, cwd=CHECKOUT
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Validation successful" in completed.stdout + completed.stderr


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
            run_config={"ops": {ASSET: {"config": config}}},
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
        dataset_id=SPEC.dataset_id, storage=_storage(tmp_path, local_s3)
    ).open(SPEC)
    messages = [s.message for s in repo.repo.ancestry(branch="main")]
    partition_commits = [m for m in messages if m.startswith(f"{SPEC.dataset_id} init_time=")]
    assert len(partition_commits) == commits
    if commits == 1:
        assert messages[0] == (
            "noaa-gfs-forecast init_time=2025-08-11T00:00..2025-08-11T12:00 (3 partitions): "
            f"{3 * len(SPEC.lead_hours)} files"
        )


def test_backfill_policy_and_run_limits(tmp_path: Path) -> None:
    """Backfills run several partitions per run; the instance caps concurrent backfill runs."""
    from vidx_pipeline.definitions import defs

    asset = defs.get_assets_def(asset_name(get_dataset("noaa-gfs-forecast")))
    assert asset.backfill_policy is not None
    assert asset.backfill_policy.max_partitions_per_run == 4
    shutil.copy(CHECKOUT / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        assert coordinator.inst_data is not None
        config = coordinator.inst_data.config_dict
    assert {"key": "dagster/backfill", "limit": 4} in config["tag_concurrency_limits"]
    assert config["max_concurrent_runs"] >= 8


# --- run config -----------------------------------------------------------------------------


def test_run_config_is_ingest_settings() -> None:
    """The run config's fields are IngestSettings' with the same defaults, in the pydantic
    model and in the config schema Dagster derives from it; an empty config is the defaults."""
    settings_fields = IngestSettings.model_fields
    config_fields = IngestRunConfig.model_fields
    assert config_fields.keys() == settings_fields.keys()
    for name, field in settings_fields.items():
        assert config_fields[name].default == field.default, name
        assert config_fields[name].annotation == field.annotation, name

    schema = build_dataset_asset(SPEC).op.config_schema.config_type
    assert isinstance(schema, Shape)
    assert schema.fields.keys() == settings_fields.keys()
    for name, field in settings_fields.items():
        assert schema.fields[name].default_value == field.default, name

    assert ingest_settings(IngestRunConfig()) == IngestSettings()
    assert ingest_settings(IngestRunConfig(missing_variables="fail")).missing_variables == "fail"


def _job(tmp_path: Path, s3: LocalS3):
    return Definitions(
        assets=[build_dataset_asset(SPEC)], resources=_resources(tmp_path, s3)
    ).resolve_implicit_global_asset_job_def()


@pytest.mark.parametrize(
    "bad",
    [{"missing_variables": "bogus"}, {"commit_retries": "many"}, {"not_a_setting": 1}],
    ids=["enum", "type", "unknown-field"],
)
def test_dagster_refuses_a_bad_run_config(tmp_path, local_s3: LocalS3, bad: dict) -> None:
    job = _job(tmp_path, local_s3)
    validate_run_config(job, {"ops": {ASSET: {"config": {}}}})  # the defaults are valid
    with pytest.raises(DagsterInvalidConfigError, match=next(iter(bad))):
        validate_run_config(job, {"ops": {ASSET: {"config": bad}}})


@pytest.mark.parametrize(
    "bad",
    [{"max_concurrent_requests": 0}, {"poll_interval_seconds": 5.0}],
    ids=["max_concurrent_requests", "poll_interval_seconds"],
)
def test_an_out_of_range_setting_fails_the_run_before_it_touches_the_repository(
    tmp_path, local_s3: LocalS3, bad: dict
) -> None:
    """Dagster's config types carry no bounds: IngestSettings' own validation refuses the value
    when the run builds its config, before the repository is opened."""
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [build_dataset_asset(SPEC)],
            partition_key="2025-08-08T00:00",
            resources=_resources(tmp_path, local_s3),
            instance=instance,
            run_config={"ops": {ASSET: {"config": bad}}},
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert next(iter(bad)) in str(failure.step_failure_data.error)
    assert not (tmp_path / SPEC.dataset_id).exists()


# --- no credential anywhere in what Dagster stores --------------------------------------------


def _stored_run_texts(instance: DagsterInstance, run_id: str) -> str:
    """Everything the instance stores about a run: the run (config, tags), its job snapshot
    (with the resources' config schema and values) and every event of its log."""
    run = instance.get_run_by_id(run_id)
    assert run is not None
    texts = [serialize_value(run)]
    if run.job_snapshot_id:
        texts.append(serialize_value(instance.get_job_snapshot(run.job_snapshot_id)))
    texts.extend(serialize_value(record) for record in instance.all_logs(run_id))
    return "\n".join(texts)


def test_no_credential_reaches_config_metadata_or_run_storage(
    tmp_path, s3_env: LocalS3, publish: PublishFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repositories on S3, which the run reaches with the environment's credentials: the
    secret key appears in no resource config, run config, metadata or stored event."""
    secret = s3_env.secret_access_key
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == secret  # the run has it to use
    s3_env.create_bucket("vidx-credential-test")
    monkeypatch.setenv("VIDX_REPO_KIND", "s3")
    monkeypatch.setenv("VIDX_REPO_BUCKET", "vidx-credential-test")
    monkeypatch.setenv("VIDX_REPO_ENDPOINT", s3_env.endpoint)
    init = dt.datetime(2025, 8, 13, 0, tzinfo=dt.UTC)
    publish(init, [0, 1])

    defs = build_definitions([SPEC])  # the code location's wiring: EnvVar resources
    job = defs.resolve_job_def(f"{ASSET}_operational_job")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config=operational_run_config(SPEC),
            partition_key="2025-08-13T00:00",
            instance=instance,
        )
        assert result.success
        stored = _stored_run_texts(instance, result.run_id)
    # What was searched holds the resources' config (as the names of its variables).
    assert "VIDX_REPO_BUCKET" in stored
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["files_ingested"].value == 2
    assert metadata["repository"].value == f"s3://vidx-credential-test/vidx/{SPEC.dataset_id}"

    resource_configs = {
        key: resource.model_dump()
        for key, resource in defs.resources.items()  # type: ignore[union-attr]
        if isinstance(
            resource, RepositoryStorageResource | IcechunkRepositoryResource | SourceStoreResource
        )
    }
    assert len(resource_configs) == 3
    texts = {
        "resource config": json.dumps(resource_configs, default=str),
        "run config": json.dumps(operational_run_config(SPEC)),
        "metadata": json.dumps({k: str(v.value) for k, v in metadata.items()}),
        "stored run": stored,
    }
    assert {where: secret in text for where, text in texts.items()} == dict.fromkeys(texts, False)


def test_each_commit_of_a_run_is_observed_with_the_partition_progress(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    """One commit per file (as an operational run following publication commits): the UI sees
    the partition's files in / expected grow, commit by commit, and the tag at the last."""
    init = dt.datetime(2025, 8, 13, 0, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours)
    config = {"ops": {ASSET: {"config": {"max_files_per_commit": 1}}}}
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [build_dataset_asset(SPEC)],
            partition_key="2025-08-13T00:00",
            resources=_resources(tmp_path, local_s3),
            instance=instance,
            run_config=config,
        )
        assert result.success
        observations = [
            event.event_specific_data.asset_observation
            for event in result.all_events
            if event.event_type_value == "ASSET_OBSERVATION"
        ]
    assert [o.partition for o in observations] == ["2025-08-13T00:00"] * len(SPEC.lead_hours)
    progress = [o.metadata["files_in"].value for o in observations]
    assert progress == list(range(1, len(SPEC.lead_hours) + 1))
    assert all(o.metadata["files_expected"].value == len(SPEC.lead_hours) for o in observations)
    assert len({o.metadata["snapshot_id"].value for o in observations}) == len(observations)
    assert "tag" not in observations[0].metadata
    assert observations[-1].metadata["tag"].value == "noaa-gfs-forecast/2025-08-13T00"
