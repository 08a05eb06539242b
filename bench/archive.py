"""What the benchmarks share: a benchmarked dataset's production spec on a tiny grid, and one
encoded init of it reused for any other init by rewriting its dates.

Ingest and publication latency depend on the index text (NCEP's whole inventory: ~743 lines
per GFS file, 170-173 per HRRR file), the number of files and the objects' keys, not on the
grid, so messages are encoded on a 3 x 4 grid and the spec is the real spec (every variable,
level dimension and lead) with that grid (:func:`tiny_spec`). The datasets the benchmarks know
are :data:`BENCH_DATASETS` (GFS, HRRR 48-hour): one entry each, the code is shared. Encoding
one init (GFS: 209 files, about two minutes; HRRR: 49 files) with ecCodes is done once in a
child process (so its memory is not the benchmark's) and cached under ``.local/bench`` (keyed
by the offline encoder's sources), and every other init is the same bytes with its dates
rewritten (:class:`Redater`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import vidx_offline
from vidx_offline.gfs_archive import GfsArchiveConfig, GfsFile, gfs_data_key, gfs_index_key
from vidx_offline.hrrr_archive import (
    HrrrArchiveConfig,
    HrrrFile,
    hrrr_data_key,
    hrrr_index_key,
    render_hrrr_file,
)
from vidx_offline.publisher import render_cycle
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.spec import (
    DatasetSpec,
    Grid,
    LambertConformalGrid,
    PublicationSchedule,
    RegularLatLonGrid,
    UnstructuredGrid,
)

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".local" / "bench"
TINY_GRID = (3, 4)
TEMPLATE_INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)

PUBLICATION_ENV_VAR = "VIDX_BENCH_PUBLICATION"
"""The latency benchmark's publication schedule (JSON), read by :mod:`bench.location`."""
DATASET_ENV_VAR = "VIDX_BENCH_DATASET"
"""The latency benchmark's dataset (a name of :data:`BENCH_DATASETS`), read by
:mod:`bench.location`."""
ENCODER_SOURCES = (
    "inventory.py",
    "grib_encode.py",
    "grids.py",
    "archive_files.py",
    "gfs_archive.py",
    "publisher.py",
)
"""The modules of :mod:`vidx_offline` every dataset's encoded bytes depend on (the cache key)."""
_SECTION0 = 16
_PDT_STATISTICAL = 8

ArchiveFile = GfsFile | HrrrFile
"""One file of an encoded init, as the offline archive renders it."""


def _render_gfs(lead_hours: tuple[int, ...]) -> list[GfsFile]:
    config = GfsArchiveConfig(init_times=(TEMPLATE_INIT,), lead_hours=lead_hours, grid=TINY_GRID)
    return render_cycle(config, TEMPLATE_INIT, lead_hours)


def _render_hrrr(lead_hours: tuple[int, ...]) -> list[HrrrFile]:
    config = HrrrArchiveConfig(init_times=(TEMPLATE_INIT,), lead_hours=lead_hours, grid=TINY_GRID)
    return [render_hrrr_file(config, TEMPLATE_INIT, lead) for lead in sorted(lead_hours)]


@dataclass(frozen=True)
class BenchDataset:
    """A dataset the benchmarks run: its registered spec, and how the offline archive renders
    and names its files. ``render`` encodes every lead of :data:`TEMPLATE_INIT` on
    :data:`TINY_GRID` with the whole inventory (a module-level function: it runs in a spawned
    child); ``data_key``/``index_key`` are the archive's own key functions (independent of the
    spec, which the pipeline checks against them)."""

    name: str
    dataset_id: str
    file_type: type[GfsFile] | type[HrrrFile]
    render: Callable[[tuple[int, ...]], list[GfsFile]] | Callable[[tuple[int, ...]], list[HrrrFile]]
    data_key: Callable[[dt.datetime, int], str]
    index_key: Callable[[dt.datetime, int], str]
    encoder_sources: tuple[str, ...]


BENCH_DATASETS = {
    d.name: d
    for d in (
        BenchDataset(
            name="gfs",
            dataset_id="noaa-gfs-forecast",
            file_type=GfsFile,
            render=_render_gfs,
            data_key=gfs_data_key,
            index_key=gfs_index_key,
            encoder_sources=ENCODER_SOURCES,
        ),
        BenchDataset(
            name="hrrr",
            dataset_id="noaa-hrrr-forecast-48-hour",
            file_type=HrrrFile,
            render=_render_hrrr,
            data_key=hrrr_data_key,
            index_key=hrrr_index_key,
            encoder_sources=(
                *ENCODER_SOURCES,
                "hrrr_archive.py",
                "hrrr_encoding.py",
                "hrrr_inventory.py",
            ),
        ),
    )
}
"""The datasets the benchmarks know, by the name their ``--dataset`` option takes."""


def bench_dataset(name: str) -> BenchDataset:
    """The entry of :data:`BENCH_DATASETS` called ``name``; raises naming the known ones."""
    try:
        return BENCH_DATASETS[name]
    except KeyError:
        raise KeyError(
            f"no benchmark dataset {name!r}; known: {', '.join(sorted(BENCH_DATASETS))}"
        ) from None


def _dataset_of_spec(spec: DatasetSpec) -> BenchDataset:
    for entry in BENCH_DATASETS.values():
        if entry.dataset_id == spec.dataset_id:
            return entry
    raise KeyError(f"{spec.dataset_id} is not a benchmark dataset ({sorted(BENCH_DATASETS)})")


def _dataset_of_file(file: ArchiveFile) -> BenchDataset:
    for entry in BENCH_DATASETS.values():
        if type(file) is entry.file_type:
            return entry
    raise TypeError(f"{type(file).__name__} is no benchmark dataset's file type")


def tiny_grid(grid: Grid) -> Grid:
    """``grid`` with :data:`TINY_GRID` points, as the offline archive encodes it: a global
    regular grid of that shape, the Lambert grid's first :data:`TINY_GRID` (y, x) points, or
    as many cells of an unstructured grid."""
    nlat, nlon = TINY_GRID
    match grid:
        case LambertConformalGrid():
            return grid.model_copy(update={"ny": nlat, "nx": nlon})
        case UnstructuredGrid():
            return grid.model_copy(update={"cells": nlat * nlon})
        case RegularLatLonGrid():
            return RegularLatLonGrid(
                nlat=nlat,
                nlon=nlon,
                lat_first=90,
                lat_last=-90,
                lon_first=0,
                lon_last=360 - 360 / nlon,
            )


def tiny_spec(name: str, publication: PublicationSchedule | None = None) -> DatasetSpec:
    """Dataset ``name``'s registered spec (every variable, level and lead) on
    :data:`TINY_GRID`, with ``publication`` if given."""
    base = get_dataset(bench_dataset(name).dataset_id)
    update: dict[str, object] = {"grid": tiny_grid(base.grid)}
    if publication is not None:
        update["publication"] = publication
    return base.model_copy(update=update)


def tiny_gfs_spec(publication: PublicationSchedule | None = None) -> DatasetSpec:
    """The GFS spec (every variable, level and lead) on :data:`TINY_GRID`."""
    return tiny_spec("gfs", publication)


def _cache_key(entry: BenchDataset, lead_hours: tuple[int, ...]) -> str:
    """Digest of what the encoded bytes depend on: the encoder's sources, inventories, leads."""
    digest = hashlib.sha256(repr((TINY_GRID, lead_hours, TEMPLATE_INIT)).encode())
    package = Path(vidx_offline.__file__).parent
    sources = [package / name for name in entry.encoder_sources]
    for path in [*sources, *sorted(package.glob("inventories/*.idx"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def encode_template(spec: DatasetSpec) -> Path:
    """The cache file of :func:`template_files`, encoded first if absent (without loading it
    here: a benchmark measuring its own RSS calls this, and loads the files in a child).
    ``spec`` must be a benchmark dataset's (:data:`BENCH_DATASETS`); older caches of that
    dataset are removed."""
    entry = _dataset_of_spec(spec)
    stem = f"{entry.name}-{TINY_GRID[0]}x{TINY_GRID[1]}"
    path = CACHE_DIR / f"{stem}-{_cache_key(entry, spec.lead_hours)}.pickle"
    if path.exists():
        return path
    # Encoded and pickled in a child process: neither the encoder's memory nor the encoded
    # files (~250 MB as objects) are the benchmark's peak RSS. (Returning the files to this
    # process to pickle them here put them in its peak: 413 MB before the first init.)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_render_to, entry.render, spec.lead_hours, partial).result()
    partial.replace(path)
    for stale in CACHE_DIR.glob(f"{stem}-*.pickle"):
        if stale != path:
            stale.unlink()
    return path


def _render_to(
    render: Callable[[tuple[int, ...]], list[GfsFile]]
    | Callable[[tuple[int, ...]], list[HrrrFile]],
    lead_hours: tuple[int, ...],
    path: Path,
) -> None:
    """Encode every lead with ``render`` and pickle the files to ``path`` (in a child)."""
    path.write_bytes(pickle.dumps(render(lead_hours)))


def template_files(spec: DatasetSpec) -> list[ArchiveFile]:
    """Every lead's file of :data:`TEMPLATE_INIT` (the producer's whole inventory), encoded
    once, in lead order."""
    files: list[ArchiveFile] = pickle.loads(encode_template(spec).read_bytes())
    return files


def _time_bytes(when: dt.datetime) -> bytes:
    """GRIB2's 7-octet time: year (2 octets), month, day, hour, minute, second."""
    return bytes(
        [*when.year.to_bytes(2, "big"), when.month, when.day, when.hour, when.minute, when.second]
    )


@dataclass(frozen=True)
class _TimeFields:
    """Where one file's times are: every message's reference time (section 1, octets 13-19)
    and every statistical message's end of interval (template 4.8, octets 35-41)."""

    reference: tuple[int, ...]
    interval_end: tuple[int, ...]


def _time_fields(file: ArchiveFile) -> _TimeFields:
    data = file.data
    reference: list[int] = []
    interval_end: list[int] = []
    for message in file.messages:
        start = message.offset
        if data[start : start + 4] != b"GRIB" or data[start + _SECTION0 + 4] != 1:
            raise ValueError(f"no GRIB2 section 1 at offset {start} of {file.data_key}")
        section1 = start + _SECTION0
        reference.append(section1 + 12)
        pos = section1 + int.from_bytes(data[section1 : section1 + 4], "big")
        while data[pos + 4] != 4:  # sections 2 and 3
            pos += int.from_bytes(data[pos : pos + 4], "big")
        if int.from_bytes(data[pos + 7 : pos + 9], "big") == _PDT_STATISTICAL:
            interval_end.append(pos + 34)
    # Rewritten as a whole below: check they are what the encoder wrote (every window of a
    # file ends at its lead).
    valid = file.init + dt.timedelta(hours=file.lead_hours)
    expected = {pos: _time_bytes(file.init) for pos in reference}
    expected.update({pos: _time_bytes(valid) for pos in interval_end})
    for pos, value in expected.items():
        if data[pos : pos + 7] != value:
            raise ValueError(f"unexpected time at offset {pos} of {file.data_key}")
    return _TimeFields(tuple(reference), tuple(interval_end))


class Redater:
    """Every file of a template init, as it would be for any other init (:meth:`files`): the
    index's ``d=`` dates, every message's reference time and every statistical message's end
    of interval rewritten, keys following. Values are the template's (nothing here decodes
    them); headers are what the encoder writes for that init."""

    def __init__(self, template: list[ArchiveFile]) -> None:
        self.template = template
        self.fields = [_time_fields(file) for file in template]

    def files(self, init: dt.datetime) -> list[ArchiveFile]:
        """Every template file as published for ``init`` (a cycle the producer runs: the
        archive's key functions raise otherwise)."""
        return [
            self._redate(file, fields, init)
            for file, fields in zip(self.template, self.fields, strict=True)
        ]

    @staticmethod
    def _redate(file: ArchiveFile, fields: _TimeFields, init: dt.datetime) -> ArchiveFile:
        if init == file.init:
            return file
        data = bytearray(file.data)
        reference = _time_bytes(init)
        for pos in fields.reference:
            data[pos : pos + 7] = reference
        interval_end = _time_bytes(init + dt.timedelta(hours=file.lead_hours))
        for pos in fields.interval_end:
            data[pos : pos + 7] = interval_end
        old, new = f"d={file.init:%Y%m%d%H}", f"d={init:%Y%m%d%H}"
        keys = _dataset_of_file(file)
        return replace(
            file,
            init=init,
            data_key=keys.data_key(init, file.lead_hours),
            index_key=keys.index_key(init, file.lead_hours),
            data=bytes(data),
            index_text=file.index_text.replace(old, new),
        )
