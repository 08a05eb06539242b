"""The HRRR archive in NOAA's layout: keys, runs, config, decoded messages on the Lambert grid,
HRRR's parameter codes, the real grid, and write order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import eccodes
import gribberish
import numpy as np
import obstore
import pydantic
import pytest
from obstore.store import MemoryStore

from vidx_offline import hrrr_archive
from vidx_offline.archive_files import MessageInfo
from vidx_offline.grib_encode import (
    element_info,
    level_surfaces,
    synthetic_message_values,
    window_timing,
)
from vidx_offline.hrrr_archive import (
    HRRR_BUCKET,
    HrrrArchiveConfig,
    HrrrArchiveError,
    HrrrFile,
    WrittenHrrrFile,
    check_run,
    hrrr_data_key,
    hrrr_index_key,
    render_hrrr_file,
    write_hrrr_archive,
)
from vidx_offline.hrrr_encoding import HRRR_PARAMETERS, hrrr_grid
from vidx_offline.hrrr_inventory import hrrr_inventory
from vidx_offline.inventory import INVENTORY_DIR, parse_inventory_line
from vidx_offline.reference_decode import eccodes_decode, eccodes_message_ranges
from vidx_offline_tests.test_gfs_archive import _recording_put

INIT = datetime(2025, 8, 1, 0, tzinfo=UTC)
GRID = (3, 4)
FIELDS = (("TMP", "2 m above ground"), ("APCP", "surface"), ("MXUPHL", "5000-2000 m above ground"))
REAL_HRRR = (
    Path(__file__).parents[1]
    / "vidx_pipeline_tests"
    / "fixtures"
    / "real"
    / "grib"
    / "hrrr.t06z.wrfsfcf01-TMP.grib2"
)
RADARVIL = "var discipline=0 center=7 local_table=1 parmcat=16 parm=201"


def test_noaa_keys() -> None:
    assert HRRR_BUCKET == "noaa-hrrr-bdp-pds"
    init = datetime(2025, 8, 1, 6)
    assert hrrr_data_key(init, 1) == "hrrr.20250801/conus/hrrr.t06z.wrfsfcf01.grib2"
    assert hrrr_index_key(init, 48) == "hrrr.20250801/conus/hrrr.t06z.wrfsfcf48.grib2.idx"
    assert hrrr_data_key(datetime(2025, 8, 1, 23), 18).endswith("hrrr.t23z.wrfsfcf18.grib2")
    east = timezone(timedelta(hours=6))
    aware = datetime(2025, 8, 1, 0, tzinfo=east)
    assert hrrr_data_key(aware, 0) == "hrrr.20250731/conus/hrrr.t18z.wrfsfcf00.grib2"


@pytest.mark.parametrize(
    ("init", "lead", "match"),
    [
        (datetime(2025, 8, 1, 3), 19, "stops at 18 h"),
        (datetime(2025, 8, 1, 6), 49, r"0\.\.48"),
        (datetime(2025, 8, 1, 6), -1, r"0\.\.48"),
        (datetime(2025, 8, 1, 6), True, r"0\.\.48"),
        (datetime(2025, 8, 1, 6, 30), 1, "whole hour"),
    ],
)
def test_runs_noaa_does_not_publish_raise(init: datetime, lead: Any, match: str) -> None:
    with pytest.raises(HrrrArchiveError, match=match):
        check_run(init, lead)
    with pytest.raises(HrrrArchiveError, match=match):
        hrrr_data_key(init, lead)


def test_every_hour_runs_to_18_h_and_the_synoptic_runs_to_48_h() -> None:
    for hour in range(24):
        check_run(datetime(2025, 8, 1, hour), 18)
    for hour in (0, 6, 12, 18):
        check_run(datetime(2025, 8, 1, hour), 48)


def test_config_defaults_and_validation() -> None:
    config = HrrrArchiveConfig(init_times=(datetime(2025, 8, 1, 6),), lead_hours=(0, 1, 48))
    assert config.init_times == (datetime(2025, 8, 1, 6, tzinfo=UTC),)
    assert config.grid == (1059, 1799)
    assert config.grid_definition() == hrrr_grid()
    assert (config.fields, config.seed, config.packing) == (
        None,
        0,
        "grid_complex_spatial_differencing",
    )
    assert (len(config.inventory(0)), len(config.inventory(1))) == (170, 173)
    assert config.generating_process == 83
    assert (config.parameter("CRAIN"), config.parameter("TMP")) == ((0, 1, 33), None)
    with pytest.raises(pydantic.ValidationError):
        config.seed = 1  # type: ignore[misc]
    bad: list[dict[str, Any]] = [
        {"init_times": ()},
        {"init_times": (datetime(2025, 8, 1, 6, 30),)},
        {"init_times": (INIT, INIT.replace(tzinfo=None))},
        {"init_times": (INIT, datetime(2025, 8, 1, 1))},  # 01z stops at 18 h
        {"lead_hours": ()},
        {"lead_hours": (1, 1)},
        {"lead_hours": (-1,)},
        {"lead_hours": (49,)},
        {"grid": (1, 4)},
        {"fields": ()},
        {"fields": (("TMP", "2 m above sea"),)},
        {"fields": FIELDS + FIELDS[:1]},
        {"packing": "grid_ccsds"},
        {"unknown": 1},
    ]
    for change in bad:
        arguments = {"init_times": (INIT,), "lead_hours": (0, 24), "grid": GRID} | change
        with pytest.raises(pydantic.ValidationError):
            HrrrArchiveConfig(**arguments)
    short = HrrrArchiveConfig(init_times=(datetime(2025, 8, 1, 1),), lead_hours=(18,), grid=GRID)
    assert short.lead_hours == (18,)


def _check_layout(file: HrrrFile) -> None:
    """Six-field index lines numbered from 1 with the messages' offsets; messages tile the
    object."""
    lines = file.index_text.splitlines()
    assert file.index_text.endswith("\n")
    assert len(lines) == len(file.messages)
    for number, (text, message) in enumerate(zip(lines, file.messages, strict=True), start=1):
        assert parse_inventory_line(text, expected_number=number) == message.line
        assert text.endswith(":")
        assert text.split(":")[1] == str(message.offset)
        assert file.data[message.offset : message.offset + 4] == b"GRIB"
    assert sum(m.length for m in file.messages) == len(file.data)


@pytest.mark.parametrize(
    ("lead", "name"), [(0, "hrrr.t00z.wrfsfcf00.grib2.idx"), (24, "hrrr.t00z.wrfsfcf24.grib2.idx")]
)
def test_the_template_leads_render_the_real_inventories(lead: int, name: str) -> None:
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=(lead,), grid=GRID)
    file = render_hrrr_file(config, INIT, lead)
    _check_layout(file)
    real = (INVENTORY_DIR / name).read_text(encoding="ascii").splitlines()
    rendered = file.index_text.splitlines()
    assert len(rendered) == len(real)
    for ours, theirs in zip(rendered, real, strict=True):
        # number, date, element, level and window equal; only the offsets differ
        assert ours.split(":")[0] == theirs.split(":")[0]
        assert ours.split(":")[2:] == theirs.split(":")[2:]


def test_lead_1_and_lead_48_windows_in_the_written_files() -> None:
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=(1, 48), grid=GRID, fields=FIELDS)
    first = render_hrrr_file(config, INIT, 1)
    assert [(m.line.element, m.line.window) for m in first.messages] == [
        ("MXUPHL", "0-1 hour max fcst"),
        ("TMP", "1 hour fcst"),
        ("APCP", "0-1 hour acc fcst"),  # running total since init
        ("APCP", "0-1 hour acc fcst"),  # the one-hour bucket
    ]
    running, bucket = (first.data[m.offset : m.offset + m.length] for m in first.messages[2:])
    assert running == bucket  # same line, same values: NCEP's two messages hold the same field
    last = render_hrrr_file(config, INIT, 48)
    assert [(m.line.element, m.line.window) for m in last.messages] == [
        ("MXUPHL", "47-48 hour max fcst"),
        ("TMP", "48 hour fcst"),
        ("APCP", "0-2 day acc fcst"),
        ("APCP", "47-48 hour acc fcst"),
    ]


def _eccodes_keys(message: bytes) -> dict[str, Any]:
    handle = eccodes.codes_new_from_message(message)
    try:
        keys: dict[str, Any] = {
            name: eccodes.codes_get_long(handle, name)
            for name in (
                "discipline",
                "parameterCategory",
                "parameterNumber",
                "typeOfFirstFixedSurface",
                "typeOfSecondFixedSurface",
                "productDefinitionTemplateNumber",
                "generatingProcessIdentifier",
                "centre",
                "dataDate",
                "dataTime",
                "endStep",
                "Nx",
                "Ny",
                "latitudeOfFirstGridPoint",
                "longitudeOfFirstGridPoint",
                "LoV",
                "LaD",
                "Latin1",
                "Latin2",
                "Dx",
                "Dy",
                "shapeOfTheEarth",
                "scanningMode",
            )
        }
        for name in ("gridType", "stepRange", "shortName"):
            keys[name] = eccodes.codes_get_string(handle, name)
        if keys["productDefinitionTemplateNumber"] == 8:
            for name in ("typeOfStatisticalProcessing", "lengthOfTimeRange", "forecastTime"):
                keys[name] = eccodes.codes_get_long(handle, name)
    finally:
        eccodes.codes_release(handle)
    return keys


HRRR_GRID_KEYS = {
    "gridType": "lambert",
    "Ny": GRID[0],
    "Nx": GRID[1],
    "latitudeOfFirstGridPoint": 21_138_123,
    "longitudeOfFirstGridPoint": 237_280_472,
    "LoV": 262_500_000,
    "LaD": 38_500_000,
    "Latin1": 38_500_000,
    "Latin2": 38_500_000,
    "Dx": 3_000_000,
    "Dy": 3_000_000,
    "shapeOfTheEarth": 6,
    "scanningMode": 64,
    "centre": 7,
    "generatingProcessIdentifier": 83,
}


def test_written_archive_decodes_with_eccodes_and_gribberish(tmp_path: Path) -> None:
    """Every message of whole f00, f01, f24 and f48 files on a tiny grid."""
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=(0, 1, 24, 48), grid=GRID)
    store = MemoryStore()
    written = write_hrrr_archive(store, config)
    assert [record.lead_hours for record in written] == [0, 1, 24, 48]
    gribberish_missing: set[str] = set()
    for record in written:
        data = obstore.get(store, record.data_key).bytes().to_bytes()
        text = obstore.get(store, record.index_key).bytes().to_bytes().decode("ascii")
        path = tmp_path / record.data_key.replace("/", "_")
        path.write_bytes(data)
        layout = [(m.offset, m.length) for m in record.messages]
        assert eccodes_message_ranges(path) == layout
        assert [int(line.split(":")[1]) for line in text.splitlines()] == [o for o, _ in layout]
        assert layout[-1][0] + layout[-1][1] == len(data) == record.data_size
        entries = gribberish.parse_grib_index(text, len(data))
        assert [(e.offset, e.length) for e in entries] == layout
        for entry, message in zip(entries, record.messages, strict=True):
            assert (entry.var, entry.level, entry.forecast_time) == (
                message.line.element,
                message.line.level,
                message.line.window,
            )
        for message in record.messages:
            if _check_message(data, message, record.lead_hours):
                gribberish_missing.add(message.line.element)
    # Only HRRR's RADARVIL, which wgrib2's table lacks as well, is unknown to gribberish.
    assert gribberish_missing == {RADARVIL}


def _check_message(data: bytes, message: MessageInfo, lead: int) -> bool:
    """Check one message with ecCodes and gribberish; True if gribberish names it missing."""
    grib = data[message.offset : message.offset + message.length]
    line = message.line
    keys = _eccodes_keys(grib)
    assert {name: keys[name] for name in HRRR_GRID_KEYS} == HRRR_GRID_KEYS
    info = element_info(line.element)
    expected = HRRR_PARAMETERS.get(line.element, (info.discipline, info.category, info.number))
    assert (keys["discipline"], keys["parameterCategory"], keys["parameterNumber"]) == expected
    surfaces = level_surfaces(line.level)
    assert (keys["typeOfFirstFixedSurface"], keys["typeOfSecondFixedSurface"]) == (
        surfaces.first_type,
        surfaces.second_type,
    )
    assert (keys["dataDate"], keys["dataTime"], keys["endStep"]) == (20250801, 0, lead)
    timing = window_timing(line.window)
    if timing.statistic is None:
        assert keys["productDefinitionTemplateNumber"] == 0
        assert keys["stepRange"] == str(lead)
    else:
        assert keys["productDefinitionTemplateNumber"] == 8
        assert keys["typeOfStatisticalProcessing"] == timing.statistic
        assert (keys["forecastTime"], keys["lengthOfTimeRange"]) == (
            timing.start_hours,
            timing.length_hours,
        )
        # ecCodes writes a zero-length window (HRRR's f00 statistics) as its one step
        assert keys["stepRange"] == (
            f"{timing.start_hours}-{lead}" if timing.length_hours else str(lead)
        )
    values = eccodes_decode(grib)
    expected_values = synthetic_message_values(line, hrrr_grid(GRID), INIT, lead, 0)
    tolerance = 0.5 * 10.0**-info.decimal_scale * (1 + 1e-6)
    np.testing.assert_allclose(values, expected_values, rtol=0, atol=tolerance, equal_nan=True)
    metadata = gribberish.parse_grib_message_metadata(data, message.offset)
    assert metadata.grid_shape == GRID
    from_gribberish = gribberish.parse_grib_array(data, message.offset).reshape(GRID)
    np.testing.assert_allclose(from_gribberish, values, rtol=1e-12, atol=0, equal_nan=True)
    return bool(metadata.var_abbrev == "missing")


# HRRR's codes for the elements only HRRR writes and for the names it encodes otherwise than
# GFS (HRRR_PARAMETERS), with the names decoders give them. gribberish's abbreviation is wgrib2's
# inventory name (case aside) except where noted; ecCodes 2.50 names fewer of them.
# element: ((discipline, category, number), gribberish var_abbrev, ecCodes shortName)
HRRR_CODES: dict[str, tuple[tuple[int, int, int], str, str]] = {
    "RETOP": ((0, 16, 3), "RETOP", "unknown"),
    RADARVIL: ((0, 16, 201), "missing", "unknown"),
    "VIL": ((0, 15, 3), "VERIL", "veril"),  # gribberish's own abbreviation
    "MAXUVV": ((0, 2, 220), "MAXUVV", "unknown"),
    "MAXDVV": ((0, 2, 221), "MAXDVV", "unknown"),
    "MSLMA": ((0, 3, 198), "MSLMA", "mslma"),
    "MAXREF": ((0, 16, 198), "MAXREF", "unknown"),
    "MXUPHL": ((0, 7, 199), "MXUPHL", "unknown"),
    "MNUPHL": ((0, 7, 200), "MNUPHL", "unknown"),
    "RELV": ((0, 2, 12), "RELV", "max_vo"),  # ecCodes names the hourly maximum
    "HAIL": ((0, 1, 31), "HAIL", "hail"),
    "TCOLG": ((0, 1, 74), "TCOLG", "unknown"),
    "LTNGSD": ((0, 17, 0), "LTNGSD", "unknown"),
    "LTNG": ((0, 17, 192), "LTNG", "ltng"),
    "ASNOW": ((0, 1, 29), "ASNOW", "unknown"),
    "MSTAV": ((2, 0, 194), "MSTAV", "mstav"),
    "MASSDEN": ((0, 20, 0), "MASSDEN", "unknown"),
    "WIND": ((0, 2, 1), "WIND", "max_10si"),  # ecCodes names the hourly maximum
    "MAXUW": ((0, 2, 222), "MAXUW", "unknown"),
    "MAXVW": ((0, 2, 223), "MAXVW", "unknown"),
    "FROZR": ((0, 1, 227), "FROZR", "unknown"),
    "FRZR": ((0, 1, 225), "FRZR", "frzr"),
    "SSRUN": ((1, 0, 6), "SSRUN", "ssrun"),
    "BGRUN": ((1, 0, 5), "BGRUN", "bgrun"),
    "VEGMIN": ((2, 0, 231), "VEGMIN", "unknown"),
    "VEGMAX": ((2, 0, 232), "VEGMAX", "unknown"),
    "LAI": ((0, 7, 198), "LAI", "lai"),
    "VGTYP": ((2, 0, 198), "VGTYP", "vgtyp"),
    "AOTK": ((0, 20, 102), "APTS", "unknown"),  # gribberish's own abbreviation
    "COLMD": ((0, 20, 1), "COLMD", "unknown"),
    "TCOLW": ((0, 1, 69), "TCOLW", "unknown"),
    "TCOLI": ((0, 1, 70), "TCOLI", "unknown"),
    "CFNSF": ((0, 4, 199), "cfnsf", "cfnsf"),
    "VBDSF": ((0, 4, 200), "vbdsf", "vbdsf"),
    "VDDSF": ((0, 4, 201), "vddsf", "vddsf"),
    "VUCSH": ((0, 2, 15), "VUCSH", "vucsh"),
    "VVCSH": ((0, 2, 16), "VVCSH", "vvcsh"),
    "EFHL": ((0, 7, 204), "EFHL", "unknown"),
    "CANGLE": ((0, 7, 206), "CANGLE", "unknown"),
    "LAYTH": ((0, 3, 205), "LAYTH", "layth"),
    "ESP": ((0, 7, 205), "ESP", "unknown"),
    "RHPW": ((0, 1, 242), "RHPW", "unknown"),
    "SBT113": ((3, 192, 7), "SBT113", "SBT113"),
    "SBT114": ((3, 192, 8), "SBT114", "SBT114"),
    "SBT123": ((3, 192, 1), "SBT123", "SBT123"),
    "SBT124": ((3, 192, 2), "SBT124", "SBT124"),
    # HRRR_PARAMETERS: WMO codes where GFS writes NCEP local ones
    "CRAIN": ((0, 1, 33), "CRAIN", "crain"),
    "CFRZR": ((0, 1, 34), "CFRZR", "cfrzr"),
    "CICEP": ((0, 1, 35), "CICEP", "cicep"),
    "CSNOW": ((0, 1, 36), "CSNOW", "csnow"),
    "FRICV": ((0, 2, 30), "FRICV", "fricv"),
    "USTM": ((0, 2, 27), "UTSM", "ustm"),  # gribberish's typo
    "VSTM": ((0, 2, 28), "VSTM", "vstm"),
    "HPBL": ((0, 3, 18), "HPBL", "blh"),
    "LFTX": ((0, 7, 10), "LFTX", "lftx"),
    "CNWAT": ((2, 0, 13), "CNWAT", "cnwat"),
}


def test_hrrr_codes_as_ecCodes_and_gribberish_name_them() -> None:
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=(24,), grid=GRID)
    file = render_hrrr_file(config, INIT, 24)
    found: dict[str, tuple[tuple[int, int, int], str, str]] = {}
    for message in file.messages:
        if message.line.element not in HRRR_CODES or message.line.element in found:
            continue
        grib = file.data[message.offset : message.offset + message.length]
        keys = _eccodes_keys(grib)
        found[message.line.element] = (
            (keys["discipline"], keys["parameterCategory"], keys["parameterNumber"]),
            gribberish.parse_grib_message_metadata(grib, 0).var_abbrev,
            keys["shortName"],
        )
    assert found == HRRR_CODES
    assert set(HRRR_PARAMETERS) <= set(HRRR_CODES)
    names = {line.element for line in hrrr_inventory(24)}
    assert set(HRRR_CODES) <= names


def test_a_full_size_message_is_on_the_real_hrrr_grid() -> None:
    """The real 1799 x 1059 grid: ecCodes' coordinates and section 3 equal a real HRRR
    message's (the same run and lead, so section 1 is equal too)."""
    init = datetime(2023, 7, 22, 6, tzinfo=UTC)
    config = HrrrArchiveConfig(init_times=(init,), lead_hours=(1,), fields=(("TMP", "surface"),))
    ours = render_hrrr_file(config, init, 1).data
    real = REAL_HRRR.read_bytes()
    coordinates = []
    for message in (ours, real):
        handle = eccodes.codes_new_from_message(message)
        try:
            assert eccodes.codes_get_string(handle, "gridType") == "lambert"
            assert (eccodes.codes_get_long(handle, "Ny"), eccodes.codes_get_long(handle, "Nx")) == (
                1059,
                1799,
            )
            coordinates.append(
                tuple(
                    eccodes.codes_get_double_array(handle, k) for k in ("latitudes", "longitudes")
                )
            )
        finally:
            eccodes.codes_release(handle)
    np.testing.assert_array_equal(coordinates[0][0], coordinates[1][0])
    np.testing.assert_array_equal(coordinates[0][1], coordinates[1][1])
    assert _section(ours, 3) == _section(real, 3)
    assert _section(ours, 1) == _section(real, 1)
    latitude, longitude = hrrr_grid().coordinates()
    np.testing.assert_allclose(latitude.ravel(), coordinates[1][0], rtol=0, atol=1e-4)
    np.testing.assert_allclose(np.mod(longitude, 360).ravel(), coordinates[1][1], rtol=0, atol=1e-4)


def _section(message: bytes, number: int) -> bytes:
    offset = 16
    while offset < len(message) - 4:
        length = int.from_bytes(message[offset : offset + 4], "big")
        if message[offset + 4] == number:
            return message[offset : offset + length]
        offset += length
    raise AssertionError(f"no section {number}")


def test_render_refuses_a_run_noaa_does_not_publish() -> None:
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=(24,), grid=GRID, fields=FIELDS)
    with pytest.raises(HrrrArchiveError, match="stops at 18 h"):
        render_hrrr_file(config, datetime(2025, 8, 1, 2, tzinfo=UTC), 24)
    with pytest.raises(HrrrArchiveError, match=r"0\.\.48"):
        render_hrrr_file(config, INIT, 49)


def test_seed_changes_values_not_layout() -> None:
    base = HrrrArchiveConfig(init_times=(INIT,), lead_hours=(7,), grid=GRID, fields=FIELDS)
    first = render_hrrr_file(base, INIT, 7)
    second = render_hrrr_file(base.model_copy(update={"seed": 1}), INIT, 7)
    assert [m.line for m in first.messages] == [m.line for m in second.messages]
    assert first.data != second.data
    assert render_hrrr_file(base, INIT, 7) == first


@pytest.mark.parametrize("stream_threshold", [hrrr_archive.STREAM_THRESHOLD_BYTES, 1000])
def test_write_order_data_before_index(
    monkeypatch: pytest.MonkeyPatch, stream_threshold: int
) -> None:
    monkeypatch.setattr(hrrr_archive, "STREAM_THRESHOLD_BYTES", stream_threshold)
    calls = _recording_put(monkeypatch)
    inits = (INIT, INIT + timedelta(hours=6))
    config = HrrrArchiveConfig(
        init_times=inits, lead_hours=(0, 1, 30), grid=(19, 36), fields=FIELDS
    )
    store = MemoryStore()
    seen: list[WrittenHrrrFile] = []
    written = write_hrrr_archive(store, config, on_file=seen.append)

    order = [(init, lead) for init in inits for lead in (0, 1, 30)]
    assert seen == written
    assert [(w.init, w.lead_hours) for w in written] == order
    expected_calls = []
    for init, lead in order:
        expected_calls += [
            (hrrr_data_key(init, lead), False, stream_threshold == 1000),
            (hrrr_index_key(init, lead), True, False),
        ]
    assert calls == expected_calls
    listed = {meta["path"]: meta["size"] for meta in obstore.list(store).collect()}
    assert sorted(listed)[:2] == [
        "hrrr.20250801/conus/hrrr.t00z.wrfsfcf00.grib2",
        "hrrr.20250801/conus/hrrr.t00z.wrfsfcf00.grib2.idx",
    ]
    assert len(listed) == 2 * len(written)
    for record in written:
        reference = render_hrrr_file(config, record.init, record.lead_hours)
        data = obstore.get(store, record.data_key).bytes().to_bytes()
        index = obstore.get(store, record.index_key).bytes().to_bytes()
        assert data == reference.data
        assert index.decode("ascii") == reference.index_text
        assert record.messages == reference.messages
        assert (record.data_size, record.index_size) == (len(data), len(index))
        assert listed[record.data_key] == record.data_size
