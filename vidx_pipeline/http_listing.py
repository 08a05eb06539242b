"""Listing a partition's objects on a plain HTTP file server through its directory index pages.

Contract of :func:`list_http_partition`: for every directory holding one of ``keys``, GET its
index page (``{base_url}{directory}/``; a 404 is an empty directory), parse it
(:mod:`vidx_pipeline.autoindex`), and for every listed key that is one of ``keys`` return a
:class:`SourceObject` with the size and last-modified the server sends for the object itself
(a HEAD request): index pages print times to the minute and Apache rounds sizes, while a read is
refused unless it is the version the listing described, to the second. A HEAD's answer is reused
while the object's index row (time and size) is unchanged, so a poll of a partition whose files
are all in costs one page per directory. Any other HTTP failure of a page raises, naming its URL.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import HTTPStore

from vidx_pipeline.autoindex import AutoindexError, IndexRow, parse_autoindex
from vidx_pipeline.index_formats.base import SourceObject

MAX_PARALLEL_REQUESTS = 16
PAGE_TIMEOUT_SECONDS = 60.0
MAX_PAGE_BYTES = 64 << 20
_MAX_CACHED = 500_000
_HEADS: dict[tuple[str, dt.datetime, int | None], SourceObject] = {}


def list_http_partition(store: HTTPStore, keys: Iterable[str]) -> dict[str, SourceObject]:
    """The listed objects among ``keys`` (see the module contract)."""
    base_url = store.url if store.url.endswith("/") else store.url + "/"
    by_directory: dict[str, set[str]] = {}
    for key in keys:
        directory, _, name = key.rpartition("/")
        by_directory.setdefault(directory, set()).add(name)
    with ThreadPoolExecutor(MAX_PARALLEL_REQUESTS) as pool:
        pages = list(pool.map(lambda d: (d, directory_rows(base_url, d)), sorted(by_directory)))
        wanted = [
            (f"{directory}/{row.name}" if directory else row.name, row)
            for directory, rows in pages
            for row in rows
            if not row.is_directory and row.name in by_directory[directory]
        ]
        heads = list(pool.map(lambda item: _head(store, base_url, *item), wanted))
    if len(_HEADS) > _MAX_CACHED:
        _HEADS.clear()
    return {listed.key: listed for listed in heads if listed is not None}


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


def _head(store: HTTPStore, base_url: str, key: str, row: IndexRow) -> SourceObject | None:
    """The object as the server describes it; None when it went between page and HEAD."""
    cache_key = (base_url + key, row.modified, row.size)
    if (cached := _HEADS.get(cache_key)) is not None:
        return cached
    try:
        meta = obstore.head(store, key)
    except (NotFoundError, FileNotFoundError):  # obstore raises the builtin
        return None
    listed = SourceObject(
        key=key,
        size=int(meta["size"]),
        last_modified=meta["last_modified"],
        etag=meta.get("e_tag"),
    )
    _HEADS[cache_key] = listed
    return listed
