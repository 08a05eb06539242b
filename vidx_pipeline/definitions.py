"""The Dagster code location: one :func:`dataset_definitions` per registered dataset, merged
with the shared resources by ``Definitions.merge``.

Each dataset contributes its partitioned asset and its checks, a backfill job, an in-process
operational job (both run the checks after ingesting), a checks job with its hourly schedule,
its publication sensor, and two resources: its Icechunk repository and its
producer's store, both drawing on the shared :class:`RepositoryStorageResource`, configured
from the environment with ``EnvVar`` (see :mod:`vidx_pipeline.orchestration.resources`).
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import Definitions, define_asset_job, in_process_executor

from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.orchestration.assets import (
    build_dataset_asset,
    repository_resource_key,
    source_resource_key,
)
from vidx_pipeline.orchestration.checks import (
    build_checks_schedule,
    build_dataset_checks,
    checks_job,
)
from vidx_pipeline.orchestration.partitions import asset_name
from vidx_pipeline.orchestration.resources import (
    REPOSITORY_STORAGE_KEY,
    IcechunkRepositoryResource,
    RepositoryStorageResource,
    SourceStoreResource,
    repository_storage_from_env,
)
from vidx_pipeline.orchestration.sensors import OPERATIONAL_TAGS, build_publication_sensor
from vidx_pipeline.spec import DatasetSpec


def dataset_definitions(spec: DatasetSpec, storage: RepositoryStorageResource) -> Definitions:
    """Everything one dataset adds to the code location."""
    backfill = define_asset_job(
        f"{asset_name(spec)}_job",
        selection=[asset_name(spec)],
        description=f"Ingest partitions of {spec.dataset_id}.",
    )
    # Operational runs run in process: a subprocess per step would add 1-2 s to latency.
    operational = define_asset_job(
        f"{asset_name(spec)}_operational_job",
        selection=[asset_name(spec)],
        executor_def=in_process_executor,
        tags=OPERATIONAL_TAGS,
        description=f"Follow the publication of one {spec.dataset_id} cycle.",
    )
    sensor = build_publication_sensor(
        spec, operational, repository_resource_key(spec), source_resource_key(spec)
    )
    checks = checks_job(spec)
    return Definitions(
        assets=[build_dataset_asset(spec)],
        asset_checks=build_dataset_checks(
            spec, repository_resource_key(spec), source_resource_key(spec)
        ),
        jobs=[backfill, operational, checks],
        schedules=[build_checks_schedule(spec, checks)],
        sensors=[sensor],
        resources={
            repository_resource_key(spec): IcechunkRepositoryResource(
                dataset_id=spec.dataset_id, storage=storage
            ),
            source_resource_key(spec): SourceStoreResource(
                dataset_id=spec.dataset_id, storage=storage
            ),
        },
    )


def build_definitions(
    specs: Iterable[DatasetSpec], storage: RepositoryStorageResource | None = None
) -> Definitions:
    """The code location of ``specs``; ``storage`` defaults to the environment's (EnvVar)."""
    storage = storage or repository_storage_from_env()
    shared = Definitions(resources={REPOSITORY_STORAGE_KEY: storage})
    return Definitions.merge(shared, *(dataset_definitions(spec, storage) for spec in specs))


defs = build_definitions(DATASETS.values())
