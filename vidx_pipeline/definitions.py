"""The Dagster code location: one partitioned asset, one repository resource and one source
store resource per dataset spec.

Resource defaults come from the environment at load time (``VIDX_REPO_*`` for where
repositories live, ``VIDX_S3_ENDPOINT`` for a non-AWS S3 endpoint such as the offline archive).
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
from vidx_pipeline.orchestration.partitions import asset_name
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource, SourceStoreResource
from vidx_pipeline.orchestration.sensors import OPERATIONAL_TAGS, build_publication_sensor
from vidx_pipeline.spec import DatasetSpec


def build_definitions(specs: Iterable[DatasetSpec]) -> Definitions:
    assets = []
    jobs = []
    resources: dict[str, object] = {}
    sensors = []
    for spec in specs:
        assets.append(build_dataset_asset(spec))
        jobs.append(
            define_asset_job(
                f"{asset_name(spec)}_job",
                selection=[asset_name(spec)],
                description=f"Ingest partitions of {spec.dataset_id}.",
            )
        )
        # Operational runs run in process: a subprocess per step would add 1-2 s to latency.
        operational = define_asset_job(
            f"{asset_name(spec)}_operational_job",
            selection=[asset_name(spec)],
            executor_def=in_process_executor,
            tags=OPERATIONAL_TAGS,
            description=f"Follow the publication of one {spec.dataset_id} cycle.",
        )
        jobs.append(operational)
        sensors.append(
            build_publication_sensor(
                spec, operational, repository_resource_key(spec), source_resource_key(spec)
            )
        )
        resources[repository_resource_key(spec)] = IcechunkRepositoryResource.from_env(
            spec.dataset_id
        )
        resources[source_resource_key(spec)] = SourceStoreResource.from_env(spec.dataset_id)
    return Definitions(assets=assets, jobs=jobs, sensors=sensors, resources=resources)


defs = build_definitions(DATASETS.values())
