"""Which version of a dataset a reader opens: a branch's tip, a tag, a snapshot, or what a
branch held at a point in time (Icechunk's ``readonly_session`` arguments, one at a time)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import icechunk
from pydantic import Field

from vidx_pipeline.repository import BRANCH
from vidx_pipeline.spec import FrozenModel


class VersionSelectionError(ValueError):
    """The arguments do not select exactly one version."""


class VersionNotFoundError(LookupError):
    """The repository holds no such branch, tag or snapshot (or none that old)."""


class BranchVersion(FrozenModel):
    """The tip of a branch (the pipeline commits to ``main``)."""

    kind: Literal["branch"] = "branch"
    branch: str = Field(min_length=1)


class TagVersion(FrozenModel):
    kind: Literal["tag"] = "tag"
    tag: str = Field(min_length=1)


class SnapshotVersion(FrozenModel):
    kind: Literal["snapshot"] = "snapshot"
    snapshot_id: str = Field(min_length=1)


class AsOfVersion(FrozenModel):
    """The newest snapshot of ``branch`` committed at or before ``as_of``."""

    kind: Literal["as_of"] = "as_of"
    as_of: dt.datetime
    branch: str = BRANCH


Version = Annotated[
    BranchVersion | TagVersion | SnapshotVersion | AsOfVersion, Field(discriminator="kind")
]

MAIN = BranchVersion(branch=BRANCH)
"""What a reader gets by default: the tip of the branch the pipeline commits to."""


def select_version(
    *,
    branch: str | None = None,
    tag: str | None = None,
    snapshot_id: str | None = None,
    as_of: dt.datetime | None = None,
) -> Version:
    """The version the arguments name: at most one of them (none: :data:`MAIN`). ``as_of``
    must be timezone-aware and reads ``main`` as it was then. Raises
    :class:`VersionSelectionError` otherwise."""
    given = {
        name: value
        for name, value in (
            ("branch", branch),
            ("tag", tag),
            ("snapshot_id", snapshot_id),
            ("as_of", as_of),
        )
        if value is not None
    }
    if len(given) > 1:
        raise VersionSelectionError(
            f"give one of branch, tag, snapshot_id or as_of, not {' and '.join(given)}"
        )
    if any(value == "" for value in given.values()):
        raise VersionSelectionError(f"{next(iter(given))} must not be empty")
    if branch is not None:
        return BranchVersion(branch=branch)
    if tag is not None:
        return TagVersion(tag=tag)
    if snapshot_id is not None:
        return SnapshotVersion(snapshot_id=snapshot_id)
    if as_of is not None:
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise VersionSelectionError(
                "as_of must be timezone-aware (e.g. datetime(..., tzinfo=datetime.UTC))"
            )
        return AsOfVersion(as_of=as_of)
    return MAIN


def describe(version: Version) -> str:
    """The version in words, for errors."""
    match version:
        case BranchVersion(branch=branch):
            return f"branch {branch!r}"
        case TagVersion(tag=tag):
            return f"tag {tag!r}"
        case SnapshotVersion(snapshot_id=snapshot_id):
            return f"snapshot {snapshot_id!r}"
        case AsOfVersion(as_of=as_of, branch=branch):
            return f"branch {branch!r} as of {as_of.isoformat()}"


def readonly_session(
    repo: icechunk.Repository, version: Version, dataset_id: str
) -> icechunk.Session:
    """A read-only session at ``version``; raises :class:`VersionNotFoundError` naming the
    dataset and the version when the repository has no such version."""
    try:
        match version:
            case BranchVersion(branch=branch):
                return repo.readonly_session(branch=branch)
            case TagVersion(tag=tag):
                return repo.readonly_session(tag=tag)
            case SnapshotVersion(snapshot_id=snapshot_id):
                return repo.readonly_session(snapshot_id=snapshot_id)
            case AsOfVersion(as_of=as_of, branch=branch):
                return repo.readonly_session(branch=branch, as_of=as_of)
    except (icechunk.NotFoundError, icechunk.InvalidInputError) as error:
        reason = str(error).splitlines()[0]
        raise VersionNotFoundError(f"{dataset_id} has no {describe(version)}: {reason}") from None
