"""Peers benchmark: the same virtual GFS dataset built by this pipeline, kerchunk and VirtualiZarr,
side by side in one run, every figure of a peer beside ours with the ratio.

One GFS init of the benchmark archive (:mod:`bench.archive`: NCEP's whole ~743-line inventory
per file, every variable, the 3 x 4 grid) is published on the loopback S3 API, ``--files`` leads
(default 48, f000-f047), and the dataset is built with:

1. this pipeline (``ingest_partition``: index GETs, header probe, parse, place, one commit);
2. kerchunk ``scan_grib`` of each file, combined by ``grib_tree`` (``MultiZarrToZarr``);
3. kerchunk's index route (``parse_grib_idx`` + ``map_from_index`` per file, then
   ``reinflate_grib_store``), its one-time ``build_idx_grib_mapping`` per lead (from another
   init's files, as it would be in use) counted apart;
4. VirtualiZarr with gribberish's parser (``open_virtual_datatree``, ``use_index=".idx"``),
   ``to_icechunk`` with ``append_dim="time"``.

The peers read and parse every message with cfgrib/ecCodes (kerchunk) or build an xarray tree
per file (VirtualiZarr): tens of seconds of CPU per file here, so they build the first
``--peer-files`` (default 8: f000, the leads 1-6 where GFS's running and bucket windows
coincide, f007) of the same files, and our pipeline builds those same files as well, which is
what every ratio compares; ours over all ``--files`` is reported too. ``--peer-files 48`` gives
the whole comparison (about two hours on two cores; the default run takes ~20 minutes).

Each build runs in a spawned child of its own (:mod:`bench.peers_build`): wall and CPU seconds
per file (``getrusage``, every thread), refs per second, peak RSS (the child's ``VmHWM``,
the tool's imports included), bytes of the stored references (kerchunk: its JSON; Icechunk:
the repository minus the empty one). Every ref is then compared with the ground truth taken
from the bytes (an ecCodes walk of each object, :mod:`bench.peers_truth`): wrong, missing and
extra refs. A peer that fails, or drops refs, is reported with the reason.

The read path uses a realistic chunk: one 0.25° message (721 x 1440, TMP 2 m, complex packing
with spatial differencing, ~1 MB) in a file of its own, the dataset built by each tool from it,
and one chunk read ``--read-repeats`` times (median) through ours (Icechunk + zarr + the
gribberish codec), kerchunk's references (fsspec + ecCodes) and VirtualiZarr's Icechunk store,
beside the same bytes fetched with one range GET and decoded directly with gribberish and with
ecCodes. On the 3 x 4 grid a chunk read is all overhead, which would say nothing about 1.2x.

Prints a table (figure, ours, peer, ratio) and ends with one JSON line. Targets, as ratios in
the run: CPU per file <= 0.1x kerchunk's index route (without its mapping) and <= 0.01x
``scan_grib``; refs per second >= 10x VirtualiZarr + gribberish; no wrong or missing ref of
ours; a chunk read through Icechunk <= 1.2x the range GET + gribberish decode of its bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/peers.py): import from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from bench.archive import TEMPLATE_INIT, Redater, template_files, tiny_gfs_spec
from bench.ingest import _put_all
from bench.peers_build import BUCKET, BuildJob, BuildOutcome, run_build
from bench.peers_truth import Truth, file_truth
from vidx_offline.gfs_archive import GfsArchiveConfig, GfsFile, render_gfs_file
from vidx_offline.s3_server import LocalS3, running_s3_server

PEERS = ("kerchunk_scan", "kerchunk_index", "virtualizarr")
PEER_TITLES = {
    "kerchunk_scan": "kerchunk scan_grib + grib_tree",
    "kerchunk_index": "kerchunk index route",
    "virtualizarr": "VirtualiZarr + gribberish",
}
MAPPING_INIT = TEMPLATE_INIT - dt.timedelta(days=1)
"""The init whose files the index route builds its mappings from."""
READ_INIT = TEMPLATE_INIT + dt.timedelta(days=1)
READ_FIELD = ("TMP", "2 m above ground")
READ_GRID = (721, 1440)
TARGETS = {
    "cpu_ratio_to_kerchunk_index_max": 0.1,
    "cpu_ratio_to_scan_grib_max": 0.01,
    "refs_per_second_ratio_to_virtualizarr_min": 10.0,
    "read_ratio_to_gribberish_max": 1.2,
}


def _spawned(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a spawned child of its own (its own peak RSS)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def render_read_file() -> GfsFile:
    """The read path's file: one 0.25° TMP 2 m message, f000 of :data:`READ_INIT`."""
    config = GfsArchiveConfig(
        init_times=(READ_INIT,), lead_hours=(0,), grid=READ_GRID, fields=(READ_FIELD,)
    )
    return render_gfs_file(config, READ_INIT, 0)


def _publish(s3: LocalS3, files: list[Any]) -> None:
    """Every file's data object, then every index (the producer's order)."""
    store = s3.store(BUCKET)
    asyncio.run(_put_all(store, [(f.data_key, f.data) for f in files]))
    asyncio.run(_put_all(store, [(f.index_key, f.index_text.encode()) for f in files]))


# ----------------------------------------------------------------------------------------------
# Figures


def build_figures(outcome: BuildOutcome, truth: Truth) -> dict[str, Any]:
    """One build's figures: per-file costs, rate, memory, stored bytes and its verdict."""
    files = max(outcome.files, 1)
    figures: dict[str, Any] = {"status": outcome.status, "files": outcome.files}
    if outcome.reason:
        figures["reason"] = outcome.reason
    if outcome.status == "failed" and not outcome.refs:
        figures["phases"] = _phases(outcome, files)
        figures["peak_rss_mb"] = round(outcome.peak_rss_mb, 1)
        figures["notes"] = outcome.notes
        return figures
    verdict = truth.judge(outcome.refs)
    refs = len(outcome.refs)
    if outcome.status == "ok" and (verdict.wrong or verdict.missing):
        figures["status"] = "incomplete"
        figures["reason"] = (
            f"{verdict.missing} of {len(truth.messages)} messages not referenced, "
            f"{verdict.wrong} refs wrong"
        )
    figures.update(
        {
            "wall_seconds_per_file": round(outcome.wall_seconds / files, 4),
            "cpu_seconds_per_file": round(outcome.cpu_seconds / files, 4),
            "refs": refs,
            "refs_per_second": round(refs / outcome.wall_seconds) if outcome.wall_seconds else 0,
            "peak_rss_mb": round(outcome.peak_rss_mb, 1),
            "stored_bytes": outcome.stored_bytes,
            "bytes_per_ref": round(outcome.stored_bytes / refs, 2) if refs else None,
            "wrong": verdict.wrong,
            "missing": verdict.missing,
            "extra": verdict.extra,
            "verdict": verdict.as_dict(),
            "phases": _phases(outcome, files),
            "notes": outcome.notes,
            "readback_seconds": round(outcome.readback_seconds, 1),
        }
    )
    return figures


def _phases(outcome: BuildOutcome, files: int) -> dict[str, dict[str, float]]:
    return {
        name: {"wall_per_file": round(wall / files, 4), "cpu_per_file": round(cpu / files, 4)}
        for name, (wall, cpu) in outcome.phases.items()
    }


ROWS = (
    ("wall s/file", "wall_seconds_per_file"),
    ("CPU s/file", "cpu_seconds_per_file"),
    ("refs/s", "refs_per_second"),
    ("peak RSS MB", "peak_rss_mb"),
    ("stored bytes/ref", "bytes_per_ref"),
    ("refs", "refs"),
    ("wrong refs", "wrong"),
    ("missing refs", "missing"),
    ("extra refs", "extra"),
)


def _ratio(ours: Any, peer: Any) -> float | None:
    if isinstance(ours, int | float) and isinstance(peer, int | float) and peer:
        return ours / peer
    return None


def print_table(
    ours: dict[str, Any], ours_all: dict[str, Any], peers: dict[str, dict[str, Any]]
) -> None:
    print(f"\nours over all {ours_all['files']} files:", _brief(ours_all))
    for peer, figures in peers.items():
        title = f"{PEER_TITLES[peer]} ({figures['files']} files): {figures['status']}"
        print(f"\n{title}" + (f" -- {figures['reason']}" if figures.get("reason") else ""))
        print(f"  {'figure':<22}{'ours':>14}{'peer':>14}{'ours/peer':>12}")
        for label, name in ROWS:
            mine, theirs = ours.get(name), figures.get(name)
            ratio = _ratio(mine, theirs)
            print(
                f"  {label:<22}{_fmt(mine):>14}{_fmt(theirs):>14}"
                f"{(f'{ratio:.4g}x' if ratio is not None else '-'):>12}"
            )
        if mapping := figures.get("phases", {}).get("mapping"):
            print(
                f"  {'mapping (one-time)':<22}{'-':>14}"
                f"{_fmt(mapping['cpu_per_file']):>14}  CPU s/file (wall {mapping['wall_per_file']})"
            )
        for note in figures.get("notes", []):
            print(f"  note: {_one_line(note)}")
        verdict = figures.get("verdict", {})
        if verdict.get("missing_by_family"):
            print(f"  missing by family: {verdict['missing_by_family']}")
        if verdict.get("wrong_reasons"):
            print(f"  wrong: {verdict['wrong_reasons']} e.g. {verdict['wrong_examples'][:1]}")


def _one_line(note: str) -> str:
    """A note on one line: a traceback's last line (the error), any other note whole."""
    text = note.strip()
    if text.startswith("Traceback"):
        text = text.splitlines()[-1]
    return " ".join(text.split())[:400]


def _brief(figures: dict[str, Any]) -> str:
    return ", ".join(f"{label} {_fmt(figures.get(name))}" for label, name in ROWS)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value) if value is not None else "-"


def print_read_table(read: dict[str, Any]) -> None:
    print(f"\nread one chunk ({read['chunk']}), median of {read['repeats']} (ms):")
    base = read.get("gribberish_get_decode_ms")
    for name, value in read.items():
        if name.endswith("_ms"):
            ratio = _ratio(value, base)
            print(f"  {name:<34}{_fmt(value):>10}{(f'{ratio:.3g}x' if ratio else ''):>10}")
    for name in ("values_agree", "failures"):
        if read.get(name):
            print(f"  {name}: {read[name]}")


# ----------------------------------------------------------------------------------------------
# The run


def run_builds(
    s3: LocalS3, rest: list[Any], job: BuildJob, peer_job: BuildJob, peers: list[str]
) -> tuple[BuildOutcome, BuildOutcome, dict[str, BuildOutcome]]:
    """Ours and each peer over the peers' files (the only ones published yet: the pipeline
    ingests whatever the init has published), then ``rest`` published and ours over every
    file: one child each."""
    ours = _spawned(run_build, "ours", replace(peer_job, workdir=f"{job.workdir}/ours"))
    _report(ours)
    outcomes = {}
    for peer in peers:
        outcomes[peer] = _spawned(
            run_build, peer, replace(peer_job, workdir=f"{job.workdir}/{peer}")
        )
        _report(outcomes[peer])
    if not rest:
        return ours, ours, outcomes
    _publish(s3, rest)
    ours_all = _spawned(run_build, "ours", replace(job, workdir=f"{job.workdir}/ours-all"))
    _report(ours_all)
    return ours_all, ours, outcomes


def _report(outcome: BuildOutcome) -> None:
    print(
        f"{outcome.peer} ({outcome.files} files): {outcome.status}, "
        f"{outcome.wall_seconds:.1f}s wall, {outcome.cpu_seconds:.1f}s CPU, "
        f"{len(outcome.refs)} refs, peak RSS {outcome.peak_rss_mb:.0f} MB, "
        f"load {os.getloadavg()[0]:.1f}" + (f" -- {outcome.reason}" if outcome.reason else ""),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48, help="leads of the init (f000 on)")
    parser.add_argument(
        "--peer-files", type=int, default=8, help="the first N of them the peers build"
    )
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset")
    parser.add_argument("--read-repeats", type=int, default=10)
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    if unknown := set(peers) - set(PEERS):
        parser.error(f"unknown peers {sorted(unknown)}; known: {', '.join(PEERS)}")
    peer_count = min(args.peer_files, args.files)

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    template = template_files(tiny_gfs_spec())
    files = template[: args.files]
    mapping_files = Redater(template[:peer_count]).files(MAPPING_INIT)
    read_file: GfsFile = _spawned(render_read_file)
    truth = Truth(
        m for f in files for m in file_truth(f.data_key, f.lead_hours, f.data, f.messages)
    )
    print(
        f"{len(files)} files, {len(truth.messages)} messages (ground truth from an ecCodes walk); "
        f"peers build {peer_count}; ready in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    with running_s3_server() as s3, tempfile.TemporaryDirectory() as workdir:
        s3.create_bucket(BUCKET, public_read=True)
        _publish(s3, [*files[:peer_count], *mapping_files, read_file])
        job = BuildJob(
            endpoint=s3.endpoint,
            init=TEMPLATE_INIT,
            keys=tuple(f.data_key for f in files),
            leads=tuple(f.lead_hours for f in files),
            workdir=workdir,
        )
        peer_job = replace(
            job,
            keys=job.keys[:peer_count],
            leads=job.leads[:peer_count],
            mapping_keys=tuple(f.data_key for f in mapping_files),
        )
        ours_all, ours, outcomes = run_builds(s3, files[peer_count:], job, peer_job, peers)
        from bench.peers_read import read_path

        read_job = replace(
            job,
            init=READ_INIT,
            keys=(read_file.data_key,),
            leads=(0,),
            workdir=f"{workdir}/read",
            dataset="real",
        )
        message = read_file.messages[0]
        read = _spawned(read_path, read_job, message.offset, message.length, args.read_repeats)

    peer_truth = truth.subset(peer_job.keys)
    ours_figures = build_figures(ours, peer_truth)
    ours_all_figures = build_figures(ours_all, truth)
    peer_figures = {peer: build_figures(o, peer_truth) for peer, o in outcomes.items()}
    print_table(ours_figures, ours_all_figures, peer_figures)
    print_read_table(read)
    ratios = _ratios(ours_figures, peer_figures, read)
    print("\nratios (ours / peer): " + ", ".join(f"{k} {_fmt(v)}" for k, v in ratios.items()))
    result: dict[str, Any] = {
        "files": len(files),
        "peer_files": peer_count,
        "messages_per_file": round(len(truth.messages) / len(files)),
        "ours": _summary(ours_figures),
        "ours_all_files": _summary(ours_all_figures),
        "peers": {peer: _summary(f) for peer, f in peer_figures.items()},
        "read": read,
        "ratios": ratios,
        "bench_seconds": round(time.perf_counter() - started, 1),
        "load_average_start_end": [round(load_start, 1), round(os.getloadavg()[0], 1)],
        "cpus": os.cpu_count(),
    }
    result["targets_met"] = _targets(ours_figures, ours_all_figures, ratios)
    print(json.dumps(result))
    return 0


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures of the JSON line (the verdict's examples stay in the table)."""
    keep = {k: v for k, v in figures.items() if k not in ("verdict", "notes")}
    if verdict := figures.get("verdict"):
        keep["missing_by_family"] = verdict["missing_by_family"]
        keep["wrong_reasons"] = verdict["wrong_reasons"]
    keep["notes"] = [_one_line(n) for n in figures.get("notes", [])]
    return keep


def _ratios(
    ours: dict[str, Any], peers: dict[str, dict[str, Any]], read: dict[str, Any]
) -> dict[str, float | None]:
    def of(peer: str, name: str) -> float | None:
        figures = peers.get(peer, {})
        value = figures.get(name)
        mine = ours.get(name)
        ratio = _ratio(mine, value)
        return round(ratio, 5) if ratio is not None else None

    return {
        "cpu_per_file_vs_kerchunk_index": of("kerchunk_index", "cpu_seconds_per_file"),
        "cpu_per_file_vs_scan_grib": of("kerchunk_scan", "cpu_seconds_per_file"),
        "cpu_per_file_vs_virtualizarr": of("virtualizarr", "cpu_seconds_per_file"),
        "refs_per_second_vs_virtualizarr": of("virtualizarr", "refs_per_second"),
        "refs_per_second_vs_kerchunk_index": of("kerchunk_index", "refs_per_second"),
        "refs_per_second_vs_scan_grib": of("kerchunk_scan", "refs_per_second"),
        "read_vs_gribberish_get_decode": _rounded(
            _ratio(read.get("ours_icechunk_ms"), read.get("gribberish_get_decode_ms"))
        ),
        "read_vs_gribberish_decode": _rounded(
            _ratio(read.get("ours_icechunk_ms"), read.get("gribberish_decode_ms"))
        ),
        "read_vs_eccodes_decode": _rounded(
            _ratio(read.get("ours_icechunk_ms"), read.get("eccodes_decode_ms"))
        ),
    }


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _targets(
    ours: dict[str, Any], ours_all: dict[str, Any], ratios: dict[str, float | None]
) -> dict[str, bool]:
    def at_most(value: float | None, limit: float) -> bool:
        return value is not None and value <= limit

    refs_ratio = ratios["refs_per_second_vs_virtualizarr"]
    return {
        "cpu_vs_kerchunk_index": at_most(
            ratios["cpu_per_file_vs_kerchunk_index"], TARGETS["cpu_ratio_to_kerchunk_index_max"]
        ),
        "cpu_vs_scan_grib": at_most(
            ratios["cpu_per_file_vs_scan_grib"], TARGETS["cpu_ratio_to_scan_grib_max"]
        ),
        "refs_per_second_vs_virtualizarr": refs_ratio is not None
        and refs_ratio >= TARGETS["refs_per_second_ratio_to_virtualizarr_min"],
        "no_wrong_or_missing_refs": all(
            f.get("status") == "ok" and f.get("wrong") == 0 and f.get("missing") == 0
            for f in (ours, ours_all)
        ),
        "read_vs_gribberish": at_most(
            ratios["read_vs_gribberish_get_decode"], TARGETS["read_ratio_to_gribberish_max"]
        ),
    }


if __name__ == "__main__":
    raise SystemExit(main())
