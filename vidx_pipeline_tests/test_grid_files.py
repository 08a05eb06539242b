"""Cell coordinates from an unstructured grid's grid file: read from a directory or over HTTP,
plain or bz2, netCDF-4 or classic; checked to be the grid the messages name; committed once, in
one commit, as CF coordinates xarray and cf-xarray read; refused naming the file otherwise."""

from __future__ import annotations

import bz2
import socket
from pathlib import Path

import cf_xarray  # noqa: F401 - registers the .cf accessor
import netCDF4
import numpy as np
import pytest
import xarray as xr

from vidx_offline.http_server import running_http_server
from vidx_offline.icon_archive import IcosahedralGrid
from vidx_offline.icon_grid_file import (
    DWD_GRID_FILES_DIRECTORY,
    ICON_EU_GRID_FILE,
    Format,
    IconGridFile,
    write_icon_grid_file,
)
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.grid_files import GridFileError, attach_cell_coordinates
from vidx_pipeline.orchestration.resources import (
    IcechunkRepositoryResource,
    RepositoryStorageResource,
)
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline_tests.datasets.test_dwd_icon_eu_icosahedral_forecast_5_day import (
    SMALL_GRID,
    small_spec,
)

SPEC = get_dataset("dwd-icon-eu-icosahedral-forecast-5-day")


def _spec() -> DatasetSpec:
    return small_spec("http://127.0.0.1:1/")  # never read: no partition is ingested here


def _repository(tmp_path: Path) -> DatasetRepository:
    return open_repository(_spec(), RepositorySettings(local_root=str(tmp_path / "repos")))


def _file_degrees(written: IconGridFile, name: str) -> np.ndarray:
    """Variable ``name`` of the written file, read back by netCDF4 alone, in degrees."""
    data = written.path.read_bytes()
    if written.path.suffix == ".bz2":
        data = bz2.decompress(data)
    with netCDF4.Dataset("file", memory=data) as dataset:
        variable = dataset.variables[name]
        assert variable.units == "radian"
        return np.degrees(np.asarray(variable[:], "float64"))


def _opened(repository: DatasetRepository) -> xr.Dataset:
    store = repository.readonly_session().store
    return xr.open_zarr(store, consolidated=False, chunks=None)


def _commits(repository: DatasetRepository) -> int:
    return sum(1 for _ in repository.repo.ancestry(branch="main"))


def test_the_icon_eu_dataset_names_dwds_grid_file() -> None:
    assert SPEC.grid.kind == "unstructured"
    assert SPEC.grid.grid_file == ICON_EU_GRID_FILE
    assert SPEC.grid.attributes()["grid_file"] == ICON_EU_GRID_FILE


@pytest.mark.parametrize("file_format", ["NETCDF4", "NETCDF3_64BIT_OFFSET"])
@pytest.mark.parametrize("compress", [True, False], ids=["bz2", "plain"])
def test_a_grid_files_positions_become_cf_cell_coordinates(
    tmp_path: Path, file_format: Format, compress: bool
) -> None:
    written = write_icon_grid_file(
        tmp_path / "grids", SMALL_GRID, file_format=file_format, compress=compress
    )
    repository = _repository(tmp_path)
    before = _commits(repository)
    snapshot = attach_cell_coordinates(repository, str(tmp_path / "grids"))
    assert snapshot is not None
    assert _commits(repository) == before + 1
    ds = _opened(repository)
    assert ds.cf.coordinates["latitude"] == ["latitude"]
    assert ds.cf.coordinates["longitude"] == ["longitude"]
    assert ds.latitude.dims == ds.longitude.dims == ("cell",)
    assert ds.latitude_bounds.dims == ("cell", "vertex")
    assert {"latitude", "longitude", "latitude_bounds", "longitude_bounds"} <= set(ds.coords)
    np.testing.assert_array_equal(ds.latitude.values, _file_degrees(written, "clat"))
    np.testing.assert_array_equal(ds.longitude.values, _file_degrees(written, "clon"))
    np.testing.assert_array_equal(
        ds.latitude_bounds.values, _file_degrees(written, "clat_vertices")
    )
    np.testing.assert_array_equal(
        ds.longitude_bounds.values, _file_degrees(written, "clon_vertices")
    )
    assert ds.latitude.attrs["units"] == "degrees_north"
    assert ds.cf.bounds["latitude"] == ["latitude_bounds"]
    # The variables still index the same cells, and the grid still names itself.
    assert ds.t_2m.dims[-1] == "cell"
    assert ds.attrs["grid_uuid"] == SPEC.grid.attributes()["grid_uuid"]
    # Attached once: a second call finds them and commits nothing.
    assert attach_cell_coordinates(repository, str(tmp_path / "grids")) is None
    assert _commits(repository) == before + 1


def test_dwds_published_grid_file_is_read_over_http(tmp_path: Path) -> None:
    with running_http_server(tmp_path / "opendata") as http:
        written = write_icon_grid_file(http.root / DWD_GRID_FILES_DIRECTORY, SMALL_GRID)
        repository = _repository(tmp_path)
        attach_cell_coordinates(repository, http.base_url + DWD_GRID_FILES_DIRECTORY)
        requested = [path for _, path in http.requests]
    assert f"/{DWD_GRID_FILES_DIRECTORY}{ICON_EU_GRID_FILE}.bz2" in requested
    ds = _opened(repository)
    np.testing.assert_array_equal(ds.latitude.values, _file_degrees(written, "clat"))
    assert ds.latitude.attrs["source"].startswith(http.base_url + DWD_GRID_FILES_DIRECTORY)


def test_the_dagster_resource_attaches_them_where_grid_files_are_configured(
    tmp_path: Path,
) -> None:
    spec = _spec()
    write_icon_grid_file(tmp_path / "grids", SMALL_GRID)
    unconfigured = RepositoryStorageResource(local_root=str(tmp_path / "repos"))
    repository = IcechunkRepositoryResource(dataset_id=spec.dataset_id, storage=unconfigured)
    assert "latitude" not in _opened(repository.open(spec)).coords
    configured = RepositoryStorageResource(
        local_root=str(tmp_path / "repos"), grid_files=str(tmp_path / "grids")
    )
    repository = IcechunkRepositoryResource(dataset_id=spec.dataset_id, storage=configured)
    assert _opened(repository.open(spec)).latitude.dims == ("cell",)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ({"uuid": "0" * 32}, "uuidOfHGrid 00000000000000000000000000000000, expected ec13b8bc"),
        ({"grid": IcosahedralGrid(cells=SMALL_GRID.cells, number=28)}, "number_of_grid_used 28"),
        ({"grid": IcosahedralGrid(cells=SMALL_GRID.cells + 1)}, "58 cells, expected 57"),
        ({"name": "icon_grid_0026_R03B07_G.nc"}, "is not in"),
    ],
    ids=["another-uuid", "another-number", "another-cell-count", "missing"],
)
def test_a_file_that_is_not_the_grid_is_refused_naming_it_and_nothing_committed(
    tmp_path: Path, written: dict[str, object], expected: str
) -> None:
    options = {"grid": SMALL_GRID, **written}
    write_icon_grid_file(tmp_path / "grids", **options)  # type: ignore[arg-type]
    repository = _repository(tmp_path)
    before = _commits(repository)
    with pytest.raises(GridFileError, match=expected) as refused:
        attach_cell_coordinates(repository, str(tmp_path / "grids"))
    assert ICON_EU_GRID_FILE in str(refused.value)
    assert _commits(repository) == before
    assert "latitude" not in _opened(repository).variables


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"not bz2 at all", "not bz2"), (bz2.compress(b"<html>moved</html>"), "not netCDF")],
)
def test_an_unreadable_grid_file_is_refused_naming_it(
    tmp_path: Path, body: bytes, expected: str
) -> None:
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / f"{ICON_EU_GRID_FILE}.bz2").write_bytes(body)
    repository = _repository(tmp_path)
    with pytest.raises(GridFileError, match=expected) as refused:
        attach_cell_coordinates(repository, str(tmp_path / "grids"))
    assert f"{ICON_EU_GRID_FILE}.bz2" in str(refused.value)


def test_a_server_that_does_not_answer_is_named(tmp_path: Path) -> None:
    """Nothing listens on the port: the client's few retries, then an error naming the URL."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    repository = _repository(tmp_path)
    with pytest.raises(GridFileError, match="not served") as refused:
        attach_cell_coordinates(repository, f"http://127.0.0.1:{port}/weather/lib/cdo/")
    assert f"127.0.0.1:{port}/weather/lib/cdo/{ICON_EU_GRID_FILE}" in str(refused.value)


def test_positions_on_another_dimension_are_refused(tmp_path: Path) -> None:
    """The file has the grid's cell dim, but its clat/clon are laid along another one."""
    (tmp_path / "grids").mkdir()
    path = tmp_path / "grids" / ICON_EU_GRID_FILE
    with netCDF4.Dataset(path, mode="w") as dataset:
        dataset.createDimension("cell", SMALL_GRID.cells)
        dataset.createDimension("vertex", 5)
        dataset.createDimension("nv", 3)
        dataset.uuidOfHGrid = SPEC.grid.attributes()["grid_uuid"]
        dataset.number_of_grid_used = 27
        for name, dims in (
            ("clat", ("vertex",)),
            ("clon", ("vertex",)),
            ("clat_vertices", ("cell", "nv")),
            ("clon_vertices", ("cell", "nv")),
        ):
            variable = dataset.createVariable(name, "f8", dims)
            variable.units = "radian"
            variable[:] = 0.1
    repository = _repository(tmp_path)
    with pytest.raises(GridFileError, match=r"clat and clon of shapes \(5,\)") as refused:
        attach_cell_coordinates(repository, str(tmp_path / "grids"))
    assert str(path) in str(refused.value)
