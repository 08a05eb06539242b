"""Ingest progress: the ``ingested`` flags, one per expected source file, committed in the same
commit as the refs they describe. Read back from the repository, never from orchestrator state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import zarr
import zarr.errors

from vidx_pipeline.source_files import ExpectedFile

if TYPE_CHECKING:
    from vidx_pipeline.repository import DatasetRepository

PROGRESS_ARRAY = "ingested"


def ingested_row(repository: DatasetRepository, position: int) -> np.ndarray | None:
    """The progress flags of one append position (dims ``spec.progress_dims[1:]``), or None if
    the template is not written yet or the append dimension is not that long."""
    try:
        group = zarr.open_group(repository.readonly_session().store, mode="r")
    except zarr.errors.GroupNotFoundError:
        return None
    if PROGRESS_ARRAY not in group:
        return None
    progress = group[PROGRESS_ARRAY]
    assert isinstance(progress, zarr.Array)
    if position >= progress.shape[0]:
        return None
    return np.asarray(progress[position])


def done_files(row: np.ndarray | None, files: Sequence[ExpectedFile]) -> set[tuple[int, ...]]:
    """The progress indices of ``files`` flagged in ``row``."""
    if row is None:
        return set()
    return {f.progress_index for f in files if row[f.progress_index]}


def flag_files(
    group: zarr.Group, position: int, progress_indices: Iterable[tuple[int, ...]]
) -> None:
    """Set the flags of ``progress_indices`` at ``position`` (in a writable session's group)."""
    progress = group[PROGRESS_ARRAY]
    assert isinstance(progress, zarr.Array)
    row = np.asarray(progress[position])
    for index in progress_indices:
        row[index] = True
    progress[position] = row
