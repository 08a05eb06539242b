"""The GRIB2 header parser reads what ecCodes reads, from the first HEADER_PROBE_BYTES bytes.

Every expected value comes from ecCodes reading the same message: every message of every real
producer fixture, and messages encoded here with ecCodes to reach what the fixtures do not
(negative coordinates in GRIB's sign-and-magnitude form, local-use sections, Lambert conformal
with a producer-given earth radius, Mercator, polar stereographic, Gaussian, rotated,
unstructured grids and a non-default basic angle).
"""

from __future__ import annotations

import bz2
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import eccodes
import numpy as np
import pytest

from vidx_offline.reference_decode import eccodes_message_ranges
from vidx_pipeline.grib_header import (
    HEADER_PROBE_BYTES,
    GribHeader,
    GribHeaderError,
    parse_grib_header,
)

GRIB = Path(__file__).parent / "fixtures" / "real" / "grib"
FIXTURES = sorted(p.name for p in GRIB.iterdir() if ".grib2" in p.name and p.suffix != ".idx")
SOURCE = "s3://producer-bucket/model/run/file.grib2"
ECCODES_MISSING_DOUBLE = -1e100
DEGREES = 1e-9  # parsed angles must equal ecCodes' to far better than the 1e-6 degree unit


# --------------------------------------------------------------------------------------------
# ecCodes helpers


@contextmanager
def eccodes_message(message: bytes) -> Iterator[Any]:
    """An ecCodes handle on ``message``, released afterwards."""
    gid = eccodes.codes_new_from_message(message)
    try:
        yield gid
    finally:
        eccodes.codes_release(gid)


def file_bytes(name: str) -> bytes:
    """A fixture's bytes, bz2-decompressed where the producer compressed the whole object."""
    data = (GRIB / name).read_bytes()
    return bz2.decompress(data) if name.endswith(".bz2") else data


def eccodes_messages(data: bytes, tmp_path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every message in ``data``, as ecCodes' file scan finds them."""
    path = tmp_path / "scan.grib2"
    path.write_bytes(data)
    return eccodes_message_ranges(path)


def get(gid: Any, key: str) -> Any:
    """ecCodes' value of ``key``: None where the message does not define it or it is missing."""
    if not eccodes.codes_is_defined(gid, key) or eccodes.codes_is_missing(gid, key):
        return None
    value = eccodes.codes_get(gid, key, ktype=float if key.endswith("InDegrees") else None)
    return None if value == ECCODES_MISSING_DOUBLE else value


def eccodes_radius_for_shape(shape: int) -> float | None:
    """The spherical radius ecCodes gives shape-of-the-earth code ``shape`` on a template 3.0
    message (None for oblate or unknown shapes). Template 3.101 carries the shape alone and
    ecCodes derives no radius there, so this is what the parser must give for it."""
    gid = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        eccodes.codes_set(gid, "shapeOfTheEarth", shape)
        radius = get(gid, "radius")
    finally:
        eccodes.codes_release(gid)
    return None if radius is None else float(radius)


def encode(sample: str, keys: dict[str, int | float], values: int | None = None) -> bytes:
    """A message from an ecCodes sample with ``keys`` set in order, and ``values`` points of
    data where the grid's size changed."""
    gid = eccodes.codes_grib_new_from_samples(sample)
    try:
        for key, value in keys.items():
            eccodes.codes_set(gid, key, value)
        if values is not None:
            eccodes.codes_set_values(gid, np.arange(values, dtype=float))
        return bytes(eccodes.codes_get_message(gid))
    finally:
        eccodes.codes_release(gid)


# --------------------------------------------------------------------------------------------
# The comparison


def approx_or_none(expected: float | None) -> object:
    return None if expected is None else pytest.approx(expected, rel=0, abs=DEGREES)


def longitude(expected: float | None) -> float | None:
    """The parser gives longitudes in [0, 360); ecCodes gives them as coded (e.g. -20.25)."""
    return None if expected is None else expected % 360


def assert_same_as_eccodes(header: GribHeader, message: bytes, what: str) -> None:
    """Every field of ``header`` equals what ecCodes reads from ``message``."""
    with eccodes_message(message) as gid:
        template = get(gid, "gridDefinitionTemplateNumber")
        year, month, day, hour, minute, second = (
            int(get(gid, key)) for key in ("year", "month", "day", "hour", "minute", "second")
        )
        reference_time = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
        data_date, data_time = get(gid, "dataDate"), get(gid, "dataTime")
        assert reference_time.strftime("%Y%m%d") == str(data_date), what
        assert reference_time.hour * 100 + reference_time.minute == data_time, what
        lambert = template == 30
        unstructured = template == 101
        shape = get(gid, "shapeOfTheEarth")
        radius = get(gid, "radius")
        if radius is None and template == 101 and shape is not None:
            radius = eccodes_radius_for_shape(shape)
        expected = {
            "edition": get(gid, "edition"),
            "discipline": get(gid, "discipline"),
            "total_length": get(gid, "totalLength"),
            "centre": eccodes.codes_get_long(gid, "centre"),
            "subcentre": get(gid, "subCentre"),
            "reference_time": reference_time,
            "grid_offset": get(gid, "offsetSection3"),
            "grid.template": template,
            "grid.ni": get(gid, "Ni"),
            "grid.nj": get(gid, "Nj"),
            "grid.number_of_points": get(gid, "numberOfDataPoints"),
            "grid.first_latitude": approx_or_none(get(gid, "latitudeOfFirstGridPointInDegrees")),
            "grid.first_longitude": approx_or_none(
                longitude(get(gid, "longitudeOfFirstGridPointInDegrees"))
            ),
            "grid.last_latitude": approx_or_none(get(gid, "latitudeOfLastGridPointInDegrees")),
            "grid.last_longitude": approx_or_none(
                longitude(get(gid, "longitudeOfLastGridPointInDegrees"))
            ),
            "grid.scanning_mode": get(gid, "scanningMode"),
            # The projection parameters are filled for Lambert conformal grids only.
            "grid.lov": approx_or_none(longitude(get(gid, "LoVInDegrees")) if lambert else None),
            "grid.latin1": approx_or_none(get(gid, "Latin1InDegrees") if lambert else None),
            "grid.latin2": approx_or_none(get(gid, "Latin2InDegrees") if lambert else None),
            "grid.lad": approx_or_none(get(gid, "LaDInDegrees") if lambert else None),
            "grid.dx_metres": approx_or_none(get(gid, "DxInMetres") if lambert else None),
            "grid.dy_metres": approx_or_none(get(gid, "DyInMetres") if lambert else None),
            "grid.earth_shape": shape,
            "grid.earth_radius_metres": approx_or_none(radius),
            # The grid's number and UUID are filled for unstructured grids only.
            "grid.grid_number": get(gid, "numberOfGridUsed") if unstructured else None,
            "grid.grid_uuid": get(gid, "uuidOfHGrid") if unstructured else None,
        }
        if lambert:  # ecCodes names them Nx/Ny there; the parser must agree with both spellings
            assert (header.grid.ni, header.grid.nj) == (get(gid, "Nx"), get(gid, "Ny")), what
    actual = {
        "edition": header.edition,
        "discipline": header.discipline,
        "total_length": header.total_length,
        "centre": header.centre,
        "subcentre": header.subcentre,
        "reference_time": header.reference_time,
        "grid_offset": header.grid_offset,
        **{f"grid.{name}": value for name, value in vars(header.grid).items()},
    }
    assert actual.keys() == expected.keys(), what
    mismatched = {
        name: (actual[name], expected[name]) for name in expected if actual[name] != expected[name]
    }
    assert not mismatched, f"{what}: (parsed, ecCodes) differ: {mismatched}"
    assert header.reference_time.tzinfo is dt.UTC, what


def parse_probe(message: bytes, what: str) -> GribHeader:
    """Parse the first HEADER_PROBE_BYTES bytes of ``message``, as the pipeline does."""
    return parse_grib_header(message[:HEADER_PROBE_BYTES], source=what)


# --------------------------------------------------------------------------------------------
# Real producer files


def test_fixtures_are_present() -> None:
    assert len(FIXTURES) >= 5, FIXTURES
    assert any(name.endswith(".bz2") for name in FIXTURES)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_real_message_matches_eccodes(name: str, tmp_path: Path) -> None:
    data = file_bytes(name)
    messages = eccodes_messages(data, tmp_path)
    assert messages, name
    for index, (offset, length) in enumerate(messages):
        message = data[offset : offset + length]
        what = f"{name} message {index} at byte {offset}"
        header = parse_probe(message, what)
        assert_same_as_eccodes(header, message, what)
        # The header of a message in the middle of an object parses from the object's bytes
        # at that offset, with whatever follows the message.
        assert parse_grib_header(data[offset : offset + HEADER_PROBE_BYTES], source=what) == header


@pytest.mark.parametrize(
    ("name", "has_section2"),
    [
        ("ecmwf-ifs-oper-surface.grib2", True),
        ("gfs.0p25.2023121906.f001.grib2", False),
        ("hrrr.t06z.wrfsfcf01-TMP.grib2", False),
        ("icon-eu_europe_regular-lat-lon_single-level_2020062300_000_T_2M.grib2.bz2", True),
    ],
)
def test_real_fixtures_cover_local_sections(name: str, has_section2: bool) -> None:
    """The real files exercise both paths: ECMWF's and DWD's carry a section 2, NCEP's not."""
    data = file_bytes(name)
    with eccodes_message(data) as gid:
        assert eccodes.codes_is_defined(gid, "section2Length") == has_section2
        if has_section2:
            assert eccodes.codes_get_long(gid, "section2Length") > 5


# --------------------------------------------------------------------------------------------
# Messages encoded with ecCodes


def negative_latlon() -> bytes:
    """Coordinates west and south written as negative values (the raw keys are coded as is)."""
    return encode(
        "GRIB2",
        {
            "Ni": 5,
            "Nj": 4,
            "latitudeOfFirstGridPoint": -30_500_000,
            "longitudeOfFirstGridPoint": -20_250_001,
            "latitudeOfLastGridPoint": -33_500_000,
            "longitudeOfLastGridPoint": -16_250_001,
            "iDirectionIncrement": 1_000_000,
            "jDirectionIncrement": 1_000_000,
        },
        values=20,
    )


def lambert() -> bytes:
    """Lambert conformal, southern hemisphere, on a sphere whose radius the producer gives."""
    return encode(
        "GRIB2",
        {
            "gridDefinitionTemplateNumber": 30,
            "Nx": 7,
            "Ny": 6,
            "latitudeOfFirstGridPointInDegrees": -12.25,
            "longitudeOfFirstGridPointInDegrees": 237.280472,
            "LaDInDegrees": -25.0,
            "LoVInDegrees": 262.5,
            "Latin1InDegrees": -25.0,
            "Latin2InDegrees": -35.5,
            "DxInMetres": 3000.5,
            "DyInMetres": 2500,
            "shapeOfTheEarth": 1,
            "scaleFactorOfRadiusOfSphericalEarth": 2,
            "scaledValueOfRadiusOfSphericalEarth": 637_122_901,
            "scanningMode": 64,
        },
        values=42,
    )


def basic_angle(basic: int, subdivisions: int) -> bytes:
    """Coordinates in units of basic / subdivisions degrees rather than 10^-6 degree."""
    return encode(
        "GRIB2",
        {
            "Ni": 5,
            "Nj": 4,
            "basicAngleOfTheInitialProductionDomain": basic,
            "subdivisionsOfBasicAngle": subdivisions,
            "latitudeOfFirstGridPoint": -3601,
            "longitudeOfFirstGridPoint": -121,
            "latitudeOfLastGridPoint": -3961,
            "longitudeOfLastGridPoint": 359,
            "iDirectionIncrement": 120,
            "jDirectionIncrement": 120,
        },
        values=20,
    )


ENCODED: dict[str, Callable[[], bytes]] = {
    "negative-latlon": negative_latlon,
    "lambert": lambert,
    "local-section-ecmwf": lambda: encode(
        "GRIB2", {"setLocalDefinition": 1, "localDefinitionNumber": 1}
    ),
    "local-section-ncep": lambda: encode("GRIB2", {"centre": 7, "setLocalDefinition": 1}),
    "polar-stereographic": lambda: encode("polar_stereographic_sfc_grib2", {}),
    "regular-gaussian": lambda: encode("regular_gg_sfc_grib2", {}),
    "reduced-gaussian": lambda: encode("reduced_gg_sfc_grib2", {}),
    "rotated-latlon": lambda: encode(
        "GRIB2", {"gridDefinitionTemplateNumber": 1, "latitudeOfSouthernPoleInDegrees": -40.0}
    ),
    "mercator": lambda: encode(
        "GRIB2",
        {
            "gridDefinitionTemplateNumber": 10,
            "Ni": 4,
            "Nj": 3,
            "latitudeOfFirstGridPoint": -10_000_000,
            "longitudeOfFirstGridPoint": -5_000_000,
            "latitudeOfLastGridPoint": 20_500_000,
            "longitudeOfLastGridPoint": 15_000_000,
            "LaD": 20_000_000,
            "scanningMode": 64,
        },
        values=12,
    ),
    "unstructured": lambda: encode(
        "GRIB2",
        {"gridDefinitionTemplateNumber": 101, "shapeOfTheEarth": 6, "numberOfGridUsed": 26},
        values=12,
    ),
    # Template 3.101 has no radius octets after the shape: the grid number and UUID follow.
    "unstructured-shape-1": lambda: encode(
        "GRIB2",
        {"gridDefinitionTemplateNumber": 101, "shapeOfTheEarth": 1, "numberOfGridUsed": 26},
        values=12,
    ),
    # Coordinates in other units than 10^-6 degree: basic angle / subdivisions degrees.
    **{
        f"basic-angle-{basic}-over-{subdivisions}": partial(basic_angle, basic, subdivisions)
        for basic, subdivisions in ((1, 120), (360, 43_200), (0, 1000), (360, 0))
    },
    **{
        f"earth-shape-{shape}": partial(encode, "GRIB2", {"shapeOfTheEarth": shape})
        for shape in (0, 1, 2, 5, 6, 7, 8)
    },
    "discipline-10-subcentre-time": lambda: encode(
        "GRIB2",
        {
            "discipline": 10,
            "centre": 7,
            "subCentre": 258,
            "year": 2031,
            "month": 12,
            "day": 31,
            "hour": 23,
            "minute": 59,
            "second": 58,
        },
    ),
}


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_encoded_message_matches_eccodes(name: str) -> None:
    message = ENCODED[name]()
    assert_same_as_eccodes(parse_probe(message, name), message, name)


def test_negative_coordinates_use_the_sign_bit() -> None:
    """The message really codes south/west as sign-and-magnitude: the sign bit set over the
    magnitude, which two's complement would read as a huge negative number."""
    message = negative_latlon()
    with eccodes_message(message) as gid:
        section3 = get(gid, "offsetSection3")
        first_lat = get(gid, "latitudeOfFirstGridPointInDegrees")
        first_lon = get(gid, "longitudeOfFirstGridPointInDegrees")
    lat_octets = message[section3 + 46 : section3 + 50]
    lon_octets = message[section3 + 50 : section3 + 54]
    assert lat_octets == (0x8000_0000 | 30_500_000).to_bytes(4, "big")
    assert lon_octets == (0x8000_0000 | 20_250_001).to_bytes(4, "big")
    assert first_lat < 0
    assert first_lon < 0
    grid = parse_probe(message, "negative").grid
    assert grid.first_latitude == pytest.approx(first_lat, abs=DEGREES)
    assert grid.first_longitude == pytest.approx(first_lon + 360, abs=DEGREES)


@pytest.mark.parametrize("name", ["local-section-ecmwf", "local-section-ncep"])
def test_encoded_local_sections_are_present(name: str) -> None:
    with eccodes_message(ENCODED[name]()) as gid:
        assert get(gid, "section2Length") > 5


def splice_local_section(message: bytes, payload: int) -> bytes:
    """``message`` with a section 2 of ``payload`` zero octets inserted after section 1, and the
    total length in section 0 updated."""
    end_of_section1 = 16 + int.from_bytes(message[16:20], "big")
    section2 = (payload + 5).to_bytes(4, "big") + b"\x02" + bytes(payload)
    total = (len(message) + len(section2)).to_bytes(8, "big")
    return message[:8] + total + message[16:end_of_section1] + section2 + message[end_of_section1:]


def test_large_local_section_asks_for_more_bytes() -> None:
    """A local section longer than the probe: the error says how many bytes to re-request, and
    parsing that many matches ecCodes."""
    message = splice_local_section(encode("GRIB2", {}), payload=6000)
    with eccodes_message(message) as gid:
        assert get(gid, "section2Length") == 6005
        end_of_section3 = get(gid, "offsetSection3") + get(gid, "section3Length")
    with pytest.raises(GribHeaderError) as raised:
        parse_probe(message, SOURCE)
    assert raised.value.bytes_needed is not None
    assert SOURCE in str(raised.value)
    assert "too short" in str(raised.value)
    assert str(raised.value.bytes_needed) in str(raised.value)
    # One re-request for what the error asked may still stop short of section 3's end, but the
    # second one must be enough: section 3's length is then known.
    probe = message[: raised.value.bytes_needed]
    with pytest.raises(GribHeaderError) as again:
        parse_grib_header(probe, source=SOURCE)
    assert again.value.bytes_needed == end_of_section3
    header = parse_grib_header(message[:end_of_section3], source=SOURCE)
    assert_same_as_eccodes(header, message, "spliced section 2")


# --------------------------------------------------------------------------------------------
# Errors


def test_not_grib() -> None:
    with pytest.raises(GribHeaderError, match="not a GRIB message") as raised:
        parse_grib_header(b"<?xml version='1.0'?><Error>NoSuchKey</Error>", source=SOURCE)
    assert SOURCE in str(raised.value)
    assert raised.value.source == SOURCE
    assert isinstance(raised.value, ValueError)


def test_grib_edition_1_is_refused() -> None:
    message = encode("GRIB1", {})
    with eccodes_message(message) as gid:
        assert get(gid, "edition") == 1
    for probe in (message[:HEADER_PROBE_BYTES], message[:8]):
        with pytest.raises(GribHeaderError, match="edition 1 is not supported") as raised:
            parse_grib_header(probe, source=SOURCE)
        assert SOURCE in str(raised.value)


@pytest.mark.parametrize("name", ["gfs.0p25.2023121906.f001.grib2", "ecmwf-ifs-oper-surface.grib2"])
@pytest.mark.parametrize("cut", [0, 1, 8, 15, 16, 20, 36, -1])
def test_truncated_header(name: str, cut: int) -> None:
    """Bytes ending anywhere before the end of section 3: an error naming the source, the
    problem, and (once section 3's length is read) exactly the bytes sections 0-3 need."""
    data = file_bytes(name)
    with eccodes_message(data) as gid:
        end_of_section3 = get(gid, "offsetSection3") + get(gid, "section3Length")
    size = end_of_section3 - 1 if cut < 0 else cut
    with pytest.raises(GribHeaderError, match="too short") as raised:
        parse_grib_header(data[:size], source=SOURCE)
    assert SOURCE in str(raised.value)
    assert raised.value.bytes_needed is not None
    assert raised.value.bytes_needed > size
    assert f"got {size}" in str(raised.value)
    if cut < 0:
        assert raised.value.bytes_needed == end_of_section3
    header = parse_grib_header(data[:end_of_section3], source=SOURCE)
    assert_same_as_eccodes(header, data[: get_total_length(data)], name)


def get_total_length(data: bytes) -> int:
    with eccodes_message(data) as gid:
        return int(get(gid, "totalLength"))


def corrupt(message: bytes, offset: int, value: bytes) -> bytes:
    return message[:offset] + value + message[offset + len(value) :]


def test_nonsensical_section_lengths() -> None:
    message = encode("GRIB2", {"setLocalDefinition": 1, "localDefinitionNumber": 1})
    with eccodes_message(message) as gid:
        section1 = get(gid, "offsetSection1")
        section2 = get(gid, "offsetSection2")
        section3 = get(gid, "offsetSection3")
        total = get(gid, "totalLength")
    one, two, three = (n.to_bytes(4, "big") for n in (10, total, 40))
    cases = {
        "section 1 shorter than its fixed part": (
            corrupt(message, section1, one),
            "section 1 has a nonsensical length 10",
        ),
        "section 2 past the message end": (
            corrupt(message, section2, two),
            f"section 2 at byte {section2} has a nonsensical length {total}",
        ),
        "section 3 of zero length": (
            corrupt(message, section3, bytes(4)),
            f"section 3 at byte {section3} has a nonsensical length 0",
        ),
        "section 3 too short for template 3.0": (
            corrupt(message, section3, three),
            "section 3 length 40 is too small for grid definition template 3.0",
        ),
        "total length too small": (
            corrupt(message, 8, (20).to_bytes(8, "big")),
            "nonsensical total message length 20",
        ),
    }
    for what, (bad, problem) in cases.items():
        with pytest.raises(GribHeaderError) as raised:
            parse_probe(bad, SOURCE)
        assert SOURCE in str(raised.value), what
        assert problem in str(raised.value), (what, str(raised.value))
        assert raised.value.bytes_needed is None, what


def test_section_3_not_where_expected() -> None:
    message = encode("GRIB2", {})
    with eccodes_message(message) as gid:
        section3 = get(gid, "offsetSection3")
    bad = corrupt(message, section3 + 4, b"\x04")
    with pytest.raises(GribHeaderError, match="section 3 not found") as raised:
        parse_probe(bad, SOURCE)
    assert SOURCE in str(raised.value)


def test_invalid_reference_time() -> None:
    message = encode("GRIB2", {})
    with eccodes_message(message) as gid:
        month_octet = get(gid, "offsetSection1") + 14
    with pytest.raises(GribHeaderError, match="reference time") as raised:
        parse_probe(corrupt(message, month_octet, b"\x0d"), SOURCE)
    assert SOURCE in str(raised.value)
