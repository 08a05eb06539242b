"""What the catalog lists of each registered dataset: where it lives, its dims, its number of
variables and its newest complete partition, read from the repository itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

import numpy as np
import xarray as xr
import zarr

from vidx_pipeline.catalog.reader import open_published
from vidx_pipeline.catalog.version import MAIN, readonly_session
from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.locations import Locations, locations_from_env
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.spec import DatasetSpec, FrozenModel
from vidx_pipeline.template import template_dataset

SCAN_BLOCK = 16
"""Append positions read per request while looking for the newest complete partition."""


class CatalogEntry(FrozenModel):
    """One dataset as the catalog lists it.

    ``status`` ``"absent"``: no repository at ``location`` yet; ``dims`` and ``variables`` are
    then the template's (append dimension 0 long) and ``newest_complete`` None. ``dims`` and
    ``variables`` of a published dataset are what a reader opening ``main`` gets;
    ``newest_complete`` is the newest partition every expected source file of which is
    flagged ingested (what the currency check calls complete), None if there is none.
    """

    dataset_id: str
    name: str
    status: Literal["published", "absent"]
    location: str
    dims: dict[str, int]
    variables: int
    newest_complete: dt.datetime | None


def newest_complete_position(group: zarr.Group) -> int | None:
    """Position of the newest append step whose every ``ingested`` flag is set, scanning back
    from the end ``SCAN_BLOCK`` steps at a time (each step is its own chunk)."""
    flags = group[PROGRESS_ARRAY]
    assert isinstance(flags, zarr.Array)
    stop = flags.shape[0]
    while stop > 0:
        start = max(0, stop - SCAN_BLOCK)
        block = np.asarray(flags[start:stop]).reshape(stop - start, -1)
        complete = np.flatnonzero(block.all(axis=1))
        if complete.size:
            return start + int(complete[-1])
        stop = start
    return None


def catalog_entry(spec: DatasetSpec, locations: Locations) -> CatalogEntry:
    """The entry of one dataset, read at the tip of ``main``."""
    location = locations.repository.location(spec.dataset_id)
    try:
        repository = open_published(spec, locations)
    except FileNotFoundError:
        template, _ = template_dataset(spec)
        return CatalogEntry(
            dataset_id=spec.dataset_id,
            name=spec.name,
            status="absent",
            location=location,
            dims={str(dim): int(size) for dim, size in template.sizes.items()},
            variables=len(template.data_vars),
            newest_complete=None,
        )
    session = readonly_session(repository.repo, MAIN, spec.dataset_id)
    dataset = xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=None)
    position = newest_complete_position(zarr.open_group(session.store, mode="r"))
    newest = None
    if position is not None:
        stamp = dataset[spec.append_dimension.name].values[position]
        newest = dt.datetime.fromtimestamp(
            int(stamp.astype("datetime64[s]").astype("int64")), tz=dt.UTC
        )
    return CatalogEntry(
        dataset_id=spec.dataset_id,
        name=spec.name,
        status="published",
        location=location,
        dims={str(dim): int(size) for dim, size in dataset.sizes.items()},
        variables=len(dataset.data_vars),
        newest_complete=newest,
    )


def catalog_entries(
    specs: Iterable[DatasetSpec] | None = None, locations: Locations | None = None
) -> list[CatalogEntry]:
    """Entries of ``specs`` (default: every registered dataset) where ``locations`` says
    (default: :func:`locations_from_env`)."""
    where = locations if locations is not None else locations_from_env()
    return [catalog_entry(spec, where) for spec in (specs or DATASETS.values())]
