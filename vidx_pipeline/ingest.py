"""Ingest partitions: producer index files -> virtual refs -> all-or-nothing Icechunk commits.

Contract of :class:`IngestRun` (and of :func:`ingest_partition`, a run of one partition):

- What is already ingested is read from the repository itself (the ``ingested`` progress
  array), never from orchestrator state; those files are not fetched again.
- A file counts as published only when its data and index objects are both listed; one whose
  index lags its data (or the reverse) is picked up by a later poll.
- Every index, and the header of every new data object, is validated before anything is
  written (:mod:`vidx_pipeline.fetch`); a bad one raises a
  :class:`~vidx_pipeline.index_formats.base.BadSourceError` naming it and nothing of its batch
  is committed.
- A commit holds every ref of its batch, their progress flags and any growth of the append
  dimension, or nothing. Nothing new means no commit.
- When a commit completes a partition (every expected file in), a tag names the partition
  (``noaa-gfs-forecast/2025-08-01T00``) at that snapshot, so a reader can pin a whole forecast;
  tags are immutable, the first completion wins, and a run that finds a complete partition
  untagged (its completing run stopped before tagging) tags the branch tip, which holds it.
- A commit that loses a race is redone in a fresh session: progress is re-read (files another
  run committed are dropped), the append dimension re-grown if still needed, refs set again.
- The run polls every ``poll_interval_seconds`` while any partition may still receive files,
  that is until every expected file is in or the partition's deadline passes (its source
  cycle + the producer's latest publication delay + ``deadline_grace_seconds``).
- An analysis (partitions by valid time) never grows into the future: a partition later than
  the clock is refused. A backfill of past
  partitions is therefore one poll and one commit; an operational run follows publication.
  New refs are committed at most every ``commit_interval_seconds``, at once when nothing
  more can arrive, and early whenever ``max_files_per_commit`` files are pending (so that a
  long backfill run holds a bounded batch in memory).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import icechunk
from obstore.store import ObjectStore
from pydantic import Field

from vidx_pipeline.fetch import fetch_refs
from vidx_pipeline.heap import release_free_memory
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.placement import FileRefs, MissingField
from vidx_pipeline.progress import (
    ProgressRow,
    done_files,
    modified_seconds,
    progress_row,
    replaced_files,
)
from vidx_pipeline.refs_writer import write_refs
from vidx_pipeline.repository import BRANCH, DatasetRepository, partition_tag
from vidx_pipeline.source_files import (
    ExpectedFile,
    expected_files,
    list_partition,
    published_files,
)
from vidx_pipeline.spec import DatasetSpec, FrozenModel

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IngestSettings(FrozenModel):
    """Run-time knobs of an ingest (Dagster run config, not code branches)."""

    missing_variables: Literal["report", "fail"] = Field(
        "report",
        description="'report': log and record expected-but-absent variables and commit the rest; "
        "'fail': treat them as a bad index (error naming the object, nothing committed).",
    )
    max_concurrent_requests: int = Field(64, gt=0)
    commit_retries: int = Field(20, ge=0)
    poll_interval_seconds: float = Field(0.25, gt=0, le=1.0)
    commit_interval_seconds: float = Field(
        60.0, ge=0, description="At most one commit per interval while files keep arriving."
    )
    deadline_grace_seconds: float = Field(
        3600.0, ge=0, description="How long past the producer's latest publication to wait."
    )
    max_files_per_commit: int = Field(
        1000, gt=0, description="Commit early once this many files are pending (bounds memory)."
    )


@dataclass
class IngestResult:
    """What a run did for one partition."""

    dataset_id: str
    partition_time: dt.datetime
    files_expected: int
    files_seen: int = 0
    files_already_ingested: int = 0
    files_ingested: int = 0
    refs_written: int = 0
    missing: list[MissingField] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # data objects re-ingested: producer replaced
    snapshot_id: str | None = None
    tag: str | None = None  # the tag naming the snapshot that completed the partition
    commits: int = 0
    commit_attempts: int = 0
    commit_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.files_already_ingested + self.files_ingested == self.files_expected


@dataclass
class _PartitionState:
    time: dt.datetime
    position: int
    files: list[ExpectedFile]
    deadline: dt.datetime
    result: IngestResult
    progress: ProgressRow | None = None  # as committed when the run started
    done: set[tuple[int, ...]] = field(default_factory=set)
    pending: dict[tuple[int, ...], FileRefs] = field(default_factory=dict)
    replacements_checked: bool = False

    @property
    def all_in_hand(self) -> bool:
        return len(self.done) + len(self.pending) == len(self.files)


class IngestRun:
    """Ingest a set of partitions in one process, polling and committing as the contract says."""

    def __init__(
        self,
        spec: DatasetSpec,
        repository: DatasetRepository,
        store: ObjectStore,
        partition_times: Sequence[dt.datetime],
        settings: IngestSettings | None = None,
        *,
        clock: Clock = utc_now,
        on_commit: Callable[[str, list[IngestResult]], None] | None = None,
    ) -> None:
        if not partition_times:
            raise ValueError("an ingest run needs at least one partition")
        self.spec = spec
        self.repository = repository
        self.store = store
        self.settings = settings or IngestSettings()
        self.clock = clock
        self.on_commit = on_commit
        grace = dt.timedelta(seconds=self.settings.deadline_grace_seconds)
        self.partitions: list[_PartitionState] = []
        if spec.partitioning == "valid_time" and (late := max(partition_times)) > clock():
            raise ValueError(
                f"{spec.dataset_id}: valid time {late.isoformat()} is in the future; an "
                "analysis grows only to times that have passed"
            )
        for when in sorted(t.astimezone(dt.UTC) for t in partition_times):
            files = expected_files(spec, when)
            position = spec.append_dimension.index_of(when)
            state = _PartitionState(
                time=when,
                position=position,
                files=files,
                deadline=spec.publication_deadline(when) + grace,
                result=IngestResult(spec.dataset_id, when, files_expected=len(files)),
            )
            state.progress = progress_row(repository, position)
            state.done = done_files(state.progress.ingested if state.progress else None, files)
            state.result.files_already_ingested = len(state.done)
            self.partitions.append(state)

    def open_partitions(self) -> list[_PartitionState]:
        """Partitions that may still receive files."""
        now = self.clock()
        return [p for p in self.partitions if not p.all_in_hand and now < p.deadline]

    def poll(self) -> int:
        """List every partition not yet in hand; fetch, validate and match newly published
        files. Returns how many new files are pending."""
        new = 0
        for state in self.partitions:
            if state.all_in_hand and state.replacements_checked:
                continue
            listed = list_partition(self.store, state.files)
            if not state.replacements_checked:
                self._forget_replaced(state, listed)
            published = published_files(state.files, listed)
            state.result.files_seen = max(state.result.files_seen, len(published))
            todo = [
                f
                for f in published
                if f.progress_index not in state.done and f.progress_index not in state.pending
            ]
            while todo:  # fetched a bounded slice at a time: pending files never exceed the cap
                room = max(1, self.settings.max_files_per_commit - self.pending_files())
                batch = fetch_refs(
                    self.spec,
                    self.store,
                    todo[:room],
                    listed,
                    max_concurrent_requests=self.settings.max_concurrent_requests,
                    missing_policy=self.settings.missing_variables,
                )
                todo = todo[room:]
                for file_refs in batch:
                    state.pending[file_refs.file.progress_index] = file_refs
                    for missing in file_refs.missing:
                        log.warning(
                            "%s: expected field absent: %s",
                            self.spec.dataset_id,
                            missing.describe(),
                        )
                    state.result.missing.extend(file_refs.missing)
                    state.result.unplaced.extend(file_refs.unplaced)
                    state.result.refused.extend(file_refs.refused)
                    new += 1
                if self.pending_files() >= self.settings.max_files_per_commit:
                    self.commit_pending()
        return new

    def _forget_replaced(self, state: _PartitionState, listed: dict[str, SourceObject]) -> None:
        """Ingested files whose data object the producer has since replaced are ingested again
        (their refs' checksums would refuse every read): the repair of a changed object."""
        state.replacements_checked = True
        for file in replaced_files(state.progress, state.files, listed):
            log.warning(
                "%s: %s was replaced after its refs were committed; ingesting it again",
                self.spec.dataset_id,
                self.spec.source.store.url_prefix + file.data_key,
            )
            state.done.discard(file.progress_index)
            state.result.files_already_ingested -= 1
            state.result.replaced.append(self.spec.source.store.url_prefix + file.data_key)

    def _learn_committed(self, state: _PartitionState) -> None:
        """After losing a commit race: files the other run committed are done, unless ours is a
        newer object than the one it recorded (a replaced object being repaired)."""
        row = progress_row(self.repository, state.position)
        if row is None:
            return
        for file in state.files:
            index = file.progress_index
            if not row.ingested[index]:
                continue
            ours = state.pending.get(index)
            if ours is None or int(row.modified[index]) >= modified_seconds(ours.data):
                state.pending.pop(index, None)
                state.done.add(index)

    def pending_files(self) -> int:
        return sum(len(s.pending) for s in self.partitions)

    def _message(self, batch: list[_PartitionState], files: int) -> str:
        name = self.spec.append_dimension.name
        first, last = batch[0].time, batch[-1].time
        if len(batch) == 1:
            where = f"{name}={first:%Y-%m-%dT%H:%M}"
        else:
            where = (
                f"{name}={first:%Y-%m-%dT%H:%M}..{last:%Y-%m-%dT%H:%M} ({len(batch)} partitions)"
            )
        return f"{self.spec.dataset_id} {where}: {files} files"

    def commit_pending(self) -> str | None:
        """Commit every pending file of every partition in one commit; redo on conflict."""
        started = time.perf_counter()
        for attempt in range(1, self.settings.commit_retries + 2):
            if attempt > 1:
                # Another run committed first: it may have ingested some of our files.
                for state in self.partitions:
                    if state.pending:
                        self._learn_committed(state)
            batch = [s for s in self.partitions if s.pending]
            if not batch:
                return None
            session = self.repository.writable_session()
            written = write_refs(
                self.spec,
                session,
                {s.position: list(s.pending.values()) for s in batch},
            )
            files = sum(len(s.pending) for s in batch)
            message = self._message(batch, files)
            try:
                snapshot = self.repository.commit(
                    session,
                    message,
                    {
                        "dataset_id": self.spec.dataset_id,
                        "partitions": [s.time.isoformat() for s in batch],
                        "files": files,
                        "refs": sum(written.values()),
                    },
                )
            except icechunk.ConflictError:
                log.info("%s: commit lost a race (attempt %d), redoing", message, attempt)
                continue
            finally:
                release_free_memory()  # the commit's buffers, else resident for the process's life
            seconds = time.perf_counter() - started
            for state in batch:
                result = state.result
                result.files_ingested += len(state.pending)
                result.refs_written += written[state.position]
                result.snapshot_id = snapshot
                result.commits += 1
                result.commit_attempts += attempt
                result.commit_seconds = seconds
                state.done |= state.pending.keys()
                state.pending.clear()
                if len(state.done) == len(state.files):
                    self._tag(state, snapshot)
            if self.on_commit is not None:
                self.on_commit(snapshot, [s.result for s in batch])
            return snapshot
        raise RuntimeError(
            f"{self.spec.dataset_id}: gave up after {self.settings.commit_retries + 1} conflicts"
        )

    def _tag(self, state: _PartitionState, snapshot: str) -> None:
        self.repository.tag_complete(state.time, snapshot)
        state.result.tag = partition_tag(self.spec, state.time)

    def run(self) -> list[IngestResult]:
        """Poll and commit until no partition can receive more files."""
        started = time.perf_counter()
        last_commit = -float("inf")
        while True:
            tick = time.monotonic()
            self.poll()
            open_partitions = self.open_partitions()
            pending = any(s.pending for s in self.partitions)
            due = tick - last_commit >= self.settings.commit_interval_seconds
            if pending and (due or not open_partitions):
                # Commit starts are an interval apart: timing from a commit's end would add
                # the commit's own duration to every file's latency.
                last_commit = time.monotonic()
                self.commit_pending()
            if not open_partitions and not any(s.pending for s in self.partitions):
                break
            time.sleep(max(0.0, self.settings.poll_interval_seconds - (time.monotonic() - tick)))
        tags = self.repository.repo.list_tags()
        tip = self.repository.repo.lookup_branch(BRANCH)
        for state in self.partitions:
            # Completed by an earlier run that stopped before tagging: the tip holds it.
            complete = len(state.done) == len(state.files)
            if complete and partition_tag(self.spec, state.time) not in tags:
                self._tag(state, tip)
            elif complete:
                state.result.tag = partition_tag(self.spec, state.time)
        for state in self.partitions:
            state.result.seconds = time.perf_counter() - started
        return [s.result for s in self.partitions]


def ingest_partition(
    spec: DatasetSpec,
    repository: DatasetRepository,
    store: ObjectStore,
    partition_time: dt.datetime,
    settings: IngestSettings | None = None,
    *,
    clock: Clock = utc_now,
) -> IngestResult:
    """Ingest one partition (following its publication if its deadline is still ahead)."""
    (result,) = IngestRun(spec, repository, store, [partition_time], settings, clock=clock).run()
    return result
