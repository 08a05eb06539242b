"""A synthetic NOAA GFS 0.25° archive in the producer's exact object layout.

Contract:

- Objects live in bucket :data:`GFS_BUCKET` under NOAA's keys: the data object
  ``gfs.YYYYMMDD/HH/atmos/gfs.tHHz.pgrb2.0p25.fLLL`` (:func:`gfs_data_key`) and its wgrib2
  inventory at the same key plus ``.idx`` (:func:`gfs_index_key`). The templates are written
  here independently of the dataset spec, so the archive checks the spec rather than echoing it.
- A data object is the concatenation of real GRIB2 messages, one per line of
  :func:`~vidx_offline.inventory.gfs_inventory` for its lead (optionally filtered to
  :attr:`GfsArchiveConfig.fields`), in inventory order. Its index holds one wgrib2 line per
  message, numbered from 1, ``\\n``-terminated, whose offset is the message's byte offset; the
  last message ends at the end of the object.
- Message values are :func:`~vidx_offline.grib_encode.synthetic_message_values` of
  (line, grid, init, lead, seed): deterministic, so any test can recompute what it must decode.
- :func:`write_gfs_archive` writes file after file, each data object completely before its index
  (the producer's order, so a reader that sees an index can always read its data). Only one
  file is in memory at a time, and a file larger than :data:`STREAM_THRESHOLD_BYTES` is
  streamed as a multipart upload instead of being held whole.

The machinery shared with other products lives in :mod:`vidx_offline.archive_files`;
:class:`MessageInfo` and :func:`index_text` are re-exported from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import obstore
from pydantic import model_validator

from vidx_offline.archive_files import (
    STREAM_THRESHOLD_BYTES,
    ArchiveConfig,
    ArchiveError,
    MessageInfo,
    as_utc,
    check_field_filter,
    encode_messages,
    index_text,
    put_data_then_index,
    write_each,
)
from vidx_offline.inventory import InventoryLine, gfs_inventory

__all__ = [
    "GFS_BUCKET",
    "GFS_DATA_KEY_TEMPLATE",
    "GFS_INDEX_SUFFIX",
    "STREAM_THRESHOLD_BYTES",
    "GfsArchiveConfig",
    "GfsArchiveError",
    "GfsFile",
    "MessageInfo",
    "WrittenGfsFile",
    "gfs_data_key",
    "gfs_index_key",
    "index_text",
    "iter_gfs_messages",
    "render_gfs_file",
    "write_gfs_archive",
]

GFS_BUCKET = "noaa-gfs-bdp-pds"
GFS_DATA_KEY_TEMPLATE = (
    "gfs.{init:%Y%m%d}/{init:%H}/atmos/gfs.t{init:%H}z.pgrb2.0p25.f{lead_hours:03d}"
)
GFS_INDEX_SUFFIX = ".idx"


class GfsArchiveError(ArchiveError):
    """The archive cannot be rendered or written as configured."""


def gfs_data_key(init: datetime, lead_hours: int) -> str:
    """NOAA's key of the GFS 0.25° GRIB2 file (naive ``init`` = UTC)."""
    return GFS_DATA_KEY_TEMPLATE.format(init=as_utc(init), lead_hours=lead_hours)


def gfs_index_key(init: datetime, lead_hours: int) -> str:
    """NOAA's key of the file's wgrib2 inventory: the data key plus ``.idx``."""
    return gfs_data_key(init, lead_hours) + GFS_INDEX_SUFFIX


class GfsArchiveConfig(ArchiveConfig):
    """What to generate: every (init, lead) file on a global ``grid`` of ``nlat, nlon`` points.

    ``fields``: None for the whole inventory (~700 lines per file), else the (element, level)
    pairs to keep, e.g. ``(("TMP", "2 m above ground"), ("APCP", "surface"))``; every pair must
    occur at one of the leads at least and every lead must keep one line at least. Init times
    are normalised to UTC (naive = UTC) and must be whole hours; leads and inits are unique.
    """

    grid: tuple[int, int] = (721, 1440)
    fields: tuple[tuple[str, str], ...] | None = None

    @model_validator(mode="after")
    def _fields_exist(self) -> GfsArchiveConfig:
        if self.fields is not None:
            check_field_filter(self.fields, self.lead_hours, gfs_inventory, "GFS")
        return self

    def inventory(self, lead_hours: int) -> list[InventoryLine]:
        """The lines (hence messages) of every file of lead ``lead_hours``."""
        return gfs_inventory(lead_hours, self.fields)


@dataclass(frozen=True)
class GfsFile:
    """One rendered GFS file: keys, the data object, its wgrib2 inventory and message layout."""

    init: datetime
    lead_hours: int
    data_key: str
    index_key: str
    data: bytes
    index_text: str
    messages: tuple[MessageInfo, ...]


@dataclass(frozen=True)
class WrittenGfsFile:
    """What :func:`write_gfs_archive` wrote for one file (no data held)."""

    init: datetime
    lead_hours: int
    data_key: str
    index_key: str
    data_size: int
    index_size: int
    messages: tuple[MessageInfo, ...]


def iter_gfs_messages(
    config: GfsArchiveConfig, init: datetime, lead_hours: int
) -> Iterator[tuple[MessageInfo, bytes]]:
    """Encode the file's messages one at a time, in inventory order, with their layout."""
    lines = config.inventory(lead_hours)
    if not lines:
        raise GfsArchiveError(
            f"lead {lead_hours} h has none of the fields {config.fields}; NOAA never "
            "publishes an empty file"
        )
    return encode_messages(config, lines, init, lead_hours, error=GfsArchiveError)


def render_gfs_file(config: GfsArchiveConfig, init: datetime, lead_hours: int) -> GfsFile:
    """The whole (init, lead) file in memory: concatenated messages plus its inventory."""
    init = as_utc(init)
    infos: list[MessageInfo] = []
    chunks: list[bytes] = []
    for info, message in iter_gfs_messages(config, init, lead_hours):
        infos.append(info)
        chunks.append(message)
    return GfsFile(
        init=init,
        lead_hours=lead_hours,
        data_key=gfs_data_key(init, lead_hours),
        index_key=gfs_index_key(init, lead_hours),
        data=b"".join(chunks),
        index_text=index_text(infos, init),
        messages=tuple(infos),
    )


def _write_file(
    store: obstore.store.ObjectStore, config: GfsArchiveConfig, item: tuple[datetime, int]
) -> WrittenGfsFile:
    init, lead_hours = item
    data_key = gfs_data_key(init, lead_hours)
    index_key = gfs_index_key(init, lead_hours)
    stored = put_data_then_index(
        store,
        data_key,
        index_key,
        iter_gfs_messages(config, init, lead_hours),
        lambda infos: index_text(infos, init),
        # Read at call time: tests lower this module's threshold to exercise streaming.
        stream_threshold=STREAM_THRESHOLD_BYTES,
    )
    return WrittenGfsFile(
        init=init,
        lead_hours=lead_hours,
        data_key=data_key,
        index_key=index_key,
        data_size=stored.data_size,
        index_size=stored.index_size,
        messages=stored.messages,
    )


def write_gfs_archive(
    store: obstore.store.ObjectStore,
    config: GfsArchiveConfig,
    *,
    on_file: Callable[[WrittenGfsFile], None] | None = None,
) -> list[WrittenGfsFile]:
    """Write every (init, lead) file of ``config`` to ``store`` with :func:`obstore.put`.

    Files are written in ``init_times`` x ``lead_hours`` order; for each, the data object is
    complete before its index is put. ``store`` is any obstore store whose root is the bucket
    (e.g. ``S3Store(GFS_BUCKET, ...)`` on the loopback S3 API, or ``MemoryStore()``).
    ``on_file`` is called after each file's two objects are written.
    """
    items = [(init, lead) for init in config.init_times for lead in config.lead_hours]
    return write_each(items, partial(_write_file, store, config), on_file)
