"""Icechunk repositories of datasets: where they live, how they are configured, how they commit.

Storage is a local directory by default (``{local_root}/{dataset_id}``) or S3 with any endpoint
(``s3://{bucket}/{prefix}/{dataset_id}``), credentials from the environment. Configuration:

- one virtual chunk container per source bucket, so refs may point only there;
- manifests split along the append dimension (``manifest_split_size`` steps per split) so that
  a commit's cost does not grow with the archive's length, and manifest preload off so that
  opening a session does not either;
- commits to a *local* repository are serialized with a file lock: icechunk's local-filesystem
  storage can lose concurrent commits although every writer sees success. S3 storage uses
  conditional writes and needs no lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import icechunk
import zarr
import zarr.errors
from filelock import FileLock

from vidx_pipeline.source_store import (
    container_credentials,
    virtual_chunk_container,
)
from vidx_pipeline.spec import DatasetSpec, FrozenModel
from vidx_pipeline.template import write_template

DEFAULT_LOCAL_ROOT = ".local/icechunk"
BRANCH = "main"
TEMPLATE_ATTEMPTS = 20
CREATION_WAIT_SECONDS = 30.0
MIN_CACHED_CHUNK_REFS = 100_000
CACHED_SNAPSHOTS = 8


class RepositorySettings(FrozenModel):
    """Where a dataset's repository lives. Holds no credentials: S3 ones come from the
    environment at open time."""

    kind: Literal["local", "s3"] = "local"
    local_root: str = DEFAULT_LOCAL_ROOT
    bucket: str | None = None
    prefix: str = "vidx"
    region: str = "us-east-1"
    endpoint: str | None = None

    def location(self, dataset_id: str) -> str:
        """Human-readable location, safe to log."""
        match self.kind:
            case "local":
                return str(Path(self.local_root, dataset_id))
            case "s3":
                return f"s3://{self.bucket}/{self.prefix}/{dataset_id}"

    def storage(self, dataset_id: str) -> icechunk.Storage:
        match self.kind:
            case "local":
                return icechunk.local_filesystem_storage(self.location(dataset_id))
            case "s3":
                if not self.bucket:
                    raise ValueError("repository kind 's3' needs a bucket")
                return icechunk.s3_storage(
                    bucket=self.bucket,
                    prefix=f"{self.prefix}/{dataset_id}",
                    region=self.region,
                    endpoint_url=self.endpoint,
                    allow_http=bool(self.endpoint and self.endpoint.startswith("http://")),
                    force_path_style=self.endpoint is not None,
                    from_env=True,
                )


ONE_REQUEST_BYTES = 256 << 20
"""Objects up to this size (every GRIB message, manifest and snapshot) are read in one request."""
UPDATES_PER_REPO_INFO_FILE = 10
"""Icechunk keeps a copy of the repository info object every commit replaces (``overwritten/``,
never collected by icechunk 2.3: earth-mover/icechunk#1852), and that object carries up to this
many entries of the operations log (default 1,000). Operational runs commit once per file, so
the copies are most of a repository's bytes; 10 halves them (measured: 600 one-chunk commits
wrote 12.6 MB of copies by default, 5.9 MB with 10). The cost is more reads to reconstruct the
operations log, which nothing here reads."""


def repository_config(spec: DatasetSpec, source_endpoint: str | None) -> icechunk.RepositoryConfig:
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(virtual_chunk_container(spec.source.store, source_endpoint))
    splitting = icechunk.ManifestSplittingConfig.from_dict(
        {
            icechunk.ManifestSplitCondition.AnyArray(): {
                icechunk.ManifestSplitDimCondition.DimensionName(
                    f"^{spec.append_dimension.name}$"
                ): spec.manifest_split_size
            }
        }
    )
    config.manifest = icechunk.ManifestConfig(
        preload=icechunk.ManifestPreloadConfig(
            preload_if=icechunk.ManifestPreloadCondition.false()
        ),
        splitting=splitting,
    )
    # Icechunk caches 15 million chunk refs and 500,000 snapshot nodes by default: ~100 GFS
    # partitions' manifests and thousands of snapshots (each lists every manifest split), so a
    # long-running writer would grow with every commit. One partition's refs (and a margin) and
    # a few snapshots suffice (an operational commit re-reads the current partition's manifests).
    # One range GET per virtual chunk (a GRIB message of a few hundred kB to a few MB): by
    # default Icechunk fetched a 1.27 MB HRRR message in 5 requests (266 kB GFS: 5 too), each a
    # request the producer's S3 bills and serves; in one request the read was 4x faster.
    config.storage = icechunk.StorageSettings(
        concurrency=icechunk.StorageConcurrencySettings(
            max_concurrent_requests_for_object=1, ideal_concurrent_request_size=ONE_REQUEST_BYTES
        )
    )
    config.num_updates_per_repo_info_file = UPDATES_PER_REPO_INFO_FILE
    config.caching = icechunk.CachingConfig(
        num_chunk_refs=max(MIN_CACHED_CHUNK_REFS, spec.refs_per_partition * 5 // 4),
        num_snapshot_nodes=CACHED_SNAPSHOTS * (len(spec.variables) + len(spec.levels) + 16),
    )
    return config


def reader_credentials(spec: DatasetSpec) -> dict[str, icechunk.AnyCredential | None]:
    """Authorization readers pass for the dataset's virtual chunk container."""
    return icechunk.containers_credentials(
        {spec.source.store.url_prefix: container_credentials(spec.source.store)}
    )


@dataclass
class DatasetRepository:
    """An open repository of one dataset, with the commit discipline its storage needs."""

    spec: DatasetSpec
    settings: RepositorySettings
    repo: icechunk.Repository

    @property
    def location(self) -> str:
        return self.settings.location(self.spec.dataset_id)

    def writable_session(self) -> icechunk.Session:
        return self.repo.writable_session(BRANCH)

    def readonly_session(self) -> icechunk.Session:
        return self.repo.readonly_session(branch=BRANCH)

    @contextlib.contextmanager
    def commit_lock(self) -> Iterator[None]:
        """Serialize commits where the storage cannot (local filesystem)."""
        match self.settings.kind:
            case "local":
                with FileLock(f"{self.location}.commit.lock"):
                    yield
            case "s3":
                yield

    def commit(self, session: icechunk.Session, message: str, metadata: dict[str, object]) -> str:
        """Commit ``session``; raises icechunk.ConflictError if another commit landed first."""
        with self.commit_lock():
            return session.commit(message, metadata=metadata)

    def has_template(self) -> bool:
        return _holds_template(self.spec, self.readonly_session())

    def tag_complete(self, partition_time: dt.datetime, snapshot_id: str) -> str:
        """Tag ``snapshot_id`` as the snapshot that completed the partition
        (:func:`partition_tag`), unless the partition is tagged already: tags are immutable and
        the first completion wins, so calling this again, from any writer, changes nothing.
        Returns the snapshot the tag names."""
        name = partition_tag(self.spec, partition_time)
        with self.commit_lock(), contextlib.suppress(icechunk.AlreadyExistsError):
            self.repo.create_tag(name, snapshot_id)
        return self.repo.lookup_tag(name)


def partition_tag(spec: DatasetSpec, partition_time: dt.datetime) -> str:
    """The tag of a complete partition: ``noaa-gfs-forecast/2025-08-01T00``."""
    return f"{spec.dataset_id}/{partition_time.astimezone(dt.UTC):%Y-%m-%dT%H}"


def open_repository(
    spec: DatasetSpec,
    settings: RepositorySettings,
    *,
    source_endpoint: str | None = None,
    create: bool = True,
) -> DatasetRepository:
    """Open the dataset's repository, creating it (with its empty template) if ``create``.

    ``source_endpoint`` overrides the source bucket's endpoint (None: the cloud's own); the
    container config is applied at every open so a moved endpoint takes effect.
    """
    config = repository_config(spec, source_endpoint)
    storage = settings.storage(spec.dataset_id)
    credentials = reader_credentials(spec)
    if not create:
        # Never leave anything behind (no directory, no lock file): a sensor tick opens this way.
        if not icechunk.Repository.exists(storage):
            raise FileNotFoundError(
                f"no repository for {spec.dataset_id} at {settings.location(spec.dataset_id)}"
            )
        repo = icechunk.Repository.open(
            storage, config=config, authorize_virtual_chunk_access=credentials
        )
        return DatasetRepository(spec=spec, settings=settings, repo=repo)
    if settings.kind == "local":
        Path(settings.local_root).mkdir(parents=True, exist_ok=True)
    lock = (
        FileLock(f"{settings.location(spec.dataset_id)}.create.lock")
        if settings.kind == "local"
        else contextlib.nullcontext()
    )

    def open_existing() -> icechunk.Repository:
        return icechunk.Repository.open(
            storage, config=config, authorize_virtual_chunk_access=credentials
        )

    with lock:
        if icechunk.Repository.exists(storage):
            repo = open_existing()
        elif create:
            try:
                repo = icechunk.Repository.create(
                    storage, config=config, authorize_virtual_chunk_access=credentials
                )
            except icechunk.IcechunkError:
                # Another process is creating it (it got past exists() first): open theirs once
                # it can be opened. Its first snapshot lands before the object that makes the
                # repository openable, and create() refuses a prefix holding anything.
                repo = _open_once_created(open_existing)
        else:
            raise FileNotFoundError(
                f"no repository for {spec.dataset_id} at {settings.location(spec.dataset_id)}"
            )
    dataset_repo = DatasetRepository(spec=spec, settings=settings, repo=repo)
    if create and not dataset_repo.has_template():
        _create_template(dataset_repo)
    return dataset_repo


def _open_once_created(open_existing: Callable[[], icechunk.Repository]) -> icechunk.Repository:
    """Open a repository another process is still creating, waiting (bounded) for it."""
    deadline = time.monotonic() + CREATION_WAIT_SECONDS
    while True:
        try:
            return open_existing()
        except icechunk.RepositoryNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _create_template(dataset_repo: DatasetRepository) -> None:
    """Commit the empty template unless a commit already holds it. Race-free: the check and the
    write happen in one session, so a commit landing after the session's base (another run's
    template, or its partition refs) makes ours conflict, and we look again instead of writing
    the template over it."""
    spec = dataset_repo.spec
    for _ in range(TEMPLATE_ATTEMPTS):
        session = dataset_repo.writable_session()
        if _holds_template(spec, session):
            return
        write_template(spec, session.store)
        try:
            dataset_repo.commit(
                session,
                f"create {spec.dataset_id} template",
                {"dataset_id": spec.dataset_id, "kind": "template"},
            )
            return
        except icechunk.ConflictError:
            continue
    raise RuntimeError(f"{spec.dataset_id}: could not commit the template")


def _holds_template(spec: DatasetSpec, session: icechunk.Session) -> bool:
    try:
        group = zarr.open_group(session.store, mode="r")
    except zarr.errors.GroupNotFoundError:
        return False
    return spec.append_dimension.name in group
