"""Coordinates and bookkeeping: the append coordinate holds each partition's time, ``valid_time
= init_time + lead_time`` (in an analysis from forecast cycles, ``source_lead_time`` is each
step's source lead), progress flags agree with refs (no flag without its refs, no ref without
its flag), and the append dimension ends at the newest ingested value."""

from __future__ import annotations

import numpy as np
import zarr

from vidx_pipeline.checks.base import (
    CheckInputs,
    CheckKind,
    CheckOutcome,
    bullet_list,
    partition_label,
)
from vidx_pipeline.progress import PROGRESS_ARRAY
from vidx_pipeline.template import SOURCE_LEAD_TIME_ARRAY, VALID_TIME_ARRAY, epoch_seconds
from vidx_pipeline.validation import partial_commit_problems


def _array(group: zarr.Group, name: str) -> zarr.Array:
    array = group[name]
    assert isinstance(array, zarr.Array)
    return array


def coordinates(inputs: CheckInputs) -> CheckOutcome:
    spec = inputs.repository.spec
    group = zarr.open_group(inputs.repository.readonly_session().store, mode="r")
    append = spec.append_dimension
    times = _array(group, append.name)
    length = int(times.shape[0])
    problems: list[str] = []
    checked = 0
    for when in inputs.partition_times:
        position = append.index_of(when)
        label = partition_label(when)
        if position >= length:
            continue  # not ingested yet: nothing to contradict
        checked += 1
        stored = int(np.asarray(times[position]))
        if stored != epoch_seconds(when):
            problems.append(f"{label}: {append.name}[{position}] holds {stored} s, not this time")
        if spec.lead_times is not None:
            valid = np.asarray(_array(group, VALID_TIME_ARRAY)[position])
            wanted = epoch_seconds(when) + np.array(spec.lead_hours, "int64") * 3600
            if wrong := np.flatnonzero(valid != wanted).tolist():
                leads = [spec.lead_hours[i] for i in wrong[:10]]
                problems.append(f"{label}: valid_time != init_time + lead_time at leads {leads}")
        if spec.source_cycles is not None:
            stored_lead = int(np.asarray(_array(group, SOURCE_LEAD_TIME_ARRAY)[position]))
            (lead,) = spec.source_leads(when)
            if stored_lead != lead * 3600:
                problems.append(
                    f"{label}: source_lead_time holds {stored_lead} s, the step's source is "
                    f"f{lead:03d} of {partition_label(spec.source_cycle(when))}"
                )
        problems += [f"{label}: {p}" for p in partial_commit_problems(inputs.repository, when)]
    if length:
        last = np.asarray(_array(group, PROGRESS_ARRAY)[length - 1])
        if not last.any():
            problems.append(
                f"{append.name} ends at {partition_label(append.value_at(length - 1))}, "
                "where no file is ingested"
            )
    return CheckOutcome(
        passed=not problems,
        severity="error",
        summary=f"{len(problems)} problems in {checked} ingested partitions "
        f"({append.name} length {length})",
        details=bullet_list(problems) if problems else "Coordinates and flags agree.",
        numbers={"problems": len(problems), "partitions_checked": checked, "length": length},
    )


COORDINATES = CheckKind(
    "coordinates",
    "The append coordinate holds each partition's time, valid_time = init_time + lead_time, "
    "progress flags agree with refs, and the append dimension ends at the newest ingested "
    "value.",
    coordinates,
)
