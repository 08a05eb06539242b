"""Parse the header sections (0, 1, optional 2, and 3) of a GRIB edition 2 message.

Before the pipeline writes virtual refs into a producer's object it reads the object's first
``HEADER_PROBE_BYTES`` bytes with one range request and checks them with
:func:`parse_grib_header`: the edition, the originating centre, the reference time and the grid
(template, shape, first/last grid points, projection parameters, shape of the earth).

The octet layouts follow the WMO Manual on Codes (FM 92 GRIB edition 2): section 0 (16 octets),
section 1 (at least 21), section 2 (local use, skipped by its length) and section 3 with grid
definition templates 3.0/3.1 (regular latitude/longitude), 3.10 (Mercator), 3.20 (polar
stereographic), 3.30 (Lambert conformal), 3.40/3.41 (Gaussian) and 3.101 (unstructured).
Integers are big-endian; signed values use GRIB's sign-and-magnitude convention (the most
significant bit is the sign, the remaining bits the magnitude), not two's complement.

Standard library only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "HEADER_PROBE_BYTES",
    "SECTION0_LENGTH",
    "GribHeader",
    "GribHeaderError",
    "GridHeader",
    "message_length",
    "parse_grib_header",
]

HEADER_PROBE_BYTES = 4096
"""How many leading bytes of an object the pipeline fetches to parse its first header."""

SECTION0_LENGTH = 16
"""Section 0 (indicator section): 'GRIB', discipline, edition and the total message length."""
_SECTION1_MIN_LENGTH = 21
_SECTION_HEADER = 5  # 4 octets length + 1 octet section number
_SECTION3_MIN_LENGTH = 14  # up to and including the grid definition template number
_END_MARKER = b"7777"

# Minimum section 3 length (octets, counted from the start of the section) holding every field
# this parser reads, per grid definition template.
_TEMPLATE_MIN_LENGTH = {
    0: 72,  # regular latitude/longitude
    1: 84,  # rotated latitude/longitude
    10: 72,  # Mercator
    20: 65,  # polar stereographic
    30: 81,  # Lambert conformal
    40: 72,  # Gaussian
    41: 84,  # rotated Gaussian
    101: 35,  # general unstructured (e.g. ICON's icosahedral grid)
}
_LATLON_LIKE = frozenset({0, 1, 40, 41})

_MISSING_1 = 0xFF
_MISSING_4 = 0xFFFFFFFF
_MICRO = 1_000_000

# Spherical earths of fixed radius, code table 3.2.
_FIXED_EARTH_RADIUS = {0: 6_367_470.0, 6: 6_371_229.0, 8: 6_371_200.0}


class GribHeaderError(ValueError):
    """The bytes are not the start of a GRIB2 message this parser can read.

    ``source`` is the url (or other name) the caller passed; ``bytes_needed`` is set when the
    data was merely too short: the caller can re-request at least that many bytes.
    """

    def __init__(self, message: str, *, source: str, bytes_needed: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.bytes_needed = bytes_needed


@dataclass(frozen=True)
class GridHeader:
    """The grid described by section 3. Fields a template does not define are ``None``.

    Angles are in degrees; longitudes are normalised to [0, 360).
    """

    template: int
    ni: int | None
    nj: int | None
    number_of_points: int
    first_latitude: float | None
    first_longitude: float | None
    last_latitude: float | None
    last_longitude: float | None
    scanning_mode: int | None
    lov: float | None
    latin1: float | None
    latin2: float | None
    lad: float | None
    dx_metres: float | None
    dy_metres: float | None
    earth_shape: int | None
    earth_radius_metres: float | None
    grid_number: int | None = None  # template 3.101: numberOfGridUsed
    grid_uuid: str | None = None  # template 3.101: uuidOfHGrid, 32 lowercase hex digits


@dataclass(frozen=True)
class GribHeader:
    """Sections 0, 1 and 3 of one GRIB2 message."""

    edition: int
    discipline: int
    total_length: int
    centre: int
    subcentre: int
    reference_time: dt.datetime
    grid: GridHeader
    grid_offset: int  # where section 3 starts (after section 1 and any section 2)
    length: int  # octets of sections 0 to 3: section 4 starts here


# --------------------------------------------------------------------------------------------
# Octet readers. `pos` is a 0-based byte offset into the message; the WMO tables number octets
# from 1, so octet N of a section starting at byte S is at S + N - 1.


def _uint(data: bytes, pos: int, size: int) -> int:
    return int.from_bytes(data[pos : pos + size], "big")


def _sint(data: bytes, pos: int, size: int) -> int:
    """A GRIB2 signed integer: sign bit then magnitude (e.g. 0x80000001 is -1)."""
    raw = _uint(data, pos, size)
    sign_bit = 1 << (8 * size - 1)
    return -(raw & (sign_bit - 1)) if raw & sign_bit else raw


def _need(data: bytes, end: int, what: str, source: str, *, exact: bool = True) -> None:
    if len(data) < end:
        amount = f"{end}" if exact else f"at least {end}"
        raise GribHeaderError(
            f"data too short: {what} needs {amount} bytes from the start of the message, "
            f"got {len(data)}; re-request at least {end} bytes",
            source=source,
            bytes_needed=end,
        )


# --------------------------------------------------------------------------------------------
# Section 3


class _Angles:
    """Converts template angles to degrees with the unit basic angle / subdivisions.

    Per the notes of template 3.0, a basic angle of 0 (or missing) counts as 1 and subdivisions
    of 0 or missing as 10^6, i.e. the usual unit of 10^-6 degree."""

    def __init__(self, basic_angle: int = 0, subdivisions: int = _MISSING_4) -> None:
        basic = 1 if basic_angle in (0, _MISSING_4) else basic_angle
        divisions = _MICRO if subdivisions in (0, _MISSING_4) else subdivisions
        self.unit = Fraction(basic, divisions)

    def lat(self, data: bytes, pos: int) -> float:
        return float(_sint(data, pos, 4) * self.unit)

    def lon(self, data: bytes, pos: int) -> float:
        return float((_sint(data, pos, 4) * self.unit) % 360)


def _earth(data: bytes, s3: int, template: int) -> tuple[int, float | None]:
    """Shape of the earth (octet 15 of section 3, code table 3.2) and, for a sphere, its radius
    in metres. Template 3.101 has the shape only: octets 16-35 hold the grid's number and UUID,
    not the earth's dimensions, so a producer-given radius (shape 1) is unknown there."""
    shape = data[s3 + 14]
    if shape in _FIXED_EARTH_RADIUS:
        return shape, _FIXED_EARTH_RADIUS[shape]
    if shape == 1 and template != 101:  # sphere of radius scaled value / 10^scale factor
        factor = data[s3 + 15]
        value = _uint(data, s3 + 16, 4)
        if factor == _MISSING_1 or value == _MISSING_4:
            return shape, None
        return shape, float(Fraction(value, 10**factor))
    return shape, None


def _parse_grid(data: bytes, s3: int, length: int, source: str) -> GridHeader:
    number_of_points = _uint(data, s3 + 6, 4)
    template = _uint(data, s3 + 12, 2)
    minimum = _TEMPLATE_MIN_LENGTH.get(template)
    if minimum is not None and length < minimum:
        raise GribHeaderError(
            f"section 3 length {length} is too small for grid definition template 3.{template}, "
            f"which needs at least {minimum} octets",
            source=source,
        )

    ni: int | None = None
    nj: int | None = None
    first_latitude: float | None = None
    first_longitude: float | None = None
    last_latitude: float | None = None
    last_longitude: float | None = None
    scanning_mode: int | None = None
    lov: float | None = None
    latin1: float | None = None
    latin2: float | None = None
    lad: float | None = None
    dx_metres: float | None = None
    dy_metres: float | None = None
    earth_shape: int | None = None
    earth_radius_metres: float | None = None
    grid_number: int | None = None
    grid_uuid: str | None = None

    def octet(n: int) -> int:
        """Byte offset of octet ``n`` (1-based, as in the WMO tables) of section 3."""
        return s3 + n - 1

    if minimum is not None:  # every template read here starts with the shape of the earth
        earth_shape, earth_radius_metres = _earth(data, s3, template)

    micro = _Angles()
    if template in _LATLON_LIKE:
        raw_ni = _uint(data, octet(31), 4)
        ni = None if raw_ni == _MISSING_4 else raw_ni  # missing on reduced grids
        nj = _uint(data, octet(35), 4)
        angles = _Angles(_uint(data, octet(39), 4), _uint(data, octet(43), 4))
        first_latitude = angles.lat(data, octet(47))
        first_longitude = angles.lon(data, octet(51))
        last_latitude = angles.lat(data, octet(56))
        last_longitude = angles.lon(data, octet(60))
        scanning_mode = data[octet(72)]
    elif template == 10:  # Mercator
        ni = _uint(data, octet(31), 4)
        nj = _uint(data, octet(35), 4)
        first_latitude = micro.lat(data, octet(39))
        first_longitude = micro.lon(data, octet(43))
        last_latitude = micro.lat(data, octet(52))
        last_longitude = micro.lon(data, octet(56))
        scanning_mode = data[octet(60)]
    elif template == 20:  # polar stereographic
        ni = _uint(data, octet(31), 4)
        nj = _uint(data, octet(35), 4)
        first_latitude = micro.lat(data, octet(39))
        first_longitude = micro.lon(data, octet(43))
        scanning_mode = data[octet(65)]
    elif template == 30:  # Lambert conformal
        ni = _uint(data, octet(31), 4)
        nj = _uint(data, octet(35), 4)
        first_latitude = micro.lat(data, octet(39))
        first_longitude = micro.lon(data, octet(43))
        lad = micro.lat(data, octet(48))
        lov = micro.lon(data, octet(52))
        dx_metres = _uint(data, octet(56), 4) / 1000  # millimetres
        dy_metres = _uint(data, octet(60), 4) / 1000
        scanning_mode = data[octet(65)]
        latin1 = micro.lat(data, octet(66))
        latin2 = micro.lat(data, octet(70))
    elif template == 101:  # general unstructured: the grid is named, its points are not here
        grid_number = _uint(data, octet(16), 3)
        grid_uuid = data[octet(20) : octet(36)].hex()

    return GridHeader(
        template=template,
        ni=ni,
        nj=nj,
        number_of_points=number_of_points,
        first_latitude=first_latitude,
        first_longitude=first_longitude,
        last_latitude=last_latitude,
        last_longitude=last_longitude,
        scanning_mode=scanning_mode,
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        lad=lad,
        dx_metres=dx_metres,
        dy_metres=dy_metres,
        earth_shape=earth_shape,
        earth_radius_metres=earth_radius_metres,
        grid_number=grid_number,
        grid_uuid=grid_uuid,
    )


# --------------------------------------------------------------------------------------------
# Sections 0 to 3


def message_length(data: bytes, *, source: str) -> int:
    """The total length of the GRIB2 message starting at ``data`` (its section 0, the first
    ``SECTION0_LENGTH`` bytes); :class:`GribHeaderError` naming ``source`` where those bytes
    are not the start of a GRIB2 message."""
    if not data.startswith(b"GRIB"):
        if len(data) < 4 and b"GRIB".startswith(data):
            _need(data, SECTION0_LENGTH, "section 0", source)
        raise GribHeaderError(
            f"not a GRIB message: data starts with {data[:8]!r}, expected b'GRIB'", source=source
        )
    if len(data) > 7 and data[7] != 2:  # octet 8 is the edition in GRIB1's section 0 too
        raise GribHeaderError(
            f"GRIB edition {data[7]} is not supported, only edition 2", source=source
        )
    _need(data, SECTION0_LENGTH, "section 0", source)
    total_length = _uint(data, 8, 8)
    smallest = SECTION0_LENGTH + _SECTION1_MIN_LENGTH + _SECTION3_MIN_LENGTH + len(_END_MARKER)
    if total_length < smallest:
        raise GribHeaderError(
            f"section 0 has a nonsensical total message length {total_length} "
            f"(a GRIB2 message has at least {smallest} octets)",
            source=source,
        )
    return total_length


def parse_grib_header(data: bytes, *, source: str) -> GribHeader:
    """Parse sections 0, 1, (2), 3 at the start of `data` (which begins with 'GRIB').

    ``source`` names where the bytes came from (a url); every :class:`GribHeaderError` names it.
    ``data`` may hold more than the header (the rest of the message, or more messages): only
    the bytes up to the end of section 3 are read.
    """
    data = bytes(data)
    total_length = message_length(data, source=source)
    edition = data[7]
    discipline = data[6]

    def section_at(pos: int, expected: str) -> tuple[int, int]:
        """Length and number of the section starting at ``pos``, checked for sense."""
        _need(data, pos + _SECTION_HEADER, f"the header of {expected}", source, exact=False)
        length = _uint(data, pos, 4)
        number = data[pos + 4]
        if length < _SECTION_HEADER or pos + length > total_length - len(_END_MARKER):
            raise GribHeaderError(
                f"section {number} at byte {pos} has a nonsensical length {length} "
                f"(message total length {total_length})",
                source=source,
            )
        return length, number

    # Section 1: identification.
    s1 = SECTION0_LENGTH
    s1_length, number = section_at(s1, "section 1")
    if number != 1:
        raise GribHeaderError(
            f"section 1 not found at byte {s1}: found section number {number}", source=source
        )
    if s1_length < _SECTION1_MIN_LENGTH:
        raise GribHeaderError(
            f"section 1 has a nonsensical length {s1_length} "
            f"(at least {_SECTION1_MIN_LENGTH} octets)",
            source=source,
        )
    _need(data, s1 + _SECTION1_MIN_LENGTH, "section 1", source, exact=False)
    centre = _uint(data, s1 + 5, 2)
    subcentre = _uint(data, s1 + 7, 2)
    year, month, day, hour, minute, second = (
        _uint(data, s1 + 12, 2),
        data[s1 + 14],
        data[s1 + 15],
        data[s1 + 16],
        data[s1 + 17],
        data[s1 + 18],
    )
    try:
        reference_time = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError as error:
        raise GribHeaderError(
            f"section 1 reference time {year:04d}-{month:02d}-{day:02d} "
            f"{hour:02d}:{minute:02d}:{second:02d} is invalid: {error}",
            source=source,
        ) from None

    # Section 2 (optional, local use): skipped by its length.
    pos = s1 + s1_length
    length, number = section_at(pos, "section 2 or 3")
    if number == 2:
        pos += length
        length, number = section_at(pos, "section 3")
    if number != 3:
        raise GribHeaderError(
            f"section 3 not found at byte {pos} after section 1"
            f"{' and section 2' if pos != s1 + s1_length else ''}: found section number {number}",
            source=source,
        )
    if length < _SECTION3_MIN_LENGTH:
        raise GribHeaderError(
            f"section 3 has a nonsensical length {length} (at least {_SECTION3_MIN_LENGTH} octets)",
            source=source,
        )
    _need(data, pos + length, "sections 0 to 3", source)
    grid = _parse_grid(data, pos, length, source)

    return GribHeader(
        edition=edition,
        discipline=discipline,
        total_length=total_length,
        centre=centre,
        subcentre=subcentre,
        reference_time=reference_time,
        grid=grid,
        grid_offset=pos,
        length=pos + length,
    )
