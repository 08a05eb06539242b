"""The GFS spec against NCEP's real inventories (2025-08-01 00z f000 and f007)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import gribberish
import pytest

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.index_files import SourceObject, parse_index
from vidx_pipeline.matching import expected_text, match_file

REAL_IDX = Path(__file__).parents[1] / "fixtures" / "real" / "noaa-idx"
INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
SPEC = get_dataset("noaa-gfs-forecast")
# Beyond the last message of a real inventory: NCEP's files are ~500 MB.
DATA_SIZE = 600_000_000


def _raw_offsets(text: str) -> dict[str, tuple[int, int]]:
    """``element:level:window`` -> (offset, length) of its first line, read straight from the
    inventory text (independently of gribberish): length runs to the next line's offset."""
    lines = [line.split(":") for line in text.splitlines()]
    offsets = [int(fields[1]) for fields in lines]
    found: dict[str, tuple[int, int]] = {}
    for i, fields in enumerate(lines):
        end = offsets[i + 1] if i + 1 < len(lines) else DATA_SIZE
        found.setdefault(":".join(fields[3:6]), (offsets[i], end - offsets[i]))
    return found


@pytest.mark.parametrize("lead_hours", [0, 7])
def test_every_curated_variable_is_found_in_the_real_inventory(lead_hours: int) -> None:
    text = (REAL_IDX / f"gfs.t00z.pgrb2.0p25.f{lead_hours:03d}.idx").read_text()
    data = SourceObject("gfs.t00z", DATA_SIZE, INIT, None)
    entries = parse_index(
        text,
        index_url="real.idx",
        index_format="wgrib2_idx",
        data=data,
        data_url="real",
        init=INIT,
    )
    refs, missing = match_file(
        SPEC,
        entries,
        step_index=(0, 0),
        lead_hours=lead_hours,
        member=None,
        data_url="s3://noaa-gfs-bdp-pds/x",
        index_url="real.idx",
        checksum=INIT,
    )
    assert missing == []
    raw = _raw_offsets(text)
    by_variable = {ref.variable: ref for ref in refs}
    expected_present = {v.name for v in SPEC.variables if expected_text(v, lead_hours) is not None}
    assert set(by_variable) == expected_present
    for variable in SPEC.variables:
        wanted = expected_text(variable, lead_hours)
        if wanted is None:
            continue
        ref = by_variable[variable.name]
        assert (ref.offset, ref.length) == raw[wanted], variable.name


def test_windowed_variables_are_expected_absent_at_f000_only() -> None:
    windowed = {
        "maximum_temperature_2m",
        "minimum_temperature_2m",
        "precipitation_rate_surface",
        "total_precipitation_surface",
        "downward_short_wave_radiation_flux_surface",
        "downward_long_wave_radiation_flux_surface",
    }
    absent_at_f000 = {v.name for v in SPEC.variables if expected_text(v, 0) is None}
    assert absent_at_f000 == windowed
    assert all(expected_text(v, 7) is not None for v in SPEC.variables)


def test_f007_picks_the_windows_ncep_writes() -> None:
    text = (REAL_IDX / "gfs.t00z.pgrb2.0p25.f007.idx").read_text()
    assert f":{expected_text(SPEC.variable('maximum_temperature_2m'), 7)}:" in text
    assert expected_text(SPEC.variable("maximum_temperature_2m"), 7) == (
        "TMAX:2 m above ground:6-7 hour max fcst"
    )
    assert expected_text(SPEC.variable("total_precipitation_surface"), 7) == (
        "APCP:surface:0-7 hour acc fcst"
    )
    assert expected_text(SPEC.variable("precipitation_rate_surface"), 7) == (
        "PRATE:surface:6-7 hour ave fcst"
    )
    # The instantaneous cloud cover, not the 6-7 h average that follows it in the file.
    assert expected_text(SPEC.variable("total_cloud_cover_atmosphere"), 7) == (
        "TCDC:entire atmosphere:7 hour fcst"
    )


def test_schedule_and_grid() -> None:
    hours = SPEC.lead_hours
    assert len(hours) == 209
    assert hours[:3] == (0, 1, 2)
    assert hours[120:123] == (120, 123, 126)
    assert hours[-1] == 384
    assert SPEC.chunk_shape == (1, 1, 721, 1440)
    assert len(SPEC.variables) >= 20
    assert SPEC.grid.longitudes()[-1] == 359.75


def test_gribberish_sizes_the_last_message_from_the_object_size() -> None:
    text = (REAL_IDX / "gfs.t00z.pgrb2.0p25.f007.idx").read_text()
    entries = gribberish.parse_grib_index(text, file_size=DATA_SIZE)
    assert entries[-1].offset + (entries[-1].length or 0) == DATA_SIZE
