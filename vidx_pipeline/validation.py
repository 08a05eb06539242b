"""Validation reports: is a partition's set of refs complete, read back from the repository."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import icechunk

from vidx_pipeline.ingest import ingested_steps
from vidx_pipeline.matching import expected_text
from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.source_files import expected_files


@dataclass
class CompletenessReport:
    """What a partition holds, counted from the committed repository alone."""

    partition_time: dt.datetime
    files_expected: int
    files_ingested: int = 0
    refs_expected: int = 0
    refs_found: int = 0
    absent_refs: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.files_ingested == self.files_expected and not self.absent_refs


def check_partition_complete(
    repository: DatasetRepository, partition_time: dt.datetime
) -> CompletenessReport:
    """Every expected file ingested, and for each, a virtual ref for every variable the producer
    writes at that lead."""
    spec = repository.spec
    files = expected_files(spec, partition_time)
    report = CompletenessReport(partition_time, files_expected=len(files))
    position = spec.append_dimension.index_of(partition_time)
    row = ingested_steps(repository, position)
    if row is None:
        return report
    session = repository.readonly_session()
    for file in files:
        if not row[file.step_tail]:
            continue
        report.files_ingested += 1
        for variable in spec.variables:
            if expected_text(variable, file.lead_hours) is None:
                continue
            report.refs_expected += 1
            coords = [position, *file.step_tail, 0, 0]
            if session.chunk_type(f"/{variable.name}", coords) == icechunk.ChunkType.virtual:
                report.refs_found += 1
            else:
                report.absent_refs.append(f"{variable.name}@f{file.lead_hours:03d}")
    return report


def partial_commit_problems(
    repository: DatasetRepository, partition_time: dt.datetime
) -> list[str]:
    """Evidence of a partially visible commit in a partition: a step flagged ingested without
    all its refs, or a ref for a step not flagged. Empty when the partition is consistent."""
    spec = repository.spec
    position = spec.append_dimension.index_of(partition_time)
    row = ingested_steps(repository, position)
    if row is None:
        return []
    session = repository.readonly_session()
    problems = []
    for file in expected_files(spec, partition_time):
        flagged = bool(row[file.step_tail])
        for variable in spec.variables:
            coords = [position, *file.step_tail, 0, 0]
            has_ref = session.chunk_type(f"/{variable.name}", coords) == icechunk.ChunkType.virtual
            expected = expected_text(variable, file.lead_hours) is not None
            if flagged and expected and not has_ref:
                problems.append(f"{variable.name}@f{file.lead_hours:03d}: flagged, no ref")
            if has_ref and not flagged:
                problems.append(f"{variable.name}@f{file.lead_hours:03d}: ref, not flagged")
    return problems
