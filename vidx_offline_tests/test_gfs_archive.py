"""The archive in NOAA's layout: keys, config validation, file layout and write order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import obstore
import pydantic
import pytest
from obstore.store import MemoryStore

from vidx_offline import gfs_archive
from vidx_offline.gfs_archive import (
    GFS_BUCKET,
    GfsArchiveConfig,
    GfsArchiveError,
    WrittenGfsFile,
    gfs_data_key,
    gfs_index_key,
    render_gfs_file,
    write_gfs_archive,
)
from vidx_offline.inventory import gfs_inventory, parse_inventory_line

INIT = datetime(2025, 8, 1, 0, tzinfo=UTC)
FIELDS = (("TMP", "2 m above ground"), ("APCP", "surface"), ("SOILW", "0-0.1 m below ground"))


def test_noaa_keys() -> None:
    assert GFS_BUCKET == "noaa-gfs-bdp-pds"
    init = datetime(2025, 8, 1, 6)
    assert gfs_data_key(init, 7) == "gfs.20250801/06/atmos/gfs.t06z.pgrb2.0p25.f007"
    assert gfs_index_key(init, 123) == "gfs.20250801/06/atmos/gfs.t06z.pgrb2.0p25.f123.idx"
    east = timezone(timedelta(hours=6))
    assert gfs_data_key(datetime(2025, 8, 1, 0, tzinfo=east), 0).startswith("gfs.20250731/18/")


def test_config_normalises_and_validates() -> None:
    config = GfsArchiveConfig(init_times=(datetime(2025, 8, 1, 6),), lead_hours=(0, 6))
    assert config.init_times == (datetime(2025, 8, 1, 6, tzinfo=UTC),)
    assert config.grid == (721, 1440)
    assert config.fields is None
    assert len(config.inventory(0)) == 696
    with pytest.raises(pydantic.ValidationError):
        config.seed = 1  # type: ignore[misc]
    bad: list[dict[str, Any]] = [
        {"init_times": ()},
        {"init_times": (datetime(2025, 8, 1, 6, 30),)},
        {"init_times": (INIT, INIT.replace(tzinfo=None))},
        {"lead_hours": ()},
        {"lead_hours": (1, 1)},
        {"lead_hours": (-1,)},
        {"grid": (1, 4)},
        {"fields": ()},
        {"fields": (("TMP", "2 m above sea"),)},
        {"fields": (("APCP", "surface"),), "lead_hours": (0, 6)},
        {"fields": FIELDS + FIELDS[:1]},
        {"packing": "grid_ccsds"},
        {"unknown": 1},
    ]
    for change in bad:
        arguments = {"init_times": (INIT,), "lead_hours": (0, 7), "grid": (3, 4)} | change
        with pytest.raises(pydantic.ValidationError):
            GfsArchiveConfig(**arguments)


@pytest.mark.parametrize("lead", [0, 7])
def test_full_inventory_file_matches_the_real_inventory_layout(lead: int) -> None:
    config = GfsArchiveConfig(init_times=(INIT,), lead_hours=(lead,), grid=(3, 4))
    file = render_gfs_file(config, INIT, lead)
    lines = file.index_text.splitlines()
    assert len(lines) == len(gfs_inventory(lead)) == len(file.messages)
    assert file.index_text.endswith("\n")
    for number, (text, message) in enumerate(zip(lines, file.messages, strict=True), start=1):
        assert parse_inventory_line(text, expected_number=number) == message.line
        assert text.split(":")[1] == str(message.offset)
        assert file.data[message.offset : message.offset + 4] == b"GRIB"
    assert sum(m.length for m in file.messages) == len(file.data)
    assert file.data_key == gfs_data_key(INIT, lead)
    assert file.index_key == file.data_key + ".idx"


def test_render_refuses_an_empty_file() -> None:
    config = GfsArchiveConfig(
        init_times=(INIT,), lead_hours=(7,), grid=(3, 4), fields=(("APCP", "surface"),)
    )
    with pytest.raises(GfsArchiveError, match="empty file"):
        render_gfs_file(config, INIT, 0)


def _recording_put(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, bool]]:
    """Record every obstore.put as (key, whether the data object already existed, multipart)."""
    calls: list[tuple[str, bool, bool]] = []
    original: Callable[..., Any] = obstore.put

    def put(store: Any, path: str, file: Any, **kwargs: Any) -> Any:
        data_key = path.removesuffix(".idx")
        try:
            obstore.head(store, data_key)
            data_exists = True
        except FileNotFoundError:
            data_exists = False
        calls.append((path, data_exists, bool(kwargs.get("use_multipart"))))
        return original(store, path, file, **kwargs)

    monkeypatch.setattr(obstore, "put", put)
    return calls


@pytest.mark.parametrize("stream_threshold", [gfs_archive.STREAM_THRESHOLD_BYTES, 1000])
def test_write_into_memory_store_data_before_index(
    monkeypatch: pytest.MonkeyPatch, stream_threshold: int
) -> None:
    monkeypatch.setattr(gfs_archive, "STREAM_THRESHOLD_BYTES", stream_threshold)
    calls = _recording_put(monkeypatch)
    inits = (INIT, INIT + timedelta(hours=6))
    config = GfsArchiveConfig(init_times=inits, lead_hours=(0, 6, 7), grid=(19, 36), fields=FIELDS)
    store = MemoryStore()
    seen: list[WrittenGfsFile] = []
    written = write_gfs_archive(store, config, on_file=seen.append)

    assert seen == written
    assert [(w.init, w.lead_hours) for w in written] == [(i, h) for i in inits for h in (0, 6, 7)]
    expected_calls = []
    for init in inits:
        for lead in (0, 6, 7):
            expected_calls += [
                (gfs_data_key(init, lead), False, stream_threshold == 1000),
                (gfs_index_key(init, lead), True, False),
            ]
    assert calls == expected_calls

    listed = {meta["path"]: meta["size"] for meta in obstore.list(store).collect()}
    assert len(listed) == 2 * len(written)
    for record in written:
        reference = render_gfs_file(config, record.init, record.lead_hours)
        data = obstore.get(store, record.data_key).bytes().to_bytes()
        index = obstore.get(store, record.index_key).bytes().to_bytes()
        assert data == reference.data
        assert index.decode("ascii") == reference.index_text
        assert record.messages == reference.messages
        assert (record.data_size, record.index_size) == (len(data), len(index))
        assert listed[record.data_key] == record.data_size


def test_bucket_name_is_not_part_of_the_keys() -> None:
    config = GfsArchiveConfig(init_times=(INIT,), lead_hours=(1,), grid=(3, 4), fields=FIELDS)
    store = MemoryStore()
    write_gfs_archive(store, config)
    paths = sorted(meta["path"] for meta in obstore.list(store).collect())
    assert paths == [
        "gfs.20250801/00/atmos/gfs.t00z.pgrb2.0p25.f001",
        "gfs.20250801/00/atmos/gfs.t00z.pgrb2.0p25.f001.idx",
    ]


def test_seed_changes_values_not_layout() -> None:
    base = GfsArchiveConfig(init_times=(INIT,), lead_hours=(7,), grid=(19, 36), fields=FIELDS)
    other = base.model_copy(update={"seed": 1})
    first, second = render_gfs_file(base, INIT, 7), render_gfs_file(other, INIT, 7)
    assert [m.line for m in first.messages] == [m.line for m in second.messages]
    assert first.data != second.data
    assert render_gfs_file(base, INIT, 7) == first


@pytest.mark.slow
def test_write_to_the_loopback_s3_api_streams_large_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's real target: an S3Store on moto's S3 API, single PUTs and multipart."""

    from vidx_offline.s3_server import running_s3_server

    monkeypatch.setattr(gfs_archive, "STREAM_THRESHOLD_BYTES", 2000)
    config = GfsArchiveConfig(init_times=(INIT,), lead_hours=(0, 7), grid=(19, 36), fields=FIELDS)
    with running_s3_server() as s3:
        s3.create_bucket(GFS_BUCKET, public_read=True)
        store = s3.store(GFS_BUCKET)
        calls = _recording_put(monkeypatch)
        written = write_gfs_archive(store, config)
        assert [call[:2] for call in calls] == [
            (gfs_data_key(INIT, 0), False),
            (gfs_index_key(INIT, 0), True),
            (gfs_data_key(INIT, 7), False),
            (gfs_index_key(INIT, 7), True),
        ]
        assert any(multipart for _, _, multipart in calls)
        for record in written:
            reference = render_gfs_file(config, INIT, record.lead_hours)
            assert obstore.get(store, record.data_key).bytes().to_bytes() == reference.data
            index = obstore.get(store, record.index_key).bytes().to_bytes()
            assert index.decode("ascii") == reference.index_text
