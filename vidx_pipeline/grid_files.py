"""Cell positions of an unstructured grid, from its grid file.

ICON's grid files (DWD's, MPI-M's) are netCDF, classic or netCDF-4: the cells' centres ``clat``
and ``clon`` (dim ``cell``) and their triangles' corners ``clat_vertices``/``clon_vertices``
(``cell``, ``nv``), in radians, and the grid's identity in the global attributes
``uuidOfHGrid`` and ``number_of_grid_used``. The messages name the grid (number and UUID), never
its positions.

Where grid files are configured (``VIDX_GRID_FILES``: a directory, or an ``http(s)`` URL prefix
such as DWD's ``https://opendata.dwd.de/weather/lib/cdo/``), :func:`attach_cell_coordinates`
reads the file the spec's grid names (plain, else ``.bz2`` as DWD publishes it), checks that it
is the grid the messages name (UUID, number, cell count) and commits, in one commit,
``latitude`` and ``longitude`` (``cell``, degrees) and their corners ``latitude_bounds`` and
``longitude_bounds`` (``cell``, ``vertex``), listed in the root group's ``coordinates``
attribute so that xarray opens them as coordinates. A repository that has them is left alone; a
file that is not the grid is refused naming it, and nothing is committed.
"""

from __future__ import annotations

import bz2
from dataclasses import dataclass
from typing import Any

import icechunk
import numpy as np
import obstore
import zarr
from obstore.exceptions import BaseError, NotFoundError
from zarr.core.common import JSON

from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.source_store import SourceClientSettings, first_line, open_source_store
from vidx_pipeline.spec import HttpStoreSpec, UnstructuredGrid

LATITUDE = "latitude"
LONGITUDE = "longitude"
LATITUDE_BOUNDS = "latitude_bounds"
LONGITUDE_BOUNDS = "longitude_bounds"
CELL_COORDINATES = (LATITUDE, LONGITUDE, LATITUDE_BOUNDS, LONGITUDE_BOUNDS)
VERTEX = "vertex"
ATTACH_ATTEMPTS = 10
_GRID_FILE_CLIENT = SourceClientSettings(
    request_timeout_seconds=600,  # DWD's ICON-EU grid file is tens of MB
    max_retries=3,  # a server that does not answer is named within a minute, not three
    retry_timeout_seconds=30,
)


class GridFileError(ValueError):
    """A grid file that is missing, unreadable, or not the grid the dataset's messages name;
    the message names the file."""


@dataclass(frozen=True)
class CellCoordinates:
    """Each cell's centre and corners, in degrees, in the grid file's (the messages') cell
    order; ``source`` is where they were read."""

    latitude: np.ndarray
    longitude: np.ndarray
    latitude_bounds: np.ndarray
    longitude_bounds: np.ndarray
    source: str


def fetch_grid_file(root: str, name: str) -> tuple[str, bytes]:
    """The grid file ``name`` under ``root`` (a directory or an ``http(s)`` URL prefix): where
    it was read and its netCDF bytes (``name`` itself, else ``name.bz2`` decompressed)."""
    prefix = root if root.endswith("/") else root + "/"
    for key in (name, f"{name}.bz2"):
        location = prefix + key
        try:
            data = _read(prefix, key)
        except (FileNotFoundError, NotFoundError):
            continue
        except BaseError as error:  # obstore: the server did not serve it after the retries
            raise GridFileError(f"grid file {location}: not served ({first_line(error)})") from None
        if not key.endswith(".bz2"):
            return location, data
        try:
            return location, bz2.decompress(data)
        except (OSError, ValueError) as error:
            raise GridFileError(f"grid file {location}: not bz2 ({error})") from None
    raise GridFileError(f"grid file {name} is not in {prefix} (nor {name}.bz2)")


def _read(prefix: str, key: str) -> bytes:
    if prefix.startswith(("http://", "https://")):
        store = open_source_store(HttpStoreSpec(base_url=prefix), client=_GRID_FILE_CLIENT)
        return bytes(obstore.get(store, key).bytes())
    with open(prefix + key, "rb") as file:
        return file.read()


def read_cell_coordinates(data: bytes, grid: UnstructuredGrid, location: str) -> CellCoordinates:
    """The cell coordinates in the netCDF grid file ``data`` (read from ``location``), checked
    to be ``grid``'s: the UUID and grid number of its global attributes, and its cell count."""
    import netCDF4  # the only user; a heavy import the rest of the pipeline never needs

    try:
        dataset = netCDF4.Dataset("grid-file", mode="r", memory=data)
    except OSError as error:
        raise GridFileError(f"grid file {location}: not netCDF ({error})") from None
    with dataset:
        attrs = {name: dataset.getncattr(name) for name in dataset.ncattrs()}
        uuid = str(attrs.get("uuidOfHGrid", "")).replace("-", "").lower()
        number = attrs.get("number_of_grid_used")
        problems = []
        if uuid != grid.grid_uuid:
            problems.append(f"uuidOfHGrid {uuid or '(none)'}, expected {grid.grid_uuid}")
        if number is None or int(number) != grid.grid_number:
            problems.append(f"number_of_grid_used {number}, expected {grid.grid_number}")
        cells = len(dataset.dimensions["cell"]) if "cell" in dataset.dimensions else None
        if cells != grid.cells:
            problems.append(f"{cells} cells, expected {grid.cells}")
        if problems:
            raise GridFileError(f"grid file {location} is not the grid: {'; '.join(problems)}")
        latitude, longitude, latitude_bounds, longitude_bounds = (
            _degrees(dataset, name, location)
            for name in ("clat", "clon", "clat_vertices", "clon_vertices")
        )
    if latitude.shape != (grid.cells,) or longitude.shape != (grid.cells,):
        raise GridFileError(
            f"grid file {location}: clat and clon of shapes {latitude.shape} and "
            f"{longitude.shape}, expected ({grid.cells},)"
        )
    if (
        latitude_bounds.ndim != 2
        or latitude_bounds.shape[0] != grid.cells
        or latitude_bounds.shape != longitude_bounds.shape
    ):
        raise GridFileError(
            f"grid file {location}: vertices of shape {latitude_bounds.shape} and "
            f"{longitude_bounds.shape}, expected ({grid.cells}, nv)"
        )
    if not (np.isfinite(latitude).all() and np.abs(latitude).max() <= 90):
        raise GridFileError(f"grid file {location}: clat is not a latitude")
    return CellCoordinates(latitude, longitude, latitude_bounds, longitude_bounds, location)


def _degrees(dataset: Any, name: str, location: str) -> np.ndarray:
    """Variable ``name`` of the grid file (a ``netCDF4.Dataset``) in degrees (ICON writes
    radians)."""
    if name not in dataset.variables:
        raise GridFileError(f"grid file {location} has no variable {name}")
    variable = dataset.variables[name]
    variable.set_auto_mask(False)
    values = np.asarray(variable[:], dtype="float64")
    units = str(getattr(variable, "units", ""))
    match units:
        case "radian" | "radians" | "rad":
            return np.degrees(values)
        case "degrees" | "degree" | "degrees_north" | "degrees_east":
            return values
    raise GridFileError(f"grid file {location}: {name} in units {units!r}, not radian or degrees")


def has_cell_coordinates(repository: DatasetRepository) -> bool:
    group = zarr.open_group(repository.readonly_session().store, mode="r")
    return LATITUDE in group


def attach_cell_coordinates(repository: DatasetRepository, grid_files: str) -> str | None:
    """Commit the cell coordinates of the repository's unstructured grid, read from its grid
    file under ``grid_files`` (see the module contract). Returns the snapshot, or None when
    there is nothing to do: the grid names no grid file, or the repository has them already."""
    spec = repository.spec
    grid = spec.grid
    if not isinstance(grid, UnstructuredGrid) or grid.grid_file is None:
        return None
    if has_cell_coordinates(repository):
        return None
    location, data = fetch_grid_file(grid_files, grid.grid_file)
    coordinates = read_cell_coordinates(data, grid, location)
    for _ in range(ATTACH_ATTEMPTS):
        session = repository.writable_session()
        group = zarr.open_group(session.store, mode="r+")
        if LATITUDE in group:
            return None
        _write(group, coordinates)
        try:
            return repository.commit(
                session,
                f"attach {spec.dataset_id} cell coordinates from {grid.grid_file}",
                {"dataset_id": spec.dataset_id, "kind": "cell_coordinates", "source": location},
            )
        except icechunk.ConflictError:
            continue  # another commit landed (a partition's refs): redo on top of it
    raise RuntimeError(f"{spec.dataset_id}: could not commit the cell coordinates")


def _write(group: zarr.Group, coordinates: CellCoordinates) -> None:
    source = f"{coordinates.source} (clat, clon, clat_vertices, clon_vertices)"
    # CF: bounds take their coordinate's units; with their own, cf-xarray takes them for
    # latitudes and longitudes too.
    arrays = {
        LATITUDE: (
            coordinates.latitude,
            ("cell",),
            {
                "standard_name": "latitude",
                "long_name": "latitude of the cell centre",
                "units": "degrees_north",
                "bounds": LATITUDE_BOUNDS,
                "source": source,
            },
        ),
        LONGITUDE: (
            coordinates.longitude,
            ("cell",),
            {
                "standard_name": "longitude",
                "long_name": "longitude of the cell centre",
                "units": "degrees_east",
                "bounds": LONGITUDE_BOUNDS,
                "source": source,
            },
        ),
        LATITUDE_BOUNDS: (
            coordinates.latitude_bounds,
            ("cell", VERTEX),
            {"long_name": "latitude of the cell's vertices"},
        ),
        LONGITUDE_BOUNDS: (
            coordinates.longitude_bounds,
            ("cell", VERTEX),
            {"long_name": "longitude of the cell's vertices"},
        ),
    }
    for name, (values, dims, attrs) in arrays.items():
        array = group.create_array(
            name,
            shape=values.shape,
            dtype="float64",
            chunks=values.shape,
            dimension_names=dims,
            attributes=dict[str, JSON](attrs),
            fill_value=np.nan,
        )
        array[...] = values
    listed = str(group.attrs.get("coordinates", "")).split()
    group.attrs["coordinates"] = " ".join([*listed, *CELL_COORDINATES])
