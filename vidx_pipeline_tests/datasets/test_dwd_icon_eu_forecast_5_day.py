"""The DWD ICON-EU spec against DWD's layout, served by a real loopback HTTP server with nginx
autoindex pages: a partition is discovered from the directory pages, ingested (one whole bz2
object per chunk) and reads back through the repository as ecCodes decodes each message,
simple-packed, CCSDS-packed and the real ICON-EU message alike; a message on another grid is
refused naming the object, with nothing committed; the catalog is ecCodes' DWD encoding of each
parameter; and the mirror copies each object unchanged, the dataset then reading the copies."""

from __future__ import annotations

import bz2
import datetime as dt
import os
from pathlib import Path

import numpy as np
import obstore
import pytest
import xarray as xr

from vidx_offline.http_server import LocalHttp, running_http_server
from vidx_offline.icon_archive import (
    PRESSURE_LEVEL,
    SINGLE_LEVEL,
    IconField,
    WrittenIconFile,
    encode_icon_message,
    icon_key,
    write_icon_archive,
    write_icon_file,
)
from vidx_offline.reference_decode import eccodes_decode
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.currency import newest_due
from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.datasets.dwd_icon_eu_catalog import PARAMETERS, PRESSURE_LEVELS_HPA
from vidx_pipeline.datasets.dwd_icon_eu_forecast_5_day import icon_eu_spec
from vidx_pipeline.index_formats.base import BadDataError
from vidx_pipeline.ingest import IngestResult, IngestSettings, ingest_partition
from vidx_pipeline.mirror import MirrorError, mirror_partition, mirrored_spec
from vidx_pipeline.orchestration.mirror import partitions_at_producer
from vidx_pipeline.orchestration.partitions import partitions_definition
from vidx_pipeline.orchestration.sensors import candidate_partitions
from vidx_pipeline.repository import (
    DatasetRepository,
    RepositorySettings,
    open_repository,
    reader_credentials,
)
from vidx_pipeline.source_files import expected_files, list_partition
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    HttpStoreSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    LocalStoreSpec,
)

SPEC = get_dataset("dwd-icon-eu-forecast-5-day")
INIT = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
PUBLISHED = dt.datetime(2026, 11, 30, 8, 41, 17, tzinfo=dt.UTC)
SMALL_SHAPE = (9, 13)
SMALL_LEADS = (0, 1, 81)
SMALL_PARAMS = ("T_2M", "TOT_PREC", "TMAX_2M", "ASWDIR_S", "CLCH", "T", "FI")
SMALL_LEVELS = (850, 500)


def small_spec(base_url: str, *, shape: tuple[int, int] = SMALL_SHAPE) -> DatasetSpec:
    """ICON-EU with a few parameters and levels, three leads, a small grid with ICON-EU's
    corners, read from ``base_url``: same keys, kinds, codecs and rules."""
    nlat, nlon = shape
    spec = icon_eu_spec(
        tuple(p for p in PARAMETERS if p.param in SMALL_PARAMS), pressure_levels=SMALL_LEVELS
    )
    return spec.model_copy(
        update={
            "grid": SPEC.grid.model_copy(update={"nlat": nlat, "nlon": nlon}),
            "lead_times": LeadTimeSchedule(
                segments=tuple(
                    LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1) for h in SMALL_LEADS
                )
            ),
            "source": spec.source.model_copy(update={"store": HttpStoreSpec(base_url=base_url)}),
        }
    )


def small_fields() -> tuple[IconField, ...]:
    return tuple(
        IconField(param, level)
        for param in SMALL_PARAMS
        for level in (SMALL_LEVELS if param in PRESSURE_LEVEL else (None,))
    )


def ingest(
    spec: DatasetSpec, tmp_path: Path, partition: dt.datetime = INIT
) -> tuple[DatasetRepository, IngestResult]:
    repository = open_repository(spec, RepositorySettings(local_root=str(tmp_path / "repos")))
    store = open_source_store(spec.source.store)
    return repository, ingest_partition(spec, repository, store, partition, IngestSettings())


def read_dataset(repository: DatasetRepository, init: dt.datetime) -> xr.Dataset:
    """The dataset as a reader opens it: read-only, authorized as readers are."""
    import icechunk

    repo = icechunk.Repository.open(
        repository.settings.storage(repository.spec.dataset_id),
        authorize_virtual_chunk_access=reader_credentials(repository.spec),
    )
    session = repo.readonly_session(branch="main")
    return xr.open_zarr(session.store, consolidated=False).sel(init_time=init.replace(tzinfo=None))


def assert_reads_as_eccodes(
    ds: xr.Dataset, written: list[WrittenIconFile], spec: DatasetSpec
) -> None:
    """Every written message, read through its chunk, equals ecCodes' decode of its bytes."""
    for file in written:
        param = file.field.param
        variable = param.lower() if file.field.level_hpa is None else f"{param.lower()}_isobaric"
        labels = {} if file.field.level_hpa is None else {"isobaric_level": file.field.level_hpa}
        chunk = ds[variable].sel({"lead_time": np.timedelta64(file.lead_hours, "h"), **labels})
        expected = eccodes_decode(file.grib)
        assert chunk.shape == spec.grid.shape
        np.testing.assert_array_equal(np.isnan(chunk.values), np.isnan(expected))
        np.testing.assert_allclose(chunk.values, expected, rtol=1e-6, err_msg=file.key)


def assert_refused_and_nothing_committed(
    spec: DatasetSpec, tmp_path: Path, partition: dt.datetime, key: str, expected: str
) -> None:
    """Ingesting ``partition`` refuses the object at ``key`` with an error naming it and saying
    ``expected``, and commits nothing."""
    repository = open_repository(spec, RepositorySettings(local_root=str(tmp_path / "repos")))
    snapshots = [s.id for s in repository.repo.ancestry(branch="main")]
    with pytest.raises(BadDataError) as raised:
        ingest_partition(
            spec, repository, open_source_store(spec.source.store), partition, IngestSettings()
        )
    assert key in str(raised.value)
    assert expected in str(raised.value)
    assert [s.id for s in repository.repo.ancestry(branch="main")] == snapshots


# ---- the spec and its catalog ----


def test_the_catalog_is_ecmwf_eccodes_dwd_encoding_of_each_parameter() -> None:
    import eccodes

    for parameter in PARAMETERS:
        gid = eccodes.codes_grib_new_from_samples("GRIB2")
        eccodes.codes_set(gid, "centre", 78)
        eccodes.codes_set(gid, "localTablesVersion", 1)
        eccodes.codes_set(gid, "shortName", parameter.param)
        triple = tuple(
            eccodes.codes_get(gid, key)
            for key in ("discipline", "parameterCategory", "parameterNumber")
        )
        eccodes.codes_release(gid)
        assert triple == parameter.parameter, parameter.param


def test_the_catalog_holds_the_archive_writers_parameters_and_levels() -> None:
    assert {p.param for p in PARAMETERS if not p.pressure} == set(SINGLE_LEVEL)
    assert {p.param for p in PARAMETERS if p.pressure} == set(PRESSURE_LEVEL)
    assert len(SPEC.source.files) == len(SINGLE_LEVEL) + len(PRESSURE_LEVEL) * len(
        PRESSURE_LEVELS_HPA
    )


def test_keys_are_dwds_file_names_with_five_day_leads() -> None:
    files = expected_files(SPEC, INIT)
    keys = {f.data_key for f in files}
    assert icon_key(IconField("T_2M"), INIT, 0) in keys
    assert icon_key(IconField("T", 500), INIT, 120) in keys
    assert icon_key(IconField("T", 500), INIT, 79) not in keys  # 3-hourly after 78 h
    assert SPEC.lead_hours[:3] == (0, 1, 2)
    assert SPEC.lead_hours[-2:] == (117, 120)
    assert len(SPEC.lead_hours) == 93
    assert all(f.kind.compression == "bz2" and f.index_key is None for f in files)


def test_the_spec_grid_is_the_real_icon_eu_message_grid() -> None:
    from vidx_pipeline.grib_header import parse_grib_header

    real = Path(__file__).parents[1] / "fixtures" / "real" / "grib" / REAL_NAME
    header = parse_grib_header(bz2.decompress(real.read_bytes()), source=str(real))
    assert SPEC.grid.header_problems(header.grid) == []
    assert header.centre == SPEC.source.centre


def test_the_regular_tree_ended_with_the_2026_11_30_18z_run() -> None:
    """DWD ended the tree after 30 Nov 2026: its last init is followed, mirrored and due as any
    other; after it nothing is started, mirrored or due, and the partitions stop there."""
    end = dt.datetime(2026, 11, 30, 18, tzinfo=dt.UTC)
    assert SPEC.append_dimension.end == end
    during = end + dt.timedelta(hours=3)
    assert candidate_partitions(SPEC, during, dt.timedelta(0))[0] == end
    assert partitions_at_producer(SPEC, during)[-1] == end
    after = dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC)
    assert candidate_partitions(SPEC, after, dt.timedelta(hours=1)) == []
    assert partitions_at_producer(SPEC, after) == []
    assert newest_due(SPEC, after) == end
    assert partitions_definition(SPEC).get_partition_keys(current_time=after)[-1] == (
        "2026-11-30T18:00"
    )


# ---- discovery, ingest and reads over HTTP ----


@pytest.fixture
def served(tmp_path: Path):
    with running_http_server(tmp_path / "opendata") as http:
        yield http


@pytest.mark.slow
@pytest.mark.parametrize("packing", ["grid_simple", "grid_ccsds"])
def test_a_partition_over_http_ingests_and_reads_back_as_eccodes(
    tmp_path: Path, served: LocalHttp, packing: str
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root,
        (INIT, INIT - dt.timedelta(days=1)),  # yesterday's files share the directories
        SMALL_LEADS,
        fields=small_fields(),
        shape=SMALL_SHAPE,
        packing=packing,  # type: ignore[arg-type]
        published=PUBLISHED,
    )
    today = [f for f in written if f.init == INIT]
    listed = list_partition(open_source_store(spec.source.store), expected_files(spec, INIT))
    assert set(listed) == {f.key for f in today}
    assert {listed[f.key].size for f in today} == {f.size for f in today}
    assert {o.last_modified for o in listed.values()} == {PUBLISHED}  # to the second

    repository, result = ingest(spec, tmp_path)
    assert result.files_ingested == len(today) == result.files_expected
    assert result.missing == []
    assert result.unplaced == []
    assert result.refused == []
    assert result.refs_written == spec.refs_per_partition

    health = decode_health(
        CheckInputs(
            repository,
            open_source_store(spec.source.store),
            [INIT],
            INIT + dt.timedelta(days=1),
            decode_samples=100,
        )
    )
    assert health.passed, health.details
    ds = read_dataset(repository, INIT)
    assert bool(ds["ingested"].all())
    assert_reads_as_eccodes(ds, today, spec)


@pytest.mark.slow
def test_a_partition_still_publishing_ingests_what_is_listed(
    tmp_path: Path, served: LocalHttp
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root, (INIT,), (0,), fields=small_fields(), shape=SMALL_SHAPE
    )
    repository, result = ingest(spec, tmp_path)
    assert result.files_ingested == len(written) < result.files_expected
    assert not read_dataset(repository, INIT)["ingested"].all()


REAL_NAME = "icon-eu_europe_regular-lat-lon_single-level_2020062300_000_T_2M.grib2.bz2"
REAL_INIT = dt.datetime(2020, 6, 23, tzinfo=dt.UTC)


@pytest.mark.slow
def test_dwds_real_icon_eu_message_reads_back_as_eccodes(tmp_path: Path, served: LocalHttp) -> None:
    """The real file at its DWD key, through listing, header probe, ref and bz2+gribberish."""
    real = Path(__file__).parents[1] / "fixtures" / "real" / "grib" / REAL_NAME
    base = icon_eu_spec(tuple(p for p in PARAMETERS if p.param == "T_2M"), pressure_levels=())
    spec = base.model_copy(
        update={
            "append_dimension": AppendDimension(start=REAL_INIT, frequency=dt.timedelta(hours=6)),
            "lead_times": LeadTimeSchedule(
                segments=(LeadTimeSegment(start_hours=0, stop_hours=0, step_hours=1),)
            ),
            "levels": (),
            "source": base.source.model_copy(
                update={"store": HttpStoreSpec(base_url=served.base_url)}
            ),
        }
    )
    (file,) = expected_files(spec, REAL_INIT)
    assert file.data_key.endswith("/00/t_2m/" + REAL_NAME)
    path = served.root / file.data_key
    path.parent.mkdir(parents=True)
    path.write_bytes(real.read_bytes())

    repository, result = ingest(spec, tmp_path, REAL_INIT)
    assert result.files_ingested == 1
    assert result.refs_written == 1
    ds = read_dataset(repository, REAL_INIT)
    chunk = ds["t_2m"].sel(lead_time=np.timedelta64(0, "h")).values
    expected = eccodes_decode(bz2.decompress(real.read_bytes()))
    assert chunk.shape == (657, 1097)
    np.testing.assert_allclose(chunk, expected, rtol=1e-6)
    assert 230 < np.nanmin(chunk) < np.nanmax(chunk) < 330  # a real June 2 m temperature field


@pytest.mark.slow
@pytest.mark.parametrize(
    ("problem", "expected"),
    [("grid", "grid 7 x 9, expected 13 x 9"), ("model", "points"), ("centre", "centre 7")],
)
def test_a_message_not_on_the_spec_grid_is_refused_and_nothing_committed(
    tmp_path: Path, served: LocalHttp, problem: str, expected: str
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root, (INIT,), SMALL_LEADS, fields=small_fields(), shape=SMALL_SHAPE
    )
    bad = written[4]
    match problem:
        case "grid":  # another grid size
            grib = encode_icon_message(bad.field, INIT, bad.lead_hours, (9, 7))
        case "model":  # ICON-D2's domain, same point count
            grib = encode_icon_message(
                bad.field, INIT, bad.lead_hours, SMALL_SHAPE, corners=(43.18, -3.94, 58.08, 20.34)
            )
        case _:  # another centre's message at DWD's key
            grib = encode_icon_message(bad.field, INIT, bad.lead_hours, SMALL_SHAPE, centre=7)
    mtime = (served.root / bad.key).stat().st_mtime
    write_icon_file(served.root, bad.field, INIT, bad.lead_hours, grib, mtime=mtime)

    assert_refused_and_nothing_committed(spec, tmp_path, INIT, bad.key, expected)


# ---- the mirror ----


@pytest.mark.slow
def test_the_mirror_copies_objects_unchanged_and_the_dataset_reads_the_copies(
    tmp_path: Path, served: LocalHttp
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root, (INIT,), SMALL_LEADS, fields=small_fields(), shape=SMALL_SHAPE
    )
    mirror_root = tmp_path / "mirror"
    mirror_store_spec = LocalStoreSpec(root=str(mirror_root))
    mirror_spec = mirrored_spec(spec, mirror_store_spec)
    producer = open_source_store(spec.source.store)
    mirror = open_source_store(mirror_store_spec)

    result = mirror_partition(spec, producer, mirror, mirror_spec, INIT)
    assert len(result.copied) == result.files_published == len(written)
    for file in written:
        copy = mirror_root / f"{INIT:%Y%m%d%H}" / file.key
        assert copy.read_bytes() == (served.root / file.key).read_bytes()  # still bz2
    again = mirror_partition(spec, producer, mirror, mirror_spec, INIT)
    assert again.copied == []
    assert again.already_mirrored == len(written)

    for file in written:  # DWD's day is over: its files are gone
        os.remove(served.root / file.key)
    repository, ingested = ingest(mirror_spec, tmp_path)
    assert ingested.files_ingested == len(written) == ingested.files_expected
    assert repository.spec.source.store.url_prefix == f"file://{mirror_root}/"
    ds = read_dataset(repository, INIT)
    assert_reads_as_eccodes(ds, written, mirror_spec)


def _published_partition(served: LocalHttp) -> tuple[DatasetSpec, list[WrittenIconFile]]:
    """The small spec over ``served`` and its partition ``INIT``, every object published at
    ``PUBLISHED``."""
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root,
        (INIT,),
        SMALL_LEADS,
        fields=small_fields(),
        shape=SMALL_SHAPE,
        published=PUBLISHED,
    )
    return spec, written


def test_the_mirror_refuses_an_object_replaced_since_it_was_listed(
    tmp_path: Path, served: LocalHttp
) -> None:
    """A poll listed every object (its HEADs are reused while an index row is unchanged); one
    object is then replaced within the same minute with the same size, so its row is unchanged:
    the copy's GET is not the version listed, and that object is not mirrored. The refusal
    forgets the stale version: the next run copies the version served now."""
    spec, written = _published_partition(served)
    mirror_root = tmp_path / "mirror"
    mirror_store_spec = LocalStoreSpec(root=str(mirror_root))
    producer = open_source_store(spec.source.store)
    assert len(list_partition(producer, expected_files(spec, INIT))) == len(written)
    replaced = written[len(written) // 2]
    later = (PUBLISHED + dt.timedelta(seconds=30)).timestamp()
    os.utime(served.root / replaced.key, (later, later))
    mirror = open_source_store(mirror_store_spec)
    mirror_spec = mirrored_spec(spec, mirror_store_spec)

    with pytest.raises(MirrorError) as refused:
        mirror_partition(spec, producer, mirror, mirror_spec, INIT)
    assert str(refused.value).startswith(f"{served.base_url}{replaced.key}: replaced between")
    assert not (mirror_root / f"{INIT:%Y%m%d%H}" / replaced.key).exists()

    again = mirror_partition(spec, producer, mirror, mirror_spec, INIT)
    assert again.files_published == len(written)
    assert (mirror_root / f"{INIT:%Y%m%d%H}" / replaced.key).exists()


@pytest.mark.parametrize(
    ("size_change", "seconds_later"),
    [(1, 0), (0, 60)],
    ids=["another-size-same-minute", "same-size-next-minute"],
)
def test_the_mirror_refuses_an_object_its_page_row_does_not_describe(
    tmp_path: Path,
    served: LocalHttp,
    monkeypatch: pytest.MonkeyPatch,
    size_change: int,
    seconds_later: int,
) -> None:
    """No HEAD, no earlier poll: an object replaced after its directory page was read, so that
    its GET's size or minute is not what the page row printed, is refused by name and not
    mirrored."""
    import vidx_pipeline.mirror as mirror_module

    spec, written = _published_partition(served)
    replaced = written[len(written) // 2]
    path = served.root / replaced.key
    list_rows = mirror_module.list_http_rows

    def list_then_replace(store, keys):
        rows = list_rows(store, keys)
        path.write_bytes(path.read_bytes() + b"\0" * size_change)
        later = (PUBLISHED + dt.timedelta(seconds=seconds_later)).timestamp()
        os.utime(path, (later, later))
        return rows

    monkeypatch.setattr(mirror_module, "list_http_rows", list_then_replace)
    mirror_root = tmp_path / "mirror"
    mirror_store_spec = LocalStoreSpec(root=str(mirror_root))
    with pytest.raises(MirrorError) as refused:
        mirror_partition(
            spec,
            open_source_store(spec.source.store),
            open_source_store(mirror_store_spec),
            mirrored_spec(spec, mirror_store_spec),
            INIT,
        )
    assert str(refused.value).startswith(f"{served.base_url}{replaced.key}: replaced between")
    assert not (mirror_root / f"{INIT:%Y%m%d%H}" / replaced.key).exists()
    assert not [r for r in served.requests if r[0] == "HEAD"]


def test_the_mirror_asks_the_producer_one_get_per_object(tmp_path: Path, served: LocalHttp) -> None:
    """One page per directory and one GET per object, no HEAD: the GET's own headers are
    checked against the page row. The exact versions read are remembered, so a listing of the
    producer afterwards sends no HEAD either and gives each object's exact size and time; a
    second run sends the pages alone."""
    spec, written = _published_partition(served)
    directories = {f"/{file.key.rpartition('/')[0]}/" for file in written}
    mirror_store_spec = LocalStoreSpec(root=str(tmp_path / "mirror"))
    producer = open_source_store(spec.source.store)
    mirror = open_source_store(mirror_store_spec)
    mirror_spec = mirrored_spec(spec, mirror_store_spec)

    result = mirror_partition(spec, producer, mirror, mirror_spec, INIT)
    assert len(result.copied) == len(written)
    assert sorted(served.requests) == sorted(
        [("GET", d) for d in directories] + [("GET", f"/{file.key}") for file in written]
    )

    served.requests.clear()
    listed = list_partition(producer, expected_files(spec, INIT))
    assert sorted(served.requests) == sorted(("GET", d) for d in directories)
    for file in written:
        assert listed[file.key].size == file.size
        assert listed[file.key].last_modified == PUBLISHED

    served.requests.clear()
    again = mirror_partition(spec, producer, mirror, mirror_spec, INIT)
    assert again.already_mirrored == len(written)
    assert sorted(served.requests) == sorted(("GET", d) for d in directories)


def test_a_mirrored_spec_reads_the_mirror_under_the_cycle_prefix() -> None:
    mirror = mirrored_spec(SPEC, LocalStoreSpec(root="/srv/mirror"))
    original = expected_files(SPEC, INIT)
    copies = expected_files(mirror, INIT)
    assert [c.data_key for c in copies] == [f"2026113006/{f.data_key}" for f in original]
    assert mirror.source.mirror is None
    assert mirror.source.store.url_prefix == "file:///srv/mirror/"
    with pytest.raises(ValueError, match="declares no mirror"):
        mirrored_spec(mirror, LocalStoreSpec(root="/srv/other"))


# ---- the codec chain and the HTTP container alone (no ingest): CCSDS and the real message ----


def _read_through_http_container(tmp_path: Path, http: LocalHttp, key: str, ny: int, nx: int):
    """One (1, ny, nx) array whose only chunk is a virtual ref to the whole object at ``key`` on
    the HTTP server, its codec chain the pipeline's for a bz2 file kind (bz2, then gribberish),
    in a repository configured and then reopened with the pipeline's HTTP container and reader
    credentials."""
    import icechunk
    import zarr
    from gribberish.zarr import GribberishCodec

    from vidx_pipeline.index_formats.base import SourceObject
    from vidx_pipeline.source_store import container_credentials, virtual_chunk_container
    from vidx_pipeline.template import _object_codecs  # the chain templates give bz2 kinds

    store_spec = HttpStoreSpec(base_url=http.base_url)
    meta = obstore.head(open_source_store(store_spec), key)
    listed = SourceObject(key, meta["size"], meta["last_modified"], meta.get("e_tag"))
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(virtual_chunk_container(store_spec))
    storage = icechunk.local_filesystem_storage(str(tmp_path / "repo"))
    repo = icechunk.Repository.create(storage, config=config)
    session = repo.writable_session("main")
    group = zarr.open_group(session.store, mode="w")
    group.create_array(
        "field",
        shape=(1, ny, nx),
        chunks=(1, ny, nx),
        dtype="float32",
        fill_value=np.nan,
        serializer=GribberishCodec(var="field"),
        compressors=_object_codecs("bz2"),
        dimension_names=["time", "latitude", "longitude"],
    )
    ref = icechunk.VirtualChunkSpec(
        index=[0, 0, 0],
        location=http.base_url + key,
        offset=0,
        length=listed.size,
        last_updated_at_checksum=listed.last_modified_checksum(),
    )
    assert session.store.set_virtual_refs("field", [ref], validate_containers=True) is None
    session.commit("one whole-object ref")
    reader = icechunk.Repository.open(
        storage,
        authorize_virtual_chunk_access=icechunk.containers_credentials(
            {store_spec.url_prefix: container_credentials(store_spec)}
        ),
    )
    return zarr.open_array(reader.readonly_session("main").store, path="field")[0]


@pytest.mark.parametrize("lead", [0, 81])
def test_a_ccsds_icon_eu_message_decodes_through_the_repository_as_eccodes(
    tmp_path: Path, served: LocalHttp, lead: int
) -> None:
    """DWD's packing since June 2026 (template 5.42) on ICON-EU's own grid."""
    import eccodes

    (file,) = write_icon_archive(
        served.root, (INIT,), (lead,), fields=(IconField("T", 500),), packing="grid_ccsds"
    )
    gid = eccodes.codes_new_from_message(file.grib)
    assert eccodes.codes_get(gid, "packingType") == "grid_ccsds"
    eccodes.codes_release(gid)
    actual = _read_through_http_container(tmp_path, served, file.key, *SPEC.grid.shape)
    expected = eccodes_decode(file.grib)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_the_real_icon_eu_message_decodes_through_the_http_container_as_eccodes(
    tmp_path: Path, served: LocalHttp
) -> None:
    real = Path(__file__).parents[1] / "fixtures" / "real" / "grib" / REAL_NAME
    key = f"weather/nwp/icon-eu/grib/00/t_2m/{REAL_NAME}"
    (served.root / key).parent.mkdir(parents=True)
    (served.root / key).write_bytes(real.read_bytes())
    actual = _read_through_http_container(tmp_path, served, key, *SPEC.grid.shape)
    np.testing.assert_allclose(actual, eccodes_decode(bz2.decompress(real.read_bytes())), rtol=1e-6)


def test_an_http_source_is_no_bucket() -> None:
    with pytest.raises(TypeError, match="'http', not an S3 bucket"):
        _ = SPEC.source.s3
    assert get_dataset("noaa-gfs-forecast").source.s3.bucket == "noaa-gfs-bdp-pds"
