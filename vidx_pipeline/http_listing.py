"""Listing a partition's objects on a plain HTTP file server through its directory index pages.

Contract of :func:`list_http_rows`: for every directory holding one of ``keys``, GET its index
page (``{base_url}{directory}/``; a 404 is an empty directory), parse it
(:mod:`vidx_pipeline.autoindex`), and for every listed key that is one of ``keys`` return a
:class:`ListedRow`: the object as its page row describes it (time to the minute, size in bytes
or rounded as Apache or nginx round it), with its exact size and last-modified when this process
has read them from the server while the row was the same (a HEAD, or a GET recorded with
:func:`remember_version`). One request per directory, none per object. Any other HTTP failure of
a page raises, naming its URL.

Contract of :func:`list_http_partition`: the same objects as :class:`SourceObject` with the size
and last-modified the server sends for the object itself (a HEAD request for each object whose
exact version is not known yet): index pages print times to the minute and Apache rounds sizes,
while a read is refused unless it is the version the listing described, to the second. An exact
version is reused while the object's index row (time and size) is unchanged, so a poll of a
partition whose files are all in costs one page per directory. :func:`forget_version` drops it
(a read found another version behind the same row).
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import HTTPStore

from vidx_pipeline.autoindex import AutoindexError, IndexRow, parse_autoindex
from vidx_pipeline.index_formats.base import SourceObject

MAX_PARALLEL_REQUESTS = 16
PAGE_TIMEOUT_SECONDS = 60.0
MAX_PAGE_BYTES = 64 << 20
_MAX_CACHED = 500_000
_VersionKey = tuple[str, dt.datetime, int | None]
_HEADS: dict[_VersionKey, SourceObject] = {}


@dataclass(frozen=True)
class ListedRow:
    """One object as its directory's index page lists it (see the module contract)."""

    key: str
    url: str
    row: IndexRow
    exact: SourceObject | None  # the version read from the server while the row was this one

    def describes(self, size: int, last_modified: dt.datetime) -> bool:
        """Whether an object of ``size`` bytes modified at ``last_modified`` (as a GET's headers
        give them) is the version listed: the exact version when known, else one the row
        would print as it does."""
        if self.exact is not None:
            return size == self.exact.size and last_modified == self.exact.last_modified
        return row_describes(self.row, size, last_modified)

    def size_agrees(self, size: int) -> bool:
        """Whether an object of ``size`` bytes has the size listed."""
        if self.exact is not None:
            return size == self.exact.size
        return size_agrees(self.row.size, size)

    def description(self) -> str:
        if self.exact is not None:
            return f"{self.exact.size} bytes modified {self.exact.last_modified:%Y-%m-%dT%H:%M:%S}"
        size = "?" if self.row.size is None else f"~{self.row.size}"
        return f"{size} bytes modified {self.row.modified:%Y-%m-%dT%H:%M} (page row)"


def row_describes(row: IndexRow, size: int, last_modified: dt.datetime) -> bool:
    """Whether ``row`` is how the server prints an object of ``size`` bytes modified at
    ``last_modified``: the same UTC minute, and the same size, exact or rounded."""
    minute = last_modified.astimezone(dt.UTC).replace(second=0, microsecond=0)
    return minute == row.modified and size_agrees(row.size, size)


def size_agrees(printed: int | None, size: int) -> bool:
    """Whether ``printed`` (a page row's size as :mod:`vidx_pipeline.autoindex` reads it: bytes,
    or Apache's or nginx's rounded form times its unit) is how a server prints ``size`` bytes.
    An unreadable size (None) agrees with any."""
    if printed is None or printed == size:
        return True
    return printed in (_read_size(_apache_size(size)), _read_size(_nginx_size(size)))


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def _read_size(text: str) -> int:
    """A printed size in bytes, as :mod:`vidx_pipeline.autoindex` reads it."""
    unit = text[-1] if text[-1] in _UNITS else ""
    return int(float(text[: len(text) - len(unit)]) * _UNITS[unit])


def _apache_size(size: int) -> str:
    """``size`` as Apache's autoindex prints it (APR's ``apr_strfsize``)."""
    if size < 973:
        return str(size)
    for unit in "KMGTP":
        remain, size = size & 1023, size >> 10
        if size >= 973:
            continue
        if size < 9 or (size == 9 and remain < 973):
            tenths = (remain * 5 + 256) // 512
            if tenths >= 10:
                size, tenths = size + 1, 0
            return f"{size}.{tenths}{unit}"
        if remain >= 512:
            size += 1
        return f"{size}{unit}"
    return str(size)


def _nginx_size(size: int) -> str:
    """``size`` as nginx's autoindex prints it with ``autoindex_exact_size off``."""
    for unit, scale, above in (("G", 1 << 30, (1 << 30) - 1), ("M", 1 << 20, (1 << 20) - 1)):
        if size > above:
            return f"{size // scale + (size % scale > scale // 2 - 1)}{unit}"
    if size > 9999:
        return f"{size // 1024 + (size % 1024 > 511)}K"
    return str(size)


def list_http_rows(store: HTTPStore, keys: Iterable[str]) -> dict[str, ListedRow]:
    """The listed objects among ``keys`` as their pages list them (see the module contract)."""
    base_url = _base_url(store)
    by_directory: dict[str, set[str]] = {}
    for key in keys:
        directory, _, name = key.rpartition("/")
        by_directory.setdefault(directory, set()).add(name)
    with ThreadPoolExecutor(MAX_PARALLEL_REQUESTS) as pool:
        pages = list(pool.map(lambda d: (d, directory_rows(base_url, d)), sorted(by_directory)))
    listed = {}
    for directory, rows in pages:
        for row in rows:
            if row.is_directory or row.name not in by_directory[directory]:
                continue
            key = f"{directory}/{row.name}" if directory else row.name
            url = base_url + key
            listed[key] = ListedRow(key, url, row, _HEADS.get((url, row.modified, row.size)))
    return listed


def list_http_partition(store: HTTPStore, keys: Iterable[str]) -> dict[str, SourceObject]:
    """The listed objects among ``keys``, exactly (see the module contract)."""
    rows = list(list_http_rows(store, keys).values())
    with ThreadPoolExecutor(MAX_PARALLEL_REQUESTS) as pool:
        heads = list(pool.map(lambda listed: _head(store, listed), rows))
    return {listed.key: listed for listed in heads if listed is not None}


def remember_version(listed: ListedRow, version: SourceObject) -> None:
    """Record ``version`` (read from the server, e.g. a GET's headers) as the exact version
    behind ``listed``'s row, when the row describes it: a later listing needs no HEAD for it."""
    if listed.exact is None and row_describes(listed.row, version.size, version.last_modified):
        if len(_HEADS) >= _MAX_CACHED:
            _HEADS.clear()
        _HEADS[(listed.url, listed.row.modified, listed.row.size)] = version


def forget_version(listed: ListedRow) -> None:
    """Drop the exact version known behind ``listed``'s row (the server now has another)."""
    _HEADS.pop((listed.url, listed.row.modified, listed.row.size), None)


def directory_rows(base_url: str, directory: str) -> list[IndexRow]:
    """The rows of ``directory``'s index page (none when the server has no such directory)."""
    url = f"{base_url}{directory}/" if directory else base_url
    try:
        with urllib.request.urlopen(url, timeout=PAGE_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise AutoindexError(url, f"HTTP {error.code} {error.reason}") from None
    if len(body) > MAX_PAGE_BYTES:
        raise AutoindexError(url, f"index page larger than {MAX_PAGE_BYTES} bytes")
    return parse_autoindex(body.decode("utf-8", errors="replace"), url=url)


def _base_url(store: HTTPStore) -> str:
    return store.url if store.url.endswith("/") else store.url + "/"


def _head(store: HTTPStore, listed: ListedRow) -> SourceObject | None:
    """The object as the server describes it; None when it went between page and HEAD."""
    if listed.exact is not None:
        return listed.exact
    try:
        meta = obstore.head(store, listed.key)
    except (NotFoundError, FileNotFoundError):  # obstore raises the builtin
        return None
    version = SourceObject(
        key=listed.key,
        size=int(meta["size"]),
        last_modified=meta["last_modified"],
        etag=meta.get("e_tag"),
    )
    if len(_HEADS) >= _MAX_CACHED:
        _HEADS.clear()
    _HEADS[(listed.url, listed.row.modified, listed.row.size)] = version
    return version
