"""Test helper: everything a repository holds for some partitions, for ref-for-ref comparison."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype

from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.template import PROGRESS_ARRAY


def repository_contents(
    repository: DatasetRepository, partitions: Sequence[dt.datetime]
) -> dict[str, object]:
    """Chunk key -> raw referenced bytes for every chunk of ``partitions``, plus their progress
    rows and the append coordinate. Two repositories holding the same refs (location, offset,
    length) compare equal; a ref pointing anywhere else does not."""
    spec = repository.spec
    store = repository.readonly_session().store
    group = zarr.open_group(store, mode="r")
    positions = [spec.append_dimension.index_of(t) for t in partitions]
    contents: dict[str, object] = {
        "append": np.asarray(group[spec.append_dimension.name][:]).tolist(),
        "progress": {p: np.asarray(group[PROGRESS_ARRAY][p]).tolist() for p in positions},
    }

    async def read_all() -> dict[str, bytes | None]:
        keys = [
            f"{variable.name}/c/{position}/{lead}/0/0"
            for variable in spec.variables
            for position in positions
            for lead in range(len(spec.lead_hours))
        ]
        prototype = default_buffer_prototype()
        buffers = await asyncio.gather(*(store.get(key, prototype) for key in keys))
        return {
            key: (buffer.to_bytes() if buffer is not None else None)
            for key, buffer in zip(keys, buffers, strict=True)
        }

    contents["chunks"] = asyncio.run(read_all())
    return contents
