"""wgrib2's forecast-time text, lead by lead."""

from __future__ import annotations

import pytest

from vidx_pipeline.providers.noaa import wgrib2_window_text
from vidx_pipeline.spec import InstantWindow, StatisticalWindow

TOTAL = StatisticalWindow(statistic="acc", start="init")
BUCKET = StatisticalWindow(statistic="acc")
MAXIMUM = StatisticalWindow(statistic="max")
HOURLY_MAXIMUM = StatisticalWindow(statistic="max", reset_hours=1, at_lead_zero=True)
HRRR_TOTAL = StatisticalWindow(statistic="acc", start="init", at_lead_zero=True)


@pytest.mark.parametrize(
    ("window", "lead", "text"),
    [
        (InstantWindow(), 0, "anl"),
        (InstantWindow(), 7, "7 hour fcst"),
        (InstantWindow(), 240, "240 hour fcst"),
        (TOTAL, 0, None),
        (TOTAL, 1, "0-1 hour acc fcst"),
        (TOTAL, 7, "0-7 hour acc fcst"),
        (TOTAL, 24, "0-1 day acc fcst"),
        (TOTAL, 123, "0-123 hour acc fcst"),
        (TOTAL, 240, "0-10 day acc fcst"),
        (TOTAL, 384, "0-16 day acc fcst"),
        (BUCKET, 6, "0-6 hour acc fcst"),
        (BUCKET, 7, "6-7 hour acc fcst"),
        (BUCKET, 24, "18-24 hour acc fcst"),
        (BUCKET, 123, "120-123 hour acc fcst"),
        (BUCKET, 126, "120-126 hour acc fcst"),
        (MAXIMUM, 0, None),
        (MAXIMUM, 7, "6-7 hour max fcst"),
        (MAXIMUM, 384, "378-384 hour max fcst"),
        # HRRR: 1-hour buckets, and zero-length windows written at f00
        (HOURLY_MAXIMUM, 0, "0-0 day max fcst"),
        (HOURLY_MAXIMUM, 1, "0-1 hour max fcst"),
        (HOURLY_MAXIMUM, 24, "23-24 hour max fcst"),
        (HOURLY_MAXIMUM, 48, "47-48 hour max fcst"),
        (HRRR_TOTAL, 0, "0-0 day acc fcst"),
        (HRRR_TOTAL, 24, "0-1 day acc fcst"),
    ],
)
def test_window_text(
    window: InstantWindow | StatisticalWindow, lead: int, text: str | None
) -> None:
    assert wgrib2_window_text(window, lead) == text


def test_a_sub_message_is_refused_never_placed_as_its_sibling() -> None:
    """wgrib2's ``n.2`` shares the bytes of ``n.1``; the codec decodes the first field, so the
    ``n.2`` field (VGRD) must not get a ref."""
    import datetime as dt

    from vidx_pipeline.datasets import get_dataset
    from vidx_pipeline.index_formats import get_format
    from vidx_pipeline.index_formats.base import SourceObject
    from vidx_pipeline.placement import build_table, place_entries
    from vidx_pipeline.providers.noaa import PROVIDER
    from vidx_pipeline.refs import ChunkLocator
    from vidx_pipeline.source_files import expected_files

    spec = get_dataset("noaa-gfs-forecast")
    init = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
    text = (
        "1:0:d=2025080100:PRMSL:mean sea level:7 hour fcst:\n"
        "2.1:1000:d=2025080100:UGRD:10 m above ground:7 hour fcst:\n"
        "2.2:1000:d=2025080100:VGRD:10 m above ground:7 hour fcst:\n"
    )
    data = SourceObject("f007", 3000, init, None)
    entries = get_format("wgrib2_idx").parse(
        text, index_url="i", data=data, data_url="d", init=init
    )
    (file,) = [f for f in expected_files(spec, init) if f.lead_hours == 7]
    locator = ChunkLocator(spec)
    table = build_table(PROVIDER, locator, file)
    placed = place_entries(
        PROVIDER, table, file, entries, data=data, data_url="d", index_url="i", checksum=init
    )
    assert {r.variable for r in placed.refs(locator)} == {
        "pressure_reduced_to_mean_sea_level",
        "wind_u_10m",
    }
    (refused,) = placed.refused
    assert "i line 3" in refused
    assert "VGRD:10 m above ground" in refused


def _ncep_message(triple: tuple[int, int, int], pressure_pa: int) -> bytes:
    """A tiny ecCodes-encoded NCEP message of ``triple`` on an isobaric surface."""
    import eccodes

    handle = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        eccodes.codes_set(handle, "centre", 7)
        for key, value in zip(
            ("discipline", "parameterCategory", "parameterNumber"), triple, strict=True
        ):
            eccodes.codes_set(handle, key, value)
        eccodes.codes_set(handle, "typeOfFirstFixedSurface", 100)
        eccodes.codes_set(handle, "scaleFactorOfFirstFixedSurface", 0)
        eccodes.codes_set(handle, "scaledValueOfFirstFixedSurface", pressure_pa)
        return bytes(eccodes.codes_get_message(handle))
    finally:
        eccodes.codes_release(handle)


@pytest.mark.parametrize(
    ("triple", "problem"),
    [((0, 19, 234), None), ((0, 19, 20), "parameter 0-19-20, not ICSEV (0, 19, 234)")],
)
def test_a_parameter_the_decoder_cannot_name_is_compared_by_its_grib_triple(
    triple: tuple[int, int, int], problem: str | None
) -> None:
    """gribberish reads GEFS's icing severity (0-19-234) as ``missing``: the message's own
    triple is compared with the one the catalog gives the variable."""
    from vidx_pipeline.datasets import get_dataset
    from vidx_pipeline.message_facts import read_message_facts
    from vidx_pipeline.providers.noaa import DECODER_UNNAMED, PROVIDER

    spec = get_dataset("noaa-gefs-forecast-35-day")
    variable = spec.variable("icing_severity_isobaric")
    facts = read_message_facts(_ncep_message(triple, 50000), source="test")
    assert facts.parameter == DECODER_UNNAMED
    labels = {"lead_time": 3, "ensemble_member": 0, "isobaric_level": 500.0}
    problems = PROVIDER.message_problems(spec, variable, labels, facts)
    assert problems == ([] if problem is None else [problem])
