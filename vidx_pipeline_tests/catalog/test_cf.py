"""CF conventions as cf-xarray reads them, on what readers get: a repository the pipeline wrote,
and the template of every registered dataset (written to memory and opened back).

Known CF gaps of the template are spelled out (:data:`NOT_VERTICAL`,
:data:`WITHOUT_LATITUDE_LONGITUDE`, strict xfails): fixing one fails its test until the
exception is removed.
"""

from __future__ import annotations

import functools

import cf_xarray  # noqa: F401 - registers the .cf accessor
import pytest
import xarray as xr
from zarr.storage import MemoryStore

from vidx_pipeline.catalog import open_dataset
from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.spec import LEAD_TIME, DatasetSpec
from vidx_pipeline.template import write_template
from vidx_pipeline_tests.catalog.conftest import Published

SPECS = list(DATASETS.values())
every_dataset = pytest.mark.parametrize("spec", SPECS, ids=[s.dataset_id for s in SPECS])


def _template(spec: DatasetSpec) -> xr.Dataset:
    return _template_of(spec.dataset_id)


@functools.cache
def _template_of(dataset_id: str) -> xr.Dataset:
    spec = DATASETS[dataset_id]
    store = MemoryStore()
    write_template(spec, store)
    return xr.open_zarr(store, consolidated=False, chunks=None)


def _assert_cf(ds: xr.Dataset, spec: DatasetSpec) -> None:
    assert str(ds.attrs["Conventions"]).startswith("CF-")
    coordinates = ds.cf.coordinates
    if spec.dataset_id not in WITHOUT_LATITUDE_LONGITUDE:
        assert coordinates["latitude"] == ["latitude"]
        assert coordinates["longitude"] == ["longitude"]
        assert ds.latitude.attrs["units"] == "degrees_north"
        assert ds.longitude.attrs["units"] == "degrees_east"
    standard = ds.cf.standard_names
    append = spec.append_dimension.name
    if spec.lead_times is not None:
        # Forecasts: the reference time, the period and the valid time (the T axis).
        assert standard["forecast_reference_time"] == [append]
        assert LEAD_TIME in standard["forecast_period"]
        assert ds.cf.axes["T"] == ["valid_time"]
        assert coordinates["time"] == ["valid_time"]
        assert ds.cf["forecast_period"].dtype.kind == "m"
        assert ds.valid_time.dims == (append, LEAD_TIME)
    else:
        assert ds.cf.axes["T"] == [append]
        assert coordinates["time"] == [append]
    assert ds.cf["time"].dtype.kind == "M"
    for variable in spec.variables:
        attrs = ds[variable.name].attrs
        assert attrs["units"], variable.name
        assert attrs["long_name"], variable.name
        if variable.attrs.standard_name:
            assert variable.name in standard[variable.attrs.standard_name], variable.name
            assert variable.name in ds.cf[[variable.attrs.standard_name]].data_vars


def test_a_published_repository_reads_as_cf(published_local: Published) -> None:
    ds = open_dataset("noaa-gfs-forecast", locations=published_local.locations)
    _assert_cf(ds, published_local.repository.spec)


@every_dataset
def test_every_template_reads_as_cf(spec: DatasetSpec) -> None:
    _assert_cf(_template(spec), spec)


NOT_VERTICAL = frozenset({"potential_vorticity_level", "sigma_layer", "pressure_difference_layer"})
"""CF gaps reported, not fixed here (template.py and the specs are others'): potential-vorticity
levels have no ``positive``; the text-valued layers are neither vertical coordinates nor bounds.
Fixing one fails the test below until it is removed from this set."""


@every_dataset
def test_every_level_dimension_is_a_vertical_coordinate_but_the_known_gaps(
    spec: DatasetSpec,
) -> None:
    ds = _template(spec)
    vertical = set(ds.cf.coordinates.get("vertical", []))
    levels = {level.name for level in spec.levels}
    assert levels - NOT_VERTICAL <= vertical
    assert not levels & NOT_VERTICAL & vertical, "a gap is fixed: shrink NOT_VERTICAL"


WITHOUT_LATITUDE_LONGITUDE = frozenset({"dwd-icon-eu-icosahedral-forecast-5-day"})
"""A CF gap reported, not fixed: an unstructured grid's cell positions are not in its messages
but in the grid file its UUID names (DWD's, MPI-M's), which the pipeline does not read, so
these cubes have no latitude/longitude. Fixing it fails the strict xfail below."""


@pytest.mark.parametrize("dataset_id", sorted(WITHOUT_LATITUDE_LONGITUDE))
@pytest.mark.xfail(strict=True, reason="cell positions are in the grid file, not attached")
def test_an_unstructured_grid_has_cell_latitude_and_longitude(dataset_id: str) -> None:
    ds = _template(DATASETS[dataset_id])
    assert ds.cf.coordinates["latitude"] == ["latitude"]
    assert ds.latitude.dims == ("cell",)


def test_an_unstructured_grid_names_itself() -> None:
    """Without cell coordinates, the cube says which grid its ``cell`` dim indexes."""
    ds = _template(DATASETS["dwd-icon-eu-icosahedral-forecast-5-day"])
    assert {name: ds[name].dims[-1] for name in ds.data_vars if name != "ingested"} == {
        name: "cell" for name in ds.data_vars if name != "ingested"
    }
    assert (ds.attrs["grid_number"], ds.attrs["grid_uuid"]) == (
        27,
        "ec13b8bcb82d11e4b13f4d55411d42e6",
    )


def test_a_projected_grid_names_its_grid_mapping() -> None:
    """Every data variable of the HRRR cube is georeferenced for CF tools: a
    ``lambert_conformal_conic`` grid mapping and projection coordinates on ``y``/``x``."""
    ds = _template(DATASETS["noaa-hrrr-forecast-48-hour"])
    assert ds.cf.grid_mapping_names == {"lambert_conformal_conic": ["lambert_conformal"]}
    for name in ds.data_vars:
        assert ds[name].attrs["grid_mapping"] == "lambert_conformal", name
    assert ds.cf.axes["X"] == ["x"]
    assert ds.cf.axes["Y"] == ["y"]
    assert ds.x.attrs["units"] == ds.y.attrs["units"] == "m"
