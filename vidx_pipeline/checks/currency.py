"""Currency: the newest complete partition against the producer's publication schedule.

A partition is due complete once ``publication.last_file_after`` (plus a grace) has passed since
its source cycle (the partition itself for a forecast); the check warns when the newest complete
partition is older than the newest due one.
The dataset-wide figure does not depend on which partitions the check was asked about.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import zarr

from vidx_pipeline.checks.base import CheckInputs, CheckKind, CheckOutcome, partition_label
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.spec import DatasetSpec

GRACE = dt.timedelta(minutes=30)
"""Slack past the schedule's last file before a partition counts as late."""


def newest_complete(group: zarr.Group, flags_per_position: int) -> int | None:
    """Position of the newest partition whose every expected file is flagged."""
    progress = group[PROGRESS_ARRAY]
    assert isinstance(progress, zarr.Array)
    if progress.shape[0] == 0:
        return None
    flags = np.asarray(progress[:]).reshape(progress.shape[0], -1)
    complete = np.flatnonzero(flags.sum(axis=1) == flags_per_position)
    return int(complete[-1]) if complete.size else None


def newest_due(spec: DatasetSpec, now: dt.datetime) -> dt.datetime | None:
    """The newest partition (not later than ``now``) whose last file was due ``GRACE`` ago."""
    append = spec.append_dimension
    if now < append.start:
        return None
    when = append.latest_at_or_before(now)
    while when >= append.start:
        if spec.publication_deadline(when) + GRACE <= now:
            return when
        when -= append.frequency
    return None


def currency(inputs: CheckInputs) -> CheckOutcome:
    spec = inputs.repository.spec
    append = spec.append_dimension
    group = zarr.open_group(inputs.repository.readonly_session().store, mode="r")
    due = newest_due(spec, inputs.now)
    position = newest_complete(group, len(expected_files(spec, append.start)))
    newest = append.value_at(position) if position is not None else None
    behind = due is not None and (newest is None or newest < due)
    age_hours = (inputs.now - newest).total_seconds() / 3600 if newest else float("nan")
    late = 0
    if behind and due is not None:
        late = (due - newest) // append.frequency if newest else append.index_of(due) + 1
    summary = (
        f"newest complete {partition_label(newest) if newest else '(none)'}, "
        f"due by now {partition_label(due) if due else '(none yet)'}"
    )
    details = (
        f"- newest complete partition: **{partition_label(newest) if newest else 'none'}** "
        f"({age_hours:.1f} h old)\n"
        f"- newest partition due complete (schedule: last file {spec.publication.last_file_after}"
        f" after its cycle, + {GRACE} grace): **{partition_label(due) if due else 'none yet'}**\n"
        f"- partitions behind: **{late}**"
    )
    return CheckOutcome(
        passed=not behind,
        severity="warn",
        summary=summary + (f": {late} partitions behind" if behind else ": current"),
        details=details,
        numbers={"newest_complete_age_hours": age_hours, "partitions_behind": late},
    )


CURRENCY = CheckKind(
    "currency",
    "The newest complete partition is at least the newest one the publication schedule says "
    "should be complete by now.",
    currency,
)
