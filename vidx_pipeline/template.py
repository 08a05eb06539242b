"""The Zarr template of a dataset: arrays, coordinates, CF metadata, and how the append
dimension grows.

Layout written by :func:`write_template` (GFS shown; an ensemble adds ``ensemble_member``):

- one array per variable, dims ``(init_time, lead_time, latitude, longitude)``, float32 with NaN
  fill, serializer ``gribberish`` (``var`` set), no compressor, no shards; one chunk = one GRIB
  message = one ref;
- ``init_time`` (int64 seconds since the epoch, one chunk), ``lead_time``, ``latitude``,
  ``longitude`` dimension coordinates; ``valid_time`` and ``ingested`` (whether a lead's refs are
  committed: the per-init progress) as 2-D coordinates chunked one init per chunk, so that
  partitions write disjoint chunks.

The append dimension starts empty and :func:`grow_append_dimension` extends it to the newest
value being ingested, never beyond. Positions are pure arithmetic on the spec's start and
frequency, so every writer agrees on where an init goes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from gribberish.zarr import GribberishCodec
from zarr.abc.store import Store
from zarr.codecs.numcodecs import Delta

from vidx_pipeline.spec import DatasetSpec

TIME_UNITS = "seconds since 1970-01-01 00:00:00"
PROGRESS_ARRAY = "ingested"
VALID_TIME_ARRAY = "valid_time"
# The init_time coordinate is read whole by every reader: keep it in one chunk.
APPEND_COORD_CHUNK = 1 << 20
# valid_time is written only when the append dimension grows (and growing sessions never run
# concurrently), so its chunks may span many inits: about a month of 6-hourly inits.
VALID_TIME_APPEND_CHUNK = 120
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_seconds(value: dt.datetime) -> int:
    return int((value - _EPOCH).total_seconds())


def _progress_dims(spec: DatasetSpec) -> tuple[str, ...]:
    return spec.dims[:-2]


def template_dataset(spec: DatasetSpec) -> tuple[xr.Dataset, dict[str, dict[str, object]]]:
    """The empty (zero-length append dimension) dataset and its Zarr encodings."""
    append = spec.append_dimension.name
    nlat, nlon = spec.grid.shape
    leading = spec.dims[:-2]
    leading_shape = tuple(0 if dim == append else _dim_size(spec, dim) for dim in leading)
    progress_chunks = tuple(1 if dim == append else _dim_size(spec, dim) for dim in leading)

    coords: dict[str, object] = {
        append: (append, np.array([], "datetime64[ns]"), _append_attrs(spec)),
        "latitude": (
            "latitude",
            spec.grid.latitudes(),
            {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"},
        ),
        "longitude": (
            "longitude",
            spec.grid.longitudes(),
            {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"},
        ),
        PROGRESS_ARRAY: (
            leading,
            np.zeros(leading_shape, bool),
            {
                "long_name": "whether this step's refs are committed",
                "comment": "Per-partition ingest progress, written in the same "
                "commit as the refs it describes.",
            },
        ),
    }
    encoding: dict[str, dict[str, object]] = {
        append: {
            "units": TIME_UNITS,
            "calendar": "proleptic_gregorian",
            "dtype": "int64",
            "chunks": (APPEND_COORD_CHUNK,),
            "filters": [_time_delta()],
        },
        PROGRESS_ARRAY: {"chunks": progress_chunks},
    }
    if spec.lead_times is not None:
        coords["lead_time"] = (
            "lead_time",
            pd.to_timedelta(spec.lead_hours, unit="h"),
            {"standard_name": "forecast_period", "long_name": "lead time"},
        )
        encoding["lead_time"] = {"units": "seconds", "dtype": "int64"}
        coords[VALID_TIME_ARRAY] = (
            (append, "lead_time"),
            np.empty((0, len(spec.lead_hours)), "datetime64[ns]"),
            {"standard_name": "time", "long_name": "valid time"},
        )
        encoding[VALID_TIME_ARRAY] = {
            "units": TIME_UNITS,
            "calendar": "proleptic_gregorian",
            "dtype": "int64",
            "chunks": (VALID_TIME_APPEND_CHUNK, len(spec.lead_hours)),
            "filters": [_time_delta()],
        }
    if spec.ensemble is not None:
        coords["ensemble_member"] = (
            "ensemble_member",
            np.array(spec.ensemble.members),
            {"long_name": "ensemble member"},
        )

    data_vars = {}
    for variable in spec.variables:
        data_vars[variable.name] = (
            spec.dims,
            np.empty((*leading_shape, nlat, nlon), variable.dtype),
            variable.attrs.cf(),
        )
        encoding[variable.name] = {
            "serializer": GribberishCodec(var=variable.name),
            "compressors": None,
            "chunks": spec.chunk_shape,
            "_FillValue": np.nan,
        }
    attrs = {
        "dataset_id": spec.dataset_id,
        "title": spec.name,
        "summary": spec.description,
        "attribution": spec.attribution,
        "Conventions": "CF-1.10",
        "source_bucket": spec.source.store.url_prefix,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs), encoding


def _time_delta() -> Delta:
    """Time coordinates are rewritten as the append dimension grows: delta-encoded, their
    arithmetic progressions compress to almost nothing."""
    return Delta(dtype="int64")


def _append_attrs(spec: DatasetSpec) -> dict[str, str]:
    if spec.append_dimension.name == "init_time":
        return {"standard_name": "forecast_reference_time", "long_name": "initialization time"}
    return {"standard_name": "time", "long_name": "valid time"}


def _dim_size(spec: DatasetSpec, dim: str) -> int:
    match dim:
        case "lead_time":
            return len(spec.lead_hours)
        case "ensemble_member":
            assert spec.ensemble is not None
            return len(spec.ensemble.members)
        case "latitude":
            return spec.grid.nlat
        case "longitude":
            return spec.grid.nlon
    raise ValueError(f"{dim} has no fixed size")


def write_template(spec: DatasetSpec, store: Store) -> None:
    """Write the empty dataset (metadata and small coordinates) into ``store``."""
    dataset, encoding = template_dataset(spec)
    dataset.to_zarr(store, encoding=encoding, zarr_format=3, consolidated=False, mode="w")


def grow_append_dimension(spec: DatasetSpec, store: Store, needed_length: int) -> bool:
    """Extend every array along the append dimension to ``needed_length`` (no-op if already that
    long) and write the new coordinate values. Returns whether anything grew."""
    group = zarr.open_group(store, mode="r+")
    append = spec.append_dimension.name
    coord = group[append]
    assert isinstance(coord, zarr.Array)
    old_length = int(coord.shape[0])
    if needed_length <= old_length:
        return False
    for _, array in group.arrays():
        names = array.metadata.dimension_names  # type: ignore[union-attr]
        if names and names[0] == append:
            array.resize((needed_length, *array.shape[1:]))
    # Re-open after resizing: an Array object keeps the shape it was opened with, and a write
    # beyond it is silently dropped.
    coord = group[append]
    assert isinstance(coord, zarr.Array)
    new_times = [spec.append_dimension.value_at(i) for i in range(old_length, needed_length)]
    coord[old_length:needed_length] = np.array([epoch_seconds(t) for t in new_times], "int64")
    if spec.lead_times is not None:
        valid = group[VALID_TIME_ARRAY]
        assert isinstance(valid, zarr.Array)
        lead_seconds = np.array(spec.lead_hours, "int64") * 3600
        rows = np.array([epoch_seconds(t) for t in new_times], "int64")[:, None] + lead_seconds
        valid[old_length:needed_length, :] = rows
    return True
