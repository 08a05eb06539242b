"""A dataset built the way production builds it, for the checks to judge: one init of the small
GFS spec (every variable, leads 0-7) published on the loopback S3 API and ingested."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from obstore.store import ObjectStore

from vidx_offline.gfs_archive import GFS_BUCKET
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks import CheckInputs
from vidx_pipeline.ingest import IngestResult, IngestSettings, ingest_partition
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline_tests.conftest import SMALL_LEADS, PublishFn, small_gfs_spec

SPEC = small_gfs_spec()
PAST = dt.timedelta(days=2)


@dataclass
class Built:
    spec: DatasetSpec
    repository: DatasetRepository
    store: ObjectStore  # the pipeline's (read-only) view of the producer's bucket
    producer: ObjectStore  # the producer's own, which can write
    init: dt.datetime

    def ingest(self) -> IngestResult:
        return ingest_partition(self.spec, self.repository, self.store, self.init, IngestSettings())

    def inputs(self, now: dt.datetime | None = None, **extra: object) -> CheckInputs:
        return CheckInputs(
            repository=self.repository,
            store=self.store,
            partition_times=[self.init],
            now=now or self.init + PAST,
            **extra,  # type: ignore[arg-type]
        )


BuildFn = Callable[..., Built]


@pytest.fixture
def build(tmp_path: Path, local_s3: LocalS3, publish: PublishFn) -> BuildFn:
    """Publish ``init`` (every small lead unless ``leads``) and ingest it; ``edit_index`` is
    passed to the publisher."""

    def _build(init: dt.datetime, leads=SMALL_LEADS, **publish_options: object) -> Built:
        publish(init, leads, **publish_options)
        repository = open_repository(
            SPEC, RepositorySettings(local_root=str(tmp_path)), source_endpoint=local_s3.endpoint
        )
        store = open_source_store(SPEC.source.store, local_s3.endpoint)
        built = Built(SPEC, repository, store, local_s3.store(GFS_BUCKET), init)
        built.ingest()
        return built

    return _build
