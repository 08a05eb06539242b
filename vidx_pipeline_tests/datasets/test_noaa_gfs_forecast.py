"""The GFS spec against NCEP's real inventories (2025-08-01 00z f000 and f007): every message of
both is placed, at the offset and length read from the text, each in exactly one chunk."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.fetch import place_file
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject
from vidx_pipeline.refs import ChunkLocator
from vidx_pipeline.source_files import expected_files
from vidx_pipeline_tests.datasets.helpers import raw_ranges

REAL_IDX = Path(__file__).parents[1] / "fixtures" / "real" / "noaa-idx"
INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
SPEC = get_dataset("noaa-gfs-forecast")
# Beyond the last message of a real inventory: NCEP's files are ~500 MB.
DATA_SIZE = 600_000_000


@pytest.mark.parametrize("lead_hours", [0, 7])
def test_every_message_of_the_real_inventory_is_placed_once(lead_hours: int) -> None:
    text = (REAL_IDX / f"gfs.t00z.pgrb2.0p25.f{lead_hours:03d}.idx").read_text()
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == lead_hours]
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    # "fail": any chunk the spec expects at this lead and the file lacks is an error.
    placed = place_file(SPEC, locator, file, data, text, "fail")
    refs = placed.refs(locator)
    assert placed.unplaced == []
    assert placed.refused == []
    raw = raw_ranges(text, DATA_SIZE)
    assert len(refs) == len(raw)
    assert sorted((r.offset, r.length) for r in refs) == sorted((o, n) for _, o, n in raw)
    assert len({locator.slot(r) for r in refs}) == len(raw)


def test_legacy_names_hold_the_fields_they_always_held() -> None:
    text = (REAL_IDX / "gfs.t00z.pgrb2.0p25.f007.idx").read_text()
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == 7]
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    refs = place_file(SPEC, locator, file, data, text, "fail").refs(locator)
    by_offset = {offset: text for text, offset, _ in raw_ranges(text, DATA_SIZE)}
    field_of = {
        r.variable: by_offset[r.offset] for r in refs if not r.labels.keys() - {"lead_time"}
    }
    assert field_of["temperature_2m"] == "TMP:2 m above ground:7 hour fcst"
    assert field_of["maximum_temperature_2m"] == "TMAX:2 m above ground:6-7 hour max fcst"
    assert field_of["total_precipitation_surface"] == "APCP:surface:0-7 hour acc fcst"
    assert field_of["precipitation_rate_surface"] == "PRATE:surface:6-7 hour ave fcst"
    # The instantaneous cloud cover, not the 6-7 h average that follows it in the file.
    assert field_of["total_cloud_cover_atmosphere"] == "TCDC:entire atmosphere:7 hour fcst"
    assert field_of["soil_moisture_0_to_10cm"] == "SOILW:0-0.1 m below ground:7 hour fcst"
    isobaric = {
        r.labels["isobaric_level"]: by_offset[r.offset]
        for r in refs
        if r.variable == "temperature_isobaric"
    }
    assert isobaric[500.0] == "TMP:500 mb:7 hour fcst"
    assert isobaric[0.4] == "TMP:0.4 mb:7 hour fcst"


def test_f006_gives_its_two_identical_accumulation_lines_one_variable_each() -> None:
    """At f006 NCEP's 6-hourly bucket and running total are both ``0-6 hour acc fcst``."""
    text = (REAL_IDX / "gfs.t00z.pgrb2.0p25.f007.idx").read_text()
    text = text.replace(":7 hour fcst:", ":6 hour fcst:").replace("6-7 hour", "0-6 hour")
    text = text.replace("0-7 hour", "0-6 hour")
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == 6]
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    refs = place_file(SPEC, locator, file, data, text, "fail").refs(locator)
    apcp = sorted((r.offset, r.variable) for r in refs if r.variable.startswith("total_prec"))
    assert len(apcp) == 2
    assert apcp[0][1] != apcp[1][1]


def test_schedule_and_grid() -> None:
    hours = SPEC.lead_hours
    assert len(hours) == 209
    assert hours[:3] == (0, 1, 2)
    assert hours[120:123] == (120, 123, 126)
    assert hours[-1] == 384
    assert SPEC.chunk_shape(SPEC.variable("temperature_2m")) == (1, 1, 721, 1440)
    assert SPEC.chunk_shape(SPEC.variable("temperature_isobaric")) == (1, 1, 1, 721, 1440)
    assert SPEC.grid.longitudes()[-1] == 359.75


def test_a_window_matching_no_rule_is_named_new_output_and_its_field_missing() -> None:
    """``3-7 hour acc`` is no GFS bucket: the line is reported with its index and line number,
    the 6-7 h bucket it replaced is reported missing, and under ``missing_variables="fail"``
    the index is refused, naming the object."""
    real = (REAL_IDX / "gfs.t00z.pgrb2.0p25.f007.idx").read_text()
    text = real.replace("APCP:surface:6-7 hour acc fcst", "APCP:surface:3-7 hour acc fcst")
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == 7]
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    index_url = f"s3://noaa-gfs-bdp-pds/{file.index_key}"
    placed = place_file(SPEC, ChunkLocator(SPEC), file, data, text, "report")
    assert placed.unplaced == [f"APCP:surface:3-7 hour acc fcst ({index_url} line 596)"]
    assert [m.describe() for m in placed.missing] == [
        f"total_precipitation_surface_acc f007: not in {index_url}"
    ]
    with pytest.raises(BadIndexError, match=f"{re.escape(index_url)}: expected fields absent"):
        place_file(SPEC, ChunkLocator(SPEC), file, data, text, "fail")
