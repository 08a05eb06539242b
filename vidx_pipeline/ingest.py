"""Ingest one partition: producer index files -> virtual refs -> one Icechunk commit.

Contract of :func:`ingest_partition`:

- What is already ingested is read from the repository itself (the ``ingested`` progress
  array), never from orchestrator state; those files are not fetched again.
- A file counts as published only when both its data and index objects are listed.
- Every index is validated before anything is written (:mod:`vidx_pipeline.index_files`); a bad
  one raises :class:`~vidx_pipeline.index_files.BadIndexError` and nothing is committed.
- All refs of the batch, the progress flags and any growth of the append dimension land in one
  commit, or none do. Nothing new means no commit.
- A commit that loses a race is redone in a fresh session (the append dimension may have grown
  meanwhile; two resizing sessions cannot be rebased), up to ``commit_retries`` times.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import icechunk
import numpy as np
import obstore
import zarr
from obstore.store import S3Store
from pydantic import Field

from vidx_pipeline.index_files import BadIndexError, SourceObject, parse_index
from vidx_pipeline.matching import ChunkRef, MissingField, match_file
from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.spec import DatasetSpec, FrozenModel
from vidx_pipeline.template import PROGRESS_ARRAY, grow_append_dimension

log = logging.getLogger(__name__)


class IngestSettings(FrozenModel):
    """Run-time knobs of an ingest (Dagster run config, not code branches)."""

    missing_variables: str = Field(
        "report",
        pattern="^(report|fail)$",
        description="'report': log and record expected-but-absent variables and commit the rest; "
        "'fail': treat them as a bad index (error naming the object, nothing committed).",
    )
    max_concurrent_requests: int = Field(64, gt=0)
    commit_retries: int = Field(20, ge=0)


@dataclass(frozen=True)
class ExpectedFile:
    """One file the producer publishes for a partition."""

    lead_hours: int
    member: int | None
    step_tail: tuple[int, ...]  # chunk index after the append dimension: (lead[, member])
    data_key: str
    index_key: str | None


@dataclass
class IngestResult:
    dataset_id: str
    partition_time: dt.datetime
    files_expected: int
    files_seen: int = 0
    files_already_ingested: int = 0
    files_ingested: int = 0
    refs_written: int = 0
    missing: list[MissingField] = field(default_factory=list)
    snapshot_id: str | None = None
    commit_attempts: int = 0
    commit_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.files_already_ingested + self.files_ingested == self.files_expected


@dataclass(frozen=True)
class _FileRefs:
    file: ExpectedFile
    refs: list[ChunkRef]
    missing: list[MissingField]


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


def ingested_steps(repository: DatasetRepository, position: int) -> np.ndarray | None:
    """The progress row of the append position, or None if the dimension is not that long."""
    group = zarr.open_group(repository.readonly_session().store, mode="r")
    progress = group[PROGRESS_ARRAY]
    assert isinstance(progress, zarr.Array)
    if position >= progress.shape[0]:
        return None
    return np.asarray(progress[position])


def _step_done(row: np.ndarray | None, tail: tuple[int, ...]) -> bool:
    return bool(row is not None and row[tail])


async def _fetch_texts(store: S3Store, keys: Sequence[str], max_concurrent: int) -> dict[str, str]:
    semaphore = asyncio.Semaphore(max_concurrent)

    async def fetch(key: str) -> tuple[str, str]:
        async with semaphore:
            result = await obstore.get_async(store, key)
            data = await result.bytes_async()
        return key, bytes(data).decode("utf-8", errors="replace")

    return dict(await asyncio.gather(*(fetch(key) for key in keys)))


def fetch_index_texts(store: S3Store, keys: Sequence[str], max_concurrent: int) -> dict[str, str]:
    """GET every index object concurrently."""
    return asyncio.run(_fetch_texts(store, keys, max_concurrent))


def refs_for_files(
    spec: DatasetSpec,
    files: Sequence[ExpectedFile],
    listed: dict[str, SourceObject],
    texts: dict[str, str],
    partition_time: dt.datetime,
    settings: IngestSettings,
) -> list[_FileRefs]:
    """Parse, validate and match every fetched index. Raises on the first bad one."""
    url_prefix = spec.source.store.url_prefix
    results = []
    for file in files:
        assert file.index_key is not None
        data = listed[file.data_key]
        data_url = url_prefix + file.data_key
        index_url = url_prefix + file.index_key
        entries = parse_index(
            texts[file.index_key],
            index_url=index_url,
            index_format=spec.source.index_format,
            data=data,
            data_url=data_url,
            init=partition_time,
        )
        checksum: dt.datetime | str
        if spec.checksum == "etag" and data.etag:
            checksum = data.etag
        else:
            checksum = data.last_modified_checksum()
        refs, missing = match_file(
            spec,
            entries,
            step_index=(-1, *file.step_tail),  # append position filled in at write time
            lead_hours=file.lead_hours,
            member=file.member,
            data_url=data_url,
            index_url=index_url,
            checksum=checksum,
        )
        if missing and settings.missing_variables == "fail":
            raise BadIndexError(
                index_url, "expected variables absent: " + "; ".join(m.describe() for m in missing)
            )
        results.append(_FileRefs(file, refs, missing))
    return results


def write_refs(
    spec: DatasetSpec, session: icechunk.Session, position: int, batch: Sequence[_FileRefs]
) -> int:
    """Grow the append dimension if needed, set every ref and progress flag in ``session``."""
    grow_append_dimension(spec, session.store, position + 1)
    by_variable: dict[str, list[icechunk.VirtualChunkSpec]] = defaultdict(list)
    for file_refs in batch:
        for ref in file_refs.refs:
            index = [position, *ref.chunk_index[1:]]
            if isinstance(ref.checksum, str):
                chunk = icechunk.VirtualChunkSpec(
                    index, ref.location, ref.offset, ref.length, etag_checksum=ref.checksum
                )
            else:
                chunk = icechunk.VirtualChunkSpec(
                    index,
                    ref.location,
                    ref.offset,
                    ref.length,
                    last_updated_at_checksum=ref.checksum,
                )
            by_variable[ref.variable].append(chunk)
    refs_written = 0
    for variable, chunks in by_variable.items():
        failed = session.store.set_virtual_refs(variable, chunks, validate_containers=True)
        if failed:
            raise ValueError(
                f"{variable}: refs outside the repository's virtual chunk containers at chunks "
                f"{failed[:5]}"
            )
        refs_written += len(chunks)
    group = zarr.open_group(session.store, mode="r+")
    progress = group[PROGRESS_ARRAY]
    assert isinstance(progress, zarr.Array)
    row = np.asarray(progress[position])
    for file_refs in batch:
        row[file_refs.file.step_tail] = True
    progress[position] = row
    return refs_written


def ingest_partition(
    spec: DatasetSpec,
    repository: DatasetRepository,
    store: S3Store,
    partition_time: dt.datetime,
    settings: IngestSettings | None = None,
) -> IngestResult:
    """Ingest whatever the producer has published for ``partition_time`` and is not yet in."""
    settings = settings or IngestSettings()
    started = time.perf_counter()
    partition_time = partition_time.astimezone(dt.UTC)
    position = spec.append_dimension.index_of(partition_time)
    files = expected_files(spec, partition_time)
    result = IngestResult(spec.dataset_id, partition_time, files_expected=len(files))

    listed = list_partition(store, files)
    published = [
        f for f in files if f.data_key in listed and (f.index_key is None or f.index_key in listed)
    ]
    result.files_seen = len(published)
    done_row = ingested_steps(repository, position)
    todo = [f for f in published if not _step_done(done_row, f.step_tail)]
    result.files_already_ingested = len(published) - len(todo)
    if not todo:
        result.seconds = time.perf_counter() - started
        return result

    keys = [f.index_key for f in todo if f.index_key is not None]
    texts = fetch_index_texts(store, keys, settings.max_concurrent_requests)
    batch = refs_for_files(spec, todo, listed, texts, partition_time, settings)
    for file_refs in batch:
        for missing in file_refs.missing:
            log.warning("%s: expected variable absent: %s", spec.dataset_id, missing.describe())
        result.missing.extend(file_refs.missing)

    commit_started = time.perf_counter()
    message = (
        f"{spec.dataset_id} {spec.append_dimension.name}={partition_time:%Y-%m-%dT%H:%M}: "
        f"{len(batch)} files"
    )
    for attempt in range(1, settings.commit_retries + 2):
        result.commit_attempts = attempt
        session = repository.writable_session()
        # A retry re-reads progress: a concurrent run may have ingested some of our files.
        row = ingested_steps(repository, position) if attempt > 1 else done_row
        pending = [b for b in batch if not _step_done(row, b.file.step_tail)]
        if not pending:
            break
        refs_written = write_refs(spec, session, position, pending)
        try:
            result.snapshot_id = repository.commit(
                session,
                message,
                {
                    "dataset_id": spec.dataset_id,
                    "partition": partition_time.isoformat(),
                    "files": len(pending),
                    "refs": refs_written,
                },
            )
        except icechunk.ConflictError:
            log.info("%s: commit lost a race (attempt %d), redoing", message, attempt)
            continue
        result.files_ingested = len(pending)
        result.refs_written = refs_written
        break
    else:
        raise RuntimeError(f"{message}: gave up after {settings.commit_retries + 1} conflicts")
    result.commit_seconds = time.perf_counter() - commit_started
    result.seconds = time.perf_counter() - started
    return result
