"""The template follows the spec: the grid owns its dims and coordinates (Lambert conformal
equal to ecCodes on the real HRRR fixture), and the codec chain decodes real producer objects
(bz2 then GRIB for DWD's ICON-EU) through a repository created from the spec."""

from __future__ import annotations

import bz2
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import eccodes
import icechunk
import numpy as np
import obstore
import pytest
import xarray as xr

from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.grib_header import parse_grib_header
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.placement import FileRefs
from vidx_pipeline.providers.noaa import Wgrib2Match
from vidx_pipeline.refs_writer import write_refs
from vidx_pipeline.repository import RepositorySettings, open_repository, reader_credentials
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.spec import (
    DatasetSpec,
    Grid,
    LambertConformalGrid,
    ObjectStoreSpec,
    RegularLatLonGrid,
    SourceFileKind,
    SourceLayout,
    VariableAttrs,
    VariableSpec,
)

GRIB = Path(__file__).parent / "fixtures" / "real" / "grib"
HRRR = GRIB / "hrrr.t06z.wrfsfcf01-TMP.grib2"
ICON = GRIB / "icon-eu_europe_regular-lat-lon_single-level_2020062300_000_T_2M.grib2.bz2"
BUCKET = "template-sources"
GFS = get_dataset("noaa-gfs-forecast")


def lambert_grid_of(message: bytes) -> LambertConformalGrid:
    grid = parse_grib_header(message, source="hrrr").grid
    assert grid.template == 30
    assert grid.ni is not None
    assert grid.nj is not None
    return LambertConformalGrid(
        nx=grid.ni,
        ny=grid.nj,
        first_latitude=grid.first_latitude or 0.0,
        first_longitude=grid.first_longitude or 0.0,
        lov=grid.lov or 0.0,
        latin1=grid.latin1 or 0.0,
        latin2=grid.latin2 or 0.0,
        dx_metres=grid.dx_metres or 0.0,
        dy_metres=grid.dy_metres or 0.0,
        earth_radius_metres=grid.earth_radius_metres or 0.0,
        scanning_mode=grid.scanning_mode or 0,
    )


def eccodes_coordinates(message: bytes) -> tuple[np.ndarray, np.ndarray]:
    handle = eccodes.codes_new_from_message(message)
    try:
        shape = (eccodes.codes_get_long(handle, "Ny"), eccodes.codes_get_long(handle, "Nx"))
        latitudes = eccodes.codes_get_array(handle, "latitudes").reshape(shape)
        longitudes = eccodes.codes_get_array(handle, "longitudes").reshape(shape)
    finally:
        eccodes.codes_release(handle)
    return latitudes, longitudes


def _spec(grid: Grid, compression: str, index_format: str) -> DatasetSpec:
    kind = SourceFileKind(
        name="objects",
        data_key="{init:%Y%m%d%H}/f{lead_hours:03d}.grib2",
        index_format=index_format,
        index_key=None if index_format == "none" else "{init:%Y%m%d%H}/f{lead_hours:03d}.idx",
        compression=compression,  # type: ignore[arg-type]
    )
    variable = VariableSpec(
        name="field",
        attrs=VariableAttrs(long_name="a field", units="K", short_name="t"),
        match=Wgrib2Match(element="TMP", level="surface"),
    )
    return GFS.model_copy(
        update={
            "dataset_id": "template-test",
            "grid": grid,
            "levels": (),
            "variables": (variable,),
            "source": SourceLayout(store=ObjectStoreSpec(bucket=BUCKET), files=(kind,), centre=7),
        }
    )


def test_lambert_coordinates_equal_eccodes_on_the_real_hrrr_grid() -> None:
    message = HRRR.read_bytes()
    grid = lambert_grid_of(message)
    assert grid.header_problems(parse_grib_header(message, source="hrrr").grid) == []
    coords = grid.coordinates()
    latitudes, longitudes = eccodes_coordinates(message)
    assert coords["latitude"][0] == ("y", "x")
    np.testing.assert_allclose(coords["latitude"][1], latitudes, atol=1e-4, rtol=0)
    wrapped = (longitudes + 180) % 360 - 180
    np.testing.assert_allclose(coords["longitude"][1], wrapped, atol=1e-4, rtol=0)


def _lambert_forward(
    latitude: np.ndarray, longitude: np.ndarray, mapping: dict[str, object]
) -> tuple[np.ndarray, np.ndarray]:
    """CF ``lambert_conformal_conic`` (spherical, Snyder's eqs. 15-1 to 15-5) from its grid
    mapping attributes: the forward projection, independent of the pipeline's inverse one."""
    phi1, phi2 = np.radians(mapping["standard_parallel"])  # type: ignore[arg-type]
    phi0 = np.radians(mapping["latitude_of_projection_origin"])  # type: ignore[arg-type]
    lambda0 = np.radians(mapping["longitude_of_central_meridian"])  # type: ignore[arg-type]
    radius = float(mapping["earth_radius"])  # type: ignore[arg-type]
    if np.isclose(phi1, phi2):
        n = np.sin(phi1)
    else:
        n = np.log(np.cos(phi1) / np.cos(phi2)) / np.log(
            np.tan(np.pi / 4 + phi2 / 2) / np.tan(np.pi / 4 + phi1 / 2)
        )
    f = np.cos(phi1) * np.tan(np.pi / 4 + phi1 / 2) ** n / n
    rho = radius * f / np.tan(np.pi / 4 + np.radians(latitude) / 2) ** n
    rho0 = radius * f / np.tan(np.pi / 4 + phi0 / 2) ** n
    theta = n * ((np.radians(longitude) - lambda0 + np.pi) % (2 * np.pi) - np.pi)
    return rho * np.sin(theta), rho0 - rho * np.cos(theta)


def test_lambert_projection_coordinates_locate_eccodes_points_on_the_real_hrrr_grid() -> None:
    """ecCodes' latitude/longitude of every point, projected with the grid mapping's own
    attributes, fall on the template's ``x`` of their column and ``y`` of their row."""
    message = HRRR.read_bytes()
    grid = lambert_grid_of(message)
    coords = grid.coordinates()
    name, mapping = grid.grid_mapping()
    assert name == "lambert_conformal"
    latitudes, longitudes = eccodes_coordinates(message)
    x, y = _lambert_forward(latitudes, longitudes, mapping)
    assert coords["x"][0] == ("x",)
    assert coords["y"][0] == ("y",)
    np.testing.assert_allclose(x, np.broadcast_to(coords["x"][1], x.shape), atol=1, rtol=0)
    np.testing.assert_allclose(
        y, np.broadcast_to(coords["y"][1][:, None], y.shape), atol=15, rtol=0
    )
    assert np.all(np.diff(coords["x"][1]) == grid.dx_metres)


def test_a_message_on_another_grid_is_described() -> None:
    hrrr = parse_grib_header(HRRR.read_bytes(), source="hrrr").grid
    regular = RegularLatLonGrid(
        nlat=721, nlon=1440, lat_first=90, lat_last=-90, lon_first=0, lon_last=359.75
    )
    assert regular.header_problems(hrrr) == ["grid template 3.30, expected 3.0 (regular lat/lon)"]
    other = lambert_grid_of(HRRR.read_bytes()).model_copy(update={"nx": 1000})
    assert other.header_problems(hrrr) == ["grid 1799 x 1059, expected 1000 x 1059"]
    turned = lambert_grid_of(HRRR.read_bytes()).model_copy(update={"lov": 265.0})
    (problem,) = turned.header_problems(hrrr)
    assert problem.startswith("points (")
    assert problem.endswith(", 265.0) (lat1, lon1, LoV)")


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    with running_s3_server() as server:
        server.create_bucket(BUCKET, public_read=True)
        yield server


def _one_chunk_repository(
    tmp_path: Path, s3: LocalS3, spec: DatasetSpec, payload: bytes
) -> xr.Dataset:
    """A repository created from ``spec`` holding one virtual chunk: the whole uploaded object
    at init 2021-05-01 00z, lead 0."""
    key = "2021050100/f000.grib2"
    store = s3.store(BUCKET)
    obstore.put(store, key, payload)
    meta = obstore.head(store, key)
    data = SourceObject(key, meta["size"], meta["last_modified"], None)
    checksum = data.last_modified_checksum()
    repo = open_repository(
        spec, RepositorySettings(local_root=str(tmp_path)), source_endpoint=s3.endpoint
    )
    session = repo.writable_session()
    init = spec.append_dimension.value_at(0)
    (file,) = [f for f in expected_files(spec, init) if f.lead_hours == 0]
    refs = FileRefs(
        file,
        data,
        f"s3://{BUCKET}/{key}",
        checksum,
        [("field", (0,))],
        [0],
        [len(payload)],
        [],
        [],
        [],
    )
    write_refs(spec, session, {0: [refs]})
    session.commit("one ref")
    reader = icechunk.Repository.open(
        repo.settings.storage(spec.dataset_id),
        authorize_virtual_chunk_access=reader_credentials(spec),
    )
    return xr.open_zarr(reader.readonly_session(branch="main").store, consolidated=False)


def test_bz2_objects_decode_through_the_specs_codec_chain(tmp_path: Path, s3: LocalS3) -> None:
    compressed = ICON.read_bytes()
    message = bz2.decompress(compressed)
    header = parse_grib_header(message, source="icon").grid
    assert header.ni is not None
    assert header.nj is not None
    grid = RegularLatLonGrid(
        nlat=header.nj,
        nlon=header.ni,
        lat_first=header.first_latitude or 0.0,
        lat_last=header.last_latitude or 0.0,
        lon_first=header.first_longitude or 0.0,
        lon_last=header.last_longitude or 0.0,
    )
    spec = _spec(grid, "bz2", "none")
    ds = _one_chunk_repository(tmp_path, s3, spec, compressed)
    actual = ds["field"].isel(init_time=0, lead_time=0).values
    expected = eccodes_decode(message)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-6, equal_nan=True)


def test_hrrr_decodes_on_its_lambert_grid_with_2d_coordinates(tmp_path: Path, s3: LocalS3) -> None:
    message = HRRR.read_bytes()
    spec = _spec(lambert_grid_of(message), "none", "wgrib2_idx")
    ds = _one_chunk_repository(tmp_path, s3, spec, message)
    field = ds["field"].isel(init_time=0, lead_time=0)
    assert field.dims == ("y", "x")
    np.testing.assert_allclose(field.values, eccodes_decode(message), rtol=1e-6)
    latitudes, longitudes = eccodes_coordinates(message)
    np.testing.assert_allclose(ds["latitude"].values, latitudes, atol=1e-4, rtol=0)
    np.testing.assert_allclose(
        ds["longitude"].values, (longitudes + 180) % 360 - 180, atol=1e-4, rtol=0
    )
    assert dt.timedelta(0) == ds["lead_time"].values[0]
