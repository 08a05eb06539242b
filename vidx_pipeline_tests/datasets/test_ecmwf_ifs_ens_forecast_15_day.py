"""The ECMWF IFS ENS spec against ECMWF's layout: every parameter and level of the ENS list is
placed at the offset and length its index line gives, every member from one file; bad indexes
(a byte range leaving the object, a repeated field, a line of another step or date) are refused
naming the object and line, with nothing committed; and an ecCodes-encoded archive served by the
loopback S3 API is ingested and reads back as ecCodes decodes it."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import obstore
import pytest
import xarray as xr

from vidx_offline.ecmwf_archive import (
    ECMWF_BUCKET,
    EcmwfArchiveConfig,
    WrittenEcmwfFile,
    ens_data_key,
    ens_index_key,
    write_ecmwf_archive,
)
from vidx_offline.ecmwf_encode import ENS_FIELDS, EnsField
from vidx_offline.ecmwf_index_writer import index_line
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.fetch import place_file
from vidx_pipeline.index_formats.base import BadIndexError, SourceObject
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.refs import ChunkLocator
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_files import ExpectedFile, expected_files
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import (
    DatasetSpec,
    EnsembleSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    RegularLatLonGrid,
)
from vidx_pipeline_tests.conftest import SMALL_GRID
from vidx_pipeline_tests.datasets.helpers import ingest_archive

SPEC = get_dataset("ecmwf-ifs-ens-forecast-15-day")


def _grid() -> RegularLatLonGrid:
    grid = SPEC.grid
    assert isinstance(grid, RegularLatLonGrid)
    return grid


INIT = dt.datetime(2025, 8, 1, 12, tzinfo=dt.UTC)
MEMBERS = range(51)


def _file(lead: int) -> ExpectedFile:
    (file,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == lead]
    return file


def _index_text(lead: int, *, message_length: int = 1000) -> tuple[str, int]:
    """An index of every ENS field of every member at ``lead``, written by the offline index
    writer (members shuffled, both key orders), and the data size it describes."""
    items = [(member, field) for member in MEMBERS for field in ENS_FIELDS]
    random.Random(7).shuffle(items)
    lines = [
        index_line(
            field,
            INIT,
            lead,
            member,
            n * message_length,
            message_length,
            ("step_first", "step_last")[n % 2],
        )
        for n, (member, field) in enumerate(items)
    ]
    return "".join(line + "\n" for line in lines), len(items) * message_length


def _place(text: str, lead: int, size: int):
    file = _file(lead)
    data = SourceObject(file.data_key, size, INIT, None)
    locator = ChunkLocator(SPEC)
    return locator, place_file(SPEC, locator, file, data, text, "fail")


def test_keys_follow_ecmwf_layout() -> None:
    file = _file(150)
    assert file.data_key == "20250801/12z/ifs/0p25/enfo/20250801120000-150h-enfo-ef.grib2"
    assert file.index_key == "20250801/12z/ifs/0p25/enfo/20250801120000-150h-enfo-ef.index"
    # The offline archive writes its keys independently of the spec: they must agree.
    assert (file.data_key, file.index_key) == (ens_data_key(INIT, 150), ens_index_key(INIT, 150))


def test_schedule_members_and_grid() -> None:
    hours = SPEC.lead_hours
    assert len(hours) == 85
    assert hours[:3] == (0, 3, 6)
    assert hours[48:50] == (144, 150)
    assert hours[-1] == 360
    assert SPEC.append_dimension.value_at(1) - SPEC.append_dimension.start == dt.timedelta(hours=12)
    assert SPEC.append_dimension.start == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    assert len(expected_files(SPEC, INIT)) == 85  # one file per step holds all 51 members
    assert SPEC.progress_dims == ("init_time", "lead_time")
    assert SPEC.refs_per_partition == 85 * 51 * len(ENS_FIELDS)
    longitudes = _grid().longitudes()
    assert (longitudes[0], longitudes[1], longitudes[-1]) == (-180.0, -179.75, 179.75)


def test_the_grid_is_the_real_ecmwf_messages_grid() -> None:
    """ECMWF's own 0.25° IFS message (real fixture), read by ecCodes and the header probe."""
    import eccodes

    path = Path(__file__).parents[1] / "fixtures" / "real" / "grib" / "ecmwf-ifs-oper-surface.grib2"
    data = path.read_bytes()
    handle = eccodes.codes_new_from_message(data[: int.from_bytes(data[8:16], "big")])
    try:
        lats = eccodes.codes_get_double_array(handle, "distinctLatitudes")
        lons = eccodes.codes_get_double_array(handle, "distinctLongitudes")
        ni, nj = eccodes.codes_get_long(handle, "Ni"), eccodes.codes_get_long(handle, "Nj")
    finally:
        eccodes.codes_release(handle)
    assert (nj, ni) == SPEC.grid.shape
    np.testing.assert_allclose(np.sort(lats)[::-1], _grid().latitudes())
    # ecCodes lists the longitudes 0..359.75; the spec's are the same points from 180°W.
    np.testing.assert_allclose(np.sort(lons % 360), np.sort(_grid().longitudes() % 360))
    from vidx_pipeline.grib_header import parse_grib_header

    header = parse_grib_header(data, source=path.name)
    assert SPEC.grid.header_problems(header.grid) == []
    assert header.centre == SPEC.source.centre


@pytest.mark.parametrize("lead", [0, 3, 150, 360])
def test_every_field_of_every_member_is_placed_at_its_index_range(lead: int) -> None:
    text, size = _index_text(lead)
    locator, placed = _place(text, lead, size)
    assert placed.missing == []
    assert placed.unplaced == []
    refs = placed.refs(locator)
    records = [json.loads(line) for line in text.splitlines()]
    assert len(refs) == len(records) == 51 * len(ENS_FIELDS)
    # Each ref's offset and length are its line's, read straight from the JSON.
    by_offset = {r["_offset"]: r for r in records}
    for ref in refs:
        record = by_offset[ref.offset]
        assert ref.length == record["_length"]
        assert ref.labels["ensemble_member"] == int(record.get("number", 0))
        assert ref.labels["lead_time"] == int(record["step"])
        match = SPEC.variable(ref.variable).match
        assert match.param == record["param"]  # type: ignore[attr-defined]
        if "levelist" in record:
            assert ref.labels["isobaric_level"] == float(record["levelist"])
    assert len({locator.slot(r) for r in refs}) == len(refs)


def test_every_ens_parameter_and_level_is_a_variable() -> None:
    """The spec's fields are exactly the offline list written from ECMWF's documentation."""
    fields = set()
    for variable in SPEC.variables:
        match = variable.match
        for level in variable.levels or (None,):
            fields.add(
                (
                    match.param,  # type: ignore[attr-defined]
                    match.levtype,  # type: ignore[attr-defined]
                    None if level is None else int(level),
                )
            )
    assert fields == {(f.param, f.levtype, f.levelist) for f in ENS_FIELDS}


def _bad(text: str, lead: int, size: int) -> BadIndexError:
    with pytest.raises(BadIndexError) as raised:
        _place(text, lead, size)
    assert str(_file(lead).index_key) in str(raised.value)
    return raised.value


def _replace_line(text: str, number: int, **changes: object) -> str:
    lines = text.splitlines()
    record = json.loads(lines[number - 1])
    record.update(changes)
    lines[number - 1] = json.dumps(record)
    return "".join(line + "\n" for line in lines)


def test_a_byte_range_leaving_the_object_is_a_bad_index() -> None:
    text, size = _index_text(6)
    error = _bad(_replace_line(text, 12, _length=10**9), 6, size)
    assert error.line == 12
    assert "lies outside" in str(error)


def test_a_repeated_field_is_a_bad_index() -> None:
    text, size = _index_text(6)
    lines = text.splitlines()
    twin = json.loads(lines[4])
    twin["_offset"] = size  # its own bytes, past the others
    error = _bad(text + json.dumps(twin) + "\n", 6, size + 1000)
    assert error.line == len(lines) + 1
    assert "the same field as line 5" in str(error)


def test_a_line_of_another_step_is_a_bad_index() -> None:
    text, size = _index_text(6)
    error = _bad(_replace_line(text, 30, step="9"), 6, size)
    assert error.line == 30
    assert "step='9', but the object's path is step 6" in str(error)


def test_a_line_of_another_date_is_a_bad_index() -> None:
    text, size = _index_text(6)
    error = _bad(_replace_line(text, 41, date="20250731"), 6, size)
    assert error.line == 41
    assert "disagrees with the partition" in str(error)


def test_a_perturbed_line_without_member_is_a_bad_index() -> None:
    text, size = _index_text(6)
    lines = text.splitlines()
    number = next(n for n, line in enumerate(lines, 1) if '"type": "pf"' in line)
    record = json.loads(lines[number - 1])
    del record["number"]
    lines[number - 1] = json.dumps(record)
    error = _bad("".join(line + "\n" for line in lines), 6, size)
    assert error.line == number
    assert "type=pf with number=None" in str(error)


# ---- end to end: an ecCodes-encoded archive on the loopback S3 API, ingested and read back ----

SMALL_MEMBERS = (0, 1, 2)
SMALL_LEADS = (0, 6)


def small_ens_spec() -> DatasetSpec:
    """ENS on a 10° grid, three members and two leads: same variables, keys and index rules."""
    nlat, nlon = SMALL_GRID
    return SPEC.model_copy(
        update={
            "grid": RegularLatLonGrid(
                nlat=nlat,
                nlon=nlon,
                lat_first=90,
                lat_last=-90,
                lon_first=-180,
                lon_last=180 - 360 / nlon,
            ),
            "ensemble": EnsembleSpec(members=SMALL_MEMBERS, member_labels=("cf", "pf1", "pf2")),
            "lead_times": LeadTimeSchedule(
                segments=tuple(
                    LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1) for h in SMALL_LEADS
                )
            ),
        }
    )


def _message(files: list[WrittenEcmwfFile], producer, lead: int, member: int, field: EnsField):
    (file,) = [f for f in files if f.lead_hours == lead]
    (info,) = [m for m in file.messages if m.member == member and m.field == field]
    return bytes(obstore.get_range(producer, file.data_key, start=info.offset, length=info.length))


@pytest.mark.slow
def test_an_ens_partition_ingests_every_member_and_reads_back_as_eccodes(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    spec = small_ens_spec()
    local_s3.create_bucket(ECMWF_BUCKET, public_read=True)
    producer = local_s3.store(ECMWF_BUCKET)
    config = EcmwfArchiveConfig(
        init_times=(INIT,), lead_hours=SMALL_LEADS, members=SMALL_MEMBERS, grid=SMALL_GRID
    )
    files = write_ecmwf_archive(producer, config)
    first = obstore.get(producer, files[0].index_key).bytes().to_bytes().decode()
    assert [json.loads(line).get("number") for line in first.splitlines()[:12]] != sorted(
        json.loads(line).get("number", "0") for line in first.splitlines()[:12]
    ), "members are interleaved, not in order"
    repository, store, result = ingest_archive(spec, tmp_path, local_s3, INIT)
    assert result.files_ingested == len(files) == len(SMALL_LEADS)
    assert result.missing == []
    assert result.refs_written == sum(len(f.messages) for f in files) == spec.refs_per_partition

    health = decode_health(
        CheckInputs(repository, store, [INIT], INIT + dt.timedelta(days=2), decode_samples=200)
    )
    assert health.passed, health.details

    session = repository.repo.readonly_session(branch="main")
    ds = xr.open_zarr(session.store, consolidated=False).sel(init_time=INIT.replace(tzinfo=None))
    assert bool(ds["ingested"].all())
    samples = [
        ("temperature_2m", {}, EnsField("2t", "sfc")),
        ("geopotential_height_isobaric", {"isobaric_level": 500.0}, EnsField("gh", "pl", 500)),
        ("wind_v_isobaric", {"isobaric_level": 50.0}, EnsField("v", "pl", 50)),
        ("total_precipitation_surface", {}, EnsField("tp", "sfc", accumulated=True)),
    ]
    for lead in SMALL_LEADS:
        for member in SMALL_MEMBERS:
            for variable, levels, field in samples:
                chunk = ds[variable].sel(
                    lead_time=np.timedelta64(lead, "h"), ensemble_member=member, **levels
                )
                expected = eccodes_decode(_message(files, producer, lead, member, field))
                np.testing.assert_allclose(chunk.values, expected, rtol=1e-6, err_msg=variable)
    members = ds["temperature_2m"].sel(lead_time=np.timedelta64(6, "h")).values
    assert not np.array_equal(members[0], members[1])  # each member its own field


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["outside", "duplicate", "step"])
def test_a_bad_index_in_the_archive_commits_nothing(
    tmp_path: Path, local_s3: LocalS3, problem: str
) -> None:
    spec = small_ens_spec()
    local_s3.create_bucket(ECMWF_BUCKET, public_read=True)
    producer = local_s3.store(ECMWF_BUCKET)
    config = EcmwfArchiveConfig(
        init_times=(INIT,), lead_hours=SMALL_LEADS, members=SMALL_MEMBERS, grid=SMALL_GRID
    )
    files = write_ecmwf_archive(producer, config)
    bad = files[1]
    lines = obstore.get(producer, bad.index_key).bytes().to_bytes().decode().splitlines()
    record = json.loads(lines[9])
    match problem:
        case "outside":
            record["_length"] = bad.data_size
            lines[9] = json.dumps(record)
        case "duplicate":
            lines[9] = json.dumps(
                {**json.loads(lines[3]), "_offset": record["_offset"], "_length": record["_length"]}
            )
        case "step":
            record["step"] = "3"
            lines[9] = json.dumps(record)
    obstore.put(producer, bad.index_key, ("\n".join(lines) + "\n").encode())

    repository = open_repository(
        spec, RepositorySettings(local_root=str(tmp_path)), source_endpoint=local_s3.endpoint
    )
    store = open_source_store(spec.source.store, local_s3.endpoint)
    snapshots = [s.id for s in repository.repo.ancestry(branch="main")]
    with pytest.raises(BadIndexError) as raised:
        ingest_partition(spec, repository, store, INIT, IngestSettings())
    assert raised.value.line == 10
    assert bad.index_key in str(raised.value)
    assert [s.id for s in repository.repo.ancestry(branch="main")] == snapshots  # none committed


# ---- ECMWF's own CCSDS messages, through a repository the pipeline made ----

REAL_IFS = Path(__file__).parents[1] / "fixtures" / "real" / "grib" / "ecmwf-ifs-oper-surface.grib2"
REAL_INIT = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
OPER_KEY = "{init:%Y%m%d}/{init:%H}z/ifs/0p25/oper/{init:%Y%m%d%H}0000-{lead_hours}h-oper-fc"


def _real_ifs_messages() -> list[dict[str, object]]:
    """Every message of the real file as ecCodes reads it: MARS keys, GRIB2 triple, range."""
    import eccodes

    found = []
    with REAL_IFS.open("rb") as handle:
        while (gid := eccodes.codes_grib_new_from_file(handle)) is not None:
            try:
                found.append(
                    {
                        "param": eccodes.codes_get(gid, "shortName"),
                        "type": eccodes.codes_get(gid, "marsType"),
                        "stream": eccodes.codes_get(gid, "marsStream"),
                        "step": str(eccodes.codes_get(gid, "step")),
                        "triple": tuple(
                            eccodes.codes_get_long(gid, k)
                            for k in ("discipline", "parameterCategory", "parameterNumber")
                        ),
                        "_offset": eccodes.codes_get_long(gid, "offset"),
                        "_length": eccodes.codes_get_long(gid, "totalLength"),
                    }
                )
            finally:
                eccodes.codes_release(gid)
    return found


def real_ifs_spec(messages: list[dict[str, object]]) -> DatasetSpec:
    """The ENS spec turned deterministic (HRES ``oper`` ``fc`` files, lead 0) holding the real
    file's five surface fields, on the real 0.25° grid."""
    from vidx_pipeline.datasets.ecmwf_ifs_ens_forecast_15_day import ON_SURFACE
    from vidx_pipeline.providers.ecmwf import MarsMatch
    from vidx_pipeline.spec import SourceFileKind, SourceLayout, VariableAttrs, VariableSpec

    variables = tuple(
        VariableSpec(
            name=f"ifs_{m['param']}",
            attrs=VariableAttrs(long_name=str(m["param"]), units="1", short_name=str(m["param"])),
            match=MarsMatch(
                param=str(m["param"]),
                levtype="sfc",
                parameter=m["triple"],
                level_type=ON_SURFACE,
            ),
        )
        for m in messages
    )
    kind = SourceFileKind(
        name="oper_fc",
        data_key=OPER_KEY + ".grib2",
        index_format="ecmwf_index",
        index_key=OPER_KEY + ".index",
    )
    return SPEC.model_copy(
        update={
            "ensemble": None,
            "levels": (),
            "variables": variables,
            "lead_times": LeadTimeSchedule(
                segments=(LeadTimeSegment(start_hours=0, stop_hours=0, step_hours=1),)
            ),
            "source": SourceLayout(store=SPEC.source.store, files=(kind,), centre=98),
        }
    )


@pytest.mark.slow
def test_real_ccsds_ifs_messages_ingested_by_the_pipeline_decode_like_eccodes(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    messages = _real_ifs_messages()
    assert {m["type"] for m in messages} == {"fc"}
    spec = real_ifs_spec(messages)
    local_s3.create_bucket(ECMWF_BUCKET, public_read=True)
    producer = local_s3.store(ECMWF_BUCKET)
    (file,) = expected_files(spec, REAL_INIT)
    data = REAL_IFS.read_bytes()
    index = "".join(
        json.dumps(
            {
                "domain": "g",
                "date": f"{REAL_INIT:%Y%m%d}",
                "time": f"{REAL_INIT:%H}00",
                "expver": "0001",
                "class": "od",
                "type": m["type"],
                "stream": m["stream"],
                "step": m["step"],
                "levtype": "sfc",
                "param": m["param"],
                "_offset": m["_offset"],
                "_length": m["_length"],
            }
        )
        + "\n"
        for m in messages
    )
    obstore.put(producer, file.data_key, data)
    obstore.put(producer, file.index_key or "", index.encode())

    repository, store, result = ingest_archive(spec, tmp_path, local_s3, REAL_INIT)
    assert result.refs_written == len(messages) == 5
    assert result.missing == []
    health = decode_health(CheckInputs(repository, store, [REAL_INIT], REAL_INIT, decode_samples=5))
    assert health.passed, health.details

    session = repository.repo.readonly_session(branch="main")
    ds = xr.open_zarr(session.store, consolidated=False).sel(
        init_time=REAL_INIT.replace(tzinfo=None), lead_time=np.timedelta64(0, "h")
    )
    for m in messages:
        offset, length = int(m["_offset"]), int(m["_length"])  # type: ignore[call-overload]
        expected = eccodes_decode(data[offset : offset + length])
        actual = ds[f"ifs_{m['param']}"].values
        assert actual.shape == (721, 1440)
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
        np.testing.assert_allclose(actual, expected, rtol=1e-6, equal_nan=True, err_msg=m["param"])
