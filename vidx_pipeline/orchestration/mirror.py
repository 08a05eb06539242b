"""The mirror of a short-lived producer archive in Dagster: where it lives, the asset copying
each partition's published objects into it, and the schedule that keeps copying while the
producer still has them.

A dataset whose spec declares ``source.mirror`` gets, besides its usual definitions (built on
:func:`~vidx_pipeline.mirror.mirrored_spec`, so its asset, checks and sensor read the mirror):

- the asset ``<dataset>_mirror``, partitioned as the dataset, upstream of the dataset's asset:
  materializing a partition copies every object of it the producer lists and the mirror lacks
  (:func:`~vidx_pipeline.mirror.mirror_partition`);
- the job ``<dataset>_mirror_job`` and the schedule ``<dataset>_mirror_schedule`` (every 10
  minutes; on where the sensors are: ``VIDX_SENSORS=on``) requesting a run of every partition
  whose files may be at the producer now: from its publication's start to
  :data:`PRODUCER_RETENTION` after its deadline;
- the resource ``<dataset>_producer``: the producer's own store.

Where the mirror lives is read from the environment when the code location loads (the mirror
decides the dataset's virtual chunk container, part of the repository's configuration), by
:func:`~vidx_pipeline.mirror.mirror_store_from_env`, which readers use too:
``VIDX_MIRROR_KIND`` ``local`` (default: the directory ``VIDX_MIRROR_ROOT``, default
``.local/mirror``) or ``s3`` (the bucket ``VIDX_MIRROR_BUCKET`` in ``VIDX_MIRROR_REGION``, read
and written with credentials from the standard AWS variables, on the producers' S3 endpoint
``VIDX_S3_ENDPOINT``).
"""

import datetime as dt
import os
import time

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    asset,
    define_asset_job,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from vidx_pipeline.mirror import mirror_partition
from vidx_pipeline.orchestration.partitions import (
    PARTITION_FORMAT,
    asset_name,
    partition_time,
    partitions_definition,
)
from vidx_pipeline.orchestration.resources import SourceStoreResource
from vidx_pipeline.spec import DatasetSpec

PRODUCER_RETENTION = dt.timedelta(hours=24)
"""How long after a partition's deadline the producer may still hold its files (DWD: a day)."""
MIRROR_CRON = "*/10 * * * *"
COPIED_COUNT = "copied_count"
"""The mirror asset's metadata entry: objects a materialization copied (0 when nothing new)."""
SENSOR_STATUS_ENV_VAR = "VIDX_SENSORS"


def mirror_asset_name(spec: DatasetSpec) -> str:
    return f"{asset_name(spec)}_mirror"


def producer_resource_key(spec: DatasetSpec) -> str:
    return f"{asset_name(spec)}_producer"


def build_mirror_asset(
    spec: DatasetSpec, mirrored: DatasetSpec, mirror_resource_key: str
) -> AssetsDefinition:
    """The asset copying ``spec``'s partitions into the mirror that ``mirrored`` reads, opened
    through the resource ``mirror_resource_key`` (the dataset's own source resource)."""
    producer_key = producer_resource_key(spec)

    @asset(
        name=mirror_asset_name(spec),
        partitions_def=partitions_definition(spec),
        required_resource_keys={producer_key, mirror_resource_key},
        description=f"{spec.name}: the producer's objects, copied unchanged into the mirror "
        f"({mirrored.source.store.url_prefix}) while {spec.source.store.url_prefix} has them.",
        group_name="mirrors",
        metadata={
            "dataset_id": spec.dataset_id,
            "source": spec.source.store.url_prefix,
            "mirror": mirrored.source.store.url_prefix,
        },
    )
    def _mirror_asset(context: AssetExecutionContext) -> MaterializeResult:
        started = time.perf_counter()
        producer_resource: SourceStoreResource = getattr(context.resources, producer_key)
        mirror_resource: SourceStoreResource = getattr(context.resources, mirror_resource_key)
        producer = producer_resource.open(spec)
        mirror = mirror_resource.open(mirrored)
        results = []
        for key in context.partition_keys:
            result = mirror_partition(spec, producer, mirror, mirrored, partition_time(key))
            context.log.info(
                f"{spec.dataset_id} {key}: {result.files_published}/{result.files_expected} "
                f"published, {len(result.copied)} copied now, {result.already_mirrored} already "
                f"mirrored ({result.bytes_copied} bytes)"
            )
            results.append(result)
        return MaterializeResult(
            metadata={
                "partitions": len(results),
                "files_expected": sum(r.files_expected for r in results),
                "files_published": sum(r.files_published for r in results),
                "already_mirrored": sum(r.already_mirrored for r in results),
                COPIED_COUNT: sum(len(r.copied) for r in results),
                "copied": MetadataValue.json([k for r in results for k in r.copied][:500]),
                "bytes_copied": sum(r.bytes_copied for r in results),
                "seconds": round(time.perf_counter() - started, 3),
            }
        )

    return _mirror_asset


def mirror_job(spec: DatasetSpec) -> UnresolvedAssetJobDefinition:
    return define_asset_job(
        f"{mirror_asset_name(spec)}_job",
        selection=[mirror_asset_name(spec)],
        description=f"Copy partitions of {spec.dataset_id} from the producer into the mirror.",
    )


def partitions_at_producer(spec: DatasetSpec, now: dt.datetime) -> list[dt.datetime]:
    """Partitions whose files the producer may hold at ``now``: publication started, deadline
    plus :data:`PRODUCER_RETENTION` not yet passed; oldest first."""
    axis = spec.append_dimension
    if now < axis.start:
        return []
    found = []
    position = axis.index_of_at_or_before(now)
    while position >= 0:
        partition = axis.value_at(position)
        if spec.publication_deadline(partition) + PRODUCER_RETENTION < now:
            break
        if spec.publication_due(partition) <= now:
            found.append(partition)
        position -= 1
    return found[::-1]


def build_mirror_schedule(
    spec: DatasetSpec, job: UnresolvedAssetJobDefinition
) -> ScheduleDefinition:
    status = (
        DefaultScheduleStatus.RUNNING
        if os.environ.get(SENSOR_STATUS_ENV_VAR, "").lower() in ("on", "running", "1")
        else DefaultScheduleStatus.STOPPED
    )

    @schedule(
        name=f"{mirror_asset_name(spec)}_schedule",
        cron_schedule=MIRROR_CRON,
        job=job,
        default_status=status,
        description=f"Copy {spec.dataset_id}'s newly published objects into the mirror before "
        "the producer removes them.",
    )
    def _mirror_schedule(context: ScheduleEvaluationContext) -> list[RunRequest]:
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        now = now.astimezone(dt.UTC)
        return [
            RunRequest(
                run_key=f"{partition:{PARTITION_FORMAT}}:mirror:{now:%Y%m%dT%H%M}",
                partition_key=f"{partition:{PARTITION_FORMAT}}",
            )
            for partition in partitions_at_producer(spec, now)
        ]

    return _mirror_schedule
