"""Open a published dataset as an ``xarray.Dataset``: the reader's path, without the
orchestrator.

The repository is opened where :mod:`vidx_pipeline.locations` says (never created, nothing
left behind), with the pipeline's own repository config (:func:`repository_config`: the
virtual chunk container of the producer's bucket at the configured endpoint, manifest preload
off) and every virtual chunk container of the dataset authorized (:func:`reader_credentials`:
unsigned for public buckets, the standard AWS variables otherwise; for a mirrored dataset, its
mirror as the code location's ``VIDX_MIRROR_*`` variables place it). Arrays stay lazy: nothing is
read until indexed, and each chunk read is one ranged GET of one GRIB message.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import icechunk
import xarray as xr

from vidx_pipeline.catalog.version import Version, readonly_session, select_version
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.locations import Locations, locations_from_env
from vidx_pipeline.mirror import mirror_store_from_env, mirrored_spec
from vidx_pipeline.repository import DatasetRepository, open_repository, reader_credentials
from vidx_pipeline.spec import DatasetSpec, StoreSpec

Chunks = int | dict[str, int] | Literal["auto"] | None
"""xarray's ``chunks``: None (default) reads lazily without dask; anything else needs dask."""


class UnauthorizedContainerError(RuntimeError):
    """The repository holds a virtual chunk container the dataset's spec does not authorize."""


def reader_spec(spec: DatasetSpec, mirror_store: StoreSpec | None = None) -> DatasetSpec:
    """The spec of what the refs point at: a mirrored dataset's (``source.mirror``) refs name
    its mirror, where ``mirror_store`` says (default: where the ``VIDX_MIRROR_*`` variables put
    it, as the code location reads them); any other spec is its own."""
    if spec.source.mirror is None:
        return spec
    return mirrored_spec(spec, mirror_store or mirror_store_from_env())


def open_published(spec: DatasetSpec, locations: Locations) -> DatasetRepository:
    """The dataset's repository, opened for reading (a mirrored dataset's through its mirror:
    :func:`reader_spec`). Raises FileNotFoundError (naming the location) if it does not exist
    yet, :class:`UnauthorizedContainerError` if its config (as stored by its writers) declares
    a container readers would not be authorized for."""
    spec = reader_spec(spec)
    repository = open_repository(
        spec, locations.repository, source_endpoint=locations.source_endpoint, create=False
    )
    # The config given at open replaces the stored containers: the stored ones say which the
    # writers declared (and so where refs may point).
    stored = icechunk.Repository.fetch_config(locations.repository.storage(spec.dataset_id))
    declared = {
        *(repository.repo.config.virtual_chunk_containers or {}),
        *((stored.virtual_chunk_containers or {}) if stored is not None else {}),
    }
    if unauthorized := declared - set(reader_credentials(spec)):
        raise UnauthorizedContainerError(
            f"{spec.dataset_id} at {repository.location} has virtual chunk containers "
            f"{sorted(unauthorized)} its spec does not name"
        )
    return repository


def open_spec_dataset(
    spec: DatasetSpec,
    locations: Locations,
    version: Version,
    *,
    chunks: Chunks = None,
) -> xr.Dataset:
    """``spec``'s dataset at ``version`` (see :func:`open_dataset`)."""
    repository = open_published(spec, locations)
    session = readonly_session(repository.repo, version, spec.dataset_id)
    return xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=chunks)


def open_dataset(
    dataset_id: str,
    *,
    branch: str | None = None,
    tag: str | None = None,
    snapshot_id: str | None = None,
    as_of: dt.datetime | None = None,
    locations: Locations | None = None,
    chunks: Chunks = None,
) -> xr.Dataset:
    """Open a registered dataset (:data:`vidx_pipeline.datasets.DATASETS`) lazily.

    Version: at most one of ``branch``, ``tag``, ``snapshot_id`` or ``as_of`` (a
    timezone-aware time: ``main`` as it was then); none reads the tip of ``main``.
    ``locations``: where repositories live (default: :func:`locations_from_env`, the ``VIDX_*``
    variables and the optional ``VIDX_LOCATIONS_FILE``).

    Raises KeyError for an unknown id, ``VersionSelectionError`` for conflicting versions,
    FileNotFoundError if the repository does not exist yet, ``VersionNotFoundError`` if it has
    no such version.
    """
    spec = get_dataset(dataset_id)
    version = select_version(branch=branch, tag=tag, snapshot_id=snapshot_id, as_of=as_of)
    return open_spec_dataset(
        spec, locations if locations is not None else locations_from_env(), version, chunks=chunks
    )
