"""Dagster resources: where repositories live (shared), each dataset's Icechunk repository, and
each producer's store.

Configuration comes from the environment through Dagster's ``EnvVar`` (see
:func:`repository_storage_from_env`), resolved when a run or sensor uses the resource; which
variables, their defaults and what the values mean are :mod:`vidx_pipeline.locations`' (shared
with readers).
Resource config holds locations only; credentials come from the environment when a store is
opened, so nothing secret reaches Dagster's run storage, logs or metadata. An empty value means
"not set" (the cloud's own endpoint, no bucket).
"""

from __future__ import annotations

import os

from dagster import Config, ConfigurableResource, EnvVar
from obstore.store import ObjectStore
from pydantic import Field, create_model

from vidx_pipeline.grid_files import attach_cell_coordinates
from vidx_pipeline.locations import ENV_DEFAULTS, ENV_VARS, Locations, locations_from_values
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import SourceClientSettings, open_source_store
from vidx_pipeline.spec import DatasetSpec

REPOSITORY_STORAGE_KEY = "repository_storage"
"""Resource key of the shared :class:`RepositoryStorageResource`."""

__all__ = [
    "ENV_DEFAULTS",
    "ENV_VARS",
    "REPOSITORY_STORAGE_KEY",
    "IcechunkRepositoryResource",
    "RepositoryStorageResource",
    "SourceStoreResource",
    "repository_storage_from_env",
]


class RepositoryStorageResource(ConfigurableResource):
    """Where every dataset's repository lives, shared by all datasets."""

    kind: str = Field(
        default=ENV_DEFAULTS["VIDX_REPO_KIND"], description="'local' (a directory) or 's3'."
    )
    local_root: str = ENV_DEFAULTS["VIDX_REPO_ROOT"]
    bucket: str = Field(default="", description="S3 bucket of the repositories (kind 's3').")
    prefix: str = ENV_DEFAULTS["VIDX_REPO_PREFIX"]
    region: str = ENV_DEFAULTS["VIDX_REPO_REGION"]
    endpoint: str = Field(default="", description="S3 endpoint of the repositories' bucket.")
    source_endpoint: str = Field(
        default="",
        description="S3 endpoint of the producers' buckets (empty: the cloud's own); the same "
        "for listing, index GETs and the repositories' virtual chunk containers.",
    )
    http_source_endpoint: str = Field(
        default="",
        description="Scheme, host and port serving the producers' HTTP paths (empty: their own "
        "servers), for listing and GETs; refs to HTTP producers point at their mirror.",
    )
    grid_files: str = Field(
        default="",
        description="Directory or http(s) URL prefix holding unstructured grids' grid files "
        "(empty: no cell coordinates attached).",
    )

    def settings(self) -> RepositorySettings:
        return self.locations().repository

    def locations(self) -> Locations:
        """The resolved fields, read as :mod:`vidx_pipeline.locations` reads every config."""
        return locations_from_values({field: getattr(self, field) for field in ENV_VARS})


class IcechunkRepositoryResource(ConfigurableResource):
    """The Icechunk repository of one dataset."""

    dataset_id: str
    storage: RepositoryStorageResource

    def _check(self, spec: DatasetSpec) -> None:
        if spec.dataset_id != self.dataset_id:
            raise ValueError(f"resource for {self.dataset_id} asked to open {spec.dataset_id}")

    def open(self, spec: DatasetSpec) -> DatasetRepository:
        """Open ``spec``'s repository, creating it with its template on first use, and
        attaching its cell coordinates where grid files are configured and it has none
        (:func:`~vidx_pipeline.grid_files.attach_cell_coordinates`)."""
        self._check(spec)
        locations = self.storage.locations()
        repository = open_repository(
            spec, locations.repository, source_endpoint=locations.source_endpoint
        )
        if locations.grid_files:
            attach_cell_coordinates(repository, locations.grid_files)
        return repository

    def open_existing(self, spec: DatasetSpec) -> DatasetRepository | None:
        """Open ``spec``'s repository if it exists (None otherwise); never creates anything."""
        self._check(spec)
        locations = self.storage.locations()
        try:
            return open_repository(
                spec,
                locations.repository,
                source_endpoint=locations.source_endpoint,
                create=False,
            )
        except FileNotFoundError:
            return None


SourceClientConfig = create_model(
    "SourceClientConfig",
    __base__=Config,
    __doc__="Timeouts and retries of a producer's store: the fields of SourceClientSettings.",
    **{name: (info.annotation, info) for name, info in SourceClientSettings.model_fields.items()},  # type: ignore[call-overload]
)


class SourceStoreResource(ConfigurableResource):
    """The producer's store of one dataset, read through obstore."""

    dataset_id: str
    storage: RepositoryStorageResource
    client: SourceClientConfig = Field(
        default_factory=SourceClientConfig,
        description="Request timeout and retries against the producer's store.",
    )

    def open(self, spec: DatasetSpec) -> ObjectStore:
        """The producer's store of ``spec``, which must be this resource's dataset."""
        if spec.dataset_id != self.dataset_id:
            raise ValueError(f"resource for {self.dataset_id} asked to open {spec.dataset_id}")
        locations = self.storage.locations()
        return open_source_store(
            spec.source.store,
            locations.source_endpoint,
            SourceClientSettings.model_validate(self.client.model_dump()),
            http_endpoint=locations.http_source_endpoint,
        )


def repository_storage_from_env() -> RepositoryStorageResource:
    """The shared storage resource: a field whose variable is set where the code location loads
    is an ``EnvVar`` (its value resolved by Dagster at run time, never stored in config); an unset
    one takes its local default from :data:`ENV_DEFAULTS`. No ``.env`` file: the dagster CLI
    would let one override the real environment."""
    return RepositoryStorageResource(
        **{
            field: EnvVar(variable) if variable in os.environ else ENV_DEFAULTS[variable]
            for field, variable in ENV_VARS.items()
        }
    )
