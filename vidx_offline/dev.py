"""``make dev``: Dagster's webserver and daemon on this code location, offline, sensor on.

Starts a loopback S3 API with the GFS bucket, then ``dagster dev -w workspace.yaml`` pointed at
it (instance in ``.local/dagster-dev``, publication sensors on), then publishes the current GFS
cycle's first leads there over time, at full resolution. Watch the sensor start an operational
run and the run commit file by file at http://127.0.0.1:3000; the repository is in
``.local/dagster-dev/icechunk``. Ctrl-C stops everything (the server and every run it started).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from vidx_offline.gfs_archive import GfsArchiveConfig
from vidx_offline.processes import kill_process_group, reset_signal_handlers
from vidx_offline.publisher import CyclePublisher, render_cycle
from vidx_offline.s3_server import running_s3_server
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.providers.noaa import wgrib2_fields

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".local" / "dagster-dev"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C or a plain kill stops everything, even if this process inherited them as ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=13, help="leads of the cycle to publish")
    parser.add_argument("--file-interval", type=float, default=5.0, help="seconds between files")
    args = parser.parse_args()

    spec = get_dataset("noaa-gfs-forecast")
    cycle = spec.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    fields = wgrib2_fields(spec)
    leads = spec.lead_hours[: args.leads]
    config = GfsArchiveConfig(
        init_times=(cycle,), lead_hours=leads, grid=spec.grid.shape, fields=fields
    )
    print(f"encoding {len(leads)} files of cycle {cycle:%Y-%m-%d %Hz}...", flush=True)
    files = render_cycle(config, cycle, leads)

    HOME.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", HOME / "dagster.yaml")
    with running_s3_server(HOME / "s3-server.log") as s3:
        s3.create_bucket(spec.source.store.bucket, public_read=True)
        env = {
            **os.environ,
            **s3.env(),
            "DAGSTER_HOME": str(HOME),
            "VIDX_REPO_ROOT": str(HOME / "icechunk"),
            "VIDX_SENSORS": "on",
        }
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=reset_signal_handlers,
        )
        try:
            print(f"S3 API {s3.endpoint}; Dagster UI http://127.0.0.1:3000", flush=True)
            publisher = CyclePublisher(
                s3.store(spec.source.store.bucket),
                files,
                file_interval_seconds=args.file_interval,
                index_lag_seconds=1.0,
            )
            publisher.run()
            print("cycle published; Ctrl-C to stop", flush=True)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            kill_process_group(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
