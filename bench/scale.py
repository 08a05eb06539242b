"""Scale benchmark: months of GFS refs (every variable, 209 leads, ~743 messages a file) written
through the pipeline's writer into an S3 repository on the loopback S3 API, in commits shaped
like production, with a reader opening the repository as it grows.

The refs are synthetic only in where they come from: one init's files of the offline archive
(:mod:`bench.archive`, NCEP's whole inventory on a tiny grid) are parsed and placed once by the
pipeline (:func:`vidx_pipeline.fetch.place_file`: index format, provider, placement table), and
every init reuses those placements with its own keys, urls and last-modified checksums (the
offsets and lengths of the archive's files, which are the same bytes for every init). Nothing is
listed or fetched per init: what is measured is the writer (:meth:`IngestRun.commit_pending`:
:func:`write_refs` -> icechunk commit -> tag of each completed partition) and the reader.

Commit shapes, as production makes them (:mod:`vidx_pipeline.orchestration.assets`):

- **backfill** (the bulk): a backfill run holds ``BACKFILL_PARTITIONS_PER_RUN`` (4) past
  partitions, whose 836 files (< ``max_files_per_commit``) one poll fetches and one commit
  writes: one commit per 4 inits;
- **operational** (a sample): the publication sensor's runs commit what each poll finds, about
  one file per commit. The first init, and the init after the last month, are written this way:
  their first ``--operational-files`` files one commit each, then the rest of the init in one
  commit.

The repository is on its own ``moto_server`` (private bucket, signed requests, as
``bench/latency.py --repo s3``), the producer's bucket on another (public read). The f000 file of
the first init, of the last init of every month and of the final init is published there for
real, before its commit (so that the reader's chunk is a real GRIB message, decoded by
``gribberish``, and its ref's checksum is the object's); every other ref points at an object
that is never written. At the end the first init's f000 is replaced and its chunk read again:
the ref's checksum must refuse it.

Each month ends with measurements: bytes of the repository by kind (a listing of its bucket),
the newest snapshot's size, and a reader in a fresh process (``open_spec_dataset`` on ``main``,
as :func:`vidx_pipeline.catalog.open_dataset` does it): open seconds (the process's first open,
then the median of 3 more, each reading the repository anew), one chunk of the newest init read
and decoded, and (at the end) one of the first init; peak RSS (``VmHWM``). Writer peak RSS is
this process's.

Targets: commit time and reader open time flat within 1.5x from the first to the last month
(backfill: the month's median commit; operational: the per-file commits of the first and the
final init; open: at each month's end); reader open <= 1 s; <= 16 bytes per ref on disk (every
ref with its checksum). A year (1,460 inits, ~227M refs) is ``--months 12``; ``--budget-minutes``
starts no further month past that time (the longest run that fits), and the JSON then projects
the year from the measured months (``projected_year``: linear fits per month; the operational
commit on the line through its two measured points; snapshots, which each list every manifest,
summed as they grow) beside what was ``measured``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/scale.py): import from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import icechunk
import numpy as np
import obstore
from obstore.store import ObjectStore, S3Store

from bench.archive import TEMPLATE_INIT, Redater, encode_template, template_files, tiny_gfs_spec
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.catalog.reader import open_spec_dataset
from vidx_pipeline.catalog.version import MAIN
from vidx_pipeline.fetch import checksum_of, place_file
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.ingest import IngestRun, IngestSettings
from vidx_pipeline.locations import Locations
from vidx_pipeline.orchestration.assets import BACKFILL_PARTITIONS_PER_RUN
from vidx_pipeline.placement import FileRefs
from vidx_pipeline.refs import locator_for
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec

TARGETS = {
    "commit_growth_max": 1.5,
    "open_growth_max": 1.5,
    "open_seconds_max": 1.0,
    "bytes_per_ref_max": 16.0,
}
REPO_BUCKET = "vidx-bench-repositories"
REPO_PREFIX = "vidx"
READ_VARIABLE = "temperature_2m"
"""The variable of the chunk the reader reads (lead 0 of an init whose f000 is published)."""
YEAR_MONTHS = 12
REOPENS = 3
"""Opens after the reader process's first (whose figure includes one-time imports)."""
PUBLISHED_AFTER = dt.timedelta(hours=3, minutes=30)
"""Synthetic last-modified of an init's first file (the rest follow ~20 s apart)."""


# ----------------------------------------------------------------------------------------------
# The archive (child process): one init placed by the pipeline, and the files readers read


_ARCHIVE: tuple[S3Store, Redater] | None = None


def _start_archive(s3: LocalS3, bucket: str) -> None:
    global _ARCHIVE
    _ARCHIVE = (s3.store(bucket), Redater(template_files(tiny_gfs_spec())))


def _archive() -> tuple[S3Store, Redater]:
    assert _ARCHIVE is not None, "not the archive process"
    return _ARCHIVE


def template_refs() -> list[FileRefs]:
    """Every file of :data:`TEMPLATE_INIT`, parsed and placed by the pipeline."""
    spec = tiny_gfs_spec()
    locator = locator_for(spec)
    _, redater = _archive()
    placed = []
    for expected, archived in zip(
        expected_files(spec, TEMPLATE_INIT), redater.template, strict=True
    ):
        assert expected.data_key == archived.data_key, (expected.data_key, archived.data_key)
        data = SourceObject(expected.data_key, len(archived.data), TEMPLATE_INIT, None)
        refs = place_file(spec, locator, expected, data, archived.index_text, "fail")
        assert not refs.unplaced, refs.unplaced[:3]
        assert not refs.refused, refs.refused[:3]
        placed.append(refs)
    return placed


def publish_first_file(init: dt.datetime) -> SourceObject:
    """Write ``init``'s f000 (data and index) and return its data object as listed."""
    store, redater = _archive()
    (file,) = Redater(redater.template[:1]).files(init)

    async def put() -> None:
        await obstore.put_async(store, file.data_key, file.data)
        await obstore.put_async(store, file.index_key, file.index_text.encode())

    asyncio.run(put())
    meta = obstore.head(store, file.data_key)
    return SourceObject(file.data_key, meta["size"], meta["last_modified"], meta["e_tag"])


# ----------------------------------------------------------------------------------------------
# The reader (a fresh child process per probe)


def read_probe(
    spec_json: str, locations: Locations, positions: Sequence[int], variable: str
) -> dict[str, object]:
    """Open ``main`` as a reader does (the first open of the process, then
    :data:`REOPENS` more, each a new repository object reading everything again), read one
    chunk (lead 0 of ``variable``) at each append position. Seconds, peak RSS (this process's
    own: ``VmHWM``, not ``ru_maxrss``, which a spawned child inherits from its parent)."""
    spec = DatasetSpec.model_validate_json(spec_json)
    rss_before = _vm_hwm_mb()
    started = time.perf_counter()
    dataset = open_spec_dataset(spec, locations, MAIN)
    first_open = time.perf_counter() - started
    reads = []
    for position in positions:
        started = time.perf_counter()
        values = np.asarray(dataset[variable].isel({spec.append_dimension.name: position})[0])
        reads.append(time.perf_counter() - started)
        if not np.isfinite(values).any():
            raise RuntimeError(f"{variable} at position {position} read as all NaN")
    reopens = []
    for _ in range(REOPENS):
        started = time.perf_counter()
        open_spec_dataset(spec, locations, MAIN)
        reopens.append(time.perf_counter() - started)
    return {
        "open_first_seconds": first_open,
        "open_seconds": statistics.median(reopens),
        "read_seconds": reads,
        "append_length": int(dataset.sizes[spec.append_dimension.name]),
        "rss_mb_after_imports": rss_before,
        "peak_rss_mb": _vm_hwm_mb(),
    }


def _vm_hwm_mb() -> float:
    """This process's peak resident set (``VmHWM``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def read_refused(spec_json: str, locations: Locations, position: int, variable: str) -> str:
    """Read lead 0 of ``variable`` at ``position``; the error's first line, or "" if it read."""
    spec = DatasetSpec.model_validate_json(spec_json)
    dataset = open_spec_dataset(spec, locations, MAIN)
    try:
        np.asarray(dataset[variable].isel({spec.append_dimension.name: position})[0])
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return ""


def probe_refused(spec: DatasetSpec, locations: Locations, position: int) -> str:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as reader:
        return reader.submit(
            read_refused, spec.model_dump_json(), locations, position, READ_VARIABLE
        ).result()


def probe_reader(
    spec: DatasetSpec, locations: Locations, positions: Sequence[int]
) -> dict[str, object]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as reader:
        future = reader.submit(
            read_probe, spec.model_dump_json(), locations, list(positions), READ_VARIABLE
        )
        return future.result()


# ----------------------------------------------------------------------------------------------
# The writer (this process)


@dataclass
class TimedRepository(DatasetRepository):
    """The repository, with the duration of each icechunk commit recorded."""

    commit_seconds: list[float] = field(default_factory=list)

    def commit(self, session: icechunk.Session, message: str, metadata: dict[str, object]) -> str:
        started = time.perf_counter()
        snapshot = super().commit(session, message, metadata)
        self.commit_seconds.append(time.perf_counter() - started)
        return snapshot


class SyntheticInits:
    """Every init's files as placed refs: the template init's placements with the init's keys,
    urls and checksums (a published file's from its listing, the others synthetic)."""

    def __init__(self, spec: DatasetSpec, template: list[FileRefs]) -> None:
        self.spec = spec
        self.by_lead = {refs.file.lead_hours: refs for refs in template}
        self.published: dict[str, SourceObject] = {}

    def files(self, init: dt.datetime) -> list[FileRefs]:
        prefix = self.spec.source.store.url_prefix
        placed = []
        for number, file in enumerate(expected_files(self.spec, init)):
            template = self.by_lead[file.lead_hours]
            data = self.published.get(file.data_key) or SourceObject(
                file.data_key,
                template.data.size,
                init + PUBLISHED_AFTER + dt.timedelta(seconds=20 * number),
                None,
            )
            placed.append(
                dataclasses.replace(
                    template,
                    file=file,
                    data=data,
                    url=prefix + file.data_key,
                    checksum=checksum_of(self.spec, data),
                )
            )
        return placed


@dataclass
class Commit:
    """One commit: its shape, the inits it held, refs, seconds (``commit_pending``: refs
    written into the session, icechunk commit, tags) and the icechunk commit alone."""

    shape: str  # "backfill", "operational" (one file) or "operational-rest"
    month: int
    inits: int  # inits in the archive after it
    files: int
    refs: int
    seconds: float
    icechunk_seconds: float


class Writer:
    def __init__(
        self,
        spec: DatasetSpec,
        repository: TimedRepository,
        source: ObjectStore,
        synthetic: SyntheticInits,
    ) -> None:
        self.spec = spec
        self.repository = repository
        self.source = source
        self.synthetic = synthetic
        self.commits: list[Commit] = []
        self.inits_written = 0
        self.run_start_seconds: list[float] = []  # IngestRun(): each partition's progress read

    def _run(self, inits: Sequence[dt.datetime]) -> IngestRun:
        # The run a backfill or operational job starts (it reads the partitions' progress from
        # the repository); its commits are the production commits, fed placed refs.
        started = time.perf_counter()
        run = IngestRun(self.spec, self.repository, self.source, inits, IngestSettings())
        self.run_start_seconds.append(time.perf_counter() - started)
        return run

    def _commit(
        self, run: IngestRun, files: dict[dt.datetime, list[FileRefs]], shape: str, month: int
    ) -> None:
        for state in run.partitions:
            for refs in files.get(state.time, []):
                state.pending[refs.file.progress_index] = refs
        done_before = sum(s.result.files_ingested for s in run.partitions)
        refs_before = sum(s.result.refs_written for s in run.partitions)
        started = time.perf_counter()
        snapshot = run.commit_pending()
        seconds = time.perf_counter() - started
        assert snapshot is not None
        complete = sum(1 for s in run.partitions if s.result.complete)
        self.commits.append(
            Commit(
                shape=shape,
                month=month,
                inits=self.inits_written + complete,
                files=sum(s.result.files_ingested for s in run.partitions) - done_before,
                refs=sum(s.result.refs_written for s in run.partitions) - refs_before,
                seconds=seconds,
                icechunk_seconds=self.repository.commit_seconds[-1],
            )
        )

    def backfill(self, inits: Sequence[dt.datetime], month: int) -> None:
        """One backfill run of ``inits`` (up to 4): one commit."""
        run = self._run(inits)
        self._commit(run, {init: self.synthetic.files(init) for init in inits}, "backfill", month)
        assert all(s.result.tag for s in run.partitions), "a backfilled partition is not tagged"
        self.inits_written += len(inits)

    def operational(self, init: dt.datetime, per_file: int, month: int) -> None:
        """One operational run of ``init``: its first ``per_file`` files one commit each (as the
        run's polls find them), then the rest in one commit."""
        run = self._run([init])
        files = self.synthetic.files(init)
        for refs in files[:per_file]:
            self._commit(run, {init: [refs]}, "operational", month)
        if files[per_file:]:
            self._commit(run, {init: files[per_file:]}, "operational-rest", month)
        assert run.partitions[0].result.tag, "an operational partition is not tagged"
        self.inits_written += 1


def repository_bytes(store: S3Store, prefix: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Bytes and objects of the repository by kind (manifests, snapshots, transactions...),
    and the newest snapshot's size, from a listing of its bucket."""
    by_kind: dict[str, int] = {}
    count: dict[str, int] = {}
    newest: tuple[dt.datetime, int] | None = None
    for batch in obstore.list(store, prefix=prefix + "/", chunk_size=1000):
        for meta in batch:
            parts = meta["path"][len(prefix) + 1 :].split("/")
            kind = parts[0] if len(parts) > 1 else "root"
            by_kind[kind] = by_kind.get(kind, 0) + meta["size"]
            count[kind] = count.get(kind, 0) + 1
            if kind == "snapshots" and (newest is None or meta["last_modified"] > newest[0]):
                newest = (meta["last_modified"], meta["size"])
    return by_kind, count, newest[1] if newest else 0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares line (intercept, slope); a constant for one point."""
    if len(xs) < 2:
        return (ys[0], 0.0)
    slope, intercept = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return float(intercept), float(slope)


def month_of(spec: DatasetSpec, init: dt.datetime) -> int:
    start = spec.append_dimension.start
    return (init.year - start.year) * 12 + init.month - start.month


def inits_of_months(spec: DatasetSpec, months: int) -> list[dt.datetime]:
    axis = spec.append_dimension
    inits: list[dt.datetime] = []
    while True:
        init = axis.start + len(inits) * axis.frequency
        if month_of(spec, init) >= months:
            return inits
        inits.append(init)


# ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--months",
        type=int,
        default=2,
        help="calendar months from the archive's start (a year: 12)",
    )
    parser.add_argument(
        "--inits", type=int, default=None, help="stop after this many inits (smoke runs)"
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=30.0,
        help="start no further month past this many minutes (the longest run that fits; 0: none)",
    )
    parser.add_argument(
        "--operational-files",
        type=int,
        default=20,
        help="files committed one by one in the first and the last init (the rest: one commit)",
    )
    args = parser.parse_args()

    spec = tiny_gfs_spec()
    inits = inits_of_months(spec, args.months)
    if args.inits is not None:
        inits = inits[: args.inits]
    months = month_of(spec, inits[-1]) + 1
    if args.inits is not None and len(inits) < 2:
        parser.error("--inits: at least 2")
    bucket = spec.source.store.bucket  # type: ignore[union-attr]
    t0 = time.perf_counter()
    encode_template(spec)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_s3_server(Path(tmp) / "producer.log") as producer,
        running_s3_server(Path(tmp) / "repositories.log") as repo_server,
        ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_archive,
            initargs=(producer, bucket),
        ) as archive,
    ):
        producer.create_bucket(bucket, public_read=True)
        repo_server.create_bucket(REPO_BUCKET)
        # Writer and reader sign with the standard AWS variables (the loopback's dummy keys).
        os.environ.update({k: v for k, v in repo_server.env().items() if k.startswith("AWS_")})
        settings = RepositorySettings(
            kind="s3",
            bucket=REPO_BUCKET,
            prefix=REPO_PREFIX,
            region=repo_server.region,
            endpoint=repo_server.endpoint,
        )
        locations = Locations(repository=settings, source_endpoint=producer.endpoint)
        synthetic = SyntheticInits(spec, archive.submit(template_refs).result())
        refs_per_init = sum(len(refs) for refs in synthetic.by_lead.values())
        files_per_init = len(synthetic.by_lead)
        print(
            f"{len(inits)} inits ({months} months from {inits[0]:%Y-%m-%d}), {files_per_init} "
            f"files and {refs_per_init} refs per init, {len(inits) * refs_per_init:,} refs; "
            f"ready in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        opened = open_repository(spec, settings, source_endpoint=producer.endpoint)
        repository = TimedRepository(spec=opened.spec, settings=opened.settings, repo=opened.repo)
        source = open_source_store(spec.source.store, producer.endpoint)
        writer = Writer(spec, repository, source, synthetic)
        repo_store = repo_server.store(REPO_BUCKET)
        repo_prefix = f"{REPO_PREFIX}/{spec.dataset_id}"
        template_bytes = sum(repository_bytes(repo_store, repo_prefix)[0].values())

        # Inits whose f000 is real (the reader reads their chunk): the first, each month's
        # last, and the final (operational) one, each published before its commit.
        def publish(init: dt.datetime) -> None:
            obj = archive.submit(publish_first_file, init).result()
            synthetic.published[obj.key] = obj

        monthly: list[dict[str, object]] = []
        probes: list[dict[str, object]] = []
        load_start = os.getloadavg()[0]
        rss_before = _rss_mb()
        started = time.perf_counter()

        def measure(after: dt.datetime, label: str) -> None:
            position = spec.append_dimension.index_of(after)
            positions = [position, 0] if label == "end" else [position]
            t = time.perf_counter()
            by_kind, count, newest_snapshot = repository_bytes(repo_store, repo_prefix)
            list_seconds = time.perf_counter() - t
            probe = probe_reader(spec, locations, positions)
            probe.update(
                label=label,
                inits=writer.inits_written,
                refs=sum(c.refs for c in writer.commits),
                bytes_by_kind=by_kind,
                objects_by_kind=count,
                newest_snapshot_bytes=newest_snapshot,
                writer_peak_rss_mb=round(_rss_mb(), 1),
                listing_seconds=round(list_seconds, 2),
                load=round(os.getloadavg()[0], 1),
            )
            probes.append(probe)
            refs = int(probe["refs"])  # type: ignore[call-overload]
            print(
                f"  [{label}] {writer.inits_written} inits, {refs:,} refs: "
                f"{sum(by_kind.values()) / refs:.2f} bytes/ref "
                f"({', '.join(f'{k} {v / refs:.2f}' for k, v in sorted(by_kind.items()))}), "
                f"newest snapshot {newest_snapshot / 1e6:.2f} MB; reader open "
                f"{probe['open_seconds']:.3f}s (first in process "
                f"{probe['open_first_seconds']:.3f}s), read "
                f"{', '.join(f'{s:.3f}' for s in probe['read_seconds'])}s, reader peak RSS "  # type: ignore[attr-defined]
                f"{probe['peak_rss_mb']:.0f} MB; writer peak RSS {_rss_mb():.0f} MB; load "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )

        def operational(init: dt.datetime, label: str) -> None:
            publish(init)
            writer.operational(init, args.operational_files, month_of(spec, init))
            ops = [c for c in writer.commits if c.shape == "operational"]
            ops = ops[-args.operational_files :]
            print(
                f"{init:%Y-%m-%dT%H} operational ({label}): per-file commit median "
                f"{_median([c.seconds for c in ops]):.3f}s (icechunk "
                f"{_median([c.icechunk_seconds for c in ops]):.3f}s), rest of the init "
                f"{writer.commits[-1].seconds:.3f}s",
                flush=True,
            )
            measure(init, label)

        # The first init operational; then month by month, backfill runs of 4 inits (within the
        # month); then the init after the last month operational. A month ends with the
        # repository's bytes and a reader; past --budget-minutes no further month is started.
        operational(inits[0], "start")
        backfill = inits[1:]
        number = 0
        while number < len(backfill):
            month = month_of(spec, backfill[number])
            group = backfill[number : number + BACKFILL_PARTITIONS_PER_RUN]
            group = [init for init in group if month_of(spec, init) == month]
            number += len(group)
            month_ends = number == len(backfill) or month_of(spec, backfill[number]) != month
            if month_ends:
                publish(group[-1])
            writer.backfill(group, month)
            if not month_ends:
                continue
            commits = [c for c in writer.commits if c.shape == "backfill" and c.month == month]
            monthly.append(
                {
                    "month": month + 1,
                    "inits": writer.inits_written,
                    "backfill_commits": len(commits),
                    "backfill_commit_seconds_median": _median([c.seconds for c in commits]),
                    "backfill_icechunk_seconds_median": _median(
                        [c.icechunk_seconds for c in commits]
                    ),
                    "run_start_seconds_median": _median(writer.run_start_seconds[-len(commits) :]),
                }
            )
            elapsed = time.perf_counter() - started
            print(
                f"month {month + 1} ({group[-1]:%Y-%m}): {writer.inits_written} inits, "
                f"{len(commits)} backfill commits ({BACKFILL_PARTITIONS_PER_RUN} inits, "
                f"{BACKFILL_PARTITIONS_PER_RUN * refs_per_init:,} refs each) median "
                f"{monthly[-1]['backfill_commit_seconds_median']:.2f}s (icechunk "
                f"{monthly[-1]['backfill_icechunk_seconds_median']:.2f}s), {elapsed:.0f}s so far",
                flush=True,
            )
            measure(group[-1], f"month {month + 1}")
            if args.budget_minutes and elapsed > 60 * args.budget_minutes:
                print(f"past --budget-minutes {args.budget_minutes}: no further month", flush=True)
                break
        axis = spec.append_dimension
        final = axis.value_at(axis.index_of(backfill[number - 1]) + 1)
        operational(final, "end")
        bench_seconds = time.perf_counter() - started
        written = [inits[0], *backfill[:number], final]

        # The checksum every ref carries: once the producer replaces an object, a read of its
        # refs is refused (the first init's f000, rewritten a second later).
        time.sleep(1.5)
        publish(inits[0])
        refused = probe_refused(spec, locations, 0)
        print(f"read after the object was replaced: {refused}", flush=True)

        # Each month's reader figures (probes[0] is the start).
        for entry, probe in zip(monthly, probes[1:], strict=False):
            entry.update(
                open_seconds=probe["open_seconds"],
                open_first_seconds=probe["open_first_seconds"],
                read_seconds=probe["read_seconds"][0],  # type: ignore[index]
                bytes_per_ref=sum(probe["bytes_by_kind"].values()) / probe["refs"],  # type: ignore[attr-defined,operator]
                newest_snapshot_bytes=probe["newest_snapshot_bytes"],
                load=probe["load"],
            )

    figures = summarize(spec, args, written, writer, monthly, probes, refs_per_init, files_per_init)
    figures["measured"]["read_refused_after_object_replaced"] = refused  # type: ignore[index]
    figures.update(
        template_bytes=template_bytes,
        writer_peak_rss_mb_before_first_commit=round(rss_before, 1),
        bench_seconds=round(bench_seconds, 1),
        load_average_start_end=[round(load_start, 1), round(os.getloadavg()[0], 1)],
    )
    print(json.dumps(figures))
    return 0


def summarize(
    spec: DatasetSpec,
    args: argparse.Namespace,
    inits: list[dt.datetime],
    writer: Writer,
    monthly: list[dict[str, object]],
    probes: list[dict[str, object]],
    refs_per_init: int,
    files_per_init: int,
) -> dict[str, object]:
    """The JSON figures: measured, and the year projected from the measured months."""

    def r(value: float, digits: int = 3) -> float:
        return round(float(value), digits)

    def num(entry: dict[str, object], key: str) -> float:
        value = entry[key]
        assert isinstance(value, int | float)
        return float(value)

    start, end = probes[0], probes[-1]
    ops = [c for c in writer.commits if c.shape == "operational"]
    n_ops = args.operational_files
    ops_start, ops_end = ops[:n_ops], ops[n_ops:] if len(ops) > n_ops else ops
    refs = sum(c.refs for c in writer.commits)
    end_bytes: dict[str, int] = end["bytes_by_kind"]  # type: ignore[assignment]
    total_bytes = sum(end_bytes.values())
    first, last = monthly[0], monthly[-1]
    commit_growth = num(last, "backfill_commit_seconds_median") / num(
        first, "backfill_commit_seconds_median"
    )
    op_growth = _median([c.seconds for c in ops_end]) / _median([c.seconds for c in ops_start])
    open_growth = num(last, "open_seconds") / num(first, "open_seconds")
    read_end: list[float] = end["read_seconds"]  # type: ignore[assignment]
    measured: dict[str, object] = {
        "months": len(monthly),
        "inits": len(inits),
        "files_per_init": files_per_init,
        "refs_per_init": refs_per_init,
        "refs": refs,
        "commits": len(writer.commits),
        "commit_shape": (
            f"backfill: {BACKFILL_PARTITIONS_PER_RUN} inits per commit (one run); operational: "
            f"first and last init, {n_ops} files one commit each, then the rest in one commit"
        ),
        "backfill_commit_seconds_median_by_month": [
            r(num(m, "backfill_commit_seconds_median")) for m in monthly
        ],
        "backfill_icechunk_seconds_median_by_month": [
            r(num(m, "backfill_icechunk_seconds_median")) for m in monthly
        ],
        "backfill_commit_growth_first_to_last_month": r(commit_growth),
        "operational_commit_growth_start_end": r(op_growth),
        "commit_growth_first_to_last_month": r(max(commit_growth, op_growth)),
        "load_average_by_month": [num(m, "load") for m in monthly],
        "operational_commit_seconds_median_start_end": [
            r(_median([c.seconds for c in ops_start])),
            r(_median([c.seconds for c in ops_end])),
        ],
        "operational_icechunk_seconds_median_start_end": [
            r(_median([c.icechunk_seconds for c in ops_start])),
            r(_median([c.icechunk_seconds for c in ops_end])),
        ],
        "open_seconds_start_then_by_month": [r(num(start, "open_seconds"))]
        + [r(num(m, "open_seconds")) for m in monthly],
        "open_first_in_process_seconds_start_then_by_month": [r(num(start, "open_first_seconds"))]
        + [r(num(m, "open_first_seconds")) for m in monthly],
        "open_seconds_end": r(num(end, "open_seconds")),
        "open_growth_first_to_last_month": r(open_growth),
        "run_start_seconds_median_by_month": [
            r(num(m, "run_start_seconds_median")) for m in monthly
        ],
        "read_chunk_seconds_start_end": [r(start["read_seconds"][0]), r(read_end[0])],  # type: ignore[index]
        "read_first_init_chunk_seconds_end": r(read_end[-1]),
        "bytes_per_ref": r(total_bytes / refs, 2),
        "bytes_per_ref_by_kind": {k: r(v / refs, 3) for k, v in sorted(end_bytes.items())},
        "bytes_per_ref_by_month": [r(num(m, "bytes_per_ref"), 2) for m in monthly],
        "repository_bytes": total_bytes,
        "objects_by_kind": end["objects_by_kind"],
        "newest_snapshot_bytes_start_end": [
            start["newest_snapshot_bytes"],
            end["newest_snapshot_bytes"],
        ],
        "writer_peak_rss_mb": r(num(end, "writer_peak_rss_mb"), 1),
        "reader_peak_rss_mb_start_end": [
            r(num(start, "peak_rss_mb"), 1),
            r(num(end, "peak_rss_mb"), 1),
        ],
        "reader_rss_mb_after_imports": r(num(end, "rss_mb_after_imports"), 1),
    }

    # The year, projected from the measured months (None when the run was a year).
    projected: dict[str, object] | None = None
    year_inits = len(inits_of_months(spec, YEAR_MONTHS))
    if len(monthly) < YEAR_MONTHS:
        xs = [num(m, "inits") for m in monthly]
        c0, c1 = _fit(xs, [num(m, "backfill_commit_seconds_median") for m in monthly])
        o0, o1 = _fit(xs, [num(m, "open_seconds") for m in monthly])
        s0, s1 = _fit(
            [float(p["inits"]) for p in probes],  # type: ignore[arg-type]
            [float(p["newest_snapshot_bytes"]) for p in probes],  # type: ignore[arg-type]
        )
        year_refs = year_inits * refs_per_init
        # Everything but snapshots grows with the refs (per-ref bytes of the run); every
        # snapshot lists every manifest, so each is s0 + s1 * inits and all are kept (each
        # backfill commit's snapshot is a partition's tag).
        per_ref = {k: v / refs for k, v in end_bytes.items() if k != "snapshots"}
        commits_year = year_inits / BACKFILL_PARTITIONS_PER_RUN
        snapshots_year = sum(
            s0 + s1 * BACKFILL_PARTITIONS_PER_RUN * (k + 1) for k in range(int(commits_year))
        )
        year_bytes = sum(per_ref.values()) * year_refs + snapshots_year
        first_commit = c0 + c1 * xs[0]
        first_open = o0 + o1 * xs[0]
        # Backfill commits: never projected below the last month measured (a load that fell
        # during the run makes the wall-clock fit fall).
        backfill_year = max(c0 + c1 * year_inits, num(last, "backfill_commit_seconds_median"))
        # Operational per-file commits: a line through the two measured points (the first init,
        # the init after the last month), in inits in the archive.
        op_start, op_end = (
            _median([c.seconds for c in ops_start]),
            _median([c.seconds for c in ops_end]),
        )
        op_slope = (op_end - op_start) / (len(inits) - 1)
        op_first_month = op_start + op_slope * (xs[0] - 1)
        op_year = op_start + op_slope * (year_inits - 1)
        projected = {
            "inits": year_inits,
            "refs": year_refs,
            "method": (
                "linear fits over the measured months (by inits in the archive) of the median "
                "backfill commit (wall clock: the machine's load moves it; never below the last "
                "month measured), the reader's open and the newest snapshot's size; the "
                "operational per-file commit on the line through its two measured points; bytes "
                "other than snapshots per ref as measured; every backfill snapshot kept (tagged)"
            ),
            "backfill_commit_seconds_last_month": r(backfill_year),
            "backfill_commit_growth_first_to_last_month": r(backfill_year / first_commit),
            "operational_commit_seconds_first_month_last_month": [
                r(op_first_month),
                r(op_year),
            ],
            "operational_commit_growth_first_to_last_month": r(op_year / op_first_month),
            "commit_growth_first_to_last_month": r(
                max(backfill_year / first_commit, op_year / op_first_month)
            ),
            "open_seconds_last_month": r(o0 + o1 * year_inits),
            "open_growth_first_to_last_month": r((o0 + o1 * year_inits) / first_open),
            "newest_snapshot_bytes": round(s0 + s1 * year_inits),
            "bytes_per_ref": r(year_bytes / year_refs, 2),
            "bytes_per_ref_snapshots": r(snapshots_year / year_refs, 2),
            "repository_bytes": round(year_bytes),
        }
    year = projected or measured
    figures: dict[str, object] = {"measured": measured, "projected_year": projected}
    open_worst = max(num(m, "open_seconds") for m in monthly)
    if projected is not None:
        open_worst = max(open_worst, num(projected, "open_seconds_last_month"))
    figures["targets_met"] = {
        "commit_growth": num(year, "commit_growth_first_to_last_month")
        <= TARGETS["commit_growth_max"],
        "open_growth": num(year, "open_growth_first_to_last_month") <= TARGETS["open_growth_max"],
        "open_seconds": open_worst <= TARGETS["open_seconds_max"],
        "bytes_per_ref": num(year, "bytes_per_ref") <= TARGETS["bytes_per_ref_max"],
    }
    figures["targets_judged_on"] = "projected year" if projected else "measured year"
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
