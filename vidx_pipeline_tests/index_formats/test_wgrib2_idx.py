"""wgrib2 ``.idx`` validation: every bad index is refused with the object and line named."""

from __future__ import annotations

import datetime as dt

import pytest

from vidx_pipeline.index_formats import get_format
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject

INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
URL = "s3://noaa-gfs-bdp-pds/gfs.20250801/00/atmos/gfs.t00z.pgrb2.0p25.f007.idx"
DATA = SourceObject("gfs.t00z.pgrb2.0p25.f007", 3000, INIT, '"etag"')
GOOD = (
    "1:0:d=2025080100:PRMSL:mean sea level:7 hour fcst:\n"
    "2:1000:d=2025080100:TMP:2 m above ground:7 hour fcst:\n"
    "3:2000:d=2025080100:APCP:surface:0-7 hour acc fcst:\n"
)


def _parse(text: str, size: int = 3000):
    data = SourceObject(DATA.key, size, INIT, DATA.etag)
    return get_format("wgrib2_idx").parse(
        text, index_url=URL, data=data, data_url=URL[:-4], init=INIT
    )


def test_a_sound_index_parses_with_the_last_message_sized_from_the_object() -> None:
    entries = _parse(GOOD)
    assert [(e.offset, e.length) for e in entries] == [(0, 1000), (1000, 1000), (2000, 1000)]


@pytest.mark.parametrize(
    ("text", "size", "problem", "line"),
    [
        ("", 3000, "empty index", None),
        (GOOD.replace("2:1000:", "this is not an index line\n2:1000:"), 3000, "invalid idx", 2),
        (GOOD[:-20], 3000, "truncated", 3),
        (GOOD.replace("3:2000:", "3:3500:"), 3000, "lies outside", 3),
        (GOOD, 1500, "lies outside", 3),
        (GOOD.replace("2:1000:d=2025080100", "2:1000:d=2025073118"), 3000, "disagrees", 2),
        (GOOD.replace("3:2000:", "3:500:"), 3000, "goes backwards", 3),
    ],
    ids=["empty", "garbage", "truncated", "offset-beyond", "object-too-small", "date", "backwards"],
)
def test_bad_index_names_the_object_and_line(
    text: str, size: int, problem: str, line: int | None
) -> None:
    with pytest.raises(BadIndexError) as raised:
        _parse(text, size)
    message = str(raised.value)
    assert URL in message
    assert problem in message
    assert raised.value.line == line
    if line is not None:
        assert f"line {line}" in message


def test_a_sub_message_shares_its_parents_byte_range() -> None:
    text = GOOD.replace(
        "2:1000:d=2025080100:TMP:2 m above ground:7 hour fcst:\n",
        "2.1:1000:d=2025080100:UGRD:10 m above ground:7 hour fcst:\n"
        "2.2:1000:d=2025080100:VGRD:10 m above ground:7 hour fcst:\n",
    )
    entries = _parse(text)
    assert [(e.var, e.submessage, e.offset, e.length) for e in entries[1:3]] == [
        ("UGRD", 1, 1000, 1000),
        ("VGRD", 2, 1000, 1000),
    ]
