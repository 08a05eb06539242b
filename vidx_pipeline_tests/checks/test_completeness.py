"""Completeness is tiered: past partitions against everything expected, partitions still
publishing against what the producer has listed so far."""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.checks.completeness import completeness
from vidx_pipeline_tests.checks.conftest import SPEC, BuildFn
from vidx_pipeline_tests.conftest import PublishFn


def test_a_complete_past_partition_passes(build: BuildFn) -> None:
    built = build(dt.datetime(2021, 7, 1, tzinfo=dt.UTC))
    outcome = completeness(built.inputs())
    assert outcome.passed, outcome.details
    assert outcome.numbers["fraction_present"] == 1.0
    assert outcome.numbers["files_judged"] == len(SPEC.lead_hours)


def test_a_field_the_producer_left_out_is_absent_by_variable_and_lead(build: BuildFn) -> None:
    def drop_t2m(lead: int, text: str) -> str:
        lines = text.splitlines(keepends=True)
        return "".join(
            line for line in lines if not (lead == 5 and ":TMP:2 m above ground:" in line)
        )

    built = build(dt.datetime(2021, 7, 2, tzinfo=dt.UTC), edit_index=drop_t2m)
    outcome = completeness(built.inputs())
    assert not outcome.passed
    assert outcome.severity == "warn"
    assert outcome.numbers["chunks_expected"] - outcome.numbers["chunks_present"] == 1
    assert outcome.numbers["variables_incomplete"] == 1
    assert "2021-07-02T00:00: temperature_2m f005" in outcome.details
    assert "| temperature_2m | 0.875 |" in outcome.details  # 7 of its 8 leads
    assert "| 5 | " in outcome.details


def test_a_publishing_partition_is_judged_on_the_files_listed_so_far(
    build: BuildFn, publish: PublishFn
) -> None:
    init = dt.datetime(2021, 7, 3, tzinfo=dt.UTC)
    built = build(init, leads=(0, 1, 2))
    during = init + SPEC.publication.first_file_after
    outcome = completeness(built.inputs(now=during))
    assert outcome.passed, outcome.details
    assert outcome.numbers["files_judged"] == 3
    # Past its window the same partition lacks five files.
    past = completeness(built.inputs())
    assert not past.passed
    assert past.numbers["files_judged"] == len(SPEC.lead_hours)
    assert "pgrb2 f007 not ingested" in past.details
    # A file listed but not ingested fails the partition while it is still publishing.
    publish(init, (3,))
    outcome = completeness(built.inputs(now=during))
    assert not outcome.passed
    assert "2021-07-03T00:00: pgrb2 f003 not ingested" in outcome.details
