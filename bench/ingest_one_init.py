"""One full init of a dataset, every variable, from a loopback producer: GEFS, HRRR, IFS, ICON.

``--dataset gefs``: 31 members x 2 file kinds x 181 leads = 11,222 data files with their wgrib2
inventories (NCEP's whole pgrb2a and pgrb2b inventories, ~3.3 million refs). ``--dataset hrrr``:
49 leads of NCEP's whole wrfsfc inventory (~8,500 refs). ``--dataset ifs``: ECMWF IFS ENS, 85
steps, one object per step holding all 51 members of the 81 fields of the ENS list (4,131
messages, one JSON ``.index`` line each: ~351k refs). These three are served by the loopback S3
API in the producer's bucket and layout, and ingested by one backfill ``ingest_partition``
(list, index GET + the two probes of every data object, parse, place, commit), timed whole.

``--dataset icon``: DWD ICON-EU's 00z init, 93 leads x 197 objects (57 single-level parameters,
7 pressure-level ones on 20 levels), one bz2-compressed message per object (18,321 refs), in
DWD's tree behind the loopback HTTP server (nginx-style directory index pages). Its pipeline
path is the mirror asset's :func:`~vidx_pipeline.mirror.mirror_partition` (the directory
pages, then every object copied into a local mirror with one GET each) then
``ingest_partition`` of the mirrored spec (list, GET + header of every object, one commit per
``max_files_per_commit`` files), timed together, in MB/s of the objects' bytes.

Ingest speed depends on the index texts, the number of objects and their keys, not on the grid,
so messages are encoded with ecCodes on a tiny grid once, in a spawned child, and cached in
``.local/bench`` (keyed by the offline encoders' sources). GEFS is encoded once per (kind, lead)
for the control member; every perturbed member's objects are those bytes under its own key,
with its own ``ENS=+k`` inventory lines. IFS is encoded once per step for the control; each
step's object is laid out for all 51 members by the offline archive
(:func:`~vidx_offline.ecmwf_archive.assemble_ecmwf_file`: shuffled members, each index line
naming its member), every member's message being the control's bytes. Both are sound because
ingest never reads a member from a message: the first probe reads the first message's sections
0-3 (centre, reference time, grid), the second the section 0 (length) of the message at the
index's highest offset; the member comes from the key (GEFS) or the index line (IFS).

Right after the ingest the same objects are fetched with bare obstore GETs at the pipeline's
concurrency: S3 datasets, the index objects alone, then with the two range GETs of every data
object the probes make (:func:`bench.ingest._raw_get`); ICON, every object whole from the HTTP
server. ``--leads N`` keeps the first N leads (a smoke run; the seconds target is then not
judged).

Prints figures and ends with one JSON line. Targets (issues 7 and 8): a GEFS init in <= 30 s, an
HRRR init in <= 1 s, an IFS ENS init in <= 10 s, each >= 0.5x the raw GET rate of the same index
objects; ICON-EU's mirror + refs >= 0.5x the raw HTTP GET rate (MB/s) of the same objects.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/ingest_one_init.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import multiprocessing
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Literal, get_args

from obstore.store import S3Store

import vidx_offline
from bench.archive import CACHE_DIR, ENCODER_SOURCES, TINY_GRID, tiny_grid
from bench.ingest import _put_all, _raw_get, _repository_bytes, _rss_mb
from vidx_offline.ecmwf_archive import (
    EcmwfArchiveConfig,
    EcmwfFile,
    assemble_ecmwf_file,
    render_ecmwf_file,
)
from vidx_offline.ecmwf_encode import EnsField
from vidx_offline.gefs_archive import GefsArchiveConfig, GefsFile, render_gefs_file
from vidx_offline.gefs_inventory import ensemble_text, member_label
from vidx_offline.hrrr_archive import HrrrArchiveConfig, HrrrFile, render_hrrr_file
from vidx_offline.http_server import running_http_server
from vidx_offline.icon_archive import (
    IconField,
    Packing,
    encode_icon_message,
    every_field,
    write_icon_file,
)
from vidx_offline.s3_server import running_s3_server
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.ingest import IngestResult, IngestSettings, ingest_partition
from vidx_pipeline.mirror import mirror_partition, mirrored_spec
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import (
    DatasetSpec,
    HttpStoreSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    LocalStoreSpec,
    RegularLatLonGrid,
)

Dataset = Literal["gefs", "hrrr", "ifs", "icon"]
DATASET_IDS: dict[Dataset, str] = {
    "gefs": "noaa-gefs-forecast-35-day",
    "hrrr": "noaa-hrrr-forecast-48-hour",
    "ifs": "ecmwf-ifs-ens-forecast-15-day",
    "icon": "dwd-icon-eu-forecast-5-day",
}
INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
ICON_INIT = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
"""ICON-EU's init: 00z of the last day of DWD's regular-grid tree (inside the spec's archive)."""
INITS: dict[Dataset, dt.datetime] = {"gefs": INIT, "hrrr": INIT, "ifs": INIT, "icon": ICON_INIT}
TARGET_SECONDS: dict[Dataset, float] = {"gefs": 30.0, "hrrr": 1.0, "ifs": 10.0}
"""A full init's wall-clock target; ICON-EU has none (issue 8 gives its rate only)."""
TARGET_RATIO_TO_RAW_GET = 0.5
ICON_PACKING: Packing = "grid_ccsds"  # DWD's packing since June 2026
IFS_PUBLISH_STEPS = 8
"""IFS steps assembled and written at a time (each ~2 MB: data and index)."""
MB = 1e6
NOAA_SOURCES = (
    "gefs_archive.py",
    "gefs_inventory.py",
    "grids.py",
    "hrrr_archive.py",
    "hrrr_encoding.py",
    "hrrr_inventory.py",
)
OFFLINE_SOURCES: dict[Dataset, tuple[str, ...]] = {
    "gefs": (*ENCODER_SOURCES, *NOAA_SOURCES),
    "hrrr": (*ENCODER_SOURCES, *NOAA_SOURCES),
    "ifs": ("archive_files.py", "ecmwf_archive.py", "ecmwf_encode.py", "ecmwf_index_writer.py"),
    "icon": ("icon_archive.py",),
}
"""The :mod:`vidx_offline` modules each dataset's cached templates depend on (the cache key)."""

IconTemplate = tuple[IconField, int, bytes]
"""One ICON-EU object before compression: its field, lead and GRIB message."""


# ----------------------------------------------------------------------------------------------
# The dataset on the tiny grid


def tiny_spec(dataset: Dataset, leads: int | None = None) -> DatasetSpec:
    """The registered spec of ``dataset`` on :data:`TINY_GRID` (same corners and scanning as
    the offline archive encodes), with its first ``leads`` leads (None: every lead)."""
    base = get_dataset(DATASET_IDS[dataset])
    nlat, nlon = TINY_GRID
    match dataset:
        case "hrrr" | "gefs":
            grid = tiny_grid(base.grid)
        case "icon":
            assert isinstance(base.grid, RegularLatLonGrid)
            grid = base.grid.model_copy(update={"nlat": nlat, "nlon": nlon})
        case "ifs":  # ECMWF's longitudes run from 180°W
            grid = tiny_grid(base.grid).model_copy(
                update={"lon_first": -180, "lon_last": 180 - 360 / nlon}
            )
    return first_leads(base.model_copy(update={"grid": grid}), leads)


def first_leads(spec: DatasetSpec, leads: int | None) -> DatasetSpec:
    """``spec`` with its first ``leads`` leads only; ``spec`` itself for None or every lead."""
    if leads is None or leads >= len(spec.lead_hours):
        return spec
    segments = tuple(
        LeadTimeSegment(start_hours=hours, stop_hours=hours, step_hours=1)
        for hours in spec.lead_hours[:leads]
    )
    return spec.model_copy(update={"lead_times": LeadTimeSchedule(segments=segments)})


# ----------------------------------------------------------------------------------------------
# Templates: encoded once in a spawned child, cached


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


def _render_ifs_control(lead_hours: tuple[int, ...]) -> list[EcmwfFile]:
    """Each step's file of the control alone (every field of the ENS list)."""
    config = EcmwfArchiveConfig(
        init_times=(INIT,), lead_hours=lead_hours, members=(0,), grid=TINY_GRID
    )
    return [render_ecmwf_file(config, INIT, step) for step in lead_hours]


def _render_icon(lead_hours: tuple[int, ...]) -> list[IconTemplate]:
    """Every ICON-EU field of every lead of :data:`ICON_INIT`, uncompressed."""
    return [
        (field, lead, encode_icon_message(field, ICON_INIT, lead, TINY_GRID, packing=ICON_PACKING))
        for lead in lead_hours
        for field in every_field()
    ]


def template_files[T](
    dataset: Dataset, spec: DatasetSpec, render: Callable[[tuple[int, ...]], list[T]]
) -> list[T]:
    """Every object of one init as ``render`` encodes it for ``spec``'s leads (GEFS: the
    control's files; IFS: the control's file of each step; ICON: each object's message),
    encoded once in a spawned child and cached under a digest of the encoder's sources."""
    started = time.perf_counter()
    init = INITS[dataset]
    digest = hashlib.sha256(repr((dataset, TINY_GRID, spec.lead_hours, init)).encode())
    package = Path(vidx_offline.__file__).parent
    inventories = sorted(package.glob("inventories/*.idx")) if dataset in ("gefs", "hrrr") else []
    for path in [*(package / name for name in OFFLINE_SOURCES[dataset]), *inventories]:
        digest.update(path.read_bytes())
    path = CACHE_DIR / f"{dataset}-{digest.hexdigest()[:16]}.pickle"
    if not path.exists():
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            files = pool.submit(render, spec.lead_hours).result()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".partial").write_bytes(pickle.dumps(files))
        path.with_suffix(".partial").replace(path)
    loaded: list[T] = pickle.loads(path.read_bytes())
    print(f"template files: {len(loaded)} ({time.perf_counter() - started:.1f}s)", flush=True)
    return loaded


# ----------------------------------------------------------------------------------------------
# Publication


def publish_noaa(
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


def ifs_files(spec: DatasetSpec, templates: list[EcmwfFile]) -> Iterator[EcmwfFile]:
    """Each step's object for every member of ``spec``, laid out by the offline archive, every
    member's message of a field being the control's bytes (see the module docstring)."""
    assert spec.ensemble is not None
    config = EcmwfArchiveConfig(
        init_times=(INIT,),
        lead_hours=spec.lead_hours,
        members=spec.ensemble.members,
        grid=TINY_GRID,
    )
    for template in templates:
        yield assemble_ecmwf_file(config, INIT, template.lead_hours, _control_bytes(template))


def _control_bytes(template: EcmwfFile) -> Callable[[int, EnsField], bytes]:
    """Any member's message of a field: the control's message of it in ``template``."""
    control = {m.field: template.data[m.offset : m.offset + m.length] for m in template.messages}
    return lambda _member, field: control[field]


def publish_ifs(store: S3Store, spec: DatasetSpec, templates: list[EcmwfFile]) -> tuple[int, int]:
    """Every step's data object and ``.index``, :data:`IFS_PUBLISH_STEPS` steps at a time.
    Returns (files, messages)."""
    files = messages = 0
    batch: list[tuple[str, bytes]] = []
    for file in ifs_files(spec, templates):
        batch += [(file.data_key, file.data), (file.index_key, file.index_text.encode())]
        files += 1
        messages += len(file.messages)
        if files % IFS_PUBLISH_STEPS == 0 or files == len(templates):
            asyncio.run(_put_all(store, batch))
            batch = []
    return files, messages


def publish_icon(root: Path, templates: list[IconTemplate]) -> tuple[int, int]:
    """Every object bz2-compressed at DWD's key under ``root``, modified at the init + 3 h.
    Returns (files, bytes)."""
    mtime = (ICON_INIT + dt.timedelta(hours=3)).timestamp()
    sizes = [
        write_icon_file(root, field, ICON_INIT, lead, grib, mtime=mtime).size
        for field, lead, grib in templates
    ]
    return len(sizes), sum(sizes)


# ----------------------------------------------------------------------------------------------
# Runs


def _check(result: IngestResult, files: int, refs: int) -> None:
    """Exit, printing ``result``, unless every file and ref is in and no field is missing."""
    if result.files_ingested != files or result.refs_written != refs or result.missing:
        raise SystemExit(f"incomplete ingest: {result}")


def run_s3(
    dataset: Dataset, spec: DatasetSpec, publish: Callable[[S3Store], tuple[int, int]]
) -> dict[str, object]:
    """``publish`` (returning files and messages) on the loopback S3 API, ingest, then the raw
    GETs; the dataset's figures."""
    settings = IngestSettings()
    init = INITS[dataset]
    with running_s3_server() as s3, tempfile.TemporaryDirectory() as workdir:
        bucket = spec.source.s3.bucket
        s3.create_bucket(bucket, public_read=True)
        producer = s3.store(bucket)
        t0 = time.perf_counter()
        files, messages = publish(producer)
        print(f"published {files} files, {messages} messages ({time.perf_counter() - t0:.1f}s)")
        repository = open_repository(
            spec, RepositorySettings(local_root=workdir), source_endpoint=s3.endpoint
        )
        store = open_source_store(spec.source.store, s3.endpoint)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        result = ingest_partition(spec, repository, store, init, settings)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        _check(result, files, messages)
        expected = expected_files(spec, init)
        keys = [f.index_key for f in expected if f.index_key is not None]
        source = s3.store(bucket)
        concurrency = settings.max_concurrent_requests
        t0 = time.perf_counter()
        asyncio.run(_raw_get(source, keys, [], concurrency))
        index_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        asyncio.run(_raw_get(source, keys, [f.data_key for f in expected], concurrency))
        with_probes = time.perf_counter() - t0
        on_disk = sum(_repository_bytes(Path(repository.location)).values())
    files_per_second = files / seconds
    ratio = files_per_second / (files / index_only)
    figures: dict[str, object] = {
        "dataset": spec.dataset_id,
        "leads": len(spec.lead_hours),
        "files": files,
        "refs": messages,
        "seconds_per_init": round(seconds, 2),
        "cpu_seconds_per_init": round(cpu, 2),
        "refs_per_second": round(messages / seconds),
        "files_per_second": round(files_per_second, 1),
        "raw_get_per_second": round(files / index_only, 1),
        "raw_get_with_probes_per_second": round(files / with_probes, 1),
        "ratio_to_raw_get": round(ratio, 3),
        "ratio_to_raw_get_with_probe": round(files_per_second / (files / with_probes), 3),
        "bytes_per_ref": round(on_disk / messages, 2),
        "peak_rss_mb": round(_rss_mb()),
    }
    full = len(spec.lead_hours) == len(get_dataset(spec.dataset_id).lead_hours)
    figures["targets_met"] = {
        "seconds_per_init": seconds <= TARGET_SECONDS[dataset] if full else None,
        "ratio_to_raw_get": ratio >= TARGET_RATIO_TO_RAW_GET,
    }
    return figures


def run_icon(spec: DatasetSpec, templates: list[IconTemplate]) -> dict[str, object]:
    """Publish in DWD's tree behind the loopback HTTP server, mirror + ingest (timed together),
    then the raw GETs of the same objects; ICON-EU's figures."""
    settings = IngestSettings()
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_http_server(Path(workdir) / "opendata") as http,
    ):
        t0 = time.perf_counter()
        files, object_bytes = publish_icon(http.root, templates)
        print(f"published {files} files, {object_bytes} bytes ({time.perf_counter() - t0:.1f}s)")
        dwd = spec.model_copy(
            update={
                "source": spec.source.model_copy(
                    update={"store": HttpStoreSpec(base_url=http.base_url)}
                )
            }
        )
        mirror = LocalStoreSpec(root=str(Path(workdir) / "mirror"))
        mirrored = mirrored_spec(dwd, mirror)
        repository = open_repository(
            mirrored, RepositorySettings(local_root=str(Path(workdir) / "repos"))
        )
        producer = open_source_store(dwd.source.store)
        mirror_store = open_source_store(mirror)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        copied = mirror_partition(dwd, producer, mirror_store, mirrored, ICON_INIT)
        mirror_seconds = time.perf_counter() - t0
        result = ingest_partition(mirrored, repository, mirror_store, ICON_INIT, settings)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        if len(copied.copied) != files or copied.bytes_copied != object_bytes:
            raise SystemExit(f"incomplete mirror: {copied}")
        _check(result, files, files)
        keys = [f.data_key for f in expected_files(dwd, ICON_INIT)]
        t0 = time.perf_counter()
        raw_bytes = asyncio.run(_raw_get(producer, keys, [], settings.max_concurrent_requests))
        raw_seconds = time.perf_counter() - t0
        assert raw_bytes == object_bytes, (raw_bytes, object_bytes)
        on_disk = sum(_repository_bytes(Path(repository.location)).values())
    mb_per_second = object_bytes / MB / seconds
    raw_mb_per_second = object_bytes / MB / raw_seconds
    ratio = mb_per_second / raw_mb_per_second
    return {
        "dataset": spec.dataset_id,
        "leads": len(spec.lead_hours),
        "files": files,
        "refs": result.refs_written,
        "object_bytes": object_bytes,
        "seconds_per_init": round(seconds, 2),
        "mirror_seconds": round(mirror_seconds, 2),
        "ingest_seconds": round(seconds - mirror_seconds, 2),
        "cpu_seconds_per_init": round(cpu, 2),
        "commits": result.commits,
        "files_per_second": round(files / seconds, 1),
        "mb_per_second": round(mb_per_second, 3),
        "raw_get_seconds": round(raw_seconds, 2),
        "raw_get_files_per_second": round(files / raw_seconds, 1),
        "raw_get_mb_per_second": round(raw_mb_per_second, 3),
        "ratio_to_raw_get": round(ratio, 3),
        "bytes_per_ref": round(on_disk / result.refs_written, 2),
        "peak_rss_mb": round(_rss_mb()),
        "targets_met": {"ratio_to_raw_get": ratio >= TARGET_RATIO_TO_RAW_GET},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=get_args(Dataset), default="gefs")
    parser.add_argument(
        "--leads",
        type=int,
        default=None,
        help="the first N leads only (a smoke run; default: every lead of the init)",
    )
    args = parser.parse_args()
    dataset: Dataset = args.dataset
    spec = tiny_spec(dataset, args.leads)
    match dataset:
        case "gefs":
            gefs = template_files(dataset, spec, _render_control)
            figures = run_s3(dataset, spec, lambda store: publish_noaa(store, spec, gefs))
        case "hrrr":
            hrrr = template_files(dataset, spec, _render_hrrr)
            figures = run_s3(dataset, spec, lambda store: publish_noaa(store, spec, hrrr))
        case "ifs":
            ifs = template_files(dataset, spec, _render_ifs_control)
            figures = run_s3(dataset, spec, lambda store: publish_ifs(store, spec, ifs))
        case "icon":
            figures = run_icon(spec, template_files(dataset, spec, _render_icon))
    for name, value in figures.items():
        print(f"{name:>30}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
