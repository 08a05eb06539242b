"""Coordinates: the append coordinate, valid_time and the progress flags against the refs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import zarr

from vidx_pipeline.checks.coordinates import coordinates
from vidx_pipeline_tests.checks.conftest import SPEC, BuildFn


def test_a_faithful_partition_passes(build: BuildFn) -> None:
    built = build(dt.datetime(2021, 10, 1, tzinfo=dt.UTC), leads=(0, 1, 2))
    outcome = coordinates(built.inputs())
    assert outcome.passed, outcome.details


def test_a_ref_without_its_flag_and_a_wrong_valid_time_are_named(build: BuildFn) -> None:
    init = dt.datetime(2021, 10, 2, tzinfo=dt.UTC)
    built = build(init, leads=(0, 1, 2))
    position = SPEC.append_dimension.index_of(init)
    session = built.repository.writable_session()
    # A ref at f005, whose file is not flagged (as a half-done commit would leave it).
    url = "s3://noaa-gfs-bdp-pds/gfs.20211002/00/atmos/gfs.t00z.pgrb2.0p25.f002"
    session.store.set_virtual_ref(f"temperature_2m/c/{position}/5/0/0", url, offset=0, length=100)
    group = zarr.open_group(session.store, mode="r+")
    valid = group["valid_time"]
    assert isinstance(valid, zarr.Array)
    row = np.asarray(valid[position])
    row[3] += 3600
    valid[position] = row
    session.commit("corrupt")
    outcome = coordinates(built.inputs())
    assert not outcome.passed
    assert outcome.severity == "error"
    assert "2021-10-02T00:00: temperature_2m f005 has a ref, its file is not flagged" in (
        outcome.details
    )
    assert "valid_time != init_time + lead_time at leads [3]" in outcome.details
