"""``make dev``'s GFS cycle: the fields it encodes are the ones NCEP writes at its leads."""

import datetime as dt

import pytest

from vidx_offline.dev import gfs_fields_at
from vidx_offline.gfs_archive import GfsArchiveConfig
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.providers.noaa import wgrib2_fields

SPEC = get_dataset("noaa-gfs-forecast")
CYCLE = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize("count", [1, 2, 13])
def test_a_cycle_of_any_length_can_be_encoded(count: int) -> None:
    leads = SPEC.lead_hours[:count]
    fields = gfs_fields_at(SPEC, leads)
    # The config refuses a field no lead has (the bug: f000 alone had every field asked for).
    config = GfsArchiveConfig(init_times=(CYCLE,), lead_hours=leads, grid=(3, 4), fields=fields)
    assert all(config.inventory(lead) for lead in leads)


def test_f000_alone_has_no_statistical_fields() -> None:
    fields = gfs_fields_at(SPEC, (0,))
    assert ("TMP", "2 m above ground") in fields
    assert ("APCP", "surface") not in fields
    assert ("TMAX", "2 m above ground") not in fields


def test_the_default_cycle_has_every_field() -> None:
    assert gfs_fields_at(SPEC, SPEC.lead_hours[:13]) == wgrib2_fields(SPEC)
