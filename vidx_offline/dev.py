"""``make dev``: Dagster's webserver and daemon on this code location, offline, sensors on.

Starts a loopback S3 API with the GFS, GEFS, HRRR and ECMWF buckets and a loopback HTTP server
in DWD's layout, then ``dagster dev -w workspace.yaml`` pointed at both (``VIDX_S3_ENDPOINT``,
``VIDX_HTTP_ENDPOINT``; instance in ``.local/dagster-dev``, publication sensors on), then
publishes there over time, at full resolution, the current GFS cycle's first leads, the current
GEFS cycle's first leads of two members (both file kinds), the current HRRR cycle's first leads
and the current ECMWF ENS cycle's first steps (a few fields of three members, one file per
step). The HTTP server holds DWD's ICON-EU in both trees, a few parameters at the first leads:
the icosahedral v1 tree's current run (its mirror schedule copies it within 10 minutes once its
publication has started, then its publication sensor ingests it from the mirror), the regular
tree's last run, 2026-11-30 18z (materialize its mirror partition from the UI: the publication
sensor then starts the dataset's run of it, the mirror having copied objects), and
the ICON-EU grid file where DWD publishes it (``VIDX_GRID_FILES``: the icosahedral cube gets its
cells' positions at its first run). Watch the sensors start operational runs and the runs commit
file by file at http://127.0.0.1:3000; the repositories are in ``.local/dagster-dev/icechunk``,
the mirror in ``.local/dagster-dev/mirror``. Ctrl-C stops everything (the servers and every run
they started).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from vidx_offline.ecmwf_archive import EcmwfArchiveConfig, render_ecmwf_file
from vidx_offline.ecmwf_encode import SAMPLE_FIELDS
from vidx_offline.gefs_archive import GefsArchiveConfig, render_gefs_file
from vidx_offline.gfs_archive import GfsArchiveConfig
from vidx_offline.hrrr_archive import HrrrArchiveConfig, render_hrrr_file
from vidx_offline.http_server import running_http_server
from vidx_offline.icon_archive import write_icon_archive
from vidx_offline.icon_demo import ICON_FIELDS, ICOSAHEDRAL, REGULAR
from vidx_offline.icon_grid_file import DWD_GRID_FILES_DIRECTORY, write_icon_grid_file
from vidx_offline.inventory import gfs_inventory
from vidx_offline.processes import (
    interrupt_on_termination,
    kill_process_group,
    reset_signal_handlers,
)
from vidx_offline.publisher import CyclePublisher, render_cycle
from vidx_offline.s3_server import running_s3_server
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.orchestration.mirror import partitions_at_producer
from vidx_pipeline.orchestration.sensors import PUBLICATION_GRACE, candidate_partitions
from vidx_pipeline.providers.noaa import wgrib2_fields
from vidx_pipeline.spec import DatasetSpec

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".local" / "dagster-dev"


def gfs_fields_at(spec: DatasetSpec, leads: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    """The spec's GFS fields that NCEP writes at one of ``leads`` at least: statistical fields
    start at lead 1, so a cycle published only to f000 has none of them."""
    fields = wgrib2_fields(spec)
    written = {(line.element, line.level) for lead in leads for line in gfs_inventory(lead, fields)}
    return tuple(field for field in fields if field in written)


def _icon_init(spec: DatasetSpec, now: dt.datetime) -> dt.datetime:
    """The ICON-EU run to serve: the newest one both the mirror schedule copies and the
    publication sensor still watches, else the current one (copied once its publication starts),
    or the archive's last run once it has ended."""
    watched = candidate_partitions(spec, now, PUBLICATION_GRACE)
    at_producer = [when for when in partitions_at_producer(spec, now) if when in watched]
    return max(at_producer) if at_producer else spec.append_dimension.latest_at_or_before(now)


def main() -> int:
    # Ctrl-C or a plain kill stops everything, even if this process inherited them as ignored.
    interrupt_on_termination()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=13, help="leads of the cycle to publish")
    parser.add_argument("--gefs-leads", type=int, default=3, help="GEFS leads to publish")
    parser.add_argument("--hrrr-leads", type=int, default=2, help="HRRR leads to publish")
    parser.add_argument("--ecmwf-leads", type=int, default=3, help="ECMWF ENS steps to publish")
    parser.add_argument("--icon-leads", type=int, default=2, help="ICON-EU leads to serve")
    parser.add_argument("--file-interval", type=float, default=5.0, help="seconds between files")
    args = parser.parse_args()

    spec = get_dataset("noaa-gfs-forecast")
    cycle = spec.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    leads = spec.lead_hours[: args.leads]
    fields = gfs_fields_at(spec, leads)
    config = GfsArchiveConfig(
        init_times=(cycle,), lead_hours=leads, grid=spec.grid.shape, fields=fields
    )
    print(f"encoding {len(leads)} GFS files of cycle {cycle:%Y-%m-%d %Hz}...", flush=True)
    files = render_cycle(config, cycle, leads)
    gefs = get_dataset("noaa-gefs-forecast-35-day")
    gefs_cycle = gefs.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    gefs_config = GefsArchiveConfig(
        init_times=(gefs_cycle,),
        lead_hours=gefs.lead_hours[: args.gefs_leads],
        members=(0, 1),
        grid=gefs.grid.shape,
    )
    gefs_files = [
        render_gefs_file(gefs_config, kind, gefs_cycle, lead, member)
        for lead in gefs_config.lead_hours
        for member in gefs_config.members
        for kind in gefs_config.kinds
    ]
    print(f"encoded {len(gefs_files)} GEFS files of cycle {gefs_cycle:%Y-%m-%d %Hz}", flush=True)
    hrrr = get_dataset("noaa-hrrr-forecast-48-hour")
    hrrr_cycle = hrrr.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    hrrr_config = HrrrArchiveConfig(
        init_times=(hrrr_cycle,),
        lead_hours=hrrr.lead_hours[: args.hrrr_leads],
        grid=hrrr.grid.shape,
    )
    hrrr_files = [
        render_hrrr_file(hrrr_config, hrrr_cycle, lead) for lead in hrrr_config.lead_hours
    ]
    print(f"encoded {len(hrrr_files)} HRRR files of cycle {hrrr_cycle:%Y-%m-%d %Hz}", flush=True)
    ecmwf = get_dataset("ecmwf-ifs-ens-forecast-15-day")
    ecmwf_cycle = ecmwf.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    ecmwf_config = EcmwfArchiveConfig(
        init_times=(ecmwf_cycle,),
        lead_hours=ecmwf.lead_hours[: args.ecmwf_leads],
        members=(0, 1, 2),
        grid=ecmwf.grid.shape,
        fields=SAMPLE_FIELDS,
    )
    ecmwf_files = [
        render_ecmwf_file(ecmwf_config, ecmwf_cycle, lead) for lead in ecmwf_config.lead_hours
    ]
    print(f"encoded {len(ecmwf_files)} ECMWF files of cycle {ecmwf_cycle:%Y-%m-%d %Hz}", flush=True)

    HOME.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", HOME / "dagster.yaml")
    opendata = HOME / "opendata"
    shutil.rmtree(opendata, ignore_errors=True)
    for section in (ICOSAHEDRAL, REGULAR):  # the demo's trees, at dev's leads and inits
        icon = get_dataset(section.tree.dataset_id)
        icon_init = _icon_init(icon, dt.datetime.now(dt.UTC))
        icon_leads = tuple(icon.lead_hours[: args.icon_leads])
        icon_files = write_icon_archive(
            opendata,
            (icon_init,),
            icon_leads,
            fields=ICON_FIELDS,
            packing="grid_ccsds",
            tree=section.archive_tree,
        )
        print(f"encoded {len(icon_files)} {section.label} files of {icon_init:%Y-%m-%d %Hz}")
    grid_file = write_icon_grid_file(opendata / DWD_GRID_FILES_DIRECTORY)
    print(f"wrote the ICON-EU grid file {grid_file.path.name}", flush=True)
    with running_s3_server(HOME / "s3-server.log") as s3, running_http_server(opendata) as http:
        s3.create_bucket(spec.source.s3.bucket, public_read=True)
        s3.create_bucket(gefs.source.s3.bucket, public_read=True)
        s3.create_bucket(hrrr.source.s3.bucket, public_read=True)
        s3.create_bucket(ecmwf.source.s3.bucket, public_read=True)
        env = {
            **os.environ,
            **s3.env(),
            "DAGSTER_HOME": str(HOME),
            "VIDX_REPO_ROOT": str(HOME / "icechunk"),
            "VIDX_HTTP_ENDPOINT": http.base_url.rstrip("/"),
            "VIDX_GRID_FILES": http.base_url + DWD_GRID_FILES_DIRECTORY,
            "VIDX_MIRROR_ROOT": str(HOME / "mirror"),
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
            print(
                f"S3 API {s3.endpoint}; DWD's paths on {http.base_url}; "
                "Dagster UI http://127.0.0.1:3000",
                flush=True,
            )
            publisher = CyclePublisher(
                s3.store(spec.source.s3.bucket),
                files,
                file_interval_seconds=args.file_interval,
                index_lag_seconds=1.0,
            )
            gefs_publisher = CyclePublisher(
                s3.store(gefs.source.s3.bucket),
                gefs_files,
                file_interval_seconds=args.file_interval / 4,
                index_lag_seconds=1.0,
            ).start()
            hrrr_publisher = CyclePublisher(
                s3.store(hrrr.source.s3.bucket),
                hrrr_files,
                file_interval_seconds=args.file_interval,
                index_lag_seconds=1.0,
            ).start()
            ecmwf_publisher = CyclePublisher(
                s3.store(ecmwf.source.s3.bucket),
                ecmwf_files,
                file_interval_seconds=args.file_interval,
                index_lag_seconds=1.0,
            ).start()
            publisher.run()
            gefs_publisher.join()
            hrrr_publisher.join()
            ecmwf_publisher.join()
            print("cycle published; Ctrl-C to stop", flush=True)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            kill_process_group(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
