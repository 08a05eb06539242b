"""ECMWF JSON-lines ``.index``: the real open-data fixture parses to its own byte ranges, and
every bad index is refused with the object and line named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from vidx_pipeline.index_formats import get_format
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject

REAL = Path(__file__).parents[1] / "fixtures" / "real" / "ecmwf-index"
TEXT = (REAL / "aifs_single_20250301_00z_0h.index").read_text()
INIT = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
URL = "s3://ecmwf-forecasts/20250301/00z/aifs-single/0p25/oper/20250301000000-0h-oper-fc.index"
RECORDS = [json.loads(line) for line in TEXT.splitlines()]
SIZE = max(r["_offset"] + r["_length"] for r in RECORDS)


def _parse(text: str, size: int = SIZE, init: dt.datetime = INIT):
    data = SourceObject("x.grib2", size, INIT, None)
    return get_format("ecmwf_index").parse(
        text, index_url=URL, data=data, data_url=URL[:-6] + ".grib2", init=init
    )


def test_the_real_index_parses_to_its_own_offsets_and_lengths() -> None:
    entries = _parse(TEXT)
    assert len(entries) == len(RECORDS) == 106
    # Read straight from the JSON, independently of gribberish.
    assert [(e.offset, e.length) for e in entries] == [
        (r["_offset"], r["_length"]) for r in RECORDS
    ]
    assert {e.keys["levtype"] for e in entries} == {r["levtype"] for r in RECORDS}


def _replace_line(number: int, line: str) -> str:
    lines = TEXT.splitlines()
    lines[number - 1] = line
    return "\n".join(lines) + "\n"


def _line(number: int, record: dict[str, object]) -> str:
    return _replace_line(number, json.dumps(record))


def _without(key: str) -> str:
    record = dict(RECORDS[2])
    del record[key]
    return _line(3, record)


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("", "empty index", None),
        (TEXT.replace(TEXT.splitlines()[4], "not json at all", 1), "invalid json", 5),
        # Two values on one line: valid JSON once the lines are joined into one array.
        (_replace_line(6, f"{TEXT.splitlines()[5]}, {{}}"), "invalid json", 6),
        (_replace_line(4, ""), "a blank line", 4),
        (_replace_line(2, "[1, 2]"), "invalid json", 2),
        (_without("_length"), "missing _length", 3),
        (_without("param"), "missing keys ['param']", 3),
        (_line(5, {**RECORDS[4], "_length": 0}), "empty message", 5),
        (_line(7, {**RECORDS[6], "_offset": SIZE}), "lies outside", 7),
        (_line(8, {**RECORDS[7], "_offset": RECORDS[0]["_offset"]}), "repeats line 1", 8),
        (_line(9, {**RECORDS[8], "date": "20250228"}), "disagrees", 9),
        (_line(10, {**RECORDS[9], "time": "2500"}), "bad date/time '202503012500'", 10),
    ],
    ids=[
        "empty",
        "not-json",
        "two-values",
        "blank",
        "array",
        "missing-length",
        "missing-param",
        "empty-message",
        "beyond-object",
        "duplicate-offset",
        "other-date",
        "bad-time",
    ],
)
def test_bad_index_names_the_object_and_line(text: str, problem: str, line: int | None) -> None:
    with pytest.raises(BadIndexError) as raised:
        _parse(text)
    assert URL in str(raised.value)
    assert problem in str(raised.value)
    assert raised.value.line == line


def test_entries_hold_the_mars_keys_as_text_and_read_like_a_sequence() -> None:
    record = {**RECORDS[3], "levelist": 7, "_extra": 1}  # a level no other line has
    entries = _parse(_line(4, record))
    assert len(entries) == len(RECORDS)
    fourth = entries[3]
    assert (fourth.message_number, fourth.offset, fourth.length) == (
        4,
        RECORDS[3]["_offset"],
        RECORDS[3]["_length"],
    )
    assert fourth.keys["levelist"] == "7"  # a JSON number's text, as gribberish gives it
    assert "_extra" not in fourth.keys
    assert "_offset" not in fourth.keys
    assert fourth.var == RECORDS[3]["param"]
    assert list(entries)[3] == fourth == entries[-len(RECORDS) + 3]
    assert [e.message_number for e in entries[1:3]] == [2, 3]
    with pytest.raises(IndexError):
        entries[len(RECORDS)]


def test_a_field_written_once_as_text_and_once_as_a_number_repeats() -> None:
    twin = {**RECORDS[0], "_offset": SIZE, "date": int(RECORDS[0]["date"])}
    with pytest.raises(BadIndexError, match="the same field as line 1") as raised:
        _parse(TEXT + json.dumps(twin) + "\n", size=SIZE + RECORDS[0]["_length"])
    assert raised.value.line == len(RECORDS) + 1


def test_a_boolean_byte_range_is_refused() -> None:
    with pytest.raises(BadIndexError, match="missing _offset") as raised:
        _parse(_line(2, {**RECORDS[1], "_offset": True}))
    assert raised.value.line == 2
