"""The producer's files of a partition: which are expected, and which are listed (published).

A file counts as published only when its data object and its index object are both listed.
Listing goes through the store kind's lister (:func:`list_partition`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass

import obstore
from obstore.exceptions import BaseError
from obstore.store import HTTPStore, ObjectStore

from vidx_pipeline.http_listing import list_http_partition
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.source_store import unavailable
from vidx_pipeline.spec import (
    ENSEMBLE_MEMBER,
    LEAD_TIME,
    SOURCE_FILE,
    DatasetSpec,
    SourceFileKind,
)


@dataclass(frozen=True)
class ExpectedFile:
    """One file the producer publishes for a partition."""

    kind: SourceFileKind
    reference_time: dt.datetime  # the producer's cycle: every message's reference time
    lead_hours: int
    member: int | None  # the ensemble member a per-member file holds
    progress_index: tuple[int, ...]  # position in the progress flags after the append dimension
    data_key: str
    index_key: str | None

    def describe(self) -> str:
        member = f" member {self.member}" if self.member is not None else ""
        return f"{self.kind.name} f{self.lead_hours:03d}{member}"


def expected_files(spec: DatasetSpec, partition_time: dt.datetime) -> list[ExpectedFile]:
    """Every file of the partition — the source cycle's files at the partition's source leads
    (:meth:`DatasetSpec.source_cycle`, :meth:`~DatasetSpec.source_leads`) — in lead, then
    member, then file-kind order. Its ``progress_index`` follows
    :attr:`DatasetSpec.progress_dims`."""
    cycle = spec.source_cycle(partition_time)
    progress_dims = spec.progress_dims
    members: Sequence[tuple[int | None, str | None]] = (
        list(zip(spec.ensemble.members, spec.ensemble.member_labels, strict=True))
        if spec.ensemble
        else [(None, None)]
    )
    files = []
    for lead_index, lead_hours in enumerate(spec.source_leads(partition_time)):
        for member_index, (member, label) in enumerate(members):
            for kind_index, kind in enumerate(spec.source.files):
                if not kind.per_member and member_index > 0:
                    continue  # one file for every member, listed once
                positions = {
                    LEAD_TIME: lead_index,
                    ENSEMBLE_MEMBER: member_index,
                    SOURCE_FILE: kind_index,
                }
                fields = {"init": cycle, "lead_hours": lead_hours, "member": label}
                files.append(
                    ExpectedFile(
                        kind=kind,
                        reference_time=cycle,
                        lead_hours=lead_hours,
                        member=member if kind.per_member else None,
                        progress_index=tuple(positions[d] for d in progress_dims[1:]),
                        data_key=kind.data_key.format(**fields),
                        index_key=kind.index_key.format(**fields) if kind.index_key else None,
                    )
                )
    return files


def listing_prefix(files: Sequence[ExpectedFile]) -> str:
    """The longest string prefix shared by every key of the partition."""
    keys = [f.data_key for f in files] + [f.index_key for f in files if f.index_key]
    return os.path.commonprefix(keys)  # noqa: RUF071 - a string prefix, not a path one


def list_partition(store: ObjectStore, files: Sequence[ExpectedFile]) -> dict[str, SourceObject]:
    """The partition's listed objects, by key, through the lister of the store's kind: an HTTP
    file server's directory index pages (:mod:`vidx_pipeline.http_listing`: only the
    partition's own keys), or an object store's listing API (:func:`list_object_store`)."""
    match store:
        case HTTPStore():
            keys = [f.data_key for f in files] + [f.index_key for f in files if f.index_key]
            return list_http_partition(store, keys)
        case _:
            return list_object_store(store, files)


def list_object_store(store: ObjectStore, files: Sequence[ExpectedFile]) -> dict[str, SourceObject]:
    """List the partition's objects: object stores list by directory, so list the directory
    from just before the shared key prefix (listing offsets are exclusive, and a one-file
    partition's prefix is its own key) and stop at the first key past it: a few requests,
    whatever else the producer keeps in that directory."""
    prefix = listing_prefix(files)
    directory = prefix.rpartition("/")[0]
    listed: dict[str, SourceObject] = {}
    stream = obstore.list(store, prefix=directory or None, offset=prefix[:-1], chunk_size=1000)
    try:
        for batch in stream:
            for meta in batch:
                key = meta["path"]
                if not key.startswith(prefix):
                    if key < prefix:
                        continue
                    return listed
                listed[key] = SourceObject(
                    key=key,
                    size=int(meta["size"]),
                    last_modified=meta["last_modified"],
                    etag=meta.get("e_tag"),
                )
    except BaseError as failure:
        raise unavailable(f"the listing of {prefix}*", failure) from None
    return listed


def published_files(
    files: Sequence[ExpectedFile], listed: dict[str, SourceObject]
) -> list[ExpectedFile]:
    """The files whose data and index objects are both listed."""
    return [
        f for f in files if f.data_key in listed and (f.index_key is None or f.index_key in listed)
    ]
