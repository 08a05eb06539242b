"""What the benchmarks share: the GFS spec on a tiny grid, and one encoded init reused for any
other init by rewriting its dates.

Ingest and publication latency depend on the index text (NCEP's whole inventory, ~743 lines
per file), the number of files and the objects' keys, not on the grid, so messages are encoded
on a 3 x 4 grid and the spec is the real GFS spec (every variable, level dimension and lead)
with that grid. Encoding one init's 209 files with ecCodes takes about two minutes; it is done
once in a child process (so its memory is not the benchmark's) and cached under
``.local/bench`` (keyed by the offline encoder's sources), and every other init is the same
bytes with its dates rewritten (:func:`redate`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import vidx_offline
from vidx_offline.gfs_archive import GfsArchiveConfig, GfsFile, gfs_data_key, gfs_index_key
from vidx_offline.publisher import render_cycle
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.spec import DatasetSpec, PublicationSchedule, RegularLatLonGrid

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".local" / "bench"
TINY_GRID = (3, 4)
TEMPLATE_INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)

ENCODER_SOURCES = ("inventory.py", "grib_encode.py", "gfs_archive.py", "publisher.py")
"""The modules of :mod:`vidx_offline` the encoded bytes depend on (the cache key)."""
_SECTION0 = 16
_PDT_STATISTICAL = 8


def tiny_gfs_spec(publication: PublicationSchedule | None = None) -> DatasetSpec:
    """The GFS spec (every variable, level and lead) on :data:`TINY_GRID`."""
    base = get_dataset("noaa-gfs-forecast")
    nlat, nlon = TINY_GRID
    update: dict[str, object] = {
        "grid": RegularLatLonGrid(
            nlat=nlat, nlon=nlon, lat_first=90, lat_last=-90, lon_first=0, lon_last=360 - 360 / nlon
        )
    }
    if publication is not None:
        update["publication"] = publication
    return base.model_copy(update=update)


def _cache_key(lead_hours: tuple[int, ...]) -> str:
    """Digest of what the encoded bytes depend on: the encoder's sources, inventories, leads."""
    digest = hashlib.sha256(repr((TINY_GRID, lead_hours, TEMPLATE_INIT)).encode())
    package = Path(vidx_offline.__file__).parent
    sources = [package / name for name in ENCODER_SOURCES]
    for path in [*sources, *sorted(package.glob("inventories/*.idx"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def encode_template(spec: DatasetSpec) -> Path:
    """The cache file of :func:`template_files`, encoded first if absent (without loading it
    here: a benchmark measuring its own RSS calls this, and loads the files in a child)."""
    path = CACHE_DIR / f"gfs-{TINY_GRID[0]}x{TINY_GRID[1]}-{_cache_key(spec.lead_hours)}.pickle"
    if path.exists():
        return path
    config = GfsArchiveConfig(
        init_times=(TEMPLATE_INIT,), lead_hours=spec.lead_hours, grid=TINY_GRID
    )
    # Encoded in a child process: the encoder's memory is not the benchmark's peak RSS.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        files = pool.submit(render_cycle, config, TEMPLATE_INIT, spec.lead_hours).result()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(files))
    partial.replace(path)
    for stale in CACHE_DIR.glob("gfs-*.pickle"):
        if stale != path:
            stale.unlink()
    return path


def template_files(spec: DatasetSpec) -> list[GfsFile]:
    """Every lead's file of :data:`TEMPLATE_INIT` (NCEP's whole inventory), encoded once."""
    files: list[GfsFile] = pickle.loads(encode_template(spec).read_bytes())
    return files


def _set_time(data: bytearray, pos: int, when: dt.datetime) -> None:
    data[pos : pos + 7] = bytes(
        [*when.year.to_bytes(2, "big"), when.month, when.day, when.hour, when.minute, when.second]
    )


def _get_time(data: bytes | bytearray, pos: int) -> dt.datetime:
    month, day, hour, minute, second = data[pos + 2 : pos + 7]
    year = int.from_bytes(data[pos : pos + 2], "big")
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def redate(file: GfsFile, init: dt.datetime) -> GfsFile:
    """``file`` as it would be for ``init``: the index's ``d=`` dates, every message's reference
    time (section 1) and, for statistical messages (template 4.8), the end of their time
    interval are rewritten; keys follow. Values are the template's (nothing here decodes them)."""
    if init == file.init:
        return file
    shift = init - file.init
    data = bytearray(file.data)
    for message in file.messages:
        start = message.offset
        if data[start : start + 4] != b"GRIB" or data[start + _SECTION0 + 4] != 1:
            raise ValueError(f"no GRIB2 section 1 at offset {start} of {file.data_key}")
        section1 = start + _SECTION0
        _set_time(data, section1 + 12, _get_time(data, section1 + 12) + shift)
        pos = section1 + int.from_bytes(data[section1 : section1 + 4], "big")
        while data[pos + 4] != 4:  # sections 2 and 3
            pos += int.from_bytes(data[pos : pos + 4], "big")
        if int.from_bytes(data[pos + 7 : pos + 9], "big") == _PDT_STATISTICAL:
            _set_time(data, pos + 34, _get_time(data, pos + 34) + shift)
    old, new = f"d={file.init:%Y%m%d%H}", f"d={init:%Y%m%d%H}"
    return replace(
        file,
        init=init,
        data_key=gfs_data_key(init, file.lead_hours),
        index_key=gfs_index_key(init, file.lead_hours),
        data=bytes(data),
        index_text=file.index_text.replace(old, new),
    )
