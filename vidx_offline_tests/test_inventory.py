"""The real GFS inventories as templates: exact reproduction and window re-rendering rules,
and the product description the GEFS templates share."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pydantic
import pytest

from vidx_offline import inventory
from vidx_offline.inventory import (
    ANALYSIS_TEMPLATE,
    FORECAST_TEMPLATE,
    GFS_PRODUCT,
    INVENTORY_DIR,
    InventoryError,
    InventoryLine,
    InventoryProduct,
    InventoryTemplateError,
    gfs_inventory,
    parse_inventory_entry,
    parse_inventory_line,
    product_inventory,
    render_window,
    statistical_window,
)

REAL_INIT = datetime(2025, 8, 1, 0, tzinfo=UTC)


def _real_lines(name: str) -> list[str]:
    return (INVENTORY_DIR / name).read_text(encoding="ascii").splitlines()


def test_package_inventories_are_the_recorded_real_files() -> None:
    readme = (INVENTORY_DIR / "README.md").read_text(encoding="utf-8")
    for name, lines in ((ANALYSIS_TEMPLATE, 696), (FORECAST_TEMPLATE, 743)):
        digest = hashlib.sha256((INVENTORY_DIR / name).read_bytes()).hexdigest()
        assert re.search(rf"\| {re.escape(name)} \|.*\| {lines} \| `{digest}` \|", readme), name


@pytest.mark.parametrize(("lead", "name"), [(0, ANALYSIS_TEMPLATE), (7, FORECAST_TEMPLATE)])
def test_rendering_the_template_leads_reproduces_the_real_inventory(lead: int, name: str) -> None:
    real = _real_lines(name)
    rendered = gfs_inventory(lead)
    assert len(rendered) == len(real)
    for number, (line, text) in enumerate(zip(rendered, real, strict=True), start=1):
        _, offset, _, element, level, window, _ = text.split(":")
        assert (line.element, line.level, line.window) == (element, level, window)
        assert line.text(number, int(offset), REAL_INIT) == text


def _windows(lead: int, element: str, level: str) -> list[str]:
    return [line.window for line in gfs_inventory(lead, [(element, level)])]


# (lead, APCP [bucket, since init], TMAX bucket, PRATE [instant, average], TMP 2 m instant)
WINDOW_CASES = [
    (1, ["0-1 hour acc fcst", "0-1 hour acc fcst"], "0-1 hour max fcst", "0-1 hour ave fcst"),
    (6, ["0-6 hour acc fcst", "0-6 hour acc fcst"], "0-6 hour max fcst", "0-6 hour ave fcst"),
    (24, ["18-24 hour acc fcst", "0-1 day acc fcst"], "18-24 hour max fcst", "18-24 hour ave fcst"),
    (
        123,
        ["120-123 hour acc fcst", "0-123 hour acc fcst"],
        "120-123 hour max fcst",
        "120-123 hour ave fcst",
    ),
    (
        126,
        ["120-126 hour acc fcst", "0-126 hour acc fcst"],
        "120-126 hour max fcst",
        "120-126 hour ave fcst",
    ),
    (
        240,
        ["234-240 hour acc fcst", "0-10 day acc fcst"],
        "234-240 hour max fcst",
        "234-240 hour ave fcst",
    ),
    (
        384,
        ["378-384 hour acc fcst", "0-16 day acc fcst"],
        "378-384 hour max fcst",
        "378-384 hour ave fcst",
    ),
]


@pytest.mark.parametrize(("lead", "apcp", "tmax", "prate_average"), WINDOW_CASES)
def test_window_rules(lead: int, apcp: list[str], tmax: str, prate_average: str) -> None:
    assert _windows(lead, "APCP", "surface") == apcp
    assert _windows(lead, "ACPCP", "surface") == apcp
    assert _windows(lead, "TMAX", "2 m above ground") == [tmax]
    assert _windows(lead, "PRATE", "surface") == [f"{lead} hour fcst", prate_average]
    assert _windows(lead, "TMP", "2 m above ground") == [f"{lead} hour fcst"]


def test_every_forecast_lead_keeps_the_template_order_and_count() -> None:
    template = gfs_inventory(7)
    for lead in (1, 2, 6, 12, 23, 24, 48, 120, 121, 240, 384):
        lines = gfs_inventory(lead)
        assert [(x.element, x.level) for x in lines] == [(x.element, x.level) for x in template]
        ends = {f"{lead} hour fcst", f"-{lead} hour ", f"-{lead // 24} day "}
        assert all(any(end in line.window for end in ends) for line in lines)


def test_analysis_is_the_f000_template_and_has_no_statistical_fields() -> None:
    lines = gfs_inventory(0)
    assert {line.window for line in lines} == {"anl"}
    assert gfs_inventory(0, [("APCP", "surface")]) == []


def test_filter_preserves_order_and_duplicates() -> None:
    fields = [("APCP", "surface"), ("TMP", "2 m above ground"), ("SOILW", "0-0.1 m below ground")]
    lines = gfs_inventory(7, fields)
    assert [(x.element, x.window) for x in lines] == [
        ("SOILW", "7 hour fcst"),
        ("TMP", "7 hour fcst"),
        ("APCP", "6-7 hour acc fcst"),
        ("APCP", "0-7 hour acc fcst"),
    ]
    assert gfs_inventory(7, set(fields)) == lines
    assert gfs_inventory(7, [("TMP", "2 m above sea")]) == []
    with pytest.raises(InventoryError, match="pairs"):
        gfs_inventory(7, ["TMP"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "window",
    [
        "anl",
        "6 hour fcst",
        "3-7 hour acc fcst",
        "6-7 hour foo fcst",
        "0-7 hour avg fcst",
        "6-8 hour acc fcst",
        "0-1 day acc fcst",
        "7 hour fcst ",
        "7 hour fcst:ENS=+1",
    ],
)
def test_unknown_template_windows_raise(window: str) -> None:
    with pytest.raises(InventoryTemplateError, match=re.escape(repr(window))):
        render_window(window, 12)


@pytest.mark.parametrize("lead", [-1, 1.5, True, "7"])
def test_bad_leads_raise(lead: object) -> None:
    with pytest.raises(InventoryError, match="lead_hours"):
        gfs_inventory(lead)  # type: ignore[arg-type]


def test_inventory_line_text_and_validation() -> None:
    line = InventoryLine("TMP", "2 m above ground", "7 hour fcst")
    east = timezone(timedelta(hours=6))
    assert line.text(3, 1234, datetime(2025, 8, 1, 12)) == (
        "3:1234:d=2025080112:TMP:2 m above ground:7 hour fcst:"
    )
    aware = datetime(2025, 8, 1, 18, tzinfo=east)
    assert line.text(3, 1234, aware).startswith("3:1234:d=2025080112:")
    for n, offset in ((0, 0), (1, -1), (True, 0)):
        with pytest.raises(InventoryError):
            line.text(n, offset, REAL_INIT)
    for bad in ({"element": "T:MP"}, {"level": ""}, {"window": "7 hour\nfcst"}):
        fields = {"element": "TMP", "level": "surface", "window": "anl"} | bad
        with pytest.raises(InventoryError):
            InventoryLine(**fields)


def test_parse_inventory_line_is_strict() -> None:
    assert parse_inventory_line("1:0:d=2025080100:PRMSL:mean sea level:anl:") == InventoryLine(
        "PRMSL", "mean sea level", "anl"
    )
    for text in (
        "1:0:d=2025080100:VIS:surface:anl:ens mean",
        "1:x:d=2025080100:VIS:surface:anl:",
        "1:0:2025080100:VIS:surface:anl:",
    ):
        with pytest.raises(InventoryError):
            parse_inventory_line(text)
    with pytest.raises(InventoryError, match="expected message number 2"):
        parse_inventory_line("1:0:d=2025080100:VIS:surface:anl:", expected_number=2)


def test_parse_inventory_entry_reads_the_seventh_field() -> None:
    text = "65:11731320:d=2025080100:TMAX:2 m above ground:426-432 hour max fcst:ENS=low-res ctl"
    assert parse_inventory_entry(text, expected_number=65) == (
        InventoryLine("TMAX", "2 m above ground", "426-432 hour max fcst"),
        "ENS=low-res ctl",
    )
    assert parse_inventory_entry("1:0:d=2025080100:VIS:surface:anl:") == (
        InventoryLine("VIS", "surface", "anl"),
        None,
    )
    for bad in (
        "1:0:d=2025080100:VIS:surface:anl:ENS=+1:",
        "1:0:d=2025080100:VIS:surface:anl",
        "1:0:d=2025080100:VIS:surface:anl:ENS=+1:extra",
    ):
        with pytest.raises(InventoryError, match="fields"):
            parse_inventory_entry(bad)
    with pytest.raises(InventoryError, match="6-field"):
        parse_inventory_line(text)


def test_inventory_line_text_with_a_seventh_field() -> None:
    line = InventoryLine("TMAX", "2 m above ground", "426-432 hour max fcst")
    assert line.text(65, 11731320, REAL_INIT, "ENS=low-res ctl") == (
        "65:11731320:d=2025080100:TMAX:2 m above ground:426-432 hour max fcst:ENS=low-res ctl"
    )
    assert line.text(1, 0, REAL_INIT, "ENS=+10").endswith(":426-432 hour max fcst:ENS=+10")
    assert line.text(1, 0, REAL_INIT).endswith(":426-432 hour max fcst:")
    for extra in ("", "ENS=+1:", "ENS=+1\n"):
        with pytest.raises(InventoryError, match="extra"):
            line.text(1, 0, REAL_INIT, extra)


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (0, 24, "0-1 day acc fcst"),
        (0, 240, "0-10 day acc fcst"),
        (24, 48, "1-2 day acc fcst"),
        (18, 24, "18-24 hour acc fcst"),
        (0, 6, "0-6 hour acc fcst"),
        (426, 432, "426-432 hour acc fcst"),
        (0, 36, "0-36 hour acc fcst"),
    ],
)
def test_statistical_window_in_days_only_when_both_ends_are_whole_days(
    start: int, end: int, text: str
) -> None:
    assert statistical_window(start, end, "acc") == text


def test_gfs_product_describes_the_gfs_templates() -> None:
    assert GFS_PRODUCT.forecast_template == FORECAST_TEMPLATE
    assert GFS_PRODUCT.analysis_template == ANALYSIS_TEMPLATE
    assert (GFS_PRODUCT.template_lead_hours, GFS_PRODUCT.bucket_hours) == (7, 6)
    assert GFS_PRODUCT.running_statistics
    assert product_inventory(GFS_PRODUCT, 7) == gfs_inventory(7)


def test_running_statistics_need_a_bucket_that_does_not_start_at_zero() -> None:
    with pytest.raises(pydantic.ValidationError, match="cannot be told from the bucket"):
        InventoryProduct(
            name="ambiguous",
            forecast_template="x.idx",
            template_lead_hours=3,
            running_statistics=True,
        )
    for bad in ({"template_lead_hours": 0}, {"bucket_hours": 0}):
        arguments = {"name": "bad", "forecast_template": "x.idx", "template_lead_hours": 3}
        with pytest.raises(pydantic.ValidationError):
            InventoryProduct(**(arguments | bad))


def test_a_product_without_an_analysis_template_derives_lead_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "INVENTORY_DIR", tmp_path)
    (tmp_path / "derive-lead0.idx").write_text(
        "1:0:d=2025080100:TMP:2 m above ground:12 hour fcst:X=1\n"
        "2:9:d=2025080100:APCP:surface:6-12 hour acc fcst:X=1\n"
        "3:19:d=2025080100:PRMSL:mean sea level:12 hour fcst:X=1\n",
        encoding="ascii",
    )
    product = InventoryProduct(
        name="derived",
        forecast_template="derive-lead0.idx",
        template_lead_hours=12,
        template_extra="X=1",
    )
    assert [(x.element, x.window) for x in product_inventory(product, 0)] == [
        ("TMP", "anl"),
        ("PRMSL", "anl"),
    ]
    assert [x.window for x in product_inventory(product, 30)] == [
        "30 hour fcst",
        "24-30 hour acc fcst",
        "30 hour fcst",
    ]


def test_template_errors_name_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "INVENTORY_DIR", tmp_path)
    (tmp_path / "bad-window.idx").write_text(
        "1:0:d=2025080100:TMP:2 m above ground:12 hour fcst:\n"
        "2:9:d=2025080100:APCP:surface:0-12 hour acc fcst:\n",
        encoding="ascii",
    )
    product = InventoryProduct(
        name="no running totals", forecast_template="bad-window.idx", template_lead_hours=12
    )
    for lead in (0, 18):
        with pytest.raises(
            InventoryTemplateError,
            match=r"bad-window\.idx line 2 \(APCP:surface:0-12 hour acc fcst\)",
        ):
            product_inventory(product, lead)
    (tmp_path / "bad-extra.idx").write_text(
        "1:0:d=2025080100:TMP:2 m above ground:12 hour fcst:ENS=+1\n", encoding="ascii"
    )
    product = InventoryProduct(
        name="wrong member",
        forecast_template="bad-extra.idx",
        template_lead_hours=12,
        template_extra="ENS=low-res ctl",
    )
    with pytest.raises(InventoryTemplateError, match=r"bad-extra\.idx line 1 has 7th field"):
        product_inventory(product, 12)
