"""The ECMWF provider against ECMWF's own bytes: real ``enfo`` index lines (members out of order,
key order varying, ``number`` a string) are placed at the ranges their text gives, and a
message's parameter and level (real CCSDS IFS messages, ecCodes-encoded ENS messages) are
compared with the variable by GRIB2 triple, whatever gribberish calls them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import eccodes
import numpy as np
import pytest

from vidx_offline.ecmwf_encode import ENS_FIELDS, EnsField, encode_ens_message
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.datasets.ecmwf_ifs_ens_forecast_15_day import ON_SURFACE
from vidx_pipeline.fetch import place_file
from vidx_pipeline.index_formats import get_format
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.message_facts import read_message_facts
from vidx_pipeline.providers import get_provider
from vidx_pipeline.providers.ecmwf import MarsMatch
from vidx_pipeline.refs import ChunkLocator, chunk_labels
from vidx_pipeline.source_files import ExpectedFile, expected_files
from vidx_pipeline.spec import VariableAttrs, VariableSpec

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"
ENFO_2022 = (FIXTURES / "ecmwf-index" / "enfo_20220125_18z_0h.index").read_text()
ENFO_2024 = (FIXTURES / "ecmwf-index" / "enfo_20240201_00z_3h.index").read_text()
IFS_GRIB = FIXTURES / "grib" / "ecmwf-ifs-oper-surface.grib2"
SPEC = get_dataset("ecmwf-ifs-ens-forecast-15-day")
PROVIDER = get_provider("ecmwf")


def _file(init: dt.datetime, lead: int) -> ExpectedFile:
    (file,) = [f for f in expected_files(SPEC, init) if f.lead_hours == lead]
    return file


def _records(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize(
    ("text", "init", "lead"),
    [
        (ENFO_2022, dt.datetime(2022, 1, 25, 18, tzinfo=dt.UTC), 0),
        (ENFO_2024, dt.datetime(2024, 2, 1, tzinfo=dt.UTC), 3),
    ],
    ids=["enfo-2022-01-25-18z-step0", "enfo-2024-02-01-00z-step3"],
)
def test_real_enfo_lines_are_placed_at_their_own_ranges(
    text: str, init: dt.datetime, lead: int
) -> None:
    records = _records(text)
    file = _file(init, lead)
    size = max(int(r["_offset"]) + int(r["_length"]) for r in records)  # type: ignore[call-overload]
    locator = ChunkLocator(SPEC)
    placed = place_file(
        SPEC, locator, file, SourceObject(file.data_key, size, init, None), text, "report"
    )
    assert placed.unplaced == []
    assert placed.refused == []
    refs = sorted(placed.refs(locator), key=lambda r: r.offset)
    assert [(r.offset, r.length) for r in refs] == [(r["_offset"], r["_length"]) for r in records]
    for ref, record in zip(refs, records, strict=True):
        assert ref.labels["ensemble_member"] == int(record.get("number", 0))  # type: ignore[call-overload]
        assert SPEC.variable(ref.variable).match.param == record["param"]  # type: ignore[attr-defined]
        if "levelist" in record:
            assert ref.labels["isobaric_level"] == float(record["levelist"])  # type: ignore[arg-type]
    # Everything else of the file is missing: these are excerpts of a whole file's index.
    assert len(placed.missing) == 51 * len(ENS_FIELDS) - len(records)


def test_the_real_lines_have_ecmwfs_quirks() -> None:
    """What the provider must cope with, read from the real text itself."""
    records = _records(ENFO_2022)
    members = [int(r["number"]) for r in records]  # type: ignore[call-overload]
    assert members != sorted(members)
    assert all(isinstance(r["number"], str) for r in records)
    key_orders = {tuple(k for k in r if k in ("levtype", "number", "step")) for r in records}
    assert len(key_orders) == 2
    assert "number" not in _records(ENFO_2024)[0]  # the control has no number


def _entries(text: str, init: dt.datetime):
    size = max(r["_offset"] + r["_length"] for r in map(json.loads, text.splitlines()))
    return get_format("ecmwf_index").parse(
        text, index_url="i", data=SourceObject("d", size, init, None), data_url="d", init=init
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"type": "cf", "number": "5"}, "type=cf (the control) with number='5'"),
        ({"number": "x"}, "type=pf with number='x'"),
        ({"number": "0"}, "type=pf with number='0'"),
        ({"type": "em"}, "type='em' is not a forecast of one member"),
        ({"step": "6"}, "step='6', but the object's path is step 3"),
    ],
)
def test_a_line_contradicting_its_file_is_refused(change: dict[str, str], problem: str) -> None:
    init = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    record = {**_records(ENFO_2024)[1], **change}
    (entry,) = _entries(json.dumps(record) + "\n", init)
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        PROVIDER.message_key(entry, _file(init, 3))


@pytest.mark.parametrize(
    ("change", "who"),
    [
        ({"type": "cf"}, "member 0"),
        ({"type": "pf", "number": "50"}, "member 50"),
        ({"type": "fc"}, ""),  # deterministic: no member
    ],
)
def test_a_lines_member_is_read_from_type_and_number(change: dict[str, str], who: str) -> None:
    init = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    record = {k: v for k, v in _records(ENFO_2024)[1].items() if k not in ("type", "number")}
    (entry,) = _entries(json.dumps({**record, **change}) + "\n", init)
    key = PROVIDER.message_key(entry, _file(init, 3))
    assert key == f"{record['param']}/{record['levtype']}/{record.get('levelist', '')}/{who}"


# ---- a message's own parameter and level ----


def _real_messages() -> list[tuple[str, tuple[int, int, int], bytes]]:
    """(shortName, GRIB2 triple, bytes) of every message of the real CCSDS IFS file, by ecCodes."""
    data = IFS_GRIB.read_bytes()
    found = []
    offset = 0
    while offset < len(data):
        length = int.from_bytes(data[offset + 8 : offset + 16], "big")
        message = data[offset : offset + length]
        handle = eccodes.codes_new_from_message(message)
        try:
            assert eccodes.codes_get(handle, "packingType") == "grid_ccsds"
            triple = tuple(
                eccodes.codes_get_long(handle, k)
                for k in ("discipline", "parameterCategory", "parameterNumber")
            )
            found.append((eccodes.codes_get(handle, "shortName"), triple, message))
        finally:
            eccodes.codes_release(handle)
        offset += length
    return found


def _surface_variable(param: str, triple: tuple[int, int, int]) -> VariableSpec:
    return VariableSpec(
        name=f"v_{param}",
        attrs=VariableAttrs(long_name=param, units="1", short_name=param),
        match=MarsMatch(param=param, levtype="sfc", parameter=triple, level_type=ON_SURFACE),
    )


def test_real_ccsds_messages_agree_with_their_own_variable_and_no_other() -> None:
    messages = _real_messages()
    assert [name for name, _, _ in messages] == ["asn", "ptype", "rsn", "sd", "tcc"]
    labels = chunk_labels(0, 0, None, None)
    for name, triple, message in messages:
        facts = read_message_facts(message, source=name)
        assert facts.header.centre == 98
        assert PROVIDER.message_problems(SPEC, _surface_variable(name, triple), labels, facts) == []
        for other, other_triple, _ in messages:
            if other != name:
                problems = PROVIDER.message_problems(
                    SPEC, _surface_variable(other, other_triple), labels, facts
                )
                assert problems, (name, other)
                assert problems[0].startswith("parameter "), (name, other)


def _ens_message(field: EnsField) -> bytes:
    values = np.linspace(0.0, 1.0, 19 * 36).reshape(19, 36)
    return encode_ens_message(field, dt.datetime(2024, 2, 1, tzinfo=dt.UTC), 6, 7, values)


def _variable_of(field: EnsField) -> VariableSpec:
    (variable,) = [
        v
        for v in SPEC.variables
        if (v.match.param, v.match.levtype) == (field.param, field.levtype)  # type: ignore[attr-defined]
    ]
    return variable


@pytest.mark.parametrize("field", ENS_FIELDS[::9] + ENS_FIELDS[-9:], ids=str)
def test_every_spec_variable_agrees_with_ecmwf_encoded_messages(field: EnsField) -> None:
    """ecCodes writes each ENS param's GRIB2 code; gribberish reads the level. ``tp`` and ``ro``
    are ECMWF local codes gribberish names after NCEP's: only the triple tells them apart."""
    variable = _variable_of(field)
    facts = read_message_facts(_ens_message(field), source=field.param)
    level = None if field.levelist is None else float(field.levelist)
    labels = chunk_labels(6, 7, variable.level_dimension, level)
    assert PROVIDER.message_problems(SPEC, variable, labels, facts) == []
    if field.levelist is not None:
        other = chunk_labels(6, 7, variable.level_dimension, 850.0 if level != 850.0 else 500.0)
        (problem,) = PROVIDER.message_problems(SPEC, variable, other, facts)
        assert problem.startswith("level isobaric surface")


def test_gribberish_names_ecmwf_local_codes_after_ncep() -> None:
    """Why the comparison is by triple: the decoder's abbreviations would be wrong."""
    tp = read_message_facts(_ens_message(EnsField("tp", "sfc", accumulated=True)), source="tp")
    ro = read_message_facts(_ens_message(EnsField("ro", "sfc", accumulated=True)), source="ro")
    assert (tp.parameter, tp.parameter_triple) == ("CFRZR", (0, 1, 193))
    assert (ro.parameter, ro.parameter_triple) == ("WILT", (2, 0, 201))


def test_the_provider_refuses_a_spec_it_does_not_own() -> None:
    noaa = get_dataset("noaa-gfs-forecast")
    with pytest.raises(ValueError, match="is not 'mars'"):
        PROVIDER.check_spec(noaa)
    broken = SPEC.variable("temperature_isobaric")
    match = broken.match.model_copy(update={"levelist": None})
    spec = SPEC.model_copy(update={"variables": (broken.model_copy(update={"match": match}),)})
    with pytest.raises(ValueError, match="levelist template"):
        PROVIDER.check_spec(spec)
