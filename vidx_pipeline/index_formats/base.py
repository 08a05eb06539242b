"""What every index format shares: the listed source object, the entry of a parsed index, the
errors a bad source raises, and the :class:`IndexFormat` protocol each format module implements.

Contract of :meth:`IndexFormat.parse`: it returns entries only when the whole index is sound —
every line parses, names the partition's reference time, and points inside the data object — and
otherwise raises :class:`BadIndexError` naming the object (and the line where there is one).
Nothing downstream ever sees a partial index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SourceObject:
    """One listed object of the producer's store."""

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


class BadSourceError(ValueError):
    """A producer object that cannot be trusted; the message names the object (and line)."""

    kind = "source object"

    def __init__(self, url: str, problem: str, line: int | None = None) -> None:
        self.url = url
        self.line = line
        self.problem = problem
        where = f"{url} line {line}" if line is not None else url
        super().__init__(f"bad {self.kind} {where}: {problem}")


class BadIndexError(BadSourceError):
    """An index object that cannot be trusted."""

    kind = "index"


class BadDataError(BadSourceError):
    """A data object whose own GRIB header contradicts the spec or its path."""

    kind = "data object"


class IndexEntry(Protocol):
    """One message of a parsed index (``gribberish.GribIndexEntry`` satisfies it)."""

    @property
    def message_number(self) -> int: ...
    @property
    def submessage(self) -> int | None: ...
    @property
    def offset(self) -> int: ...
    @property
    def length(self) -> int | None: ...
    @property
    def var(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def forecast_time(self) -> str: ...
    @property
    def keys(self) -> Mapping[str, str]: ...
    @property
    def extra(self) -> Sequence[str]: ...  # wgrib2 fields after the window (``ENS=+1``)


@dataclass(frozen=True)
class WholeObjectEntry:
    """The single entry of an object without index: the whole object is one message."""

    offset: int
    length: int
    message_number: int = 1
    submessage: int | None = None
    var: str = ""
    level: str = ""
    forecast_time: str = ""
    keys: Mapping[str, str] = field(default_factory=dict)
    extra: Sequence[str] = ()


class IndexFormat(Protocol):
    """One producer index format (one module each, registered in ``index_formats``)."""

    name: str
    has_index: bool

    def parse(
        self, text: str, *, index_url: str, data: SourceObject, data_url: str, init: dt.datetime
    ) -> Sequence[IndexEntry]:
        """Entries of a sound index, or :class:`BadIndexError`."""
        ...


def check_byte_ranges(
    entries: Sequence[IndexEntry], *, index_url: str, data: SourceObject, data_url: str
) -> None:
    """Every message lies inside the data object, and message numbers and offsets never go
    backwards or repeat (a sub-message shares its parent's number and offset). Offsets are
    checked first: a next offset beyond the object also makes its predecessor's length overrun,
    and the line to name is the bad one."""
    size = data.size
    for line, entry in enumerate(entries, start=1):
        if entry.offset >= size or entry.offset < 0:
            raise BadIndexError(
                index_url,
                f"message {entry.message_number} offset {entry.offset} lies outside "
                f"{data_url} ({size} bytes)",
                line,
            )
    previous_offset = -1
    previous_number = 0
    for line, entry in enumerate(entries, start=1):
        length = entry.length or 0
        number = entry.message_number
        if number < previous_number or (number == previous_number and entry.submessage is None):
            raise BadIndexError(
                index_url, f"message number {number} after {previous_number}: out of order", line
            )
        previous_number = number
        if entry.offset <= previous_offset and entry.submessage is None:
            raise BadIndexError(index_url, f"offset {entry.offset} goes backwards", line)
        if length <= 0 or entry.offset + length > size:
            raise BadIndexError(
                index_url,
                f"message {entry.message_number} at offset {entry.offset} (length {length}) "
                f"lies outside {data_url} ({size} bytes)",
                line,
            )
        previous_offset = entry.offset


def raise_date(index_url: str, date: dt.datetime, init: dt.datetime, line: int) -> None:
    raise BadIndexError(
        index_url,
        f"reference date {date:%Y-%m-%dT%H} disagrees with the partition's {init:%Y-%m-%dT%H} "
        "in the object's path",
        line,
    )


def line_from_gribberish(message: str) -> int | None:
    """The line number in a gribberish parse error ("... line N: ..."), if it names one."""
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
