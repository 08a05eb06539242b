"""ECMWF open-data ``.index``: one JSON object per line with MARS keys and ``_offset`` /
``_length``.

Lines are in no particular member order and key order varies between producers' versions;
``number`` is a string. Validated before anything is returned: every line a JSON object holding
``_offset``, ``_length``, ``date``, ``time`` and ``param``; the reference time equal to the
partition's; every byte range inside the data object; no two lines at one offset, and no two
describing the same field (every MARS key equal, ``number`` compared as text). The byte
ranges come from the index itself (parsed by ``gribberish.parse_grib_index``), not from the
order of lines.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import gribberish

from vidx_pipeline.index_formats.base import (
    BadIndexError,
    IndexEntry,
    SourceObject,
    line_from_gribberish,
    raise_date,
)

REQUIRED_KEYS = ("_offset", "_length", "date", "time", "param")


class EcmwfIndexFormat:
    name = "ecmwf_index"
    has_index = True

    def parse(
        self, text: str, *, index_url: str, data: SourceObject, data_url: str, init: dt.datetime
    ) -> Sequence[IndexEntry]:
        if not text.strip():
            raise BadIndexError(index_url, "empty index")
        lines = text.splitlines()
        records = _records(lines, index_url)
        seen_offsets: dict[int, int] = {}
        seen_fields: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        mars_names: dict[tuple[str, ...], tuple[str, ...]] = {}
        times: dict[tuple[str, str], dt.datetime | None] = {}
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise BadIndexError(index_url, "not a JSON object", number)
            if missing := [key for key in REQUIRED_KEYS if key not in record]:
                raise BadIndexError(index_url, f"missing keys {missing}", number)
            offset, length = record["_offset"], record["_length"]
            if not isinstance(offset, int) or not isinstance(length, int) or length <= 0:
                raise BadIndexError(index_url, f"bad byte range {offset!r}+{length!r}", number)
            if offset < 0 or offset + length > data.size:
                raise BadIndexError(
                    index_url,
                    f"message at offset {offset} (length {length}) lies outside {data_url} "
                    f"({data.size} bytes)",
                    number,
                )
            if offset in seen_offsets:
                raise BadIndexError(
                    index_url, f"offset {offset} repeats line {seen_offsets[offset]}", number
                )
            seen_offsets[offset] = number
            # The field: its MARS keys (sorted, not the `_` ones) and their values as text.
            in_line_order = tuple(record)
            if (names := mars_names.get(in_line_order)) is None:  # one per key order
                names = mars_names[in_line_order] = tuple(
                    sorted(key for key in in_line_order if not key.startswith("_"))
                )
            field = (names, tuple([str(record[key]) for key in names]))
            if field in seen_fields:
                raise BadIndexError(
                    index_url,
                    f"the same field as line {seen_fields[field]} "
                    f"({', '.join(f'{k}={v}' for k, v in zip(*field, strict=True))})",
                    number,
                )
            seen_fields[field] = number
            date_time = (str(record["date"]), str(record["time"]))
            if date_time not in times:  # one (date, time) per object, parsed once
                times[date_time] = _reference_time(*date_time)
            when = times[date_time]
            if when is None:
                stamp = f"{date_time[0]}{date_time[1].zfill(4)}"
                raise BadIndexError(index_url, f"bad date/time {stamp!r}", number)
            if when != init:
                raise_date(index_url, when, init, number)
        try:
            entries = gribberish.parse_grib_index(text, file_size=data.size)
        except ValueError as error:
            raise BadIndexError(index_url, str(error), line_from_gribberish(str(error))) from None
        if len(entries) != len(lines):
            raise BadIndexError(index_url, f"{len(lines)} lines but {len(entries)} entries")
        return entries


def _records(lines: list[str], index_url: str) -> list[object]:
    """Each line's JSON value. The lines are decoded as one JSON array (one call instead of one
    per line); only when that fails are they decoded one by one, to name the bad line."""
    try:
        records: list[object] = json.loads(f"[{','.join(lines)}]")
    except json.JSONDecodeError:
        records = []
    if len(records) == len(lines):
        return records
    # A bad line, or one holding several values (`1, 2` joins into two array items).
    for number, line in enumerate(lines, start=1):
        try:
            json.loads(line)
        except json.JSONDecodeError as error:
            raise BadIndexError(index_url, f"not JSON ({error.msg})", number) from None
    raise AssertionError("lines that decode one by one decode as an array")  # pragma: no cover


def _reference_time(date: str, time: str) -> dt.datetime | None:
    """``date`` (YYYYMMDD) and ``time`` (HHMM, leading zeros optional) in UTC; None if they do
    not make a time."""
    try:
        return dt.datetime.strptime(f"{date}{time.zfill(4)}", "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


FORMAT = EcmwfIndexFormat()
