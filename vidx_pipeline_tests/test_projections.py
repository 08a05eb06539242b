"""Lambert conformal coordinates computed with numpy equal ecCodes' on real and encoded grids.

The reference is ecCodes' ``latitudes``/``longitudes`` keys: on the real NCEP HRRR fixture
(tangent cone, scanning mode 64) and on small grids encoded here from the ``GRIB2`` sample
(tangent and secant cones, both hemispheres). For scanning mode 0 ecCodes does not follow the
WMO definition of the first grid point for Lambert grids (see ``vidx_pipeline.projections``), so
mode 0 is checked against ecCodes through the equivalent south-to-north grid, and directly
against gribberish, the decoder this project's readers use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import eccodes
import gribberish
import numpy as np
import pytest

from vidx_pipeline.projections import lambert_conformal_coordinates

HRRR = Path(__file__).parent / "fixtures" / "real" / "grib" / "hrrr.t06z.wrfsfcf01-TMP.grib2"
TOLERANCE_DEGREES = 1e-4
SPHERE_RADIUS = 6371229.0  # shapeOfTheEarth 6


# --------------------------------------------------------------------------------------------
# Helpers


@dataclass(frozen=True)
class LambertGrid:
    """The projection parameters of a GRIB2 template 3.30 message, as ecCodes reports them."""

    nx: int
    ny: int
    first_latitude: float
    first_longitude: float
    lov: float
    latin1: float
    latin2: float
    dx_metres: float
    dy_metres: float
    earth_radius_metres: float
    scanning_mode: int

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        return lambert_conformal_coordinates(
            nx=self.nx,
            ny=self.ny,
            first_latitude=self.first_latitude,
            first_longitude=self.first_longitude,
            lov=self.lov,
            latin1=self.latin1,
            latin2=self.latin2,
            dx_metres=self.dx_metres,
            dy_metres=self.dy_metres,
            earth_radius_metres=self.earth_radius_metres,
            scanning_mode=self.scanning_mode,
        )


@dataclass(frozen=True)
class Reference:
    """A message's projection keys and ecCodes' coordinates reshaped to (Ny, Nx)."""

    grid: LambertGrid
    latitudes: np.ndarray
    longitudes: np.ndarray


@contextmanager
def message_handle(message: bytes) -> Iterator[int]:
    handle = eccodes.codes_new_from_message(message)
    try:
        yield handle
    finally:
        eccodes.codes_release(handle)


def read_reference(handle: int) -> Reference:
    """The projection keys of a Lambert message and ecCodes' latitudes/longitudes of it."""
    assert eccodes.codes_get(handle, "gridType") == "lambert"
    shape_of_the_earth = eccodes.codes_get_long(handle, "shapeOfTheEarth")
    assert shape_of_the_earth == 6, f"only the spherical earth is tested, got {shape_of_the_earth}"
    grid = LambertGrid(
        nx=eccodes.codes_get_long(handle, "Nx"),
        ny=eccodes.codes_get_long(handle, "Ny"),
        first_latitude=eccodes.codes_get_double(handle, "latitudeOfFirstGridPointInDegrees"),
        first_longitude=eccodes.codes_get_double(handle, "longitudeOfFirstGridPointInDegrees"),
        lov=eccodes.codes_get_double(handle, "LoVInDegrees"),
        latin1=eccodes.codes_get_double(handle, "Latin1InDegrees"),
        latin2=eccodes.codes_get_double(handle, "Latin2InDegrees"),
        dx_metres=eccodes.codes_get_double(handle, "DxInMetres"),
        dy_metres=eccodes.codes_get_double(handle, "DyInMetres"),
        earth_radius_metres=eccodes.codes_get_double(handle, "radius"),
        scanning_mode=eccodes.codes_get_long(handle, "scanningMode"),
    )
    shape = (grid.ny, grid.nx)
    return Reference(
        grid=grid,
        latitudes=eccodes.codes_get_double_array(handle, "latitudes").reshape(shape),
        longitudes=eccodes.codes_get_double_array(handle, "longitudes").reshape(shape),
    )


def encode_lambert(
    *,
    nx: int,
    ny: int,
    first_latitude: float,
    first_longitude: float,
    lov: float,
    latin1: float,
    latin2: float,
    dx_metres: float = 50_000.0,
    dy_metres: float = 50_000.0,
    scanning_mode: int = 64,
) -> bytes:
    """A GRIB2 Lambert conformal message (template 3.30, spherical earth) encoded by ecCodes."""
    handle = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        eccodes.codes_set(handle, "gridType", "lambert")
        eccodes.codes_set_long(handle, "shapeOfTheEarth", 6)
        eccodes.codes_set_long(handle, "Nx", nx)
        eccodes.codes_set_long(handle, "Ny", ny)
        # The cone's apex is the south pole when the standard parallels are southern.
        eccodes.codes_set_long(handle, "projectionCentreFlag", 128 if latin1 < 0 else 0)
        for key, value in (
            ("latitudeOfFirstGridPointInDegrees", first_latitude),
            ("longitudeOfFirstGridPointInDegrees", first_longitude % 360.0),
            ("LoVInDegrees", lov % 360.0),
            ("LaDInDegrees", latin1),
            ("Latin1InDegrees", latin1),
            ("Latin2InDegrees", latin2),
            ("DxInMetres", dx_metres),
            ("DyInMetres", dy_metres),
        ):
            eccodes.codes_set_double(handle, key, value)
        eccodes.codes_set_long(handle, "scanningMode", scanning_mode)
        eccodes.codes_set_double_array(handle, "values", np.arange(nx * ny, dtype=np.float64))
        message: bytes = eccodes.codes_get_message(handle)
    finally:
        eccodes.codes_release(handle)
    return message


def longitude_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| in degrees, whatever the longitude convention of either argument."""
    return np.abs(np.mod(a - b + 180.0, 360.0) - 180.0)


def max_differences(
    latitude: np.ndarray,
    longitude: np.ndarray,
    expected_latitude: np.ndarray,
    expected_longitude: np.ndarray,
) -> tuple[float, float]:
    assert latitude.shape == expected_latitude.shape
    assert longitude.shape == expected_longitude.shape
    return (
        float(np.max(np.abs(latitude - expected_latitude))),
        float(np.max(longitude_difference(longitude, expected_longitude))),
    )


def assert_longitude_convention(longitude: np.ndarray) -> None:
    assert np.all(longitude >= -180.0)
    assert np.all(longitude < 180.0)


# --------------------------------------------------------------------------------------------
# The real HRRR grid


def test_hrrr_matches_eccodes() -> None:
    """NCEP's HRRR CONUS grid (1799 x 1059, tangent at 38.5N, scanning mode 64)."""
    with HRRR.open("rb") as f:
        handle = eccodes.codes_grib_new_from_file(f)
    assert handle is not None
    try:
        reference = read_reference(handle)
    finally:
        eccodes.codes_release(handle)
    grid = reference.grid
    assert (grid.nx, grid.ny, grid.scanning_mode) == (1799, 1059, 64)
    assert grid.latin1 == grid.latin2
    assert grid.earth_radius_metres == SPHERE_RADIUS

    latitude, longitude = grid.coordinates()

    assert latitude.shape == longitude.shape == (1059, 1799)
    assert latitude.dtype == longitude.dtype == np.float64
    lat_error, lon_error = max_differences(
        latitude, longitude, reference.latitudes, reference.longitudes
    )
    assert lat_error <= TOLERANCE_DEGREES, lat_error
    assert lon_error <= TOLERANCE_DEGREES, lon_error
    # The convention: [-180, 180), i.e. ecCodes' [0, 360) values minus 360 over CONUS.
    assert_longitude_convention(longitude)
    np.testing.assert_allclose(longitude, reference.longitudes - 360.0, rtol=0, atol=1e-4)
    # Storage order: the first stored point at [0, 0], the southernmost row first.
    assert latitude[0, 0] == pytest.approx(grid.first_latitude, abs=1e-9)
    assert longitude[0, 0] == pytest.approx(grid.first_longitude - 360.0, abs=1e-9)
    assert latitude[0].max() < latitude[-1].min()


def test_hrrr_matches_gribberish() -> None:
    """The coordinates also agree with gribberish, the decoder readers use, in its convention."""
    message = HRRR.read_bytes()
    with message_handle(message) as handle:
        grid = read_reference(handle).grid
    latitude, longitude = grid.coordinates()
    metadata = gribberish.parse_grib_message(message, 0).metadata
    expected_latitude, expected_longitude = (
        np.asarray(a).reshape(grid.ny, grid.nx) for a in metadata.latlng()
    )
    np.testing.assert_allclose(latitude, expected_latitude, rtol=0, atol=TOLERANCE_DEGREES)
    np.testing.assert_allclose(longitude, expected_longitude, rtol=0, atol=TOLERANCE_DEGREES)


# --------------------------------------------------------------------------------------------
# Grids encoded here, scanning mode 64


@pytest.mark.parametrize(
    ("first_latitude", "first_longitude", "lov", "latin1", "latin2"),
    [
        pytest.param(30.0, -110.0, -95.0, 45.0, 45.0, id="tangent-north"),
        pytest.param(20.0, -125.0, -95.0, 25.0, 25.0, id="tangent-north-low"),
        pytest.param(30.0, -110.0, -95.0, 30.0, 60.0, id="secant-north"),
        pytest.param(48.0, 170.0, -170.0, 50.0, 65.0, id="secant-north-across-antimeridian"),
        pytest.param(-40.0, 130.0, 140.0, -35.0, -35.0, id="tangent-south"),
        pytest.param(-30.0, 130.0, 140.0, -30.0, -60.0, id="secant-south"),
    ],
)
def test_encoded_grid_matches_eccodes(
    first_latitude: float, first_longitude: float, lov: float, latin1: float, latin2: float
) -> None:
    message = encode_lambert(
        nx=23,
        ny=17,
        first_latitude=first_latitude,
        first_longitude=first_longitude,
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        dx_metres=60_000.0,
        dy_metres=45_000.0,
    )
    with message_handle(message) as handle:
        reference = read_reference(handle)
    assert reference.grid.scanning_mode == 64

    latitude, longitude = reference.grid.coordinates()

    lat_error, lon_error = max_differences(
        latitude, longitude, reference.latitudes, reference.longitudes
    )
    assert lat_error <= TOLERANCE_DEGREES, lat_error
    assert lon_error <= TOLERANCE_DEGREES, lon_error
    assert_longitude_convention(longitude)
    assert latitude[0, 0] == pytest.approx(first_latitude, abs=1e-6)
    assert longitude_difference(longitude[:1, :1], np.array([[first_longitude]]))[0, 0] < 1e-6


def test_longitude_inputs_in_either_convention_agree() -> None:
    """Lo1 and LoV may be given in [0, 360) (as GRIB2 stores them) or in [-180, 180)."""
    east_grid = LambertGrid(
        nx=40,
        ny=30,
        first_latitude=21.138123,
        first_longitude=237.280472,
        lov=262.5,
        latin1=38.5,
        latin2=38.5,
        dx_metres=3000.0,
        dy_metres=3000.0,
        earth_radius_metres=SPHERE_RADIUS,
        scanning_mode=64,
    )
    east = east_grid.coordinates()
    west = replace(east_grid, first_longitude=-122.719528, lov=-97.5).coordinates()
    np.testing.assert_allclose(east[0], west[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(east[1], west[1], rtol=0, atol=1e-9)
    assert_longitude_convention(east[1])


# --------------------------------------------------------------------------------------------
# Scanning mode 0 (rows stored north to south)

MODE_0_CASES = [
    pytest.param(50.0, -110.0, -95.0, 45.0, 45.0, id="tangent-north"),
    pytest.param(55.0, -10.0, 5.0, 40.0, 60.0, id="secant-north"),
    pytest.param(-10.0, 130.0, 140.0, -30.0, -60.0, id="secant-south"),
]


@pytest.mark.parametrize(
    ("first_latitude", "first_longitude", "lov", "latin1", "latin2"), MODE_0_CASES
)
def test_mode_0_matches_eccodes_on_the_same_grid_scanned_northwards(
    first_latitude: float, first_longitude: float, lov: float, latin1: float, latin2: float
) -> None:
    """A mode-0 grid whose first (north-west) point is La1 covers the same points as the mode-64
    grid whose first point is its south-west corner, with the rows in reverse order; ecCodes
    computes the latter exactly as the WMO definition says."""
    nx, ny = 19, 14
    latitude, longitude = lambert_conformal_coordinates(
        nx=nx,
        ny=ny,
        first_latitude=first_latitude,
        first_longitude=first_longitude,
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        dx_metres=50_000.0,
        dy_metres=50_000.0,
        earth_radius_metres=SPHERE_RADIUS,
        scanning_mode=0,
    )
    # Row 0 is the first stored row, starting at La1/Lo1, and rows go southwards.
    assert latitude[0, 0] == pytest.approx(first_latitude, abs=1e-9)
    assert longitude_difference(longitude[:1, :1], np.array([[first_longitude]]))[0, 0] < 1e-9
    assert np.all(np.diff(latitude, axis=0) < 0)

    # GRIB stores La1/Lo1 in micro-degrees: rounding the corner moves it by under 1e-6 degrees.
    northwards = encode_lambert(
        nx=nx,
        ny=ny,
        first_latitude=float(latitude[-1, 0]),
        first_longitude=float(longitude[-1, 0]),
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        scanning_mode=64,
    )
    with message_handle(northwards) as handle:
        reference = read_reference(handle)

    lat_error, lon_error = max_differences(
        latitude[::-1], longitude[::-1], reference.latitudes, reference.longitudes
    )
    assert lat_error <= TOLERANCE_DEGREES, lat_error
    assert lon_error <= TOLERANCE_DEGREES, lon_error


@pytest.mark.parametrize(
    ("first_latitude", "first_longitude", "lov", "latin1", "latin2"), MODE_0_CASES
)
def test_mode_0_matches_gribberish(
    first_latitude: float, first_longitude: float, lov: float, latin1: float, latin2: float
) -> None:
    """gribberish reads a mode-0 message in storage order from La1 southwards, as we do."""
    nx, ny = 19, 14
    message = encode_lambert(
        nx=nx,
        ny=ny,
        first_latitude=first_latitude,
        first_longitude=first_longitude,
        lov=lov,
        latin1=latin1,
        latin2=latin2,
        scanning_mode=0,
    )
    with message_handle(message) as handle:
        grid = read_reference(handle).grid
    assert grid.scanning_mode == 0

    latitude, longitude = grid.coordinates()

    metadata = gribberish.parse_grib_message(message, 0).metadata
    expected_latitude, expected_longitude = (
        np.asarray(a).reshape(ny, nx) for a in metadata.latlng()
    )
    lat_error, lon_error = max_differences(
        latitude, longitude, expected_latitude, expected_longitude
    )
    assert lat_error <= TOLERANCE_DEGREES, lat_error
    assert lon_error <= TOLERANCE_DEGREES, lon_error


def test_eccodes_reads_mode_0_lambert_northwards_from_la1() -> None:
    """Why mode 0 is not compared with ecCodes' keys directly: for Lambert grids ecCodes ignores
    the j direction when placing points (GRIB-405) and reorders the values instead, so its
    ``latitudes`` of a mode-0 message are those of the mode-64 grid with the same keys, and its
    iterator pairs the first stored row with the northernmost of them. If this starts failing,
    ecCodes has changed its reading and the mode-0 tests above can compare with it directly."""
    nx, ny = 6, 4
    message = encode_lambert(
        nx=nx,
        ny=ny,
        first_latitude=50.0,
        first_longitude=-110.0,
        lov=-95.0,
        latin1=45.0,
        latin2=45.0,
        scanning_mode=0,
    )
    with message_handle(message) as handle:
        reference = read_reference(handle)
        iterator = eccodes.codes_grib_iterator_new(handle, 0)
        try:
            first = eccodes.codes_grib_iterator_next(iterator)
        finally:
            eccodes.codes_grib_iterator_delete(iterator)
    as_mode_64 = replace(reference.grid, scanning_mode=64).coordinates()
    lat_error, lon_error = max_differences(*as_mode_64, reference.latitudes, reference.longitudes)
    assert lat_error <= TOLERANCE_DEGREES
    assert lon_error <= TOLERANCE_DEGREES
    # ecCodes' first point (La1) carries the first value of the last stored row.
    assert first[0] == pytest.approx(50.0)
    assert first[2] == (ny - 1) * nx


# --------------------------------------------------------------------------------------------
# Invalid input


@pytest.mark.parametrize("scanning_mode", [128, 192, 32, 96, 16, 80, 1])
def test_unsupported_scanning_mode_is_refused(scanning_mode: int) -> None:
    with pytest.raises(ValueError, match=rf"scanning mode {scanning_mode}\b"):
        lambert_conformal_coordinates(
            nx=3,
            ny=2,
            first_latitude=21.138123,
            first_longitude=237.280472,
            lov=262.5,
            latin1=38.5,
            latin2=38.5,
            dx_metres=3000.0,
            dy_metres=3000.0,
            earth_radius_metres=SPHERE_RADIUS,
            scanning_mode=scanning_mode,
        )


@pytest.mark.parametrize(
    ("latin1", "latin2", "first_latitude", "match"),
    [
        pytest.param(0.0, 0.0, 10.0, "no Lambert conformal cone", id="tangent-at-equator"),
        pytest.param(30.0, -30.0, 10.0, "no Lambert conformal cone", id="opposite-parallels"),
        pytest.param(38.5, 38.5, -90.0, "cannot be projected", id="opposite-pole"),
        pytest.param(38.5, 95.0, 10.0, "latin2", id="latitude-out-of-range"),
    ],
)
def test_degenerate_projection_is_refused(
    latin1: float, latin2: float, first_latitude: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        lambert_conformal_coordinates(
            nx=3,
            ny=2,
            first_latitude=first_latitude,
            first_longitude=0.0,
            lov=0.0,
            latin1=latin1,
            latin2=latin2,
            dx_metres=3000.0,
            dy_metres=3000.0,
            earth_radius_metres=SPHERE_RADIUS,
        )
