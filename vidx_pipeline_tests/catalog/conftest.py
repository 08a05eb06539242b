"""A GFS repository written by the pipeline (small grid, the real variables), for the catalog's
tests: two complete partitions and a newer partial one, each committed by its own ingest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import obstore
import pytest

from vidx_offline.gfs_archive import GFS_BUCKET, GfsArchiveConfig, GfsFile, render_gfs_file
from vidx_offline.reference_decode import eccodes_decode
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestResult, ingest_partition
from vidx_pipeline.locations import ENV_DEFAULTS, ENV_VARS, Locations
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline_tests.conftest import SMALL_LEADS, small_gfs_spec, spec_fields

SPEC = small_gfs_spec()
INITS = (
    dt.datetime(2023, 3, 7, 0, tzinfo=dt.UTC),
    dt.datetime(2023, 3, 7, 6, tzinfo=dt.UTC),
    dt.datetime(2023, 3, 7, 12, tzinfo=dt.UTC),
)
PARTIAL_LEADS = (0, 1, 2)
"""The newest init has only these leads published: ingested, but not complete."""


@dataclass(frozen=True)
class Published:
    """A repository the pipeline wrote, and what the archive writer published into it."""

    locations: Locations
    repository: DatasetRepository
    files: dict[tuple[dt.datetime, int], GfsFile]
    commits: tuple[IngestResult, ...]  # one per init, in order

    def message_values(self, init: dt.datetime, lead: int, element: str, level: str) -> np.ndarray:
        """ecCodes' decode of the bytes the archive writer put for that field (its own record)."""
        file = self.files[init, lead]
        (info,) = [m for m in file.messages if (m.line.element, m.line.level) == (element, level)]
        return eccodes_decode(file.data[info.offset : info.offset + info.length])

    def env(self, s3: LocalS3) -> dict[str, str]:
        """The ``VIDX_*`` (and AWS) variables that point at this repository."""
        settings = self.locations.repository
        values = {
            "kind": settings.kind,
            "local_root": settings.local_root,
            "bucket": settings.bucket or "",
            "prefix": settings.prefix,
            "region": settings.region,
            "endpoint": settings.endpoint or "",
            "source_endpoint": self.locations.source_endpoint or "",
        }
        return {**ENV_DEFAULTS, **s3.env(), **{ENV_VARS[k]: v for k, v in values.items()}}


def _upload(s3: LocalS3) -> dict[tuple[dt.datetime, int], GfsFile]:
    config = GfsArchiveConfig(
        init_times=INITS, lead_hours=SMALL_LEADS, grid=SPEC.grid.shape, fields=spec_fields(SPEC)
    )
    store = s3.store(GFS_BUCKET)
    files = {}
    for init in INITS:
        for lead in PARTIAL_LEADS if init == INITS[-1] else SMALL_LEADS:
            file = render_gfs_file(config, init, lead)
            obstore.put(store, file.data_key, file.data)
            obstore.put(store, file.index_key, file.index_text.encode())
            files[init, lead] = file
    return files


@pytest.fixture(scope="session")
def gfs_files(local_s3: LocalS3) -> dict[tuple[dt.datetime, int], GfsFile]:
    return _upload(local_s3)


def _publish(
    settings: RepositorySettings, s3: LocalS3, files: dict[tuple[dt.datetime, int], GfsFile]
) -> Published:
    locations = Locations(repository=settings, source_endpoint=s3.endpoint)
    repository = open_repository(SPEC, settings, source_endpoint=s3.endpoint)
    store = open_source_store(SPEC.source.store, s3.endpoint)
    commits = tuple(ingest_partition(SPEC, repository, store, init) for init in INITS)
    assert all(c.snapshot_id for c in commits), commits
    return Published(locations, repository, files, commits)


@pytest.fixture(scope="module")
def published_local(
    tmp_path_factory: pytest.TempPathFactory,
    local_s3: LocalS3,
    gfs_files: dict[tuple[dt.datetime, int], GfsFile],
) -> Published:
    """On a local directory."""
    root: Path = tmp_path_factory.mktemp("catalog") / "repositories"
    return _publish(RepositorySettings(local_root=str(root)), local_s3, gfs_files)


@pytest.fixture(scope="module")
def published_s3(
    tmp_path_factory: pytest.TempPathFactory,
    local_s3: LocalS3,
    gfs_files: dict[tuple[dt.datetime, int], GfsFile],
) -> Iterator[Published]:
    """In a bucket of the loopback S3 API (credentials from the environment, as in production)."""
    bucket = "vidx-catalog-test"
    local_s3.create_bucket(bucket)
    prefix = f"run-{tmp_path_factory.mktemp('catalog-s3').name}"
    settings = RepositorySettings(
        kind="s3", bucket=bucket, prefix=prefix, endpoint=local_s3.endpoint
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in local_s3.env().items():
            patch.setenv(key, value)
        yield _publish(settings, local_s3, gfs_files)
