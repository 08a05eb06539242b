"""Grid descriptions: validation, coordinates, and what ecCodes and gribberish read from the
messages written on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import eccodes
import gribberish
import numpy as np
import pydantic
import pytest

from vidx_offline.grib_encode import (
    GribEncodeError,
    encode_message,
    field_bitmap,
    grid_definition,
    grid_latitudes,
    grid_longitudes,
    land_mask,
    synthetic_field,
    synthetic_message_values,
)
from vidx_offline.grids import GlobalLatLonGrid, LambertConformalGrid
from vidx_offline.hrrr_encoding import hrrr_grid
from vidx_offline.inventory import InventoryLine
from vidx_offline.reference_decode import eccodes_decode

INIT = datetime(2025, 8, 1, 6, tzinfo=UTC)
LINE = InventoryLine("TMP", "2 m above ground", "7 hour fcst")


def test_a_shape_tuple_is_the_global_grid() -> None:
    grid = grid_definition((19, 36))
    assert grid == GlobalLatLonGrid(shape=(19, 36))
    assert grid_definition(grid) is grid
    latitude, longitude = grid.coordinates()
    assert (latitude.shape, longitude.shape) == ((19, 1), (1, 36))
    np.testing.assert_array_equal(latitude[:, 0], grid_latitudes((19, 36)))
    np.testing.assert_array_equal(longitude[0], grid_longitudes((19, 36)))
    assert not latitude.flags.writeable
    assert encode_message(LINE, INIT, 7, grid, np.full((19, 36), 280.0)) == encode_message(
        LINE, INIT, 7, (19, 36), np.full((19, 36), 280.0)
    )
    with pytest.raises(GribEncodeError, match="grid"):
        grid_definition((1, 36))


def test_lambert_grids_validate_and_hash() -> None:
    grid = hrrr_grid((3, 4))
    assert grid == hrrr_grid((3, 4)) != hrrr_grid((4, 3))
    assert hash(grid) == hash(hrrr_grid((3, 4)))
    fields: dict[str, Any] = grid.model_dump()
    bad: list[dict[str, Any]] = [
        {"shape": (1, 4)},
        {"shape": (3, 4, 5)},
        {"la1": 91_000_000},
        {"latin2": -90_000_001},
        {"lo1": -1},
        {"lov": 360_000_000},
        {"dx": 0},
        {"dy": -3_000_000},
        {"scanning_mode": 0},  # not a field: always 64, NCEP's HRRR
    ]
    for change in bad:
        with pytest.raises(pydantic.ValidationError):
            LambertConformalGrid(**(fields | change))
    with pytest.raises(pydantic.ValidationError):
        grid.la1 = 0  # type: ignore[misc]


def _keys(message: bytes) -> dict[str, Any]:
    handle = eccodes.codes_new_from_message(message)
    try:
        keys: dict[str, Any] = {
            name: eccodes.codes_get_long(handle, name)
            for name in (
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
                "resolutionAndComponentFlags",
                "gridDefinitionTemplateNumber",
            )
        }
        keys["gridType"] = eccodes.codes_get_string(handle, "gridType")
        keys["radius"] = eccodes.codes_get_double(handle, "radius")
        shape = (keys["Ny"], keys["Nx"])
        keys["latitudes"] = eccodes.codes_get_double_array(handle, "latitudes").reshape(shape)
        keys["longitudes"] = eccodes.codes_get_double_array(handle, "longitudes").reshape(shape)
    finally:
        eccodes.codes_release(handle)
    return keys


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (7, 5), (40, 60)])
def test_lambert_messages_as_eccodes_and_gribberish_read_them(shape: tuple[int, int]) -> None:
    grid = hrrr_grid(shape)
    values = synthetic_field("TMP", grid, INIT, 7, 0, level=LINE.level, window=LINE.window)
    message = encode_message(LINE, INIT, 7, grid, values)
    keys = _keys(message)
    assert keys["gridType"] == "lambert"
    assert keys["gridDefinitionTemplateNumber"] == 30
    assert (keys["Ny"], keys["Nx"]) == shape
    assert (keys["latitudeOfFirstGridPoint"], keys["longitudeOfFirstGridPoint"]) == (
        21_138_123,
        237_280_472,
    )
    assert (keys["LoV"], keys["LaD"], keys["Latin1"], keys["Latin2"]) == (
        262_500_000,
        38_500_000,
        38_500_000,
        38_500_000,
    )
    assert (keys["Dx"], keys["Dy"]) == (3_000_000, 3_000_000)
    assert (keys["shapeOfTheEarth"], keys["radius"]) == (6, 6371229.0)
    assert (keys["scanningMode"], keys["resolutionAndComponentFlags"]) == (64, 8)
    latitude, longitude = grid.coordinates()
    np.testing.assert_allclose(keys["latitudes"], latitude, rtol=0, atol=1e-9)
    np.testing.assert_allclose(keys["longitudes"], np.mod(longitude, 360.0), rtol=0, atol=1e-9)
    assert latitude[0, 0] == pytest.approx(21.138123)
    assert latitude[-1, 0] > latitude[0, 0]  # row 0 is the southernmost

    metadata = gribberish.parse_grib_message_metadata(message, 0)
    assert metadata.grid_shape == shape
    assert "+proj=lcc lon_0=262.5 lat_0=38.5 lat_1=38.5 lat_2=38.5" in metadata.proj
    gribberish_lat, gribberish_lon = metadata.latlng()
    np.testing.assert_allclose(gribberish_lat.reshape(shape), latitude, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gribberish_lon.reshape(shape), longitude, rtol=0, atol=1e-9)

    expected = synthetic_message_values(LINE, grid, INIT, 7, 0)
    np.testing.assert_allclose(eccodes_decode(message), expected, rtol=0, atol=0.005 + 1e-9)
    decoded = gribberish.parse_grib_array(message, 0).reshape(shape)
    np.testing.assert_allclose(decoded, eccodes_decode(message), rtol=1e-12, atol=0)


def test_values_on_a_lambert_grid_follow_latitude_and_longitude() -> None:
    grid = hrrr_grid((30, 40))
    values = synthetic_field("TMP", grid, INIT, 7, 0, level="2 m above ground")
    assert values.shape == (30, 40)
    assert (values.min(), values.max()) == pytest.approx((200.0, 320.0))
    np.testing.assert_array_equal(
        values, synthetic_field("TMP", grid, INIT, 7, 0, level="2 m above ground")
    )
    # a different grid over other places holds other values at the same indices
    other = grid.model_copy(update={"la1": 40_000_000})
    assert not np.array_equal(
        values, synthetic_field("TMP", other, INIT, 7, 0, level="2 m above ground")
    )
    mask = land_mask(grid)
    assert mask.shape == (30, 40)
    assert mask.any()
    assert not mask.all()
    bitmap = field_bitmap("ICEC", grid)
    assert bitmap is not None
    np.testing.assert_array_equal(bitmap, ~mask)
    for shape in ((2, 2), (3, 4)):
        tiny = land_mask(hrrr_grid(shape))
        assert tiny.any()
        assert not tiny.all()
