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
        seen_offsets: dict[int, int] = {}
        seen_fields: dict[tuple[tuple[str, str], ...], int] = {}
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise BadIndexError(index_url, f"not JSON ({error.msg})", number) from None
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
            field = tuple(sorted((k, str(v)) for k, v in record.items() if not k.startswith("_")))
            if field in seen_fields:
                raise BadIndexError(
                    index_url,
                    f"the same field as line {seen_fields[field]} "
                    f"({', '.join(f'{k}={v}' for k, v in field)})",
                    number,
                )
            seen_fields[field] = number
            stamp = f"{record['date']}{str(record['time']).zfill(4)}"
            try:
                when = dt.datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
            except ValueError:
                raise BadIndexError(index_url, f"bad date/time {stamp!r}", number) from None
            if when != init:
                raise_date(index_url, when, init, number)
        try:
            entries = gribberish.parse_grib_index(text, file_size=data.size)
        except ValueError as error:
            raise BadIndexError(index_url, str(error), line_from_gribberish(str(error))) from None
        if len(entries) != len(lines):
            raise BadIndexError(index_url, f"{len(lines)} lines but {len(entries)} entries")
        return entries


FORMAT = EcmwfIndexFormat()
