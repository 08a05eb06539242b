"""Source integrity: a replaced or vanished source object is named before a reader hits it,
and materializing the partition again repairs a replaced one in one commit."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import obstore
import pytest
import zarr

from vidx_pipeline.checks.source_integrity import source_integrity
from vidx_pipeline_tests.checks.conftest import SPEC, BuildFn, Built

F002 = "gfs.20210901/00/atmos/gfs.t00z.pgrb2.0p25.f002"


def _read_t2m(built: Built, lead: int) -> np.ndarray:
    group = zarr.open_group(built.repository.readonly_session().store, mode="r")
    array = group["temperature_2m"]
    assert isinstance(array, zarr.Array)
    position = SPEC.append_dimension.index_of(built.init)
    return np.asarray(array[position, SPEC.lead_hours.index(lead)])


def test_a_replaced_object_is_flagged_then_repaired_by_a_new_materialization(
    build: BuildFn,
) -> None:
    built = build(dt.datetime(2021, 9, 1, tzinfo=dt.UTC))
    assert source_integrity(built.inputs()).passed
    before = _read_t2m(built, 2)

    time.sleep(1.1)  # last-modified has 1 s resolution
    data = bytes(obstore.get(built.producer, F002).bytes())
    obstore.put(built.producer, F002, data)  # the producer re-uploads it
    outcome = source_integrity(built.inputs())
    assert not outcome.passed
    assert outcome.severity == "error"
    assert outcome.numbers["replaced"] == 1
    assert f"s3://noaa-gfs-bdp-pds/{F002} modified" in outcome.details
    with pytest.raises(Exception, match=r"(?i)modified|checksum|changed"):
        _read_t2m(built, 2)  # what a reader would get: a refusal

    snapshots = len(list(built.repository.repo.ancestry(branch="main")))
    result = built.ingest()
    assert result.replaced == [f"s3://noaa-gfs-bdp-pds/{F002}"]
    assert result.files_ingested == 1
    assert result.commits == 1
    assert len(list(built.repository.repo.ancestry(branch="main"))) == snapshots + 1
    assert source_integrity(built.inputs()).passed
    np.testing.assert_array_equal(_read_t2m(built, 2), before)
    # Nothing left to repair: a further run commits nothing.
    assert built.ingest().commits == 0


def test_a_vanished_object_is_named(build: BuildFn) -> None:
    built = build(dt.datetime(2021, 9, 2, tzinfo=dt.UTC))
    key = "gfs.20210902/00/atmos/gfs.t00z.pgrb2.0p25.f004"
    obstore.delete(built.producer, key)
    outcome = source_integrity(built.inputs())
    assert not outcome.passed
    assert outcome.numbers["vanished"] == 1
    assert "**Vanished**" in outcome.details
    assert f"s3://noaa-gfs-bdp-pds/{key}" in outcome.details
