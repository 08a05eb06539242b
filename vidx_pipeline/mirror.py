"""Mirroring a short-lived producer archive: copying each published object unchanged into the
project's mirror store, and the dataset spec whose refs point at the copies.

A dataset whose ``source.mirror`` is set (DWD keeps its files about a day) is published in two
steps: :func:`mirror_partition` copies the partition's published objects from the producer's
store into the mirror store, and the virtual dataset ingests from the mirror through
:func:`mirrored_spec` (the same spec with the mirror as its store and every key under the
mirror's key prefix), so the core's listing, reads, header checks and refs all see the mirror.

Contract of :func:`mirror_partition`: list the partition's expected objects at the producer and
in the mirror; copy each object listed at the producer and absent from the mirror, or present
there with another size, byte for byte (still compressed: the codec chain undoes it at read
time); refuse (raise :class:`MirrorError` naming the object) an object whose GET is not the
version listed (size or last-modified changed in between, or deleted): nothing is written for it.
An object already mirrored with the size listed (as the page prints it, for an HTTP producer) is
not copied again (a producer replacing a file with one of the same listed size is not detected:
mirror keys carry the cycle, and DWD writes a cycle's file once; copying it again would change
the mirror's last-modified, which its refs record, so only a size that disagrees is copied over,
and the source_integrity check then flags the refs of the copy replaced).

An HTTP producer is listed from its directory pages alone (:func:`~vidx_pipeline.http_listing.
list_http_rows`: one request per directory, none per object), so each object costs one request,
its GET: the version listed is the page row (time to the minute, size exact or rounded as the
server prints it) unless this process already read the exact version behind that same row, and
the GET's own ``Content-Length`` and ``Last-Modified`` must be a version the row describes (the
exact one when known). The bytes copied are that one response's, so the mirror holds one whole
version; the refs' last-modified checksums are the mirror's own (its listing), never the
producer's. The GET's exact size and last-modified are then remembered as the row's exact version
(a later listing of the producer in this process needs no HEAD for it); a refusal forgets the
exact version it was held to. Other producers' listings are exact already.

Up to :data:`MAX_PARALLEL_COPIES` objects are copied at once; the first refusal stops the copies
not yet started and is raised (the objects copied before it stay: each is a whole object).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import HTTPStore, ObjectStore

from vidx_pipeline.http_listing import ListedRow, forget_version, list_http_rows, remember_version
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.source_files import ExpectedFile, expected_files, list_partition
from vidx_pipeline.spec import DatasetSpec, LocalStoreSpec, ObjectStoreSpec, StoreSpec

MAX_PARALLEL_COPIES = 16
"""Objects copied at once: a DWD cycle is thousands of objects of a few hundred kB each, and
copied one at a time the mirror waited out a GET and a PUT round trip for each."""


class MirrorError(ValueError):
    """An object that cannot be mirrored as listed."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url


@dataclass
class MirrorResult:
    partition_time: dt.datetime
    files_expected: int = 0
    files_published: int = 0
    already_mirrored: int = 0
    copied: list[str] = field(default_factory=list)  # mirror keys written by this call
    bytes_copied: int = 0


MIRROR_ENV_DEFAULTS = {
    "VIDX_MIRROR_KIND": "local",
    "VIDX_MIRROR_ROOT": ".local/mirror",
    "VIDX_MIRROR_BUCKET": "",
    "VIDX_MIRROR_REGION": "us-east-1",
}
"""Where the mirror is unless configured: the directory ``.local/mirror``."""


def mirror_store_from_env(
    environ: Mapping[str, str] | None = None,
) -> ObjectStoreSpec | LocalStoreSpec:
    """The mirror's store, as the environment configures it: ``VIDX_MIRROR_KIND`` ``local``
    (the directory ``VIDX_MIRROR_ROOT``) or ``s3`` (the bucket ``VIDX_MIRROR_BUCKET`` in
    ``VIDX_MIRROR_REGION``, read and written with credentials from the standard AWS variables,
    on the producers' S3 endpoint ``VIDX_S3_ENDPOINT``); unset or empty variables take
    :data:`MIRROR_ENV_DEFAULTS`."""
    values = {**MIRROR_ENV_DEFAULTS, **{k: v for k, v in (environ or os.environ).items() if v}}
    match values["VIDX_MIRROR_KIND"]:
        case "local":
            return LocalStoreSpec(root=str(Path(values["VIDX_MIRROR_ROOT"]).resolve()))
        case "s3":
            if not values["VIDX_MIRROR_BUCKET"]:
                raise ValueError("VIDX_MIRROR_KIND=s3 needs VIDX_MIRROR_BUCKET")
            return ObjectStoreSpec(
                bucket=values["VIDX_MIRROR_BUCKET"],
                region=values["VIDX_MIRROR_REGION"],
                anonymous=False,
            )
        case other:
            raise ValueError(f"VIDX_MIRROR_KIND={other!r}: expected 'local' or 's3'")


def mirrored_spec(spec: DatasetSpec, mirror_store: StoreSpec) -> DatasetSpec:
    """``spec`` reading from its mirror: store ``mirror_store``, keys under the mirror's key
    prefix, no mirror of its own. ``spec`` must declare a mirror."""
    mirror = spec.source.mirror
    if mirror is None:
        raise ValueError(f"{spec.dataset_id} declares no mirror (source.mirror)")
    files = tuple(
        kind.model_copy(
            update={
                "data_key": mirror.key_prefix + kind.data_key,
                "index_key": mirror.key_prefix + kind.index_key if kind.index_key else None,
            }
        )
        for kind in spec.source.files
    )
    source = spec.source.model_copy(update={"store": mirror_store, "files": files, "mirror": None})
    return spec.model_copy(update={"source": source})


def mirror_partition(
    spec: DatasetSpec,
    producer: ObjectStore,
    mirror: ObjectStore,
    mirror_spec: DatasetSpec,
    partition_time: dt.datetime,
) -> MirrorResult:
    """Copy the partition's newly published objects (see the module contract). ``mirror_spec``
    is :func:`mirrored_spec` of ``spec``."""
    files = expected_files(spec, partition_time)
    mirrored_files = expected_files(mirror_spec, partition_time)
    result = MirrorResult(partition_time, files_expected=len(files))
    at_producer = _list_producer(producer, files)
    in_mirror = list_partition(mirror, mirrored_files)
    to_copy: list[tuple[_Listed, str]] = []
    for key, mirror_key in _key_pairs(files, mirrored_files):
        listed = at_producer.get(key)
        if listed is None:
            continue
        result.files_published += 1
        copy = in_mirror.get(mirror_key)
        if copy is not None and listed.size_agrees(copy.size):
            result.already_mirrored += 1
            continue
        to_copy.append((listed, mirror_key))
    url_prefix = spec.source.store.url_prefix

    def copy_one(item: tuple[_Listed, str]) -> int:
        listed, mirror_key = item
        data = _get_as_listed(producer, listed, url_prefix + listed.key)
        obstore.put(mirror, mirror_key, data)
        return len(data)

    pool = ThreadPoolExecutor(MAX_PARALLEL_COPIES, thread_name_prefix="mirror")
    try:
        sizes = list(pool.map(copy_one, to_copy))
    finally:
        pool.shutdown(cancel_futures=True)
    result.copied = [mirror_key for _, mirror_key in to_copy]
    result.bytes_copied = sum(sizes)
    return result


@dataclass(frozen=True)
class _ExactListing:
    """An object as an object store's listing describes it: exactly."""

    version: SourceObject

    @property
    def key(self) -> str:
        return self.version.key

    def describes(self, size: int, last_modified: dt.datetime) -> bool:
        return size == self.version.size and last_modified == self.version.last_modified

    def size_agrees(self, size: int) -> bool:
        return size == self.version.size

    def description(self) -> str:
        return f"{self.version.size} bytes modified {self.version.last_modified:%Y-%m-%dT%H:%M:%S}"


_Listed = _ExactListing | ListedRow


def _list_producer(store: ObjectStore, files: Sequence[ExpectedFile]) -> Mapping[str, _Listed]:
    """The partition's objects at the producer: an HTTP server's page rows (no request per
    object), or an object store's exact listing (as :func:`list_partition` chooses)."""
    match store:
        case HTTPStore():
            keys = [f.data_key for f in files] + [f.index_key for f in files if f.index_key]
            return list_http_rows(store, keys)
        case _:
            listing = list_partition(store, files)
            return {key: _ExactListing(listed) for key, listed in listing.items()}


def _key_pairs(
    files: Sequence[ExpectedFile], mirrored: Sequence[ExpectedFile]
) -> list[tuple[str, str]]:
    pairs = []
    for file, copy in zip(files, mirrored, strict=True):
        pairs.append((file.data_key, copy.data_key))
        if file.index_key and copy.index_key:
            pairs.append((file.index_key, copy.index_key))
    return pairs


def _get_as_listed(store: ObjectStore, listed: _Listed, url: str) -> bytes:
    """The object's bytes from one GET, refused unless its headers are the version listed."""
    try:
        response = obstore.get(store, listed.key)
    except (NotFoundError, FileNotFoundError):  # obstore raises the builtin
        raise MirrorError(url, "listed, then not found: deleted between listing and read") from None
    meta = response.meta
    size, last_modified = int(meta["size"]), meta["last_modified"]
    if not listed.describes(size, last_modified):
        if isinstance(listed, ListedRow):
            forget_version(listed)
        raise MirrorError(
            url,
            f"replaced between listing and read: listed {listed.description()}, read {size} "
            f"bytes modified {last_modified:%Y-%m-%dT%H:%M:%S}",
        )
    data = bytes(response.bytes())
    if len(data) != size:
        raise MirrorError(url, f"read {len(data)} bytes, its headers say {size}")
    if isinstance(listed, ListedRow):
        remember_version(listed, SourceObject(listed.key, size, last_modified, meta.get("e_tag")))
    return data
