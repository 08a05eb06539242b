"""Latency benchmark: publication -> refs readable, through the real Dagster daemon and sensor.

``--dataset gfs|hrrr`` picks the dataset (:data:`bench.archive.BENCH_DATASETS`: its production
spec, every variable and lead, on the benchmark's tiny grid; every file carries the producer's
whole inventory as the offline archive writes it) and ``--repo local|s3`` where its Icechunk
repository lives: a local directory, or a bucket on the loopback S3 API (``VIDX_REPO_KIND=s3``,
as deployed), by default on a second ``moto_server`` of its own (``--repo-server own``; the
producer's and the repository's buckets are separate services in production), or on the
producer's (``--repo-server shared``). One code path: both are parameters.

A loopback S3 API serves the producer's bucket; ``dagster-daemon`` runs the production code
location (:mod:`bench.location`) with its publication sensor on; every ``VIDX_*`` variable is
set (``ENV_DEFAULTS`` plus the benchmark's repository location and loopback endpoints). The
spec's publication schedule is chosen so that the newest cycle falls due ``--lead-in`` seconds
after the daemon is launched; as in an operator's deployment the sensor then starts the cycle's
run (trigger ``due``) ``poll_ahead`` before the first file, and the publisher writes every file
of the cycle (data, then index ``--index-lag`` later; one file every ``--file-interval``) from
the cycle's first-file time on. An independent reader polls ``main`` and records when each
file's refs become readable (its ``ingested`` flag, committed with its refs).

Reports, ending with one JSON line: the dataset and repository kind; over all files of the
cycle, index object visible -> refs readable p50, p95 and max (targets p50 <= 1.5 s,
p95 <= 3 s, max <= 5 s), the first file's latency on its own, and whether the run was polling
before the first file was published. Exit status 1 if a file never became readable.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/latency.py): import from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import icechunk
import numpy as np
import zarr
from dagster import DagsterInstance, RunRecord, RunsFilter

from bench.archive import (
    BENCH_DATASETS,
    DATASET_ENV_VAR,
    PUBLICATION_ENV_VAR,
    ArchiveFile,
    Redater,
    template_files,
    tiny_spec,
)
from vidx_offline.processes import kill_process_group, reset_signal_handlers
from vidx_offline.publisher import CyclePublisher, PublishedFile
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT
from vidx_pipeline.orchestration.resources import ENV_DEFAULTS
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.repository import RepositorySettings, reader_credentials
from vidx_pipeline.source_files import ExpectedFile, expected_files
from vidx_pipeline.spec import DatasetSpec, ObjectStoreSpec, PublicationSchedule

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"p50_max": 1.5, "p95_max": 3.0, "max_max": 5.0}
READER_INTERVAL_SECONDS = 0.05
LATENCY_BINS = 10
REPO_BUCKET = "vidx-bench-repositories"
"""The repositories' bucket with ``--repo s3`` (private: signed requests only)."""
REPO_PREFIX = "vidx"


# ----------------------------------------------------------------------------------------------
# The cycle


@dataclass(frozen=True)
class Cycle:
    """The cycle the benchmark publishes: the spec the daemon runs (with the chosen schedule),
    the partition, its files as published and as the spec expects them, and when it is due."""

    spec: DatasetSpec
    init: dt.datetime
    files: list[ArchiveFile]
    expected: list[ExpectedFile]
    publication: PublicationSchedule
    due_at: float  # epoch seconds: the run should start
    first_file_at: float  # epoch seconds: the first data object is written

    @property
    def key(self) -> str:
        return self.init.strftime(PARTITION_FORMAT)


def _schedule(
    cycle: dt.datetime, due_at: dt.datetime, poll_ahead: dt.timedelta, spread: dt.timedelta
) -> PublicationSchedule:
    """A schedule under which ``cycle`` falls due at ``due_at`` (to the second)."""
    first_file_after = due_at - cycle + poll_ahead
    first_file_after -= dt.timedelta(microseconds=first_file_after.microseconds)
    return PublicationSchedule(
        first_file_after=first_file_after,
        last_file_after=first_file_after + spread,
        poll_ahead=poll_ahead,
    )


def _check_keys(files: Sequence[ArchiveFile], expected: Sequence[ExpectedFile]) -> None:
    """The archive names its files independently of the spec: both must name the same
    objects, or the reader would wait for files that are never published."""
    published = {(f.data_key, f.index_key) for f in files}
    wanted = {(f.data_key, f.index_key) for f in expected}
    if published != wanted:
        raise RuntimeError(
            f"the archive's keys are not the spec's: {len(published - wanted)} published "
            f"files unexpected (e.g. {sorted(published - wanted)[:2]}), "
            f"{len(wanted - published)} expected files not published "
            f"(e.g. {sorted(wanted - published, key=str)[:2]})"
        )


def plan_cycle(args: argparse.Namespace) -> Cycle:
    """The newest cycle of ``args.dataset``, its files (encoded once, redated), and a schedule
    under which it falls due ``args.lead_in`` seconds after this returns (the daemon is
    launched right after: files are encoded first, which takes minutes when not cached)."""
    base = tiny_spec(args.dataset)
    init = base.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    files = Redater(template_files(base)).files(init)
    poll_ahead = (
        dt.timedelta(seconds=args.poll_ahead)
        if args.poll_ahead is not None
        else base.publication.poll_ahead
    )
    spread = base.publication.last_file_after - base.publication.first_file_after
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=args.lead_in)
    publication = _schedule(init, due, poll_ahead, spread)
    spec = tiny_spec(args.dataset, publication)  # what bench.location builds in the daemon
    expected = expected_files(spec, init)
    _check_keys(files, expected)
    return Cycle(
        spec=spec,
        init=init,
        files=files,
        expected=expected,
        publication=publication,
        due_at=spec.publication_due(init).timestamp(),
        first_file_at=(init + publication.first_file_after).timestamp(),
    )


# ----------------------------------------------------------------------------------------------
# The reader


class Reader(threading.Thread):
    """Polls ``main`` as a reader would; records when the template first reads and when each
    expected file's ``ingested`` flag first reads as set (epoch seconds, by data key). The last
    error of a failed poll is kept (``last_error``): before the first run creates the repository
    every poll fails, so errors are reported, not raised."""

    def __init__(
        self,
        spec: DatasetSpec,
        settings: RepositorySettings,
        position: int,
        files: Sequence[ExpectedFile],
    ) -> None:
        super().__init__(name="reader", daemon=True)
        self.spec = spec
        self.settings = settings
        self.position = position
        self.files = list(files)
        self.template_at: float | None = None
        self.readable_at: dict[str, float] = {}
        self.last_error: str | None = None
        self.stop = threading.Event()
        self._tip: str | None = None  # the snapshot of main last read in full

    def run(self) -> None:
        storage = self.settings.storage(self.spec.dataset_id)
        repo = None
        while not self.stop.is_set():
            try:
                if repo is None:
                    repo = icechunk.Repository.open(
                        storage, authorize_virtual_chunk_access=reader_credentials(self.spec)
                    )
                self._poll(repo)
            except Exception as error:  # the repository or its template does not exist yet
                self.last_error = f"{type(error).__name__}: {error}"
                repo = None
            if len(self.readable_at) == len(self.files):
                return
            self.stop.wait(READER_INTERVAL_SECONDS)

    def _poll(self, repo: icechunk.Repository) -> None:
        """One look at ``main``: its tip (one small read), and the progress flags only when the
        tip moved, so that polling every 50 ms does not load an S3 repository's server with
        reads of an unchanged snapshot."""
        tip = repo.lookup_branch("main")
        if tip == self._tip:
            return
        group = zarr.open_group(repo.readonly_session(snapshot_id=tip).store, mode="r")
        progress = group[PROGRESS_ARRAY]
        assert isinstance(progress, zarr.Array)
        now = time.time()
        if self.template_at is None:
            self.template_at = now
        if progress.shape[0] <= self.position:
            self._tip = tip
            return
        row = np.asarray(progress[self.position])
        for file in self.files:
            if file.data_key not in self.readable_at and row[file.progress_index]:
                self.readable_at[file.data_key] = now
        self._tip = tip


# ----------------------------------------------------------------------------------------------
# Where the repository lives


def _use_loopback_credentials(server: LocalS3) -> None:
    """This process's standard AWS variables: the loopback server's dummy keys, so that the
    reader opens an S3 repository as a deployment's reader would (``from_env``)."""
    os.environ.update({k: v for k, v in server.env().items() if k.startswith("AWS_")})


def producer_bucket(spec: DatasetSpec) -> str:
    """The producer's bucket, which the loopback S3 API serves; raises for a producer that
    publishes elsewhere (HTTP, a local directory)."""
    store = spec.source.store
    if not isinstance(store, ObjectStoreSpec):
        raise TypeError(f"{spec.dataset_id} is not published to an S3 bucket: {store!r}")
    return store.bucket


def repository_settings(
    args: argparse.Namespace,
    workdir: Path,
    producer: LocalS3,
    stack: contextlib.ExitStack,
) -> RepositorySettings:
    """Where the repository lives: ``workdir/repos`` (``--repo local``), or the private bucket
    :data:`REPO_BUCKET` on the producer's server (``--repo-server shared``) or on a second one
    started on ``stack`` (``own``)."""
    if args.repo == "local":
        return RepositorySettings(local_root=str(workdir / "repos"))
    if args.repo_server == "own":
        server = stack.enter_context(running_s3_server(workdir / "s3-repositories.log"))
    else:
        server = producer
    server.create_bucket(REPO_BUCKET)
    _use_loopback_credentials(server)
    return RepositorySettings(
        kind="s3",
        bucket=REPO_BUCKET,
        prefix=REPO_PREFIX,
        region=server.region,
        endpoint=server.endpoint,
    )


def repository_env(settings: RepositorySettings) -> dict[str, str]:
    """The ``VIDX_REPO_*`` variables under which the code location opens ``settings``."""
    return {
        "VIDX_REPO_KIND": settings.kind,
        "VIDX_REPO_ROOT": settings.local_root,
        "VIDX_REPO_BUCKET": settings.bucket or "",
        "VIDX_REPO_PREFIX": settings.prefix,
        "VIDX_REPO_REGION": settings.region,
        "VIDX_REPO_ENDPOINT": settings.endpoint or "",
    }


# ----------------------------------------------------------------------------------------------
# The daemon


def _write_workspace(path: Path) -> None:
    path.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: bench.location\n"
        f"      working_directory: {ROOT}\n"
        "      location_name: vidx_pipeline_bench\n"
    )


def _daemon_env(
    args: argparse.Namespace,
    cycle: Cycle,
    producer: LocalS3,
    settings: RepositorySettings,
    home: Path,
) -> dict[str, str]:
    """Every ``VIDX_*`` variable the code location reads, the benchmark's dataset and schedule,
    and the loopback credentials; nothing left to a ``.env`` file."""
    return {
        **os.environ,
        **ENV_DEFAULTS,
        **producer.env(),
        **repository_env(settings),
        "VIDX_SENSORS": "on",
        "DAGSTER_HOME": str(home),
        DATASET_ENV_VAR: args.dataset,
        PUBLICATION_ENV_VAR: cycle.publication.model_dump_json(),
    }


def _start_daemon(workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Run from the benchmark's own directory: the dagster CLI loads a .env file from its working
    # directory over the environment, so a developer's .env in the checkout would win.
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=workdir,
        env=env,
        stdout=(workdir / "daemon.log").open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its code server and runs share its process group
        preexec_fn=reset_signal_handlers,
    )


def _wait_for_sensor_daemon(
    instance: DagsterInstance, daemon: subprocess.Popen[bytes], timeout: float
) -> None:
    """Until the sensor daemon's first heartbeat; raises if the daemon exits or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited with code {daemon.returncode} at startup")
        if "SENSOR" in instance.get_daemon_heartbeats():
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Dagster sensor daemon did not start within {timeout:.0f}s")


def _commit_times(settings: RepositorySettings, spec: DatasetSpec) -> list[float]:
    repo = icechunk.Repository.open(
        settings.storage(spec.dataset_id),
        authorize_virtual_chunk_access=reader_credentials(spec),
    )
    return sorted(s.written_at.timestamp() for s in repo.ancestry(branch="main"))


# ----------------------------------------------------------------------------------------------
# The run


@dataclass
class Observed:
    """What one benchmark run saw: files as published, the reader, the cycle's Dagster runs,
    the repository's commit times, and when the daemon was launched (epoch seconds)."""

    published: list[PublishedFile]
    reader: Reader
    records: Sequence[RunRecord]
    commit_times: list[float]
    launched_at: float


def _publish_and_read(
    args: argparse.Namespace,
    cycle: Cycle,
    producer: LocalS3,
    settings: RepositorySettings,
    instance: DagsterInstance,
) -> tuple[list[PublishedFile], Reader, Sequence[RunRecord]]:
    """Start the reader, publish the cycle from its first-file time on, and wait until every
    file is readable (or 120 s after the last one was published)."""
    spec = cycle.spec
    reader = Reader(spec, settings, spec.append_dimension.index_of(cycle.init), cycle.expected)
    reader.start()
    time.sleep(max(0.0, cycle.first_file_at - time.time()))
    publisher = CyclePublisher(
        producer.store(producer_bucket(spec)),
        cycle.files,
        file_interval_seconds=args.file_interval,
        index_lag_seconds=args.index_lag,
    )
    published = publisher.start().join(timeout=len(cycle.files) * args.file_interval + 120)
    reader.join(timeout=120)
    reader.stop.set()
    records = instance.get_run_records(RunsFilter(tags={"dagster/partition": cycle.key}))
    return published, reader, records


def run_benchmark(args: argparse.Namespace, cycle: Cycle, workdir: Path) -> Observed:
    """Serve the producer's bucket (and the repository's), run the daemon, publish, observe.
    Every server and the daemon's process group are stopped on the way out."""
    home = workdir / "dagster-home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    _write_workspace(workdir / "workspace.yaml")
    daemon: subprocess.Popen[bytes] | None = None
    with contextlib.ExitStack() as stack:
        producer = stack.enter_context(running_s3_server(workdir / "s3.log"))
        producer.create_bucket(producer_bucket(cycle.spec), public_read=True)
        settings = repository_settings(args, workdir, producer, stack)
        try:
            launched_at = time.time()
            daemon = _start_daemon(workdir, _daemon_env(args, cycle, producer, settings, home))
            with DagsterInstance.from_config(str(home)) as instance:
                _wait_for_sensor_daemon(instance, daemon, timeout=120)
                now = time.time()
                print(
                    f"daemon up in {now - launched_at:.1f}s; cycle due in "
                    f"{cycle.due_at - now:.1f}s, first file in {cycle.first_file_at - now:.1f}s",
                    flush=True,
                )
                published, reader, records = _publish_and_read(
                    args, cycle, producer, settings, instance
                )
            commit_times = _commit_times(settings, cycle.spec)
        finally:
            if daemon is not None:
                kill_process_group(daemon)
    return Observed(published, reader, records, commit_times, launched_at)


# ----------------------------------------------------------------------------------------------
# The report


def _latency_table(latencies: list[float | None]) -> str:
    """Latency by publication order, in bins of files."""
    size = -(-len(latencies) // LATENCY_BINS)
    rows = ["files      p50     max  (seconds, index visible -> readable)"]
    for start in range(0, len(latencies), size):
        chunk = [v for v in latencies[start : start + size] if v is not None]
        if chunk:
            rows.append(
                f"{start + 1:>3}-{min(start + size, len(latencies)):<3} "
                f"{float(np.median(chunk)):>7.2f} {max(chunk):>7.2f}"
            )
    return "\n".join(rows)


def _latencies(observed: Observed) -> list[float | None]:
    """Per published file, in publication order: index visible -> refs readable (None: one of
    the two never happened)."""
    readable = observed.reader.readable_at
    latencies: list[float | None] = []
    for entry in observed.published:
        at = readable.get(entry.file.data_key)
        visible = entry.index_visible_at
        latencies.append(at - visible if at is not None and visible is not None else None)
    return latencies


def _since(a: float | None, b: float | None) -> float | None:
    return round(a - b, 2) if a is not None and b is not None else None


def report(
    args: argparse.Namespace, cycle: Cycle, observed: Observed, started_at: float
) -> dict[str, object]:
    """The figures (printed as the final JSON line), with ``targets_met``."""
    latencies = _latencies(observed)
    known = [v for v in latencies if v is not None]
    published, reader = observed.published, observed.reader
    runs = sorted(observed.records, key=lambda r: r.create_timestamp.timestamp())
    run = runs[0] if runs else None
    head: dict[str, object] = {
        "dataset": cycle.spec.dataset_id,
        "repo_kind": args.repo,
        "repo_server": args.repo_server if args.repo == "s3" else None,
        "files": len(published),
    }
    print(_latency_table(latencies))
    if not known:
        return {
            **head,
            "error": "no file became readable",
            "runs_for_cycle": len(runs),
            "reader_last_error": reader.last_error,
        }
    p50 = float(np.percentile(known, 50))
    p95 = float(np.percentile(known, 95))
    first = latencies[0]
    first_index = published[0].index_visible_at
    last_index = max(p.index_visible_at or 0.0 for p in published)
    run_start = run.start_time if run is not None else None
    cycle_commits = [t for t in observed.commit_times if first_index and t >= first_index]
    gaps = np.diff(cycle_commits) if len(cycle_commits) > 1 else np.array([])
    unreadable = len(latencies) - len(known)
    figures: dict[str, object] = {
        **head,
        "files_unreadable": unreadable,
        "p50_seconds": round(p50, 3),
        "p95_seconds": round(p95, 3),
        "max_seconds": round(max(known), 3),
        "first_file_seconds": round(first, 3) if first is not None else None,
        "run_trigger": run.dagster_run.tags.get("vidx/trigger") if run is not None else None,
        "runs_for_cycle": len(runs),
        # > 0: the run was polling (started) that long before the first index was visible.
        "run_started_before_first_file_seconds": _since(first_index, run_start),
        "template_readable_before_first_file_seconds": _since(first_index, reader.template_at),
        "due_to_run_start_seconds": _since(run_start, cycle.due_at),
        "daemon_launch_to_due_seconds": _since(cycle.due_at, observed.launched_at),
        "commits_during_cycle": len(cycle_commits),
        "commit_gap_p50_seconds": round(float(np.median(gaps)), 3) if gaps.size else None,
        "commit_gap_max_seconds": round(float(gaps.max()), 3) if gaps.size else None,
        "last_index_to_last_readable_seconds": _since(
            max(reader.readable_at.values(), default=None), last_index
        ),
        "file_interval_seconds": args.file_interval,
        "index_lag_seconds": args.index_lag,
        "bench_seconds": round(time.time() - started_at, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    figures["targets_met"] = {
        "p50": p50 <= TARGETS["p50_max"],
        "p95": p95 <= TARGETS["p95_max"],
        "max": max(known) <= TARGETS["max_max"],
        "all_files_readable": unreadable == 0,
        "run_polling_before_first_file": run_start is not None
        and first_index is not None
        and run_start < first_index,
    }
    return figures


# ----------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(BENCH_DATASETS), default="gfs")
    parser.add_argument(
        "--repo", choices=("local", "s3"), default="local", help="where the repository lives"
    )
    parser.add_argument(
        "--repo-server",
        choices=("own", "shared"),
        default="own",
        help="--repo s3: the repositories' bucket on a second S3 server, or on the producer's",
    )
    parser.add_argument("--file-interval", type=float, default=0.5, help="seconds between files")
    parser.add_argument("--index-lag", type=float, default=0.2, help="data -> index seconds")
    parser.add_argument(
        "--lead-in",
        type=float,
        default=20.0,
        help="seconds from launching the daemon to the cycle's publication falling due",
    )
    parser.add_argument(
        "--poll-ahead",
        type=float,
        default=None,
        help="seconds a run starts before the first file (default: the spec's poll_ahead)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    started_at = time.time()
    cycle = plan_cycle(args)
    print(
        f"{cycle.spec.dataset_id} cycle {cycle.key}: {len(cycle.files)} files ready; "
        f"repository {args.repo}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="vidx-latency-"))
    try:
        observed = run_benchmark(args, cycle, workdir)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    figures = report(args, cycle, observed, started_at)
    print(json.dumps(figures))
    return 0 if figures.get("files_unreadable") == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
