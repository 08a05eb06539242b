"""Real GRIB2 messages: ecCodes and gribberish decode what the generator was given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import eccodes
import gribberish
import numpy as np
import pytest

from vidx_offline.gfs_archive import GfsArchiveConfig, GfsFile, render_gfs_file
from vidx_offline.grib_encode import (
    ELEMENTS,
    FALLBACK_ELEMENT,
    FALLBACK_SURFACES,
    MISSING_VALUE,
    PACKING_TYPES,
    FixedSurfaces,
    GribEncodeError,
    WindowTiming,
    clear_handle_cache,
    element_info,
    encode_message,
    field_bitmap,
    land_mask,
    level_surfaces,
    synthetic_field,
    synthetic_message_values,
    window_timing,
)
from vidx_offline.inventory import InventoryLine, gfs_inventory

INIT = datetime(2025, 8, 1, 6, tzinfo=UTC)
GRID = (19, 36)
LEAD = 7
FIELDS = (
    ("TMP", "2 m above ground"),
    ("APCP", "surface"),
    ("SOILW", "0-0.1 m below ground"),
    ("ICEC", "surface"),
    ("TMP", "500 mb"),
    ("PRMSL", "mean sea level"),
    ("TMAX", "2 m above ground"),
    ("CRAIN", "surface"),
    ("TCDC", "entire atmosphere"),
    ("HGT", "0.4 mb"),
)


def _handle(message: bytes) -> Iterator[Any]:
    handle = eccodes.codes_new_from_message(message)
    try:
        yield handle
    finally:
        eccodes.codes_release(handle)


def _decode(message: bytes) -> tuple[dict[str, Any], np.ndarray, np.ndarray | None]:
    """ecCodes keys, values (NaN where missing) and bitmap (None if absent) of one message."""
    for handle in _handle(message):
        nlat, nlon = eccodes.codes_get_long(handle, "Nj"), eccodes.codes_get_long(handle, "Ni")
        keys: dict[str, Any] = {
            name: eccodes.codes_get_long(handle, name)
            for name in (
                "discipline",
                "parameterCategory",
                "parameterNumber",
                "typeOfFirstFixedSurface",
                "typeOfSecondFixedSurface",
                "productDefinitionTemplateNumber",
                "forecastTime",
                "dataDate",
                "dataTime",
                "validityDate",
                "validityTime",
                "decimalScaleFactor",
                "binaryScaleFactor",
                "bitmapPresent",
                "Ni",
                "Nj",
            )
        }
        for name in ("shortName", "stepRange", "packingType", "centre", "gridType"):
            keys[name] = eccodes.codes_get_string(handle, name)
        for name in (
            "latitudeOfFirstGridPointInDegrees",
            "longitudeOfFirstGridPointInDegrees",
            "latitudeOfLastGridPointInDegrees",
            "longitudeOfLastGridPointInDegrees",
        ):
            keys[name] = eccodes.codes_get_double(handle, name)
        if keys["productDefinitionTemplateNumber"] == 8:
            for name in ("typeOfStatisticalProcessing", "lengthOfTimeRange"):
                keys[name] = eccodes.codes_get_long(handle, name)
        values = eccodes.codes_get_values(handle).astype(np.float64).reshape(nlat, nlon)
        bitmap = None
        if keys["bitmapPresent"]:
            bitmap = eccodes.codes_get_array(handle, "bitmap").reshape(nlat, nlon).astype(bool)
            missing = eccodes.codes_get_double(handle, "missingValue")
            assert (values[~bitmap] == missing).all()
            values[~bitmap] = np.nan
        return keys, values, bitmap
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def small_file() -> GfsFile:
    config = GfsArchiveConfig(init_times=(INIT,), lead_hours=(LEAD,), grid=GRID, fields=FIELDS)
    return render_gfs_file(config, INIT, LEAD)


def _tolerance(element: str) -> float:
    """Half a packing step, plus floating-point noise."""
    return 0.5 * 10.0 ** -element_info(element).decimal_scale * (1 + 1e-6)


def test_small_file_layout(small_file: GfsFile) -> None:
    lines = gfs_inventory(LEAD, FIELDS)
    assert [m.line for m in small_file.messages] == lines
    assert len(lines) == 13  # APCP twice, CRAIN and TCDC instant + average
    offset = 0
    for message in small_file.messages:
        assert message.offset == offset
        assert small_file.data[offset : offset + 4] == b"GRIB"
        assert small_file.data[offset + message.length - 4 : offset + message.length] == b"7777"
        offset += message.length
    assert offset == len(small_file.data)
    assert small_file.index_text.endswith("\n")
    index = small_file.index_text.splitlines()
    assert len(index) == len(lines)
    for number, (text, message) in enumerate(zip(index, small_file.messages, strict=True), 1):
        assert text == message.line.text(number, message.offset, INIT)
        assert text.startswith(f"{number}:{message.offset}:d=2025080106:")
    entries = gribberish.parse_grib_index(small_file.index_text, len(small_file.data))
    assert [(e.offset, e.length) for e in entries] == [
        (m.offset, m.length) for m in small_file.messages
    ]


def test_every_message_decodes_to_its_values_and_keys(small_file: GfsFile) -> None:
    nlat, nlon = GRID
    for info in small_file.messages:
        line = info.line
        keys, values, bitmap = _decode(small_file.data[info.offset : info.offset + info.length])
        element = element_info(line.element)
        expected = synthetic_message_values(line, GRID, INIT, LEAD, 0)
        np.testing.assert_allclose(
            values, expected, rtol=0, atol=_tolerance(line.element), equal_nan=True
        )
        given = synthetic_field(
            line.element, GRID, INIT, LEAD, 0, level=line.level, window=line.window
        )
        present = ~np.isnan(expected)
        assert np.abs(values[present] - given[present]).max() <= _tolerance(line.element)

        expected_bitmap = field_bitmap(line.element, GRID)
        if expected_bitmap is None:
            assert bitmap is None
            assert keys["bitmapPresent"] == 0
        else:
            assert bitmap is not None
            assert (bitmap == expected_bitmap).all()
            assert 0 < bitmap.sum() < bitmap.size
        assert (
            keys["discipline"],
            keys["parameterCategory"],
            keys["parameterNumber"],
        ) == (element.discipline, element.category, element.number)
        assert keys["decimalScaleFactor"] == element.decimal_scale
        assert keys["binaryScaleFactor"] <= 0
        assert keys["packingType"] == "grid_complex_spatial_differencing"
        assert keys["centre"] == "kwbc"
        assert (keys["dataDate"], keys["dataTime"]) == (20250801, 600)
        assert (keys["validityDate"], keys["validityTime"]) == (20250801, 1300)
        assert (keys["gridType"], keys["Nj"], keys["Ni"]) == ("regular_ll", nlat, nlon)
        assert (
            keys["latitudeOfFirstGridPointInDegrees"],
            keys["longitudeOfFirstGridPointInDegrees"],
            keys["latitudeOfLastGridPointInDegrees"],
            keys["longitudeOfLastGridPointInDegrees"],
        ) == (90.0, 0.0, -90.0, 350.0)
        timing = window_timing(line.window)
        if timing.statistic is None:
            assert keys["productDefinitionTemplateNumber"] == 0
            assert (keys["stepRange"], keys["forecastTime"]) == ("7", 7)
        else:
            assert keys["productDefinitionTemplateNumber"] == 8
            assert keys["stepRange"] == f"{timing.start_hours}-7"
            assert keys["forecastTime"] == timing.start_hours
            assert keys["lengthOfTimeRange"] == 7 - timing.start_hours
            assert keys["typeOfStatisticalProcessing"] == timing.statistic
        assert keys["typeOfFirstFixedSurface"] == level_surfaces(line.level).first_type
        assert keys["typeOfSecondFixedSurface"] == level_surfaces(line.level).second_type


def test_designed_keys_of_the_named_fields(small_file: GfsFile) -> None:
    by_line = {
        (m.line.element, m.line.level, m.line.window): small_file.data[
            m.offset : m.offset + m.length
        ]
        for m in small_file.messages
    }
    keys, _, _ = _decode(by_line[("TMP", "2 m above ground", "7 hour fcst")])
    assert (keys["shortName"], keys["typeOfFirstFixedSurface"]) == ("2t", 103)
    keys, _, _ = _decode(by_line[("APCP", "surface", "0-7 hour acc fcst")])
    assert (keys["shortName"], keys["stepRange"], keys["typeOfStatisticalProcessing"]) == (
        "tp",
        "0-7",
        1,
    )
    keys, _, bitmap = _decode(by_line[("SOILW", "0-0.1 m below ground", "7 hour fcst")])
    assert (keys["shortName"], keys["typeOfFirstFixedSurface"], keys["discipline"]) == (
        "soilw",
        106,
        2,
    )
    assert bitmap is not None
    assert (bitmap == land_mask(GRID)).all()
    keys, _, bitmap = _decode(by_line[("ICEC", "surface", "7 hour fcst")])
    assert bitmap is not None
    assert (bitmap == ~land_mask(GRID)).all()
    keys, _, _ = _decode(by_line[("TMAX", "2 m above ground", "6-7 hour max fcst")])
    assert (keys["shortName"], keys["typeOfStatisticalProcessing"]) == ("tmax", 2)
    keys, values, _ = _decode(by_line[("TCDC", "entire atmosphere", "6-7 hour ave fcst")])
    assert keys["typeOfStatisticalProcessing"] == 0
    assert values.min() == 0.0
    assert values.max() <= 100.0


@pytest.mark.parametrize("packing", PACKING_TYPES)
@pytest.mark.parametrize(
    ("element", "level"),
    [
        ("TMP", "2 m above ground"),
        ("SOILW", "0-0.1 m below ground"),
        ("PRES", "surface"),
        ("SPFH", "850 mb"),
        ("CRAIN", "surface"),
        ("ICEC", "surface"),
    ],
)
def test_packings_round_trip_in_eccodes_and_gribberish(
    packing: str, element: str, level: str
) -> None:
    line = InventoryLine(element, level, "7 hour fcst")
    expected = synthetic_message_values(line, GRID, INIT, LEAD, 3)
    values = synthetic_field(element, GRID, INIT, LEAD, 3, level=level, window=line.window)
    message = encode_message(
        line, INIT, LEAD, GRID, values, packing=packing, bitmap=field_bitmap(element, GRID)
    )
    keys, decoded, bitmap = _decode(message)
    assert keys["packingType"] == packing
    assert (bitmap is not None) == (element_info(element).mask is not None)
    np.testing.assert_allclose(decoded, expected, rtol=0, atol=_tolerance(element), equal_nan=True)
    from_gribberish = gribberish.parse_grib_array(message, 0).reshape(GRID)
    np.testing.assert_allclose(from_gribberish, decoded, rtol=1e-12, atol=0, equal_nan=True)


def test_complex_and_bitmap_messages_of_the_file_equal_in_gribberish(small_file: GfsFile) -> None:
    for info in small_file.messages:
        message = small_file.data[info.offset : info.offset + info.length]
        _, decoded, _ = _decode(message)
        from_gribberish = gribberish.parse_grib_array(small_file.data, info.offset).reshape(GRID)
        np.testing.assert_array_equal(np.isnan(from_gribberish), np.isnan(decoded))
        np.testing.assert_allclose(from_gribberish, decoded, rtol=1e-12, atol=0, equal_nan=True)


# gribberish spells a few NCEP abbreviations differently from wgrib2's inventories.
GRIBBERISH_ALIASES = {
    "CLMR": "CLWMR",
    "U-GWD": "UGWD",
    "V-GWD": "VGWD",
    "AOTK": "APTS",  # WMO 0.20.102, wgrib2's AOTK
    "VIL": "VERIL",  # WMO 0.15.3, wgrib2's VIL
}
# Codes gribberish's tables lack (it reports "missing"); ecCodes names all four.
GRIBBERISH_UNKNOWN = {"5WAVH", "ICIP", "ICSEV", "SNOHF"}
# Codes without an ecCodes shortName (at centre 7, local table 1): NCEP local GFS codes and, from
# MAXDVV on, codes only HRRR writes (ecCodes 2.50 knows few of HRRR's; gribberish names them).
ECCODES_UNKNOWN = {"HPBL", "ICEG", "PEVPR"}
ECCODES_UNKNOWN |= {
    "MAXDVV",
    "MAXUVV",
    "MAXREF",
    "MXUPHL",
    "MNUPHL",
    "RETOP",
    "TCOLG",
    "TCOLW",
    "TCOLI",
    "LTNGSD",
    "ASNOW",
    "MASSDEN",
    "MAXUW",
    "MAXVW",
    "FROZR",
    "VEGMIN",
    "VEGMAX",
    "AOTK",
    "COLMD",
    "EFHL",
    "ESP",
    "CANGLE",
    "RHPW",
}


@pytest.mark.parametrize("element", sorted(ELEMENTS))
def test_parameter_table_agrees_with_gribberish_and_eccodes(element: str) -> None:
    line = InventoryLine(element, "surface", "anl")
    values = synthetic_field(element, (3, 4), INIT, 0, 0)
    message = encode_message(line, INIT, 0, (3, 4), values, bitmap=field_bitmap(element, (3, 4)))
    metadata = gribberish.parse_grib_message_metadata(message, 0)
    if element in GRIBBERISH_UNKNOWN:
        assert metadata.var_abbrev == "missing"
    else:
        assert metadata.var_abbrev.upper() == GRIBBERISH_ALIASES.get(element, element)
    keys, _, _ = _decode(message)
    assert (keys["shortName"] == "unknown") == (element in ECCODES_UNKNOWN)


def test_every_gfs_element_and_level_is_encoded_without_fallback() -> None:
    lines = gfs_inventory(0) + gfs_inventory(7)
    assert {line.element for line in lines} <= set(ELEMENTS)
    assert [line.level for line in lines if level_surfaces(line.level) == FALLBACK_SURFACES] == []


@pytest.mark.parametrize(
    ("level", "surfaces"),
    [
        ("surface", FixedSurfaces(1)),
        ("2 m above ground", FixedSurfaces(103, 0, 2)),
        ("mean sea level", FixedSurfaces(101)),
        ("entire atmosphere", FixedSurfaces(10)),
        ("entire atmosphere (considered as a single layer)", FixedSurfaces(200)),
        ("low cloud layer", FixedSurfaces(214)),
        ("middle cloud layer", FixedSurfaces(224)),
        ("high cloud layer", FixedSurfaces(234)),
        ("top of atmosphere", FixedSurfaces(8)),
        ("0-0.1 m below ground", FixedSurfaces(106, 0, 0, 106, 1, 1)),
        ("0.1-0.4 m below ground", FixedSurfaces(106, 1, 1, 106, 1, 4)),
        ("500 mb", FixedSurfaces(100, 0, 50000)),
        ("0.4 mb", FixedSurfaces(100, 0, 40)),
        ("0.995 sigma level", FixedSurfaces(104, 3, 995)),
        ("30-0 mb above ground", FixedSurfaces(108, 0, 3000, 108, 0, 0)),
        ("PV=-2e-06 (Km^2/kg/s) surface", FixedSurfaces(109, 6, 2**31 | 2)),
        # HRRR's levels
        ("cloud base", FixedSurfaces(2)),
        ("cloud top", FixedSurfaces(3)),
        ("level of adiabatic condensation from sfc", FixedSurfaces(5)),
        ("level of free convection", FixedSurfaces(14)),
        ("equilibrium level", FixedSurfaces(247)),
        ("highest tropospheric freezing level", FixedSurfaces(204)),
        ("263 K level", FixedSurfaces(20, 0, 263)),
        ("261 K level - 256 K level", FixedSurfaces(20, 0, 261, 20, 0, 256)),
        ("0 m underground", FixedSurfaces(106, 0, 0)),
        ("500-1000 mb", FixedSurfaces(100, 0, 50000, 100, 0, 100000)),
        ("100-1000 mb above ground", FixedSurfaces(108, 0, 10000, 108, 0, 100000)),
        ("5000-2000 m above ground", FixedSurfaces(103, 0, 5000, 103, 0, 2000)),
        ("0.1 sigma level", FixedSurfaces(104, 1, 1)),
        ("0.5-0.8 sigma layer", FixedSurfaces(104, 1, 5, 104, 1, 8)),
        ("lowest level of the wet bulb zero", FALLBACK_SURFACES),
        ("1 hybrid levels", FALLBACK_SURFACES),
        ("263 K levels", FALLBACK_SURFACES),
    ],
)
def test_level_surfaces(level: str, surfaces: FixedSurfaces) -> None:
    assert level_surfaces(level) == surfaces


def test_fallback_element_and_level_still_decode() -> None:
    line = InventoryLine("XYZZY", "lowest level of the wet bulb zero", "7 hour fcst")
    values = synthetic_field(line.element, GRID, INIT, LEAD, 0, level=line.level)
    message = encode_message(line, INIT, LEAD, GRID, values)
    keys, decoded, _ = _decode(message)
    assert (keys["discipline"], keys["parameterCategory"], keys["parameterNumber"]) == (
        FALLBACK_ELEMENT.discipline,
        FALLBACK_ELEMENT.category,
        FALLBACK_ELEMENT.number,
    )
    assert keys["typeOfFirstFixedSurface"] == 255
    np.testing.assert_allclose(decoded, np.round(values, 2), rtol=0, atol=_tolerance("XYZZY"))
    np.testing.assert_allclose(gribberish.parse_grib_array(message, 0).reshape(GRID), decoded)


def test_window_timing() -> None:
    assert window_timing("anl") == WindowTiming(None, 0, 0)
    assert window_timing("12 hour fcst") == WindowTiming(None, 12, 12)
    assert window_timing("120-123 hour acc fcst") == WindowTiming(1, 120, 123)
    assert window_timing("0-10 day ave fcst") == WindowTiming(0, 0, 240)
    assert window_timing("6-7 hour min fcst").length_hours == 1
    # HRRR's f00 statistics: zero length, at the analysis time only
    assert window_timing("0-0 day max fcst") == WindowTiming(2, 0, 0)
    assert window_timing("0-0 hour acc fcst").length_hours == 0
    for bad in (
        "7 hour fcst:",
        "6-6 hour acc fcst",
        "1-1 day max fcst",
        "5-0 hour acc fcst",
        "0-7 hour sum fcst",
        "7 hr fcst",
    ):
        with pytest.raises(GribEncodeError, match="window"):
            window_timing(bad)


def test_zero_length_statistic_at_lead_0() -> None:
    line = InventoryLine("APCP", "surface", "0-0 day acc fcst")
    values = synthetic_field("APCP", GRID, INIT, 0, 0, level="surface", window=line.window)
    assert (values == 0).all()  # nothing accumulated over no time
    keys, decoded, _ = _decode(encode_message(line, INIT, 0, GRID, values))
    assert (keys["productDefinitionTemplateNumber"], keys["stepRange"]) == (8, "0")
    assert (keys["lengthOfTimeRange"], keys["typeOfStatisticalProcessing"]) == (0, 1)
    assert (keys["validityDate"], keys["validityTime"]) == (20250801, 600)
    assert (decoded == 0).all()
    with pytest.raises(GribEncodeError, match="window ends at 0 h"):
        encode_message(line, INIT, 1, GRID, values)


def test_wgrib2_text_of_a_parameter_its_table_lacks_is_that_parameter() -> None:
    element = "var discipline=0 center=7 local_table=1 parmcat=16 parm=201"
    info = element_info(element)
    assert (info.discipline, info.category, info.number) == (0, 16, 201)
    assert (info.decimal_scale, info.low, info.high) == (
        FALLBACK_ELEMENT.decimal_scale,
        FALLBACK_ELEMENT.low,
        FALLBACK_ELEMENT.high,
    )
    line = InventoryLine(element, "entire atmosphere", "7 hour fcst")
    values = synthetic_field(element, GRID, INIT, LEAD, 0, level=line.level)
    keys, _, _ = _decode(encode_message(line, INIT, LEAD, GRID, values))
    assert (keys["discipline"], keys["parameterCategory"], keys["parameterNumber"]) == (0, 16, 201)
    assert element_info("var discipline=0 center=7 local_table=1 parmcat=16") == FALLBACK_ELEMENT
    with pytest.raises(GribEncodeError, match="centre 98"):
        element_info("var discipline=0 center=98 local_table=1 parmcat=16 parm=201")
    line = InventoryLine(
        "var discipline=0 center=7 local_table=2 parmcat=16 parm=201", "surface", "7 hour fcst"
    )
    with pytest.raises(GribEncodeError, match=r"var discipline.*local table 2"):
        encode_message(line, INIT, LEAD, GRID, values)


def test_parameter_and_generating_process_overrides() -> None:
    line = InventoryLine("CRAIN", "surface", "7 hour fcst")
    values = synthetic_field("CRAIN", GRID, INIT, LEAD, 0)
    default = encode_message(line, INIT, LEAD, GRID, values)
    hrrr = encode_message(
        line, INIT, LEAD, GRID, values, parameter=(0, 1, 33), generating_process=83
    )
    for message, code, process in ((default, (0, 1, 192), 96), (hrrr, (0, 1, 33), 83)):
        keys, decoded, _ = _decode(message)
        assert (keys["discipline"], keys["parameterCategory"], keys["parameterNumber"]) == code
        assert _ensemble_keys(message)["generatingProcessIdentifier"] == process
        np.testing.assert_array_equal(decoded, values)
        assert gribberish.parse_grib_message_metadata(message, 0).var_abbrev == "CRAIN"
    # the default again: no state leaks from the other generating process's handle
    assert encode_message(line, INIT, LEAD, GRID, values) == default
    member = encode_message(line, INIT, LEAD, GRID, values, member=3, generating_process=200)
    assert _ensemble_keys(member)["generatingProcessIdentifier"] == 200
    for bad in ({"parameter": (0, 1)}, {"parameter": (0, 1, 256)}, {"parameter": [0, 1, 33]}):
        with pytest.raises(GribEncodeError, match="parameter"):
            encode_message(line, INIT, LEAD, GRID, values, **bad)
    bad_processes: tuple[Any, ...] = (256, -1, True, 1.0)
    for process in bad_processes:
        with pytest.raises(GribEncodeError, match="generating_process"):
            encode_message(line, INIT, LEAD, GRID, values, generating_process=process)


def test_day_window_message() -> None:
    line = InventoryLine("APCP", "surface", "0-10 day acc fcst")
    values = synthetic_field("APCP", GRID, INIT, 240, 0, level="surface", window=line.window)
    keys, decoded, _ = _decode(encode_message(line, INIT, 240, GRID, values))
    assert (keys["stepRange"], keys["forecastTime"], keys["lengthOfTimeRange"]) == ("0-240", 0, 240)
    end = INIT + timedelta(hours=240)
    assert (keys["validityDate"], keys["validityTime"]) == (int(f"{end:%Y%m%d}"), 600)
    assert np.nanmax(decoded) > 24 * 3.0  # per-hour range times the 240 h window


def test_encoding_is_deterministic_across_reused_handles() -> None:
    tmp = InventoryLine("TMP", "2 m above ground", "7 hour fcst")
    spfh = InventoryLine("SPFH", "850 mb", "7 hour fcst")
    tmp_values = synthetic_field("TMP", GRID, INIT, LEAD, 0)
    first = encode_message(tmp, INIT, LEAD, GRID, tmp_values)
    encode_message(spfh, INIT, LEAD, GRID, synthetic_field("SPFH", GRID, INIT, LEAD, 0))
    with pytest.raises(GribEncodeError, match="bits"):
        encode_message(tmp, INIT, LEAD, GRID, tmp_values * 1e5)
    assert encode_message(tmp, INIT, LEAD, GRID, tmp_values) == first


def test_reused_handles_encode_exactly_like_fresh_ones() -> None:
    """Handles are reused and unchanged header keys skipped: no state may leak between lines."""
    grid = (3, 4)
    work = [
        (line, lead, init)
        for index, (lead, init) in enumerate(
            [(7, INIT), (0, INIT), (123, INIT + timedelta(days=1)), (6, INIT)]
        )
        for line in gfs_inventory(lead)[index::7]
    ]

    def encode(line: InventoryLine, lead: int, init: datetime) -> bytes:
        values = synthetic_field(
            line.element, grid, init, lead, 0, level=line.level, window=line.window
        )
        return encode_message(
            line, init, lead, grid, values, bitmap=field_bitmap(line.element, grid)
        )

    reused = [encode(*item) for item in work]
    fresh = []
    for item in work:
        clear_handle_cache()
        fresh.append(encode(*item))
    assert len(set(reused)) == len(reused)
    assert reused == fresh


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"lead_hours": 6}, "window ends at 7"),
        ({"line": InventoryLine("TMP", "surface", "7 hour sum")}, "window"),
        ({"values": np.zeros((18, 36))}, "shape"),
        ({"values": np.full(GRID, np.nan)}, "finite"),
        ({"values": np.full(GRID, 2e20)}, "1e20"),
        ({"bitmap": np.zeros(GRID, dtype=bool)}, "no present point"),
        ({"bitmap": np.ones(GRID, dtype=int)}, "bool array"),
        ({"packing": "grid_ccsds"}, "packing"),
        ({"init": datetime(2025, 8, 1, 6, 30)}, "whole hour"),
        ({"grid": (1, 36)}, "grid"),
        ({"lead_hours": -7}, "lead_hours"),
    ],
)
def test_encode_message_rejects_bad_input(change: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {
        "line": InventoryLine("TMP", "surface", "7 hour fcst"),
        "init": INIT,
        "lead_hours": LEAD,
        "grid": GRID,
        "values": np.full(GRID, 280.0),
        "packing": "grid_complex_spatial_differencing",
        "bitmap": None,
    } | change
    with pytest.raises(GribEncodeError, match=match):
        encode_message(**arguments)


def test_bitmap_values_at_missing_points_are_ignored() -> None:
    line = InventoryLine("TSOIL", "0-0.1 m below ground", "7 hour fcst")
    bitmap = field_bitmap("TSOIL", GRID)
    assert bitmap is not None
    values = np.where(bitmap, 280.0, np.nan)
    _, decoded, decoded_bitmap = _decode(
        encode_message(line, INIT, LEAD, GRID, values, bitmap=bitmap)
    )
    assert decoded_bitmap is not None
    assert (decoded_bitmap == bitmap).all()
    assert (decoded[bitmap] == 280.0).all()
    assert np.isnan(decoded[~bitmap]).all()
    assert MISSING_VALUE > 1e20


def test_grid_coordinates_as_eccodes_sees_them() -> None:
    for grid in ((3, 4), (8, 7), (721, 1440)):
        message = encode_message(
            InventoryLine("LAND", "surface", "anl"), INIT, 0, grid, np.zeros(grid)
        )
        for handle in _handle(message):
            latitudes = eccodes.codes_get_double_array(handle, "latitudes").reshape(grid)
            longitudes = eccodes.codes_get_double_array(handle, "longitudes").reshape(grid)
            np.testing.assert_allclose(latitudes[:, 0], np.linspace(90, -90, grid[0]), atol=1e-5)
            np.testing.assert_allclose(longitudes[0], np.arange(grid[1]) * 360 / grid[1], atol=1e-5)


class TestSyntheticField:
    def test_deterministic_and_varying(self) -> None:
        base = synthetic_field("TMP", GRID, INIT, 7, 0, level="500 mb", window="7 hour fcst")
        again = synthetic_field("TMP", GRID, INIT, 7, 0, level="500 mb", window="7 hour fcst")
        assert base.shape == GRID
        assert base.dtype == np.float64
        np.testing.assert_array_equal(base, again)
        for other in (
            synthetic_field(
                "TMP", GRID, INIT + timedelta(hours=6), 7, 0, level="500 mb", window="7 hour fcst"
            ),
            synthetic_field("TMP", GRID, INIT, 8, 0, level="500 mb", window="8 hour fcst"),
            synthetic_field("TMP", GRID, INIT, 7, 1, level="500 mb", window="7 hour fcst"),
            synthetic_field("TMP", GRID, INIT, 7, 0, level="850 mb", window="7 hour fcst"),
            synthetic_field("TMP", GRID, INIT, 7, 0, level="500 mb", window="6-7 hour ave fcst"),
        ):
            assert np.abs(other - base).max() > 1.0

    @pytest.mark.parametrize(
        ("element", "low", "high"),
        [
            ("TMP", 200, 320),
            ("TSOIL", 200, 320),
            ("PRMSL", 95000, 105000),
            ("MSLET", 95000, 105000),
            ("UGRD", -30, 30),
            ("VGRD", -30, 30),
            ("RH", 0, 100),
            ("TCDC", 0, 100),
            ("SOILW", 0, 1),
            ("ICEC", 0, 1),
        ],
    )
    def test_ranges(self, element: str, low: float, high: float) -> None:
        for lead in (0, 7, 100):
            values = synthetic_field(element, GRID, INIT, lead, 0)
            assert low <= values.min()
            assert values.max() <= high
            assert values.max() - values.min() > 0.1 * (high - low)

    def test_shapes_of_special_kinds(self) -> None:
        rain = synthetic_field("APCP", GRID, INIT, 7, 0, window="0-7 hour acc fcst")
        assert rain.min() == 0.0
        assert (rain == 0).mean() > 0.2
        assert rain.max() > 0
        hourly = synthetic_field("APCP", GRID, INIT, 7, 0, window="6-7 hour acc fcst")
        assert hourly.max() <= 3.0 < rain.max()
        for element in ("CRAIN", "CSNOW", "CFRZR", "CICEP"):
            values = synthetic_field(element, GRID, INIT, 7, 0)
            assert set(np.unique(values)) == {0.0, 1.0}
        cover = synthetic_field("TCDC", GRID, INIT, 7, 0)
        assert cover.min() == 0.0
        assert cover.max() == 100.0
        np.testing.assert_array_equal(
            synthetic_field("LAND", GRID, INIT, 7, 0), land_mask(GRID).astype(float)
        )
        assert (synthetic_field("CIN", GRID, INIT, 7, 0) <= 0).all()
        heights = synthetic_field("HGT", GRID, INIT, 7, 0, level="500 mb")
        assert heights.min() > 4000
        assert heights.max() < 6000

    def test_identical_lines_have_identical_values(self) -> None:
        # NCEP's f006 holds APCP "0-6 hour acc fcst" twice (since init and the 6-hour bucket).
        first, second = gfs_inventory(6, [("APCP", "surface")])
        assert first == second
        np.testing.assert_array_equal(
            synthetic_message_values(first, GRID, INIT, 6, 0),
            synthetic_message_values(second, GRID, INIT, 6, 0),
        )


@pytest.mark.parametrize("grid", [(2, 2), (3, 4), (19, 36), (181, 360)])
def test_land_mask_has_land_and_sea(grid: tuple[int, int]) -> None:
    mask = land_mask(grid)
    assert mask.shape == grid
    assert mask.dtype == np.bool_
    assert mask.any()
    assert not mask.all()
    assert not mask.flags.writeable
    assert field_bitmap("TMP", grid) is None


@pytest.mark.parametrize("lead", [0, 7])
def test_every_line_of_the_full_inventory_round_trips(lead: int) -> None:
    """All ~700 lines (every element, level and window kind of NCEP's files) decode as given."""
    grid = (3, 4)
    config = GfsArchiveConfig(init_times=(INIT,), lead_hours=(lead,), grid=grid)
    file = render_gfs_file(config, INIT, lead)
    for info in file.messages:
        message = file.data[info.offset : info.offset + info.length]
        keys, values, _ = _decode(message)
        expected = synthetic_message_values(info.line, grid, INIT, lead, 0)
        np.testing.assert_allclose(
            values, expected, rtol=0, atol=_tolerance(info.line.element), equal_nan=True
        )
        assert keys["stepRange"] == (
            str(lead)
            if window_timing(info.line.window).statistic is None
            else f"{window_timing(info.line.window).start_hours}-{lead}"
        )
        from_gribberish = gribberish.parse_grib_array(message, 0).reshape(grid)
        np.testing.assert_allclose(from_gribberish, values, rtol=1e-12, atol=0, equal_nan=True)


# --------------------------------------------------------------------------------------------
# GEFS: individual ensemble members (templates 4.1 / 4.11)


def _ensemble_keys(message: bytes) -> dict[str, Any]:
    for handle in _handle(message):
        keys: dict[str, Any] = {
            name: eccodes.codes_get_long(handle, name)
            for name in (
                "productDefinitionTemplateNumber",
                "typeOfGeneratingProcess",
                "generatingProcessIdentifier",
                "endStep",
            )
        }
        keys["stepRange"] = eccodes.codes_get_string(handle, "stepRange")
        if keys["productDefinitionTemplateNumber"] in (1, 11):
            for name in (
                "typeOfEnsembleForecast",
                "perturbationNumber",
                "numberOfForecastsInEnsemble",
            ):
                keys[name] = eccodes.codes_get_long(handle, name)
        if keys["productDefinitionTemplateNumber"] in (8, 11):
            for name in ("typeOfStatisticalProcessing", "lengthOfTimeRange", "forecastTime"):
                keys[name] = eccodes.codes_get_long(handle, name)
        return keys
    raise AssertionError("unreachable")


ENSEMBLE_CASES = [
    # (line, lead, template, stepRange, statistical process or None)
    (InventoryLine("TMP", "2 m above ground", "anl"), 0, 1, "0", None),
    (InventoryLine("TMP", "2 m above ground", "9 hour fcst"), 9, 1, "9", None),
    (InventoryLine("TMAX", "2 m above ground", "6-9 hour max fcst"), 9, 11, "6-9", 2),
    (InventoryLine("APCP", "surface", "426-432 hour acc fcst"), 432, 11, "426-432", 1),
    (InventoryLine("SOILW", "0-0.1 m below ground", "432 hour fcst"), 432, 1, "432", None),
]


@pytest.mark.parametrize("member", [0, 1, 5, 30])
@pytest.mark.parametrize(("line", "lead", "template", "step_range", "statistic"), ENSEMBLE_CASES)
def test_member_messages_carry_the_ensemble_as_ncep_writes_gefs(
    member: int,
    line: InventoryLine,
    lead: int,
    template: int,
    step_range: str,
    statistic: int | None,
) -> None:
    values = synthetic_field(
        line.element, GRID, INIT, lead, 0, level=line.level, window=line.window, member=member
    )
    message = encode_message(
        line, INIT, lead, GRID, values, bitmap=field_bitmap(line.element, GRID), member=member
    )
    keys = _ensemble_keys(message)
    assert keys["productDefinitionTemplateNumber"] == template
    assert keys["typeOfEnsembleForecast"] == (1 if member == 0 else 3)
    assert keys["perturbationNumber"] == member
    assert keys["numberOfForecastsInEnsemble"] == 31
    assert (keys["typeOfGeneratingProcess"], keys["generatingProcessIdentifier"]) == (4, 107)
    assert (keys["stepRange"], keys["endStep"]) == (step_range, lead)
    if statistic is not None:
        timing = window_timing(line.window)
        assert keys["typeOfStatisticalProcessing"] == statistic
        assert keys["forecastTime"] == timing.start_hours
        assert keys["lengthOfTimeRange"] == timing.length_hours
    _, decoded, _ = _decode(message)
    expected = synthetic_message_values(line, GRID, INIT, lead, 0, member=member)
    np.testing.assert_allclose(
        decoded, expected, rtol=0, atol=_tolerance(line.element), equal_nan=True
    )
    metadata = gribberish.parse_grib_message_metadata(message, 0)
    assert metadata.perturbation_number == member
    assert metadata.var_abbrev == line.element
    from_gribberish = gribberish.parse_grib_array(message, 0).reshape(GRID)
    np.testing.assert_allclose(from_gribberish, decoded, rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize(("line", "lead", "template", "step_range", "statistic"), ENSEMBLE_CASES)
def test_without_a_member_the_message_is_deterministic_gfs(
    line: InventoryLine, lead: int, template: int, step_range: str, statistic: int | None
) -> None:
    values = synthetic_field(line.element, GRID, INIT, lead, 0, window=line.window)
    message = encode_message(line, INIT, lead, GRID, values, member=None)
    assert message == encode_message(line, INIT, lead, GRID, values)
    keys = _ensemble_keys(message)
    assert keys["productDefinitionTemplateNumber"] == {1: 0, 11: 8}[template]
    assert (keys["typeOfGeneratingProcess"], keys["generatingProcessIdentifier"]) == (2, 96)
    assert keys["stepRange"] == step_range
    assert gribberish.parse_grib_message_metadata(message, 0).perturbation_number is None


def test_members_have_different_values() -> None:
    fields = [
        synthetic_field("TMP", GRID, INIT, 9, 0, level="2 m above ground", member=member)
        for member in (None, 0, 1, 2, 30)
    ]
    for index, first in enumerate(fields):
        for second in fields[index + 1 :]:
            assert np.abs(first - second).max() > 1.0
    again = synthetic_field("TMP", GRID, INIT, 9, 0, level="2 m above ground", member=1)
    np.testing.assert_array_equal(again, fields[2])


@pytest.mark.parametrize("member", [-1, 31, True, 1.0, "1"])
def test_bad_members_raise(member: object) -> None:
    line = InventoryLine("TMP", "surface", "7 hour fcst")
    with pytest.raises(GribEncodeError, match="member"):
        encode_message(line, INIT, LEAD, GRID, np.full(GRID, 280.0), member=member)  # type: ignore[arg-type]


def test_members_and_deterministic_messages_share_no_handle_state() -> None:
    grid = (3, 4)
    work = [
        (line, lead, member)
        for lead, member in [(9, 0), (9, None), (9, 7), (0, 30), (0, None), (432, 0)]
        for line in gfs_inventory(lead, [("TMP", "2 m above ground"), ("APCP", "surface")])
    ]

    def encode(line: InventoryLine, lead: int, member: int | None) -> bytes:
        values = synthetic_field(
            line.element, grid, INIT, lead, 0, level=line.level, window=line.window, member=member
        )
        return encode_message(line, INIT, lead, grid, values, member=member)

    reused = [encode(*item) for item in work]
    fresh = []
    for item in work:
        clear_handle_cache()
        fresh.append(encode(*item))
    assert reused == fresh
