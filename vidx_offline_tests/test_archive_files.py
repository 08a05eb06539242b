"""The machinery every archive shares: index text, message framing, streaming writer."""

from __future__ import annotations

from datetime import UTC, datetime

import obstore
import pytest
from obstore.store import MemoryStore

from vidx_offline import archive_files, gfs_archive
from vidx_offline.archive_files import (
    ArchiveConfig,
    ArchiveError,
    MessageInfo,
    check_message,
    collect_messages,
    index_text,
    put_data_then_index,
    write_each,
)
from vidx_offline.grids import GlobalLatLonGrid
from vidx_offline.inventory import InventoryLine

INIT = datetime(2025, 8, 1, tzinfo=UTC)
LINE = InventoryLine("TMP", "2 m above ground", "9 hour fcst")


def test_gfs_archive_re_exports_the_shared_names() -> None:
    assert gfs_archive.MessageInfo is archive_files.MessageInfo
    assert gfs_archive.index_text is archive_files.index_text
    assert issubclass(gfs_archive.GfsArchiveError, ArchiveError)


def test_index_text_with_and_without_a_seventh_field() -> None:
    messages = [MessageInfo(LINE, 0, 10), MessageInfo(LINE, 10, 12)]
    assert index_text(messages, INIT) == (
        "1:0:d=2025080100:TMP:2 m above ground:9 hour fcst:\n"
        "2:10:d=2025080100:TMP:2 m above ground:9 hour fcst:\n"
    )
    assert index_text(tuple(messages), INIT, "ENS=+3").splitlines() == [
        "1:0:d=2025080100:TMP:2 m above ground:9 hour fcst:ENS=+3",
        "2:10:d=2025080100:TMP:2 m above ground:9 hour fcst:ENS=+3",
    ]


def _message(length: int, edition: int = 2) -> bytes:
    body = b"GRIB" + b"\0\0\0" + bytes([edition]) + length.to_bytes(8, "big")
    return body + b"\0" * (length - len(body) - 4) + b"7777"


def test_check_message_rejects_broken_framing() -> None:
    check_message(_message(40), LINE)

    class Specific(ArchiveError):
        pass

    for broken in (
        _message(40)[:-1],
        _message(40, edition=1),
        b"GRIX" + _message(40)[4:],
        _message(40)[:-4] + b"7778",
        b"GRIB",
    ):
        with pytest.raises(Specific, match="malformed GRIB2 message"):
            check_message(broken, LINE, Specific)


@pytest.mark.parametrize("threshold", [10_000, 50])
def test_put_data_then_index_streams_past_the_threshold(
    monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    multipart: list[bool] = []
    original = obstore.put

    def put(store: object, path: str, file: object, **kwargs: object) -> object:
        multipart.append(bool(kwargs.get("use_multipart")))
        return original(store, path, file, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(obstore, "put", put)
    chunks = [_message(40), _message(30), _message(50)]
    offsets = [0, 40, 70]
    messages = iter(
        (MessageInfo(LINE, offset, len(chunk)), chunk)
        for offset, chunk in zip(offsets, chunks, strict=True)
    )
    store = MemoryStore()
    stored = put_data_then_index(
        store,
        "data",
        "data.idx",
        messages,
        lambda infos: f"{len(infos)}\n",
        stream_threshold=threshold,
    )
    assert multipart == [threshold == 50, False]
    assert obstore.get(store, "data").bytes().to_bytes() == b"".join(chunks)
    assert obstore.get(store, "data.idx").bytes().to_bytes() == b"3\n"
    assert (stored.data_size, stored.index_size) == (120, 2)
    assert [m.offset for m in stored.messages] == offsets


def test_write_each_keeps_order_and_reports_each() -> None:
    seen: list[int] = []
    assert write_each([3, 1, 2], lambda item: item * 10, seen.append) == [30, 10, 20]
    assert seen == [30, 10, 20]
    assert write_each([], lambda item: item) == []


def test_collect_messages_holds_a_whole_file() -> None:
    chunks = [_message(40), _message(30)]
    infos = [MessageInfo(LINE, 0, 40), MessageInfo(LINE, 40, 30)]
    data, messages = collect_messages(zip(infos, chunks, strict=True))
    assert (data, messages) == (b"".join(chunks), tuple(infos))
    assert collect_messages([]) == (b"", ())


def test_archive_config_encodes_on_the_global_grid_by_default() -> None:
    config = ArchiveConfig(init_times=(INIT,), lead_hours=(0,), grid=(3, 4))
    assert config.grid_definition() == GlobalLatLonGrid(shape=(3, 4))
    assert config.parameter("CRAIN") is None
    assert config.generating_process is None
