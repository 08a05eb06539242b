"""The checks' Dagster side: which partitions the schedule judges, and how an outcome reads."""

from __future__ import annotations

import datetime as dt

from dagster import AssetCheckSeverity, MetadataValue

from vidx_pipeline.checks import CheckOutcome
from vidx_pipeline.orchestration.checks import check_result, newest_partitions
from vidx_pipeline_tests.conftest import small_gfs_spec

SPEC = small_gfs_spec()


def test_the_schedule_judges_the_newest_partitions_that_have_begun() -> None:
    now = dt.datetime(2025, 8, 1, 13, 20, tzinfo=dt.UTC)
    assert newest_partitions(SPEC, now, 3) == [
        "2025-08-01T00:00",
        "2025-08-01T06:00",
        "2025-08-01T12:00",
    ]
    start = SPEC.append_dimension.start
    assert newest_partitions(SPEC, start, 4) == [f"{start:%Y-%m-%dT%H:%M}"]
    assert newest_partitions(SPEC, start - dt.timedelta(hours=1), 4) == []


def test_an_outcome_becomes_a_result_an_operator_can_read() -> None:
    outcome = CheckOutcome(
        passed=False,
        severity="error",
        summary="1 replaced",
        details="**Replaced**\n\n- s3://bucket/key",
        numbers={"replaced": 1},
    )
    result = check_result(outcome, ["2025-08-01T00:00"])
    assert not result.passed
    assert result.severity == AssetCheckSeverity.ERROR
    assert result.description == "1 replaced"
    assert result.metadata["details"] == MetadataValue.md(outcome.details)
    assert result.metadata["replaced"] == MetadataValue.float(1.0)
    warn = check_result(CheckOutcome(True, "warn", "ok", "", {}), ["x"])
    assert warn.severity == AssetCheckSeverity.WARN
