"""The validation reports of :mod:`vidx_pipeline.checks` as Dagster asset checks.

Every dataset gets every check as a partitioned asset check of its asset. They run after each
materialization (the dataset's jobs select the asset with its checks) over the partitions that
run materialized, and on a schedule over the newest partitions. In the UI each result shows a
one-line description, a Markdown ``details`` report, and numbers to chart.

(No ``from __future__ import annotations`` here: Dagster resolves the check's ``config``
annotation at definition time.)
"""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetSelection,
    Config,
    MetadataValue,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    asset_check,
    define_asset_job,
    schedule,
)
from dagster._core.definitions.metadata import RawMetadataValue
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from vidx_pipeline.checks import CHECKS, CheckInputs, CheckKind, CheckOutcome
from vidx_pipeline.ingest import utc_now
from vidx_pipeline.orchestration.partitions import (
    PARTITION_FORMAT,
    asset_name,
    partition_time,
    partitions_definition,
)
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource, SourceStoreResource
from vidx_pipeline.spec import DatasetSpec

SCHEDULED_PARTITIONS = 4
"""How many of the newest partitions the scheduled check runs judge."""


class CheckConfig(Config):
    decode_samples: int = 0
    """Chunks decode health reads per partition beyond one of every variable."""


def check_result(outcome: CheckOutcome, partitions: list[str]) -> AssetCheckResult:
    metadata: dict[str, RawMetadataValue] = {
        "summary": outcome.summary,
        "details": MetadataValue.md(outcome.details),
        "partitions": ", ".join(partitions),
    }
    metadata.update({name: float(value) for name, value in outcome.numbers.items()})
    return AssetCheckResult(
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR
        if outcome.severity == "error"
        else AssetCheckSeverity.WARN,
        description=outcome.summary,
        metadata=metadata,
    )


def build_dataset_checks(
    spec: DatasetSpec, repository_key: str, source_key: str
) -> list[AssetChecksDefinition]:
    return [_build_check(spec, kind, repository_key, source_key) for kind in CHECKS]


def _build_check(
    spec: DatasetSpec, kind: CheckKind, repository_key: str, source_key: str
) -> AssetChecksDefinition:
    @asset_check(
        asset=asset_name(spec),
        name=kind.name,
        description=kind.description,
        partitions_def=partitions_definition(spec),
        required_resource_keys={repository_key, source_key},
    )
    def _check(context: AssetCheckExecutionContext, config: CheckConfig) -> AssetCheckResult:
        repository_resource: IcechunkRepositoryResource = getattr(context.resources, repository_key)
        source_resource: SourceStoreResource = getattr(context.resources, source_key)
        keys = list(context.partition_keys)
        repository = repository_resource.open(spec)
        inputs = CheckInputs(
            repository=repository,
            store=source_resource.open(spec),
            partition_times=[partition_time(key) for key in keys],
            now=utc_now(),
            decode_samples=config.decode_samples,
        )
        outcome = kind.run(inputs)
        log = context.log.info if outcome.passed else context.log.warning
        log(f"{kind.name} {spec.dataset_id} {keys[0]}..{keys[-1]}: {outcome.summary}")
        return check_result(outcome, keys)

    return _check


def checks_job(spec: DatasetSpec) -> UnresolvedAssetJobDefinition:
    return define_asset_job(
        f"{asset_name(spec)}_checks_job",
        selection=AssetSelection.checks_for_assets(asset_name(spec)),
        description=f"Run every validation check of {spec.dataset_id} on chosen partitions.",
    )


def newest_partitions(spec: DatasetSpec, now: dt.datetime, count: int) -> list[str]:
    """Keys of the ``count`` newest partitions whose time has come."""
    append = spec.append_dimension
    if now < append.start:
        return []
    last = append.index_of_at_or_before(now)
    return [
        append.value_at(p).strftime(PARTITION_FORMAT)
        for p in range(max(0, last - count + 1), last + 1)
    ]


def build_checks_schedule(
    spec: DatasetSpec, job: UnresolvedAssetJobDefinition
) -> ScheduleDefinition:
    @schedule(
        name=f"{asset_name(spec)}_checks_schedule",
        job=job,
        cron_schedule="20 * * * *",
        execution_timezone="UTC",
        description=f"Hourly: every check of {spec.dataset_id} on its "
        f"{SCHEDULED_PARTITIONS} newest partitions.",
    )
    def _schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        now = context.scheduled_execution_time or utc_now()
        for key in newest_partitions(spec, now.astimezone(dt.UTC), SCHEDULED_PARTITIONS):
            yield RunRequest(
                run_key=f"checks-{key}-{now:%Y%m%dT%H%M}",
                partition_key=key,
                tags={"vidx/run_kind": "checks"},
            )

    return _schedule
