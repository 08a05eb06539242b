"""Publication sensors: one per dataset, starting operational runs as the producer publishes.

Each tick lists the newest partitions' prefixes in the source bucket (one listing per partition
whose source cycle is still within its publication window; never a partition later than now)
and:

- requests a run for a cycle when its publication is due (``poll_ahead`` before the producer's
  typical first-file delay), so that the run is already polling when the first file lands and
  that file is as quick to read as the others; or, as a safety net for a cycle that starts early,
  when its first file is published (data and index both listed). ``run_key``
  ``<partition>:start``, so a repeated request is deduplicated by Dagster;
- requests a recovery run (``<partition>:recover:<n>``) for a cycle that has published files the
  repository does not hold while no run of that partition is queued or in progress — after a
  crashed or expired run;
- for a dataset read from a mirror, requests a run (``<partition>:mirrored:<event>``) of a
  partition the window no longer covers when a materialization of the mirror asset copied
  objects into it: the mirror keeps copying for a day after a deadline (a producer publishing
  late, a schedule paused for hours), the window ends an hour after it. It reads the mirror
  asset's materializations from the instance since the last tick (the first tick only notes
  where they stand), never lists the mirror for it.

A tick never creates a repository: before the first run has created it, nothing is held.
The cursor (JSON) remembers which cycles were started and how many recoveries each had; it is
persisted by Dagster between ticks and pruned as cycles leave the window.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)
from pydantic import BaseModel, Field

from vidx_pipeline.ingest import utc_now
from vidx_pipeline.orchestration.mirror import COPIED_COUNT
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT, asset_name
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource, SourceStoreResource
from vidx_pipeline.progress import ingested_row
from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.source_files import expected_files, list_partition, published_files
from vidx_pipeline.spec import DatasetSpec

SENSOR_INTERVAL_ENV_VAR = "VIDX_SENSOR_INTERVAL_SECONDS"
SENSOR_STATUS_ENV_VAR = "VIDX_SENSORS"
# The daemon evaluates a sensor at most this often; a shorter interval is not honoured.
DAEMON_MIN_INTERVAL_SECONDS = 5
LIVE_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
OPERATIONAL_TAGS = {"vidx/run_kind": "operational"}
PUBLICATION_GRACE = dt.timedelta(hours=1)
"""How long after a cycle's publication deadline the publication sensor still watches it."""
MIRROR_EVENTS_PER_TICK = 1000
"""Materializations of the mirror asset read per tick at most (the rest at the next tick)."""


class PublicationCursor(BaseModel):
    """Sensor state: cycles started (partition key -> first seen, ISO) and recoveries each;
    for a mirrored dataset, the storage id of the last mirror materialization read."""

    started: dict[str, str] = Field(default_factory=dict)
    recoveries: dict[str, int] = Field(default_factory=dict)
    mirror_seen: int | None = None

    @classmethod
    def parse(cls, cursor: str | None) -> PublicationCursor:
        return cls.model_validate_json(cursor) if cursor else cls()

    def prune(self, keep: set[str]) -> None:
        self.started = {k: v for k, v in self.started.items() if k in keep}
        self.recoveries = {k: v for k, v in self.recoveries.items() if k in keep}


def candidate_partitions(
    spec: DatasetSpec, now: dt.datetime, grace: dt.timedelta
) -> list[dt.datetime]:
    """Partitions that may be publishing at ``now`` (never one later than ``now``): newest
    first, while their source cycle's publication window (plus ``grace``) is still open."""
    axis = spec.append_dimension
    if now < axis.start:
        return []
    candidates = []
    when = axis.latest_at_or_before(now)
    while when >= axis.start and now <= spec.publication_deadline(when) + grace:
        candidates.append(when)
        when -= axis.frequency
    return candidates


def sensor_interval_seconds() -> int:
    """The sensor interval: ``VIDX_SENSOR_INTERVAL_SECONDS``, default and floor the daemon's."""
    value = int(os.environ.get(SENSOR_INTERVAL_ENV_VAR, DAEMON_MIN_INTERVAL_SECONDS))
    return max(value, DAEMON_MIN_INTERVAL_SECONDS)


def operational_run_config(spec: DatasetSpec, commit_interval_seconds: float = 0.0) -> dict:
    """Operational runs commit whatever a poll found at once (every 0.25 s at most): the
    newest file's latency is one poll plus one commit."""
    return {
        "ops": {
            asset_name(spec): {
                "config": {
                    "commit_interval_seconds": commit_interval_seconds,
                    "poll_interval_seconds": 0.25,
                }
            }
        }
    }


def _operational_run(spec: DatasetSpec, key: str, run_key: str, trigger: str) -> RunRequest:
    return RunRequest(
        run_key=run_key,
        partition_key=key,
        run_config=operational_run_config(spec),
        tags={**OPERATIONAL_TAGS, "vidx/trigger": trigger},
    )


def evaluate_publication(
    spec: DatasetSpec,
    context: SensorEvaluationContext,
    repository: DatasetRepository | None,
    source: SourceStoreResource,
    job_name: str,
    now: dt.datetime,
    grace: dt.timedelta,
    mirror_asset: AssetKey | None = None,
) -> SensorResult:
    cursor = PublicationCursor.parse(context.cursor)
    store = source.open(spec)
    requests: list[RunRequest] = []
    notes: list[str] = []
    candidates = candidate_partitions(spec, now, grace)
    for when in candidates:
        key = when.strftime(PARTITION_FORMAT)
        files = expected_files(spec, when)
        published = published_files(files, list_partition(store, files))
        due = spec.publication_due(when) <= now < spec.publication_deadline(when)
        if key not in cursor.started and (published or due):
            cursor.started[key] = now.isoformat()
            trigger = "first-file" if published else "due"
            requests.append(_operational_run(spec, key, f"{key}:start", trigger))
            notes.append(f"{key}: {'first file published' if published else 'publication due'}")
            continue
        if not published:
            continue
        row = (
            ingested_row(repository, spec.append_dimension.index_of(when))
            if repository is not None
            else None
        )
        not_held = [f for f in published if row is None or not row[f.progress_index]]
        if not not_held:
            continue
        if _has_live_run(context, job_name, key):
            continue
        attempt = cursor.recoveries.get(key, 0) + 1
        cursor.recoveries[key] = attempt
        requests.append(_operational_run(spec, key, f"{key}:recover:{attempt}", "recovery"))
        notes.append(f"{key}: {len(not_held)} published files not held and no live run: recovering")
    watched = {w.strftime(PARTITION_FORMAT) for w in candidates}
    if mirror_asset is not None:
        for key, event in _late_mirror_copies(context, cursor, mirror_asset, watched).items():
            if _has_live_run(context, job_name, key):
                continue
            requests.append(_operational_run(spec, key, f"{key}:mirrored:{event}", "mirror"))
            notes.append(f"{key}: the mirror copied objects after the publication window")
    cursor.prune(watched)
    if notes:
        context.log.info("; ".join(notes))
    return SensorResult(run_requests=requests, cursor=cursor.model_dump_json())


def _has_live_run(context: SensorEvaluationContext, job_name: str, key: str) -> bool:
    """Whether a run of ``job_name`` for partition ``key`` is queued or in progress."""
    return bool(
        context.instance.get_runs(
            RunsFilter(job_name=job_name, statuses=LIVE_STATUSES, tags={"dagster/partition": key}),
            limit=1,
        )
    )


def _late_mirror_copies(
    context: SensorEvaluationContext,
    cursor: PublicationCursor,
    mirror_asset: AssetKey,
    watched: set[str],
) -> dict[str, int]:
    """Partitions outside ``watched`` into which a materialization of ``mirror_asset`` since
    ``cursor.mirror_seen`` copied objects (-> the newest such event's storage id); advances
    the cursor. The first call only notes the newest materialization."""
    instance = context.instance
    if cursor.mirror_seen is None:
        newest = instance.fetch_materializations(mirror_asset, limit=1).records
        cursor.mirror_seen = newest[0].storage_id if newest else 0
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=mirror_asset, after_storage_id=cursor.mirror_seen),
        limit=MIRROR_EVENTS_PER_TICK,
        ascending=True,
    ).records
    late: dict[str, int] = {}
    for record in records:
        cursor.mirror_seen = record.storage_id
        materialization = record.asset_materialization
        copied = materialization.metadata.get(COPIED_COUNT) if materialization else None
        key = record.partition_key
        if key is not None and key not in watched and copied is not None and copied.value:
            late[key] = record.storage_id
    return late


def build_publication_sensor(
    spec: DatasetSpec,
    job: JobDefinition | UnresolvedAssetJobDefinition,
    repository_key: str,
    source_key: str,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    grace: dt.timedelta = PUBLICATION_GRACE,
    mirror_asset: AssetKey | None = None,
) -> SensorDefinition:
    """``spec``'s publication sensor; ``mirror_asset``: the asset copying its source objects
    into the mirror it reads, if any (its late copies start runs too)."""
    status = (
        DefaultSensorStatus.RUNNING
        if os.environ.get(SENSOR_STATUS_ENV_VAR, "").lower() in ("on", "running", "1")
        else DefaultSensorStatus.STOPPED
    )

    @sensor(
        name=f"{asset_name(spec)}_publication_sensor",
        job=job,
        minimum_interval_seconds=sensor_interval_seconds(),
        required_resource_keys={repository_key, source_key},
        default_status=status,
        description=f"Starts operational runs of {spec.dataset_id} as "
        f"{spec.source.store.url_prefix} publishes new cycles, and recovers stalled ones.",
    )
    def _publication_sensor(context: SensorEvaluationContext) -> SensorResult:
        repository_resource: IcechunkRepositoryResource = getattr(context.resources, repository_key)
        source: SourceStoreResource = getattr(context.resources, source_key)
        repository = repository_resource.open_existing(spec)
        return evaluate_publication(
            spec, context, repository, source, job.name, clock(), grace, mirror_asset
        )

    return _publication_sensor
