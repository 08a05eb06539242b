"""Writing a batch of placed refs into a session: growth, virtual refs, progress flags.

Contract of :func:`write_refs`: in the given writable session it grows the append dimension to
the batch's newest position (never beyond), sets every ref of the batch as a virtual chunk
(one ``set_virtual_refs`` call per variable; each ref carries its object's checksum) and flags
every file of the batch ingested. Nothing is committed here: the caller commits all of it, or
none of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import icechunk
import zarr

from vidx_pipeline.fetch import FileRefs
from vidx_pipeline.progress import flag_files
from vidx_pipeline.refs import VirtualRef
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.template import grow_append_dimension


def chunk_spec(position: int, index: tuple[int, ...], ref: VirtualRef) -> icechunk.VirtualChunkSpec:
    full_index = [position, *index, 0, 0]
    if isinstance(ref.checksum, str):
        return icechunk.VirtualChunkSpec(
            full_index, ref.url, ref.offset, ref.length, etag_checksum=ref.checksum
        )
    return icechunk.VirtualChunkSpec(
        full_index, ref.url, ref.offset, ref.length, last_updated_at_checksum=ref.checksum
    )


def write_refs(
    spec: DatasetSpec,
    session: icechunk.Session,
    batch: dict[int, Sequence[FileRefs]],
) -> dict[int, int]:
    """Set the refs and progress flags of ``batch`` (append position -> files) in ``session``.
    Returns refs written per position."""
    grow_append_dimension(spec, session.store, max(batch) + 1)
    by_variable: dict[str, list[icechunk.VirtualChunkSpec]] = {}
    written: dict[int, int] = {}
    for position, files in batch.items():
        written[position] = 0
        for file_refs in files:
            for ref, index in zip(file_refs.refs, file_refs.indices, strict=True):
                by_variable.setdefault(ref.variable, []).append(chunk_spec(position, index, ref))
            written[position] += len(file_refs.refs)
    for variable, chunks in by_variable.items():
        failed = session.store.set_virtual_refs(variable, chunks, validate_containers=True)
        if failed:
            raise ValueError(
                f"{variable}: refs outside the repository's virtual chunk containers at chunks "
                f"{failed[:5]}"
            )
    group = zarr.open_group(session.store, mode="r+")
    for position, files in batch.items():
        flag_files(group, position, (f.file.progress_index for f in files))
    return written
