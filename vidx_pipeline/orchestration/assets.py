"""One partitioned Dagster asset per dataset; materializing a partition ingests it (and
re-ingests files whose objects the producer replaced). Its checks are in
:mod:`vidx_pipeline.orchestration.checks`."""

import time
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import create_model

from vidx_pipeline.ingest import IngestResult, IngestRun, IngestSettings
from vidx_pipeline.orchestration.description import dataset_description
from vidx_pipeline.orchestration.partitions import (
    PARTITION_FORMAT,
    asset_name,
    partition_time,
    partitions_definition,
)
from vidx_pipeline.orchestration.resources import IcechunkRepositoryResource, SourceStoreResource
from vidx_pipeline.preview import partition_preview
from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.spec import DatasetSpec

BACKFILL_PARTITIONS_PER_RUN = 4


IngestRunConfig = create_model(
    "IngestRunConfig",
    __base__=Config,
    __doc__="Run config of an ingest: the fields of IngestSettings, with their defaults (which "
    "suit backfills; the publication sensor's operational runs commit what each poll finds).",
    **{name: (info.annotation, info) for name, info in IngestSettings.model_fields.items()},  # type: ignore[call-overload]
)


def ingest_settings(config: Config) -> IngestSettings:
    """The settings a run's config holds."""
    return IngestSettings.model_validate(config.model_dump())


def repository_resource_key(spec: DatasetSpec) -> str:
    return f"{asset_name(spec)}_repository"


def source_resource_key(spec: DatasetSpec) -> str:
    return f"{asset_name(spec)}_source"


def _materialization_metadata(
    results: list[IngestResult], location: str, seconds: float
) -> dict[str, Any]:
    missing = [m.describe() for result in results for m in result.missing]
    unplaced = [u for result in results for u in result.unplaced]
    refused = [r for result in results for r in result.refused]
    replaced = [r for result in results for r in result.replaced]
    snapshots = [r.snapshot_id for r in results if r.snapshot_id]
    return {
        "partitions": len(results),
        "files_expected": sum(r.files_expected for r in results),
        "files_seen": sum(r.files_seen for r in results),
        "files_already_ingested": sum(r.files_already_ingested for r in results),
        "files_ingested": sum(r.files_ingested for r in results),
        "refs_written": sum(r.refs_written for r in results),
        "missing_count": len(missing),
        "missing": MetadataValue.json(missing[:500]),
        "new_producer_output_count": len(unplaced),
        "new_producer_output": MetadataValue.json(unplaced[:500]),
        "refused_count": len(refused),
        "refused": MetadataValue.json(refused[:500]),
        "replaced_count": len(replaced),
        "replaced": MetadataValue.json(replaced[:500]),
        "snapshot_id": snapshots[-1] if snapshots else "(no new commit)",
        "tags": MetadataValue.json([r.tag for r in results if r.tag]),
        "progress": MetadataValue.md(
            "| partition | files in / expected | tag |\n|---|---|---|\n"
            + "\n".join(
                f"| {r.partition_time:%Y-%m-%dT%H:%M} "
                f"| {r.files_already_ingested + r.files_ingested}/{r.files_expected} "
                f"| {r.tag or '(incomplete)'} |"
                for r in results
            )
        ),
        "commits": len({r.snapshot_id for r in results if r.snapshot_id}),
        "commit_attempts": sum(r.commit_attempts for r in results),
        "seconds": round(seconds, 3),
        "repository": location,
    }


def _preview_markdown(repository: DatasetRepository, results: list[IngestResult]) -> str:
    """A map of one field of the run's newest partition with anything committed (see
    :mod:`vidx_pipeline.preview`), or why there is none. A preview that cannot be drawn is
    said so here and left to the ``decode_health`` check to judge, never failing the run."""
    for result in sorted(results, key=lambda r: r.partition_time, reverse=True):
        try:
            preview = partition_preview(repository, result.partition_time)
        except Exception as error:  # cosmetic: the checks report what is wrong with the data
            return f"(no preview: {type(error).__name__}: {error})"
        if preview is not None:
            return f"{result.partition_time:%Y-%m-%dT%H:%M} " + preview.markdown()
    return "(no preview: nothing of these partitions is committed, or the grid has no rows)"


def commit_observation(
    asset_key: AssetKey, snapshot: str, result: IngestResult
) -> AssetObservation:
    """One commit of a run, as an observation of the partition: files in / expected, refs so
    far, the snapshot (and the tag once the partition is complete)."""
    files_in = result.files_already_ingested + result.files_ingested
    metadata: dict[str, Any] = {
        "files_in": MetadataValue.int(files_in),
        "files_expected": MetadataValue.int(result.files_expected),
        "progress": MetadataValue.text(f"{files_in}/{result.files_expected} files"),
        "refs_written": MetadataValue.int(result.refs_written),
        "snapshot_id": MetadataValue.text(snapshot),
    }
    if result.tag:
        metadata["tag"] = MetadataValue.text(result.tag)
    return AssetObservation(
        asset_key=asset_key,
        partition=result.partition_time.strftime(PARTITION_FORMAT),
        metadata=metadata,
    )


def build_dataset_asset(spec: DatasetSpec, upstream: str | None = None) -> AssetsDefinition:
    """The dataset's asset; ``upstream``: the asset its sources come from (a mirror's), one
    partition to the same partition."""
    repository_key = repository_resource_key(spec)
    source_key = source_resource_key(spec)

    @asset(
        name=asset_name(spec),
        partitions_def=partitions_definition(spec),
        required_resource_keys={repository_key, source_key},
        description=dataset_description(spec),
        group_name="virtual_datasets",
        # Backfills: a few partitions per run, committed together.
        backfill_policy=BackfillPolicy.multi_run(
            max_partitions_per_run=BACKFILL_PARTITIONS_PER_RUN
        ),
        kinds={"icechunk", "zarr"},
        deps=[upstream] if upstream else None,
        metadata={"dataset_id": spec.dataset_id, "source": spec.source.store.url_prefix},
    )
    def _dataset_asset(
        context: AssetExecutionContext, config: IngestRunConfig
    ) -> MaterializeResult:
        started = time.perf_counter()
        repository_resource: IcechunkRepositoryResource = getattr(context.resources, repository_key)
        source_resource: SourceStoreResource = getattr(context.resources, source_key)
        repository = repository_resource.open(spec)
        store = source_resource.open(spec)

        def log_commit(snapshot: str, results: list[IngestResult]) -> None:
            files = sum(r.files_ingested for r in results)
            context.log.info(f"committed {snapshot}: {len(results)} partition(s), {files} files")
            for result in results:  # the partition's progress, live in the UI
                context.log_event(commit_observation(context.asset_key, snapshot, result))

        times = [partition_time(key) for key in context.partition_keys]
        run = IngestRun(
            spec, repository, store, times, ingest_settings(config), on_commit=log_commit
        )
        results = run.run()
        for result in results:
            context.log.info(
                f"{spec.dataset_id} {result.partition_time:%Y-%m-%dT%H:%M}: "
                f"{result.files_seen}/{result.files_expected} files published, "
                f"{result.files_ingested} ingested now, "
                f"{result.files_already_ingested} already in, {result.refs_written} refs, "
                f"snapshot {result.snapshot_id or '(none: nothing new)'}"
            )
            for missing in result.missing[:50]:
                context.log.warning(f"expected field absent: {missing.describe()}")
            if result.unplaced:
                context.log.warning(
                    f"{len(result.unplaced)} messages of fields not in the dataset (new producer "
                    f"output), e.g. {result.unplaced[:3]}"
                )
            for refused in result.refused[:50]:
                context.log.warning(f"refused: {refused}")
            for replaced in result.replaced:
                context.log.warning(f"re-ingested {replaced}: the producer replaced it")
        seconds = time.perf_counter() - started
        metadata = _materialization_metadata(results, repository.location, seconds)
        metadata["preview"] = MetadataValue.md(_preview_markdown(repository, results))
        return MaterializeResult(metadata=metadata)

    return _dataset_asset
