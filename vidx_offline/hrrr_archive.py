"""A synthetic NOAA HRRR CONUS 48-hour surface archive in the producer's exact object layout.

Contract:

- Objects live in bucket :data:`HRRR_BUCKET` under NOAA's keys: the data object
  ``hrrr.YYYYMMDD/conus/hrrr.tHHz.wrfsfcfLL.grib2`` (:func:`hrrr_data_key`) and its wgrib2
  inventory at the same key plus ``.idx`` (:func:`hrrr_index_key`). The keys are written here
  independently of the dataset spec, so the archive checks the spec rather than echoing it.
- Runs as NOAA makes them: any whole-hour init (HRRR runs every hour), leads 0 ..
  :data:`~vidx_offline.hrrr_inventory.HRRR_MAX_LEAD_HOURS`; a lead beyond
  :data:`~vidx_offline.hrrr_inventory.HRRR_SHORT_RUN_LEAD_HOURS` only for inits at 00, 06, 12
  or 18 UTC (the other runs stop at 18 h). Anything else raises.
- A data object is the concatenation of real GRIB2 messages, one per line of
  :func:`~vidx_offline.hrrr_inventory.hrrr_inventory` for its lead (optionally filtered to
  :attr:`HrrrArchiveConfig.fields`), in inventory order, encoded as NCEP writes HRRR
  (:mod:`vidx_offline.hrrr_encoding`: Lambert conformal grid, generating process 83, HRRR's own
  parameter codes). Its index holds one six-field wgrib2 line per message (trailing ``:``),
  numbered from 1, ``\\n``-terminated, whose offset is the message's byte offset; the last
  message ends at the end of the object.
- Message values are :func:`~vidx_offline.grib_encode.synthetic_message_values` of (line,
  :meth:`HrrrArchiveConfig.grid_definition`, init, lead, seed): deterministic, a function of
  each grid point's latitude and longitude, so any test can recompute what it must decode.
- :func:`write_hrrr_archive` writes file after file in ``init_times`` x ``lead_hours`` order,
  each data object completely before its index. Only one file is in memory at a time; a file
  larger than :data:`STREAM_THRESHOLD_BYTES` is streamed as a multipart upload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import ClassVar

import obstore
from pydantic import model_validator

from vidx_offline.archive_files import (
    STREAM_THRESHOLD_BYTES,
    ArchiveConfig,
    ArchiveError,
    MessageInfo,
    as_utc,
    check_field_filter,
    collect_messages,
    encode_messages,
    index_text,
    put_data_then_index,
    write_each,
)
from vidx_offline.grids import LambertConformalGrid
from vidx_offline.hrrr_encoding import (
    HRRR_GENERATING_PROCESS,
    HRRR_GRID_SHAPE,
    HRRR_PARAMETERS,
    hrrr_grid,
)
from vidx_offline.hrrr_inventory import (
    HRRR_LONG_RUN_HOURS,
    HRRR_MAX_LEAD_HOURS,
    HRRR_SHORT_RUN_LEAD_HOURS,
    hrrr_inventory,
)
from vidx_offline.inventory import InventoryLine

__all__ = [
    "HRRR_BUCKET",
    "HRRR_DATA_KEY_TEMPLATE",
    "HRRR_INDEX_SUFFIX",
    "STREAM_THRESHOLD_BYTES",
    "HrrrArchiveConfig",
    "HrrrArchiveError",
    "HrrrFile",
    "MessageInfo",
    "WrittenHrrrFile",
    "check_run",
    "hrrr_data_key",
    "hrrr_index_key",
    "iter_hrrr_messages",
    "render_hrrr_file",
    "write_hrrr_archive",
]

HRRR_BUCKET = "noaa-hrrr-bdp-pds"
HRRR_DATA_KEY_TEMPLATE = "hrrr.{init:%Y%m%d}/conus/hrrr.t{init:%H}z.wrfsfcf{lead_hours:02d}.grib2"
HRRR_INDEX_SUFFIX = ".idx"


class HrrrArchiveError(ArchiveError):
    """The HRRR archive cannot be rendered or written as configured."""


def check_run(init: datetime, lead_hours: int) -> None:
    """Raise :class:`HrrrArchiveError` unless NOAA publishes lead ``lead_hours`` of the run at
    ``init`` (naive = UTC): a whole-hour init; an int lead in 0 .. 48, beyond 18 only for an
    init at 00, 06, 12 or 18 UTC."""
    init = as_utc(init)
    if (init.minute, init.second, init.microsecond) != (0, 0, 0):
        raise HrrrArchiveError(f"HRRR init {init.isoformat()} is not on a whole hour")
    if (
        isinstance(lead_hours, bool)
        or not isinstance(lead_hours, int)
        or not 0 <= lead_hours <= HRRR_MAX_LEAD_HOURS
    ):
        raise HrrrArchiveError(
            f"HRRR lead_hours must be an int in 0..{HRRR_MAX_LEAD_HOURS}, got {lead_hours!r}"
        )
    if lead_hours > HRRR_SHORT_RUN_LEAD_HOURS and init.hour not in HRRR_LONG_RUN_HOURS:
        raise HrrrArchiveError(
            f"the HRRR run at {init.isoformat()} stops at {HRRR_SHORT_RUN_LEAD_HOURS} h; only "
            f"the runs at {HRRR_LONG_RUN_HOURS} UTC reach lead {lead_hours} h"
        )


def hrrr_data_key(init: datetime, lead_hours: int) -> str:
    """NOAA's key of the HRRR CONUS surface GRIB2 file of ``init`` + ``lead_hours`` (naive
    ``init`` = UTC); raises :class:`HrrrArchiveError` for a run NOAA does not publish."""
    check_run(init, lead_hours)
    return HRRR_DATA_KEY_TEMPLATE.format(init=as_utc(init), lead_hours=lead_hours)


def hrrr_index_key(init: datetime, lead_hours: int) -> str:
    """NOAA's key of the file's wgrib2 inventory: the data key plus ``.idx``."""
    return hrrr_data_key(init, lead_hours) + HRRR_INDEX_SUFFIX


class HrrrArchiveConfig(ArchiveConfig):
    """What to generate: every (init, lead) file on HRRR's Lambert conformal grid with
    ``grid = (ny, nx)`` points from its first point (default the real 1059 x 1799).

    ``fields``: None for the whole inventory (170 lines at lead 0, 173 after), else the
    (element, level) pairs to keep, e.g. ``(("TMP", "2 m above ground"), ("APCP",
    "surface"))``; every pair must occur at one of the leads at least and every lead must keep
    one line at least. Init times are normalised to UTC (naive = UTC), whole hours, unique;
    leads unique, within 0..48, beyond 18 only if every init is at 00, 06, 12 or 18 UTC.
    """

    grid: tuple[int, int] = HRRR_GRID_SHAPE
    fields: tuple[tuple[str, str], ...] | None = None

    generating_process: ClassVar[int | None] = HRRR_GENERATING_PROCESS

    @model_validator(mode="after")
    def _runs_and_fields(self) -> HrrrArchiveConfig:
        for init in self.init_times:
            for lead in self.lead_hours:
                try:
                    check_run(init, lead)
                except HrrrArchiveError as error:
                    raise ValueError(str(error)) from None
        if self.fields is not None:
            check_field_filter(self.fields, self.lead_hours, hrrr_inventory, "HRRR")
        return self

    def grid_definition(self) -> LambertConformalGrid:
        """HRRR's Lambert conformal grid of shape ``grid``."""
        return hrrr_grid(self.grid)

    def parameter(self, element: str) -> tuple[int, int, int] | None:
        """HRRR's own code for ``element`` where it differs from GFS's, else None."""
        return HRRR_PARAMETERS.get(element)

    def inventory(self, lead_hours: int) -> list[InventoryLine]:
        """The lines (hence messages) of every file of lead ``lead_hours``."""
        return hrrr_inventory(lead_hours, self.fields)


@dataclass(frozen=True)
class HrrrFile:
    """One rendered HRRR file: keys, the data object, its wgrib2 inventory and message
    layout."""

    init: datetime
    lead_hours: int
    data_key: str
    index_key: str
    data: bytes
    index_text: str
    messages: tuple[MessageInfo, ...]


@dataclass(frozen=True)
class WrittenHrrrFile:
    """What :func:`write_hrrr_archive` wrote for one file (no data held)."""

    init: datetime
    lead_hours: int
    data_key: str
    index_key: str
    data_size: int
    index_size: int
    messages: tuple[MessageInfo, ...]


def iter_hrrr_messages(
    config: HrrrArchiveConfig, init: datetime, lead_hours: int
) -> Iterator[tuple[MessageInfo, bytes]]:
    """Encode the file's messages one at a time, in inventory order, with their layout.

    Raises :class:`HrrrArchiveError` for a run NOAA does not publish or a lead none of whose
    lines the field filter keeps."""
    check_run(init, lead_hours)
    lines = config.inventory(lead_hours)
    if not lines:
        raise HrrrArchiveError(
            f"lead {lead_hours} h has none of the fields {config.fields}; NOAA never "
            "publishes an empty file"
        )
    return encode_messages(config, lines, init, lead_hours, error=HrrrArchiveError)


def render_hrrr_file(config: HrrrArchiveConfig, init: datetime, lead_hours: int) -> HrrrFile:
    """The whole (init, lead) file in memory: concatenated messages plus its inventory."""
    init = as_utc(init)
    data, messages = collect_messages(iter_hrrr_messages(config, init, lead_hours))
    return HrrrFile(
        init=init,
        lead_hours=lead_hours,
        data_key=hrrr_data_key(init, lead_hours),
        index_key=hrrr_index_key(init, lead_hours),
        data=data,
        index_text=index_text(messages, init),
        messages=messages,
    )


def _write_file(
    store: obstore.store.ObjectStore, config: HrrrArchiveConfig, item: tuple[datetime, int]
) -> WrittenHrrrFile:
    init, lead_hours = item
    data_key = hrrr_data_key(init, lead_hours)
    index_key = hrrr_index_key(init, lead_hours)
    stored = put_data_then_index(
        store,
        data_key,
        index_key,
        iter_hrrr_messages(config, init, lead_hours),
        lambda infos: index_text(infos, init),
        # Read at call time, so a test can lower this module's threshold to exercise streaming.
        stream_threshold=STREAM_THRESHOLD_BYTES,
    )
    return WrittenHrrrFile(
        init=init,
        lead_hours=lead_hours,
        data_key=data_key,
        index_key=index_key,
        data_size=stored.data_size,
        index_size=stored.index_size,
        messages=stored.messages,
    )


def write_hrrr_archive(
    store: obstore.store.ObjectStore,
    config: HrrrArchiveConfig,
    *,
    on_file: Callable[[WrittenHrrrFile], None] | None = None,
) -> list[WrittenHrrrFile]:
    """Write every (init, lead) file of ``config`` to ``store`` with :func:`obstore.put`.

    Files are written in ``init_times`` x ``lead_hours`` order; for each, the data object is
    complete before its index is put. ``store`` is any obstore store whose root is the bucket
    (e.g. ``S3Store(HRRR_BUCKET, ...)`` on the loopback S3 API, or ``MemoryStore()``).
    ``on_file`` is called after each file's two objects are written.
    """
    items = [(init, lead) for init in config.init_times for lead in config.lead_hours]
    return write_each(items, partial(_write_file, store, config), on_file)
