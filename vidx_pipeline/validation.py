"""Validation reports: is a partition's set of refs complete, read back from the repository."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import icechunk

from vidx_pipeline.ingest import ingested_steps
from vidx_pipeline.matching import expected_texts
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


@dataclass(frozen=True)
class _StepRef:
    """One (file, variable) of a partition as the committed repository holds it."""

    label: str  # variable@fLLL
    flagged: bool  # the file's step is marked ingested
    expected: bool  # the producer writes this variable at this lead
    has_ref: bool


def _step_refs(repository: DatasetRepository, partition_time: dt.datetime) -> list[_StepRef]:
    """Every (expected file, variable) of the partition with its progress flag and whether a
    virtual ref exists; empty if the append dimension does not reach the partition."""
    spec = repository.spec
    position = spec.append_dimension.index_of(partition_time)
    row = ingested_steps(repository, position)
    if row is None:
        return []
    session = repository.readonly_session()
    steps = []
    for file in expected_files(spec, partition_time):
        wanted = expected_texts(spec, file.lead_hours)
        coords = [position, *file.step_tail, 0, 0]
        for variable in spec.variables:
            chunk_type = session.chunk_type(f"/{variable.name}", coords)
            steps.append(
                _StepRef(
                    label=f"{variable.name}@f{file.lead_hours:03d}",
                    flagged=bool(row[file.step_tail]),
                    expected=variable.name in wanted,
                    has_ref=chunk_type == icechunk.ChunkType.virtual,
                )
            )
    return steps


def check_partition_complete(
    repository: DatasetRepository, partition_time: dt.datetime
) -> CompletenessReport:
    """Every expected file ingested, and for each, a virtual ref for every variable the producer
    writes at that lead."""
    spec = repository.spec
    files = expected_files(spec, partition_time)
    report = CompletenessReport(partition_time, files_expected=len(files))
    steps = _step_refs(repository, partition_time)
    # Each file contributes one step per variable.
    report.files_ingested = sum(s.flagged for s in steps) // len(spec.variables)
    for step in steps:
        if step.flagged and step.expected:
            report.refs_expected += 1
            if step.has_ref:
                report.refs_found += 1
            else:
                report.absent_refs.append(step.label)
    return report


def partial_commit_problems(
    repository: DatasetRepository, partition_time: dt.datetime
) -> list[str]:
    """Evidence of a partially visible commit in a partition: a step flagged ingested without
    all its refs, or a ref for a step not flagged. Empty when the partition is consistent."""
    problems = []
    for step in _step_refs(repository, partition_time):
        if step.flagged and step.expected and not step.has_ref:
            problems.append(f"{step.label}: flagged, no ref")
        if step.has_ref and not step.flagged:
            problems.append(f"{step.label}: ref, not flagged")
    return problems
