"""The Dagster code location: one :func:`dataset_definitions` per registered dataset, merged
with the shared resources by ``Definitions.merge``.

Each dataset contributes its partitioned asset and its checks, a backfill job, an in-process
operational job (both run the checks after ingesting), a checks job with its hourly schedule,
a maintenance job (expiry, garbage collection) with its daily schedule,
its publication sensor, and two resources: its Icechunk repository and its
producer's store, both drawing on the shared :class:`RepositoryStorageResource`, configured
from the environment with ``EnvVar`` (see :mod:`vidx_pipeline.orchestration.resources`).
A dataset declaring a mirror (``source.mirror``) reads the mirror instead, downstream of its
mirror asset (:mod:`vidx_pipeline.orchestration.mirror`).
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetKey, Definitions, define_asset_job, in_process_executor

from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.mirror import mirror_store_from_env, mirrored_spec
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
from vidx_pipeline.orchestration.maintenance import (
    build_maintenance_job,
    build_maintenance_schedule,
)
from vidx_pipeline.orchestration.mirror import (
    build_mirror_asset,
    build_mirror_schedule,
    mirror_asset_name,
    mirror_job,
    producer_resource_key,
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
from vidx_pipeline.spec import DatasetSpec, LocalStoreSpec, ObjectStoreSpec


def dataset_definitions(
    spec: DatasetSpec, storage: RepositoryStorageResource, *, upstream: str | None = None
) -> Definitions:
    """Everything one dataset adds to the code location (``upstream``: the mirror asset its
    sources come from, whose late copies its publication sensor follows)."""
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
        spec,
        operational,
        repository_resource_key(spec),
        source_resource_key(spec),
        mirror_asset=AssetKey(upstream) if upstream else None,
    )
    checks = checks_job(spec)
    maintenance = build_maintenance_job(spec)
    return Definitions(
        assets=[build_dataset_asset(spec, upstream)],
        asset_checks=build_dataset_checks(
            spec, repository_resource_key(spec), source_resource_key(spec)
        ),
        jobs=[backfill, operational, checks, maintenance],
        schedules=[
            build_checks_schedule(spec, checks),
            build_maintenance_schedule(spec, maintenance),
        ],
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


def mirrored_dataset_definitions(
    spec: DatasetSpec,
    storage: RepositoryStorageResource,
    mirror_store: ObjectStoreSpec | LocalStoreSpec,
) -> Definitions:
    """A dataset whose producer keeps its files briefly: its mirror asset, job, schedule and
    producer resource, and its own definitions reading the mirror, downstream of it."""
    mirrored = mirrored_spec(spec, mirror_store)
    job = mirror_job(spec)
    mirror = Definitions(
        assets=[build_mirror_asset(spec, mirrored, source_resource_key(mirrored))],
        jobs=[job],
        schedules=[build_mirror_schedule(spec, job)],
        resources={
            producer_resource_key(spec): SourceStoreResource(
                dataset_id=spec.dataset_id, storage=storage
            )
        },
    )
    return Definitions.merge(
        mirror, dataset_definitions(mirrored, storage, upstream=mirror_asset_name(spec))
    )


def build_definitions(
    specs: Iterable[DatasetSpec],
    storage: RepositoryStorageResource | None = None,
    mirror_store: ObjectStoreSpec | LocalStoreSpec | None = None,
) -> Definitions:
    """The code location of ``specs``; ``storage`` defaults to the environment's (EnvVar), the
    mirror of datasets that declare one to the environment's (read now: it is part of their
    repositories' configuration)."""
    storage = storage or repository_storage_from_env()
    # Every job runs its steps in the run's own process. A run is one partition range's ingest
    # and its checks, waiting on object storage: Dagster's default multiprocess executor started
    # a process per step, each importing the code location again (seconds each; minutes for a
    # run on a loaded 2-core machine), for no parallelism worth having.
    shared = Definitions(resources={REPOSITORY_STORAGE_KEY: storage}, executor=in_process_executor)
    per_dataset = []
    for spec in specs:
        if spec.source.mirror is None:
            per_dataset.append(dataset_definitions(spec, storage))
            continue
        mirror_store = mirror_store or mirror_store_from_env()
        per_dataset.append(mirrored_dataset_definitions(spec, storage, mirror_store))
    return Definitions.merge(shared, *per_dataset)


defs = build_definitions(DATASETS.values())
