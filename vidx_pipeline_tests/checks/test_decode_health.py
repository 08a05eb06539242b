"""Decode health reads sampled chunks as a reader does and compares each message's own
metadata with its chunk: it passes on a faithfully built dataset (every variable of GFS) and
names the chunk and object where a ref points at another field."""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.checks.decode_health import decode_health
from vidx_pipeline_tests.checks.conftest import BuildFn


def test_every_variable_decodes_and_says_what_its_chunk_claims(build: BuildFn) -> None:
    built = build(dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    outcome = decode_health(built.inputs(decode_samples=20))
    assert outcome.passed, outcome.details
    assert outcome.numbers["chunks_decoded"] == len(built.spec.variables) + 20


def test_a_ref_to_another_level_is_named(build: BuildFn) -> None:
    """The index of f003 says 500 mb where the message is 850 mb and the other way round: the
    refs land on the wrong levels, and only the messages' own bytes can tell."""

    def swap(lead: int, text: str) -> str:
        if lead != 3:
            return text
        text = text.replace(":TMP:500 mb:", ":TMP:SWAP:").replace(":TMP:850 mb:", ":TMP:500 mb:")
        return text.replace(":TMP:SWAP:", ":TMP:850 mb:")

    # Only f003 is published: every chunk of it is read.
    built = build(dt.datetime(2021, 6, 2, tzinfo=dt.UTC), leads=(3,), edit_index=swap)
    outcome = decode_health(built.inputs(decode_samples=100_000))
    assert not outcome.passed
    assert outcome.severity == "error"
    problems = [line for line in outcome.details.splitlines() if "temperature_isobaric" in line]
    assert len(problems) == 2, outcome.details
    source = "s3://noaa-gfs-bdp-pds/gfs.20210602/00/atmos/gfs.t00z.pgrb2.0p25.f003"
    assert all(" f003 " in line and f"from {source})" in line for line in problems)
    assert any(
        "isobaric_level=500.0" in p and "level isobaric surface 85000.0" in p for p in problems
    )
