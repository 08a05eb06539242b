"""ECMWF open-data ``.index``: one JSON object per line with MARS keys and ``_offset`` /
``_length``.

Parsed by ``gribberish.parse_grib_index``, which gives each line's byte range and refuses a
line that is not a JSON object or lacks a non-negative integer ``_offset`` / ``_length``. Lines
are in no particular member order and key order varies between producers' versions; ``number``
is a string. Then validated, before anything is returned: no blank line; every line holding
``date``, ``time`` and ``param``; the reference time equal to the partition's; every byte
range inside the data object and not empty; no two lines at one offset, and no two describing
the same field (every MARS key equal, values compared as text: ``number`` ``"1"`` and ``1`` are
one member).

An entry (:class:`EcmwfIndexEntry`) is its line number, the parser's byte range and the line's
MARS keys (every key not starting with ``_``), each value as text as the parser gives them (a
JSON string's own text, any other value's JSON text: ``500``, ``true``). The keys are read
from the lines as one JSON array, not from the parser's entries: building a dict per entry from
those costs twice as much (an ENS step has 4,131 lines), which matters when every step of an
init is parsed. The entries are kept as columns (:class:`EcmwfIndexEntries`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, overload

import gribberish

from vidx_pipeline.index_formats.base import (
    BadIndexError,
    SourceObject,
    line_from_gribberish,
    raise_date,
)

REQUIRED_KEYS = ("date", "time", "param")
"""MARS keys every line must hold (besides ``_offset`` and ``_length``, the parser's own)."""
_REQUIRED = frozenset(REQUIRED_KEYS)
_RANGE_KEYS = ("_offset", "_length")


class EcmwfIndexEntry(NamedTuple):
    """One line of an ECMWF ``.index`` (an :class:`~vidx_pipeline.index_formats.base.IndexEntry`):
    ``message_number`` is the line number, ``var`` the ``param``, ``keys`` the MARS keys as
    text."""

    message_number: int
    offset: int
    length: int
    var: str
    keys: Mapping[str, str]

    @property
    def submessage(self) -> None:
        return None

    @property
    def level(self) -> str:
        """``levelist`` (a pressure level in hPa); empty on a single level."""
        return self.keys.get("levelist", "")

    @property
    def forecast_time(self) -> str:
        """``step``: hours (``"6"``) or a window (``"0-6"``)."""
        return self.keys.get("step", "")

    @property
    def extra(self) -> Sequence[str]:
        return ()


_entry = functools.partial(tuple.__new__, EcmwfIndexEntry)
"""An entry from its row, without :class:`EcmwfIndexEntry`'s Python-level constructor."""


class EcmwfIndexEntries(Sequence[EcmwfIndexEntry]):
    """The entries of one parsed index, kept as columns and made when read. (An index's
    thousands of entry objects, alive from its parse to its placement, would be scanned by
    every full garbage collection meanwhile; its columns are five objects.)"""

    __slots__ = ("_keys", "_lengths", "_offsets", "_params")

    def __init__(
        self,
        offsets: list[int],
        lengths: list[int],
        params: list[str],
        keys: list[Mapping[str, str]],
    ) -> None:
        self._offsets = offsets
        self._lengths = lengths
        self._params = params
        self._keys = keys

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[EcmwfIndexEntry]:
        rows = zip(
            itertools.count(1), self._offsets, self._lengths, self._params, self._keys, strict=False
        )
        return map(_entry, rows)

    @overload
    def __getitem__(self, index: int) -> EcmwfIndexEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[EcmwfIndexEntry]: ...
    def __getitem__(self, index: int | slice) -> EcmwfIndexEntry | list[EcmwfIndexEntry]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        i = range(len(self))[index]  # IndexError out of range; a negative index from the end
        return EcmwfIndexEntry(
            i + 1, self._offsets[i], self._lengths[i], self._params[i], self._keys[i]
        )


class _KeyOrder(NamedTuple):
    """What is shared by the lines writing their keys in one order."""

    names: tuple[str, ...]  # the MARS keys, sorted: a field is their values in this order
    values: Callable[[dict[str, Any]], tuple[Any, ...]]
    only_mars: bool  # no key starting with `_` besides `_offset` and `_length`


class EcmwfIndexFormat:
    name = "ecmwf_index"
    has_index = True

    def parse(
        self, text: str, *, index_url: str, data: SourceObject, data_url: str, init: dt.datetime
    ) -> EcmwfIndexEntries:
        if not text.strip():
            raise BadIndexError(index_url, "empty index")
        try:
            parsed = gribberish.parse_grib_index(text, file_size=data.size)
        except ValueError as error:
            raise BadIndexError(index_url, str(error), line_from_gribberish(str(error))) from None
        lines = text.splitlines()
        if len(parsed) != len(lines):  # the parser skips blank lines
            blank = next((n for n, line in enumerate(lines, start=1) if not line.strip()), None)
            raise BadIndexError(
                index_url, f"{len(lines)} lines but {len(parsed)} entries (a blank line)", blank
            )
        # Every line is one JSON object (the parser said so): they decode as one array.
        records: list[dict[str, Any]] = json.loads(f"[{','.join(lines)}]")
        size = data.size
        offsets: list[int] = []
        lengths: list[int] = []
        params: list[str] = []
        every_keys: list[Mapping[str, str]] = []
        seen_offsets: dict[int, int] = {}
        seen_fields: dict[tuple[tuple[str, ...], tuple[Any, ...]], int] = {}
        orders: dict[tuple[str, ...], _KeyOrder] = {}
        times: dict[tuple[str, str], dt.datetime | None] = {}
        for number, (entry, record) in enumerate(zip(parsed, records, strict=True), start=1):
            offset, length = entry.offset, entry.length or 0
            if length <= 0:
                raise BadIndexError(index_url, f"empty message at offset {offset}", number)
            if offset + length > size:
                raise BadIndexError(
                    index_url,
                    f"message at offset {offset} (length {length}) lies outside {data_url} "
                    f"({size} bytes)",
                    number,
                )
            if (first := seen_offsets.setdefault(offset, number)) != number:
                raise BadIndexError(index_url, f"offset {offset} repeats line {first}", number)
            if not record.keys() >= _REQUIRED:
                missing = [key for key in REQUIRED_KEYS if key not in record]
                raise BadIndexError(index_url, f"missing keys {missing}", number)
            in_line_order = tuple(record)
            if (order := orders.get(in_line_order)) is None:
                order = orders[in_line_order] = _key_order(in_line_order)
            names, values = order.names, order.values(record)
            keys: dict[str, str] = record
            try:
                "".join(values)  # a TypeError unless every value is a JSON string (the rule)
            except TypeError:
                values = tuple(v if isinstance(v, str) else json.dumps(v) for v in values)
                keys = dict(zip(names, values, strict=True))
            else:
                if order.only_mars:  # the record is this call's own: keep it as the keys
                    for key in _RANGE_KEYS:
                        del record[key]
                else:
                    keys = dict(zip(names, values, strict=True))
            if (first := seen_fields.setdefault((names, values), number)) != number:
                described = ", ".join(f"{k}={v}" for k, v in zip(names, values, strict=True))
                raise BadIndexError(
                    index_url, f"the same field as line {first} ({described})", number
                )
            date_time = (keys["date"], keys["time"])
            if date_time not in times:  # one (date, time) per object, parsed once
                times[date_time] = _reference_time(*date_time)
            when = times[date_time]
            if when is None:
                stamp = f"{date_time[0]}{date_time[1].zfill(4)}"
                raise BadIndexError(index_url, f"bad date/time {stamp!r}", number)
            if when != init:
                raise_date(index_url, when, init, number)
            offsets.append(offset)
            lengths.append(length)
            params.append(keys["param"])
            every_keys.append(keys)
        return EcmwfIndexEntries(offsets, lengths, params, every_keys)


def _key_order(in_line_order: tuple[str, ...]) -> _KeyOrder:
    names = tuple(sorted(key for key in in_line_order if not key.startswith("_")))
    # Every line holds date, time and param: at least three names, so a tuple of values.
    # (A line lacking one is refused before its order is asked for.)
    only_mars = len(names) + len(_RANGE_KEYS) == len(in_line_order)
    return _KeyOrder(names, operator.itemgetter(*names), only_mars)


def _reference_time(date: str, time: str) -> dt.datetime | None:
    """``date`` (YYYYMMDD) and ``time`` (HHMM, leading zeros optional) in UTC; None if they do
    not make a time."""
    try:
        return dt.datetime.strptime(f"{date}{time.zfill(4)}", "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


FORMAT = EcmwfIndexFormat()
