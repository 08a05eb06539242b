"""Repository facts the checks build on: which expected chunks of a partition have refs and
flags, read back from the committed repository."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import icechunk

from vidx_pipeline.progress import ingested_row
from vidx_pipeline.refs import Slot, locator_for
from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.source_files import ExpectedFile, expected_files


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
class SlotState:
    """One expected chunk of a partition as the committed repository holds it."""

    file: ExpectedFile
    slot: Slot
    label: str  # e.g. "temperature_isobaric isobaric_level=500.0 f007"
    flagged: bool  # its file is marked ingested
    has_ref: bool


def slot_states(
    repository: DatasetRepository,
    partition_time: dt.datetime,
    files: Sequence[ExpectedFile] | None = None,
) -> tuple[int, list[SlotState]]:
    """(files flagged, every expected chunk of ``files`` (default: every expected file) with
    its flag and whether a virtual ref exists); (0, []) if the append dimension does not reach
    the partition."""
    spec = repository.spec
    position = spec.append_dimension.index_of(partition_time)
    row = ingested_row(repository, position)
    if row is None:
        return 0, []
    session = repository.readonly_session()
    locator = locator_for(spec)
    grid = [0] * len(spec.grid.dims)
    # One synchronous lookup per chunk (a few microseconds each, far cheaper than as many
    # coroutines or than listing an array's chunks across its whole history).
    virtual = icechunk.ChunkType.virtual
    states = []
    flagged_files = 0
    for file in expected_files(spec, partition_time) if files is None else files:
        flagged = bool(row[file.progress_index])
        flagged_files += flagged
        for slot in locator.expected_slots(file):
            variable, index = slot
            has_ref = session.chunk_type(f"/{variable}", [position, *index, *grid]) == virtual
            states.append(SlotState(file, slot, locator.describe(slot), flagged, has_ref))
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
    report.files_ingested, states = slot_states(repository, partition_time)
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
    for state in slot_states(repository, partition_time)[1]:
        if state.flagged and not state.has_ref:
            problems.append(f"{state.label} flagged ingested, no ref")
        elif state.has_ref and not state.flagged:
            problems.append(f"{state.label} has a ref, its file is not flagged")
    return problems
