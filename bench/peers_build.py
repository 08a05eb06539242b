"""How each tool of the peers benchmark (:mod:`bench.peers`) builds the virtual dataset, and
how its refs are read back for the comparison with the ground truth.

Each build runs in a spawned child of its own (:func:`run_build`): the tool's imports are done
before the clock starts, then the build alone is timed (wall, and the child's CPU from
``getrusage``: every thread), its peak RSS read (``VmHWM``, the child's whole life: the
tool's imports included), and only then are its refs read back (untimed).

- ``ours``: :func:`~vidx_pipeline.ingest.ingest_partition` of the init (index GET, header
  probe, parse, place, one commit) into a local Icechunk repository.
- ``kerchunk_scan``: ``scan_grib`` of every file (fsspec's HTTP filesystem on the loopback
  S3 API's path-style URLs, anonymous), combined with ``grib_tree`` (kerchunk's documented
  combination of a GRIB file's messages: one ``MultiZarrToZarr`` per variable, step type
  and level type).
- ``kerchunk_index``: the index route: one ``build_idx_grib_mapping`` per lead from another
  init's file (one-time cost, timed apart) and a deflated ``grib_tree`` of two such files
  (``strip_datavar_chunks``); then per file ``parse_grib_idx`` + ``map_from_index``, and
  ``reinflate_grib_store`` (run-time aggregation).
- ``virtualizarr``: ``open_virtual_datatree`` with gribberish's ``GribberishParser``
  (``use_index=".idx"``: the index locates the messages, headers by range GETs), each file
  written with ``to_icechunk`` (the first one creates the groups, every other one
  ``append_dim="time"``), one commit.

Refs are read back as the dataset presents them: kerchunk's from its reference dict (url,
offset, length), Icechunk's (ours, VirtualiZarr's) by listing every chunk, keeping the virtual
ones and reading their bytes through the store (Icechunk does not expose a ref's offset), with
each chunk's labels from the coordinates xarray decodes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.peers_truth import PlacedRef, digest

BUCKET = "noaa-gfs-bdp-pds"
SCAN_INLINE_THRESHOLD = 20
"""``scan_grib`` inlines arrays under ``inline_threshold`` bytes (default 100): on the tiny
grid a message's 12 values (96 bytes) would be inlined, not referenced. 20 bytes keeps the
scalar coordinates inline and references every message, as the default does on a real grid."""
MERGE_INLINE_THRESHOLD = 0
"""``MultiZarrToZarr`` (inside ``grib_tree``) copies referenced chunks under its
``inline_threshold`` (500 bytes) into the references, fetching each: every tiny-grid message
(~240 bytes) would be, no real one ever is. The benchmark sets it to 0 (see
:func:`_no_merge_inlining`)."""
SPATIAL = 2
READ_CONCURRENCY = 32


@dataclass(frozen=True)
class BuildJob:
    """What a build is given: the loopback S3 API, the init and its files (data keys, leads),
    the other init's files the index route maps from, and a work directory."""

    endpoint: str
    init: dt.datetime
    keys: tuple[str, ...]
    leads: tuple[int, ...]
    workdir: str
    mapping_keys: tuple[str, ...] = ()
    dataset: str = "tiny"  # "tiny": the benchmark's tiny-grid GFS spec; "real": the 0.25° spec


@dataclass
class BuildOutcome:
    """What a build measured and the refs it placed (``status``: ok or failed, with why)."""

    peer: str
    files: int
    status: str = "ok"
    reason: str | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    stored_bytes: int = 0
    refs: list[PlacedRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    readback_seconds: float = 0.0


class Clock:
    """Wall and CPU (this process, every thread) since it was started."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = _cpu()

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, _cpu() - self.cpu


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    """This process's peak RSS: ``VmHWM``, the high-water mark of its own memory (Linux keeps
    ``ru_maxrss`` across ``exec``, so a spawned child's would start at its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def http_url(endpoint: str, key: str) -> str:
    """The object's path-style URL on the loopback S3 API (anonymous GETs)."""
    return f"{endpoint}/{BUCKET}/{key}"


def _key_of(url: str) -> str:
    return url.split(f"/{BUCKET}/", 1)[1] if f"/{BUCKET}/" in url else url


def _hours(value: Any, init: dt.datetime) -> float | str:
    """A label in hours: a datetime since ``init``, a timedelta; a number or a text (a layer's
    label, e.g. ``90-0``) as it is."""
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) and array.dtype.kind not in "mMb":
        return str(value)
    if np.issubdtype(array.dtype, np.datetime64):
        init64 = np.datetime64(init.replace(tzinfo=None), "s")
        return float((array.astype("datetime64[s]") - init64).astype("int64")) / 3600
    if np.issubdtype(array.dtype, np.timedelta64):
        return float(array.astype("timedelta64[s]").astype("int64")) / 3600
    return float(array)


# ----------------------------------------------------------------------------------------------
# ours


def _tiny_or_real_spec(job: BuildJob) -> Any:
    from bench.archive import tiny_gfs_spec
    from vidx_pipeline.datasets import get_dataset

    return tiny_gfs_spec() if job.dataset == "tiny" else get_dataset("noaa-gfs-forecast")


def build_ours(job: BuildJob, outcome: BuildOutcome) -> Any:
    from vidx_pipeline.ingest import IngestSettings, ingest_partition
    from vidx_pipeline.repository import RepositorySettings, open_repository
    from vidx_pipeline.source_store import open_source_store

    spec = _tiny_or_real_spec(job)
    repo = open_repository(
        spec, RepositorySettings(local_root=job.workdir), source_endpoint=job.endpoint
    )
    source = open_source_store(spec.source.store, job.endpoint)
    before = _tree_bytes(Path(repo.location))  # the empty template
    clock = Clock()
    result = ingest_partition(spec, repo, source, job.init, IngestSettings())
    outcome.phases["build"] = clock.elapsed()
    outcome.stored_bytes = _tree_bytes(Path(repo.location)) - before
    if result.files_ingested != len(job.keys) or result.refused:
        outcome.notes.append(
            f"ingested {result.files_ingested}/{len(job.keys)} files, refused {result.refused[:3]}"
        )

    def reopen(endpoint: str) -> Any:
        settings = RepositorySettings(local_root=job.workdir)
        return open_repository(
            spec, settings, source_endpoint=endpoint, create=False
        ).readonly_session()

    return reopen


def read_ours(job: BuildJob, reopen: Any) -> list[PlacedRef]:
    roles = {"init_time": "init", "lead_time": "lead"}
    return icechunk_refs(job, reopen, roles)


# ----------------------------------------------------------------------------------------------
# Icechunk read-back (ours, VirtualiZarr)


def icechunk_refs(
    job: BuildJob, reopen: Callable[[str], Any], roles: dict[str, str]
) -> list[PlacedRef]:
    """Every virtual chunk of the repository's snapshot, its labels decoded by xarray and the
    digest of the bytes it reads. The bytes are read through a repository reopened on an
    :class:`ObjectServer` holding the job's objects (moto serves a few hundred range GETs a
    second, and reading tens of thousands of refs through it would take minutes)."""
    with ObjectServer(_fetch_objects(job)) as endpoint:
        return _icechunk_refs(reopen(endpoint), roles, job.init)


def _icechunk_refs(session: Any, roles: dict[str, str], init: dt.datetime) -> list[PlacedRef]:
    import icechunk
    import xarray as xr

    store = session.store
    tree = xr.open_datatree(store, engine="zarr", consolidated=False, zarr_format=3)
    labels_of: dict[str, list[tuple[str, str, np.ndarray | None]]] = {}
    for node in tree.subtree:
        for name, variable in node.dataset.data_vars.items():
            path = f"{node.path.rstrip('/')}/{name}".lstrip("/")
            dims = variable.dims[: len(variable.dims) - SPATIAL]
            labels_of[path] = [
                (
                    str(dim),
                    roles.get(str(dim), "level"),
                    node.dataset[dim].values if dim in node.dataset.coords else None,
                )
                for dim in dims
            ]

    async def list_chunks() -> list[str]:
        return [key async for key in store.list_prefix("") if "/c/" in key or key.startswith("c/")]

    placed: list[tuple[str, tuple[int, ...], str]] = []
    for key in asyncio.run(list_chunks()):
        path, _, index_text = key.rpartition("c/")
        path = path.rstrip("/")
        if path not in labels_of:
            continue
        index = tuple(int(i) for i in index_text.split("/"))
        if session.chunk_type(f"/{path}", list(index)) != icechunk.ChunkType.virtual:
            continue
        placed.append((path, index, key))
    contents = asyncio.run(_read_all(store, [key for _, _, key in placed]))
    refs = []
    for (path, index, _), data in zip(placed, contents, strict=True):
        labels = tuple(
            (dim, role, _hours(values[i], init) if values is not None else float(i))
            for (dim, role, values), i in zip(labels_of[path], index, strict=False)
        )
        refs.append(PlacedRef(array=path, labels=labels, length=len(data), digest=digest(data)))
    return refs


async def _read_all(store: Any, keys: list[str]) -> list[bytes]:
    from zarr.core.buffer import default_buffer_prototype

    prototype = default_buffer_prototype()
    limit = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(key: str) -> bytes:
        async with limit:
            buffer = await store.get(key, prototype)
        return buffer.to_bytes() if buffer is not None else b""

    return list(await asyncio.gather(*(read(key) for key in keys)))


def _fetch_objects(job: BuildJob) -> dict[str, bytes]:
    import obstore

    from vidx_offline.s3_server import LocalS3

    store = LocalS3(endpoint=job.endpoint, pid=0).store(BUCKET)
    return {key: obstore.get(store, key).bytes().to_bytes() for key in job.keys}


class ObjectServer:
    """A minimal path-style S3 GET endpoint (``GET /bucket/key`` with a byte range) over
    objects held in memory, on a free loopback port, for reading refs back fast. Conditional
    headers are ignored (the bytes are the producer's)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        import http.server
        import threading

        served = objects

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _object(self) -> bytes | None:
                from urllib.parse import unquote

                path = unquote(self.path.split("?", 1)[0]).lstrip("/")
                return served.get(path.partition("/")[2])

            def _head(self, status: int, length: int, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                self.send_header("ETag", '"bench"')
                self.send_header("Last-Modified", "Mon, 01 Dec 2025 00:00:00 GMT")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()

            def do_HEAD(self) -> None:
                data = self._object()
                self._head(200 if data is not None else 404, len(data or b""), {})

            def do_GET(self) -> None:
                data = self._object()
                if data is None:
                    self._head(404, 0, {})
                    return
                spec = self.headers.get("Range", "")
                if not spec.startswith("bytes="):
                    self._head(200, len(data), {})
                    self.wfile.write(data)
                    return
                first, _, last = spec[len("bytes=") :].partition("-")
                start, end = int(first), int(last) if last else len(data) - 1
                end = min(end, len(data) - 1)
                body = data[start : end + 1]
                self._head(206, len(body), {"Content-Range": f"bytes {start}-{end}/{len(data)}"})
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


# ----------------------------------------------------------------------------------------------
# kerchunk


def _no_merge_inlining() -> None:
    """Make kerchunk reference the tiny grid's messages as it does a real grid's: ``grib_tree``'s
    ``MultiZarrToZarr`` with :data:`MERGE_INLINE_THRESHOLD`, and ``scan_grib`` (also where
    ``build_idx_grib_mapping`` calls it) with :data:`SCAN_INLINE_THRESHOLD` (an inlined 2-D
    array is stored under one chunk key, ``var/0``, which ``MultiZarrToZarr`` cannot index)."""
    import functools

    import kerchunk.grib2
    from kerchunk.combine import MultiZarrToZarr

    kerchunk.grib2.MultiZarrToZarr = functools.partial(
        MultiZarrToZarr, inline_threshold=MERGE_INLINE_THRESHOLD
    )
    scan = getattr(kerchunk.grib2.scan_grib, "func", kerchunk.grib2.scan_grib)
    kerchunk.grib2.scan_grib = functools.partial(scan, inline_threshold=SCAN_INLINE_THRESHOLD)


def build_kerchunk_scan(job: BuildJob, outcome: BuildOutcome) -> Any:
    import ujson

    _no_merge_inlining()
    from kerchunk.grib2 import grib_tree, scan_grib

    clock = Clock()
    messages: list[dict[str, Any]] = []
    for key in job.keys:
        messages += scan_grib(http_url(job.endpoint, key))
    outcome.phases["scan_grib"] = clock.elapsed()
    combine = Clock()
    tree = grib_tree(messages)
    outcome.phases["grib_tree"] = combine.elapsed()
    outcome.phases["build"] = clock.elapsed()
    outcome.stored_bytes = len(ujson.dumps(tree, reject_bytes=False))
    outcome.notes.append(f"scan_grib found {len(messages)} messages")
    return tree


MAPPING_HELPER_FAILURE = (
    "kerchunk's own build_idx_grib_mapping fails here: ValueError: Reference-FS's target "
    "filesystem must have same value of asynchronous (its _extract_single_group opens each "
    "message's references with xarray, which asks fsspec for an asynchronous reference "
    "filesystem, without remote options, over the synchronous HTTP filesystem scan_grib "
    "created); the bench gives that one helper the remote options"
)


def _mapping_helper_with_remote_options() -> None:
    """Replace kerchunk's ``_extract_single_group`` (what ``build_idx_grib_mapping`` runs per
    message) by one that opens the message's references with asynchronous remote options
    (:data:`MAPPING_HELPER_FAILURE`); it is otherwise the same steps: ``grib_tree`` of the
    message, ``extract_datatree_chunk_index``, numbered by the message."""
    import kerchunk._grib_idx as grib_idx

    def extract_single_group(group: dict[str, Any], number: int, options: Any) -> Any:
        import xarray as xr
        from kerchunk.grib2 import grib_tree

        store = grib_tree([group], options)
        if len(store["refs"]) <= 1:
            return None
        tree = xr.open_datatree(
            "reference://",
            engine="zarr",
            consolidated=False,
            storage_options=_reference_options(store),
        )
        index = grib_idx.extract_datatree_chunk_index(tree, store, grib=True)
        if index.empty:
            return None
        index.loc[:, "idx"] = number
        return index

    grib_idx._extract_single_group = extract_single_group


def _reference_options(refs: Any) -> dict[str, Any]:
    return {
        "fo": refs,
        "remote_protocol": "http",
        "remote_options": {"asynchronous": True},
        "asynchronous": True,
    }


def build_kerchunk_index(job: BuildJob, outcome: BuildOutcome) -> Any:
    import pandas as pd
    import ujson

    _no_merge_inlining()
    _mapping_helper_with_remote_options()
    outcome.notes.append(MAPPING_HELPER_FAILURE)
    from kerchunk.grib2 import (
        AggregationType,
        build_idx_grib_mapping,
        grib_tree,
        map_from_index,
        parse_grib_idx,
        reinflate_grib_store,
        scan_grib,
        strip_datavar_chunks,
    )

    if len(job.mapping_keys) != len(job.keys):
        raise ValueError("the index route needs one mapping file per lead")
    # One-time cost: a mapping per lead (horizon), from another init's file, and the deflated
    # store (the hierarchy without data refs) of two of them (lead 0 lacks the statistics).
    clock = Clock()
    mappings = {}
    for lead, key in zip(job.leads, job.mapping_keys, strict=True):
        mapping = build_idx_grib_mapping(http_url(job.endpoint, key))
        # Duplicate idx attrs (GFS's APCP/ACPCP 0-h acc lines at leads 1-6) cannot be merged.
        mappings[lead] = mapping.loc[~mapping["attrs"].duplicated(keep="first"), :]
    samples = sorted({job.mapping_keys[0], job.mapping_keys[-1]})
    scanned = [m for key in samples for m in scan_grib(http_url(job.endpoint, key))]
    deflated = grib_tree(scanned)
    strip_datavar_chunks(deflated)
    outcome.phases["mapping"] = clock.elapsed()

    build = Clock()
    run_time = pd.Timestamp(job.init.replace(tzinfo=None))
    indexes = []
    dropped_duplicates = 0
    for lead, key in zip(job.leads, job.keys, strict=True):
        idxdf = parse_grib_idx(http_url(job.endpoint, key))
        duplicated = idxdf["attrs"].duplicated(keep="first")
        dropped_duplicates += int(duplicated.sum())
        indexes.append(map_from_index(run_time, mappings[lead], idxdf.loc[~duplicated, :]))
    chunk_index = pd.concat(indexes, ignore_index=True)
    # reinflate_grib_store asserts one message per (variable, step type, level type, level,
    # time, step): GFS's running total and 6-hour bucket of a field (APCP 0-7 and 6-7 hour
    # acc) are one cfgrib variable there; only the first is kept, the others are counted
    # missing.
    place = ["varname", "stepType", "typeOfLevel", "level", "time", "step"]
    clashing = chunk_index.duplicated(subset=place, keep="first")
    if clashing.any():
        outcome.notes.append(
            f"{int(clashing.sum())} messages share their place in the reinflated store with "
            "another (running total and bucket of one field) and are dropped (it refuses them)"
        )
        chunk_index = chunk_index.loc[~clashing, :]
    axes = [
        pd.Index([pd.Timedelta(hours=h) for h in job.leads], name="step"),
        pd.DatetimeIndex([run_time], name="time"),
    ]
    store = reinflate_grib_store(axes, AggregationType.RUN_TIME, chunk_index, deflated)
    outcome.phases["build"] = build.elapsed()
    outcome.stored_bytes = len(ujson.dumps(store, reject_bytes=False))
    if dropped_duplicates:
        outcome.notes.append(
            f"{dropped_duplicates} idx lines with duplicate attrs dropped before map_from_index "
            "(it refuses them)"
        )
    return store


def read_kerchunk(job: BuildJob, refs: Any) -> list[PlacedRef]:
    """Every data ref of a kerchunk reference set, its labels from the coordinates xarray
    decodes from the (inlined) coordinate arrays."""
    import xarray as xr

    store = refs["refs"]
    templates = refs.get("templates", {})
    tree = xr.open_datatree(
        "reference://",
        engine="zarr",
        consolidated=False,
        zarr_format=2,
        storage_options=_reference_options(refs),
        decode_timedelta=True,
    )
    roles = {"time": "init", "step": "lead", "valid_time": "valid"}
    placed = []
    for node in tree.subtree:
        for name, variable in node.dataset.data_vars.items():
            path = f"{node.path.rstrip('/')}/{name}".lstrip("/")
            dims = [str(d) for d in variable.dims]
            coords = {d: _coordinate_of(node.dataset, d) for d in dims}
            prefix = f"{path}/"
            for key, value in store.items():
                if not key.startswith(prefix) or not isinstance(value, list) or len(value) != 3:
                    continue
                chunk = key[len(prefix) :]
                if "/" in chunk or chunk.startswith("."):
                    continue
                index = [int(i) for i in chunk.split(".")]
                labels = tuple(
                    (name, roles.get(name, "level"), _label(values, i, job.init))
                    for (name, values), i in zip(
                        (coords[d] for d in dims[: len(dims) - SPATIAL]), index, strict=False
                    )
                )
                url = value[0]
                for name_, template in templates.items():
                    url = url.replace("{{" + name_ + "}}", template)
                placed.append(
                    PlacedRef(
                        array=path,
                        labels=labels,
                        length=int(value[2]),
                        key=_key_of(url),
                        offset=int(value[1]),
                    )
                )
    return placed


def _coordinate_of(dataset: Any, dim: str) -> tuple[str, np.ndarray | None]:
    """The coordinate labelling ``dim``: its own, or the one 1-D coordinate along it (the index
    route's ``run_times`` and ``model_horizons`` are labelled by ``time`` and ``step``)."""
    if dim in dataset.coords:
        return dim, dataset[dim].values
    along = [name for name, c in dataset.coords.items() if c.dims == (dim,)]
    if len(along) == 1:
        return str(along[0]), dataset[along[0]].values
    return dim, None


def _label(values: np.ndarray | None, index: int, init: dt.datetime) -> float | str:
    if values is None:
        return float(index)
    return _hours(values[index] if values.ndim else values, init)


# ----------------------------------------------------------------------------------------------
# VirtualiZarr + gribberish


def _registry(job: BuildJob) -> Any:
    from obspec_utils.registry import ObjectStoreRegistry

    from vidx_offline.s3_server import LocalS3

    # VirtualiZarr reads objects through obstore readers that HEAD them first; moto refuses an
    # unsigned HEAD on a public-read bucket, so the registry signs with the loopback server's
    # dummy keys (what it costs is negligible next to the build).
    store = LocalS3(endpoint=job.endpoint, pid=0).store(BUCKET)
    return ObjectStoreRegistry({f"s3://{BUCKET}/": store})


def _icechunk_repo(job: BuildJob, name: str, endpoint: str | None = None) -> Any:
    """A local Icechunk repository authorized for the producer's bucket on ``endpoint`` (the
    job's: created; another: the existing one reopened with its container there)."""
    import icechunk

    from vidx_pipeline.datasets import get_dataset
    from vidx_pipeline.source_store import container_credentials, virtual_chunk_container

    store_spec = get_dataset("noaa-gfs-forecast").source.store
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(
        virtual_chunk_container(store_spec, endpoint or job.endpoint)
    )
    credentials = icechunk.containers_credentials(
        {store_spec.url_prefix: container_credentials(store_spec)}
    )
    storage = icechunk.local_filesystem_storage(str(Path(job.workdir) / name))
    opener = icechunk.Repository.open if endpoint else icechunk.Repository.create
    return opener(storage, config=config, authorize_virtual_chunk_access=credentials)


def build_virtualizarr(job: BuildJob, outcome: BuildOutcome) -> Any:
    from gribberish.virtualizarr import GribberishParser
    from virtualizarr import open_virtual_datatree

    registry = _registry(job)
    repo = _icechunk_repo(job, "virtualizarr")
    before = _tree_bytes(Path(job.workdir) / "virtualizarr")
    parser = GribberishParser(use_index=".idx")
    clock = Clock()
    session = repo.writable_session("main")
    failures: list[str] = []
    written = 0
    for key in job.keys:
        tree = open_virtual_datatree(f"s3://{BUCKET}/{key}", registry=registry, parser=parser)
        try:
            if written == 0:
                tree.vz.to_icechunk(session.store)
            else:
                tree.vz.to_icechunk(session.store, mode="a", append_dim="time")
            written += 1
        except Exception as error:  # the peer's own failure, reported per file
            what = " ".join(f"{type(error).__name__}: {error}".split())
            failures.append(f"{key.rsplit('.', 1)[-1]}: {what}"[:400])
    session.commit("virtualizarr build")
    outcome.phases["build"] = clock.elapsed()
    outcome.stored_bytes = _tree_bytes(Path(job.workdir) / "virtualizarr") - before
    if failures:
        outcome.notes.append(f"{len(failures)} of {len(job.keys)} files not written: {failures[0]}")
        if written == 0:
            raise RuntimeError(failures[0])

    def reopen(endpoint: str) -> Any:
        return _icechunk_repo(job, "virtualizarr", endpoint).readonly_session(branch="main")

    return reopen


def read_virtualizarr(job: BuildJob, reopen: Any) -> list[PlacedRef]:
    return icechunk_refs(job, reopen, {"time": "valid", "step": "lead"})


# ----------------------------------------------------------------------------------------------
# The child process


Builder = Callable[[BuildJob, BuildOutcome], Any]
Reader = Callable[[BuildJob, Any], list[PlacedRef]]
BUILDS: dict[str, tuple[Builder, Reader]] = {
    "ours": (build_ours, read_ours),
    "kerchunk_scan": (build_kerchunk_scan, read_kerchunk),
    "kerchunk_index": (build_kerchunk_index, read_kerchunk),
    "virtualizarr": (build_virtualizarr, read_virtualizarr),
}
IMPORTS = {
    "ours": ("vidx_pipeline.ingest", "icechunk", "xarray"),
    "kerchunk_scan": ("kerchunk.grib2", "cfgrib", "eccodes", "xarray"),
    "kerchunk_index": ("kerchunk.grib2", "cfgrib", "eccodes", "pandas", "xarray"),
    "virtualizarr": ("virtualizarr", "gribberish.virtualizarr", "icechunk", "xarray"),
}


def quiet() -> None:
    """No warnings or log lines from the tools (Icechunk's Rust logs go to stdout)."""
    import logging
    import warnings

    import icechunk

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    icechunk.set_logs_filter("error")


def run_build(peer: str, job: BuildJob, read_back: bool = True) -> BuildOutcome:
    """Build with ``peer`` (in this, a spawned child) and read its refs back; a peer that
    fails is reported with the reason, never raised."""
    import importlib

    quiet()
    outcome = BuildOutcome(peer=peer, files=len(job.keys))
    build, read = BUILDS[peer]
    try:
        for module in IMPORTS[peer]:
            importlib.import_module(module)
        built = build(job, outcome)
    except Exception as error:
        outcome.status = "failed"
        outcome.reason = f"{type(error).__name__}: {error}"[:500]
        outcome.notes.append(traceback.format_exc(limit=3)[-800:])
        outcome.peak_rss_mb = _rss_mb()
        return outcome
    outcome.wall_seconds, outcome.cpu_seconds = outcome.phases["build"]
    outcome.peak_rss_mb = _rss_mb()
    if read_back:
        clock = Clock()
        try:
            outcome.refs = read(job, built)
        except Exception as error:
            outcome.status = "failed"
            outcome.reason = f"refs unreadable: {type(error).__name__}: {error}"[:500]
        outcome.readback_seconds = clock.elapsed()[0]
    return outcome
