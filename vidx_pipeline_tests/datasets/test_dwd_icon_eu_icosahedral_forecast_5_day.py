"""The ICON-EU icosahedral spec against DWD's v1 tree, served by a real loopback HTTP server
with nginx autoindex pages: its keys are DWD's v1 keys; a partition is listed from the
directory pages, mirrored, ingested from the mirror (one uncompressed object per chunk, a 1-D
``cell`` grid) and reads back through the repository as ecCodes decodes each message; a
message on another grid (the regular one, another icosahedral grid, another cell count) is
refused naming the object, with nothing committed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from vidx_offline.http_server import LocalHttp, running_http_server
from vidx_offline.icon_archive import (
    ICON_EU_CELLS,
    ICON_EU_GRID_NUMBER,
    ICON_EU_GRID_UUID,
    IconField,
    IcosahedralGrid,
    encode_icon_message,
    every_field,
    icon_v1_key,
    write_icon_archive,
    write_icon_file,
)
from vidx_offline.icon_grid_file import DWD_GRID_FILES_DIRECTORY, write_icon_grid_file
from vidx_pipeline.checks.base import CheckInputs
from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.datasets.dwd_icon_eu_catalog import PARAMETERS
from vidx_pipeline.datasets.dwd_icon_eu_forecast_5_day import icon_spec
from vidx_pipeline.datasets.dwd_icon_eu_icosahedral_forecast_5_day import ICOSAHEDRAL_TREE
from vidx_pipeline.grib_header import parse_grib_header
from vidx_pipeline.grid_files import attach_cell_coordinates
from vidx_pipeline.ingest import IngestSettings, ingest_partition
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
    UnstructuredGrid,
)
from vidx_pipeline_tests.datasets.test_dwd_icon_eu_forecast_5_day import (
    assert_reads_as_eccodes,
    assert_refused_and_nothing_committed,
    read_dataset,
)

SPEC = get_dataset("dwd-icon-eu-icosahedral-forecast-5-day")
INIT = dt.datetime(2026, 12, 3, 6, tzinfo=dt.UTC)
PUBLISHED = dt.datetime(2026, 12, 3, 8, 41, 17, tzinfo=dt.UTC)
SMALL_GRID = IcosahedralGrid(cells=57)
SMALL_LEADS = (0, 1, 81)
SMALL_PARAMS = ("T_2M", "TOT_PREC", "TMAX_2M", "CLCH", "T", "FI")
SMALL_LEVELS = (850, 500)


def small_spec(base_url: str) -> DatasetSpec:
    """The icosahedral dataset with a few parameters and levels, three leads and a grid of
    :data:`SMALL_GRID`'s cells, read from ``base_url``: same keys, kinds, codecs and rules."""
    spec = icon_spec(
        ICOSAHEDRAL_TREE,
        tuple(p for p in PARAMETERS if p.param in SMALL_PARAMS),
        pressure_levels=SMALL_LEVELS,
    )
    return spec.model_copy(
        update={
            "grid": SPEC.grid.model_copy(update={"cells": SMALL_GRID.cells}),
            "lead_times": LeadTimeSchedule(
                segments=tuple(
                    LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1) for h in SMALL_LEADS
                )
            ),
            "source": spec.source.model_copy(update={"store": HttpStoreSpec(base_url=base_url)}),
        }
    )


def small_fields() -> tuple[IconField, ...]:
    return tuple(
        f for f in every_field() if f.param in SMALL_PARAMS and f.level_hpa in (None, *SMALL_LEVELS)
    )


@pytest.fixture
def served(tmp_path: Path):
    with running_http_server(tmp_path / "opendata") as http:
        yield http


# ---- the spec ----


def test_keys_are_dwds_v1_keys_for_every_parameter_level_and_lead() -> None:
    """Every expected key is the one the archive writer (written apart from the spec) gives
    DWD's v1 object of that parameter, level and lead, and every field it writes has one."""
    files = expected_files(SPEC, INIT)
    assert len(SPEC.lead_hours) == 93
    expected = {
        icon_v1_key(field, INIT, lead) for field in every_field() for lead in SPEC.lead_hours
    }
    assert {f.data_key for f in files} == expected
    assert all(f.kind.compression == "none" and f.index_key is None for f in files)
    assert (
        "weather/nwp/v1/m/icon-eu/p/T/lvt1/100/lv1/50000/r/2026-12-03T06:00/s/PT081H00M.grib2"
        in expected
    )


def test_the_spec_grid_is_the_one_the_v1_messages_name() -> None:
    """A v1 message as DWD writes it passes the spec's header check; the cube has one grid dim,
    ``cell``, and the grid's number and UUID as attributes."""
    grib = encode_icon_message(IconField("T_2M"), INIT, 0, IcosahedralGrid(), packing="grid_ccsds")
    header = parse_grib_header(grib, source="test")
    assert isinstance(SPEC.grid, UnstructuredGrid)
    assert (header.grid.grid_number, header.grid.grid_uuid) == (27, ICON_EU_GRID_UUID)
    assert header.grid.number_of_points == ICON_EU_CELLS
    assert SPEC.grid.header_problems(header.grid) == []
    assert SPEC.grid.dims == ("cell",)
    assert SPEC.chunk_shape(SPEC.variables[0]) == (1, 1, ICON_EU_CELLS)


# ---- over HTTP, through the mirror ----


@pytest.mark.slow
@pytest.mark.parametrize("packing", ["grid_simple", "grid_ccsds"])
def test_a_partition_is_mirrored_ingested_from_the_mirror_and_reads_back_as_eccodes(
    tmp_path: Path, served: LocalHttp, packing: str
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root,
        (INIT, INIT - dt.timedelta(days=1)),  # yesterday's run is listed beside today's
        SMALL_LEADS,
        fields=small_fields(),
        packing=packing,  # type: ignore[arg-type]
        published=PUBLISHED,
        tree="icosahedral",
        icosahedral=SMALL_GRID,
    )
    today = [f for f in written if f.init == INIT]
    mirror_root = tmp_path / "mirror"
    mirror_spec = mirrored_spec(spec, LocalStoreSpec(root=str(mirror_root)))
    mirror = open_source_store(mirror_spec.source.store)
    copied = mirror_partition(spec, open_source_store(spec.source.store), mirror, mirror_spec, INIT)
    assert sorted(copied.copied) == sorted(f"{INIT:%Y%m%d%H}/{f.key}" for f in today)
    for file in today:  # unchanged, and the day at DWD is over
        assert (mirror_root / f"{INIT:%Y%m%d%H}" / file.key).read_bytes() == file.grib
        os.remove(served.root / file.key)

    repository = open_repository(mirror_spec, RepositorySettings(local_root=str(tmp_path / "r")))
    result = ingest_partition(mirror_spec, repository, mirror, INIT, IngestSettings())
    assert result.files_ingested == len(today) == result.files_expected
    assert (result.missing, result.unplaced, result.refused) == ([], [], [])
    assert result.refs_written == mirror_spec.refs_per_partition

    health = decode_health(
        CheckInputs(repository, mirror, [INIT], INIT + dt.timedelta(days=1), decode_samples=100)
    )
    assert health.passed, health.details
    ds = read_dataset(repository, INIT)
    assert ds.attrs["grid_number"] == ICON_EU_GRID_NUMBER
    assert ds.attrs["grid_uuid"] == ICON_EU_GRID_UUID
    assert bool(ds["ingested"].all())
    assert {ds[name].dims[-1] for name in ds.data_vars if name != "ingested"} == {"cell"}
    assert_reads_as_eccodes(ds, today, mirror_spec)

    # The grid file, configured after the partition is in: positions attached, refs untouched.
    assert "latitude" not in ds.coords
    write_icon_grid_file(served.root / DWD_GRID_FILES_DIRECTORY, SMALL_GRID)
    attach_cell_coordinates(repository, served.base_url + DWD_GRID_FILES_DIRECTORY)
    ds = read_dataset(repository, INIT)
    assert ds.latitude.dims == ds.longitude.dims == ("cell",)
    assert_reads_as_eccodes(ds, today, mirror_spec)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ((9, 13), "grid template 3.0, expected 3.101"),  # the regular tree's message
        (IcosahedralGrid(cells=57, number=28), "grid number 28"),  # another ICON grid
        (IcosahedralGrid(cells=57, uuid="0" * 32), "UUID " + "0" * 32),
        (IcosahedralGrid(cells=58), "58 grid points, expected 57"),
    ],
)
def test_a_message_on_another_grid_is_refused_and_nothing_committed(
    tmp_path: Path, served: LocalHttp, grid: tuple[int, int] | IcosahedralGrid, expected: str
) -> None:
    spec = small_spec(served.base_url)
    written = write_icon_archive(
        served.root,
        (INIT,),
        SMALL_LEADS,
        fields=small_fields(),
        tree="icosahedral",
        icosahedral=SMALL_GRID,
    )
    bad = written[4]
    grib = encode_icon_message(bad.field, INIT, bad.lead_hours, grid)
    mtime = (served.root / bad.key).stat().st_mtime
    write_icon_file(
        served.root, bad.field, INIT, bad.lead_hours, grib, mtime=mtime, tree="icosahedral"
    )

    assert_refused_and_nothing_committed(spec, tmp_path, INIT, bad.key, expected)
