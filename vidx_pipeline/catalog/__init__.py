"""The reader catalog: every registered dataset, opened as an ``xarray.Dataset`` without the
orchestrator (nothing here imports Dagster).

::

    from vidx_pipeline.catalog import open_dataset

    ds = open_dataset("noaa-gfs-forecast")  # the tip of main
    ds = open_dataset("noaa-gfs-forecast", tag="v1")  # or branch=, snapshot_id=, or as_of=
    # a timezone-aware datetime: main as it was then

Repository locations come from the ``VIDX_*`` variables the Dagster resources read, and an
optional TOML/JSON file named by ``VIDX_LOCATIONS_FILE`` (:mod:`vidx_pipeline.locations`);
``python -m vidx_pipeline.catalog list [--json]`` lists every dataset with its location, dims,
number of variables and newest complete partition.
"""

from vidx_pipeline.catalog.listing import CatalogEntry, catalog_entries, catalog_entry
from vidx_pipeline.catalog.reader import (
    UnauthorizedContainerError,
    open_dataset,
    open_published,
    open_spec_dataset,
)
from vidx_pipeline.catalog.version import (
    MAIN,
    Version,
    VersionNotFoundError,
    VersionSelectionError,
    select_version,
)

__all__ = [
    "MAIN",
    "CatalogEntry",
    "UnauthorizedContainerError",
    "Version",
    "VersionNotFoundError",
    "VersionSelectionError",
    "catalog_entries",
    "catalog_entry",
    "open_dataset",
    "open_published",
    "open_spec_dataset",
    "select_version",
]
