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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import obstore
from pydantic import field_validator, model_validator

from vidx_offline.grib_encode import (
    DEFAULT_PACKING,
    PackingType,
    check_grid,
    encode_message,
    field_bitmap,
    synthetic_field,
)
from vidx_offline.inventory import InventoryLine, gfs_inventory
from vidx_pipeline.spec import FrozenModel

GFS_BUCKET = "noaa-gfs-bdp-pds"
GFS_DATA_KEY_TEMPLATE = (
    "gfs.{init:%Y%m%d}/{init:%H}/atmos/gfs.t{init:%H}z.pgrb2.0p25.f{lead_hours:03d}"
)
GFS_INDEX_SUFFIX = ".idx"
STREAM_THRESHOLD_BYTES = 32 * 1024 * 1024
"""Data objects up to this size are sent in one PUT; larger ones stream as multipart uploads."""


class GfsArchiveError(ValueError):
    """The archive cannot be rendered or written as configured."""


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def gfs_data_key(init: datetime, lead_hours: int) -> str:
    """NOAA's key of the GFS 0.25° GRIB2 file (naive ``init`` = UTC)."""
    return GFS_DATA_KEY_TEMPLATE.format(init=_as_utc(init), lead_hours=lead_hours)


def gfs_index_key(init: datetime, lead_hours: int) -> str:
    """NOAA's key of the file's wgrib2 inventory: the data key plus ``.idx``."""
    return gfs_data_key(init, lead_hours) + GFS_INDEX_SUFFIX


class GfsArchiveConfig(FrozenModel):
    """What to generate: every (init, lead) file on a global ``grid`` of ``nlat, nlon`` points.

    ``fields``: None for the whole inventory (~700 lines per file), else the (element, level)
    pairs to keep, e.g. ``(("TMP", "2 m above ground"), ("APCP", "surface"))``; every pair must
    occur at one of the leads at least and every lead must keep one line at least. Init times
    are normalised to UTC (naive = UTC) and must be whole hours; leads and inits are unique.
    """

    init_times: tuple[datetime, ...]
    lead_hours: tuple[int, ...]
    grid: tuple[int, int] = (721, 1440)
    fields: tuple[tuple[str, str], ...] | None = None
    seed: int = 0
    packing: PackingType = DEFAULT_PACKING

    @field_validator("init_times")
    @classmethod
    def _utc_whole_hours(cls, values: tuple[datetime, ...]) -> tuple[datetime, ...]:
        if not values:
            raise ValueError("init_times must not be empty")
        normalised = tuple(_as_utc(value) for value in values)
        for value in normalised:
            if (value.minute, value.second, value.microsecond) != (0, 0, 0):
                raise ValueError(f"init time {value.isoformat()} is not on a whole hour")
        if len(set(normalised)) != len(normalised):
            raise ValueError(f"init_times has duplicates: {[v.isoformat() for v in normalised]}")
        return normalised

    @field_validator("lead_hours")
    @classmethod
    def _leads(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if not values:
            raise ValueError("lead_hours must not be empty")
        if any(value < 0 for value in values):
            raise ValueError(f"lead_hours must be >= 0, got {values}")
        if len(set(values)) != len(values):
            raise ValueError(f"lead_hours has duplicates: {values}")
        return values

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: tuple[int, int]) -> tuple[int, int]:
        return check_grid(value)

    @model_validator(mode="after")
    def _fields_exist(self) -> GfsArchiveConfig:
        if self.fields is None:
            return self
        if not self.fields:
            raise ValueError("fields must not be empty (None means the whole inventory)")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"fields has duplicates: {self.fields}")
        found: set[tuple[str, str]] = set()
        for lead in self.lead_hours:
            lines = gfs_inventory(lead, self.fields)
            if not lines:
                raise ValueError(f"lead {lead} h has none of the requested fields {self.fields}")
            found.update((line.element, line.level) for line in lines)
        missing = [field for field in self.fields if field not in found]
        if missing:
            raise ValueError(
                f"fields {missing} occur in no GFS inventory of leads {self.lead_hours} "
                "(check the element and the exact level text, e.g. '2 m above ground')"
            )
        return self

    def inventory(self, lead_hours: int) -> list[InventoryLine]:
        """The lines (hence messages) of every file of lead ``lead_hours``."""
        return gfs_inventory(lead_hours, self.fields)


@dataclass(frozen=True)
class MessageInfo:
    """Where one message of a data object is: its inventory line, byte offset and length."""

    line: InventoryLine
    offset: int
    length: int


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


def index_text(messages: tuple[MessageInfo, ...] | list[MessageInfo], init: datetime) -> str:
    """The wgrib2 inventory of ``messages``: one ``\\n``-terminated line each, numbered from 1."""
    return "".join(
        message.line.text(number, message.offset, init) + "\n"
        for number, message in enumerate(messages, start=1)
    )


def _check_message(message: bytes, line: InventoryLine) -> None:
    declared = int.from_bytes(message[8:16], "big") if len(message) >= 16 else -1
    if (
        message[:4] != b"GRIB"
        or message[-4:] != b"7777"
        or message[7] != 2
        or declared != len(message)
    ):
        raise GfsArchiveError(
            f"encoder returned a malformed GRIB2 message for {line} "
            f"({len(message)} bytes, declared {declared})"
        )


def iter_gfs_messages(
    config: GfsArchiveConfig, init: datetime, lead_hours: int
) -> Iterator[tuple[MessageInfo, bytes]]:
    """Encode the file's messages one at a time, in inventory order, with their layout."""
    init = _as_utc(init)
    lines = config.inventory(lead_hours)
    if not lines:
        raise GfsArchiveError(
            f"lead {lead_hours} h has none of the fields {config.fields}; NOAA never "
            "publishes an empty file"
        )
    offset = 0
    for line in lines:
        values = synthetic_field(
            line.element,
            config.grid,
            init,
            lead_hours,
            config.seed,
            level=line.level,
            window=line.window,
        )
        message = encode_message(
            line,
            init,
            lead_hours,
            config.grid,
            values,
            packing=config.packing,
            bitmap=field_bitmap(line.element, config.grid),
        )
        _check_message(message, line)
        yield MessageInfo(line, offset, len(message)), message
        offset += len(message)


def render_gfs_file(config: GfsArchiveConfig, init: datetime, lead_hours: int) -> GfsFile:
    """The whole (init, lead) file in memory: concatenated messages plus its inventory."""
    init = _as_utc(init)
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
    store: obstore.store.ObjectStore, config: GfsArchiveConfig, init: datetime, lead_hours: int
) -> WrittenGfsFile:
    data_key = gfs_data_key(init, lead_hours)
    index_key = gfs_index_key(init, lead_hours)
    infos: list[MessageInfo] = []
    messages = iter_gfs_messages(config, init, lead_hours)
    head: list[bytes] = []
    size = 0
    for info, message in messages:
        infos.append(info)
        head.append(message)
        size += len(message)
        if size > STREAM_THRESHOLD_BYTES:
            break
    else:
        obstore.put(store, data_key, b"".join(head), use_multipart=False)
        head = []
    if head:  # too big to hold: stream the rest through a multipart upload

        def rest() -> Iterator[bytes]:
            for info, message in messages:
                infos.append(info)
                yield message

        obstore.put(store, data_key, itertools.chain(head, rest()), use_multipart=True)
    data_size = sum(info.length for info in infos)
    text = index_text(infos, init).encode("ascii")
    obstore.put(store, index_key, text, use_multipart=False)
    return WrittenGfsFile(
        init=init,
        lead_hours=lead_hours,
        data_key=data_key,
        index_key=index_key,
        data_size=data_size,
        index_size=len(text),
        messages=tuple(infos),
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
    written: list[WrittenGfsFile] = []
    for init in config.init_times:
        for lead_hours in config.lead_hours:
            result = _write_file(store, config, init, lead_hours)
            written.append(result)
            if on_file is not None:
                on_file(result)
    return written
