"""The GFS analysis by valid time: which cycle and lead feed each hour, NCEP's real f000
inventory placed whole, windowed fields taken only at f001, and an archive of two cycles
ingested hour by hour through the loopback S3 API and read back equal to ecCodes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import obstore
import pytest
import xarray as xr
from pydantic import ValidationError

from vidx_offline.archive_files import MessageInfo, index_text
from vidx_offline.gfs_archive import GfsArchiveConfig, write_gfs_archive
from vidx_offline.inventory import gfs_inventory
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.completeness import completeness
from vidx_pipeline.checks.coordinates import coordinates
from vidx_pipeline.checks.currency import newest_due
from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.fetch import place_file
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject
from vidx_pipeline.ingest import IngestRun, IngestSettings, ingest_partition
from vidx_pipeline.orchestration.sensors import candidate_partitions
from vidx_pipeline.refs import ChunkLocator
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec, RegularLatLonGrid
from vidx_pipeline_tests.conftest import SMALL_GRID
from vidx_pipeline_tests.datasets.helpers import raw_ranges

REAL_IDX = Path(__file__).parents[1] / "fixtures" / "real" / "noaa-idx"
SPEC = get_dataset("noaa-gfs-analysis")
FORECAST = get_dataset("noaa-gfs-forecast")
CYCLE = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
DATA_SIZE = 600_000_000
HOUR = dt.timedelta(hours=1)


def test_each_hour_comes_from_the_newest_cycle_at_or_before_it() -> None:
    for hours, (cycle_hour, lead) in {
        0: (0, 0),
        1: (0, 1),
        5: (0, 5),
        6: (6, 0),
        11: (6, 5),
    }.items():
        (file,) = expected_files(SPEC, CYCLE + hours * HOUR)
        cycle = CYCLE + cycle_hour * HOUR
        assert file.reference_time == cycle
        assert file.lead_hours == lead
        assert (
            file.data_key
            == f"gfs.20250801/{cycle:%H}/atmos/gfs.t{cycle:%H}z.pgrb2.0p25.f{lead:03d}"
        )
        assert file.index_key == file.data_key + ".idx"


def test_the_real_f000_inventory_is_placed_whole_at_the_cycle_hour() -> None:
    text = (REAL_IDX / "gfs.t00z.pgrb2.0p25.f000.idx").read_text()
    (file,) = expected_files(SPEC, CYCLE)
    locator = ChunkLocator(SPEC)
    data = SourceObject(file.data_key, DATA_SIZE, CYCLE, None)
    placed = place_file(SPEC, locator, file, data, text, "fail")
    raw = raw_ranges(text, DATA_SIZE)
    refs = placed.refs(locator)
    assert placed.unplaced == []
    assert placed.refused == []
    assert sorted((r.offset, r.length) for r in refs) == sorted((o, n) for _, o, n in raw)
    assert len({locator.slot(r) for r in refs}) == len(raw)
    field_of = {r.variable: field for r in refs for field, offset, _ in raw if offset == r.offset}
    assert field_of["temperature_2m"] == "TMP:2 m above ground:anl"


def _inventory_text(lead_hours: int) -> str:
    """NCEP's inventory of a GFS file at ``lead_hours`` (the offline archive's, from the real
    f000/f007 templates), with made-up byte ranges."""
    lines = gfs_inventory(lead_hours)
    messages = [MessageInfo(line, 1000 * i, 1000) for i, line in enumerate(lines)]
    return index_text(messages, CYCLE)


@pytest.mark.parametrize("lead_hours", [1, 2, 3, 5])
def test_windowed_fields_are_taken_only_where_the_window_is_the_hour_before(
    lead_hours: int,
) -> None:
    text = _inventory_text(lead_hours)
    (file,) = expected_files(SPEC, CYCLE + lead_hours * HOUR)
    locator = ChunkLocator(SPEC)
    data = SourceObject(file.data_key, 1000 * (text.count("\n") + 1), CYCLE, None)
    placed = place_file(SPEC, locator, file, data, text, "fail")
    assert placed.unplaced == []  # the windows left out are known, not new output
    refs = placed.refs(locator)
    lines = text.splitlines()
    windowed = [line for line in lines if "-" in line.split(":")[5]]  # "0-3 hour acc fcst"
    assert windowed  # every GFS forecast file holds windows
    taken = {r.variable for r in refs}
    assert "temperature_2m" in taken
    if lead_hours == 1:  # every window is 0-1 h: the hour before
        assert len(refs) == len(lines)
        assert {"precipitation_rate_surface", "total_precipitation_surface"} <= taken
    else:
        assert len(refs) == len(lines) - len(windowed)
        assert not any(SPEC.variable(name).only_at_leads for name in taken)


def test_a_windowed_variable_must_cover_exactly_the_hour_before() -> None:
    precipitation = SPEC.variable("total_precipitation_surface")
    for leads in (None, (2,), (1, 2)):
        wrong = precipitation.model_copy(update={"only_at_leads": leads})
        variables = tuple(wrong if v is precipitation else v for v in SPEC.variables)
        with pytest.raises(ValidationError, match="total_precipitation_surface must be taken"):
            DatasetSpec.model_validate({**SPEC.model_dump(), "variables": variables})


def test_partitions_and_deadlines_follow_the_source_cycle_and_never_the_future() -> None:
    now = CYCLE + dt.timedelta(hours=9, minutes=10)  # 06z's f000-f003 hours have come
    candidates = candidate_partitions(SPEC, now, grace=HOUR)
    assert candidates[0] == CYCLE + 9 * HOUR  # the newest hour that has come, never later
    assert CYCLE + 6 * HOUR in candidates  # 06z's window (to 11z + grace) is open
    assert CYCLE + 5 * HOUR not in candidates  # 00z's closed at 05z + grace
    assert SPEC.publication_deadline(CYCLE + 11 * HOUR) == CYCLE + dt.timedelta(hours=11)
    # At 12:40 the 06z cycle's last file (due 11z) is 30 min late at most: 06z..11z are due.
    assert newest_due(SPEC, CYCLE + dt.timedelta(hours=11, minutes=40)) == CYCLE + 11 * HOUR
    assert newest_due(SPEC, CYCLE + dt.timedelta(hours=11, minutes=20)) == CYCLE + 5 * HOUR


def small_analysis_spec(bucket: str) -> DatasetSpec:
    nlat, nlon = SMALL_GRID
    grid = RegularLatLonGrid(
        nlat=nlat, nlon=nlon, lat_first=90, lat_last=-90, lon_first=0, lon_last=360 - 360 / nlon
    )
    store = SPEC.source.store.model_copy(update={"bucket": bucket})
    return SPEC.model_copy(
        update={"grid": grid, "source": SPEC.source.model_copy(update={"store": store})}
    )


def _open(repository: DatasetRepository) -> xr.Dataset:
    """The repository's hours from ``CYCLE`` on (the axis starts in 2021)."""
    ds = xr.open_zarr(repository.repo.readonly_session(branch="main").store, consolidated=False)
    return ds.sel(time=slice(CYCLE.replace(tzinfo=None), None))


def _snapshots(repository: DatasetRepository) -> int:
    return sum(1 for _ in repository.repo.ancestry(branch="main"))


@pytest.mark.slow
def test_hours_ingest_from_their_cycle_read_as_eccodes_and_are_never_replaced(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    bucket = "gfs-analysis-test"
    spec = small_analysis_spec(bucket)
    local_s3.create_bucket(bucket, public_read=True)
    producer = local_s3.store(bucket)
    config = GfsArchiveConfig(init_times=(CYCLE,), lead_hours=tuple(range(6)), grid=spec.grid.shape)
    files = {f.lead_hours: f for f in write_gfs_archive(producer, config)}
    repository = open_repository(
        spec, RepositorySettings(local_root=str(tmp_path)), source_endpoint=local_s3.endpoint
    )
    store = open_source_store(spec.source.store, local_s3.endpoint)
    hours = [CYCLE + h * HOUR for h in range(6)]
    later = CYCLE + dt.timedelta(days=1)
    # A backfill run of the six hours, as Dagster's multi-partition runs do.
    results = IngestRun(spec, repository, store, hours, IngestSettings(), clock=lambda: later).run()
    assert [r.files_ingested for r in results] == [1] * 6
    assert all(r.missing == [] and r.unplaced == [] for r in results)

    inputs = CheckInputs(repository, store, hours, later, decode_samples=100)
    for check in (decode_health, coordinates, completeness):
        outcome = check(inputs)
        assert outcome.passed, (check.__name__, outcome.details)

    ds = _open(repository)
    assert ds.sizes["time"] == 6  # grown to the newest hour ingested
    np.testing.assert_array_equal(
        ds["source_lead_time"].values, np.arange(6) * np.timedelta64(1, "h")
    )
    samples = [
        ("temperature_2m", 0, "TMP:2 m above ground:anl"),
        ("temperature_2m", 3, "TMP:2 m above ground:3 hour fcst"),
        ("total_precipitation_surface", 1, "APCP:surface:0-1 hour acc fcst"),
    ]
    for variable, hour, text in samples:
        file = files[hour]
        occurrences = [
            m for m in file.messages if f"{m.line.element}:{m.line.level}:{m.line.window}" == text
        ]
        info = occurrences[-1]  # f001's bucket and running total: the last one is the total
        message = bytes(
            obstore.get_range(producer, file.data_key, start=info.offset, length=info.length)
        )
        values = ds[variable].sel(time=(CYCLE + hour * HOUR).replace(tzinfo=None)).values
        np.testing.assert_allclose(values, eccodes_decode(message), rtol=1e-6, err_msg=text)
    precipitation = ds["total_precipitation_surface"].values
    assert np.isnan(precipitation[[0, 2, 3, 4, 5]]).all()  # no one-hour window there

    # The next cycle is published: the hours already committed keep their source.
    before = _snapshots(repository)
    newer = GfsArchiveConfig(
        init_times=(CYCLE + 6 * HOUR,), lead_hours=(0, 1), grid=spec.grid.shape
    )
    write_gfs_archive(producer, newer)
    again = ingest_partition(spec, repository, store, hours[5], clock=lambda: later)
    assert (again.files_ingested, again.snapshot_id) == (0, None)
    assert _snapshots(repository) == before
    hour7 = ingest_partition(spec, repository, store, CYCLE + 7 * HOUR, clock=lambda: later)
    assert hour7.files_ingested == 1
    ds = _open(repository)
    assert ds.sizes["time"] == 8
    assert ds["source_lead_time"].values[7] == np.timedelta64(1, "h")
    assert np.isnan(ds["temperature_2m"].values[6]).all()  # 06z's hour: not ingested yet
    five = ds["temperature_2m"].sel(time=hours[5].replace(tzinfo=None)).values
    (info,) = [
        m
        for m in files[5].messages
        if f"{m.line.element}:{m.line.level}:{m.line.window}" == "TMP:2 m above ground:5 hour fcst"
    ]
    message = bytes(
        obstore.get_range(producer, files[5].data_key, start=info.offset, length=info.length)
    )
    np.testing.assert_allclose(five, eccodes_decode(message), rtol=1e-6)


@pytest.mark.slow
def test_a_file_of_another_cycle_and_a_future_hour_are_refused(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    bucket = "gfs-analysis-bad"
    spec = small_analysis_spec(bucket)
    local_s3.create_bucket(bucket, public_read=True)
    producer = local_s3.store(bucket)
    config = GfsArchiveConfig(init_times=(CYCLE,), lead_hours=(2,), grid=spec.grid.shape)
    (written,) = write_gfs_archive(producer, config)
    # The 06z f002 key holds 00z's file and inventory: another cycle's.
    hour = CYCLE + 8 * HOUR
    (file,) = expected_files(spec, hour)
    data = obstore.get(producer, written.data_key).bytes()
    text = obstore.get(producer, written.index_key).bytes()
    obstore.put(producer, file.data_key, bytes(data))
    obstore.put(producer, file.index_key, bytes(text))
    repository = open_repository(
        spec, RepositorySettings(local_root=str(tmp_path)), source_endpoint=local_s3.endpoint
    )
    store = open_source_store(spec.source.store, local_s3.endpoint)
    later = CYCLE + dt.timedelta(days=1)
    before = _snapshots(repository)
    with pytest.raises(BadIndexError) as raised:
        ingest_partition(spec, repository, store, hour, clock=lambda: later)
    message = str(raised.value)
    assert f"s3://{bucket}/{file.index_key} line 1" in message
    assert "2025-08-01T00" in message
    assert "2025-08-01T06" in message
    assert _snapshots(repository) == before

    with pytest.raises(ValueError, match="in the future"):
        ingest_partition(spec, repository, store, hour, clock=lambda: hour - HOUR)
