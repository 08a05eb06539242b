"""Fetching a partition's newly published files: index GET, header probe, parse, place, judge.

Contract of :func:`fetch_refs`: for each file, concurrently, it GETs the index (where the
format has one) and, with one small range request, the first message's header sections of the
data object; it parses and validates the index through its format module (its entry at offset
0 must have the first message's own length), checks that header against the spec and the
object's path (edition 2, the producer's centre, the file's cycle as its path names it, the
spec's grid), and reads the section 0 of the message at the index's highest offset with a
second small range request (a GRIB2 message must start there, with the entry's length, and fit
in the object: a truncated object, or an index of another version of it, is refused). Then the
dataset's provider places the messages (refs in label space) and the placement is judged here:
every expected chunk of the file is either filled or reported missing, and no two messages
fill one chunk. Any bad object raises a
:class:`~vidx_pipeline.index_formats.base.BadSourceError` naming it (and the line); the error
raised is that of the first bad file in ``files`` order, so an archive always reports the same
file. Nothing is returned for a batch with a bad file, so nothing of it can be committed.
"""

from __future__ import annotations

import asyncio
import bz2
import datetime as dt
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import ObjectStore

if TYPE_CHECKING:
    from obstore import GetOptions

from vidx_pipeline.grib_header import (
    HEADER_PROBE_BYTES,
    SECTION0_LENGTH,
    GribHeader,
    GribHeaderError,
    message_length,
    parse_grib_header,
)
from vidx_pipeline.index_formats import get_format
from vidx_pipeline.index_formats.base import (
    BadDataError,
    BadIndexError,
    BadSourceError,
    IndexEntry,
    SourceObject,
)
from vidx_pipeline.placement import FileRefs, place_entries, table_for
from vidx_pipeline.providers import get_provider
from vidx_pipeline.refs import ChunkLocator, locator_for
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.source_store import unavailable
from vidx_pipeline.spec import DatasetSpec

MAX_HEADER_BYTES = 1 << 20
"""A first message whose header sections need more than this is refused."""
MAX_INDEX_BYTES = 64 << 20
"""An index object larger than this is refused unread (NCEP's are ~60 KB, ECMWF's ensemble
ones a few MB): memory and time stay bounded whatever a producer publishes."""


async def _get_as_listed(
    store: ObjectStore,
    listed: SourceObject,
    url: str,
    error: type[BadSourceError],
    byte_range: tuple[int, int] | None = None,
) -> bytes:
    """The object's bytes (or a range of them), refused unless the object read is the one the
    listing described: a producer replacing or deleting it in between must not mix versions."""
    options: GetOptions = {"range": byte_range} if byte_range is not None else {}
    try:
        response = await obstore.get_async(store, listed.key, options=options)
    except (NotFoundError, FileNotFoundError):  # obstore raises the builtin
        raise error(url, "listed, then not found: deleted between listing and read") from None
    except BaseError as failure:
        raise unavailable(url, failure) from None
    meta = response.meta
    if meta["size"] != listed.size or meta["last_modified"] != listed.last_modified:
        raise error(
            url,
            f"replaced between listing and read: listed {listed.size} bytes modified "
            f"{listed.last_modified:%Y-%m-%dT%H:%M:%S}, read {meta['size']} bytes modified "
            f"{meta['last_modified']:%Y-%m-%dT%H:%M:%S}",
        )
    try:
        return bytes(await response.bytes_async())
    except BaseError as failure:
        raise unavailable(url, failure) from None


def checksum_of(spec: DatasetSpec, data: SourceObject) -> dt.datetime | str:
    if spec.checksum == "etag" and data.etag:
        return data.etag
    return data.last_modified_checksum()


def check_header(
    spec: DatasetSpec, header: GribHeader, *, data_url: str, reference_time: dt.datetime
) -> None:
    """Refuse a data object whose first message is not what the spec and path say (the path
    names the cycle: ``reference_time``)."""
    problems = []
    if header.centre != spec.source.centre:
        problems.append(f"centre {header.centre}, expected {spec.source.centre}")
    if header.reference_time != reference_time:
        problems.append(
            f"reference time {header.reference_time:%Y-%m-%dT%H:%M}, the path says "
            f"{reference_time:%Y-%m-%dT%H:%M}"
        )
    problems.extend(spec.grid.header_problems(header.grid))
    if problems:
        raise BadDataError(
            data_url, "first message disagrees with the spec: " + "; ".join(problems)
        )


async def _read_header(
    store: ObjectStore, file: ExpectedFile, data: SourceObject, data_url: str
) -> GribHeader:
    """The header sections of the data object's first message, from its first bytes (one
    range request, a larger one where the header needs more)."""
    match file.kind.compression:
        case "none":
            wanted = HEADER_PROBE_BYTES
            while True:
                length = min(wanted, data.size)
                head = await _get_as_listed(store, data, data_url, BadDataError, (0, length))
                try:
                    return parse_grib_header(head, source=data_url)
                except GribHeaderError as error:
                    needed = error.bytes_needed
                    if not (needed and length < data.size and needed <= MAX_HEADER_BYTES):
                        raise _unreadable(data_url, error) from None
                    wanted = max(needed, 2 * wanted)
        case "bz2":
            compressed = await _get_as_listed(store, data, data_url, BadDataError)
            try:
                head = bz2.BZ2Decompressor().decompress(compressed, HEADER_PROBE_BYTES)
            except OSError as error:
                raise BadDataError(data_url, f"not a bz2 stream ({error})") from None
            try:
                return parse_grib_header(head, source=data_url)
            except GribHeaderError as error:
                raise _unreadable(data_url, error) from None


def _unreadable(data_url: str, error: GribHeaderError) -> BadDataError:
    return BadDataError(data_url, f"unreadable first GRIB message: {error}")


def check_first_message(
    entries: Sequence[IndexEntry], length: int, *, index_url: str, data_url: str
) -> None:
    for line, entry in enumerate(entries, start=1):
        if entry.offset == 0 and entry.length != length:
            raise _length_disagrees(entry, length, line, index_url=index_url, data_url=data_url)


def _length_disagrees(
    entry: IndexEntry, length: int, line: int, *, index_url: str, data_url: str
) -> BadIndexError:
    """The error for an index entry whose length is not its message's own (``length``)."""
    return BadIndexError(
        index_url,
        f"the message at offset {entry.offset} is {entry.length} bytes by the index, {length} "
        f"by {data_url}'s own header: the index describes another object",
        line,
    )


async def check_last_message(
    store: ObjectStore,
    data: SourceObject,
    entries: Sequence[IndexEntry],
    *,
    index_url: str,
    data_url: str,
) -> None:
    """Refuse an uncompressed data object whose last message (the entry at the highest offset)
    is not where and how long the index says: with one 16-byte range request, its section 0
    must be a GRIB2 message of the entry's length that fits in the object. Catches a truncated
    last message (the listing's size is then the truncated one, which a wgrib2 inventory's last
    line inherits) and an index written for another version of the object whose later messages
    moved; the first message is checked by :func:`check_first_message`."""
    if not entries:
        return
    line, entry = max(enumerate(entries, start=1), key=lambda numbered: numbered[1].offset)
    if entry.offset == 0 or entry.length is None:  # one message: its header was read already
        return
    span = (entry.offset, min(entry.offset + SECTION0_LENGTH, data.size))
    head = await _get_as_listed(store, data, data_url, BadDataError, span)
    try:
        length = message_length(head, source=data_url)
    except GribHeaderError as error:
        raise BadIndexError(
            index_url,
            f"no GRIB2 message starts at offset {entry.offset} of {data_url} ({error}): the "
            "index describes another version of the object",
            line,
        ) from None
    if entry.offset + length > data.size:
        raise BadDataError(
            data_url,
            f"truncated: its last message ({index_url} line {line}, offset {entry.offset}) is "
            f"{length} bytes by its own header, but the object ends "
            f"{data.size - entry.offset} bytes after its start",
        )
    if length != entry.length:
        raise _length_disagrees(entry, length, line, index_url=index_url, data_url=data_url)


def _urls(spec: DatasetSpec, file: ExpectedFile) -> tuple[str, str]:
    """(data url, index url) of ``file``; an object without index is its own index."""
    url_prefix = spec.source.store.url_prefix
    data_url = url_prefix + file.data_key
    return data_url, url_prefix + file.index_key if file.index_key else data_url


def read_index(
    spec: DatasetSpec,
    file: ExpectedFile,
    data: SourceObject,
    index_text: str,
    *,
    first_message_length: int | None = None,
) -> Sequence[IndexEntry]:
    """Parse and validate one fetched index through its format module.
    ``first_message_length``: the data object's first message's own length (its header's),
    which the index's entry at offset 0 must give too (an index of another version of the
    object would not)."""
    data_url, index_url = _urls(spec, file)
    entries = get_format(file.kind.index_format).parse(
        index_text,
        index_url=index_url,
        data=data,
        data_url=data_url,
        init=file.reference_time,
    )
    if first_message_length is not None:
        check_first_message(entries, first_message_length, index_url=index_url, data_url=data_url)
    return entries


def place_read(
    spec: DatasetSpec,
    locator: ChunkLocator,
    file: ExpectedFile,
    data: SourceObject,
    entries: Sequence[IndexEntry],
    missing_policy: Literal["report", "fail"],
) -> FileRefs:
    """Let the provider place a read index's messages and judge the placement."""
    data_url, index_url = _urls(spec, file)
    provider = get_provider(spec.provider)
    placed = place_entries(
        provider,
        table_for(provider, locator, file),
        file,
        entries,
        data=data,
        data_url=data_url,
        index_url=index_url,
        checksum=checksum_of(spec, data),
    )
    if missing_policy == "fail" and placed.missing:
        raise BadIndexError(
            index_url, "expected fields absent: " + "; ".join(m.slot for m in placed.missing[:20])
        )
    return placed


def place_file(
    spec: DatasetSpec,
    locator: ChunkLocator,
    file: ExpectedFile,
    data: SourceObject,
    index_text: str,
    missing_policy: Literal["report", "fail"],
    *,
    first_message_length: int | None = None,
) -> FileRefs:
    """:func:`read_index` then :func:`place_read`: one fetched file's refs, judged."""
    entries = read_index(spec, file, data, index_text, first_message_length=first_message_length)
    return place_read(spec, locator, file, data, entries, missing_policy)


def fetch_refs(
    spec: DatasetSpec,
    store: ObjectStore,
    files: Sequence[ExpectedFile],
    listed: dict[str, SourceObject],
    *,
    max_concurrent_requests: int,
    missing_policy: Literal["report", "fail"],
) -> list[FileRefs]:
    """Fetch and place ``files`` (all published: in ``listed``); see the module contract."""
    locator = locator_for(spec)
    url_prefix = spec.source.store.url_prefix

    async def gather() -> list[FileRefs]:
        semaphore = asyncio.Semaphore(max_concurrent_requests)

        async def index_text(file: ExpectedFile) -> str:
            if file.index_key is None:
                return ""
            index = listed[file.index_key]
            url = url_prefix + file.index_key
            if index.size > MAX_INDEX_BYTES:
                raise BadIndexError(
                    url, f"{index.size} bytes, more than {MAX_INDEX_BYTES}: refused unread"
                )
            async with semaphore:
                body = await _get_as_listed(store, index, url, BadIndexError)
            return body.decode("utf-8", errors="replace")

        async def header(file: ExpectedFile) -> GribHeader:
            async with semaphore:
                return await _read_header(
                    store, file, listed[file.data_key], url_prefix + file.data_key
                )

        async def one(file: ExpectedFile) -> FileRefs:
            data = listed[file.data_key]
            data_url, index_url = _urls(spec, file)
            text, first_header = await asyncio.gather(index_text(file), header(file))
            uncompressed = file.kind.compression == "none"
            # The index first: where both disagree with the path, its error names the line.
            entries = read_index(
                spec,
                file,
                data,
                text,
                # A compressed object's one entry is its compressed size, not the message's.
                first_message_length=first_header.total_length if uncompressed else None,
            )
            check_header(spec, first_header, data_url=data_url, reference_time=file.reference_time)
            if uncompressed:
                async with semaphore:
                    await check_last_message(
                        store, data, entries, index_url=index_url, data_url=data_url
                    )
            return place_read(spec, locator, file, data, entries, missing_policy)

        outcomes = await asyncio.gather(*(one(f) for f in files), return_exceptions=True)
        for outcome in outcomes:  # the first bad file in lead order, whichever arrived first
            if isinstance(outcome, BaseException):
                raise outcome
        return [outcome for outcome in outcomes if isinstance(outcome, FileRefs)]

    if not files:
        return []
    return event_loop().run_until_complete(gather())


_LOOP = threading.local()


def event_loop() -> asyncio.AbstractEventLoop:
    """One event loop per thread, kept open: creating and closing one per poll costs ~0.2 s."""
    loop: asyncio.AbstractEventLoop | None = getattr(_LOOP, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _LOOP.loop = loop
    return loop
