"""The grids the offline encoder writes (GRIB2 section 3) and the coordinates of their points.

Contract:

- A grid description is a frozen, hashable model whose :attr:`shape` is the shape of the values
  array of every message on it, ``(rows, points per row)``, in the order GRIB stores the values
  (row 0 is the first row stored, column 0 the first point of a row).
- :class:`GlobalLatLonGrid` is NCEP's global regular latitude/longitude grid (GFS, GEFS;
  template 3.0): ``nlat`` rows from 90°N to 90°S, ``nlon`` columns from 0°E eastwards in steps
  of ``360/nlon``.
- :class:`LambertConformalGrid` is a Lambert conformal grid (template 3.30) on NCEP's spherical
  earth (``shapeOfTheEarth`` 6, radius :data:`EARTH_RADIUS_METRES`) scanned ``+i +j``
  (``scanningMode`` 64: row 0 is the southernmost row, as NCEP writes HRRR). Its parameters are
  kept in GRIB's own integer units (micro-degrees, millimetres), so what is written is exactly
  what is given.
- :meth:`coordinates` returns ``(latitude, longitude)`` in degrees, each broadcastable to
  :attr:`shape`: a column and a row vector for the regular grid, full ``(ny, nx)`` arrays for a
  Lambert grid (computed with :func:`vidx_pipeline.projections.lambert_conformal_coordinates`;
  longitudes folded into ``[-180, 180)``). Arrays are cached per grid and read-only.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
from pydantic import field_validator

from vidx_pipeline.projections import lambert_conformal_coordinates
from vidx_pipeline.spec import FrozenModel

EARTH_RADIUS_METRES = 6371229.0
"""Radius of the spherical earth of ``shapeOfTheEarth`` 6 (NCEP's GFS, GEFS and HRRR)."""


def _check_shape(value: tuple[int, int]) -> tuple[int, int]:
    if len(value) != 2 or not all(n >= 2 for n in value):
        raise ValueError(f"shape must be two ints >= 2 (rows, points per row), got {value!r}")
    return value


class GlobalLatLonGrid(FrozenModel):
    """NCEP's global regular lat/lon grid of ``shape = (nlat, nlon)`` points (see the module
    contract): first point 90°N 0°E, last point 90°S ``360 - 360/nlon``°E."""

    kind: Literal["regular_ll"] = "regular_ll"
    shape: tuple[int, int]

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: tuple[int, int]) -> tuple[int, int]:
        return _check_shape(value)

    def latitudes(self) -> np.ndarray:
        """Row latitudes, 90 to -90 (degrees north)."""
        return np.linspace(90.0, -90.0, self.shape[0])

    def longitudes(self) -> np.ndarray:
        """Column longitudes, 0 to ``360 - 360/nlon`` (degrees east)."""
        return np.arange(self.shape[1]) * (360.0 / self.shape[1])

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(latitude, longitude)`` in degrees: a ``(nlat, 1)`` and a ``(1, nlon)`` array."""
        return _coordinates(self)


class LambertConformalGrid(FrozenModel):
    """A Lambert conformal grid of ``shape = (ny, nx)`` points (see the module contract).

    ``la1``/``lo1``: latitude/longitude of the first point (south-west corner), ``lov``: the
    meridian parallel to the y axis, ``lad``: the latitude where ``dx``/``dy`` are true,
    ``latin1``/``latin2``: the standard parallels, all in micro-degrees (longitudes east,
    ``0 <= lo1, lov < 360°``); ``dx``/``dy``: grid lengths in millimetres. The names are those of
    GRIB2 template 3.30.
    """

    kind: Literal["lambert"] = "lambert"
    shape: tuple[int, int]
    la1: int
    lo1: int
    lov: int
    lad: int
    latin1: int
    latin2: int
    dx: int
    dy: int

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: tuple[int, int]) -> tuple[int, int]:
        return _check_shape(value)

    @field_validator("la1", "lad", "latin1", "latin2")
    @classmethod
    def _latitude(cls, value: int) -> int:
        if not -90_000_000 <= value <= 90_000_000:
            raise ValueError(f"latitude must be within +-90e6 micro-degrees, got {value}")
        return value

    @field_validator("lo1", "lov")
    @classmethod
    def _longitude(cls, value: int) -> int:
        if not 0 <= value < 360_000_000:
            raise ValueError(f"longitude must be in [0, 360e6) micro-degrees east, got {value}")
        return value

    @field_validator("dx", "dy")
    @classmethod
    def _length(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"grid length must be > 0 mm, got {value}")
        return value

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(latitude, longitude)`` of every point in degrees, two ``(ny, nx)`` arrays, row 0
        the southernmost row (scanning mode 64); longitudes in ``[-180, 180)``."""
        return _coordinates(self)


GridDefinition = GlobalLatLonGrid | LambertConformalGrid
"""Any grid the encoder writes."""


@cache
def _coordinates(grid: GridDefinition) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(grid, GlobalLatLonGrid):
        latitude = grid.latitudes()[:, None]
        longitude = grid.longitudes()[None, :]
    else:
        ny, nx = grid.shape
        latitude, longitude = lambert_conformal_coordinates(
            nx=nx,
            ny=ny,
            first_latitude=grid.la1 / 1e6,
            first_longitude=grid.lo1 / 1e6,
            lov=grid.lov / 1e6,
            latin1=grid.latin1 / 1e6,
            latin2=grid.latin2 / 1e6,
            dx_metres=grid.dx / 1e3,
            dy_metres=grid.dy / 1e3,
            earth_radius_metres=EARTH_RADIUS_METRES,
            scanning_mode=64,
        )
    latitude.setflags(write=False)
    longitude.setflags(write=False)
    return latitude, longitude
