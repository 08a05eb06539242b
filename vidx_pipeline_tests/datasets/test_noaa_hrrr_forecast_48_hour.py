"""The HRRR spec against NCEP's real inventories (2025-08-01 00z f00 and f24) and a real HRRR
message: every line is placed once at the offset and length read from the text, and the real
Lambert conformal message, published under the producer's key, reads back through the
repository equal to ecCodes, values and coordinates."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import eccodes
import icechunk
import numpy as np
import obstore
import pytest
import xarray as xr
import zarr

from vidx_offline.fault_proxy import running_fault_proxy
from vidx_offline.hrrr_archive import HRRR_BUCKET, HrrrArchiveConfig, write_hrrr_archive
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.fetch import place_file
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.preview import PREVIEW_WIDTH, Preview, partition_preview
from vidx_pipeline.refs import ChunkLocator
from vidx_pipeline.repository import (
    DatasetRepository,
    RepositorySettings,
    open_repository,
    reader_credentials,
    repository_config,
)
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import (
    DatasetSpec,
    LambertConformalGrid,
    LeadTimeSchedule,
    LeadTimeSegment,
)
from vidx_pipeline_tests.datasets.helpers import ingest_archive, raw_ranges

REAL = Path(__file__).parents[1] / "fixtures" / "real"
INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
SPEC = get_dataset("noaa-hrrr-forecast-48-hour")
DATA_SIZE = 200_000_000  # beyond the last message of either real inventory


@pytest.mark.parametrize("lead_hours", [0, 24])
def test_every_message_of_the_real_inventory_is_placed_once(lead_hours: int) -> None:
    text = (REAL / "noaa-idx" / f"hrrr.t00z.wrfsfcf{lead_hours:02d}.grib2.idx").read_text()
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == lead_hours]
    assert file.data_key == f"hrrr.20250801/conus/hrrr.t00z.wrfsfcf{lead_hours:02d}.grib2"
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    placed = place_file(SPEC, locator, file, data, text, "fail")
    refs = placed.refs(locator)
    assert placed.unplaced == []
    assert placed.refused == []
    raw = raw_ranges(text, DATA_SIZE)
    assert sorted((r.offset, r.length) for r in refs) == sorted((o, n) for _, o, n in raw)
    assert len({locator.slot(r) for r in refs}) == len(raw)
    field_of = {r.variable: field for r in refs for field, offset, _ in raw if offset == r.offset}
    if lead_hours == 0:
        assert field_of["temperature_2m"] == "TMP:2 m above ground:anl"
        # HRRR's f00 writes zero-length windows; the running total takes its empty one
        assert field_of["total_precipitation_surface"] == "APCP:surface:0-0 day acc fcst"
        assert "total_precipitation_surface_acc" not in field_of
    else:
        assert field_of["total_precipitation_surface"] == "APCP:surface:0-1 day acc fcst"
        assert field_of["total_precipitation_surface_acc"] == "APCP:surface:23-24 hour acc fcst"
        assert field_of["wind_speed_10m_max"] == "WIND:10 m above ground:23-24 hour max fcst"


def test_f01_gives_its_two_identical_accumulation_lines_one_variable_each() -> None:
    """At f01 HRRR's 1-hour bucket and running total are both ``0-1 hour acc fcst``."""
    text = (REAL / "noaa-idx" / "hrrr.t00z.wrfsfcf24.grib2.idx").read_text()
    text = text.replace("24 hour fcst", "1 hour fcst").replace("23-24 hour", "0-1 hour")
    text = text.replace("0-1 day", "0-1 hour")
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == 1]
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    refs = place_file(SPEC, locator, file, data, text, "fail").refs(locator)
    apcp = sorted((r.offset, r.variable) for r in refs if r.variable.startswith("total_prec"))
    assert [variable for _, variable in apcp] == [
        "total_precipitation_surface",
        "total_precipitation_surface_acc",
    ]


def test_schedule_and_grid() -> None:
    assert SPEC.lead_hours == tuple(range(49))
    assert SPEC.grid.dims == ("y", "x")
    assert SPEC.grid.shape == (1059, 1799)
    assert SPEC.chunk_shape(SPEC.variable("temperature_2m")) == (1, 1, 1059, 1799)
    assert SPEC.append_dimension.frequency == dt.timedelta(hours=6)


REAL_TMP = REAL / "grib" / "hrrr.t06z.wrfsfcf01-TMP.grib2"
REAL_INIT = dt.datetime(2023, 7, 22, 6, tzinfo=dt.UTC)


def _ingest_real_message(root: Path, local_s3: LocalS3) -> DatasetRepository:
    """NCEP's real HRRR f01 surface TMP message (1.27 MB) published under its producer key with a
    one-line wgrib2 inventory and ingested with the real spec into a repository under ``root``."""
    init = REAL_INIT
    (file,) = [f for f in expected_files(SPEC, init) if f.lead_hours == 1]
    bucket = SPEC.source.store.bucket
    local_s3.create_bucket(bucket, public_read=True)
    producer = local_s3.store(bucket)
    obstore.put(producer, file.data_key, REAL_TMP.read_bytes())
    obstore.put(producer, file.index_key or "", b"1:0:d=2023072206:TMP:surface:1 hour fcst:\n")
    repository = open_repository(
        SPEC, RepositorySettings(local_root=str(root)), source_endpoint=local_s3.endpoint
    )
    store = open_source_store(SPEC.source.store, local_s3.endpoint)
    result = ingest_partition(SPEC, repository, store, init, IngestSettings())
    assert (result.files_ingested, result.refs_written) == (1, 1)
    return repository


def test_a_reader_gets_a_chunk_with_one_range_request(tmp_path: Path, local_s3: LocalS3) -> None:
    """A chunk is one GRIB message of a few hundred kB to a few MB: one GET of the producer's
    object (Icechunk's default split the 1.27 MB message into 5)."""
    _ingest_real_message(tmp_path, local_s3)
    with running_fault_proxy(local_s3.endpoint) as proxy:
        reader = icechunk.Repository.open(
            RepositorySettings(local_root=str(tmp_path)).storage(SPEC.dataset_id),
            config=repository_config(SPEC, proxy.endpoint),
            authorize_virtual_chunk_access=reader_credentials(SPEC),
        )
        array = zarr.open_array(
            reader.readonly_session(branch="main").store, path="temperature_surface", mode="r"
        )
        values = np.asarray(array[SPEC.append_dimension.index_of(REAL_INIT), 1])
    assert np.isfinite(values).all()
    assert proxy.requests == 1


@pytest.mark.slow
def test_the_real_hrrr_message_reads_back_equal_to_eccodes(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    """NCEP's own HRRR 2023-07-22 06z f01 surface TMP (Lambert conformal, complex packing),
    published under its producer key with a one-line wgrib2 inventory, ingested with the real
    spec and read through xarray: values and 2-D latitude/longitude equal ecCodes'."""
    message = REAL_TMP.read_bytes()
    repository = _ingest_real_message(tmp_path, local_s3)
    session = repository.repo.readonly_session(branch="main")
    ds = xr.open_zarr(session.store, consolidated=False)
    field = ds["temperature_surface"].sel(
        init_time=REAL_INIT.replace(tzinfo=None), lead_time=np.timedelta64(1, "h")
    )
    handle = eccodes.codes_new_from_message(message)
    try:
        shape = (eccodes.codes_get(handle, "Ny"), eccodes.codes_get(handle, "Nx"))
        values = eccodes.codes_get_double_array(handle, "values").reshape(shape)
        latitudes = eccodes.codes_get_double_array(handle, "latitudes").reshape(shape)
        longitudes = eccodes.codes_get_double_array(handle, "longitudes").reshape(shape)
    finally:
        eccodes.codes_release(handle)
    np.testing.assert_allclose(field.values, values, rtol=1e-6)
    np.testing.assert_allclose(ds["latitude"].values, latitudes, atol=1e-4)
    np.testing.assert_allclose(ds["longitude"].values % 360, longitudes % 360, atol=1e-4)
    _assert_preview_is_north_up(partition_preview(repository, REAL_INIT), values, latitudes)


def _assert_preview_is_north_up(
    preview: Preview | None, values: np.ndarray, latitudes: np.ndarray
) -> None:
    """The materialization's map preview of the Lambert field: ecCodes' rows ordered north
    first (by latitude), every n-th point (n: the smallest step fitting PREVIEW_WIDTH): the
    coldest point is viridis' dark violet and the warmest its yellow."""
    from matplotlib.image import imread

    assert preview is not None
    assert preview.label == "temperature_surface f001"
    image = imread(io.BytesIO(preview.png), format="png")
    north_first = np.argsort(-latitudes[:, latitudes.shape[1] // 2])
    step = -(-values.shape[1] // PREVIEW_WIDTH)
    seen = values[north_first][::step, ::step]
    assert image.shape == (*seen.shape, 4)
    pixels = image[..., :3].reshape(-1, 3)
    np.testing.assert_allclose(pixels[seen.argmin()], np.array([68, 1, 84]) / 255, atol=1 / 255)
    np.testing.assert_allclose(pixels[seen.argmax()], np.array([253, 231, 37]) / 255, atol=1 / 255)


def test_an_index_past_the_end_of_its_object_is_a_bad_index_naming_the_line() -> None:
    """The real f24 inventory in front of an object cut after its 100th message."""
    text = (REAL / "noaa-idx" / "hrrr.t00z.wrfsfcf24.grib2.idx").read_text()
    offsets = [int(line.split(":")[1]) for line in text.splitlines()]
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == 24]
    data = SourceObject(file.data_key, offsets[100], INIT, None)
    with pytest.raises(BadIndexError) as raised:
        place_file(SPEC, ChunkLocator(SPEC), file, data, text, "fail")
    assert raised.value.line == 101
    assert "hrrr.20250801/conus/hrrr.t00z.wrfsfcf24.grib2.idx line 101" in str(raised.value)
    assert f"lies outside s3://noaa-hrrr-bdp-pds/{file.data_key}" in str(raised.value)


SMALL_LEADS = (0, 1, 24)


def small_hrrr_spec() -> DatasetSpec:
    """HRRR on a 3 x 4 corner of its grid (same first point and spacing) and three leads:
    f00 (zero-length windows), f01 (bucket and running total coincide), f24 (day-form total)."""
    grid = SPEC.grid
    assert isinstance(grid, LambertConformalGrid)
    return SPEC.model_copy(
        update={
            "grid": grid.model_copy(update={"ny": 3, "nx": 4}),
            "lead_times": LeadTimeSchedule(
                segments=tuple(
                    LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1) for h in SMALL_LEADS
                )
            ),
        }
    )


@pytest.mark.slow
def test_an_hrrr_partition_ingests_every_field_and_reads_back_as_eccodes(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    spec = small_hrrr_spec()
    local_s3.create_bucket(HRRR_BUCKET, public_read=True)
    producer = local_s3.store(HRRR_BUCKET)
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=SMALL_LEADS, grid=spec.grid.shape)
    files = write_hrrr_archive(producer, config)
    repository, store, result = ingest_archive(spec, tmp_path, local_s3, INIT)
    assert result.files_ingested == len(SMALL_LEADS)
    assert result.missing == []
    assert result.refs_written == sum(len(f.messages) for f in files) == spec.refs_per_partition

    health = decode_health(
        CheckInputs(repository, store, [INIT], INIT + dt.timedelta(days=2), decode_samples=300)
    )
    assert health.passed, health.details

    ds = xr.open_zarr(repository.repo.readonly_session(branch="main").store, consolidated=False)
    ds = ds.sel(init_time=INIT.replace(tzinfo=None))
    samples = [
        ("temperature_2m", 24, "TMP:2 m above ground:24 hour fcst"),
        ("total_precipitation_surface", 24, "APCP:surface:0-1 day acc fcst"),
        ("total_precipitation_surface_acc", 24, "APCP:surface:23-24 hour acc fcst"),
        ("wind_speed_10m_max", 0, "WIND:10 m above ground:0-0 day max fcst"),
    ]
    for variable, lead, text in samples:
        (file,) = [f for f in files if f.lead_hours == lead]
        (info,) = [
            m for m in file.messages if f"{m.line.element}:{m.line.level}:{m.line.window}" == text
        ]
        message = bytes(
            obstore.get_range(producer, file.data_key, start=info.offset, length=info.length)
        )
        chunk = ds[variable].sel(lead_time=np.timedelta64(lead, "h")).values
        np.testing.assert_allclose(chunk, eccodes_decode(message), rtol=1e-6, err_msg=variable)
        handle = eccodes.codes_new_from_message(message)
        try:
            latitudes = eccodes.codes_get_double_array(handle, "latitudes").reshape(chunk.shape)
        finally:
            eccodes.codes_release(handle)
        np.testing.assert_allclose(ds["latitude"].values, latitudes, atol=1e-6)
    # At f01 the bucket and the running total are both "0-1 hour acc fcst": one each.
    f01 = ds.sel(lead_time=np.timedelta64(1, "h"))
    assert not np.isnan(f01["total_precipitation_surface"].values).any()
    assert not np.isnan(f01["total_precipitation_surface_acc"].values).any()
