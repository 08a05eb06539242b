"""The GEFS spec against NCEP's real control-member inventories (2025-08-01 00z ``pgrb2a`` f432,
``pgrb2b`` f003): every message of both is placed once, at the offset and length read from the
text, and a member's file whose lines describe another member is a bad index."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import obstore
import pytest
import xarray as xr
from obstore.store import ObjectStore

from vidx_offline.gefs_archive import (
    GEFS_BUCKET,
    GefsArchiveConfig,
    WrittenGefsFile,
    write_gefs_archive,
)
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.fetch import place_file
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject
from vidx_pipeline.refs import ChunkLocator
from vidx_pipeline.source_files import ExpectedFile, expected_files
from vidx_pipeline.spec import (
    DatasetSpec,
    EnsembleSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    RegularLatLonGrid,
)
from vidx_pipeline_tests.conftest import SMALL_GRID
from vidx_pipeline_tests.datasets.helpers import ingest_archive, raw_ranges

REAL_IDX = Path(__file__).parents[1] / "fixtures" / "real" / "noaa-idx"
INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
SPEC = get_dataset("noaa-gefs-forecast-35-day")
DATA_SIZE = 200_000_000  # beyond the last message of either real inventory
REAL = {
    "pgrb2a": (432, "gec00.t00z.pgrb2a.0p50.f432.idx"),
    "pgrb2b": (3, "gec00.t00z.pgrb2b.0p50.f003.idx"),
}


def _file(kind: str, lead: int, member: int) -> ExpectedFile:
    (file,) = [
        f
        for f in expected_files(SPEC, INIT)
        if f.kind.name == kind and f.lead_hours == lead and f.member == member
    ]
    return file


@pytest.mark.parametrize("kind", sorted(REAL))
def test_every_message_of_the_real_inventory_is_placed_once(kind: str) -> None:
    lead, name = REAL[kind]
    text = (REAL_IDX / name).read_text()
    file = _file(kind, lead, 0)
    assert file.data_key == f"gefs.20250801/00/atmos/{kind}p5/gec00.t00z.{kind}.0p50.f{lead:03d}"
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    placed = place_file(SPEC, locator, file, data, text, "fail")
    refs = placed.refs(locator)
    assert placed.unplaced == []
    assert placed.refused == []
    raw = raw_ranges(text, DATA_SIZE)
    assert len(refs) == len(raw)
    assert sorted((r.offset, r.length) for r in refs) == sorted((o, n) for _, o, n in raw)
    assert len({locator.slot(r) for r in refs}) == len(raw)
    assert {r.labels["ensemble_member"] for r in refs} == {0}
    by_offset = {offset: field for field, offset, _ in raw}
    field_of = {(r.variable, r.labels.get("isobaric_level")): by_offset[r.offset] for r in refs}
    if kind == "pgrb2a":
        assert field_of["temperature_2m", None] == "TMP:2 m above ground:432 hour fcst"
        assert field_of["maximum_temperature_2m", None] == (
            "TMAX:2 m above ground:426-432 hour max fcst"
        )
        assert field_of["temperature_isobaric", 500.0] == "TMP:500 mb:432 hour fcst"
    else:
        assert field_of["temperature_isobaric", 975.0] == "TMP:975 mb:3 hour fcst"


def test_one_temperature_variable_draws_its_levels_from_both_file_kinds() -> None:
    locator = ChunkLocator(SPEC)
    levels = {
        kind: {
            locator.labels(slot)["isobaric_level"]
            for slot in locator.expected_slots(_file(kind, 3, 7))
            if slot[0] == "temperature_isobaric"
        }
        for kind in ("pgrb2a", "pgrb2b")
    }
    assert 500.0 in levels["pgrb2a"]
    assert 975.0 in levels["pgrb2b"]
    assert not levels["pgrb2a"] & levels["pgrb2b"]
    assert levels["pgrb2a"] | levels["pgrb2b"] == set(SPEC.variable("temperature_isobaric").levels)


@pytest.mark.parametrize("member", [5, 30])
def test_a_member_file_whose_index_describes_another_member_is_a_bad_index(member: int) -> None:
    """The control's inventory published under ``gep05``'s key: line 1 says ``ENS=low-res
    ctl``, the key says member 5."""
    lead, name = REAL["pgrb2a"]
    text = (REAL_IDX / name).read_text()
    file = _file("pgrb2a", lead, member)
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    with pytest.raises(BadIndexError) as raised:
        place_file(SPEC, ChunkLocator(SPEC), file, data, text, "fail")
    assert raised.value.line == 1
    assert f"gep{member:02d}" in str(raised.value)
    assert f"ENS=low-res ctl, but the file's name is member {member} (ENS=+{member})" in str(
        raised.value
    )


def test_a_perturbed_member_file_that_says_its_own_member_is_placed() -> None:
    lead, name = REAL["pgrb2a"]
    text = (REAL_IDX / name).read_text().replace("ENS=low-res ctl", "ENS=+12")
    file = _file("pgrb2a", lead, 12)
    data = SourceObject(file.data_key, DATA_SIZE, INIT, None)
    locator = ChunkLocator(SPEC)
    refs = place_file(SPEC, locator, file, data, text, "fail").refs(locator)
    assert len(refs) == len(text.splitlines())
    assert {r.labels["ensemble_member"] for r in refs} == {12}


def test_schedule_members_and_grid() -> None:
    hours = SPEC.lead_hours
    assert len(hours) == 181
    assert hours[:3] == (0, 3, 6)
    assert hours[80:82] == (240, 246)
    assert hours[-1] == 840
    assert SPEC.ensemble is not None
    assert SPEC.ensemble.member_labels[:2] == ("c00", "p01")
    assert SPEC.ensemble.member_labels[-1] == "p30"
    assert len(expected_files(SPEC, INIT)) == 181 * 31 * 2  # 11,222 data files
    assert SPEC.chunk_shape(SPEC.variable("temperature_2m")) == (1, 1, 1, 361, 720)
    assert SPEC.grid.longitudes()[-1] == 359.5
    assert SPEC.append_dimension.frequency == dt.timedelta(days=1)


# ---- end to end: an ecCodes-encoded archive on the loopback S3 API, ingested and read back ----

SMALL_MEMBERS = (0, 1, 2)
SMALL_LEADS = (0, 3)


def small_gefs_spec() -> DatasetSpec:
    """GEFS on a 10° grid, three members and two leads: same variables, keys and index rules."""
    nlat, nlon = SMALL_GRID
    return SPEC.model_copy(
        update={
            "grid": RegularLatLonGrid(
                nlat=nlat, nlon=nlon, lat_first=90, lat_last=-90, lon_first=0, lon_last=350
            ),
            "ensemble": EnsembleSpec(members=SMALL_MEMBERS, member_labels=("c00", "p01", "p02")),
            "lead_times": LeadTimeSchedule(
                segments=tuple(
                    LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1) for h in SMALL_LEADS
                )
            ),
        }
    )


def _written_message(files: list[WrittenGefsFile], producer: ObjectStore, **where: object) -> bytes:
    """The bytes the archive writer put at (kind, lead, member, ``ELEMENT:LEVEL:WINDOW``)."""
    text = where.pop("text")
    (file,) = [f for f in files if all(getattr(f, k) == v for k, v in where.items())]
    (info,) = [
        m for m in file.messages if f"{m.line.element}:{m.line.level}:{m.line.window}" == text
    ]
    return bytes(obstore.get_range(producer, file.data_key, start=info.offset, length=info.length))


@pytest.mark.slow
def test_a_gefs_partition_ingests_every_member_and_kind_and_reads_back_as_eccodes(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    spec = small_gefs_spec()
    local_s3.create_bucket(GEFS_BUCKET, public_read=True)
    producer = local_s3.store(GEFS_BUCKET)
    config = GefsArchiveConfig(
        init_times=(INIT,), lead_hours=SMALL_LEADS, members=SMALL_MEMBERS, grid=SMALL_GRID
    )
    files = write_gefs_archive(producer, config)
    assert len(files) == len(SMALL_LEADS) * len(SMALL_MEMBERS) * 2
    repository, store, result = ingest_archive(spec, tmp_path, local_s3, INIT)
    assert result.files_ingested == len(files)
    assert result.missing == []
    assert result.refs_written == sum(len(f.messages) for f in files) == spec.refs_per_partition

    # Every message the producer wrote is referenced where its own metadata says it belongs.
    health = decode_health(
        CheckInputs(repository, store, [INIT], INIT + dt.timedelta(days=2), decode_samples=200)
    )
    assert health.passed, health.details

    session = repository.repo.readonly_session(branch="main")
    ds = xr.open_zarr(session.store, consolidated=False).sel(init_time=INIT.replace(tzinfo=None))
    assert ds.sizes["ensemble_member"] == len(SMALL_MEMBERS)
    assert bool(ds["ingested"].all())
    samples = [
        ("temperature_2m", {}, "pgrb2a", "TMP:2 m above ground:3 hour fcst"),
        ("temperature_isobaric", {"isobaric_level": 500.0}, "pgrb2a", "TMP:500 mb:3 hour fcst"),
        ("temperature_isobaric", {"isobaric_level": 975.0}, "pgrb2b", "TMP:975 mb:3 hour fcst"),
        ("maximum_temperature_2m", {}, "pgrb2a", "TMAX:2 m above ground:0-3 hour max fcst"),
    ]
    for member in SMALL_MEMBERS:
        for variable, levels, kind, text in samples:
            chunk = ds[variable].sel(
                lead_time=np.timedelta64(3, "h"), ensemble_member=member, **levels
            )
            message = _written_message(
                files, producer, kind=kind, lead_hours=3, member=member, text=text
            )
            expected = eccodes_decode(message)
            np.testing.assert_allclose(chunk.values, expected, rtol=1e-6, err_msg=variable)
    members = ds["temperature_2m"].sel(lead_time=np.timedelta64(3, "h")).values
    assert not np.array_equal(members[0], members[1])  # each member its own field
    # Windowed fields have no message at lead 0: empty, not missing.
    assert np.isnan(ds["maximum_temperature_2m"].sel(lead_time=np.timedelta64(0, "h"))).all()
