"""Dagster resources: each dataset's Icechunk repository and its producer's bucket.

Resource config holds locations only; credentials come from the environment when a store is
opened, so nothing secret reaches Dagster's run storage or logs.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from obstore.store import S3Store
from pydantic import Field

from vidx_pipeline.repository import (
    DatasetRepository,
    RepositorySettings,
    open_repository,
    settings_from_env,
)
from vidx_pipeline.source_store import endpoint_from_env, open_source_store
from vidx_pipeline.spec import DatasetSpec


def _check_dataset(resource_dataset_id: str, spec: DatasetSpec) -> None:
    if spec.dataset_id != resource_dataset_id:
        raise ValueError(f"resource for {resource_dataset_id} asked to open {spec.dataset_id}")


class IcechunkRepositoryResource(ConfigurableResource):
    """The Icechunk repository of one dataset (created with its template on first use)."""

    dataset_id: str
    kind: str = Field("local", description="'local' (a directory) or 's3'.")
    local_root: str = ".local/icechunk"
    bucket: str | None = None
    prefix: str = "vidx"
    region: str = "us-east-1"
    endpoint: str | None = Field(None, description="S3 endpoint of the repository's bucket.")
    source_endpoint: str | None = Field(
        None, description="Endpoint of the producer's bucket for the virtual chunk container."
    )

    @classmethod
    def from_env(cls, dataset_id: str) -> IcechunkRepositoryResource:
        settings = settings_from_env()
        return cls(
            dataset_id=dataset_id,
            kind=settings.kind,
            local_root=settings.local_root,
            bucket=settings.bucket,
            prefix=settings.prefix,
            region=settings.region,
            endpoint=settings.endpoint,
            source_endpoint=endpoint_from_env(),
        )

    def settings(self) -> RepositorySettings:
        return RepositorySettings(
            kind=self.kind,
            local_root=self.local_root,
            bucket=self.bucket,
            prefix=self.prefix,
            region=self.region,
            endpoint=self.endpoint,
        )

    def open(self, spec: DatasetSpec) -> DatasetRepository:
        """Open (or create) the repository of ``spec``, which must be this resource's dataset."""
        _check_dataset(self.dataset_id, spec)
        return open_repository(spec, self.settings(), source_endpoint=self.source_endpoint)


class SourceStoreResource(ConfigurableResource):
    """The producer's bucket of one dataset, read through obstore."""

    dataset_id: str
    endpoint: str | None = Field(
        None, description="S3 endpoint override; None reads the producer's cloud bucket."
    )

    @classmethod
    def from_env(cls, dataset_id: str) -> SourceStoreResource:
        return cls(dataset_id=dataset_id, endpoint=endpoint_from_env())

    def open(self, spec: DatasetSpec) -> S3Store:
        """The producer's bucket of ``spec``, which must be this resource's dataset."""
        _check_dataset(self.dataset_id, spec)
        return open_source_store(spec.source.store, self.endpoint)
