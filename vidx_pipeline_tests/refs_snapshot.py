"""Test helper: everything a repository holds for some partitions, for ref-for-ref comparison."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype

from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.repository import DatasetRepository

# Virtual chunks are read from the loopback S3 API, which refuses connections when thousands of
# range GETs arrive at once: read a bounded number at a time.
CONCURRENT_READS = 16


def repository_contents(
    repository: DatasetRepository, partitions: Sequence[dt.datetime]
) -> dict[str, object]:
    """Every chunk the repository holds for ``partitions``, in every variable (whatever its
    level, lead and member dims), as chunk key -> raw referenced bytes; plus the partitions'
    progress rows and the append coordinate. The chunks are listed from the repository, so a
    chunk written where none was expected counts too. Two repositories holding the same refs
    (location, offset, length) compare equal; a ref pointing anywhere else does not."""
    spec = repository.spec
    store = repository.readonly_session().store
    group = zarr.open_group(store, mode="r")
    positions = {spec.append_dimension.index_of(t) for t in partitions}
    progress = group[PROGRESS_ARRAY]
    assert isinstance(progress, zarr.Array)
    contents: dict[str, object] = {
        "append": np.asarray(group[spec.append_dimension.name][:]).tolist(),
        "progress": {p: np.asarray(progress[p]).tolist() for p in sorted(positions)},
    }
    variables = {variable.name for variable in spec.variables}

    def wanted(key: str) -> bool:  # "{variable}/c/{position}/{index...}"
        parts = key.split("/")
        return (
            len(parts) > 3
            and parts[0] in variables
            and parts[1] == "c"
            and int(parts[2]) in positions
        )

    async def read_all() -> dict[str, bytes | None]:
        keys = sorted([key async for key in store.list_prefix("") if wanted(key)])
        prototype = default_buffer_prototype()
        limit = asyncio.Semaphore(CONCURRENT_READS)

        async def read(key: str) -> bytes | None:
            async with limit:
                buffer = await store.get(key, prototype)
            return buffer.to_bytes() if buffer is not None else None

        return dict(zip(keys, await asyncio.gather(*(read(key) for key in keys)), strict=True))

    contents["chunks"] = asyncio.run(read_all())
    return contents


def contents_differences(
    actual: dict[str, object], expected: dict[str, object], limit: int = 10
) -> list[str]:
    """What differs between two :func:`repository_contents` (at most ``limit`` lines): a
    readable failure instead of a diff of thousands of byte strings."""
    problems = [
        f"{part} differs: {actual[part]} != {expected[part]}"
        for part in ("append", "progress")
        if actual[part] != expected[part]
    ]
    chunks, reference = actual["chunks"], expected["chunks"]
    assert isinstance(chunks, dict)
    assert isinstance(reference, dict)
    for key in sorted(chunks.keys() | reference.keys()):
        if key not in reference:
            problems.append(f"{key}: unexpected chunk")
        elif key not in chunks:
            problems.append(f"{key}: chunk absent")
        elif chunks[key] != reference[key]:
            problems.append(f"{key}: other bytes")
    if not reference:
        problems.append("the reference holds no chunk at all")
    return problems[:limit]
