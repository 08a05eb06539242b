"""A synthetic NOAA GEFS 0.5° 35-day archive in the producer's exact object layout.

Contract:

- Objects live in bucket :data:`GEFS_BUCKET` under NOAA's keys, two file kinds per member and
  lead (:func:`gefs_data_key`)::

      gefs.YYYYMMDD/HH/atmos/pgrb2ap5/geMMM.tHHz.pgrb2a.0p50.fLLL
      gefs.YYYYMMDD/HH/atmos/pgrb2bp5/geMMM.tHHz.pgrb2b.0p50.fLLL

  with ``MMM`` the member label (``c00``, ``p01`` .. ``p30``,
  :func:`~vidx_offline.gefs_inventory.member_label`); each wgrib2 inventory is at the data key
  plus ``.idx`` (:func:`gefs_index_key`). The keys are written here independently of the
  dataset spec, so the archive checks the spec rather than echoing it.
- A data object is the concatenation of real GRIB2 messages, one per line of
  :func:`~vidx_offline.gefs_inventory.gefs_inventory` for its kind and lead (optionally
  filtered by :attr:`GefsArchiveConfig.fields`), in inventory order, each encoded as the
  member's individual ensemble forecast (templates 4.1/4.11, see
  :mod:`vidx_offline.grib_encode`). Its index holds one wgrib2 line per message, numbered from
  1, ``\\n``-terminated, whose offset is the message's byte offset and whose 7th field is the
  member's ``ENS=`` text (``ENS=low-res ctl``, ``ENS=+k``) with no trailing colon; the last
  message ends at the end of the object.
- Message values are :func:`~vidx_offline.grib_encode.synthetic_message_values` of
  (line, grid, init, lead, seed, member): deterministic, and different for every member.
- :func:`write_gefs_archive` writes file after file in ``init_times`` x ``lead_hours`` x
  ``members`` x ``kinds`` order, each data object completely before its index. Only one file
  is in memory at a time; a file larger than :data:`STREAM_THRESHOLD_BYTES` is streamed as a
  multipart upload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import obstore
from pydantic import field_validator, model_validator

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
from vidx_offline.gefs_inventory import (
    GEFS_ENSEMBLE_SIZE,
    GEFS_KINDS,
    GefsKind,
    check_kind,
    check_member,
    ensemble_text,
    gefs_inventory,
    member_label,
)
from vidx_offline.inventory import InventoryError, InventoryLine

__all__ = [
    "GEFS_BUCKET",
    "GEFS_DATA_KEY_TEMPLATE",
    "GEFS_INDEX_SUFFIX",
    "STREAM_THRESHOLD_BYTES",
    "GefsArchiveConfig",
    "GefsArchiveError",
    "GefsFieldFilter",
    "GefsFile",
    "WrittenGefsFile",
    "gefs_data_key",
    "gefs_index_key",
    "iter_gefs_messages",
    "member_label",
    "render_gefs_file",
    "write_gefs_archive",
]

GEFS_BUCKET = "noaa-gefs-pds"
GEFS_DATA_KEY_TEMPLATE = (
    "gefs.{init:%Y%m%d}/{init:%H}/atmos/{kind}p5/"
    "ge{member}.t{init:%H}z.{kind}.0p50.f{lead_hours:03d}"
)
GEFS_INDEX_SUFFIX = ".idx"

GefsFieldFilter = tuple[tuple[str, str], ...] | None
"""One kind's filter: (element, level) pairs to keep, or None for its whole inventory."""


class GefsArchiveError(ArchiveError):
    """The GEFS archive cannot be rendered or written as configured."""


def gefs_data_key(kind: str, init: datetime, lead_hours: int, member: int) -> str:
    """NOAA's key of the GEFS 0.5° GRIB2 file of ``kind`` (``pgrb2a``/``pgrb2b``) and
    ``member`` (0 = ``c00``) at ``init`` + ``lead_hours`` (naive ``init`` = UTC)."""
    try:
        label = member_label(member)
        kind = check_kind(kind)
    except InventoryError as error:
        raise GefsArchiveError(str(error)) from None
    if isinstance(lead_hours, bool) or not isinstance(lead_hours, int) or lead_hours < 0:
        raise GefsArchiveError(f"lead_hours must be an int >= 0, got {lead_hours!r}")
    return GEFS_DATA_KEY_TEMPLATE.format(
        init=as_utc(init), kind=kind, member=label, lead_hours=lead_hours
    )


def gefs_index_key(kind: str, init: datetime, lead_hours: int, member: int) -> str:
    """NOAA's key of the file's wgrib2 inventory: the data key plus ``.idx``."""
    return gefs_data_key(kind, init, lead_hours, member) + GEFS_INDEX_SUFFIX


class GefsArchiveConfig(ArchiveConfig):
    """What to generate: every (init, lead, member, kind) file on a global ``grid`` of
    ``nlat, nlon`` points (default 0.5°: 361 x 720).

    ``members``: ensemble members, 0 (control) .. 30, unique. ``kinds``: file kinds, unique.
    ``fields``: None for every kind's whole inventory (85 ``pgrb2a`` / 505 ``pgrb2b`` lines
    per file), else a mapping with exactly one entry per configured kind, each the
    (element, level) pairs to keep for that kind, e.g.
    ``{"pgrb2a": (("TMP", "2 m above ground"),), "pgrb2b": None}`` (None keeps that kind
    whole); every pair must occur in its kind at one of the leads at least, and every lead must
    keep one line at least. Init times are normalised to UTC (naive = UTC) and must be whole
    hours; leads and inits are unique. Treat ``fields`` as read-only.
    """

    grid: tuple[int, int] = (361, 720)
    members: tuple[int, ...] = tuple(range(GEFS_ENSEMBLE_SIZE))
    kinds: tuple[GefsKind, ...] = GEFS_KINDS
    fields: dict[GefsKind, GefsFieldFilter] | None = None

    @field_validator("members")
    @classmethod
    def _members(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if not values:
            raise ValueError("members must not be empty")
        if len(set(values)) != len(values):
            raise ValueError(f"members has duplicates: {values}")
        for value in values:
            check_member(value)
        return values

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, values: tuple[GefsKind, ...]) -> tuple[GefsKind, ...]:
        if not values:
            raise ValueError("kinds must not be empty")
        if len(set(values)) != len(values):
            raise ValueError(f"kinds has duplicates: {values}")
        return values

    @model_validator(mode="after")
    def _fields_exist(self) -> GefsArchiveConfig:
        if self.fields is None:
            return self
        if set(self.fields) != set(self.kinds):
            raise ValueError(
                f"fields has entries for {sorted(self.fields)}, kinds are {list(self.kinds)}: "
                "give one entry per kind (None keeps that kind's whole inventory)"
            )
        for kind, kept in self.fields.items():
            if kept is not None:
                inventory = partial(gefs_inventory, kind)
                check_field_filter(kept, self.lead_hours, inventory, f"GEFS {kind}")
        return self

    def field_filter(self, kind: str) -> GefsFieldFilter:
        """The (element, level) pairs kept in ``kind``'s files, or None for all of them."""
        return None if self.fields is None else self.fields[check_kind(kind)]

    def inventory(self, kind: str, lead_hours: int) -> list[InventoryLine]:
        """The lines (hence messages) of every member's ``kind`` file of lead ``lead_hours``."""
        return gefs_inventory(kind, lead_hours, self.field_filter(kind))


@dataclass(frozen=True)
class GefsFile:
    """One rendered GEFS file: keys, the data object, its wgrib2 inventory and message
    layout."""

    init: datetime
    lead_hours: int
    member: int
    kind: GefsKind
    data_key: str
    index_key: str
    data: bytes
    index_text: str
    messages: tuple[MessageInfo, ...]


@dataclass(frozen=True)
class WrittenGefsFile:
    """What :func:`write_gefs_archive` wrote for one file (no data held)."""

    init: datetime
    lead_hours: int
    member: int
    kind: GefsKind
    data_key: str
    index_key: str
    data_size: int
    index_size: int
    messages: tuple[MessageInfo, ...]


def iter_gefs_messages(
    config: GefsArchiveConfig, kind: str, init: datetime, lead_hours: int, member: int
) -> Iterator[tuple[MessageInfo, bytes]]:
    """Encode the file's messages one at a time, in inventory order, with their layout.

    ``kind`` must be one of ``config.kinds``; ``member`` any GEFS member (0 .. 30).
    """
    if kind not in config.kinds:
        raise GefsArchiveError(f"kind {kind!r} is not one of the configured {config.kinds}")
    try:
        check_member(member)
    except InventoryError as error:
        raise GefsArchiveError(str(error)) from None
    lines = config.inventory(kind, lead_hours)
    if not lines:
        raise GefsArchiveError(
            f"{kind} lead {lead_hours} h has none of the fields {config.field_filter(kind)}; "
            "NOAA never publishes an empty file"
        )
    return encode_messages(config, lines, init, lead_hours, member=member, error=GefsArchiveError)


def render_gefs_file(
    config: GefsArchiveConfig, kind: str, init: datetime, lead_hours: int, member: int
) -> GefsFile:
    """The whole (kind, init, lead, member) file in memory: concatenated messages plus its
    inventory."""
    init = as_utc(init)
    infos: list[MessageInfo] = []
    chunks: list[bytes] = []
    for info, message in iter_gefs_messages(config, kind, init, lead_hours, member):
        infos.append(info)
        chunks.append(message)
    return GefsFile(
        init=init,
        lead_hours=lead_hours,
        member=member,
        kind=check_kind(kind),
        data_key=gefs_data_key(kind, init, lead_hours, member),
        index_key=gefs_index_key(kind, init, lead_hours, member),
        data=b"".join(chunks),
        index_text=index_text(infos, init, ensemble_text(member)),
        messages=tuple(infos),
    )


def _write_file(
    store: obstore.store.ObjectStore,
    config: GefsArchiveConfig,
    item: tuple[datetime, int, int, GefsKind],
) -> WrittenGefsFile:
    init, lead_hours, member, kind = item
    data_key = gefs_data_key(kind, init, lead_hours, member)
    index_key = gefs_index_key(kind, init, lead_hours, member)
    extra = ensemble_text(member)
    stored = put_data_then_index(
        store,
        data_key,
        index_key,
        iter_gefs_messages(config, kind, init, lead_hours, member),
        lambda infos: index_text(infos, init, extra),
        # Read at call time, so a test can lower this module's threshold to exercise streaming.
        stream_threshold=STREAM_THRESHOLD_BYTES,
    )
    return WrittenGefsFile(
        init=init,
        lead_hours=lead_hours,
        member=member,
        kind=kind,
        data_key=data_key,
        index_key=index_key,
        data_size=stored.data_size,
        index_size=stored.index_size,
        messages=stored.messages,
    )


def write_gefs_archive(
    store: obstore.store.ObjectStore,
    config: GefsArchiveConfig,
    *,
    on_file: Callable[[WrittenGefsFile], None] | None = None,
) -> list[WrittenGefsFile]:
    """Write every (init, lead, member, kind) file of ``config`` to ``store`` with
    :func:`obstore.put`.

    Files are written in ``init_times`` x ``lead_hours`` x ``members`` x ``kinds`` order; for
    each, the data object is complete before its index is put. ``store`` is any obstore store
    whose root is the bucket (e.g. ``S3Store(GEFS_BUCKET, ...)`` on the loopback S3 API, or
    ``MemoryStore()``). ``on_file`` is called after each file's two objects are written.
    """
    items = [
        (init, lead, member, kind)
        for init in config.init_times
        for lead in config.lead_hours
        for member in config.members
        for kind in config.kinds
    ]
    return write_each(items, partial(_write_file, store, config), on_file)
