"""NOAA/NCEP wgrib2 ``.idx`` inventories: ``n:offset:d=YYYYMMDDHH:ELEMENT:LEVEL:WINDOW:``.

Parsed by ``gribberish.parse_grib_index`` (which derives each length from the next offset and
the object size). Validated before anything is returned: a non-empty, newline-terminated text
(wgrib2 ends every line with one; a missing one means a cut-off upload), every line's ``d=``
equal to the partition's reference time, every byte range inside the data object.
A sub-message line ``n.k`` shares its parent's byte range: it is returned as such
(``submessage`` set) and left for the provider to refuse or place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import gribberish

from vidx_pipeline.index_formats.base import (
    BadIndexError,
    IndexEntry,
    SourceObject,
    check_byte_ranges,
    line_from_gribberish,
    raise_date,
)

_DATE = re.compile(r"^[^:]*:[^:]*:d=(\d{10}):", re.MULTILINE)


class Wgrib2IdxFormat:
    name = "wgrib2_idx"
    has_index = True

    def parse(
        self, text: str, *, index_url: str, data: SourceObject, data_url: str, init: dt.datetime
    ) -> Sequence[IndexEntry]:
        if not text.strip():
            raise BadIndexError(index_url, "empty index")
        if not text.endswith("\n"):
            raise BadIndexError(
                index_url, "truncated: the last line has no newline", text.count("\n") + 1
            )
        try:
            entries = gribberish.parse_grib_index(text, file_size=data.size)
        except ValueError as error:
            raise BadIndexError(index_url, str(error), line_from_gribberish(str(error))) from None
        _check_dates(text, len(entries), index_url, init)
        check_byte_ranges(entries, index_url=index_url, data=data, data_url=data_url)
        return entries


def _check_dates(text: str, count: int, index_url: str, init: dt.datetime) -> None:
    """Every line carries the partition's reference time, checked on the text itself
    (``d=YYYYMMDDHH``), which is much cheaper than a datetime per entry."""
    expected = f"{init:%Y%m%d%H}"
    if text.count(f":d={expected}:") == text.count(":d=") == count:
        return
    for line, match in enumerate(_DATE.finditer(text), start=1):
        if match.group(1) != expected:
            raise_date(index_url, dt.datetime.strptime(match.group(1), "%Y%m%d%H"), init, line)
    raise BadIndexError(index_url, f"{count} messages but not every line has a d= date")


FORMAT = Wgrib2IdxFormat()
