"""Test helper: what a repository holds for some partitions, for ref-for-ref comparison.

Every chunk of every variable at the partitions' positions is listed from the repository (so a
chunk written where none was expected counts as much as one missing), with its chunk type and
the length of its ref, both read from the manifests alone. The referenced bytes are read for a
fixed spread of those chunks: each one fetches its range from the loopback S3 API (about 300
a second), and a GFS partition holds thousands of refs, so reading them all would make a
comparison last minutes. The spread is chosen from the chunk key alone (the same chunks on both
sides of a comparison): every chunk of the first variable of each level dimension (so every
partition, lead and file is read), and one in :data:`BYTES_SPREAD` of the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zlib
from collections.abc import Sequence

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype

from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.repository import DatasetRepository

BYTES_SPREAD = 8
# The loopback S3 API refuses connections when thousands of range GETs arrive at once.
CONCURRENT_READS = 16


def repository_contents(
    repository: DatasetRepository, partitions: Sequence[dt.datetime]
) -> dict[str, object]:
    """The partitions' chunks (key -> (chunk type, ref length)), the referenced bytes of the
    spread described above (key -> bytes), the partitions' progress rows and the append
    coordinate. Two repositories holding the same refs compare equal; one missing a ref, holding
    one more, or a ref of another length or (where read) pointing at other bytes does not."""
    spec = repository.spec
    session = repository.readonly_session()
    store = session.store
    group = zarr.open_group(store, mode="r")
    positions = {spec.append_dimension.index_of(t) for t in partitions}
    progress, append = group[PROGRESS_ARRAY], group[spec.append_dimension.name]
    assert isinstance(progress, zarr.Array)
    assert isinstance(append, zarr.Array)
    contents: dict[str, object] = {
        "append": np.asarray(append[:]).tolist(),
        "progress": {p: np.asarray(progress[p]).tolist() for p in sorted(positions)},
    }
    variables = {variable.name for variable in spec.variables}
    first_of_level: dict[str | None, str] = {}
    for variable in spec.variables:
        first_of_level.setdefault(variable.level_dimension, variable.name)
    always_read = set(first_of_level.values())

    def wanted(key: str) -> bool:  # "{variable}/c/{position}/{index...}"
        parts = key.split("/")
        return (
            len(parts) > 3
            and parts[0] in variables
            and parts[1] == "c"
            and int(parts[2]) in positions
        )

    def read_bytes(key: str) -> bool:
        return key.split("/")[0] in always_read or zlib.crc32(key.encode()) % BYTES_SPREAD == 0

    async def read_all() -> tuple[dict[str, tuple[str, int]], dict[str, bytes | None]]:
        keys = sorted([key async for key in store.list_prefix("") if wanted(key)])
        prototype = default_buffer_prototype()
        limit = asyncio.Semaphore(CONCURRENT_READS)

        async def describe(key: str) -> tuple[str, int]:
            variable, _, *index = key.split("/")
            kind = await session.chunk_type_async(f"/{variable}", [int(i) for i in index])
            return str(kind), await store.getsize(key)

        async def read(key: str) -> bytes | None:
            async with limit:
                buffer = await store.get(key, prototype)
            return buffer.to_bytes() if buffer is not None else None

        described = await asyncio.gather(*(describe(key) for key in keys))
        sampled = [key for key in keys if read_bytes(key)]
        read_back = await asyncio.gather(*(read(key) for key in sampled))
        return (
            dict(zip(keys, described, strict=True)),
            dict(zip(sampled, read_back, strict=True)),
        )

    contents["chunks"], contents["bytes"] = asyncio.run(read_all())
    return contents


def contents_differences(
    actual: dict[str, object], expected: dict[str, object], limit: int = 10
) -> list[str]:
    """What differs between two :func:`repository_contents` (at most ``limit`` lines): a
    readable failure instead of a diff of thousands of entries."""
    problems = [
        f"{part} differs: {actual[part]} != {expected[part]}"
        for part in ("append", "progress")
        if actual[part] != expected[part]
    ]
    for part in ("chunks", "bytes"):
        mine, reference = actual[part], expected[part]
        assert isinstance(mine, dict)
        assert isinstance(reference, dict)
        if not reference:
            problems.append(f"the reference holds no {part} at all")
        for key in sorted(mine.keys() | reference.keys()):
            if key not in reference:
                problems.append(f"{key}: unexpected chunk")
            elif key not in mine:
                problems.append(f"{key}: chunk absent")
            elif mine[key] != reference[key]:
                what = "other bytes" if part == "bytes" else f"{mine[key]} != {reference[key]}"
                problems.append(f"{key}: {what}")
    return problems[:limit]
