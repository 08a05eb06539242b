"""The demo's DWD ICON-EU sections, for ``vidx_offline/demo.py`` to call, one per tree: one
ICON-EU partition (a few parameters at three leads, CCSDS-packed as DWD packs since June 2026)
written in DWD's layout, served by the loopback HTTP server with autoindex pages, copied
unchanged into a local mirror, ingested from the mirror, and every message read through the
repository compared with ecCodes' decode of its bytes. The regular tree (bz2, the real
657 x 1097 grid; its last init is 2026-11-30 18z) and the icosahedral v1 tree that replaced it
(uncompressed, the real 659,156-cell grid, whose cell positions are attached from the grid file
served where DWD publishes it).

It runs in process, not through the ``dagster`` CLI as the other sections do, on a spec cut to
the few parameters and leads it writes, and gives that spec the loopback server's base URL
itself (the code location reaches the server through ``VIDX_HTTP_ENDPOINT``, as ``make dev``
does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from vidx_offline.http_server import running_http_server
from vidx_offline.icon_archive import IconField, IcosahedralGrid, Tree, write_icon_archive
from vidx_offline.icon_grid_file import DWD_GRID_FILES_DIRECTORY, write_icon_grid_file
from vidx_offline.reference_decode import eccodes_decode
from vidx_pipeline.datasets.dwd_icon_eu_catalog import PARAMETERS
from vidx_pipeline.datasets.dwd_icon_eu_forecast_5_day import REGULAR_TREE, IconTree, icon_spec
from vidx_pipeline.datasets.dwd_icon_eu_icosahedral_forecast_5_day import ICOSAHEDRAL_TREE
from vidx_pipeline.grid_files import attach_cell_coordinates
from vidx_pipeline.ingest import IngestSettings, ingest_partition
from vidx_pipeline.mirror import mirror_partition, mirrored_spec
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import (
    HttpStoreSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    LocalStoreSpec,
    UnstructuredGrid,
)

ICON_LEADS = (0, 1, 81)
ICON_FIELDS = (IconField("T_2M"), IconField("TOT_PREC"), IconField("T", 500))


@dataclass(frozen=True)
class IconSection:
    """One tree's section: its dataset, the archive writer's name for the tree, and an init."""

    tree: IconTree
    archive_tree: Tree
    init: dt.datetime
    label: str


REGULAR = IconSection(
    REGULAR_TREE, "regular", dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), "ICON-EU"
)
ICOSAHEDRAL = IconSection(
    ICOSAHEDRAL_TREE,
    "icosahedral",
    dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC),
    "ICON-EU icosahedral",
)


def demo_icon_eu(
    work: Path,
    failures: list[str],
    say: Callable[[str], None] = print,
    section: IconSection = REGULAR,
) -> int:
    """Run ``section`` under ``work``; append a line to ``failures`` per chunk that differs
    from ecCodes. Returns the number of chunks compared."""
    params = {field.param for field in ICON_FIELDS}
    base = icon_spec(
        section.tree, tuple(p for p in PARAMETERS if p.param in params), pressure_levels=(500,)
    )
    init, label = section.init, section.label
    with running_http_server(work / "opendata") as http:
        spec = base.model_copy(
            update={
                "lead_times": LeadTimeSchedule(
                    segments=tuple(
                        LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1)
                        for h in ICON_LEADS
                    )
                ),
                "source": base.source.model_copy(
                    update={"store": HttpStoreSpec(base_url=http.base_url)}
                ),
            }
        )
        written = write_icon_archive(
            http.root,
            (init,),
            ICON_LEADS,
            fields=ICON_FIELDS,
            packing="grid_ccsds",
            tree=section.archive_tree,
        )
        mirror = LocalStoreSpec(root=str((work / "mirror").resolve()))
        mirrored = mirrored_spec(spec, mirror)
        copied = mirror_partition(
            spec,
            open_source_store(spec.source.store),
            open_source_store(mirror),
            mirrored,
            init,
        )
        say(f"{label}: {len(copied.copied)} files copied from {http.base_url} into {mirror.root}")
        repository = open_repository(mirrored, RepositorySettings(local_root=str(work / "repos")))
        result = ingest_partition(
            mirrored, repository, open_source_store(mirror), init, IngestSettings()
        )
        if isinstance(spec.grid, UnstructuredGrid) and spec.grid.grid_file:
            # DWD's grid file, where DWD publishes it: the cells' positions, attached.
            grid = IcosahedralGrid(cells=spec.grid.cells)
            write_icon_grid_file(http.root / DWD_GRID_FILES_DIRECTORY, grid)
            attach_cell_coordinates(repository, http.base_url + DWD_GRID_FILES_DIRECTORY)
    session = repository.repo.readonly_session(branch="main")
    ds = xr.open_zarr(session.store, consolidated=False).sel(init_time=init.replace(tzinfo=None))
    say(f"{label}: {spec.dataset_id} dims {dict(ds.sizes)}, grid {spec.grid.dims}")
    if "latitude" in ds.coords and ds.latitude.dims == ("cell",):
        say(
            f"{label}: cell coordinates from {ds.attrs['grid_file']}: latitude "
            f"{float(ds.latitude.min()):.2f} to {float(ds.latitude.max()):.2f}, longitude "
            f"{float(ds.longitude.min()):.2f} to {float(ds.longitude.max()):.2f}, "
            f"{ds.sizes.get('vertex', 0)} vertices per cell"
        )
    checked = 0
    differing = 0
    for file in written:
        name = file.field.param.lower() if file.field.level_hpa is None else "t_isobaric"
        labels: dict[str, object] = {"lead_time": np.timedelta64(file.lead_hours, "h")}
        if file.field.level_hpa is not None:
            labels["isobaric_level"] = float(file.field.level_hpa)
        actual = ds[name].sel(labels).values
        if not np.allclose(actual, eccodes_decode(file.grib), rtol=1e-6, equal_nan=True):
            failures.append(f"{spec.dataset_id} {name} {labels} differs from ecCodes")
            differing += 1
        checked += 1
    codecs = "bz2 then gribberish" if spec.source.files[0].compression == "bz2" else "gribberish"
    say(
        f"{label}: {result.files_ingested} files ingested from the mirror; decoded {checked} "
        f"chunks (CCSDS, {codecs}) through Icechunk: equal to ecCodes: {not differing}"
    )
    return checked
