"""Ingest benchmark: N init times of a full-size GFS-layout archive from the local S3 API.

Every file has NCEP's full inventory (about 700 ``.idx`` lines) and there are 209 leads per init,
as in production. Ingest speed depends on the index text and the objects' sizes, not on the grid,
so messages are encoded on a tiny grid; the first init's GRIB files are encoded with ecCodes and
reused for later inits, whose ``.idx`` files are rewritten with their own date (the pipeline
checks it against the path).

Prints figures as it goes and ends with one JSON line. Targets: one full init in <= 3 s; >= 0.5x
the raw GET rate of the same index objects; <= 16 bytes per ref on disk; commit of the last init
<= 1.5x the first; peak RSS <= 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import obstore
from obstore.store import S3Store

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.ingest import ingest_partition
from vidx_pipeline.offline.gfs_archive import GfsArchiveConfig, render_gfs_file
from vidx_pipeline.offline.s3_server import running_s3_server
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store

FIRST_INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
TINY_GRID = (3, 4)
RAW_GET_EVERY = 5
TARGETS = {
    "seconds_per_init_max": 3.0,
    "ratio_to_raw_get_min": 0.5,
    "bytes_per_ref_max": 16.0,
    "commit_growth_max": 1.5,
    "peak_rss_mb_max": 500.0,
}


async def _put_all(store: S3Store, objects: list[tuple[str, bytes]]) -> None:
    semaphore = asyncio.Semaphore(32)

    async def put(key: str, data: bytes) -> None:
        async with semaphore:
            await obstore.put_async(store, key, data)

    await asyncio.gather(*(put(k, d) for k, d in objects))


async def _get_all(store: S3Store, keys: list[str], concurrency: int) -> int:
    semaphore = asyncio.Semaphore(concurrency)

    async def get(key: str) -> int:
        async with semaphore:
            result = await obstore.get_async(store, key)
            return len(await result.bytes_async())

    return sum(await asyncio.gather(*(get(k) for k in keys)))


def _render_template(
    config: GfsArchiveConfig, lead_hours: tuple[int, ...]
) -> tuple[list[tuple[bytes, str]], int]:
    """(data, index text) of every lead of the first init, and the message count."""
    template = []
    lines = 0
    for lead in lead_hours:
        file = render_gfs_file(config, FIRST_INIT, lead)
        template.append((file.data, file.index_text))
        lines += len(file.messages)
    return template, lines


def _repository_bytes(path: Path) -> tuple[int, dict[str, int]]:
    """Bytes of the repository on disk, in all and by kind (manifests, snapshots, ...)."""
    by_kind: dict[str, int] = {}
    for file in path.rglob("*"):
        if file.is_file():
            kind = file.relative_to(path).parts[0]
            by_kind[kind] = by_kind.get(kind, 0) + file.stat().st_size
    return sum(by_kind.values()), by_kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inits", type=int, default=100, help="init times to ingest")
    args = parser.parse_args()

    spec = get_dataset("noaa-gfs-forecast")
    bucket = spec.source.store.bucket
    inits = [FIRST_INIT + i * spec.append_dimension.frequency for i in range(args.inits)]
    config = GfsArchiveConfig(init_times=(FIRST_INIT,), lead_hours=spec.lead_hours, grid=TINY_GRID)

    t0 = time.perf_counter()
    # Encoded in a child process: the encoder's memory is not the pipeline's peak RSS.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        template, lines = pool.submit(_render_template, config, spec.lead_hours).result()
    print(
        f"encoded {lines} messages for one init in {time.perf_counter() - t0:.1f}s "
        f"({lines / len(template):.0f} index lines per file)",
        flush=True,
    )

    with running_s3_server() as s3, tempfile.TemporaryDirectory() as tmp:
        s3.create_bucket(bucket, public_read=True)
        writer = s3.store(bucket)
        repo = open_repository(
            spec, RepositorySettings(local_root=tmp), source_endpoint=s3.endpoint
        )
        source = open_source_store(spec.source.store, s3.endpoint)
        per_init: list[float] = []
        raw_get_seconds: list[float] = []
        raw_get_files = 0
        commits: list[float] = []
        refs = 0
        files = 0
        first_date = f"d={FIRST_INIT:%Y%m%d%H}"
        for number, init in enumerate(inits):
            objects: list[tuple[str, bytes]] = []
            for (data, text), expected in zip(template, expected_files(spec, init), strict=True):
                index_text = text.replace(first_date, f"d={init:%Y%m%d%H}")
                assert expected.index_key is not None
                objects.append((expected.data_key, data))
                objects.append((expected.index_key, index_text.encode()))
            asyncio.run(_put_all(writer, objects))
            result = ingest_partition(spec, repo, source, init)
            if number == 0:
                bytes_after_first, _ = _repository_bytes(Path(repo.location))
            if result.files_ingested != len(template) or result.missing:
                print(
                    f"init {init}: ingested {result.files_ingested} files, "
                    f"missing {len(result.missing)}",
                    file=sys.stderr,
                )
                return 1
            if number % RAW_GET_EVERY == 0:
                # Raw GET rate of the same index objects, same concurrency, same moment.
                keys = [f.index_key for f in expected_files(spec, init) if f.index_key]
                t0 = time.perf_counter()
                asyncio.run(_get_all(source, keys, 64))
                raw_get_seconds.append(time.perf_counter() - t0)
                raw_get_files += len(keys)
            per_init.append(result.seconds)
            commits.append(result.commit_seconds)
            refs += result.refs_written
            if number == 0:
                refs_first = result.refs_written
            files += result.files_ingested
            if number in (0, len(inits) - 1) or (number + 1) % 10 == 0:
                print(
                    f"init {number + 1}/{len(inits)} {init:%Y-%m-%dT%H}: "
                    f"{result.seconds:.2f}s ({result.commit_seconds:.3f}s commit), "
                    f"{result.refs_written} refs",
                    flush=True,
                )

        raw_get_per_second = raw_get_files / sum(raw_get_seconds)

        repo_bytes, by_kind = _repository_bytes(Path(repo.location))
        print(f"bytes on disk by kind: {by_kind}", flush=True)

    ingest_seconds = sum(per_init)
    files_per_second = files / ingest_seconds
    ratio_to_raw_get = files_per_second / raw_get_per_second
    commit_growth = commits[-1] / commits[0]
    bytes_per_ref = repo_bytes / refs
    manifest_bytes_per_ref = by_kind.get("manifests", 0) / refs
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures: dict[str, object] = {
        "inits": len(inits),
        "files_per_init": len(template),
        "index_lines_per_file": round(lines / len(template)),
        "seconds_per_init_mean": round(ingest_seconds / len(inits), 3),
        "seconds_per_init_max": round(max(per_init), 3),
        "files_per_second": round(files_per_second, 1),
        "refs_per_second": round(refs / ingest_seconds, 1),
        "raw_get_per_second": round(raw_get_per_second, 1),
        "ratio_to_raw_get": round(ratio_to_raw_get, 3),
        "commit_seconds_first": round(commits[0], 4),
        "commit_seconds_last": round(commits[-1], 4),
        "commit_growth": round(commit_growth, 3),
        "refs": refs,
        "bytes_per_ref": round(bytes_per_ref, 2),
        # Excluding the template and the first init's growth of init_time from the archive start.
        "bytes_per_ref_marginal": round((repo_bytes - bytes_after_first) / (refs - refs_first), 2),
        "manifest_bytes_per_ref": round(manifest_bytes_per_ref, 2),
        "bytes_by_kind": by_kind,
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    figures["targets_met"] = {
        "seconds_per_init": max(per_init) <= TARGETS["seconds_per_init_max"],
        "ratio_to_raw_get": ratio_to_raw_get >= TARGETS["ratio_to_raw_get_min"],
        "bytes_per_ref": bytes_per_ref <= TARGETS["bytes_per_ref_max"],
        "commit_growth": commit_growth <= TARGETS["commit_growth_max"],
        "peak_rss": peak_rss_mb <= TARGETS["peak_rss_mb_max"],
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
