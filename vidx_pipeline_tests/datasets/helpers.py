"""What the per-dataset tests share: reading a real inventory's byte ranges straight from its
text, and ingesting a partition of an archive on the loopback S3 API into a fresh repository."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from obstore.store import ObjectStore

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestResult, IngestSettings, ingest_partition
from vidx_pipeline.repository import DatasetRepository, RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec


def raw_ranges(text: str, data_size: int) -> list[tuple[str, int, int]]:
    """(``element:level:window``, offset, length) of every wgrib2 line, read straight from the
    text (independently of gribberish): a length runs to the next line's offset, the last one to
    ``data_size``."""
    lines = [line.split(":") for line in text.splitlines()]
    offsets = [int(fields[1]) for fields in lines] + [data_size]
    return [
        (":".join(f[3:6]), offsets[i], offsets[i + 1] - offsets[i]) for i, f in enumerate(lines)
    ]


def ingest_archive(
    spec: DatasetSpec, tmp_path: Path, s3: LocalS3, init: dt.datetime
) -> tuple[DatasetRepository, ObjectStore, IngestResult]:
    """Ingest partition ``init`` of the archive on ``s3`` into a new local repository, as a
    backfill run does; the repository, the pipeline's view of the source store, the result."""
    repository = open_repository(
        spec, RepositorySettings(local_root=str(tmp_path)), source_endpoint=s3.endpoint
    )
    store = open_source_store(spec.source.store, s3.endpoint)
    return repository, store, ingest_partition(spec, repository, store, init, IngestSettings())
