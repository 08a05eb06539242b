"""Validation reports: is a partition's set of refs complete, read back from the repository."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import icechunk

from vidx_pipeline.progress import ingested_row
from vidx_pipeline.refs import locator_for
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
class _SlotState:
    """One expected chunk of a partition as the committed repository holds it."""

    label: str  # e.g. "temperature_isobaric isobaric_level=500.0 f007"
    flagged: bool  # its file is marked ingested
    has_ref: bool


def _slot_states(
    repository: DatasetRepository, partition_time: dt.datetime
) -> tuple[int, list[_SlotState]]:
    """(files flagged, every expected chunk of every expected file with its flag and whether a
    virtual ref exists); (0, []) if the append dimension does not reach the partition."""
    spec = repository.spec
    position = spec.append_dimension.index_of(partition_time)
    row = ingested_row(repository, position)
    if row is None:
        return 0, []
    session = repository.readonly_session()
    locator = locator_for(spec)
    wanted: list[tuple[str, bool, str, list[int]]] = []
    flagged_files = 0
    for file in expected_files(spec, partition_time):
        flagged = bool(row[file.progress_index])
        flagged_files += flagged
        for (variable, index), label in locator.expected_slots(file).items():
            wanted.append((label, flagged, variable, [position, *index, 0, 0]))

    # One synchronous lookup per chunk (a few microseconds each, far cheaper than as many
    # coroutines or than listing an array's chunks across its whole history).
    virtual = icechunk.ChunkType.virtual
    states = [
        _SlotState(label, flagged, session.chunk_type(f"/{variable}", coords) == virtual)
        for label, flagged, variable, coords in wanted
    ]
    return flagged_files, states


def check_partition_complete(
    repository: DatasetRepository, partition_time: dt.datetime
) -> CompletenessReport:
    """Every expected file ingested, and for each, a virtual ref for every chunk the producer
    writes in it (each variable at each level expected at that lead, for each member)."""
    spec = repository.spec
    report = CompletenessReport(
        partition_time, files_expected=len(expected_files(spec, partition_time))
    )
    report.files_ingested, states = _slot_states(repository, partition_time)
    for state in states:
        if state.flagged:
            report.refs_expected += 1
            if state.has_ref:
                report.refs_found += 1
            else:
                report.absent_refs.append(state.label)
    return report


def partial_commit_problems(
    repository: DatasetRepository, partition_time: dt.datetime
) -> list[str]:
    """Evidence of a partially visible commit in a partition: a file flagged ingested without
    all its refs, or a ref of a file not flagged. Empty when the partition is consistent."""
    problems = []
    for state in _slot_states(repository, partition_time)[1]:
        if state.flagged and not state.has_ref:
            problems.append(f"{state.label}: flagged, no ref")
        if state.has_ref and not state.flagged:
            problems.append(f"{state.label}: ref, not flagged")
    return problems
