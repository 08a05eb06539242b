"""The code location's wiring, checked for every registered dataset: a new dataset in
``vidx_pipeline.datasets.DATASETS`` is tested here without a line of test code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    TimeWindowPartitionsDefinition,
    partition_loading_context,
)

from vidx_pipeline.checks import CHECKS
from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.definitions import dataset_definitions
from vidx_pipeline.orchestration.resources import (
    ENV_DEFAULTS,
    ENV_VARS,
    REPOSITORY_STORAGE_KEY,
    IcechunkRepositoryResource,
    RepositoryStorageResource,
    SourceStoreResource,
    repository_storage_from_env,
)
from vidx_pipeline.orchestration.sensors import OPERATIONAL_TAGS, SENSOR_STATUS_ENV_VAR
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.template import template_dataset

CHECKOUT = Path(__file__).parents[1]
SPECS = list(DATASETS.values())
every_dataset = pytest.mark.parametrize("spec", SPECS, ids=[s.dataset_id for s in SPECS])


def _name(spec: DatasetSpec) -> str:
    """The rule the code location names things by: the dataset id, as a Python identifier."""
    return spec.dataset_id.replace("-", "_")


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the code location's variables set: loading must not need them."""
    for variable in ENV_VARS.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv(SENSOR_STATUS_ENV_VAR, raising=False)


@every_dataset
def test_dataset_definitions_resolve_with_names_from_the_dataset_id(
    spec: DatasetSpec, no_env: None
) -> None:
    defs = dataset_definitions(spec, repository_storage_from_env())
    Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    name = _name(spec)

    assert repository.asset_graph.get_all_asset_keys() == {AssetKey(name)}
    jobs = {job.name: job for job in defs.resolve_all_job_defs()}
    assert {f"{name}_job", f"{name}_operational_job", f"{name}_checks_job"} <= jobs.keys()
    operational = jobs[f"{name}_operational_job"]
    assert operational.executor_def.name == "in_process"
    assert OPERATIONAL_TAGS.items() <= operational.tags.items()

    (sensor,) = repository.sensor_defs
    assert sensor.name == f"{name}_publication_sensor"
    assert sensor.job_name == f"{name}_operational_job"
    assert sensor.default_status == DefaultSensorStatus.STOPPED

    resources = defs.resources or {}
    repository_resource = resources[f"{name}_repository"]
    source_resource = resources[f"{name}_source"]
    assert isinstance(repository_resource, IcechunkRepositoryResource)
    assert isinstance(source_resource, SourceStoreResource)
    assert repository_resource.dataset_id == source_resource.dataset_id == spec.dataset_id
    asset = defs.resolve_assets_def(name)
    assert asset.required_resource_keys >= {f"{name}_repository", f"{name}_source"}
    assert asset.backfill_policy is not None
    graph = defs.resolve_asset_graph()
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == asset.key}
    assert checks == {kind.name for kind in CHECKS}
    for key in graph.asset_check_keys:
        assert graph.get_check_spec(key).partitions_def == asset.partitions_def
    # Every job that materializes the asset runs its checks after it.
    for job_name in (f"{name}_job", f"{name}_operational_job"):
        nodes = set(jobs[job_name].graph.node_names())
        assert nodes == {name} | {f"{name}_{check}" for check in checks}
    schedules = {schedule.name: schedule.job_name for schedule in repository.schedule_defs}
    assert schedules == {
        f"{name}_checks_schedule": f"{name}_checks_job",
        f"{name}_maintenance_schedule": f"{name}_maintenance_job",
    }


@every_dataset
def test_the_asset_description_lists_the_datasets_dims_and_variables(
    spec: DatasetSpec, no_env: None
) -> None:
    """What the asset's page says is what a reader opens: every data variable of the template
    with its long name and units, every dimension of a variable with its length."""
    description = (
        dataset_definitions(spec, repository_storage_from_env())
        .resolve_assets_def(_name(spec))
        .descriptions_by_key[AssetKey(_name(spec))]
    )
    template, _ = template_dataset(spec)
    for name, variable in template.data_vars.items():
        if name in (PROGRESS_ARRAY, "source_modified"):
            continue
        row = f"| `{name}` | {variable.attrs['long_name']} | {variable.attrs['units']} |"
        assert row in description, name
    variable_dims = {d for v in template.data_vars.values() for d in v.dims} - {"source_file"}
    for dim in variable_dims:
        size = template.sizes[dim]
        expected = "one per partition" if size == 0 else str(size)
        assert f"`{dim}` ({expected})" in description, dim


@every_dataset
def test_partitions_start_at_the_append_start_with_the_spec_cadence(spec: DatasetSpec) -> None:
    partitions = (
        dataset_definitions(spec, RepositoryStorageResource())
        .resolve_assets_def(_name(spec))
        .partitions_def
    )
    assert isinstance(partitions, TimeWindowPartitionsDefinition)
    axis = spec.append_dimension
    first = partitions.time_window_for_partition_key(partitions.get_first_partition_key())
    assert first.start == axis.start
    assert first.end - first.start == axis.frequency
    # The newest partition is the cycle now being published (its window is still open), or the
    # archive's end once the producer has stopped publishing it.
    for now in (axis.value_at(1000) + axis.frequency / 2, dt.datetime(2100, 1, 1, tzinfo=dt.UTC)):
        with partition_loading_context(effective_dt=now):
            newest = partitions.get_last_partition_key()
            count = len(partitions.get_partition_keys())
        assert newest is not None
        expected = axis.latest_at_or_before(now)
        assert partitions.time_window_for_partition_key(newest).start == expected
        assert count == axis.index_of(expected) + 1
        if axis.end is not None:
            assert expected == axis.end


@every_dataset
def test_the_sensor_runs_by_default_when_asked(
    spec: DatasetSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SENSOR_STATUS_ENV_VAR, "on")
    defs = dataset_definitions(spec, RepositoryStorageResource())
    (sensor,) = defs.get_repository_def().sensor_defs
    assert sensor.default_status == DefaultSensorStatus.RUNNING


def test_the_code_location_holds_every_dataset_and_the_shared_storage(no_env: None) -> None:
    from vidx_pipeline.definitions import defs

    Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    mirrors = {AssetKey(f"{_name(s)}_mirror") for s in SPECS if s.source.mirror is not None}
    assert (
        repository.asset_graph.get_all_asset_keys() == {AssetKey(_name(s)) for s in SPECS} | mirrors
    )
    assert len(repository.assets_defs_by_key) == len(DATASETS) + len(mirrors)
    assert {s.name for s in repository.sensor_defs} == {
        f"{_name(s)}_publication_sensor" for s in SPECS
    }

    resources = defs.resources or {}
    storage = resources[REPOSITORY_STORAGE_KEY]
    assert isinstance(storage, RepositoryStorageResource)
    # Nothing set: every field holds its local default.
    fields = {field: getattr(storage, field) for field in RepositoryStorageResource.model_fields}
    assert fields == {field: ENV_DEFAULTS[variable] for field, variable in ENV_VARS.items()}
    for spec in SPECS:
        for key in (f"{_name(spec)}_repository", f"{_name(spec)}_source"):
            resource = resources[key]
            assert isinstance(resource, IcechunkRepositoryResource | SourceStoreResource)
            assert resource.storage == storage


def test_every_job_runs_its_steps_in_the_runs_own_process(no_env: None) -> None:
    """Backfills, checks, mirrors, maintenance, the CLI's materializations: no job starts a
    process per step (each would import the code location again)."""
    from vidx_pipeline.definitions import defs

    executors = {job.name: job.executor_def.name for job in defs.resolve_all_job_defs()}
    assert len(executors) > len(SPECS)
    assert {name for name, executor in executors.items() if executor != "in_process"} == set()


def test_a_set_variable_is_resolved_by_dagster_at_run_time(
    no_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set variable becomes an ``EnvVar``: config holds its name, never its value."""
    monkeypatch.setenv("VIDX_REPO_BUCKET", "my-repositories")
    storage = repository_storage_from_env()
    assert storage.bucket == EnvVar("VIDX_REPO_BUCKET")
    assert storage.kind == ENV_DEFAULTS["VIDX_REPO_KIND"]
    assert ENV_DEFAULTS.keys() == set(ENV_VARS.values())


def test_no_env_file_overrides_the_environment() -> None:
    """The dagster CLI lets a ``.env`` in its working directory override the real environment:
    the checkout has none."""
    assert not (CHECKOUT / ".env").exists()
