"""Fetching a partition's newly published files: index GET, header probe, parse, place, judge.

Contract of :func:`fetch_refs`: for each file, concurrently, it GETs the index (where the
format has one) and, with one small range request, the first message's header sections of the
data object; it checks that header against the spec and the object's path (edition 2, the
producer's centre, the partition's reference time, the spec's grid), parses and validates the
index through its format module, lets the dataset's provider place the messages (refs in label
space), and judges the placement here: every expected chunk of the file is either filled or
reported missing, and no two messages fill one chunk. Any bad object raises a
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
from dataclasses import dataclass
from typing import Literal

import obstore
from obstore.store import ObjectStore

from vidx_pipeline.grib_header import (
    HEADER_PROBE_BYTES,
    GribHeader,
    GribHeaderError,
    parse_grib_header,
)
from vidx_pipeline.index_formats import get_format
from vidx_pipeline.index_formats.base import BadDataError, BadIndexError, SourceObject
from vidx_pipeline.providers import get_provider
from vidx_pipeline.refs import ChunkLocator, LabelError, VirtualRef, locator_for
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import DatasetSpec

MAX_HEADER_BYTES = 1 << 20
"""A first message whose header sections need more than this is refused."""


@dataclass(frozen=True)
class MissingField:
    """An expected chunk of a file that its index does not hold."""

    slot: str  # e.g. "temperature_isobaric isobaric_level=500.0 f007"
    index_url: str

    def describe(self) -> str:
        return f"{self.slot}: not in {self.index_url}"


@dataclass(frozen=True)
class FileRefs:
    """The validated, placed refs of one published file, and what it lacked or added."""

    file: ExpectedFile
    refs: list[VirtualRef]
    indices: list[tuple[int, ...]]  # each ref's chunk index after the append dimension
    missing: list[MissingField]
    unplaced: list[str]  # messages of fields the dataset does not hold: new producer output
    refused: list[str]


def checksum_of(spec: DatasetSpec, data: SourceObject) -> dt.datetime | str:
    if spec.checksum == "etag" and data.etag:
        return data.etag
    return data.last_modified_checksum()


def check_header(
    spec: DatasetSpec, header: GribHeader, *, data_url: str, partition_time: dt.datetime
) -> None:
    """Refuse a data object whose first message is not what the spec and path say."""
    problems = []
    if header.centre != spec.source.centre:
        problems.append(f"centre {header.centre}, expected {spec.source.centre}")
    if header.reference_time != partition_time:
        problems.append(
            f"reference time {header.reference_time:%Y-%m-%dT%H:%M}, the path says "
            f"{partition_time:%Y-%m-%dT%H:%M}"
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
                head = bytes(
                    await obstore.get_range_async(store, file.data_key, start=0, length=length)
                )
                try:
                    return parse_grib_header(head, source=data_url)
                except GribHeaderError as error:
                    needed = error.bytes_needed
                    if not (needed and length < data.size and needed <= MAX_HEADER_BYTES):
                        raise _unreadable(data_url, error) from None
                    wanted = max(needed, 2 * wanted)
        case "bz2":
            response = await obstore.get_async(store, file.data_key)
            compressed = bytes(await response.bytes_async())
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


def place_file(
    spec: DatasetSpec,
    locator: ChunkLocator,
    file: ExpectedFile,
    data: SourceObject,
    index_text: str,
    partition_time: dt.datetime,
    missing_policy: Literal["report", "fail"],
) -> FileRefs:
    """Parse and validate one fetched index, place its messages, judge the placement."""
    url_prefix = spec.source.store.url_prefix
    data_url = url_prefix + file.data_key
    index_url = url_prefix + file.index_key if file.index_key else data_url
    entries = get_format(file.kind.index_format).parse(
        index_text, index_url=index_url, data=data, data_url=data_url, init=partition_time
    )
    match = get_provider(spec.provider).match_file(
        spec,
        file,
        entries,
        data_url=data_url,
        index_url=index_url,
        checksum=checksum_of(spec, data),
    )
    expected = locator.expected_slots(file)
    filled: dict[tuple[str, tuple[int, ...]], VirtualRef] = {}
    indices: list[tuple[int, ...]] = []
    for ref in match.refs:
        try:
            slot = locator.slot(ref)
        except LabelError as error:
            raise BadIndexError(index_url, str(error)) from None
        indices.append(slot[1])
        if slot in filled:
            first = filled[slot]
            raise BadIndexError(
                index_url,
                f"two messages (offsets {first.offset} and {ref.offset}) for one chunk "
                f"{ref.variable} {dict(ref.labels)}",
            )
        filled[slot] = ref
    missing = [MissingField(expected[slot], index_url) for slot in expected if slot not in filled]
    if missing and missing_policy == "fail":
        raise BadIndexError(
            index_url, "expected fields absent: " + "; ".join(m.slot for m in missing[:20])
        )
    return FileRefs(file, match.refs, indices, missing, match.unplaced, match.refused)


def fetch_refs(
    spec: DatasetSpec,
    store: ObjectStore,
    files: Sequence[ExpectedFile],
    listed: dict[str, SourceObject],
    partition_time: dt.datetime,
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
            async with semaphore:
                response = await obstore.get_async(store, file.index_key)
                body = await response.bytes_async()
            return bytes(body).decode("utf-8", errors="replace")

        async def header(file: ExpectedFile) -> GribHeader:
            async with semaphore:
                return await _read_header(
                    store, file, listed[file.data_key], url_prefix + file.data_key
                )

        async def one(file: ExpectedFile) -> FileRefs:
            text, first_header = await asyncio.gather(index_text(file), header(file))
            check_header(
                spec,
                first_header,
                data_url=url_prefix + file.data_key,
                partition_time=partition_time,
            )
            return place_file(
                spec,
                locator,
                file,
                listed[file.data_key],
                text,
                partition_time,
                missing_policy,
            )

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
