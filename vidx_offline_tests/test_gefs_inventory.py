"""The real GEFS inventories as templates: exact reproduction, 6 h buckets, lead 0, members."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from vidx_offline.gefs_inventory import (
    GEFS_ENSEMBLE_SIZE,
    GEFS_KINDS,
    GEFS_PRODUCTS,
    GefsKind,
    ensemble_text,
    gefs_inventory,
    member_label,
)
from vidx_offline.grib_encode import ELEMENTS, FALLBACK_SURFACES, level_surfaces
from vidx_offline.inventory import (
    INVENTORY_DIR,
    InventoryError,
    InventoryTemplateError,
    bucket_start,
    parse_inventory_entry,
    render_window,
)

REAL_INIT = datetime(2025, 8, 1, 0, tzinfo=UTC)
# kind: (template file, its lead, its line count)
TEMPLATES: dict[GefsKind, tuple[str, int, int]] = {
    "pgrb2a": ("gec00.t00z.pgrb2a.0p50.f432.idx", 432, 85),
    "pgrb2b": ("gec00.t00z.pgrb2b.0p50.f003.idx", 3, 505),
}


def test_package_inventories_are_the_recorded_real_files() -> None:
    readme = (INVENTORY_DIR / "README.md").read_text(encoding="utf-8")
    for kind, (name, lead, lines) in TEMPLATES.items():
        product = GEFS_PRODUCTS[kind]
        assert (product.forecast_template, product.template_lead_hours) == (name, lead)
        assert product.analysis_template is None
        assert not product.running_statistics
        digest = hashlib.sha256((INVENTORY_DIR / name).read_bytes()).hexdigest()
        assert re.search(rf"\| {re.escape(name)} \|.*\| {lines} \| `{digest}` \|", readme), name
    assert "dynamical-org/reformatters (BSD-3-Clause)" in readme
    assert "GFS/GEFS/HRRR/GFS-Wave data are NOAA public-domain products" in readme


@pytest.mark.parametrize("kind", GEFS_KINDS)
def test_rendering_the_template_lead_reproduces_the_real_inventory(kind: GefsKind) -> None:
    name, lead, count = TEMPLATES[kind]
    real = (INVENTORY_DIR / name).read_text(encoding="ascii").splitlines()
    rendered = gefs_inventory(kind, lead)
    assert len(rendered) == len(real) == count
    for number, (line, text) in enumerate(zip(rendered, real, strict=True), start=1):
        parsed, extra = parse_inventory_entry(text, expected_number=number)
        assert line == parsed
        assert extra == ensemble_text(0) == "ENS=low-res ctl"
        offset = int(text.split(":")[1])
        assert line.text(number, offset, REAL_INIT, ensemble_text(0)) == text


def _windows(kind: str, lead: int, element: str, level: str) -> list[str]:
    return [line.window for line in gefs_inventory(kind, lead, [(element, level)])]


# (lead, bucket start): GEFS resets every statistic every 6 hours, 3-hourly leads to 240 h and
# 6-hourly leads after.
BUCKETS = [(3, 0), (6, 0), (9, 6), (12, 6), (24, 18), (237, 234), (240, 234), (246, 240)]
BUCKETS += [(432, 426), (840, 834)]


@pytest.mark.parametrize(("lead", "start"), BUCKETS)
def test_every_statistic_is_a_six_hour_bucket(lead: int, start: int) -> None:
    bucket = f"{start}-{lead} hour"
    assert _windows("pgrb2a", lead, "APCP", "surface") == [f"{bucket} acc fcst"]
    assert _windows("pgrb2a", lead, "TMAX", "2 m above ground") == [f"{bucket} max fcst"]
    assert _windows("pgrb2a", lead, "TMIN", "2 m above ground") == [f"{bucket} min fcst"]
    assert _windows("pgrb2a", lead, "DSWRF", "surface") == [f"{bucket} ave fcst"]
    assert _windows("pgrb2a", lead, "TMP", "2 m above ground") == [f"{lead} hour fcst"]
    assert _windows("pgrb2b", lead, "ACPCP", "surface") == [f"{bucket} acc fcst"]
    assert _windows("pgrb2b", lead, "TMP", "1 hybrid level") == [f"{lead} hour fcst"]
    for kind in GEFS_KINDS:
        assert all(" day " not in line.window for line in gefs_inventory(kind, lead))


@pytest.mark.parametrize("kind", GEFS_KINDS)
def test_every_lead_keeps_the_template_order_and_count(kind: GefsKind) -> None:
    template = gefs_inventory(kind, TEMPLATES[kind][1])
    for lead in (3, 6, 9, 24, 240, 246, 432, 840):
        lines = gefs_inventory(kind, lead)
        assert [(x.element, x.level) for x in lines] == [(x.element, x.level) for x in template]
        windows = re.compile(rf"{lead} hour fcst|{bucket_start(lead)}-{lead} hour [a-z]+ fcst")
        assert all(windows.fullmatch(x.window) for x in lines)


@pytest.mark.parametrize("kind", GEFS_KINDS)
def test_lead_0_is_anl_without_statistics(kind: GefsKind) -> None:
    template = gefs_inventory(kind, TEMPLATES[kind][1])
    instants = [x for x in template if x.window.endswith(" hour fcst") and "-" not in x.window]
    lines = gefs_inventory(kind, 0)
    assert {line.window for line in lines} == {"anl"}
    assert [(x.element, x.level) for x in lines] == [(x.element, x.level) for x in instants]
    assert len(lines) == {"pgrb2a": 70, "pgrb2b": 475}[kind]
    assert gefs_inventory("pgrb2a", 0, [("APCP", "surface"), ("TMAX", "2 m above ground")]) == []


def test_gefs_templates_have_no_running_statistics() -> None:
    with pytest.raises(InventoryTemplateError, match=re.escape("'0-432 hour acc fcst'")):
        render_window("0-432 hour acc fcst", 438, GEFS_PRODUCTS["pgrb2a"])
    with pytest.raises(InventoryTemplateError, match="426-432 hour STAT fcst"):
        render_window("420-432 hour acc fcst", 438, GEFS_PRODUCTS["pgrb2a"])


def test_members_labels_and_ens_text() -> None:
    assert GEFS_ENSEMBLE_SIZE == 31
    assert [member_label(m) for m in (0, 1, 7, 10, 30)] == ["c00", "p01", "p07", "p10", "p30"]
    assert [ensemble_text(m) for m in (0, 1, 5, 10, 30)] == [
        "ENS=low-res ctl",
        "ENS=+1",
        "ENS=+5",
        "ENS=+10",
        "ENS=+30",
    ]
    for bad in (-1, 31, True, 1.0, "1"):
        with pytest.raises(InventoryError, match="member"):
            member_label(bad)  # type: ignore[arg-type]
        with pytest.raises(InventoryError, match="member"):
            ensemble_text(bad)  # type: ignore[arg-type]
    with pytest.raises(InventoryError, match="kind"):
        gefs_inventory("pgrb2s", 3)


def test_filter_preserves_order() -> None:
    fields = [("TMP", "2 m above ground"), ("APCP", "surface"), ("HGT", "500 mb")]
    assert [(x.element, x.window) for x in gefs_inventory("pgrb2a", 9, fields)] == [
        ("HGT", "9 hour fcst"),
        ("TMP", "9 hour fcst"),
        ("APCP", "6-9 hour acc fcst"),
    ]
    assert gefs_inventory("pgrb2b", 9, fields) == []


def test_every_gefs_element_and_level_is_encoded_without_fallback() -> None:
    lines = [line for kind in GEFS_KINDS for line in gefs_inventory(kind, 9)]
    assert {line.element for line in lines} <= set(ELEMENTS)
    assert [line.level for line in lines if level_surfaces(line.level) == FALLBACK_SURFACES] == []
