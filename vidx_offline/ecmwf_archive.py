"""A synthetic ECMWF IFS ENS open-data archive in the producer's exact object layout.

Contract:

- Objects live in bucket :data:`ECMWF_BUCKET` under ECMWF's keys (:func:`ens_data_key`), one
  file per cycle and step holding every member::

      YYYYMMDD/HHz/ifs/0p25/enfo/YYYYMMDDHH0000-{step}h-enfo-ef.grib2

  with its JSON-lines index at the same key ending ``.index`` (:func:`ens_index_key`). The keys
  are written here independently of the dataset spec.
- A data object is the concatenation of one ecCodes-encoded message
  (:func:`~vidx_offline.ecmwf_encode.encode_ens_message`, CCSDS packing, template 4.1/4.11,
  centre 98) per configured member and field, the members interleaved in a shuffled order
  (deterministic in ``seed``, cycle and step), as ECMWF's files arrive: never member after
  member. The index has one line per message, in the data object's order, each from
  :func:`~vidx_offline.ecmwf_index_writer.index_line` with its true offset and length, its keys
  in one of ECMWF's two orders (chosen per line, deterministically), ``number`` as a string.
- Grid size (``grid``), steps, members and fields are parameters: tests use tiny grids.
- :func:`assemble_ecmwf_file` lays out messages encoded elsewhere the same way (same order,
  same index lines): the ingest benchmark gives the control's bytes for every member.
- :func:`write_ecmwf_archive` writes every (init, step) file, each data object completely
  before its index; one file is held in memory at a time.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

import obstore
from obstore.store import ObjectStore
from pydantic import field_validator

from vidx_offline.archive_files import as_utc
from vidx_offline.ecmwf_encode import (
    ENS_FIELDS,
    ENS_SIZE,
    EnsField,
    encode_ens_message,
    synthetic_values,
)
from vidx_offline.ecmwf_index_writer import KeyOrder, index_line
from vidx_pipeline.spec import FrozenModel

ECMWF_BUCKET = "ecmwf-forecasts"
_STEM = "{init:%Y%m%d}/{init:%H}z/ifs/0p25/enfo/{init:%Y%m%d%H}0000-{step}h-enfo-ef"
_ORDERS: tuple[KeyOrder, ...] = ("step_first", "step_last")


def ens_data_key(init: dt.datetime, step: int) -> str:
    """ECMWF's key of the ENS file of ``init`` + ``step`` hours (naive ``init`` = UTC)."""
    return _STEM.format(init=as_utc(init), step=step) + ".grib2"


def ens_index_key(init: dt.datetime, step: int) -> str:
    return _STEM.format(init=as_utc(init), step=step) + ".index"


class EcmwfArchiveConfig(FrozenModel):
    """What to generate: every (init, step) file of ``members`` (0 = control .. 50) and
    ``fields`` (default: :data:`ENS_FIELDS`) on an ``(nlat, nlon)`` grid."""

    init_times: tuple[dt.datetime, ...]
    lead_hours: tuple[int, ...]
    members: tuple[int, ...] = tuple(range(ENS_SIZE))
    grid: tuple[int, int] = (721, 1440)
    fields: tuple[EnsField, ...] = ENS_FIELDS
    seed: int = 0

    @field_validator("init_times")
    @classmethod
    def _utc(cls, values: tuple[dt.datetime, ...]) -> tuple[dt.datetime, ...]:
        if not values:
            raise ValueError("init_times must not be empty")
        return tuple(as_utc(value) for value in values)

    @field_validator("members")
    @classmethod
    def _members(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if not values or len(set(values)) != len(values):
            raise ValueError(f"members must be unique and not empty, got {values}")
        if not all(0 <= member < ENS_SIZE for member in values):
            raise ValueError(f"members must be in 0 .. {ENS_SIZE - 1}, got {values}")
        return values

    @field_validator("lead_hours")
    @classmethod
    def _leads(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if not values or len(set(values)) != len(values) or min(values) < 0:
            raise ValueError(f"lead_hours must be unique, >= 0 and not empty, got {values}")
        return values


@dataclass(frozen=True)
class EnsMessage:
    """Where one message of a data object is: its field, member, byte offset and length."""

    field: EnsField
    member: int
    offset: int
    length: int


@dataclass(frozen=True)
class EcmwfFile:
    """One rendered ENS file: keys, data, index text and message layout."""

    init: dt.datetime
    lead_hours: int
    data_key: str
    index_key: str
    data: bytes
    index_text: str
    messages: tuple[EnsMessage, ...]


def _order(config: EcmwfArchiveConfig, init: dt.datetime, step: int) -> list[tuple[int, EnsField]]:
    items = [(member, field) for member in config.members for field in config.fields]
    random.Random(f"{config.seed}/{init:%Y%m%d%H}/{step}").shuffle(items)
    return items


def render_ecmwf_file(config: EcmwfArchiveConfig, init: dt.datetime, step: int) -> EcmwfFile:
    """The whole (init, step) file in memory (see the module contract)."""
    init = as_utc(init)

    def encoded(member: int, field: EnsField) -> bytes:
        values = synthetic_values(field, config.grid, init, step, member, config.seed)
        return encode_ens_message(field, init, step, member, values)

    return assemble_ecmwf_file(config, init, step, encoded)


def assemble_ecmwf_file(
    config: EcmwfArchiveConfig,
    init: dt.datetime,
    step: int,
    encoded: Callable[[int, EnsField], bytes],
) -> EcmwfFile:
    """The (init, step) file of ``config`` laid out as :func:`render_ecmwf_file` lays it out
    (the same shuffled member order, the same index key orders, true offsets and lengths), each
    message's bytes ``encoded(member, field)``. :func:`render_ecmwf_file` encodes every message;
    a benchmark whose reader never decodes a message may give one member's bytes for every
    member (the index lines still name each member)."""
    init = as_utc(init)
    chunks: list[bytes] = []
    messages: list[EnsMessage] = []
    lines: list[str] = []
    offset = 0
    picker = random.Random(f"{config.seed}/keys/{init:%Y%m%d%H}/{step}")
    for member, field in _order(config, init, step):
        message = encoded(member, field)
        chunks.append(message)
        messages.append(EnsMessage(field, member, offset, len(message)))
        lines.append(
            index_line(field, init, step, member, offset, len(message), picker.choice(_ORDERS))
        )
        offset += len(message)
    return EcmwfFile(
        init=init,
        lead_hours=step,
        data_key=ens_data_key(init, step),
        index_key=ens_index_key(init, step),
        data=b"".join(chunks),
        index_text="".join(line + "\n" for line in lines),
        messages=tuple(messages),
    )


@dataclass(frozen=True)
class WrittenEcmwfFile:
    """What :func:`write_ecmwf_archive` wrote for one file (no data held)."""

    init: dt.datetime
    lead_hours: int
    data_key: str
    index_key: str
    data_size: int
    messages: tuple[EnsMessage, ...]


def write_ecmwf_archive(
    store: ObjectStore,
    config: EcmwfArchiveConfig,
    *,
    on_file: Callable[[WrittenEcmwfFile], None] | None = None,
) -> list[WrittenEcmwfFile]:
    """Write every (init, step) file of ``config`` to ``store`` (rooted at the bucket), data
    object first, then its index; ``on_file`` after each file."""
    written = []
    for init in config.init_times:
        for step in config.lead_hours:
            file = render_ecmwf_file(config, init, step)
            obstore.put(store, file.data_key, file.data)
            obstore.put(store, file.index_key, file.index_text.encode("ascii"))
            record = WrittenEcmwfFile(
                file.init, step, file.data_key, file.index_key, len(file.data), file.messages
            )
            written.append(record)
            if on_file is not None:
                on_file(record)
    return written
