"""Repository maintenance: expire old snapshots, then garbage-collect what nothing reaches.

Contract of :func:`maintain`:

- Snapshots older than ``expire_after`` are expired (left out of the branch's history), except
  those a tag or a branch points at: every tag of a complete partition keeps its snapshot, and
  the tip of ``main`` is never expired. No tag or branch is ever deleted.
- Then every object (snapshot, manifest, transaction log, attributes) no branch or tag reaches
  any more is deleted, but only if it is older than ``keep_objects_younger_than`` (at least
  :data:`MIN_KEEP_MINUTES`): a commit in progress writes its manifests and snapshot before it
  moves the branch, and those objects are younger than that, so maintenance running beside an
  operational run never deletes a commit in the making.
- On a local repository the whole of it holds the commit lock (commits wait); on S3 it runs
  beside writers, as Icechunk allows.
- A reader holding a session on an expired snapshot either still reads (its objects are not
  collected yet) or gets Icechunk's error naming the missing object; never other data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import Field

from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.spec import FrozenModel

MIN_KEEP_MINUTES = 10.0
"""The shortest age guard allowed. With a 1-minute guard, on a 2-core machine at a load of
~15, a pass collected the manifests of a commit still in flight, which then landed referring to
them: the guard must exceed any commit's duration, with a wide margin."""


class MaintenanceSettings(FrozenModel):
    """Run-time knobs of maintenance (Dagster run config)."""

    expire_after_hours: float = Field(
        72.0, gt=0, description="Snapshots older than this are expired (tagged ones kept)."
    )
    keep_objects_younger_than_minutes: float = Field(
        60.0,
        ge=MIN_KEEP_MINUTES,
        description="Unreachable objects younger than this are kept: a commit in progress "
        "writes its objects before it moves the branch, so this must exceed the longest "
        f"commit (at least {MIN_KEEP_MINUTES} min).",
    )
    max_concurrent_requests: int = Field(
        64,
        gt=0,
        description="Manifest fetches and listings in flight while collecting garbage "
        "(Icechunk's default of 500 overran a loopback S3 server's accept queue: connect "
        "timeouts).",
    )


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass removed (numbers for the UI)."""

    snapshots_expired: int
    snapshots_deleted: int
    manifests_deleted: int
    transaction_logs_deleted: int
    attributes_deleted: int
    chunks_deleted: int
    bytes_deleted: int
    tags: int

    def as_metadata(self) -> dict[str, int]:
        return dict(vars(self))


def maintain(
    repository: DatasetRepository, now: dt.datetime, settings: MaintenanceSettings
) -> MaintenanceReport:
    """Expire, then garbage-collect (see the module contract)."""
    repo = repository.repo
    expire_before = now - dt.timedelta(hours=settings.expire_after_hours)
    keep_after = now - dt.timedelta(minutes=settings.keep_objects_younger_than_minutes)
    with repository.commit_lock():
        expired = repo.expire_snapshots(expire_before)
        summary = repo.garbage_collect(
            keep_after,
            max_concurrent_manifest_fetches=settings.max_concurrent_requests,
            max_concurrent_listings=settings.max_concurrent_requests,
        )
    return MaintenanceReport(
        snapshots_expired=len(expired),
        snapshots_deleted=summary.snapshots_deleted,
        manifests_deleted=summary.manifests_deleted,
        transaction_logs_deleted=summary.transaction_logs_deleted,
        attributes_deleted=summary.attributes_deleted,
        chunks_deleted=summary.chunks_deleted,
        bytes_deleted=summary.bytes_deleted,
        tags=len(repo.list_tags()),
    )
