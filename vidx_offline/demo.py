"""``make demo``: the whole chain, offline, from nothing.

1. start a real S3 API on loopback and write a GFS archive into ``noaa-gfs-bdp-pds`` in NCEP's
   layout (ecCodes-encoded GRIB2 at full 0.25° resolution, wgrib2 ``.idx`` inventories whose
   lines are the real ones for those fields);
2. materialize its init-time partition through the Dagster CLI, then again (idempotent:
   no new commit);
3. open the repository with plain icechunk + xarray, as a reader would, and print what it holds;
4. check a sample of chunks decoded through Icechunk against ecCodes' decode of the same GRIB
   messages, located independently from the archive writer's own record of what it wrote;
5. write a PNG map of one field;
6. the same for NOAA GEFS (``noaa-gefs-pds``, 0.5°, both file kinds of two members at two
   leads): materialize the partition, print the cube, and check every variable of one member
   and lead against ecCodes;
7. and for NOAA HRRR (``noaa-hrrr-bdp-pds``, the 3 km Lambert conformal grid, f00 with its
   zero-length windows and f01): every variable of f01 against ecCodes;
8. and for ECMWF IFS ENS (``ecmwf-forecasts``, the 0.25° grid, CCSDS packing, one file per step
   holding every member in shuffled order, a JSON-lines ``.index``): a few fields of three
   members at two steps, every message written checked against ecCodes (the fields and
   members not written are reported missing, as for a partial real file);
9. and the GFS analysis by valid time (the same GFS bucket): 00z from the f000 written in step
   1, 01z from an f001 holding a few fields (its 0-1 h precipitation is the hour before), each
   hour's ``source_lead_time`` printed and its fields checked against ecCodes;
10. every dataset above opened again with the catalog's one-liner, by branch and by tag;
11. and DWD ICON-EU from a real HTTP server on loopback (DWD's directory pages and file names,
    bz2-compressed CCSDS messages): mirrored, then ingested from the mirror, every chunk
    checked against ecCodes;
12. and the same for ICON-EU's icosahedral v1 tree (uncompressed messages on the 659,156-cell
    grid, a 1-D ``cell`` dim), which replaced the regular tree after 30 Nov 2026.

Exits non-zero if any step or check fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import icechunk
import numpy as np
import obstore
import xarray as xr

from vidx_offline.ecmwf_archive import EcmwfArchiveConfig, write_ecmwf_archive
from vidx_offline.ecmwf_encode import SAMPLE_FIELDS
from vidx_offline.gefs_archive import GefsArchiveConfig, write_gefs_archive
from vidx_offline.gfs_archive import (
    GfsArchiveConfig,
    MessageInfo,
    WrittenGfsFile,
    write_gfs_archive,
)
from vidx_offline.hrrr_archive import HrrrArchiveConfig, write_hrrr_archive
from vidx_offline.icon_demo import ICOSAHEDRAL, demo_icon_eu
from vidx_offline.processes import interrupt_on_termination, run_process_group
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.catalog import open_dataset, open_published
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.locations import locations_from_env
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT, asset_name
from vidx_pipeline.orchestration.resources import ENV_DEFAULTS
from vidx_pipeline.providers.noaa import level_texts, wgrib2_match, wgrib2_window_text
from vidx_pipeline.spec import DatasetSpec

OUTPUT = Path("demo-output")
INIT_TIMES = (dt.datetime(2025, 8, 1, 0, tzinfo=dt.UTC),)
# The analysis and a forecast lead with every statistical window: at the real 0.25° grid, every
# field NCEP writes (~743 messages a file) takes a minute or two to encode.
LEAD_HOURS = (0, 7)
SAMPLE_LEAD = 7
GEFS_MEMBERS = (0, 1)
GEFS_LEAD_HOURS = (0, 3)
GEFS_SAMPLE = (1, 3)  # (member, lead) whose every variable is checked against ecCodes
HRRR_LEAD_HOURS = (0, 1)
HRRR_SAMPLE_LEAD = 1
ECMWF_MEMBERS = (0, 1, 2)
ECMWF_LEAD_HOURS = (0, 6)
ANALYSIS_FIELDS = (("TMP", "2 m above ground"), ("APCP", "surface"), ("TMP", "500 mb"))
"""What the f001 file the GFS analysis demo adds holds (the others are reported absent)."""


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _materialize(partition: str, env: dict[str, str], spec: DatasetSpec) -> None:
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "asset",
        "materialize",
        "-m",
        "vidx_pipeline.definitions",
        "--select",
        asset_name(spec),
        "--partition",
        partition,
    ]
    _say(" ".join(command[1:]))
    completed = run_process_group(command, env)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"dagster asset materialize {partition} failed")
    absent = 0
    for line in completed.stderr.splitlines():
        if "expected field absent" in line:
            absent += 1
            if absent > 5:  # a partial archive (ECMWF: a few members) lacks thousands
                continue
        if "ingested now" in line or "expected field absent" in line:
            _say("  " + line.split(" - ")[-1])
    if absent > 5:
        _say(f"  ... {absent} expected fields absent in all")


def _count_refs(session: icechunk.Session, variable: str) -> int:
    async def count() -> int:
        return sum([1 async for _ in session.chunk_coordinates(f"/{variable}")])

    return asyncio.run(count())


def main() -> int:
    # A plain kill (SIGTERM) or Ctrl-C unwinds: the S3 server and any run in flight are stopped.
    interrupt_on_termination()
    started = time.perf_counter()
    spec = get_dataset("noaa-gfs-forecast")
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    repo_root = OUTPUT / "icechunk"
    failures: list[str] = []

    with running_s3_server(OUTPUT / "s3-server.log") as s3:
        _say(f"local S3 API on {s3.endpoint} (moto_server pid {s3.pid})")
        bucket = spec.source.s3.bucket
        s3.create_bucket(bucket, public_read=True)
        config = GfsArchiveConfig(
            init_times=INIT_TIMES,
            lead_hours=LEAD_HOURS,
            grid=spec.grid.shape,
            fields=None,  # the producer's whole inventory
        )
        t0 = time.perf_counter()
        written = write_gfs_archive(s3.store(bucket), config)
        messages = sum(len(f.messages) for f in written)
        _say(
            f"wrote {len(written)} GRIB2 files ({messages} messages, "
            f"{sum(f.data_size for f in written) / 1e6:.0f} MB) + .idx to s3://{bucket} "
            f"in {time.perf_counter() - t0:.1f}s"
        )

        env = {
            **os.environ,
            **ENV_DEFAULTS,
            **s3.env(),
            "VIDX_REPO_ROOT": str(repo_root),
            "DAGSTER_HOME": str((OUTPUT / "dagster-home").resolve()),
        }
        Path(env["DAGSTER_HOME"]).mkdir()
        # The documented set-up: the instance exists before any run starts (README, Deployment).
        run_process_group(
            [str(Path(sys.executable).with_name("dagster")), "instance", "migrate"], env
        ).check_returncode()
        partitions = [t.strftime(PARTITION_FORMAT) for t in INIT_TIMES]
        for partition in [*partitions, partitions[0]]:
            _materialize(partition, env, spec)

        # ---- read it back as a user would: plain icechunk + xarray -------------------------
        repo, ds = _open_dataset(spec, repo_root)
        session = repo.readonly_session(branch="main")
        ds = ds.sel(init_time=[t.replace(tzinfo=None) for t in INIT_TIMES])
        _say(f"dims: {dict(ds.sizes)} (init_time selected; the axis runs from the archive start)")
        _say(f"variables ({len(ds.data_vars)}): {', '.join(sorted(map(str, ds.data_vars)))}")
        print(ds[["temperature_2m", "temperature_isobaric", "wind_u_potential_vorticity"]])
        snapshots = list(repo.ancestry(branch="main"))
        for snapshot in snapshots:
            _say(f"snapshot {snapshot.id} {snapshot.message!r}")
        if len(snapshots) != 1 + 1 + len(INIT_TIMES):  # initial + template + one per partition
            failures.append(f"expected one commit per partition, got {len(snapshots)} snapshots")

        # The writer's own record of each message, by (init, lead, line text, occurrence):
        # NCEP's f006 holds "0-6 hour acc fcst" twice, given to variables in spec order.
        messages_by_field: dict[tuple[object, ...], MessageInfo] = {}
        for f in written:
            seen: dict[str, int] = {}
            for m in f.messages:
                text = f"{m.line.element}:{m.line.level}:{m.line.window}"
                messages_by_field[(f.init, f.lead_hours, text, seen.get(text, 0))] = m
                seen[text] = seen.get(text, 0) + 1
        refs = {v.name: _count_refs(session, v.name) for v in spec.variables}
        _say(f"refs: {sum(refs.values())} ({min(refs.values())}-{max(refs.values())} per variable)")
        levels = {
            level.name: ds.sizes[level.name] for level in spec.levels if level.name in ds.sizes
        }
        _say(f"level dimensions: {levels}")
        on_disk = sum(
            p.stat().st_size for p in (repo_root / spec.dataset_id).rglob("*") if p.is_file()
        )
        referenced_bytes = sum(f.data_size for f in written)
        _say(
            f"bytes on disk {on_disk:,} vs bytes referenced {referenced_bytes:,} "
            f"({referenced_bytes / on_disk:,.0f}x)"
        )
        progress = ds["ingested"].values
        _say(f"ingested leads per init: {progress.sum(axis=1).tolist()} of {len(spec.lead_hours)}")
        if progress.sum() != len(INIT_TIMES) * len(LEAD_HOURS):
            failures.append("not every published file is marked ingested")

        # ---- every variable at one lead, decoded through Icechunk vs ecCodes ----------------
        source = s3.store(bucket)
        checked = 0
        for init in INIT_TIMES:
            step = ds.sel(
                init_time=init.replace(tzinfo=None), lead_time=np.timedelta64(SAMPLE_LEAD, "h")
            )
            occurrences: dict[str, int] = {}
            for variable in spec.variables:
                window = wgrib2_window_text(variable.window, SAMPLE_LEAD)
                for level_text, value in level_texts(spec, variable, SAMPLE_LEAD):
                    text = f"{wgrib2_match(variable).element}:{level_text}:{window}"
                    occurrence = occurrences.get(text, 0)
                    occurrences[text] = occurrence + 1
                    # One level per level dimension: 500 hPa where the variable has it.
                    if value is not None and value not in (500.0, variable.levels[0]):
                        continue
                    info = messages_by_field[(init, SAMPLE_LEAD, text, occurrence)]
                    data_key = spec.source.files[0].data_key.format(
                        init=init, lead_hours=SAMPLE_LEAD
                    )
                    message = bytes(
                        obstore.get_range(source, data_key, start=info.offset, length=info.length)
                    )
                    expected = eccodes_decode(message)
                    field = step[variable.name]
                    if variable.level_dimension is not None:
                        field = field.sel({variable.level_dimension: value})
                    actual = field.values
                    same_mask = np.array_equal(np.isnan(actual), np.isnan(expected))
                    close = np.allclose(actual, expected, rtol=1e-6, atol=0, equal_nan=True)
                    if not (same_mask and close):
                        failures.append(f"{variable.name} {value} f{SAMPLE_LEAD:03d} differs")
                    checked += 1
        _say(
            f"decoded {checked} chunks (every variable at f{SAMPLE_LEAD:03d}) through Icechunk: "
            f"equal to ecCodes: {not failures}"
        )
        temperature_500 = step["temperature_isobaric"].sel(isobaric_level=500.0)
        _say(
            f"temperature_isobaric at 500 hPa, f{SAMPLE_LEAD:03d}: mean "
            f"{float(temperature_500.mean()):.1f} K"
        )

        # ---- a map -----------------------------------------------------------------------
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        field = (
            ds["temperature_2m"]
            .sel(init_time=INIT_TIMES[-1].replace(tzinfo=None))
            .isel(lead_time=LEAD_HOURS[-1])
        )
        figure, axes = plt.subplots(figsize=(10, 5))
        field.plot.pcolormesh(ax=axes, cmap="RdYlBu_r")
        axes.set_title(
            f"GFS 2 m temperature, init {INIT_TIMES[-1]:%Y-%m-%d %Hz} + {LEAD_HOURS[-1]} h "
            "(offline archive)"
        )
        png = OUTPUT / "temperature_2m.png"
        figure.savefig(png, dpi=80, bbox_inches="tight")
        _say(f"wrote {png}")

        gefs_refs = _demo_gefs(s3, env, failures)
        hrrr_refs = _demo_hrrr(s3, env, failures)
        ecmwf_refs = _demo_ecmwf(s3, env, failures)
        analysis_refs = _demo_analysis(s3, env, written, failures)
        _open_through_catalog(env, failures)
    icon_chunks = demo_icon_eu(OUTPUT / "icon-eu", failures, _say)
    icosahedral_chunks = demo_icon_eu(OUTPUT / "icon-eu-icosahedral", failures, _say, ICOSAHEDRAL)

    summary = {
        "ok": not failures,
        "failures": failures,
        "partitions": len(INIT_TIMES),
        "refs": sum(refs.values()),
        "gefs_refs": gefs_refs,
        "hrrr_refs": hrrr_refs,
        "ecmwf_refs": ecmwf_refs,
        "analysis_refs": analysis_refs,
        "icon_eu_chunks": icon_chunks,
        "icon_eu_icosahedral_chunks": icosahedral_chunks,
        "bytes_on_disk": on_disk,
        "bytes_referenced": referenced_bytes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))
    return 0 if not failures else 1


def _open_dataset(spec: DatasetSpec, repo_root: Path) -> tuple[icechunk.Repository, xr.Dataset]:
    """The repository and its dataset, opened with plain icechunk + xarray as a reader would."""
    storage = icechunk.local_filesystem_storage(str(repo_root / spec.dataset_id))
    credentials = icechunk.containers_credentials(
        {spec.source.store.url_prefix: icechunk.s3_anonymous_credentials()}
    )
    repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access=credentials)
    session = repo.readonly_session(branch="main")
    return repo, xr.open_zarr(session.store, consolidated=False)


class _WrittenFile(Protocol):
    @property
    def lead_hours(self) -> int: ...
    @property
    def data_key(self) -> str: ...
    @property
    def messages(self) -> tuple[MessageInfo, ...]: ...


def _producer(s3: LocalS3, spec: DatasetSpec) -> obstore.store.ObjectStore:
    """The producer's (public) bucket of ``spec`` on the loopback S3 API, created."""
    s3.create_bucket(spec.source.s3.bucket, public_read=True)
    return s3.store(spec.source.s3.bucket)


class _Listed(Protocol):
    @property
    def messages(self) -> Sequence[object]: ...


def _written[W: _Listed](spec: DatasetSpec, write: Callable[[], list[W]]) -> list[W]:
    """Run the archive writer, saying what it wrote."""
    t0 = time.perf_counter()
    written = write()
    _say(
        f"{spec.dataset_id}: wrote {len(written)} GRIB2 files "
        f"({sum(len(f.messages) for f in written)} messages) + .idx to "
        f"{spec.source.store.url_prefix} in {time.perf_counter() - t0:.1f}s"
    )
    return written


def _materialize_and_read(
    spec: DatasetSpec, env: dict[str, str], init: dt.datetime, show: list[str]
) -> xr.Dataset:
    """Materialize partition ``init`` through the Dagster CLI, open the dataset as a reader
    would, print its dims and the ``show`` variables; the dataset at that init."""
    _materialize(init.strftime(PARTITION_FORMAT), env, spec)
    _, ds = _open_dataset(spec, Path(env["VIDX_REPO_ROOT"]))
    ds = ds.sel(init_time=[init.replace(tzinfo=None)])
    _say(f"{spec.dataset_id} dims: {dict(ds.sizes)}; {len(ds.data_vars)} variables")
    print(ds[show])
    return ds


def _demo_gefs(s3: LocalS3, env: dict[str, str], failures: list[str]) -> int:
    """Step 6: a GEFS partition (two members, two leads, both file kinds) through the same CLI;
    returns its number of refs."""
    spec = get_dataset("noaa-gefs-forecast-35-day")
    init = INIT_TIMES[0]
    config = GefsArchiveConfig(
        init_times=(init,),
        lead_hours=GEFS_LEAD_HOURS,
        members=GEFS_MEMBERS,
        grid=spec.grid.shape,
    )
    producer = _producer(s3, spec)
    written = _written(spec, lambda: write_gefs_archive(producer, config))
    ds = _materialize_and_read(
        spec, env, init, ["temperature_2m", "temperature_isobaric", "maximum_temperature_2m"]
    )
    # Every variable of one member and lead, each level read from the file kind the writer put
    # it in, against ecCodes' decode of the bytes the writer recorded.
    member, lead = GEFS_SAMPLE
    step = ds.sel(
        init_time=init.replace(tzinfo=None),
        lead_time=np.timedelta64(lead, "h"),
        ensemble_member=member,
    )
    checked = 0
    for file in (f for f in written if (f.member, f.lead_hours) == GEFS_SAMPLE):
        checked += _check_file(spec, step, producer, file, file.kind, failures)
    _say(
        f"GEFS: decoded {checked} chunks (member {member}, f{lead:03d}, both file kinds) through "
        f"Icechunk: equal to ecCodes: {not failures}"
    )
    return int(sum(len(f.messages) for f in written))


def _demo_hrrr(s3: LocalS3, env: dict[str, str], failures: list[str]) -> int:
    """Step 7: an HRRR partition (f00 and f01 at full resolution) through the same CLI;
    returns its number of refs."""
    spec = get_dataset("noaa-hrrr-forecast-48-hour")
    init = INIT_TIMES[0]
    config = HrrrArchiveConfig(init_times=(init,), lead_hours=HRRR_LEAD_HOURS, grid=spec.grid.shape)
    producer = _producer(s3, spec)
    written = _written(spec, lambda: write_hrrr_archive(producer, config))
    ds = _materialize_and_read(
        spec, env, init, ["temperature_2m", "total_precipitation_surface", "wind_speed_10m_max"]
    )
    step = ds.sel(
        init_time=init.replace(tzinfo=None), lead_time=np.timedelta64(HRRR_SAMPLE_LEAD, "h")
    )
    checked = 0
    for file in (f for f in written if f.lead_hours == HRRR_SAMPLE_LEAD):
        checked += _check_file(spec, step, producer, file, spec.source.files[0].name, failures)
    _say(
        f"HRRR: decoded {checked} chunks (f{HRRR_SAMPLE_LEAD:02d}) through Icechunk: equal to "
        f"ecCodes: {not failures}"
    )
    return int(sum(len(f.messages) for f in written))


def _demo_ecmwf(s3: LocalS3, env: dict[str, str], failures: list[str]) -> int:
    """Step 8: an ECMWF ENS partition (a few fields of three members at two steps, the real
    0.25° grid) through the same CLI; every message written is read through the repository
    and compared with ecCodes' decode of its bytes. Returns the number of messages."""
    spec = get_dataset("ecmwf-ifs-ens-forecast-15-day")
    init = INIT_TIMES[0]
    config = EcmwfArchiveConfig(
        init_times=(init,),
        lead_hours=ECMWF_LEAD_HOURS,
        members=ECMWF_MEMBERS,
        grid=spec.grid.shape,
        fields=SAMPLE_FIELDS,
    )
    producer = _producer(s3, spec)
    written = _written(spec, lambda: write_ecmwf_archive(producer, config))
    ds = _materialize_and_read(
        spec, env, init, ["temperature_2m", "total_precipitation_surface", "temperature_isobaric"]
    )
    ds = ds.sel(init_time=init.replace(tzinfo=None))
    variables = {
        (v.match.param, v.match.levtype): v  # type: ignore[attr-defined]
        for v in spec.variables
    }
    checked = 0
    for file in written:
        for info in file.messages:
            variable = variables[info.field.param, info.field.levtype]
            labels: dict[str, object] = {
                "lead_time": np.timedelta64(file.lead_hours, "h"),
                "ensemble_member": info.member,
            }
            if variable.level_dimension is not None:
                labels[variable.level_dimension] = float(info.field.levelist or 0)
            message = bytes(
                obstore.get_range(producer, file.data_key, start=info.offset, length=info.length)
            )
            actual = ds[variable.name].sel(labels).values
            if not np.allclose(actual, eccodes_decode(message), rtol=1e-6, equal_nan=True):
                failures.append(f"{spec.dataset_id} {variable.name} {labels} differs")
            checked += 1
    _say(
        f"ECMWF ENS: decoded {checked} chunks ({len(ECMWF_MEMBERS)} members, steps "
        f"{ECMWF_LEAD_HOURS}, CCSDS) through Icechunk: equal to ecCodes: {not failures}"
    )
    return checked


def _demo_analysis(
    s3: LocalS3, env: dict[str, str], gfs_files: Sequence[WrittenGfsFile], failures: list[str]
) -> int:
    """Step 9: two hours of the GFS analysis through the same CLI, from the GFS bucket of step 1
    plus an f001 of a few fields; returns the refs of the two hours."""
    spec = get_dataset("noaa-gfs-analysis")
    cycle = INIT_TIMES[0]
    config = GfsArchiveConfig(
        init_times=(cycle,), lead_hours=(1,), grid=spec.grid.shape, fields=ANALYSIS_FIELDS
    )
    producer = _producer(s3, spec)
    f001 = _written(spec, lambda: write_gfs_archive(producer, config))
    hours = (cycle, cycle + dt.timedelta(hours=1))
    for hour in hours:
        _materialize(hour.strftime(PARTITION_FORMAT), env, spec)
    _, ds = _open_dataset(spec, Path(env["VIDX_REPO_ROOT"]))
    ds = ds.sel(time=[hour.replace(tzinfo=None) for hour in hours])
    _say(f"{spec.dataset_id} dims: {dict(ds.sizes)}; {len(ds.data_vars)} variables")
    print(ds[["temperature_2m", "total_precipitation_surface", "source_lead_time"]])
    files = {f.lead_hours: f for f in [*gfs_files, *f001] if f.init == cycle}
    samples = (
        (0, "temperature_2m", "TMP:2 m above ground:anl"),
        (1, "temperature_2m", "TMP:2 m above ground:1 hour fcst"),
        (1, "total_precipitation_surface", "APCP:surface:0-1 hour acc fcst"),
    )
    for lead, name, text in samples:
        file = files[lead]
        (info, *_) = [
            m for m in file.messages if f"{m.line.element}:{m.line.level}:{m.line.window}" == text
        ]
        message = bytes(
            obstore.get_range(producer, file.data_key, start=info.offset, length=info.length)
        )
        actual = ds[name].isel(time=lead).values
        if not np.allclose(actual, eccodes_decode(message), rtol=1e-6, equal_nan=True):
            failures.append(f"{spec.dataset_id} {name} {hours[lead]:%H}z differs")
    if not np.isnan(ds["total_precipitation_surface"].isel(time=0).values).all():
        failures.append(f"{spec.dataset_id}: precipitation at the f000 hour should be absent")
    leads = (ds["source_lead_time"].values / np.timedelta64(1, "h")).tolist()
    _say(
        f"GFS analysis: source_lead_time {leads} h; {len(samples)} chunks through Icechunk "
        f"equal to ecCodes: {not failures}"
    )
    return len(files[0].messages) + len(f001[0].messages)


CATALOG_DATASETS = (
    "noaa-gfs-forecast",
    "noaa-gefs-forecast-35-day",
    "noaa-hrrr-forecast-48-hour",
    "ecmwf-ifs-ens-forecast-15-day",
    "noaa-gfs-analysis",
)


def _open_through_catalog(env: dict[str, str], failures: list[str]) -> None:
    """Step 10: every dataset built above, opened as a reader would with the catalog's one-liner
    (repository locations from the same ``VIDX_*`` variables), by branch and by each tag of a
    complete partition; a tagged version must read as the branch does at that partition."""
    locations = locations_from_env(env)
    for dataset_id in CATALOG_DATASETS:
        ds = open_dataset(dataset_id, locations=locations)
        repository = open_published(get_dataset(dataset_id), locations)
        tags = sorted(repository.repo.list_tags())
        _say(
            f"open_dataset({dataset_id!r}): {dict(ds.sizes)}; tags of complete partitions: "
            f"{tags or 'none (partial archive)'}"
        )
        for tag in tags:
            tagged = open_dataset(dataset_id, tag=tag, locations=locations)
            append = get_dataset(dataset_id).append_dimension.name
            when = np.datetime64(tag.split("/")[1])
            name = next(iter(tagged.data_vars))
            same = np.array_equal(
                tagged[name].sel({append: when}).values,
                ds[name].sel({append: when}).values,
                equal_nan=True,
            )
            _say(f"  open_dataset({dataset_id!r}, tag={tag!r}): {name} as on main: {same}")
            if not same:
                failures.append(f"{dataset_id} tag {tag} reads differently from main")


def _check_file(
    spec: DatasetSpec,
    step: xr.Dataset,
    producer: obstore.store.ObjectStore,
    file: _WrittenFile,
    kind: str,
    failures: list[str],
) -> int:
    """Every message the archive writer put in ``file``, read through the repository (``step``:
    the dataset at the file's partition, lead and member) against ecCodes' decode of the bytes
    the writer recorded; a message that reads differently is a failure. Returns the count.
    Messages of one text are given to the spec's variables in file order, as the provider
    does (HRRR f01's bucket and running total are both ``0-1 hour acc fcst``)."""
    lead = file.lead_hours
    places: dict[str, list[tuple[str, dict[str, float | str]]]] = {}
    for variable in spec.variables_in(kind):
        window = wgrib2_window_text(variable.window, lead)
        for level_text, value in level_texts(spec, variable, lead, kind) if window else []:
            text = f"{wgrib2_match(variable).element}:{level_text}:{window}"
            level = {variable.level_dimension: value} if variable.level_dimension else {}
            places.setdefault(text, []).append((variable.name, level))  # type: ignore[arg-type]
    for info in file.messages:
        text = f"{info.line.element}:{info.line.level}:{info.line.window}"
        if not places.get(text):
            raise SystemExit(f"{spec.dataset_id}: {text} of {kind} f{lead:03d} has no variable")
        name, labels = places[text].pop(0)
        field = step[name].sel(labels) if labels else step[name]
        message = bytes(
            obstore.get_range(producer, file.data_key, start=info.offset, length=info.length)
        )
        expected = eccodes_decode(message)
        if not np.allclose(field.values, expected, rtol=1e-6, atol=0, equal_nan=True):
            failures.append(f"{spec.dataset_id} {name} {labels} {kind} f{lead:03d} differs")
    return len(file.messages)


if __name__ == "__main__":
    raise SystemExit(main())
