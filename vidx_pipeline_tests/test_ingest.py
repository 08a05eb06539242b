"""Ingest against a real S3 API and real Icechunk repositories, checked against ecCodes."""

from __future__ import annotations

import datetime as dt
import time

import icechunk
import numpy as np
import obstore
import pytest
import xarray as xr

from vidx_offline.gfs_archive import GFS_BUCKET, GfsFile
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline import ingest as vidx_ingest
from vidx_pipeline.fetch import MAX_INDEX_BYTES, fetch_refs
from vidx_pipeline.index_formats.base import BadDataError, BadIndexError, BadSourceError
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.providers.noaa import level_texts, wgrib2_match, wgrib2_window_text
from vidx_pipeline.repository import (
    DatasetRepository,
    RepositorySettings,
    open_repository,
    reader_credentials,
)
from vidx_pipeline.source_files import expected_files, list_partition
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline_tests.conftest import PublishFn, small_gfs_spec, spec_fields

SPEC = small_gfs_spec()


def _repo(tmp_path, s3: LocalS3, spec: DatasetSpec = SPEC) -> DatasetRepository:
    return open_repository(
        spec, RepositorySettings(local_root=str(tmp_path)), source_endpoint=s3.endpoint
    )


def _ingest(repo: DatasetRepository, s3: LocalS3, init: dt.datetime, **settings) -> object:
    store = open_source_store(repo.spec.source.store, s3.endpoint)
    return ingest_partition(repo.spec, repo, store, init, IngestSettings(**settings))


def _read(repo: DatasetRepository) -> xr.Dataset:
    """Open as a reader would: plain icechunk with the container authorized, then xarray."""
    reader = icechunk.Repository.open(
        repo.settings.storage(repo.spec.dataset_id),
        authorize_virtual_chunk_access=reader_credentials(repo.spec),
    )
    return xr.open_zarr(reader.readonly_session(branch="main").store, consolidated=False)


def _message(files: list[GfsFile], lead: int, text: str, occurrence: int) -> bytes:
    """The bytes the archive writer put at the ``occurrence``-th line ``text`` of the lead's
    file, from its own record."""
    file = next(f for f in files if f.data_key.endswith(f".f{lead:03d}"))
    infos = [m for m in file.messages if f"{m.line.element}:{m.line.level}:{m.line.window}" == text]
    info = infos[occurrence]
    return file.data[info.offset : info.offset + info.length]


def _snapshots(repo: DatasetRepository) -> int:
    return len(list(repo.repo.ancestry(branch="main")))


def _assert_equals_eccodes(
    ds: xr.Dataset,
    files: list[GfsFile],
    init: dt.datetime,
    spec: DatasetSpec,
    skip: set[str] = frozenset(),
) -> int:
    """Every chunk of the partition equals ecCodes' decode of the message the archive wrote for
    it (NaN where the producer writes nothing). Returns the number of messages compared."""
    partition = ds.sel(init_time=init.replace(tzinfo=None))
    lead_index = {lead: i for i, lead in enumerate(spec.lead_hours)}
    compared = 0
    occurrences: dict[tuple[int, str], int] = {}
    for variable in spec.variables:
        block = partition[variable.name]
        values = block.values  # one read of the variable's whole partition
        level_index = (
            {v: i for i, v in enumerate(block[variable.level_dimension].values.tolist())}
            if variable.level_dimension is not None
            else {}
        )
        expected_chunks = set()
        for lead in spec.lead_hours:
            window = wgrib2_window_text(variable.window, lead)
            for level_text, value in level_texts(spec, variable, lead) if window else []:
                text = f"{wgrib2_match(variable).element}:{level_text}:{window}"
                occurrence = occurrences.get((lead, text), 0)
                occurrences[(lead, text)] = occurrence + 1
                where = (lead_index[lead], *((level_index[value],) if value is not None else ()))
                expected_chunks.add(where)
                if variable.name in skip:
                    continue
                chunk = values[where]
                expected = eccodes_decode(_message(files, lead, text, occurrence))
                what = f"{variable.name} {value} f{lead:03d}"
                assert np.array_equal(np.isnan(chunk), np.isnan(expected)), what
                np.testing.assert_allclose(chunk, expected, rtol=1e-6, equal_nan=True, err_msg=what)
                compared += 1
        # Every chunk the producer does not write reads as NaN (expected absent).
        for where in np.ndindex(values.shape[:-2]):
            if where not in expected_chunks and variable.name not in skip:
                assert np.isnan(values[where]).all(), f"{variable.name} {where} should be empty"
    return compared


def test_ingest_reads_back_equal_to_eccodes(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 1, 0, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours, fields=spec_fields(SPEC, [("TMP", "surface")]))
    repo = _repo(tmp_path, local_s3)
    result = _ingest(repo, local_s3, init)
    assert result.files_ingested == len(SPEC.lead_hours)
    assert result.missing == []
    assert result.snapshot_id is not None
    ds = _read(repo)
    compared = _assert_equals_eccodes(ds, files, init, SPEC)
    assert compared == result.refs_written
    assert ds.init_time.values[-1] == np.datetime64("2025-08-01T00:00")
    assert ds.sizes["init_time"] == SPEC.append_dimension.index_of(init) + 1
    row = ds.sel(init_time=init.replace(tzinfo=None))
    assert row.ingested.values.all()
    assert row.valid_time.values[7] == np.datetime64("2025-08-01T07:00")
    # The commit message names the partition and the file count.
    snapshot = next(iter(repo.repo.ancestry(branch="main")))
    assert snapshot.message == f"noaa-gfs-forecast init_time=2025-08-01T00:00: {len(files)} files"


def test_rerun_fetches_nothing_and_commits_nothing(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 2, 0, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours)
    repo = _repo(tmp_path, local_s3)
    first = _ingest(repo, local_s3, init)
    assert first.tag == "noaa-gfs-forecast/2025-08-02T00"
    assert repo.repo.lookup_tag(first.tag) == first.snapshot_id
    before = _snapshots(repo)
    # Garble every index now (data objects untouched): a re-run that fetched one again would
    # fail on it.
    for file in files:
        obstore.put(local_s3.store(GFS_BUCKET), file.index_key, b"garbage\n")
    again = _ingest(repo, local_s3, init)
    assert (again.files_ingested, again.files_already_ingested) == (0, len(SPEC.lead_hours))
    assert again.snapshot_id is None
    assert _snapshots(repo) == before
    assert again.tag == first.tag
    assert repo.repo.lookup_tag(first.tag) == first.snapshot_id  # tags never move


def test_files_published_later_are_added_by_the_next_run(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 3, 0, tzinfo=dt.UTC)
    first = publish(init, SPEC.lead_hours[:3])
    # f003's data is up but not its index yet: not published.
    publish(init, [3], write_index=False)
    repo = _repo(tmp_path, local_s3)
    partial = _ingest(repo, local_s3, init)
    assert (partial.files_seen, partial.files_ingested) == (3, 3)
    assert partial.tag is None
    assert repo.repo.list_tags() == set()  # an incomplete partition has no tag
    rest = publish(init, SPEC.lead_hours[3:])
    more = _ingest(repo, local_s3, init)
    assert (more.files_already_ingested, more.files_ingested) == (3, len(SPEC.lead_hours) - 3)
    _assert_equals_eccodes(_read(repo), first + rest, init, SPEC)
    # The tag names the snapshot that completed the partition, and reads as complete.
    assert more.tag is not None
    assert repo.repo.list_tags() == {more.tag}
    assert repo.repo.lookup_tag(more.tag) == more.snapshot_id
    tagged = xr.open_zarr(repo.repo.readonly_session(tag=more.tag).store, consolidated=False)
    assert bool(tagged["ingested"].sel(init_time=init.replace(tzinfo=None)).all())


def test_missing_variable_is_reported_and_shifts_nothing(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 4, 0, tzinfo=dt.UTC)
    fields = [f for f in spec_fields(SPEC) if f != ("DPT", "2 m above ground")]
    files = publish(init, SPEC.lead_hours, fields=fields)
    repo = _repo(tmp_path, local_s3)
    result = _ingest(repo, local_s3, init)
    assert {m.slot for m in result.missing} == {
        f"dew_point_temperature_2m f{lead:03d}" for lead in SPEC.lead_hours
    }
    assert all(m.index_url.endswith(".idx") for m in result.missing)
    ds = _read(repo)
    assert np.isnan(ds.dew_point_temperature_2m.sel(init_time=init.replace(tzinfo=None))).all()
    _assert_equals_eccodes(ds, files, init, SPEC, skip={"dew_point_temperature_2m"})


def test_missing_variable_policy_fail_commits_nothing(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 5, 0, tzinfo=dt.UTC)
    fields = [f for f in spec_fields(SPEC) if f != ("GUST", "surface")]
    publish(init, SPEC.lead_hours, fields=fields)
    repo = _repo(tmp_path, local_s3)
    before = _snapshots(repo)
    with pytest.raises(BadIndexError, match=r"gfs\.t00z\.pgrb2\.0p25\.f000\.idx.*wind_gust"):
        _ingest(repo, local_s3, init, missing_variables="fail")
    assert _snapshots(repo) == before


def _garbage(lead: int, text: str) -> str:
    return text if lead != 5 else text.replace("\n", "\nnot an inventory line\n", 1)


def _truncated(lead: int, text: str) -> str:
    return text if lead != 5 else text[: len(text) // 2]


def _offset_beyond(lead: int, text: str) -> str:
    if lead != 5:
        return text
    lines = text.splitlines(keepends=True)
    fields = lines[-1].split(":")
    fields[1] = str(10**9)
    return "".join(lines[:-1]) + ":".join(fields)


def _wrong_date(lead: int, text: str) -> str:
    return text if lead != 5 else text.replace("d=2025080600", "d=2025080512")


def _lines(lead: int, text: str, edit) -> str:
    return text if lead != 5 else "".join(edit(text.splitlines(keepends=True)))


def _swap_lines(lead: int, text: str) -> str:
    return _lines(lead, text, lambda lines: [lines[0], lines[2], lines[1], *lines[3:]])


def _duplicate_number(lead: int, text: str) -> str:
    def renumber(lines: list[str]) -> list[str]:
        lines[3] = "3" + lines[3][lines[3].index(":") :]
        return lines

    return _lines(lead, text, renumber)


def _index_of_another_object(lead: int, text: str) -> str:
    """Every offset after the first moved by 8 bytes: the first message's length disagrees
    with the data object's own header (an index written for another version of the file)."""

    def shift(lines: list[str]) -> list[str]:
        moved = [lines[0]]
        for line in lines[1:]:
            number, offset, rest = line.split(":", 2)
            moved.append(f"{number}:{int(offset) + 8}:{rest}")
        return moved

    return _lines(lead, text, shift)


def _index_newer_than_its_data(lead: int, text: str) -> str:
    """The producer rewrote the file with a message in the middle 8 bytes longer and its new
    index is listed beside the old data object: every later offset moved, the first did not."""

    def shift(lines: list[str]) -> list[str]:
        middle = len(lines) // 2
        moved = lines[:middle]
        for line in lines[middle:]:
            number, offset, rest = line.split(":", 2)
            moved.append(f"{number}:{int(offset) + 8}:{rest}")
        return moved

    return _lines(lead, text, shift)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_garbage, "invalid idx line 2"),
        (_truncated, "truncated"),
        (_offset_beyond, "lies outside"),
        (_wrong_date, "disagrees"),
        (lambda lead, text: "" if lead == 5 else text, "empty index"),
        (lambda lead, text: "\x00\xff\x13GRIB\n" if lead == 5 else text, "line 1"),
        (lambda lead, text: "ünïcødé: ≠ wgrib2\n" if lead == 5 else text, "line 1"),
        (_swap_lines, "line 3: message number 2 after 3"),
        (_duplicate_number, "line 4: message number 3 after 3"),
        (_index_of_another_object, "line 1: the message at offset 0 is"),
        (_index_newer_than_its_data, "no GRIB2 message starts at offset"),
    ],
    ids=[
        "garbage-line",
        "truncated",
        "offset-beyond-object",
        "date-disagrees-with-path",
        "empty",
        "binary-garbage",
        "unicode-garbage",
        "wrong-line-order",
        "duplicate-message-number",
        "index-of-another-object",
        "index-newer-than-its-data",
    ],
)
def test_bad_index_names_the_object_and_commits_nothing(
    tmp_path, local_s3: LocalS3, publish: PublishFn, edit, problem: str
) -> None:
    init = dt.datetime(2025, 8, 6, 0, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours, edit_index=edit)
    repo = _repo(tmp_path, local_s3)
    before = _snapshots(repo)
    with pytest.raises(BadIndexError) as raised:
        _ingest(repo, local_s3, init)
    assert "gfs.20250806/00/atmos/gfs.t00z.pgrb2.0p25.f005.idx" in str(raised.value)
    assert problem in str(raised.value)
    assert _snapshots(repo) == before
    assert _read(repo).sizes["init_time"] == 0


def test_repository_on_s3(local_s3: LocalS3, s3_env: LocalS3, publish: PublishFn) -> None:
    init = dt.datetime(2025, 8, 7, 0, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours)
    s3_env.create_bucket("vidx-repositories")
    settings = RepositorySettings(
        kind="s3", bucket="vidx-repositories", prefix="test-s3", endpoint=s3_env.endpoint
    )
    repo = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint)
    result = _ingest(repo, s3_env, init)
    assert result.files_ingested == len(SPEC.lead_hours)
    _assert_equals_eccodes(_read(repo), files, init, SPEC)


def test_a_data_object_on_another_grid_is_refused_before_any_ref(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    """NCEP's files on another grid placed where a 0.25° file should be: the header probe of
    the data object refuses the file, naming it, and nothing is committed."""
    init = dt.datetime(2025, 8, 8, 0, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours[:2])
    publish(init, [SPEC.lead_hours[2]], grid=(10, 36))  # a 2.5x-coarser grid, sound index
    repo = _repo(tmp_path, local_s3)
    before = _snapshots(repo)
    with pytest.raises(BadDataError) as raised:
        _ingest(repo, local_s3, init)
    assert "gfs.20250808/00/atmos/gfs.t00z.pgrb2.0p25.f002" in str(raised.value)
    assert "grid 36 x 10, expected 36 x 19" in str(raised.value)
    assert _snapshots(repo) == before


def test_a_data_object_of_another_cycle_is_refused(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    """An 06z file (and its index re-dated to 00z) under the 00z key: the GRIB header's own
    reference time disagrees with the path."""
    init = dt.datetime(2025, 8, 9, 0, tzinfo=dt.UTC)
    other = dt.datetime(2025, 8, 9, 6, tzinfo=dt.UTC)
    files = publish(other, SPEC.lead_hours[:1])
    store = local_s3.store("noaa-gfs-bdp-pds")
    import obstore

    key = files[0].data_key.replace("/06/", "/00/").replace("t06z", "t00z")
    obstore.put(store, key, files[0].data)
    obstore.put(
        store, key + ".idx", files[0].index_text.replace("d=2025080906", "d=2025080900").encode()
    )
    repo = _repo(tmp_path, local_s3)
    with pytest.raises(
        BadDataError, match=r"f000: first message disagrees.*reference time 2025-08-09T06:00"
    ):
        _ingest(repo, local_s3, init)
    assert _read(repo).sizes["init_time"] == 0


def test_unknown_fields_are_reported_as_new_producer_output(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 10, 0, tzinfo=dt.UTC)
    renamed = lambda lead, text: text.replace(":GUST:surface:", ":NEWFLD:surface:")  # noqa: E731
    publish(init, SPEC.lead_hours[:2], edit_index=renamed)
    repo = _repo(tmp_path, local_s3)
    result = _ingest(repo, local_s3, init)
    assert len(result.unplaced) == 2
    assert all("NEWFLD:surface" in u for u in result.unplaced)
    assert {m.slot for m in result.missing} == {"wind_gust_surface f000", "wind_gust_surface f001"}


def test_objects_replaced_or_deleted_between_listing_and_read_are_refused(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    """The listing says which object version a file is; reading another version (or none)
    would mix an index with another object's bytes, so the batch is refused, nothing fetched
    is committed, and the error names the object."""
    init = dt.datetime(2025, 8, 14, 0, tzinfo=dt.UTC)
    files = publish(init, [0, 1])
    store = open_source_store(SPEC.source.store, local_s3.endpoint)
    expected = [f for f in expected_files(SPEC, init) if f.lead_hours in (0, 1)]
    listed = list_partition(store, expected)
    producer = local_s3.store(GFS_BUCKET)
    time.sleep(1.1)  # a new last-modified second
    obstore.put(producer, files[0].index_key, files[0].index_text.encode())
    obstore.delete(producer, files[1].data_key)
    for file, problem in (
        (expected[0], "replaced between listing and read"),
        (expected[1], "deleted between listing and read"),
    ):
        with pytest.raises(BadSourceError, match=problem) as raised:
            fetch_refs(
                SPEC,
                store,
                [file],
                listed,
                max_concurrent_requests=4,
                missing_policy="report",
            )
        assert f"gfs.t00z.pgrb2.0p25.f00{file.lead_hours}" in str(raised.value)


@pytest.mark.parametrize(
    ("cut", "error", "problem"),
    [
        (10, BadDataError, r"f005: truncated: its last message \(.*f005\.idx line \d+"),
        (None, BadIndexError, r"f005\.idx line \d+: .*lies outside"),
    ],
    ids=["truncated-last-message", "data-shorter-than-the-index-says"],
)
def test_a_data_object_shorter_than_its_index_is_refused(
    tmp_path,
    local_s3: LocalS3,
    publish: PublishFn,
    cut: int | None,
    error: type[BadSourceError],
    problem: str,
) -> None:
    """The data object is re-uploaded shorter than the object its index describes: cut inside
    its last message (a wgrib2 inventory's last line has no length, so only the message's own
    header can tell), or by its last two messages (the index's last line lies outside)."""
    init = dt.datetime(2025, 8, 16, 0, tzinfo=dt.UTC)
    files = publish(init, SPEC.lead_hours)
    file = next(f for f in files if f.data_key.endswith(".f005"))
    last_two = sum(m.length for m in file.messages[-2:])
    shorter = file.data[: len(file.data) - (cut if cut is not None else last_two)]
    obstore.put(local_s3.store(GFS_BUCKET), file.data_key, shorter)
    repo = _repo(tmp_path, local_s3)
    before = _snapshots(repo)
    with pytest.raises(error, match=problem):
        _ingest(repo, local_s3, init)
    assert _snapshots(repo) == before


def test_an_oversized_index_is_refused_unread(
    tmp_path, local_s3: LocalS3, publish: PublishFn
) -> None:
    init = dt.datetime(2025, 8, 15, 0, tzinfo=dt.UTC)
    (file,) = publish(init, [0])
    obstore.put(local_s3.store(GFS_BUCKET), file.index_key, b"\n" * (MAX_INDEX_BYTES + 1))
    repo = _repo(tmp_path, local_s3)
    before = _snapshots(repo)
    with pytest.raises(BadIndexError, match=r"f000\.idx: \d+ bytes, more than .* refused unread"):
        _ingest(repo, local_s3, init)
    assert _snapshots(repo) == before


def test_every_commit_gives_its_freed_memory_back(
    tmp_path, local_s3: LocalS3, publish: PublishFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running writer would otherwise keep each commit's freed buffers resident
    (:mod:`vidx_pipeline.heap`)."""
    releases: list[None] = []
    monkeypatch.setattr(vidx_ingest, "release_free_memory", lambda: releases.append(None))
    init = dt.datetime(2025, 8, 1, 0, tzinfo=dt.UTC)
    publish(init, SPEC.lead_hours, fields=spec_fields(SPEC, [("TMP", "surface")]))
    result = _ingest(_repo(tmp_path, local_s3), local_s3, init, max_files_per_commit=2)
    assert result.commits > 1
    assert len(releases) == result.commits
