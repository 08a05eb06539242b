"""One full init of a dataset from the local S3 API, every variable: GEFS 35-day or HRRR.

``--dataset gefs``: 31 members x 2 file kinds x 181 leads = 11,222 data files with their wgrib2
inventories (NCEP's whole pgrb2a and pgrb2b inventories, ~3.3 million refs). ``--dataset hrrr``:
49 leads of NCEP's whole wrfsfc inventory (~8,500 refs). Ingested by one backfill
``ingest_partition`` (list, index GET + header probe per file, parse, place, one commit), timed
whole. Ingest speed depends on the index texts, the number of objects and their keys, not on the
grid, so messages are encoded on a tiny grid (cached in ``.local/bench``). GEFS is encoded once
per (kind, lead) for the control member; every perturbed member's objects are those bytes under
its own key, with its own ``ENS=+k`` inventory lines (the messages inside still say member 0:
ingest reads only each object's first header, for the reference time and grid, never its
member).

Right after the ingest the same index objects are fetched with bare obstore GETs at the
pipeline's concurrency, alone and with the header probe's range GET of every data object, for
the rate the pipeline is compared with.

Prints figures and ends with one JSON line. Targets (issue 7): a GEFS init in <= 30 s, an HRRR
init in <= 1 s; >= 0.5x the raw GET rate of the same index objects.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/ingest_gefs.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import multiprocessing
import pickle
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from obstore.store import S3Store

import vidx_offline
from bench.archive import CACHE_DIR, ENCODER_SOURCES, TINY_GRID
from bench.ingest import _put_all, _raw_get, _repository_bytes
from vidx_offline.gefs_archive import GefsArchiveConfig, GefsFile, render_gefs_file
from vidx_offline.gefs_inventory import ensemble_text, member_label
from vidx_offline.hrrr_archive import HrrrArchiveConfig, HrrrFile, render_hrrr_file
from vidx_offline.s3_server import running_s3_server
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec, LambertConformalGrid, RegularLatLonGrid

INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
TARGET_SECONDS = {"gefs": 30.0, "hrrr": 1.0}
TARGET_RATIO_TO_RAW_GET = 0.5
OFFLINE_SOURCES = (
    "gefs_archive.py",
    "gefs_inventory.py",
    "grids.py",
    "hrrr_archive.py",
    "hrrr_encoding.py",
    "hrrr_inventory.py",
)


def tiny_spec(dataset: str) -> DatasetSpec:
    nlat, nlon = TINY_GRID
    if dataset == "hrrr":
        base = get_dataset("noaa-hrrr-forecast-48-hour")
        assert isinstance(base.grid, LambertConformalGrid)
        return base.model_copy(
            update={"grid": base.grid.model_copy(update={"ny": nlat, "nx": nlon})}
        )
    base = get_dataset("noaa-gefs-forecast-35-day")
    grid = RegularLatLonGrid(
        nlat=nlat, nlon=nlon, lat_first=90, lat_last=-90, lon_first=0, lon_last=360 - 360 / nlon
    )
    return base.model_copy(update={"grid": grid})


def _render_hrrr(lead_hours: tuple[int, ...]) -> list[HrrrFile]:
    config = HrrrArchiveConfig(init_times=(INIT,), lead_hours=lead_hours, grid=TINY_GRID)
    return [render_hrrr_file(config, INIT, lead) for lead in lead_hours]


def _render_control(lead_hours: tuple[int, ...]) -> list[GefsFile]:
    config = GefsArchiveConfig(
        init_times=(INIT,), lead_hours=lead_hours, members=(0,), grid=TINY_GRID
    )
    return [
        render_gefs_file(config, kind, INIT, lead, 0)
        for lead in lead_hours
        for kind in config.kinds
    ]


def template_files(dataset: str, spec: DatasetSpec) -> list[GefsFile] | list[HrrrFile]:
    """Every file of one init (GEFS: the control member's of each kind and lead), encoded once
    and cached."""
    digest = hashlib.sha256(repr((dataset, TINY_GRID, spec.lead_hours, INIT)).encode())
    package = Path(vidx_offline.__file__).parent
    for path in [
        *(package / name for name in (*ENCODER_SOURCES, *OFFLINE_SOURCES)),
        *sorted(package.glob("inventories/*.idx")),
    ]:
        digest.update(path.read_bytes())
    path = CACHE_DIR / f"{dataset}-{digest.hexdigest()[:16]}.pickle"
    if not path.exists():
        render = _render_hrrr if dataset == "hrrr" else _render_control
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            files = pool.submit(render, spec.lead_hours).result()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".partial").write_bytes(pickle.dumps(files))
        path.with_suffix(".partial").replace(path)
    loaded: list[GefsFile] | list[HrrrFile] = pickle.loads(path.read_bytes())
    return loaded


def publish(
    store: S3Store, spec: DatasetSpec, templates: list[GefsFile] | list[HrrrFile]
) -> tuple[int, int]:
    """Every file's objects (GEFS: the control's bytes under each member's keys, with the
    member's ENS= text in its inventory). Returns (files, messages)."""
    data: list[tuple[str, bytes]] = []
    indexes: list[tuple[str, bytes]] = []
    messages = 0
    members = spec.ensemble.members if spec.ensemble is not None else (0,)
    for file in templates:
        for member in members:
            label = member_label(member)
            data_key = file.data_key.replace("/gec00.", f"/ge{label}.")
            text = file.index_text.replace(ensemble_text(0), ensemble_text(member))
            data.append((data_key, file.data))
            indexes.append((data_key + ".idx", text.encode()))
            messages += len(file.messages)
    asyncio.run(_put_all(store, data))
    asyncio.run(_put_all(store, indexes))
    return len(data), messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(TARGET_SECONDS), default="gefs")
    args = parser.parse_args()
    spec = tiny_spec(args.dataset)
    t0 = time.perf_counter()
    control = template_files(args.dataset, spec)
    print(f"template files: {len(control)} ({time.perf_counter() - t0:.1f}s)", flush=True)
    settings = IngestSettings()
    with running_s3_server() as s3, tempfile.TemporaryDirectory() as workdir:
        bucket = spec.source.s3.bucket
        s3.create_bucket(bucket, public_read=True)
        producer = s3.store(bucket)
        t0 = time.perf_counter()
        files, messages = publish(producer, spec, control)
        print(f"published {files} files, {messages} messages ({time.perf_counter() - t0:.1f}s)")
        del control
        repository = open_repository(
            spec, RepositorySettings(local_root=workdir), source_endpoint=s3.endpoint
        )
        store = open_source_store(spec.source.store, s3.endpoint)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        result = ingest_partition(spec, repository, store, INIT, settings)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        if result.files_ingested != files or result.refs_written != messages or result.missing:
            raise SystemExit(f"incomplete ingest: {result}")
        expected = expected_files(spec, INIT)
        keys = [f.index_key for f in expected if f.index_key is not None]
        source = s3.store(bucket)
        concurrency = settings.max_concurrent_requests
        t0 = time.perf_counter()
        asyncio.run(_raw_get(source, keys, [], concurrency))
        index_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        asyncio.run(_raw_get(source, keys, [f.data_key for f in expected], concurrency))
        with_probe = time.perf_counter() - t0
        on_disk = sum(_repository_bytes(Path(workdir) / spec.dataset_id).values())
    files_per_second = files / seconds
    ratio = files_per_second / (files / index_only)
    figures: dict[str, object] = {
        "dataset": spec.dataset_id,
        "files": files,
        "refs": messages,
        "seconds_per_init": round(seconds, 2),
        "cpu_seconds_per_init": round(cpu, 2),
        "refs_per_second": round(messages / seconds),
        "files_per_second": round(files_per_second, 1),
        "raw_get_per_second": round(files / index_only, 1),
        "ratio_to_raw_get": round(ratio, 3),
        "ratio_to_raw_get_with_probe": round(files_per_second / (files / with_probe), 3),
        "bytes_per_ref": round(on_disk / messages, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    figures["targets_met"] = {
        "seconds_per_init": seconds <= TARGET_SECONDS[args.dataset],
        "ratio_to_raw_get": ratio >= TARGET_RATIO_TO_RAW_GET,
    }
    for name, value in figures.items():
        print(f"{name:>28}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
