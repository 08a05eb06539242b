"""Reading producers' index files: fetch through obstore, parse with gribberish, validate.

Contract of :func:`parse_index`: it returns entries only when the whole index is sound — every
line parses, names the partition's init time, and points inside the data object — and otherwise
raises :class:`BadIndexError` naming the object (and the line where there is one). Nothing
downstream ever sees a partial index.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import gribberish


@dataclass(frozen=True)
class SourceObject:
    """One listed object of the producer's bucket."""

    key: str
    size: int
    last_modified: dt.datetime
    etag: str | None

    def last_modified_checksum(self) -> dt.datetime:
        """Last-modified rounded *up* to the second: icechunk stores it at 1 s resolution and
        refuses a chunk whose object is newer than its checksum."""
        if self.last_modified.microsecond == 0:
            return self.last_modified
        return self.last_modified.replace(microsecond=0) + dt.timedelta(seconds=1)


class BadIndexError(ValueError):
    """An index object that cannot be trusted; the message names the object and line."""

    def __init__(self, url: str, problem: str, line: int | None = None) -> None:
        self.url = url
        self.line = line
        where = f"{url} line {line}" if line is not None else url
        super().__init__(f"bad index {where}: {problem}")


def parse_index(
    text: str,
    *,
    index_url: str,
    index_format: str,
    data: SourceObject,
    data_url: str,
    init: dt.datetime,
) -> list[gribberish.GribIndexEntry]:
    """Parse and validate one index file against its data object and partition time."""
    if not text.strip():
        raise BadIndexError(index_url, "empty index")
    if index_format == "wgrib2_idx" and not text.endswith("\n"):
        # wgrib2 ends every line with a newline; a missing one means a cut-off upload.
        last_line = text.count("\n") + 1
        raise BadIndexError(index_url, "truncated: the last line has no newline", last_line)
    try:
        entries = gribberish.parse_grib_index(text, file_size=data.size)
    except ValueError as error:
        raise BadIndexError(index_url, str(error), _line_from_gribberish(str(error))) from None
    _check_dates(text, entries, index_url, index_format, init)
    # Offsets first: a next offset beyond the object also makes its predecessor's length
    # overrun, and the line to name is the one with the bad offset.
    size = data.size
    offsets = [entry.offset for entry in entries]
    for line, offset in enumerate(offsets, start=1):
        if offset >= size:
            raise BadIndexError(
                index_url,
                f"message {entries[line - 1].message_number} offset {offset} lies outside "
                f"{data_url} ({size} bytes)",
                line,
            )
    previous_offset = -1
    for line, (entry, offset) in enumerate(zip(entries, offsets, strict=True), start=1):
        length = entry.length or 0
        if offset <= previous_offset and entry.submessage is None:
            raise BadIndexError(index_url, f"offset {offset} goes backwards", line)
        if length <= 0 or offset + length > size:
            raise BadIndexError(
                index_url,
                f"message {entry.message_number} at offset {offset} (length {length}) "
                f"lies outside {data_url} ({size} bytes)",
                line,
            )
        previous_offset = offset
    return entries


_WGRIB2_DATE = re.compile(r"^[^:]*:[^:]*:d=(\d{10}):", re.MULTILINE)


def _check_dates(
    text: str,
    entries: list[gribberish.GribIndexEntry],
    index_url: str,
    index_format: str,
    init: dt.datetime,
) -> None:
    """Every line must carry the partition's reference time. wgrib2 lines are checked on the
    text itself (``d=YYYYMMDDHH``), which is much cheaper than a datetime per entry."""
    if index_format == "wgrib2_idx":
        expected = f"{init:%Y%m%d%H}"
        if text.count(f":d={expected}:") == text.count(":d=") == len(entries):
            return
        for line, match in enumerate(_WGRIB2_DATE.finditer(text), start=1):
            if match.group(1) != expected:
                date = dt.datetime.strptime(match.group(1), "%Y%m%d%H")
                _raise_date(index_url, date, init, line)
        return
    for line, entry in enumerate(entries, start=1):
        if entry.reference_date != init:
            _raise_date(index_url, entry.reference_date, init, line)


def _raise_date(index_url: str, date: dt.datetime, init: dt.datetime, line: int) -> None:
    raise BadIndexError(
        index_url,
        f"reference date {date:%Y-%m-%dT%H} disagrees with the partition's {init:%Y-%m-%dT%H} "
        "in the object's path",
        line,
    )


def _line_from_gribberish(message: str) -> int | None:
    # gribberish says "invalid idx line N: ..."
    marker = "line "
    position = message.find(marker)
    if position < 0:
        return None
    digits = ""
    for char in message[position + len(marker) :]:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else None
