"""A message's own parameter, read from its bytes: the decoder's abbreviation and the GRIB2
triple (sections 0 and 4), checked against ecCodes on real NCEP messages and on ICON's
unstructured grid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import eccodes
import pytest

from vidx_offline.icon_archive import IconField, IcosahedralGrid, encode_icon_message
from vidx_offline.reference_decode import eccodes_message_ranges
from vidx_pipeline.message_facts import (
    MessageFactsError,
    level_problems,
    parameter_problems,
    read_message_facts,
)

REAL_GFS = Path(__file__).parent / "fixtures" / "real" / "grib" / "gfs.0p25.2023121906.f001.grib2"


def test_the_parameter_triple_of_each_real_message_is_ecCodes_one() -> None:
    data = REAL_GFS.read_bytes()
    ranges = eccodes_message_ranges(REAL_GFS)
    assert len(ranges) == 3
    for offset, length in ranges:
        message = data[offset : offset + length]
        handle = eccodes.codes_new_from_message(message)
        try:
            expected = tuple(
                int(eccodes.codes_get(handle, key))
                for key in ("discipline", "parameterCategory", "parameterNumber")
            )
            short_name = eccodes.codes_get(handle, "shortName")
        finally:
            eccodes.codes_release(handle)
        facts = read_message_facts(message, source=f"{REAL_GFS.name}@{offset}")
        assert facts.parameter_triple == expected, short_name


def test_a_message_cut_before_its_product_definition_is_refused() -> None:
    data = REAL_GFS.read_bytes()
    (offset, _), *_ = eccodes_message_ranges(REAL_GFS)
    facts = read_message_facts(data[offset:], source="whole")
    cut = data[offset : offset + facts.header.length + 3]
    with pytest.raises(MessageFactsError, match="no product definition section after section 3"):
        read_message_facts(cut, source="cut")


def test_a_parameter_and_a_level_other_than_expected_are_named_with_the_messages_own() -> None:
    data = REAL_GFS.read_bytes()
    (offset, length), *_ = eccodes_message_ranges(REAL_GFS)
    facts = read_message_facts(data[offset : offset + length], source="first")
    assert parameter_problems(facts, facts.parameter_triple, "any") == []
    other = (facts.parameter_triple[0], facts.parameter_triple[1], facts.parameter_triple[2] + 1)
    (problem,) = parameter_problems(facts, other, "XYZ")
    triple = "-".join(map(str, facts.parameter_triple))
    assert problem.startswith(f"parameter {triple} ({facts.parameter} {facts.parameter_name})")
    assert problem.endswith("not XYZ " + "-".join(map(str, other)))
    assert level_problems(facts, facts.level_type, facts.level_value) == []
    (level,) = level_problems(facts, "isobaric surface", 12_345.0)
    assert level == f"level {facts.level_type} {facts.level_value}, not isobaric surface 12345.0"


@pytest.mark.parametrize(
    ("field", "lead"), [(IconField("T", 500), 5), (IconField("TOT_PREC"), 81)], ids=str
)
def test_a_message_on_an_unstructured_grid_has_its_own_product_definition_read(
    field: IconField, lead: int
) -> None:
    """gribberish's metadata parser refuses template 3.101 (ICON's icosahedral grid): the facts
    of such a message are still its own product definition, as ecCodes reads it, and its grid
    is the unstructured one."""
    init = dt.datetime(2026, 12, 3, 6, tzinfo=dt.UTC)
    grid = IcosahedralGrid(cells=57)
    message = encode_icon_message(field, init, lead, grid, packing="grid_ccsds")
    facts = read_message_facts(message, source="icosahedral")
    handle = eccodes.codes_new_from_message(message)
    try:
        assert eccodes.codes_get(handle, "gridType") == "unstructured_grid"
        triple = tuple(
            eccodes.codes_get_long(handle, key)
            for key in ("discipline", "parameterCategory", "parameterNumber")
        )
        level = eccodes.codes_get_double(handle, "level")
        level_type = eccodes.codes_get_long(handle, "typeOfFirstFixedSurface")
        end_step = eccodes.codes_get_long(handle, "endStep")
        start_step = eccodes.codes_get_long(handle, "startStep")
    finally:
        eccodes.codes_release(handle)
    assert facts.header.grid.template == 101
    assert facts.header.grid.number_of_points == grid.cells
    assert facts.parameter_triple == triple
    assert facts.reference_time == init
    if level_type == 100:  # ecCodes' level is in hPa, the facts' in Pa
        assert facts.level_type == "isobaric surface"
        assert facts.level_value == level * 100
    # ecCodes gives steps in hours (its default step unit), the message holds minutes
    assert facts.forecast_time == init + dt.timedelta(hours=start_step)
    expected_end = None if facts.forecast_end is None else init + dt.timedelta(hours=end_step)
    assert facts.forecast_end == expected_end
    assert (facts.forecast_end is not None) == (field.param == "TOT_PREC")
