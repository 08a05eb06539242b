"""Test helpers that run in other processes: concurrent writers and runs to be killed.

A :class:`WriterJob` says what one process does: open the repository (creating it, or not),
then ingest its partitions in one :class:`~vidx_pipeline.ingest.IngestRun`. It reports every
commit the run makes, as it makes it, so that the test can see from outside where the run is:

- :func:`run_concurrently` runs jobs in spawned processes released together by a barrier,
  and returns each one's commits;
- ``python -m vidx_pipeline_tests.workers JOB_FILE`` (a pickled job: a spec's ``match`` models
  belong to its provider, so a spec does not come back from JSON) prints ``ready`` once its
  imports are done, then one ``commit <json>`` line per commit, printed once the commit has
  landed, then ``done``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from pydantic import BaseModel

from vidx_pipeline.ingest import IngestResult, IngestRun, IngestSettings
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec

BARRIER_TIMEOUT = 300.0  # a writer that failed to start breaks the barrier instead of hanging


@dataclass(frozen=True)
class WriterJob:
    """One writer process's work."""

    spec: DatasetSpec
    repository: RepositorySettings
    source_endpoint: str
    partitions: list[dt.datetime]
    settings: IngestSettings = field(default_factory=IngestSettings)
    env: dict[str, str] = field(default_factory=dict)
    create: bool = False
    """Create the repository (and its template) if absent. A creating writer waits at the
    barrier *before* opening, so that the creations race; the others after, so that the
    commits race."""


class Commit(BaseModel):
    """A commit a writer's run made: its snapshot and the partitions it holds."""

    snapshot: str
    partitions: list[dt.datetime]


def ingest_in_process(
    job: WriterJob,
    barrier: Barrier | None = None,
    on_commit: Callable[[Commit], None] | None = None,
) -> list[Commit]:
    """Open the repository, ingest the job's partitions in one run; returns its commits."""
    os.environ.update(job.env)
    if barrier is not None and job.create:
        barrier.wait()
    repository = open_repository(
        job.spec, job.repository, source_endpoint=job.source_endpoint, create=job.create
    )
    store = open_source_store(job.spec.source.store, job.source_endpoint)
    if barrier is not None and not job.create:
        barrier.wait()
    commits: list[Commit] = []

    def record(snapshot: str, results: list[IngestResult]) -> None:
        commit = Commit(snapshot=snapshot, partitions=[r.partition_time for r in results])
        commits.append(commit)
        if on_commit is not None:
            on_commit(commit)

    IngestRun(job.spec, repository, store, job.partitions, job.settings, on_commit=record).run()
    return commits


def report_ingest(
    results: Queue, index: int, job: WriterJob, barrier: Barrier | None = None
) -> None:
    """:func:`ingest_in_process`, putting ``(index, its commits or the error's text)`` on
    ``results``."""
    try:
        results.put((index, ingest_in_process(job, barrier)))
    except Exception as error:
        results.put((index, f"{type(error).__name__}: {error}"))
        raise


def _print_commit(commit: Commit) -> None:
    print(f"commit {commit.model_dump_json()}", flush=True)


def write_job(job: WriterJob, path: Path) -> Path:
    """Save ``job`` for ``python -m vidx_pipeline_tests.workers path``."""
    path.write_bytes(pickle.dumps(job))
    return path


def main(job_file: str) -> None:
    job = pickle.loads(Path(job_file).read_bytes())
    assert isinstance(job, WriterJob)
    print("ready", flush=True)
    ingest_in_process(job, on_commit=_print_commit)
    print("done", flush=True)


def run_concurrently(jobs: Sequence[WriterJob], timeout: float = 900.0) -> list[list[Commit]]:
    """Run each job in its own spawned process, all released at once by a barrier; returns
    each job's commits, in job order. Fails with the writers' errors if any failed."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs), timeout=BARRIER_TIMEOUT)
    results = context.Queue()
    processes = [
        context.Process(target=report_ingest, args=(results, index, job, barrier))
        for index, job in enumerate(jobs)
    ]
    try:
        for process in processes:
            process.start()
        outcomes = dict(results.get(timeout=timeout) for _ in processes)
        for process in processes:
            process.join(timeout=60)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
    errors = [outcome for outcome in outcomes.values() if isinstance(outcome, str)]
    assert not errors, errors
    assert [process.exitcode for process in processes] == [0] * len(jobs)
    return [outcomes[index] for index in range(len(jobs))]


if __name__ == "__main__":
    # Through the module's own name, so that the job unpickles to its classes, not __main__'s.
    from vidx_pipeline_tests.workers import main as module_main

    module_main(sys.argv[1])
