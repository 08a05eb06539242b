"""The synthetic ECMWF ENS archive: keys, index text in ECMWF's layout (members shuffled, two key
orders, ``number`` a string), and messages as ECMWF encodes them (CCSDS, template 4.1/4.11,
centre 98, local MARS section), each at the offset and length its index line gives."""

from __future__ import annotations

import datetime as dt
import json

import eccodes
import numpy as np
import obstore
import pytest
from obstore.store import MemoryStore

from vidx_offline.ecmwf_archive import (
    EcmwfArchiveConfig,
    ens_data_key,
    ens_index_key,
    render_ecmwf_file,
    write_ecmwf_archive,
)
from vidx_offline.ecmwf_encode import (
    ENS_FIELDS,
    EcmwfEncodeError,
    EnsField,
    encode_ens_message,
    synthetic_values,
)
from vidx_offline.reference_decode import eccodes_decode

INIT = dt.datetime(2024, 2, 1, 12, tzinfo=dt.UTC)
GRID = (7, 12)
FIELDS = (EnsField("2t", "sfc"), EnsField("gh", "pl", 500), EnsField("tp", "sfc", accumulated=True))
CONFIG = EcmwfArchiveConfig(
    init_times=(INIT,), lead_hours=(0, 6), members=(0, 1, 2, 3, 4), grid=GRID, fields=FIELDS
)


def _keys(message: bytes, *names: str) -> dict[str, object]:
    handle = eccodes.codes_new_from_message(message)
    try:
        return {name: eccodes.codes_get(handle, name) for name in names}
    finally:
        eccodes.codes_release(handle)


def test_keys_are_ecmwfs() -> None:
    assert ens_data_key(INIT, 6) == "20240201/12z/ifs/0p25/enfo/20240201120000-6h-enfo-ef.grib2"
    assert ens_index_key(INIT, 150) == (
        "20240201/12z/ifs/0p25/enfo/20240201120000-150h-enfo-ef.index"
    )


def test_every_index_line_is_its_message() -> None:
    file = render_ecmwf_file(CONFIG, INIT, 6)
    records = [json.loads(line) for line in file.index_text.splitlines()]
    assert file.index_text.endswith("\n")
    assert len(records) == len(CONFIG.members) * len(FIELDS)
    offset = 0
    for record in records:
        assert record["_offset"] == offset
        message = file.data[offset : offset + record["_length"]]
        assert message[:4] == b"GRIB"
        assert message[-4:] == b"7777"
        keys = _keys(
            message, "shortName", "marsType", "marsStream", "number", "step", "level", "dataDate"
        )
        assert keys["shortName"] == record["param"]
        assert keys["marsType"] == record["type"]
        assert keys["marsStream"] == record["stream"] == "enfo"
        assert str(keys["number"]) == record.get("number", "0")
        assert str(keys["dataDate"]) == record["date"] == "20240201"
        assert record["time"] == "1200"
        assert record["step"] == "6"
        if "levelist" in record:
            assert str(keys["level"]) == record["levelist"]
        offset += record["_length"]
    assert offset == len(file.data)


def test_the_index_has_ecmwfs_quirks() -> None:
    file = render_ecmwf_file(CONFIG, INIT, 0)
    records = [json.loads(line) for line in file.index_text.splitlines()]
    members = [int(r.get("number", 0)) for r in records]
    assert members != sorted(members), "members interleaved, not one after the other"
    assert all(isinstance(r["number"], str) for r in records if "number" in r)
    assert all("number" not in r for r in records if r["type"] == "cf")
    orders = {tuple(k for k in r if k in ("step", "levtype")) for r in records}
    assert orders == {("step", "levtype"), ("levtype", "step")}
    # Deterministic: the same config renders the same bytes.
    assert render_ecmwf_file(CONFIG, INIT, 0).index_text == file.index_text


def test_messages_are_ecmwf_ensemble_messages_in_ccsds() -> None:
    file = render_ecmwf_file(CONFIG, INIT, 6)
    for info in file.messages:
        message = file.data[info.offset : info.offset + info.length]
        keys = _keys(
            message,
            "centre",
            "packingType",
            "productDefinitionTemplateNumber",
            "perturbationNumber",
            "numberOfForecastsInEnsemble",
            "localDefinitionNumber",
            "Ni",
            "Nj",
            "longitudeOfFirstGridPointInDegrees",
            "longitudeOfLastGridPointInDegrees",
            "stepRange",
        )
        assert keys["centre"] == "ecmf"
        assert keys["packingType"] == "grid_ccsds"
        assert keys["productDefinitionTemplateNumber"] == (11 if info.field.accumulated else 1)
        assert keys["perturbationNumber"] == info.member
        assert keys["numberOfForecastsInEnsemble"] == 51
        assert keys["localDefinitionNumber"] == 1
        assert (keys["Nj"], keys["Ni"]) == GRID
        assert keys["longitudeOfFirstGridPointInDegrees"] == 180.0  # 180°W, as ECMWF writes it
        assert keys["longitudeOfLastGridPointInDegrees"] == 150.0
        assert keys["stepRange"] == ("0-6" if info.field.accumulated else "6")


def test_decoded_values_are_the_synthetic_field_to_ccsds_precision() -> None:
    file = render_ecmwf_file(CONFIG, INIT, 6)
    info = next(m for m in file.messages if m.field.param == "2t" and m.member == 3)
    decoded = eccodes_decode(file.data[info.offset : info.offset + info.length])
    written = synthetic_values(info.field, GRID, INIT, 6, 3, CONFIG.seed)
    np.testing.assert_allclose(decoded, written, atol=(315 - 220) / 2**15)
    other = synthetic_values(info.field, GRID, INIT, 6, 4, CONFIG.seed)
    assert not np.allclose(written, other), "members differ"


def test_an_accumulation_is_zero_at_step_zero() -> None:
    file = render_ecmwf_file(CONFIG, INIT, 0)
    info = next(m for m in file.messages if m.field.param == "tp")
    assert _keys(file.data[info.offset : info.offset + info.length], "stepRange") == {
        "stepRange": "0"
    }
    assert not eccodes_decode(file.data[info.offset : info.offset + info.length]).any()


def test_write_puts_data_and_index_of_every_step() -> None:
    store = MemoryStore()
    written = write_ecmwf_archive(store, CONFIG)
    assert [w.lead_hours for w in written] == [0, 6]
    for file in written:
        assert obstore.head(store, file.data_key)["size"] == file.data_size
        text = bytes(obstore.get(store, file.index_key).bytes()).decode()
        assert len(text.splitlines()) == len(file.messages)


def test_the_default_fields_are_ecmwfs_ens_list() -> None:
    params = {(f.param, f.levtype) for f in ENS_FIELDS}
    assert len(ENS_FIELDS) == 8 * 9 + 9
    assert ("gh", "pl") in params
    assert ("tp", "sfc") in params


@pytest.mark.parametrize("member", [-1, 51])
def test_a_member_outside_the_ensemble_is_refused(member: int) -> None:
    with pytest.raises(EcmwfEncodeError, match=f"member {member}"):
        encode_ens_message(FIELDS[0], INIT, 0, member, np.zeros(GRID))
    with pytest.raises(ValueError, match="members must be in"):
        EcmwfArchiveConfig(init_times=(INIT,), lead_hours=(0,), members=(member,), grid=GRID)
