"""Latency benchmark: publication -> refs readable, through the real Dagster daemon and sensor.

A loopback S3 API serves the GFS bucket; a Dagster daemon runs this code location with the
publication sensor on; a publisher writes one GFS cycle (209 leads, NCEP's full inventory per
file, data then index) as NCEP would, only faster. The sensor starts an operational run when the
first file appears, and that run follows the cycle. An independent reader polls ``main`` and
records when each lead's refs become readable (its ``ingested`` flag, committed with its refs).

Reports, ending with one JSON line:
- per file, index object visible -> refs readable: p50, p95, max over the files published while
  the operational run was in progress (targets p50 <= 1.5 s, p95 <= 3 s);
- the cycle's first file -> its run starting, through the sensor (target <= 15 s).
Messages are encoded on a tiny grid: readiness of refs does not depend on the grid.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import icechunk
import numpy as np
import zarr
from dagster import DagsterInstance, RunsFilter

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.offline.gfs_archive import GfsArchiveConfig
from vidx_pipeline.offline.processes import kill_process_group, reset_signal_handlers
from vidx_pipeline.offline.publisher import CyclePublisher, render_cycle
from vidx_pipeline.offline.s3_server import running_s3_server
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT
from vidx_pipeline.repository import RepositorySettings, reader_credentials
from vidx_pipeline.template import PROGRESS_ARRAY

ROOT = Path(__file__).resolve().parents[1]
TINY_GRID = (3, 4)
TARGETS = {"p50_max": 1.5, "p95_max": 3.0, "sensor_start_max": 15.0}


class Reader(threading.Thread):
    """Polls ``main`` as a reader would and records when each lead first reads as ingested."""

    def __init__(self, settings: RepositorySettings, position: int, leads: int) -> None:
        super().__init__(name="reader", daemon=True)
        self.settings = settings
        self.position = position
        self.readable_at: list[float | None] = [None] * leads
        self.stop = threading.Event()

    def run(self) -> None:
        spec = get_dataset("noaa-gfs-forecast")
        storage = self.settings.storage(spec.dataset_id)
        repo = None
        while not self.stop.is_set():
            try:
                if repo is None:
                    repo = icechunk.Repository.open(
                        storage, authorize_virtual_chunk_access=reader_credentials(spec)
                    )
                group = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
                progress = group[PROGRESS_ARRAY]
                assert isinstance(progress, zarr.Array)
                if progress.shape[0] > self.position:
                    row = np.asarray(progress[self.position])
                    now = time.time()
                    for lead in np.flatnonzero(row):
                        if self.readable_at[lead] is None:
                            self.readable_at[lead] = now
            except Exception:  # the repository or its template does not exist yet
                repo = None
            if all(t is not None for t in self.readable_at):
                return
            self.stop.wait(0.05)


def _start_daemon(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
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


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-interval", type=float, default=0.5, help="seconds between files")
    parser.add_argument("--index-lag", type=float, default=0.2, help="data -> index seconds")
    args = parser.parse_args()

    spec = get_dataset("noaa-gfs-forecast")
    axis = spec.append_dimension
    cycle = axis.latest_at_or_before(dt.datetime.now(dt.UTC))
    key = cycle.strftime(PARTITION_FORMAT)
    config = GfsArchiveConfig(init_times=(cycle,), lead_hours=spec.lead_hours, grid=TINY_GRID)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        # Encoded in a child process: encoding is not what is measured.
        files = pool.submit(render_cycle, config, cycle, spec.lead_hours).result()
    print(f"cycle {key}: {len(files)} files rendered", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="vidx-latency-"))
    home = workdir / "dagster-home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    daemon: subprocess.Popen[bytes] | None = None
    try:
        with running_s3_server(workdir / "s3.log") as s3:
            s3.create_bucket(spec.source.store.bucket, public_read=True)
            settings = RepositorySettings(local_root=str(workdir / "repos"))
            env = {
                **os.environ,
                **s3.env(),
                "DAGSTER_HOME": str(home),
                "VIDX_REPO_ROOT": settings.local_root,
                "VIDX_SENSORS": "on",
            }
            daemon = _start_daemon(env, workdir / "daemon.log")
            with DagsterInstance.from_config(str(home)) as instance:
                _wait_for_sensor_daemon(instance, timeout=120)
                time.sleep(6)  # let the sensor tick once on an empty bucket
                print("daemon up, sensor on; publishing", flush=True)

                reader = Reader(settings, axis.index_of(cycle), len(spec.lead_hours))
                reader.start()
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
                started = [r.start_time for r in records if r.start_time is not None]
                run_start = min(started) if started else None
        first_index = min(p.index_visible_at or float("inf") for p in published)
        latencies_running: list[float] = []
        latencies_all: list[float] = []
        unreadable = 0
        for entry, readable in zip(published, reader.readable_at, strict=True):
            if readable is None or entry.index_visible_at is None:
                unreadable += 1
                continue
            latency = readable - entry.index_visible_at
            latencies_all.append(latency)
            if run_start is not None and entry.index_visible_at >= run_start:
                latencies_running.append(latency)
        sensor_start = (run_start - first_index) if run_start is not None else None
        if not latencies_running:
            print(
                json.dumps(
                    {
                        "error": "no file was read while an operational run was in progress",
                        "runs_for_cycle": len(records),
                        "files_unreadable": unreadable,
                    }
                )
            )
            return 1
        figures: dict[str, object] = {
            "files": len(published),
            "files_unreadable": unreadable,
            "files_while_running": len(latencies_running),
            "p50_seconds": round(statistics.median(latencies_running), 3),
            "p95_seconds": round(_percentile(latencies_running, 95), 3),
            "max_seconds": round(max(latencies_running), 3),
            "p50_seconds_all_files": round(statistics.median(latencies_all), 3),
            "max_seconds_all_files": round(max(latencies_all), 3),
            "sensor_start_seconds": round(sensor_start, 2) if sensor_start is not None else None,
            "runs_for_cycle": len(records),
            "file_interval_seconds": args.file_interval,
            "index_lag_seconds": args.index_lag,
        }
        figures["targets_met"] = {
            "p50": statistics.median(latencies_running) <= TARGETS["p50_max"],
            "p95": _percentile(latencies_running, 95) <= TARGETS["p95_max"],
            "sensor_start": sensor_start is not None
            and sensor_start <= TARGETS["sensor_start_max"],
            "all_files_readable": unreadable == 0,
        }
        print(json.dumps(figures))
        return 0 if unreadable == 0 and len(latencies_running) >= 100 else 1
    finally:
        if daemon is not None:
            kill_process_group(daemon)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
