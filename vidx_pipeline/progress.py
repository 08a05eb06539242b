"""Ingest progress: the ``ingested`` flags, one per expected source file, and ``source_modified``,
each ingested file's data-object last-modified time as its refs' checksum records it, both
committed in the same commit as the refs they describe. Read back from the repository, never
from orchestrator state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import zarr
import zarr.errors

from vidx_pipeline.source_files import ExpectedFile

if TYPE_CHECKING:
    from vidx_pipeline.index_formats.base import SourceObject
    from vidx_pipeline.repository import DatasetRepository

PROGRESS_ARRAY = "ingested"
SOURCE_MODIFIED_ARRAY = "source_modified"


@dataclass(frozen=True)
class ProgressRow:
    """One append position's progress: flags and recorded last-modified seconds (dims
    ``spec.progress_dims[1:]``)."""

    ingested: np.ndarray
    modified: np.ndarray


def progress_row(repository: DatasetRepository, position: int) -> ProgressRow | None:
    """The progress of one append position, or None if the template is not written yet or the
    append dimension is not that long."""
    try:
        group = zarr.open_group(repository.readonly_session().store, mode="r")
    except zarr.errors.GroupNotFoundError:
        return None
    if PROGRESS_ARRAY not in group:
        return None
    progress = group[PROGRESS_ARRAY]
    modified = group[SOURCE_MODIFIED_ARRAY]
    assert isinstance(progress, zarr.Array)
    assert isinstance(modified, zarr.Array)
    if position >= progress.shape[0]:
        return None
    return ProgressRow(np.asarray(progress[position]), np.asarray(modified[position]))


def ingested_row(repository: DatasetRepository, position: int) -> np.ndarray | None:
    """The progress flags of one append position (see :func:`progress_row`)."""
    row = progress_row(repository, position)
    return None if row is None else row.ingested


def done_files(row: np.ndarray | None, files: Sequence[ExpectedFile]) -> set[tuple[int, ...]]:
    """The progress indices of ``files`` flagged in ``row``."""
    if row is None:
        return set()
    return {f.progress_index for f in files if row[f.progress_index]}


def modified_seconds(data: SourceObject) -> int:
    """What ``source_modified`` records of a data object: its checksum time in epoch seconds."""
    return int(data.last_modified_checksum().timestamp())


def replaced_files(
    row: ProgressRow | None, files: Sequence[ExpectedFile], listed: dict[str, SourceObject]
) -> list[ExpectedFile]:
    """Ingested ``files`` whose data object the listing shows newer than its refs record: the
    producer replaced it, and every read of those refs is refused until they are re-ingested.
    (A file ingested before ``source_modified`` existed records 0 and is never judged.)"""
    if row is None:
        return []
    replaced = []
    for file in files:
        recorded = int(row.modified[file.progress_index])
        data = listed.get(file.data_key)
        flagged = row.ingested[file.progress_index]
        if flagged and recorded and data is not None and modified_seconds(data) > recorded:
            replaced.append(file)
    return replaced


def flag_files(
    group: zarr.Group, position: int, modified: Iterable[tuple[tuple[int, ...], dt.datetime]]
) -> None:
    """Flag files ingested at ``position`` and record their data objects' checksum times
    (``(progress index, last-modified checksum)`` each), in a writable session's group."""
    progress = group[PROGRESS_ARRAY]
    times = group[SOURCE_MODIFIED_ARRAY]
    assert isinstance(progress, zarr.Array)
    assert isinstance(times, zarr.Array)
    flags = np.asarray(progress[position])
    seconds = np.asarray(times[position])
    for index, when in modified:
        flags[index] = True
        seconds[index] = int(when.timestamp())
    progress[position] = flags
    times[position] = seconds
