"""The GEFS archive in NOAA's layout: keys, config, inventories per member, decoded messages and
write order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import eccodes
import gribberish
import numpy as np
import obstore
import pydantic
import pytest
from obstore.store import MemoryStore

from vidx_offline import gefs_archive
from vidx_offline.archive_files import MessageInfo
from vidx_offline.gefs_archive import (
    GEFS_BUCKET,
    GefsArchiveConfig,
    GefsArchiveError,
    GefsFile,
    WrittenGefsFile,
    gefs_data_key,
    gefs_index_key,
    member_label,
    render_gefs_file,
    write_gefs_archive,
)
from vidx_offline.gefs_inventory import ensemble_text, gefs_inventory
from vidx_offline.grib_encode import element_info, synthetic_message_values, window_timing
from vidx_offline.inventory import INVENTORY_DIR, parse_inventory_entry
from vidx_offline.reference_decode import eccodes_decode, eccodes_message_ranges
from vidx_offline_tests.test_gfs_archive import _recording_put

INIT = datetime(2025, 8, 1, 0, tzinfo=UTC)
GRID = (3, 4)
FIELDS: dict[str, tuple[tuple[str, str], ...] | None] = {
    "pgrb2a": (("TMP", "2 m above ground"), ("APCP", "surface"), ("SOILW", "0-0.1 m below ground")),
    "pgrb2b": (("TMP", "1 hybrid level"), ("ACPCP", "surface")),
}
TEMPLATES = {
    "pgrb2a": ("gec00.t00z.pgrb2a.0p50.f432.idx", 432),
    "pgrb2b": ("gec00.t00z.pgrb2b.0p50.f003.idx", 3),
}


def test_noaa_keys() -> None:
    assert GEFS_BUCKET == "noaa-gefs-pds"
    init = datetime(2025, 8, 1, 6)
    assert gefs_data_key("pgrb2a", init, 9, 0) == (
        "gefs.20250801/06/atmos/pgrb2ap5/gec00.t06z.pgrb2a.0p50.f009"
    )
    assert gefs_data_key("pgrb2b", init, 840, 30) == (
        "gefs.20250801/06/atmos/pgrb2bp5/gep30.t06z.pgrb2b.0p50.f840"
    )
    assert gefs_index_key("pgrb2a", init, 3, 7) == (
        "gefs.20250801/06/atmos/pgrb2ap5/gep07.t06z.pgrb2a.0p50.f003.idx"
    )
    east = timezone(timedelta(hours=6))
    aware = datetime(2025, 8, 1, 0, tzinfo=east)
    assert gefs_data_key("pgrb2a", aware, 0, 1).startswith("gefs.20250731/18/atmos/pgrb2ap5/gep01")
    assert [member_label(m) for m in (0, 7, 30)] == ["c00", "p07", "p30"]
    for kind, lead, member in (("pgrb2s", 3, 0), ("pgrb2a", -3, 0), ("pgrb2a", 3, 31)):
        with pytest.raises(GefsArchiveError):
            gefs_data_key(kind, init, lead, member)


def test_config_defaults_and_validation() -> None:
    config = GefsArchiveConfig(init_times=(datetime(2025, 8, 1, 6),), lead_hours=(0, 3))
    assert config.init_times == (datetime(2025, 8, 1, 6, tzinfo=UTC),)
    assert config.grid == (361, 720)
    assert config.members == tuple(range(31))
    assert config.kinds == ("pgrb2a", "pgrb2b")
    assert config.fields is None
    assert (len(config.inventory("pgrb2a", 3)), len(config.inventory("pgrb2b", 3))) == (85, 505)
    with pytest.raises(pydantic.ValidationError):
        config.seed = 1  # type: ignore[misc]
    bad: list[dict[str, Any]] = [
        {"init_times": ()},
        {"init_times": (datetime(2025, 8, 1, 6, 30),)},
        {"lead_hours": (3, 3)},
        {"lead_hours": (-3,)},
        {"grid": (1, 4)},
        {"members": ()},
        {"members": (0, 0)},
        {"members": (31,)},
        {"members": (-1,)},
        {"kinds": ()},
        {"kinds": ("pgrb2a", "pgrb2a")},
        {"kinds": ("pgrb2s",)},
        {"fields": {"pgrb2a": FIELDS["pgrb2a"]}},  # no entry for pgrb2b
        {"fields": FIELDS | {"pgrb2s": None}},
        {"fields": FIELDS, "kinds": ("pgrb2a",)},
        {"fields": {"pgrb2a": (), "pgrb2b": None}},
        {"fields": {"pgrb2a": (("TMP", "2 m above sea"),), "pgrb2b": None}},
        {"fields": {"pgrb2a": (("TMP", "1 hybrid level"),), "pgrb2b": None}},  # pgrb2b only
        {"fields": {"pgrb2a": (("APCP", "surface"),), "pgrb2b": None}},  # lead 0 has no APCP
        {"packing": "grid_ccsds"},
        {"unknown": 1},
    ]
    for change in bad:
        arguments = {"init_times": (INIT,), "lead_hours": (0, 9), "grid": GRID} | change
        with pytest.raises(pydantic.ValidationError):
            GefsArchiveConfig(**arguments)
    filtered = GefsArchiveConfig(
        init_times=(INIT,), lead_hours=(9,), grid=GRID, fields={"pgrb2a": None, "pgrb2b": None}
    )
    assert filtered.inventory("pgrb2b", 9) == gefs_inventory("pgrb2b", 9)


def _real_lines(kind: str) -> list[str]:
    return (INVENTORY_DIR / TEMPLATES[kind][0]).read_text(encoding="ascii").splitlines()


def _check_layout(file: GefsFile) -> None:
    """Index lines numbered from 1 with the messages' offsets; messages tile the object."""
    lines = file.index_text.splitlines()
    assert file.index_text.endswith("\n")
    assert len(lines) == len(file.messages)
    for number, (text, message) in enumerate(zip(lines, file.messages, strict=True), start=1):
        line, extra = parse_inventory_entry(text, expected_number=number)
        assert (line, extra) == (message.line, ensemble_text(file.member))
        assert not text.endswith(":")
        assert text.split(":")[1] == str(message.offset)
        assert file.data[message.offset : message.offset + 4] == b"GRIB"
    assert sum(m.length for m in file.messages) == len(file.data)


@pytest.mark.parametrize("kind", ["pgrb2a", "pgrb2b"])
def test_member_0_at_the_template_lead_reproduces_the_real_inventory(kind: str) -> None:
    lead = TEMPLATES[kind][1]
    config = GefsArchiveConfig(init_times=(INIT,), lead_hours=(lead,), grid=GRID, members=(0,))
    file = render_gefs_file(config, kind, INIT, lead, 0)
    _check_layout(file)
    real = _real_lines(kind)
    rendered = file.index_text.splitlines()
    assert len(rendered) == len(real)
    for ours, theirs in zip(rendered, real, strict=True):
        # number, date, element, level, window and ENS text equal; only the offsets differ
        assert ours.split(":")[0] == theirs.split(":")[0]
        assert ours.split(":")[2:] == theirs.split(":")[2:]
    assert (file.data_key, file.index_key) == (
        gefs_data_key(kind, INIT, lead, 0),
        gefs_index_key(kind, INIT, lead, 0),
    )


def test_a_perturbed_member_writes_its_ens_text_and_its_own_values() -> None:
    config = GefsArchiveConfig(
        init_times=(INIT,), lead_hours=(9,), grid=GRID, members=(0, 5), fields=FIELDS
    )
    control = render_gefs_file(config, "pgrb2a", INIT, 9, 0)
    perturbed = render_gefs_file(config, "pgrb2a", INIT, 9, 5)
    _check_layout(perturbed)
    assert all(text.endswith(":ENS=+5") for text in perturbed.index_text.splitlines())
    assert all(text.endswith(":ENS=low-res ctl") for text in control.index_text.splitlines())
    assert [m.line for m in control.messages] == [m.line for m in perturbed.messages]
    for first, second in zip(control.messages, perturbed.messages, strict=True):
        ours = eccodes_decode(control.data[first.offset : first.offset + first.length])
        theirs = eccodes_decode(perturbed.data[second.offset : second.offset + second.length])
        assert not np.array_equal(ours, theirs, equal_nan=True)
    assert perturbed.data_key.endswith("pgrb2ap5/gep05.t00z.pgrb2a.0p50.f009")
    reseeded = render_gefs_file(config.model_copy(update={"seed": 1}), "pgrb2a", INIT, 9, 5)
    assert [m.line for m in reseeded.messages] == [m.line for m in perturbed.messages]
    assert reseeded.data != perturbed.data
    assert render_gefs_file(config, "pgrb2a", INIT, 9, 5) == perturbed


def test_lead_0_is_anl_and_lead_9_has_six_hour_buckets() -> None:
    config = GefsArchiveConfig(init_times=(INIT,), lead_hours=(0, 9), grid=GRID, members=(3,))
    statistics = {"pgrb2a": ("acc", "ave", "max", "min"), "pgrb2b": ("acc", "ave")}
    for kind, stats in statistics.items():
        analysis = render_gefs_file(config, kind, INIT, 0, 3)
        assert {m.line.window for m in analysis.messages} == {"anl"}
        forecast = render_gefs_file(config, kind, INIT, 9, 3)
        windows = {m.line.window for m in forecast.messages}
        assert "9 hour fcst" in windows
        assert {w for w in windows if "-" in w} == {f"6-9 hour {stat} fcst" for stat in stats}
        assert len(analysis.messages) < len(forecast.messages)


def test_render_refuses_an_empty_file_and_an_unconfigured_kind() -> None:
    config = GefsArchiveConfig(
        init_times=(INIT,),
        lead_hours=(9,),
        grid=GRID,
        kinds=("pgrb2a",),
        fields={"pgrb2a": (("APCP", "surface"),)},
    )
    with pytest.raises(GefsArchiveError, match="empty file"):
        render_gefs_file(config, "pgrb2a", INIT, 0, 0)
    with pytest.raises(GefsArchiveError, match="pgrb2b"):
        render_gefs_file(config, "pgrb2b", INIT, 9, 0)
    with pytest.raises(GefsArchiveError, match="member"):
        render_gefs_file(config, "pgrb2a", INIT, 9, 31)


def _ecc(message: bytes) -> dict[str, Any]:
    handle = eccodes.codes_new_from_message(message)
    try:
        keys: dict[str, Any] = {
            name: eccodes.codes_get_long(handle, name)
            for name in (
                "productDefinitionTemplateNumber",
                "typeOfEnsembleForecast",
                "perturbationNumber",
                "numberOfForecastsInEnsemble",
                "endStep",
                "dataDate",
                "dataTime",
            )
        }
        keys["stepRange"] = eccodes.codes_get_string(handle, "stepRange")
    finally:
        eccodes.codes_release(handle)
    return keys


def test_written_archive_decodes_with_eccodes_and_gribberish(tmp_path: Path) -> None:
    """Every message of every (lead, member, kind) file, whole inventories on a tiny grid."""
    config = GefsArchiveConfig(init_times=(INIT,), lead_hours=(0, 9), grid=GRID, members=(0, 5))
    store = MemoryStore()
    written = write_gefs_archive(store, config)
    assert len(written) == 2 * 2 * 2
    for record in written:
        data = obstore.get(store, record.data_key).bytes().to_bytes()
        text = obstore.get(store, record.index_key).bytes().to_bytes().decode("ascii")
        path = tmp_path / record.data_key.replace("/", "_")
        path.write_bytes(data)
        layout = [(m.offset, m.length) for m in record.messages]
        assert eccodes_message_ranges(path) == layout
        assert [int(line.split(":")[1]) for line in text.splitlines()] == [o for o, _ in layout]
        assert layout[-1][0] + layout[-1][1] == len(data) == record.data_size

        entries = gribberish.parse_grib_index(text, len(data))
        assert [(e.offset, e.length) for e in entries] == layout
        for entry, message in zip(entries, record.messages, strict=True):
            assert entry.extra == [ensemble_text(record.member)]
            assert (entry.var, entry.level, entry.forecast_time) == (
                message.line.element,
                message.line.level,
                message.line.window,
            )
        for message in record.messages:
            _check_message(data, message, record)


def _check_message(data: bytes, message: MessageInfo, record: WrittenGefsFile) -> None:
    grib = data[message.offset : message.offset + message.length]
    line, lead, member = message.line, record.lead_hours, record.member
    timing = window_timing(line.window)
    keys = _ecc(grib)
    assert keys["productDefinitionTemplateNumber"] == (1 if timing.statistic is None else 11)
    assert keys["typeOfEnsembleForecast"] == (1 if member == 0 else 3)
    assert keys["perturbationNumber"] == member
    assert keys["numberOfForecastsInEnsemble"] == 31
    assert keys["endStep"] == lead
    expected_step = str(lead) if timing.statistic is None else f"{timing.start_hours}-{lead}"
    assert keys["stepRange"] == expected_step
    assert (keys["dataDate"], keys["dataTime"]) == (20250801, 0)
    values = eccodes_decode(grib)
    expected = synthetic_message_values(line, GRID, INIT, lead, 0, member=member)
    tolerance = 0.5 * 10.0 ** -element_info(line.element).decimal_scale * (1 + 1e-6)
    np.testing.assert_allclose(values, expected, rtol=0, atol=tolerance, equal_nan=True)
    metadata = gribberish.parse_grib_message_metadata(data, message.offset)
    assert metadata.perturbation_number == member
    from_gribberish = gribberish.parse_grib_array(data, message.offset).reshape(GRID)
    np.testing.assert_allclose(from_gribberish, values, rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("stream_threshold", [gefs_archive.STREAM_THRESHOLD_BYTES, 1000])
def test_write_order_data_before_index(
    monkeypatch: pytest.MonkeyPatch, stream_threshold: int
) -> None:
    monkeypatch.setattr(gefs_archive, "STREAM_THRESHOLD_BYTES", stream_threshold)
    calls = _recording_put(monkeypatch)
    inits = (INIT, INIT + timedelta(hours=6))
    config = GefsArchiveConfig(
        init_times=inits, lead_hours=(3, 6), grid=(19, 36), members=(0, 2), fields=FIELDS
    )
    store = MemoryStore()
    seen: list[WrittenGefsFile] = []
    written = write_gefs_archive(store, config, on_file=seen.append)

    order = [
        (init, lead, member, kind)
        for init in inits
        for lead in (3, 6)
        for member in (0, 2)
        for kind in ("pgrb2a", "pgrb2b")
    ]
    assert seen == written
    assert [(w.init, w.lead_hours, w.member, w.kind) for w in written] == order
    expected_calls = []
    for init, lead, member, kind in order:
        expected_calls += [
            (gefs_data_key(kind, init, lead, member), False, stream_threshold == 1000),
            (gefs_index_key(kind, init, lead, member), True, False),
        ]
    assert calls == expected_calls
    listed = {meta["path"]: meta["size"] for meta in obstore.list(store).collect()}
    assert len(listed) == 2 * len(written)
    for record in written:
        reference = render_gefs_file(
            config, record.kind, record.init, record.lead_hours, record.member
        )
        data = obstore.get(store, record.data_key).bytes().to_bytes()
        index = obstore.get(store, record.index_key).bytes().to_bytes()
        assert data == reference.data
        assert index.decode("ascii") == reference.index_text
        assert record.messages == reference.messages
        assert (record.data_size, record.index_size) == (len(data), len(index))
        assert listed[record.data_key] == record.data_size
