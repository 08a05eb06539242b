"""ICON grid files as DWD and MPI-M write them, for the offline archive: netCDF (netCDF-4, or
classic 64-bit offset as older grid files are) with the cells' centres ``clat``/``clon`` (dim
``cell``) and corners ``clat_vertices``/``clon_vertices`` (``cell``, ``nv`` = 3) in radians, and
the grid's identity in the global attributes ``uuidOfHGrid`` (hyphenated, as ICON writes it) and
``number_of_grid_used``. DWD publishes them bz2-compressed (``weather/lib/cdo/<name>.bz2``).

The positions are synthetic (deterministic cells spread over ICON-EU's domain, each a small
triangle around its centre), not ICON's: what is tested is that a grid file's positions reach
the cube unchanged, in the file's cell order.
"""

from __future__ import annotations

import bz2
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import netCDF4
import numpy as np

from vidx_offline.icon_archive import IcosahedralGrid

DWD_GRID_FILES_DIRECTORY = "weather/lib/cdo/"
ICON_EU_GRID_FILE = "icon_grid_0027_R03B08_N02.nc"
ICON_EU = IcosahedralGrid()
_DOMAIN = (23.5, 70.5, -23.5, 62.5)  # ICON-EU's latitude and longitude span, degrees
_HALF_SIDE_DEGREES = 0.03

Format = Literal["NETCDF4", "NETCDF3_64BIT_OFFSET"]


@dataclass(frozen=True)
class IconGridFile:
    """A written grid file: its path and the positions it holds, in radians as written."""

    path: Path
    clat: np.ndarray
    clon: np.ndarray
    clat_vertices: np.ndarray
    clon_vertices: np.ndarray


def synthetic_cells(cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centres and triangle corners (degrees) of ``cells`` cells spread over ICON-EU's domain."""
    south, north, west, east = _DOMAIN
    index = np.arange(cells, dtype="float64")
    lat = south + (north - south) * ((index * 0.6180339887498949) % 1.0)
    lon = west + (east - west) * (index + 0.5) / cells
    offsets = _HALF_SIDE_DEGREES * np.array([[1.0, 0.0], [-0.5, 0.866], [-0.5, -0.866]])
    lat_vertices = lat[:, None] + offsets[None, :, 0]
    lon_vertices = lon[:, None] + offsets[None, :, 1]
    return lat, lon, lat_vertices, lon_vertices


def hyphenated(uuid: str) -> str:
    """A 32-hex-digit UUID as ICON's grid files write it: 8-4-4-4-12."""
    return f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"


def write_icon_grid_file(
    directory: Path,
    grid: IcosahedralGrid = ICON_EU,
    *,
    name: str = ICON_EU_GRID_FILE,
    file_format: Format = "NETCDF4",
    compress: bool = True,
    uuid: str | None = None,
) -> IconGridFile:
    """Write ``grid``'s grid file as ``directory/name`` (``.bz2`` appended and compressed if
    ``compress``, as DWD publishes it); ``uuid`` overrides the UUID written (another grid's)."""
    lat, lon, lat_vertices, lon_vertices = (np.radians(a) for a in synthetic_cells(grid.cells))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    with netCDF4.Dataset(path, mode="w", format=file_format) as dataset:
        dataset.createDimension("cell", grid.cells)
        dataset.createDimension("nv", 3)
        dataset.setncattr("uuidOfHGrid", hyphenated(uuid or grid.uuid))
        dataset.setncattr("number_of_grid_used", np.int32(grid.number))
        dataset.setncattr("grid_file_uri", f"http://icon-downloads.mpimet.mpg.de/grids/{name}")
        for variable, values, dims, standard in (
            ("clat", lat, ("cell",), "latitude"),
            ("clon", lon, ("cell",), "longitude"),
            ("clat_vertices", lat_vertices, ("cell", "nv"), None),
            ("clon_vertices", lon_vertices, ("cell", "nv"), None),
        ):
            written = dataset.createVariable(variable, "f8", dims)
            written.units = "radian"
            if standard:
                written.standard_name = standard
                written.bounds = f"{variable}_vertices"
            written[:] = values
    if compress:
        packed = path.with_name(name + ".bz2")
        packed.write_bytes(bz2.compress(path.read_bytes(), 9))
        path.unlink()
        path = packed
    return IconGridFile(path, lat, lon, lat_vertices, lon_vertices)
