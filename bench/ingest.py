"""Ingest benchmark: N init times of the GFS archive, every variable, from the local S3 API.

Every file has NCEP's whole inventory (~743 ``.idx`` lines, the real spec's ~200 variables on
their level dimensions) and there are 209 leads per init, as in production (~155k refs per
init). Ingest speed depends on the index text, the number of objects and their keys, not on the
grid, so messages are encoded on a tiny grid (:mod:`bench.archive`): one init is encoded once
and every init is the same bytes with its dates rewritten (index ``d=``, GRIB reference time).
A child process writes each init's objects to the loopback S3 API before it is ingested and
deletes them after (the pipeline never reads an ingested init's source objects again), so
neither the archive nor its writer counts in this process's peak RSS.

Each init is one backfill ``ingest_partition`` (list, index GET + header probe per file, parse,
place, one commit), timed whole, from the archive's start on as a backfill would. Every
``--raw-get-every`` inits the same index objects are fetched right after the ingest with bare
obstore GETs at the pipeline's concurrency, alone and with the header probe's range GET of every
data object, for the rate the pipeline is compared with.

Prints figures as it goes and ends with one JSON line. Targets: one full init in <= 3 s;
>= 0.5x the raw GET rate of the same index objects; <= 16 bytes per ref on disk, every ref with
its checksum; the last inits' commits <= 1.5x the first ones' (medians of 5, icechunk's commit);
peak RSS <= 500 MB. The targets are stated over 100 inits (``--inits 100``, ~10 min on two idle
cores); the default run is shorter.

``--commit-per-file`` commits each file on its own, as operational runs do (they commit what each
poll finds: about one file), through the run's own knob (``max_files_per_commit=1``); the speed
targets are then not judged (files are fetched one at a time). ``--maintain`` then runs
:func:`vidx_pipeline.maintenance.maintain` on the repository as the daily maintenance job would
``MIN_KEEP_MINUTES`` + 1 minutes after the last commit, expiring every snapshot but the tip and
the tagged ones (the guard itself is not lowered: maintenance is given that later clock, which it
takes as a parameter, and nothing writes meanwhile), and reports bytes per ref on disk before and
after, by kind, with the growth per init of each kind and the figures projected to
``--project-inits`` inits (default 100) from it. Target (issue 11): <= 16 bytes per ref after
maintenance, every ref with its checksum, for 100 inits written one commit per file.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/ingest.py): import from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import bisect
import cProfile
import datetime as dt
import json
import multiprocessing
import os
import pstats
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import icechunk
import numpy as np
import obstore
import zarr
from obstore.store import ObjectStore, S3Store

from bench.archive import Redater, encode_template, template_files, tiny_gfs_spec
from vidx_offline.gfs_archive import gfs_data_key, gfs_index_key
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.grib_header import HEADER_PROBE_BYTES
from vidx_pipeline.ingest import IngestSettings, ingest_partition, utc_now
from vidx_pipeline.maintenance import MIN_KEEP_MINUTES, MaintenanceSettings, maintain
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store

TARGETS = {
    "seconds_per_init_max": 3.0,
    "ratio_to_raw_get_min": 0.5,
    "bytes_per_ref_max": 16.0,
    "commit_growth_max": 1.5,
    "peak_rss_mb_max": 500.0,
}
GROWTH_SAMPLE = 5
"""Commit growth compares the medians of the first and the last this many inits."""
MAINTENANCE_DELAY = dt.timedelta(minutes=MIN_KEEP_MINUTES + 1)
"""``--maintain`` runs maintenance as it would run this long after the last commit."""

# ----------------------------------------------------------------------------------------------
# The archive writer (child process)

_WRITER: tuple[S3Store, Redater] | None = None


def _start_writer(s3: LocalS3, bucket: str) -> None:
    global _WRITER
    _WRITER = (s3.store(bucket), Redater(template_files(tiny_gfs_spec())))


def _writer() -> tuple[S3Store, Redater]:
    assert _WRITER is not None, "not a writer process"
    return _WRITER


async def _put_all(store: S3Store, objects: list[tuple[str, bytes]]) -> None:
    semaphore = asyncio.Semaphore(32)

    async def put(key: str, data: bytes) -> None:
        async with semaphore:
            await obstore.put_async(store, key, data)

    await asyncio.gather(*(put(k, d) for k, d in objects))


def publish_init(init: dt.datetime) -> None:
    """Write every file of ``init``: data objects, then indexes."""
    store, redater = _writer()
    files = redater.files(init)
    asyncio.run(_put_all(store, [(f.data_key, f.data) for f in files]))
    asyncio.run(_put_all(store, [(f.index_key, f.index_text.encode()) for f in files]))


def delete_init(init: dt.datetime) -> None:
    store, redater = _writer()
    leads = [f.lead_hours for f in redater.template]
    obstore.delete(store, [k(init, lead) for lead in leads for k in (gfs_data_key, gfs_index_key)])


def template_shape() -> tuple[int, int]:
    """(files, messages) of one init."""
    _, redater = _writer()
    return len(redater.template), sum(len(f.messages) for f in redater.template)


# ----------------------------------------------------------------------------------------------
# Measurements (this process)


@dataclass
class TimedRepository(DatasetRepository):
    """The repository, with the duration of each icechunk commit recorded."""

    commit_seconds: list[float] = field(default_factory=list)

    def commit(self, session: icechunk.Session, message: str, metadata: dict[str, object]) -> str:
        started = time.perf_counter()
        snapshot = super().commit(session, message, metadata)
        self.commit_seconds.append(time.perf_counter() - started)
        return snapshot


async def _raw_get(store: ObjectStore, keys: list[str], ranges: list[str], concurrency: int) -> int:
    """GET every key whole, and for every ``ranges`` key the two small range GETs the
    pipeline's probes make (its first bytes, and 16 bytes of its last message: here the
    object's last 16); bytes read."""
    semaphore = asyncio.Semaphore(concurrency)

    async def get(key: str) -> int:
        async with semaphore:
            result = await obstore.get_async(store, key)
            return len(await result.bytes_async())

    async def head(key: str) -> int:
        async with semaphore:
            first = await obstore.get_range_async(store, key, start=0, length=HEADER_PROBE_BYTES)
        async with semaphore:
            last = await obstore.get_async(store, key, options={"range": {"suffix": 16}})
            return len(first) + len(await last.bytes_async())

    sizes = await asyncio.gather(*(get(k) for k in keys), *(head(k) for k in ranges))
    return sum(sizes)


def _repository_bytes(path: Path) -> dict[str, int]:
    """Bytes of the repository on disk by kind (top-level directory: manifests, snapshots...)."""
    by_kind: dict[str, int] = {}
    for file in path.rglob("*"):
        if file.is_file():
            kind = file.relative_to(path).parts[0]
            by_kind[kind] = by_kind.get(kind, 0) + file.stat().st_size
    return by_kind


def _repository_files(path: Path) -> list[tuple[str, int, float]]:
    """(kind, bytes, modification time) of every file of the repository."""
    files = []
    for file in path.rglob("*"):
        if file.is_file():
            stat = file.stat()
            files.append((file.relative_to(path).parts[0], stat.st_size, stat.st_mtime))
    return files


def _bytes_per_init(
    files: list[tuple[str, int, float]], init_ends: list[float]
) -> dict[str, list[int]]:
    """Bytes by kind written during each init's ingest (by modification time; the template's
    and anything older than the first init count with the first)."""
    per_init: dict[str, list[int]] = {}
    for kind, size, mtime in files:
        number = min(bisect.bisect_left(init_ends, mtime), len(init_ends) - 1)
        per_init.setdefault(kind, [0] * len(init_ends))[number] += size
    return per_init


GROWING_KINDS = ("snapshots", "overwritten")
"""Kinds whose bytes per init grow with the archive: every snapshot lists every manifest, and
every commit keeps a copy of the repository info object it replaced (``overwritten/``), which
lists every snapshot not expired."""


def _project(per_init: dict[str, list[int]], inits: int) -> dict[str, float]:
    """Bytes by kind for ``inits`` inits from the bytes each measured init added: snapshots
    (:data:`GROWING_KINDS`) as a line in the init's number (least squares), every other kind
    as its mean per init; the first init (which holds the template) is left out of both when
    there are others, and counted as measured."""
    projected = {}
    for kind, values in per_init.items():
        later = values[1:] or values
        xs = [float(x) for x in range(len(values))][-len(later) :]
        slope = 0.0
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(later)
        if kind in GROWING_KINDS and len(later) > 1:
            slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, later, strict=True)) / sum(
                (x - mean_x) ** 2 for x in xs
            )
        projected[kind] = values[0] + sum(mean_y + slope * (k - mean_x) for k in range(1, inits))
    return projected


def _newest_size(directory: Path) -> int:
    """Size of the newest file of ``directory`` (e.g. the last commit's snapshot)."""
    files = [f for f in directory.iterdir() if f.is_file()]
    return max(files, key=lambda f: f.stat().st_mtime_ns).stat().st_size if files else 0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inits", type=int, default=50, help="init times to ingest (targets: 100)")
    parser.add_argument(
        "--raw-get-every", type=int, default=10, help="measure the raw GET rate every N inits"
    )
    parser.add_argument(
        "--profile", type=int, default=None, metavar="N", help="cProfile the ingest of init N"
    )
    parser.add_argument(
        "--commit-per-file",
        action="store_true",
        help="one commit per file, as operational runs commit (max_files_per_commit=1)",
    )
    parser.add_argument(
        "--maintain",
        action="store_true",
        help="then expire every untagged snapshot but the tip and garbage-collect; bytes before "
        "and after",
    )
    parser.add_argument(
        "--project-inits",
        type=int,
        default=100,
        help="project bytes per ref to this many inits from the measured growth per init",
    )
    args = parser.parse_args()

    spec = tiny_gfs_spec()
    settings = IngestSettings(max_files_per_commit=1) if args.commit_per_file else IngestSettings()
    bucket = spec.source.s3.bucket
    axis = spec.append_dimension
    inits = [axis.start + i * axis.frequency for i in range(args.inits)]

    t0 = time.perf_counter()
    encode_template(spec)  # encoded once in a child, or cached; held by the writer process only
    with (
        running_s3_server() as s3,
        tempfile.TemporaryDirectory() as tmp,
        ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_writer,
            initargs=(s3, bucket),
        ) as writer,
    ):
        s3.create_bucket(bucket, public_read=True)
        files_per_init, lines = writer.submit(template_shape).result()
        print(
            f"{files_per_init} files, {lines} messages per init ({lines / files_per_init:.0f} "
            f"index lines per file), ready in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        opened = open_repository(
            spec, RepositorySettings(local_root=tmp), source_endpoint=s3.endpoint
        )
        repo = TimedRepository(spec=opened.spec, settings=opened.settings, repo=opened.repo)
        source = open_source_store(spec.source.store, s3.endpoint)
        repo_path = Path(repo.location)
        bytes_before = sum(_repository_bytes(repo_path).values())  # the empty template
        per_init: list[float] = []
        cpu_seconds: list[float] = []  # this process's CPU (every thread) during the ingest
        commits: list[float] = []  # write_refs + icechunk commit (IngestResult.commit_seconds)
        snapshot_bytes: list[int] = []
        raw: list[tuple[int, float, float]] = []  # (files, index-only s, index + probe s)
        refs = files = refs_first = bytes_after_first = 0
        rss_after_first = 0.0
        publish_seconds = 0.0
        rss_before = _rss_mb()  # imports, S3 client, open repository
        init_ends: list[float] = []  # wall clock at the end of each init's ingest
        load_start = os.getloadavg()[0]
        bench_started = time.perf_counter()
        for number, init in enumerate(inits):
            t0 = time.perf_counter()
            writer.submit(publish_init, init).result()
            publish_seconds += time.perf_counter() - t0

            profiler = cProfile.Profile() if args.profile == number + 1 else None
            t0, cpu0 = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            result = ingest_partition(spec, repo, source, init, settings)
            if profiler is not None:
                profiler.disable()
            seconds = time.perf_counter() - t0
            cpu_seconds.append(time.process_time() - cpu0)
            init_ends.append(time.time())

            if result.files_ingested != files_per_init or result.missing or result.refused:
                print(
                    f"init {init}: ingested {result.files_ingested}/{files_per_init} files, "
                    f"missing {len(result.missing)} (e.g. "
                    f"{[m.describe() for m in result.missing[:3]]}), refused "
                    f"{len(result.refused)}",
                    file=sys.stderr,
                )
                return 1
            if number % args.raw_get_every == 0:
                # Same objects, same concurrency, same moment: the index GETs alone, then with
                # the header probe the pipeline also makes of every data object.
                expected = expected_files(spec, init)
                keys = [f.index_key for f in expected if f.index_key]
                concurrency = settings.max_concurrent_requests
                t0 = time.perf_counter()
                asyncio.run(_raw_get(source, keys, [], concurrency))
                index_only = time.perf_counter() - t0
                t0 = time.perf_counter()
                asyncio.run(_raw_get(source, keys, [f.data_key for f in expected], concurrency))
                raw.append((len(keys), index_only, time.perf_counter() - t0))
            writer.submit(delete_init, init).result()

            per_init.append(seconds)
            commits.append(result.commit_seconds)
            snapshot_bytes.append(_newest_size(repo_path / "snapshots"))
            refs += result.refs_written
            files += result.files_ingested
            if number == 0:
                bytes_after_first = sum(_repository_bytes(repo_path).values())
                refs_first = result.refs_written
                rss_after_first = _rss_mb()
            if args.commit_per_file:
                init_commits = repo.commit_seconds[-result.commits :]
                print(
                    f"init {number + 1}/{len(inits)} {init:%Y-%m-%dT%H}: {seconds:.1f}s, "
                    f"{result.commits} commits (icechunk commit median "
                    f"{_median(init_commits):.3f}s, last {init_commits[-1]:.3f}s), "
                    f"{result.refs_written} refs, load {os.getloadavg()[0]:.1f}, "
                    f"peak RSS {_rss_mb():.0f} MB",
                    flush=True,
                )
            elif number in (0, len(inits) - 1) or (number + 1) % 10 == 0:
                print(
                    f"init {number + 1}/{len(inits)} {init:%Y-%m-%dT%H}: {seconds:.2f}s "
                    f"({cpu_seconds[-1]:.2f}s CPU; refs + commit {result.commit_seconds:.3f}s, "
                    f"icechunk commit {repo.commit_seconds[-1]:.3f}s), "
                    f"{result.refs_written} refs, load {os.getloadavg()[0]:.1f}, "
                    f"peak RSS {_rss_mb():.0f} MB",
                    flush=True,
                )
            if profiler is not None:
                print(f"--- cProfile of init {number + 1} ---")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        bench_seconds = time.perf_counter() - bench_started
        by_kind = _repository_bytes(repo_path)
        maintenance = (
            maintain_and_measure(repo, repo_path, init_ends, refs, args) if args.maintain else None
        )

    icechunk_commits = repo.commit_seconds
    repo_bytes = sum(by_kind.values())
    ingest_seconds = sum(per_init)
    files_per_second = files / ingest_seconds
    raw_files = sum(r[0] for r in raw)
    raw_get_per_second = raw_files / sum(r[1] for r in raw)
    raw_get_probe_per_second = raw_files / sum(r[2] for r in raw)
    ratio_to_raw_get = files_per_second / raw_get_per_second
    sample = min(GROWTH_SAMPLE, len(inits))
    commit_growth = _median(icechunk_commits[-sample:]) / _median(icechunk_commits[:sample])
    bytes_per_ref = repo_bytes / refs
    peak_rss_mb = _rss_mb()
    figures: dict[str, object] = {
        "inits": len(inits),
        "files_per_init": files_per_init,
        "index_lines_per_file": round(lines / files_per_init),
        "refs_per_init": refs // len(inits),
        "seconds_per_init_mean": round(ingest_seconds / len(inits), 3),
        "seconds_per_init_median": round(_median(per_init), 3),
        "seconds_per_init_max": round(max(per_init), 3),
        "cpu_seconds_per_init_median": round(_median(cpu_seconds), 3),
        "fetch_seconds_median": round(
            _median([s - c for s, c in zip(per_init, commits, strict=True)]), 3
        ),
        "refs_and_commit_seconds_median": round(_median(commits), 3),
        "files_per_second": round(files_per_second, 1),
        "refs_per_second": round(refs / ingest_seconds),
        "raw_get_per_second": round(raw_get_per_second, 1),
        "raw_get_with_probe_per_second": round(raw_get_probe_per_second, 1),
        "ratio_to_raw_get": round(ratio_to_raw_get, 3),
        "ratio_to_raw_get_with_probe": round(files_per_second / raw_get_probe_per_second, 3),
        "icechunk_commit_seconds_first": round(icechunk_commits[0], 3),
        "icechunk_commit_seconds_last": round(icechunk_commits[-1], 3),
        "icechunk_commit_seconds_median_first": round(_median(icechunk_commits[:sample]), 3),
        "icechunk_commit_seconds_median_last": round(_median(icechunk_commits[-sample:]), 3),
        "commit_growth": round(commit_growth, 3),
        "refs_and_commit_seconds_first": round(commits[0], 3),
        "refs_and_commit_seconds_last": round(commits[-1], 3),
        "refs": refs,
        "bytes_per_ref": round(bytes_per_ref, 2),
        # Without the empty template and the first init.
        "bytes_per_ref_marginal": round((repo_bytes - bytes_after_first) / (refs - refs_first), 2)
        if len(inits) > 1
        else None,
        "bytes_per_ref_by_kind": {k: round(v / refs, 2) for k, v in sorted(by_kind.items())},
        "bytes_by_kind": dict(sorted(by_kind.items())),
        # Each snapshot lists every manifest of every split: it grows with the archive.
        "snapshot_bytes_first_last": [snapshot_bytes[0], snapshot_bytes[-1]],
        "template_bytes": bytes_before,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "peak_rss_mb_before_first_init": round(rss_before, 1),
        "peak_rss_mb_after_first_init": round(rss_after_first, 1),
        "publish_seconds_total": round(publish_seconds, 1),
        "bench_seconds": round(bench_seconds, 1),
        "load_average_start_end": [round(load_start, 1), round(os.getloadavg()[0], 1)],
    }
    targets_met: dict[str, bool | None] = {
        "seconds_per_init": max(per_init) <= TARGETS["seconds_per_init_max"],
        "ratio_to_raw_get": ratio_to_raw_get >= TARGETS["ratio_to_raw_get_min"],
        "bytes_per_ref": bytes_per_ref <= TARGETS["bytes_per_ref_max"],
        "commit_growth": commit_growth <= TARGETS["commit_growth_max"],
        "peak_rss": peak_rss_mb <= TARGETS["peak_rss_mb_max"],
    }
    if args.commit_per_file:
        # One file per fetch and per commit: the speed targets are the backfill's, not judged.
        figures["commit_shape"] = "one commit per file (max_files_per_commit=1)"
        figures["commits"] = len(icechunk_commits)
        figures["icechunk_commit_seconds_median_first_init_last_init"] = [
            round(_median(icechunk_commits[:files_per_init]), 3),
            round(_median(icechunk_commits[-files_per_init:]), 3),
        ]
        targets_met.update(seconds_per_init=None, ratio_to_raw_get=None, commit_growth=None)
    if maintenance is not None:
        figures["maintenance"] = maintenance
        after = maintenance["bytes_per_ref_after"]
        assert isinstance(after, float)
        targets_met["bytes_per_ref_after_maintenance"] = after <= TARGETS["bytes_per_ref_max"]
        projected = maintenance["projected"]
        assert isinstance(projected, dict)
        targets_met[f"bytes_per_ref_after_maintenance_projected_{args.project_inits}_inits"] = (
            projected["bytes_per_ref_after"] <= TARGETS["bytes_per_ref_max"]
        )
    figures["targets_met"] = targets_met
    print(json.dumps(figures))
    return 0


def maintain_and_measure(
    repo: DatasetRepository,
    repo_path: Path,
    init_ends: list[float],
    refs: int,
    args: argparse.Namespace,
) -> dict[str, object]:
    """Bytes by kind (and per init) before maintenance, maintenance as the daily job would run
    it :data:`MAINTENANCE_DELAY` after the last commit (every snapshot older than then expired
    but the tip and the tagged ones; unreachable objects collected), bytes after; both
    projected to ``--project-inits`` inits. Checks that every partition still reads complete,
    at ``main`` and at its tag."""
    before_files = _repository_files(repo_path)
    inits = len(init_ends)
    refs_per_init = refs / inits
    now = utc_now() + MAINTENANCE_DELAY
    settings = MaintenanceSettings(
        expire_after_hours=MAINTENANCE_DELAY / dt.timedelta(hours=1),
        keep_objects_younger_than_minutes=MIN_KEEP_MINUTES,
    )
    started = time.perf_counter()
    report = maintain(repo, now, settings)
    seconds = time.perf_counter() - started
    after_files = _repository_files(repo_path)

    # Still readable: every file flagged at main's tip and at each partition's tag.
    group = zarr.open_group(repo.readonly_session().store, mode="r")
    flags = np.asarray(group[PROGRESS_ARRAY][:inits])  # type: ignore[index]
    tags = sorted(repo.repo.list_tags())
    for tag in tags:
        tagged = zarr.open_group(repo.repo.readonly_session(tag=tag).store, mode="r")
        assert tagged[PROGRESS_ARRAY].shape[0] >= 1  # type: ignore[union-attr]
    readable = bool(flags.all()) and len(tags) == inits

    def by_kind(files: list[tuple[str, int, float]]) -> dict[str, int]:
        totals: dict[str, int] = {}
        for kind, size, _ in files:
            totals[kind] = totals.get(kind, 0) + size
        return dict(sorted(totals.items()))

    before, after = by_kind(before_files), by_kind(after_files)
    target = args.project_inits
    projected_refs = round(target * refs_per_init)
    projected_before = _project(_bytes_per_init(before_files, init_ends), target)
    projected_after = _project(_bytes_per_init(after_files, init_ends), target)
    figures: dict[str, object] = {
        "maintenance_clock": f"last commit + {MAINTENANCE_DELAY}",
        "settings": settings.model_dump(),
        "report": report.as_metadata(),
        "seconds": round(seconds, 2),
        "readable_after": readable,
        "bytes_per_ref_before": round(sum(before.values()) / refs, 2),
        "bytes_per_ref_after": round(sum(after.values()) / refs, 2),
        "bytes_per_ref_by_kind_before": {k: round(v / refs, 3) for k, v in before.items()},
        "bytes_per_ref_by_kind_after": {k: round(v / refs, 3) for k, v in after.items()},
        "bytes_before": sum(before.values()),
        "bytes_after": sum(after.values()),
        "files_before": len(before_files),
        "files_after": len(after_files),
        "bytes_per_init_by_kind_before": _bytes_per_init(before_files, init_ends),
        "bytes_per_init_by_kind_after": _bytes_per_init(after_files, init_ends),
        "projected": {
            "inits": target,
            "method": "bytes each init added, by kind: snapshots (each lists every manifest) and "
            "overwritten repository infos (each lists every snapshot) fitted as a line in the "
            "init's number, other kinds their mean per init; summed over the inits (no "
            "maintenance before the last)",
            "bytes_per_ref_before": round(sum(projected_before.values()) / projected_refs, 2),
            "bytes_per_ref_after": round(sum(projected_after.values()) / projected_refs, 2),
            "bytes_per_ref_by_kind_before": {
                k: round(v / projected_refs, 3) for k, v in sorted(projected_before.items())
            },
            "bytes_per_ref_by_kind_after": {
                k: round(v / projected_refs, 3) for k, v in sorted(projected_after.items())
            },
        },
    }
    print(
        f"maintenance ({seconds:.1f}s): {report}; bytes per ref {figures['bytes_per_ref_before']} "
        f"-> {figures['bytes_per_ref_after']} (projected to {target} inits: "
        f"{figures['projected']['bytes_per_ref_before']} -> "  # type: ignore[index]
        f"{figures['projected']['bytes_per_ref_after']}); readable after: {readable}",  # type: ignore[index]
        flush=True,
    )
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
