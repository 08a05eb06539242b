"""What every synthetic NCEP archive shares: its config base, message layout, index text and the
writer that puts a data object and then its index.

Contract:

- :class:`ArchiveConfig` holds what every product's config holds: init times normalised to UTC
  (naive = UTC) on whole hours, unique, non-empty; unique leads >= 0; a grid shape
  ``(rows, points per row)``; the seed of the synthetic values and the packing. How the product
  encodes comes from three hooks a product's config may override: :meth:`ArchiveConfig.
  grid_definition` (default: the global regular lat/lon grid of that shape),
  :meth:`ArchiveConfig.parameter` (default: every element's own code) and
  :attr:`ArchiveConfig.generating_process` (default None: GFS's, or GEFS's for a member).
- :func:`encode_messages` encodes one file's inventory lines, in order, with
  :func:`~vidx_offline.grib_encode.synthetic_field` values of (line, grid, init, lead, member,
  seed) and the element's bitmap on the config's grid, checks every message's framing, and
  yields each with its :class:`MessageInfo` (offsets count from 0, contiguous).
- :func:`collect_messages` holds one whole file in memory (data and layout).
- :func:`index_text` is the wgrib2 inventory of a file's messages: one ``\\n``-terminated line
  each, numbered from 1, whose offset is the message's byte offset, optionally with a 7th
  field (GEFS ``ENS=...``).
- :func:`put_data_then_index` writes the data object completely, then its index. Data objects
  up to ``stream_threshold`` bytes are sent in one PUT; a larger one is streamed as a multipart
  upload instead of being held whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import obstore
from pydantic import field_validator

from vidx_offline.grib_encode import (
    DEFAULT_PACKING,
    PackingType,
    check_grid,
    encode_message,
    field_bitmap,
    synthetic_field,
)
from vidx_offline.grids import GlobalLatLonGrid, GridDefinition
from vidx_offline.inventory import InventoryLine
from vidx_pipeline.spec import FrozenModel

STREAM_THRESHOLD_BYTES = 32 * 1024 * 1024
"""Data objects up to this size are sent in one PUT; larger ones stream as multipart uploads."""


class ArchiveError(ValueError):
    """An archive cannot be rendered or written as configured."""


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are UTC; aware ones are converted to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ArchiveConfig(FrozenModel):
    """The fields every archive config shares (see the module contract); products subclass it
    and add what their files are made of."""

    init_times: tuple[datetime, ...]
    lead_hours: tuple[int, ...]
    grid: tuple[int, int]
    seed: int = 0
    packing: PackingType = DEFAULT_PACKING

    @field_validator("init_times")
    @classmethod
    def _utc_whole_hours(cls, values: tuple[datetime, ...]) -> tuple[datetime, ...]:
        if not values:
            raise ValueError("init_times must not be empty")
        normalised = tuple(as_utc(value) for value in values)
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

    generating_process: ClassVar[int | None] = None
    """``generatingProcessIdentifier`` of every message (ON388 table A); None: GFS's 96, or
    GEFS's 107 for an ensemble member."""

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: tuple[int, int]) -> tuple[int, int]:
        return check_grid(value)

    def grid_definition(self) -> GridDefinition:
        """The grid every message is written on: the global regular lat/lon grid of shape
        ``grid`` unless the product overrides this."""
        return GlobalLatLonGrid(shape=self.grid)

    def parameter(self, element: str) -> tuple[int, int, int] | None:
        """The ``(discipline, category, number)`` the product writes for ``element`` where it
        differs from the element's :data:`~vidx_offline.grib_encode.ELEMENTS` code, else None."""
        return None


def check_field_filter(
    fields: tuple[tuple[str, str], ...],
    lead_hours: Iterable[int],
    inventory: Callable[[int, Collection[tuple[str, str]]], list[InventoryLine]],
    what: str,
) -> None:
    """Raise ValueError unless ``fields`` is a non-empty, duplicate-free filter of which every
    pair occurs at one of ``lead_hours`` at least and which keeps one line at least at every
    lead. ``inventory(lead, fields)`` gives the filtered lines; ``what`` names the inventory
    in messages (e.g. ``"GFS"``)."""
    if not fields:
        raise ValueError("fields must not be empty (None means the whole inventory)")
    if len(set(fields)) != len(fields):
        raise ValueError(f"fields has duplicates: {fields}")
    leads = tuple(lead_hours)
    found: set[tuple[str, str]] = set()
    for lead in leads:
        lines = inventory(lead, fields)
        if not lines:
            raise ValueError(f"{what} lead {lead} h has none of the requested fields {fields}")
        found.update((line.element, line.level) for line in lines)
    missing = [field for field in fields if field not in found]
    if missing:
        raise ValueError(
            f"fields {missing} occur in no {what} inventory of leads {leads} "
            "(check the element and the exact level text, e.g. '2 m above ground')"
        )


@dataclass(frozen=True)
class MessageInfo:
    """Where one message of a data object is: its inventory line, byte offset and length."""

    line: InventoryLine
    offset: int
    length: int


def index_text(
    messages: tuple[MessageInfo, ...] | list[MessageInfo],
    init: datetime,
    extra: str | None = None,
) -> str:
    """The wgrib2 inventory of ``messages``: one ``\\n``-terminated line each, numbered from 1,
    each ending with the 7th field ``extra`` if given (see :meth:`InventoryLine.text`)."""
    return "".join(
        message.line.text(number, message.offset, init, extra) + "\n"
        for number, message in enumerate(messages, start=1)
    )


def check_message(
    message: bytes, line: InventoryLine, error: type[ArchiveError] = ArchiveError
) -> None:
    """Raise ``error`` unless ``message`` is one whole GRIB2 message (``GRIB``, edition 2, the
    declared total length, ``7777``)."""
    declared = int.from_bytes(message[8:16], "big") if len(message) >= 16 else -1
    if (
        message[:4] != b"GRIB"
        or message[-4:] != b"7777"
        or message[7] != 2
        or declared != len(message)
    ):
        raise error(
            f"encoder returned a malformed GRIB2 message for {line} "
            f"({len(message)} bytes, declared {declared})"
        )


def encode_messages(
    config: ArchiveConfig,
    lines: Iterable[InventoryLine],
    init: datetime,
    lead_hours: int,
    *,
    member: int | None = None,
    error: type[ArchiveError] = ArchiveError,
) -> Iterator[tuple[MessageInfo, bytes]]:
    """Encode one file's ``lines`` one at a time, in order, with their layout (see the module
    contract). ``member`` None is a deterministic model's file (GFS)."""
    init = as_utc(init)
    grid = config.grid_definition()
    offset = 0
    for line in lines:
        values = synthetic_field(
            line.element,
            grid,
            init,
            lead_hours,
            config.seed,
            level=line.level,
            window=line.window,
            member=member,
        )
        message = encode_message(
            line,
            init,
            lead_hours,
            grid,
            values,
            packing=config.packing,
            bitmap=field_bitmap(line.element, grid),
            member=member,
            parameter=config.parameter(line.element),
            generating_process=config.generating_process,
        )
        check_message(message, line, error)
        yield MessageInfo(line, offset, len(message)), message
        offset += len(message)


def collect_messages(
    messages: Iterable[tuple[MessageInfo, bytes]],
) -> tuple[bytes, tuple[MessageInfo, ...]]:
    """One whole file in memory: the concatenated messages and their layout, in order."""
    infos: list[MessageInfo] = []
    chunks: list[bytes] = []
    for info, message in messages:
        infos.append(info)
        chunks.append(message)
    return b"".join(chunks), tuple(infos)


@dataclass(frozen=True)
class StoredFile:
    """What :func:`put_data_then_index` wrote (no data held)."""

    data_size: int
    index_size: int
    messages: tuple[MessageInfo, ...]


def put_data_then_index(
    store: obstore.store.ObjectStore,
    data_key: str,
    index_key: str,
    messages: Iterator[tuple[MessageInfo, bytes]],
    render_index: Callable[[list[MessageInfo]], str],
    *,
    stream_threshold: int = STREAM_THRESHOLD_BYTES,
) -> StoredFile:
    """Put the concatenated ``messages`` at ``data_key``, then ``render_index`` of their layout
    at ``index_key`` (ASCII). Only the messages of the first ``stream_threshold`` bytes are
    held; beyond that the data object streams as a multipart upload."""
    infos: list[MessageInfo] = []
    head: list[bytes] = []
    size = 0
    for info, message in messages:
        infos.append(info)
        head.append(message)
        size += len(message)
        if size > stream_threshold:
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
    text = render_index(infos).encode("ascii")
    obstore.put(store, index_key, text, use_multipart=False)
    return StoredFile(
        data_size=sum(info.length for info in infos), index_size=len(text), messages=tuple(infos)
    )


def write_each[Item, Written](
    items: Iterable[Item],
    write: Callable[[Item], Written],
    on_file: Callable[[Written], None] | None = None,
) -> list[Written]:
    """``write`` every item in order, calling ``on_file`` after each; the records in order."""
    written: list[Written] = []
    for item in items:
        result = write(item)
        written.append(result)
        if on_file is not None:
            on_file(result)
    return written
