"""Latitude/longitude of every point of projected GRIB2 grids, computed with numpy alone.

GRIB2 Lambert conformal grids (grid definition template 3.30, e.g. NCEP's HRRR) do not store
their coordinates: a reader derives them from the projection parameters of the message. This
module does that derivation on a spherical earth (Snyder, *Map Projections: A Working Manual*,
USGS PP 1395, chapter 15, spherical formulae) so that coordinates can be produced without
pyproj and without decoding the message, and agree with ecCodes' ``latitudes``/``longitudes``
keys to well under 1e-4 degrees for grids scanned south to north (scanning mode 64, NCEP's HRRR).

Scanning mode 0 (rows stored north to south) follows the WMO definition, as gribberish (the
decoder this project's readers use) and wgrib2 do: the first grid point (La1, Lo1) is the first
point stored, and rows step southwards from it. ecCodes instead always steps northwards from La1
for Lambert grids (its GRIB-405 rule: "latitudes always increase from latitudeOfFirstGridPoint")
and pairs the first stored row with the northernmost of those rows, so for a mode-0 message its
``latitudes`` are neither in storage order nor anchored at the first stored point, and differ
from these.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SUPPORTED_SCANNING_MODES",
    "lambert_conformal_coordinates",
    "lambert_conformal_projection_xy",
]

# Code table 3.4 flag 2 (0x40): points scan in the +j direction (south to north).
_J_SCANS_POSITIVELY = 0x40

#: Scanning modes handled: 64 (i west->east, j south->north, rows consecutive along x, as NCEP's
#: HRRR) and 0 (i west->east, j north->south, rows consecutive along x).
SUPPORTED_SCANNING_MODES: tuple[int, ...] = (0, 64)

# Standard parallels closer than this (radians) are one tangent parallel, as in ecCodes.
_TANGENT_TOLERANCE = 1e-9


def _wrap_degrees(longitude: np.ndarray) -> np.ndarray:
    """Longitudes folded into ``[-180, 180)`` degrees."""
    wrapped = np.mod(longitude + 180.0, 360.0) - 180.0
    # np.mod of a tiny negative number can round to exactly 360, giving 180.
    return np.where(wrapped >= 180.0, wrapped - 360.0, wrapped)


def _first_point_on_the_plane(
    *,
    nx: int,
    ny: int,
    first_latitude: float,
    first_longitude: float,
    lov: float,
    latin1: float,
    latin2: float,
    dx_metres: float,
    dy_metres: float,
    earth_radius_metres: float,
    scanning_mode: int,
) -> tuple[float, float, float, float]:
    """The cone constant n, R*F, and the first grid point's map coordinates (u, v) relative to
    the cone's apex (see :func:`lambert_conformal_coordinates`, whose errors it raises)."""
    if scanning_mode not in SUPPORTED_SCANNING_MODES:
        raise ValueError(
            f"scanning mode {scanning_mode} (0b{scanning_mode & 0xFF:08b}) is not supported; "
            f"supported scanning modes: {', '.join(map(str, SUPPORTED_SCANNING_MODES))}"
        )
    if nx <= 0 or ny <= 0:
        raise ValueError(f"grid size must be positive, got nx={nx}, ny={ny}")
    if not (dx_metres > 0 and dy_metres > 0):
        raise ValueError(f"grid lengths must be positive, got dx={dx_metres}, dy={dy_metres}")
    if not earth_radius_metres > 0:
        raise ValueError(f"earth radius must be positive, got {earth_radius_metres}")
    for name, value in (("latin1", latin1), ("latin2", latin2), ("first_latitude", first_latitude)):
        if not -90.0 <= value <= 90.0:
            raise ValueError(f"{name} must be within [-90, 90] degrees, got {value}")

    phi1 = math.radians(latin1)
    phi2 = math.radians(latin2)

    # Cone constant n (sin(phi1) for a tangent cone) and R*F, the scale of rho.
    if abs(phi1 - phi2) < _TANGENT_TOLERANCE:
        n = math.sin(phi1)
    else:
        n = math.log(math.cos(phi1) / math.cos(phi2)) / math.log(
            math.tan(math.pi / 4 + phi2 / 2) / math.tan(math.pi / 4 + phi1 / 2)
        )
    if not abs(n) > 1e-12 or not math.isfinite(n):
        raise ValueError(
            f"standard parallels latin1={latin1}, latin2={latin2} give no Lambert conformal cone"
        )
    if abs(first_latitude) == 90.0 and first_latitude * n < 0:
        raise ValueError(
            f"first_latitude={first_latitude} is the pole opposite the cone's apex "
            f"(latin1={latin1}, latin2={latin2}) and cannot be projected"
        )
    radius_f = earth_radius_metres * math.cos(phi1) * math.tan(math.pi / 4 + phi1 / 2) ** n / n

    # Map coordinates relative to the cone's apex: u eastwards along the grid's x axis and
    # v = rho0 - y, i.e. from the point towards the apex along the grid's y axis, so that
    # u = rho sin(theta), v = rho cos(theta) with theta = n (lambda - LoV) and
    # rho = R F / tan(pi/4 + phi/2) ** n.
    lon_diff = (first_longitude - lov + 180.0) % 360.0 - 180.0
    theta_first = n * math.radians(lon_diff)
    rho_first = radius_f * math.tan(math.pi / 4 + math.radians(first_latitude) / 2) ** -n
    u_first = rho_first * math.sin(theta_first)
    v_first = rho_first * math.cos(theta_first)

    return n, radius_f, u_first, v_first


def lambert_conformal_coordinates(
    *,
    nx: int,
    ny: int,
    first_latitude: float,
    first_longitude: float,
    lov: float,
    latin1: float,
    latin2: float,
    dx_metres: float,
    dy_metres: float,
    earth_radius_metres: float,
    scanning_mode: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """(latitude, longitude) of every point of a Lambert conformal grid (GRIB2 template 3.30).

    Each array has shape ``(ny, nx)``, dtype float64, in degrees. Row 0 is the first row of the
    message's values as GRIB stores them and column 0 its first point along a row, so values
    decoded in storage order and reshaped to ``(ny, nx)`` line up point for point with the
    coordinates: with scanning mode 64 (NCEP's HRRR) row 0 is the southernmost row; with
    scanning mode 0 it is the northernmost. ``[0, 0]`` is always ``(first_latitude,
    first_longitude)`` (longitude folded as below), the first point stored (WMO definition; for
    scanning mode 0 this differs from ecCodes, which treats La1 as the south-west corner of every
    Lambert grid, see the module docstring). No rows are flipped to make the grid north-up.

    Longitude convention: degrees east folded into ``[-180, 180)``, i.e. the HRRR domain spans
    about -134 to -61 degrees. This is the convention of gribberish's ``latlng()``, the decoder
    this project's readers use, and keeps a North-American or European domain free of a jump at
    0/360. ecCodes reports the same longitudes in ``[0, 360)``; ``np.mod(longitude, 360)``
    converts. Latitude is in ``[-90, 90]``.

    Parameters mirror the ecCodes keys of template 3.30:

    - ``nx``, ``ny``: ``Nx``, ``Ny`` (points along a row, number of rows);
    - ``first_latitude``, ``first_longitude``: ``latitudeOfFirstGridPointInDegrees``,
      ``longitudeOfFirstGridPointInDegrees`` (any longitude convention);
    - ``lov``: ``LoVInDegrees``, the meridian parallel to the grid's y axis;
    - ``latin1``, ``latin2``: ``Latin1InDegrees``, ``Latin2InDegrees``, the standard parallels
      (equal for a tangent cone, different for a secant cone; negative for a cone whose apex is
      the south pole);
    - ``dx_metres``, ``dy_metres``: ``DxInMetres``, ``DyInMetres``, the grid lengths (positive;
      their direction comes from ``scanning_mode``);
    - ``earth_radius_metres``: radius of the spherical earth (``shapeOfTheEarth`` 6 is
      6371229 m; an oblate earth is not supported);
    - ``scanning_mode``: ``scanningMode`` (code table 3.4); only 64 and 0 are supported.

    ``LaD`` (the latitude where Dx and Dy are specified) is not a parameter: like ecCodes and
    gribberish, Dx and Dy are taken as lengths on the projection plane, and LaD then only sets
    the projection's false origin, which cancels out because positions are measured from the
    first grid point.

    Raises ValueError for an unsupported scanning mode (naming it), non-positive sizes, grid
    lengths or radius, latitudes outside [-90, 90], a first point at the pole opposite the
    cone's apex (it has no image), and standard parallels for which the cone constant is zero (a
    tangent cone at the equator is a Mercator projection; ``latin1 == -latin2`` is degenerate).
    """
    n, radius_f, u_first, v_first = _first_point_on_the_plane(
        nx=nx,
        ny=ny,
        first_latitude=first_latitude,
        first_longitude=first_longitude,
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        dx_metres=dx_metres,
        dy_metres=dy_metres,
        earth_radius_metres=earth_radius_metres,
        scanning_mode=scanning_mode,
    )
    lov_rad = math.radians(lov)

    # Direction of increasing i and j (code table 3.4): i is west->east (+x) in both supported
    # modes; j is south->north (+y, v decreasing) for mode 64 and north->south for mode 0.
    y_step = dy_metres if scanning_mode & _J_SCANS_POSITIVELY else -dy_metres
    u = u_first + dx_metres * np.arange(nx, dtype=np.float64)
    v = v_first - y_step * np.arange(ny, dtype=np.float64)
    u2d, v2d = np.meshgrid(u, v)  # shape (ny, nx): rows along j, points along i

    # Inverse projection: rho takes the sign of n, as does the frame theta is measured in.
    sign = 1.0 if n > 0 else -1.0
    rho = sign * np.hypot(u2d, v2d)
    theta = np.arctan2(sign * u2d, sign * v2d)
    with np.errstate(divide="ignore"):
        # rho == 0 is the cone's apex (the pole): (radius_f / 0) ** (1 / n) -> inf -> 90 degrees.
        latitude = np.degrees(2.0 * np.arctan((radius_f / rho) ** (1.0 / n)) - np.pi / 2.0)
    longitude = _wrap_degrees(np.degrees(lov_rad + theta / n))
    return latitude, longitude


def lambert_conformal_projection_xy(
    *,
    nx: int,
    ny: int,
    first_latitude: float,
    first_longitude: float,
    lov: float,
    latin1: float,
    latin2: float,
    dx_metres: float,
    dy_metres: float,
    earth_radius_metres: float,
    scanning_mode: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in metres of every column and row of the grid (shapes ``(nx,)``, ``(ny,)``, in
    storage order as :func:`lambert_conformal_coordinates`), on the CF
    ``lambert_conformal_conic`` projection of the same sphere with
    ``longitude_of_central_meridian = lov``, ``standard_parallel = (latin1, latin2)`` and
    ``latitude_of_projection_origin = latin1``, no false easting or northing: x eastwards from
    the central meridian, y northwards from the origin's parallel. Same parameters and errors
    as :func:`lambert_conformal_coordinates`."""
    n, radius_f, u_first, v_first = _first_point_on_the_plane(
        nx=nx,
        ny=ny,
        first_latitude=first_latitude,
        first_longitude=first_longitude,
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        dx_metres=dx_metres,
        dy_metres=dy_metres,
        earth_radius_metres=earth_radius_metres,
        scanning_mode=scanning_mode,
    )
    rho_origin = radius_f * math.tan(math.pi / 4 + math.radians(latin1) / 2) ** -n
    y_step = dy_metres if scanning_mode & _J_SCANS_POSITIVELY else -dy_metres
    x = u_first + dx_metres * np.arange(nx, dtype=np.float64)
    y = rho_origin - v_first + y_step * np.arange(ny, dtype=np.float64)
    return x, y
