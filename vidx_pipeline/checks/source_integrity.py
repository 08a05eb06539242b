"""Source integrity: every ingested file's data object is still listed, and not newer than the
last-modified time its refs' checksums record (``source_modified``). A replaced object's refs
are refused at read; the check names it before a reader hits it, and materializing the
partition again re-ingests it (new offsets, new checksum) in one commit."""

from __future__ import annotations

from vidx_pipeline.checks.base import (
    CheckInputs,
    CheckKind,
    CheckOutcome,
    bullet_list,
    partition_label,
)
from vidx_pipeline.progress import modified_seconds, progress_row, replaced_files
from vidx_pipeline.source_files import expected_files, list_partition


def source_integrity(inputs: CheckInputs) -> CheckOutcome:
    spec = inputs.repository.spec
    prefix = spec.source.store.url_prefix
    vanished: list[str] = []
    replaced: list[str] = []
    checked = 0
    for when in inputs.partition_times:
        row = progress_row(inputs.repository, spec.append_dimension.index_of(when))
        if row is None:
            continue
        files = [f for f in expected_files(spec, when) if row.ingested[f.progress_index]]
        if not files:
            continue
        listed = list_partition(inputs.store, files)
        checked += len(files)
        label = partition_label(when)
        vanished += [f"{label}: {prefix}{f.data_key}" for f in files if f.data_key not in listed]
        for file in replaced_files(row, files, listed):
            recorded = int(row.modified[file.progress_index])
            now = modified_seconds(listed[file.data_key])
            replaced.append(
                f"{label}: {prefix}{file.data_key} modified {now - recorded} s after its refs "
                "were written"
            )
    problems = vanished + replaced
    details = []
    if replaced:
        details.append(
            "**Replaced** (reads of their refs are refused; materialize the partition again "
            "to re-ingest them)\n\n" + bullet_list(replaced)
        )
    if vanished:
        details.append("**Vanished** (reads of their refs fail)\n\n" + bullet_list(vanished))
    return CheckOutcome(
        passed=not problems,
        severity="error",
        summary=f"{len(replaced)} replaced, {len(vanished)} vanished of {checked} ingested "
        "source objects",
        details="\n\n".join(details) or f"All {checked} ingested source objects unchanged.",
        numbers={"objects_checked": checked, "replaced": len(replaced), "vanished": len(vanished)},
    )


SOURCE_INTEGRITY = CheckKind(
    "source_integrity",
    "Every ingested source object is still listed and unchanged since its refs were written "
    "(their checksums would refuse a replaced object).",
    source_integrity,
)
