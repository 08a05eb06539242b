"""A maintenance job per repository and its daily schedule: expiry then garbage collection
(:mod:`vidx_pipeline.maintenance`), reporting what it removed as the op's output metadata.

A repository that does not exist yet is left alone (the job says so and succeeds).
"""

from dagster import (
    Config,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    ScheduleDefinition,
    job,
    op,
)
from pydantic import create_model

from vidx_pipeline.ingest import utc_now
from vidx_pipeline.maintenance import MaintenanceSettings, maintain
from vidx_pipeline.orchestration.assets import repository_resource_key
from vidx_pipeline.orchestration.partitions import asset_name
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource
from vidx_pipeline.spec import DatasetSpec

MaintenanceRunConfig = create_model(
    "MaintenanceRunConfig",
    __base__=Config,
    __doc__="Run config of a maintenance run: the fields of MaintenanceSettings.",
    **{name: (info.annotation, info) for name, info in MaintenanceSettings.model_fields.items()},  # type: ignore[call-overload]
)


def build_maintenance_job(spec: DatasetSpec) -> JobDefinition:
    repository_key = repository_resource_key(spec)

    @op(
        name=f"{asset_name(spec)}_maintenance",
        required_resource_keys={repository_key},
        description=f"Expire old snapshots of {spec.dataset_id} (tagged ones and the tip "
        "kept), then garbage-collect what nothing reaches.",
    )
    def _maintain(context: OpExecutionContext, config: MaintenanceRunConfig) -> Output[None]:
        resource: IcechunkRepositoryResource = getattr(context.resources, repository_key)
        repository = resource.open_existing(spec)
        if repository is None:
            context.log.info(f"{spec.dataset_id}: no repository yet, nothing to maintain")
            return Output(None, metadata={"repository": "(none yet)"})
        settings = MaintenanceSettings.model_validate(config.model_dump())
        report = maintain(repository, utc_now(), settings)
        context.log.info(f"{spec.dataset_id} maintenance: {report}")
        metadata = {name: MetadataValue.int(value) for name, value in report.as_metadata().items()}
        return Output(
            None, metadata={**metadata, "repository": MetadataValue.text(repository.location)}
        )

    @job(
        name=f"{asset_name(spec)}_maintenance_job",
        description=f"Expiry and garbage collection of the {spec.dataset_id} repository.",
        tags={"vidx/run_kind": "maintenance"},
    )
    def _job() -> None:
        _maintain()

    return _job


def build_maintenance_schedule(spec: DatasetSpec, maintenance: JobDefinition) -> ScheduleDefinition:
    """Daily, at a quiet minute (between the hourly checks)."""
    return ScheduleDefinition(
        name=f"{asset_name(spec)}_maintenance_schedule",
        job=maintenance,
        cron_schedule="47 3 * * *",
        execution_timezone="UTC",
        description=f"Daily expiry and garbage collection of {spec.dataset_id}.",
    )
