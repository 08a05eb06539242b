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

from vidx_pipeline.placement import FileRefs
from vidx_pipeline.progress import flag_files
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.template import grow_append_dimension


def write_refs(
    spec: DatasetSpec,
    session: icechunk.Session,
    batch: dict[int, Sequence[FileRefs]],
) -> dict[int, int]:
    """Set the refs and progress flags of ``batch`` (append position -> files) in ``session``.
    Returns refs written per position."""
    grow_append_dimension(spec, session.store, max(batch) + 1)
    grid = (0,) * len(spec.grid.dims)
    by_variable: dict[str, list[icechunk.VirtualChunkSpec]] = {
        variable.name: [] for variable in spec.variables
    }
    chunk = icechunk.VirtualChunkSpec
    written: dict[int, int] = {}
    for position, files in batch.items():
        written[position] = 0
        for refs in files:
            url, checksum = refs.url, refs.checksum
            etag = checksum if isinstance(checksum, str) else None
            updated = None if isinstance(checksum, str) else checksum
            for (variable, index), offset, length in zip(
                refs.slots, refs.offsets, refs.lengths, strict=True
            ):
                by_variable[variable].append(
                    chunk(
                        [position, *index, *grid],
                        url,
                        offset,
                        length,
                        etag_checksum=etag,
                        last_updated_at_checksum=updated,
                    )
                )
            written[position] += len(refs)
    for variable, chunks in by_variable.items():
        if not chunks:
            continue
        failed = session.store.set_virtual_refs(variable, chunks, validate_containers=True)
        if failed:
            raise ValueError(
                f"{variable}: refs outside the repository's virtual chunk containers at chunks "
                f"{failed[:5]}"
            )
    group = zarr.open_group(session.store, mode="r+")
    for position, files in batch.items():
        flag_files(
            group,
            position,
            ((f.file.progress_index, f.data.last_modified_checksum()) for f in files),
        )
    return written
