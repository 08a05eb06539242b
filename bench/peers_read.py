"""The read path of the peers benchmark (:mod:`bench.peers`): one realistic chunk read through
each tool's dataset, beside the same bytes decoded directly.

Run in a spawned child: each tool builds its dataset of the read file (one 0.25° message) as
in :mod:`bench.peers_build`, then the chunk is read ``repeats`` times after one warm-up read
(median milliseconds): through ours (Icechunk session, zarr, gribberish codec), kerchunk's
``scan_grib`` references (fsspec reference filesystem over HTTP, zarr v2, kerchunk's ecCodes
codec) and VirtualiZarr's Icechunk store (gribberish codec); and directly: one obstore range GET
of the message (the pipeline's anonymous source store) then ``gribberish.parse_grib_array``, or
ecCodes, and each decoder alone on bytes in memory. Every read is checked against ecCodes'
decode of the message.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.peers_build import (
    BuildJob,
    BuildOutcome,
    build_ours,
    build_virtualizarr,
    http_url,
    quiet,
)

WARM_UP = 1
ONE_REQUEST = 64 * 1024 * 1024


def _median_ms(read: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    values = read()
    for _ in range(WARM_UP - 1):
        read()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        values = read()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3), values


def read_path(job: BuildJob, offset: int, length: int, repeats: int) -> dict[str, Any]:
    """Median milliseconds of one chunk read every way (see the module docstring)."""
    import obstore
    from gribberish import parse_grib_array

    from vidx_offline.reference_decode import eccodes_decode
    from vidx_pipeline.datasets import get_dataset
    from vidx_pipeline.source_store import open_source_store

    quiet()
    spec = get_dataset("noaa-gfs-forecast")
    (key,) = job.keys
    source = open_source_store(spec.source.store, job.endpoint)
    message = bytes(obstore.get_range(source, key, start=offset, length=length))
    reference = eccodes_decode(message)
    results: dict[str, Any] = {
        "chunk": f"{reference.shape[0]} x {reference.shape[1]} float64, one {length}-byte "
        "message (complex packing, spatial differencing)",
        "repeats": repeats,
    }
    agree: dict[str, bool] = {}
    failures: dict[str, str] = {}

    def measure(name: str, read: Callable[[], np.ndarray]) -> None:
        try:
            results[f"{name}_ms"], values = _median_ms(read, repeats)
        except Exception as error:  # a peer that cannot read is reported, not raised
            failures[name] = f"{type(error).__name__}: {error}"[:300]
            return
        values = np.asarray(values, dtype="float64").reshape(reference.shape)
        agree[name] = bool(np.allclose(values, reference, equal_nan=True, rtol=1e-6))

    def get() -> bytes:
        return bytes(obstore.get_range(source, key, start=offset, length=length))

    measure("gribberish_decode", lambda: parse_grib_array(message, 0))
    measure("gribberish_get_decode", lambda: parse_grib_array(get(), 0))
    measure("eccodes_decode", lambda: eccodes_decode(message))
    measure("eccodes_get_decode", lambda: eccodes_decode(get()))
    for name, opener in (
        ("ours_icechunk", _ours_reader),
        ("ours_icechunk_one_request", _ours_one_request_reader),
        ("kerchunk_scan_grib", _kerchunk_reader),
        ("virtualizarr_icechunk", _virtualizarr_reader),
    ):
        try:
            read = opener(job, spec)
        except Exception as error:
            failures[name] = f"build: {type(error).__name__}: {error}"[:300]
            continue
        measure(name, read)
    results["values_agree"] = agree
    results["failures"] = failures
    return results


def _ours_reader(job: BuildJob, spec: Any) -> Callable[[], np.ndarray]:
    import zarr

    reopen = build_ours(job, BuildOutcome(peer="ours", files=1))
    array = zarr.open_array(reopen(job.endpoint).store, path="temperature_2m", mode="r")
    position = spec.append_dimension.index_of(job.init)
    return lambda: np.asarray(array[position, 0])


def _ours_one_request_reader(job: BuildJob, spec: Any) -> Callable[[], np.ndarray]:
    """Ours (built above), reopened with Icechunk's storage concurrency set to fetch a chunk
    in one request: by default it splits a virtual chunk of a few hundred kB into several
    range GETs, each a request the S3 API serves (a diagnostic, not the pipeline's config)."""
    import icechunk
    import zarr

    from vidx_pipeline.repository import RepositorySettings, reader_credentials, repository_config

    config = repository_config(spec, job.endpoint)
    config.storage = icechunk.StorageSettings(
        concurrency=icechunk.StorageConcurrencySettings(
            max_concurrent_requests_for_object=1, ideal_concurrent_request_size=ONE_REQUEST
        )
    )
    storage = RepositorySettings(local_root=job.workdir).storage(spec.dataset_id)
    repo = icechunk.Repository.open(
        storage, config=config, authorize_virtual_chunk_access=reader_credentials(spec)
    )
    store = repo.readonly_session(branch="main").store
    array = zarr.open_array(store, path="temperature_2m", mode="r")
    position = spec.append_dimension.index_of(job.init)
    return lambda: np.asarray(array[position, 0])


def _kerchunk_reader(job: BuildJob, spec: Any) -> Callable[[], np.ndarray]:
    import zarr
    from kerchunk.grib2 import scan_grib
    from kerchunk.utils import refs_as_store

    (refs,) = scan_grib(http_url(job.endpoint, job.keys[0]))
    store = refs_as_store(refs, read_only=True, remote_protocol="http")
    name = next(
        key.split("/")[0]
        for key, value in refs["refs"].items()
        if isinstance(value, list) and len(value) == 3
    )
    array = zarr.open_array(store, path=name, mode="r", zarr_format=2)
    return lambda: np.asarray(array[...])


def _virtualizarr_reader(job: BuildJob, spec: Any) -> Callable[[], np.ndarray]:
    import xarray as xr
    import zarr

    reopen = build_virtualizarr(job, BuildOutcome(peer="virtualizarr", files=1))
    store = reopen(job.endpoint).store
    tree = xr.open_datatree(store, engine="zarr", consolidated=False, zarr_format=3)
    path = next(
        f"{node.path.rstrip('/')}/{name}".lstrip("/")
        for node in tree.subtree
        for name in node.dataset.data_vars
        if node.dataset[name].ndim >= 2
    )
    array = zarr.open_array(store, path=path, mode="r")
    index = (0,) * (array.ndim - 2)
    return lambda: np.asarray(array[index])
