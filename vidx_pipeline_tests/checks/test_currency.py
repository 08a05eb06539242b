"""Currency: the newest complete partition against the publication schedule."""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.checks.currency import GRACE, currency
from vidx_pipeline_tests.checks.conftest import SPEC, BuildFn


def test_current_then_behind_as_time_passes(build: BuildFn) -> None:
    init = dt.datetime(2021, 8, 1, 6, tzinfo=dt.UTC)
    built = build(init)
    last_file = init + SPEC.publication.last_file_after + GRACE
    # The next cycle is not due yet: current.
    outcome = currency(built.inputs(now=last_file + SPEC.append_dimension.frequency / 2))
    assert outcome.passed, outcome.details
    assert outcome.numbers["partitions_behind"] == 0
    assert "newest complete partition: **2021-08-01T06:00**" in outcome.details
    # A day later four cycles are due and none is in.
    outcome = currency(built.inputs(now=last_file + dt.timedelta(days=1)))
    assert not outcome.passed
    assert outcome.severity == "warn"
    assert outcome.numbers["partitions_behind"] == 4
    assert "newest partition due complete" in outcome.details
    assert "**2021-08-02T06:00**" in outcome.details


def test_an_incomplete_newest_partition_is_not_current(build: BuildFn) -> None:
    init = dt.datetime(2021, 8, 3, tzinfo=dt.UTC)
    built = build(init, leads=(0, 1))
    now = init + SPEC.publication.last_file_after + GRACE + dt.timedelta(minutes=1)
    outcome = currency(built.inputs(now=now))
    assert not outcome.passed
    assert "newest complete partition: **none**" in outcome.details
