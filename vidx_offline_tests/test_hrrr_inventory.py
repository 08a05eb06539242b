"""The real HRRR inventories as templates: exact reproduction of f00 and f24, one-hour buckets,
running totals in hours and days, and loud errors for windows no rule covers."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pydantic
import pytest

from vidx_offline import inventory
from vidx_offline.grib_encode import ELEMENTS, FALLBACK_SURFACES, element_info, level_surfaces
from vidx_offline.hrrr_inventory import HRRR_MAX_LEAD_HOURS, HRRR_PRODUCT, hrrr_inventory
from vidx_offline.inventory import (
    INVENTORY_DIR,
    InventoryProduct,
    InventoryTemplateError,
    parse_inventory_line,
    product_inventory,
    render_window,
)

REAL_INIT = datetime(2025, 8, 1, 0, tzinfo=UTC)
REAL_IDX = Path(__file__).parents[1] / "vidx_pipeline_tests" / "fixtures" / "real" / "noaa-idx"
# lead: (template file, its line count)
TEMPLATES = {0: ("hrrr.t00z.wrfsfcf00.grib2.idx", 170), 24: ("hrrr.t00z.wrfsfcf24.grib2.idx", 173)}
RUNNING_TOTALS = ("ASNOW", "APCP", "WEASD", "FROZR", "FRZR")  # f24: 0-1 day acc fcst
ACC_BUCKETS = ("SSRUN", "BGRUN", "APCP", "WEASD", "FROZR")  # f24: 23-24 hour acc fcst


def _real_lines(name: str) -> list[str]:
    return (INVENTORY_DIR / name).read_text(encoding="ascii").splitlines()


def test_package_inventories_are_the_recorded_real_files() -> None:
    readme = (INVENTORY_DIR / "README.md").read_text(encoding="utf-8")
    assert (HRRR_PRODUCT.analysis_template, HRRR_PRODUCT.forecast_template) == (
        TEMPLATES[0][0],
        TEMPLATES[24][0],
    )
    assert (HRRR_PRODUCT.template_lead_hours, HRRR_PRODUCT.bucket_hours) == (24, 1)
    assert HRRR_PRODUCT.running_statistics
    assert HRRR_PRODUCT.analysis_statistics
    assert HRRR_PRODUCT.template_extra is None
    for name, lines in TEMPLATES.values():
        digest = hashlib.sha256((INVENTORY_DIR / name).read_bytes()).hexdigest()
        assert re.search(rf"\| {re.escape(name)} \|.*\| {lines} \| `{digest}` \|", readme), name
        # The same real file is one of the pipeline's test fixtures.
        assert (REAL_IDX / name).read_bytes() == (INVENTORY_DIR / name).read_bytes()
    assert "dynamical-org/reformatters (BSD-3-Clause)" in readme
    assert "GFS/GEFS/HRRR/GFS-Wave data are NOAA public-domain products" in readme
    assert "noaa-idx/hrrr.t00z.wrfsfcf{00,24}.grib2.idx" in readme


@pytest.mark.parametrize("lead", sorted(TEMPLATES))
def test_rendering_the_template_leads_reproduces_the_real_inventory(lead: int) -> None:
    name, count = TEMPLATES[lead]
    real = _real_lines(name)
    rendered = hrrr_inventory(lead)
    assert len(rendered) == len(real) == count
    for number, (line, text) in enumerate(zip(rendered, real, strict=True), start=1):
        assert line == parse_inventory_line(text, expected_number=number)
        _, offset, _, element, level, window, trailing = text.split(":")
        assert (line.element, line.level, line.window, trailing) == (element, level, window, "")
        assert line.text(number, int(offset), REAL_INIT) == text


def test_the_template_windows_are_the_ones_the_rules_describe() -> None:
    """What `cut -d: -f6 | sort | uniq -c` shows of the two real files."""
    assert Counter(line.window for line in hrrr_inventory(0)) == {
        "anl": 143,
        "0-0 day max fcst": 16,
        "0-0 day acc fcst": 7,
        "0-0 day min fcst": 3,
        "0-0 day ave fcst": 1,
    }
    assert Counter(line.window for line in hrrr_inventory(24)) == {
        "24 hour fcst": 143,
        "23-24 hour max fcst": 16,
        "0-1 day acc fcst": 5,
        "23-24 hour acc fcst": 5,
        "23-24 hour min fcst": 3,
        "23-24 hour ave fcst": 1,
    }
    running = [x.element for x in hrrr_inventory(24) if x.window == "0-1 day acc fcst"]
    buckets = [x.element for x in hrrr_inventory(24) if x.window == "23-24 hour acc fcst"]
    assert (tuple(running), tuple(buckets)) == (RUNNING_TOTALS, ACC_BUCKETS)


def _windows(lead: int, element: str, level: str) -> list[str]:
    return [line.window for line in hrrr_inventory(lead, [(element, level)])]


# (lead, APCP [running total, bucket], MXUPHL 5000-2000 m bucket max, TMP 2 m instant)
WINDOW_CASES = [
    (1, ["0-1 hour acc fcst", "0-1 hour acc fcst"], "0-1 hour max fcst"),
    (2, ["0-2 hour acc fcst", "1-2 hour acc fcst"], "1-2 hour max fcst"),
    (18, ["0-18 hour acc fcst", "17-18 hour acc fcst"], "17-18 hour max fcst"),
    (23, ["0-23 hour acc fcst", "22-23 hour acc fcst"], "22-23 hour max fcst"),
    (24, ["0-1 day acc fcst", "23-24 hour acc fcst"], "23-24 hour max fcst"),
    (25, ["0-25 hour acc fcst", "24-25 hour acc fcst"], "24-25 hour max fcst"),
    (47, ["0-47 hour acc fcst", "46-47 hour acc fcst"], "46-47 hour max fcst"),
    (48, ["0-2 day acc fcst", "47-48 hour acc fcst"], "47-48 hour max fcst"),
]


@pytest.mark.parametrize(("lead", "apcp", "mxuphl"), WINDOW_CASES)
def test_window_rules(lead: int, apcp: list[str], mxuphl: str) -> None:
    assert _windows(lead, "APCP", "surface") == apcp
    assert _windows(lead, "MXUPHL", "5000-2000 m above ground") == [mxuphl]
    assert _windows(lead, "MNUPHL", "5000-2000 m above ground") == [mxuphl.replace("max", "min")]
    assert _windows(lead, "DZDT", "0.5-0.8 sigma layer") == [mxuphl.replace("max", "ave")]
    assert _windows(lead, "REFD", "263 K level") == [f"{lead} hour fcst", mxuphl]
    assert _windows(lead, "TMP", "2 m above ground") == [f"{lead} hour fcst"]
    assert _windows(lead, "ASNOW", "surface") == apcp[:1]  # running total only
    assert _windows(lead, "SSRUN", "surface") == apcp[1:]  # bucket only


def test_lead_1_writes_bucket_and_running_total_alike_in_template_order() -> None:
    lines = hrrr_inventory(1)
    assert [(x.element, x.window) for x in lines if x.window == "0-1 hour acc fcst"] == [
        (element, "0-1 hour acc fcst") for element in RUNNING_TOTALS + ACC_BUCKETS
    ]
    assert (
        hrrr_inventory(1, [("APCP", "surface")]) == 2 * hrrr_inventory(1, [("APCP", "surface")])[:1]
    )


def test_lead_0_is_the_f00_template_with_its_zero_length_statistics() -> None:
    assert _windows(0, "APCP", "surface") == ["0-0 day acc fcst"]
    assert _windows(0, "MAXUVV", "100-1000 mb above ground") == ["0-0 day max fcst"]
    assert _windows(0, "REFD", "263 K level") == ["anl", "0-0 day max fcst"]
    assert len(hrrr_inventory(0)) == 170


def test_every_forecast_lead_keeps_the_f24_order_and_count() -> None:
    template = [(x.element, x.level) for x in hrrr_inventory(24)]
    for lead in range(1, HRRR_MAX_LEAD_HOURS + 1):
        lines = hrrr_inventory(lead)
        assert [(x.element, x.level) for x in lines] == template
        ends = (f"{lead} hour fcst", f"-{lead} hour ", f"-{lead // 24} day ")
        assert all(any(end in line.window for end in ends) for line in lines), lead


def test_every_hrrr_element_and_level_is_encoded_without_fallback() -> None:
    lines = hrrr_inventory(0) + hrrr_inventory(24)
    radarvil = "var discipline=0 center=7 local_table=1 parmcat=16 parm=201"
    assert {line.element for line in lines} - set(ELEMENTS) == {radarvil}
    info = element_info(radarvil)
    assert (info.discipline, info.category, info.number) == (0, 16, 201)
    assert [line.level for line in lines if level_surfaces(line.level) == FALLBACK_SURFACES] == []


@pytest.mark.parametrize(
    "window",
    [
        "22-24 hour max fcst",  # a bucket longer than an hour
        "0-24 hour acc fcst",  # wgrib2 writes 0-24 h as "0-1 day"
        "0-2 day acc fcst",  # ends after the template lead
        "23-24 hour sum fcst",
        "anl",
        "0-0 day max fcst",  # only the analysis template holds zero-length statistics
    ],
)
def test_windows_fitting_no_rule_raise(window: str) -> None:
    with pytest.raises(InventoryTemplateError, match=re.escape(repr(window))):
        render_window(window, 5, HRRR_PRODUCT)


def test_template_errors_name_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "INVENTORY_DIR", tmp_path)
    (tmp_path / "f24.idx").write_text(
        "1:0:d=2025080100:TMP:2 m above ground:24 hour fcst:\n"
        "2:9:d=2025080100:MXUPHL:5000-2000 m above ground:22-24 hour max fcst:\n",
        encoding="ascii",
    )
    (tmp_path / "f00.idx").write_text(
        "1:0:d=2025080100:TMP:2 m above ground:anl:\n"
        "2:9:d=2025080100:APCP:surface:0-1 day acc fcst:\n",
        encoding="ascii",
    )
    product = HRRR_PRODUCT.model_copy(
        update={"forecast_template": "f24.idx", "analysis_template": "f00.idx"}
    )
    with pytest.raises(
        InventoryTemplateError,
        match=r"f24\.idx line 2 \(MXUPHL:5000-2000 m above ground:22-24 hour max fcst\)",
    ):
        product_inventory(product, 7)
    with pytest.raises(
        InventoryTemplateError, match=r"f00\.idx line 2 \(APCP:surface\) has window '0-1 day"
    ):
        product_inventory(product, 0)
    # Templates are parsed once per name: the zero-length one gets its own.
    (tmp_path / "f00-zero.idx").write_text(
        "1:0:d=2025080100:APCP:surface:0-0 day acc fcst:\n", encoding="ascii"
    )
    zero = product.model_copy(update={"analysis_template": "f00-zero.idx"})
    assert [x.window for x in product_inventory(zero, 0)] == ["0-0 day acc fcst"]
    strict = zero.model_copy(update={"analysis_statistics": False})
    with pytest.raises(InventoryTemplateError, match=r"f00-zero\.idx line 1 .*'0-0 day acc"):
        product_inventory(strict, 0)


def test_analysis_statistics_need_an_analysis_template() -> None:
    with pytest.raises(pydantic.ValidationError, match="analysis_template is None"):
        InventoryProduct(
            name="no analysis",
            forecast_template="x.idx",
            template_lead_hours=24,
            analysis_statistics=True,
        )
