"""The producer's files of a partition: which are expected, and which are listed (published).

A file counts as published only when its data object and its index object are both listed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass

import obstore
from obstore.store import S3Store

from vidx_pipeline.index_files import SourceObject
from vidx_pipeline.spec import DatasetSpec


@dataclass(frozen=True)
class ExpectedFile:
    """One file the producer publishes for a partition."""

    lead_hours: int
    member: int | None
    step_tail: tuple[int, ...]  # chunk index after the append dimension: (lead[, member])
    data_key: str
    index_key: str | None


def expected_files(spec: DatasetSpec, partition_time: dt.datetime) -> list[ExpectedFile]:
    """Every file of the partition, in lead (then member) order."""
    files = []
    members: Sequence[tuple[int | None, str | None]] = (
        list(zip(spec.ensemble.members, spec.ensemble.member_labels, strict=True))
        if spec.ensemble
        else [(None, None)]
    )
    for lead_index, lead_hours in enumerate(spec.lead_hours):
        for member_index, (member, label) in enumerate(members):
            fields = {"init": partition_time, "lead_hours": lead_hours, "member": label}
            tail: tuple[int, ...] = (lead_index,) if spec.lead_times is not None else ()
            if spec.ensemble is not None:
                tail = (*tail, member_index)
            index_key = spec.source.index_key
            files.append(
                ExpectedFile(
                    lead_hours=lead_hours,
                    member=member,
                    step_tail=tail,
                    data_key=spec.source.data_key.format(**fields),
                    index_key=index_key.format(**fields) if index_key else None,
                )
            )
    return files


def listing_prefix(files: Sequence[ExpectedFile]) -> str:
    """The longest string prefix shared by every key of the partition."""
    keys = [f.data_key for f in files] + [f.index_key for f in files if f.index_key]
    return os.path.commonprefix(keys)  # noqa: RUF071 - a string prefix, not a path one


def list_partition(store: S3Store, files: Sequence[ExpectedFile]) -> dict[str, SourceObject]:
    """List the partition's objects: object stores list by directory, so list the directory
    starting after the shared key prefix and stop at the first key past it (a few requests,
    whatever else the producer keeps in that directory)."""
    prefix = listing_prefix(files)
    directory = prefix.rpartition("/")[0]
    listed: dict[str, SourceObject] = {}
    stream = obstore.list(store, prefix=directory or None, offset=prefix, chunk_size=1000)
    for batch in stream:
        for meta in batch:
            key = meta["path"]
            if not key.startswith(prefix):
                return listed
            listed[key] = SourceObject(
                key=key,
                size=int(meta["size"]),
                last_modified=meta["last_modified"],
                etag=meta.get("e_tag"),
            )
    return listed


def published_files(
    files: Sequence[ExpectedFile], listed: dict[str, SourceObject]
) -> list[ExpectedFile]:
    """The files whose data and index objects are both listed."""
    return [
        f for f in files if f.data_key in listed and (f.index_key is None or f.index_key in listed)
    ]
