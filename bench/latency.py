"""Latency benchmark: publication -> refs readable, through the real Dagster daemon and sensor.

A loopback S3 API serves the GFS bucket; ``dagster-daemon`` runs the production code location
(:mod:`bench.location`: the GFS spec, every variable, on the benchmark's tiny grid) with its
publication sensor on; every ``VIDX_*`` variable is set (``ENV_DEFAULTS`` plus the benchmark's
repository root and loopback endpoint). The spec's publication schedule is chosen so that the
newest cycle falls due ``--lead-in`` seconds after the daemon is launched; as in an operator's
deployment the sensor then starts the cycle's run (trigger ``due``) ``poll_ahead`` before the
first file, and the publisher writes all 209 files of the cycle (NCEP's whole inventory per
file; data, then index ``--index-lag`` later; one file every ``--file-interval``) from the
cycle's first-file time on. An independent reader polls ``main`` and records when each file's
refs become readable (its ``ingested`` flag, committed with its refs).

Reports, ending with one JSON line: over all files of the cycle, index object visible -> refs
readable p50, p95 and max (targets p50 <= 1.5 s, p95 <= 3 s, max <= 5 s), the first file's
latency on its own, and whether the run was polling before the first file was published.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/latency.py): import from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence

import icechunk
import numpy as np
import zarr
from dagster import DagsterInstance, RunRecord, RunsFilter

from bench.archive import PUBLICATION_ENV_VAR, Redater, template_files, tiny_gfs_spec
from vidx_offline.processes import kill_process_group, reset_signal_handlers
from vidx_offline.publisher import CyclePublisher, PublishedFile
from vidx_offline.s3_server import running_s3_server
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT
from vidx_pipeline.orchestration.resources import ENV_DEFAULTS
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.repository import RepositorySettings, reader_credentials
from vidx_pipeline.spec import DatasetSpec, PublicationSchedule

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"p50_max": 1.5, "p95_max": 3.0, "max_max": 5.0}
READER_INTERVAL_SECONDS = 0.05
LATENCY_BINS = 10


class Reader(threading.Thread):
    """Polls ``main`` as a reader would; records when the template first reads and when each
    file's ``ingested`` flag first reads as set (epoch seconds)."""

    def __init__(self, spec: DatasetSpec, settings: RepositorySettings, position: int) -> None:
        super().__init__(name="reader", daemon=True)
        self.spec = spec
        self.settings = settings
        self.position = position
        self.template_at: float | None = None
        self.readable_at: list[float | None] = [None] * len(spec.lead_hours)
        self.stop = threading.Event()

    def run(self) -> None:
        storage = self.settings.storage(self.spec.dataset_id)
        repo = None
        while not self.stop.is_set():
            try:
                if repo is None:
                    repo = icechunk.Repository.open(
                        storage, authorize_virtual_chunk_access=reader_credentials(self.spec)
                    )
                group = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
                progress = group[PROGRESS_ARRAY]
                assert isinstance(progress, zarr.Array)
                now = time.time()
                if self.template_at is None:
                    self.template_at = now
                if progress.shape[0] > self.position:
                    row = np.asarray(progress[self.position])
                    for lead in np.flatnonzero(row):
                        if self.readable_at[lead] is None:
                            self.readable_at[lead] = now
            except Exception:  # the repository or its template does not exist yet
                repo = None
            if all(t is not None for t in self.readable_at):
                return
            self.stop.wait(READER_INTERVAL_SECONDS)


def _write_workspace(path: Path) -> None:
    path.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: bench.location\n"
        f"      working_directory: {ROOT}\n"
        "      location_name: vidx_pipeline_bench\n"
    )


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


def _wait_for_sensor_daemon(instance: DagsterInstance, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "SENSOR" in instance.get_daemon_heartbeats():
            return
        time.sleep(0.5)
    raise RuntimeError("the Dagster sensor daemon did not start")


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


def _commit_times(settings: RepositorySettings, spec: DatasetSpec) -> list[float]:
    repo = icechunk.Repository.open(
        settings.storage(spec.dataset_id),
        authorize_virtual_chunk_access=reader_credentials(spec),
    )
    return sorted(s.written_at.timestamp() for s in repo.ancestry(branch="main"))


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    args = parser.parse_args()

    base = tiny_gfs_spec()
    axis = base.append_dimension
    cycle = axis.latest_at_or_before(dt.datetime.now(dt.UTC))
    key = cycle.strftime(PARTITION_FORMAT)
    files = Redater(template_files(base)).files(cycle)
    print(f"cycle {key}: {len(files)} files ready", flush=True)

    poll_ahead = (
        dt.timedelta(seconds=args.poll_ahead)
        if args.poll_ahead is not None
        else base.publication.poll_ahead
    )
    spread = base.publication.last_file_after - base.publication.first_file_after
    publication = _schedule(
        cycle, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=args.lead_in), poll_ahead, spread
    )
    spec = tiny_gfs_spec(publication)  # what bench.location builds in the daemon
    due_at = (cycle + publication.first_file_after - publication.poll_ahead).timestamp()
    first_file_at = (cycle + publication.first_file_after).timestamp()

    workdir = Path(tempfile.mkdtemp(prefix="vidx-latency-"))
    home = workdir / "dagster-home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    _write_workspace(workdir / "workspace.yaml")
    daemon: subprocess.Popen[bytes] | None = None
    try:
        with running_s3_server(workdir / "s3.log") as s3:
            s3.create_bucket(spec.source.store.bucket, public_read=True)
            settings = RepositorySettings(local_root=str(workdir / "repos"))
            env = {
                **os.environ,
                **ENV_DEFAULTS,
                **s3.env(),
                "VIDX_REPO_ROOT": settings.local_root,
                "VIDX_SENSORS": "on",
                "DAGSTER_HOME": str(home),
                PUBLICATION_ENV_VAR: publication.model_dump_json(),
            }
            launched_at = time.time()
            daemon = _start_daemon(workdir, env)
            with DagsterInstance.from_config(str(home)) as instance:
                _wait_for_sensor_daemon(instance, timeout=120)
                sensor_up_at = time.time()
                now = time.time()
                print(
                    f"daemon up in {sensor_up_at - launched_at:.1f}s; cycle due in "
                    f"{due_at - now:.1f}s, first file in {first_file_at - now:.1f}s",
                    flush=True,
                )
                reader = Reader(spec, settings, axis.index_of(cycle))
                reader.start()
                time.sleep(max(0.0, first_file_at - time.time()))
                publisher = CyclePublisher(
                    s3.store(spec.source.store.bucket),
                    files,
                    file_interval_seconds=args.file_interval,
                    index_lag_seconds=args.index_lag,
                )
                published = publisher.start().join(timeout=len(files) * args.file_interval + 120)
                reader.join(timeout=120)
                reader.stop.set()
                records = instance.get_run_records(RunsFilter(tags={"dagster/partition": key}))
            commit_times = _commit_times(settings, spec)
        return _report(args, published, reader, records, commit_times, due_at, launched_at)
    finally:
        if daemon is not None:
            kill_process_group(daemon)
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _report(
    args: argparse.Namespace,
    published: list[PublishedFile],
    reader: Reader,
    records: Sequence[RunRecord],
    commit_times: list[float],
    due_at: float,
    launched_at: float,
) -> int:
    latencies: list[float | None] = [
        readable - entry.index_visible_at
        if readable is not None and entry.index_visible_at is not None
        else None
        for entry, readable in zip(published, reader.readable_at, strict=True)
    ]
    known = [v for v in latencies if v is not None]
    unreadable = len(latencies) - len(known)
    first_index = published[0].index_visible_at
    last_index = max(p.index_visible_at or 0.0 for p in published)
    runs = sorted(records, key=lambda r: r.create_timestamp.timestamp())
    run = runs[0] if runs else None
    run_start = run.start_time if run is not None else None
    cycle_commits = [t for t in commit_times if first_index is not None and t >= first_index]
    gaps = np.diff(cycle_commits) if len(cycle_commits) > 1 else np.array([])
    print(_latency_table(latencies))
    if not known:
        print(json.dumps({"error": "no file became readable", "runs_for_cycle": len(runs)}))
        return 1
    p50 = float(np.percentile(known, 50))
    p95 = float(np.percentile(known, 95))
    first = latencies[0]

    def since(a: float | None, b: float | None) -> float | None:
        return round(a - b, 2) if a is not None and b is not None else None

    figures: dict[str, object] = {
        "files": len(published),
        "files_unreadable": unreadable,
        "p50_seconds": round(p50, 3),
        "p95_seconds": round(p95, 3),
        "max_seconds": round(max(known), 3),
        "first_file_seconds": round(first, 3) if first is not None else None,
        "run_trigger": run.dagster_run.tags.get("vidx/trigger") if run is not None else None,
        "runs_for_cycle": len(runs),
        # > 0: the run was polling (started) that long before the first index was visible.
        "run_started_before_first_file_seconds": since(first_index, run_start),
        "template_readable_before_first_file_seconds": since(first_index, reader.template_at),
        "due_to_run_start_seconds": since(run_start, due_at),
        "daemon_launch_to_due_seconds": since(due_at, launched_at),
        "commits_during_cycle": len(cycle_commits),
        "commit_gap_p50_seconds": round(float(np.median(gaps)), 3) if gaps.size else None,
        "commit_gap_max_seconds": round(float(gaps.max()), 3) if gaps.size else None,
        "last_index_to_last_readable_seconds": since(
            max((t for t in reader.readable_at if t is not None), default=None), last_index
        ),
        "file_interval_seconds": args.file_interval,
        "index_lag_seconds": args.index_lag,
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
    print(json.dumps(figures))
    return 0 if unreadable == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
