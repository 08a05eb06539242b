"""No index: the whole object is one message."""

from __future__ import annotations

import datetime as dt

import pytest

from vidx_pipeline.index_formats import FORMATS, get_format
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject

WHEN = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def test_the_entry_spans_the_object() -> None:
    data = SourceObject("a.grib2.bz2", 12345, WHEN, None)
    (entry,) = get_format("none").parse("", index_url="u", data=data, data_url="u", init=WHEN)
    assert (entry.offset, entry.length) == (0, 12345)


def test_an_empty_object_is_refused() -> None:
    data = SourceObject("a.grib2.bz2", 0, WHEN, None)
    with pytest.raises(BadIndexError, match="u: empty object"):
        get_format("none").parse("", index_url="u", data=data, data_url="u", init=WHEN)


def test_the_registry_names_every_format_and_refuses_others() -> None:
    assert set(FORMATS) == {"wgrib2_idx", "ecmwf_index", "none"}
    with pytest.raises(KeyError, match="unknown index format 'grib1'"):
        get_format("grib1")
