"""The generated GFS catalog against NCEP's real inventories (f000 and f007).

The catalog (``vidx_pipeline/datasets/noaa_gfs_catalog.py``) is written by
``scripts/generate_noaa_gfs_catalog.py``; these tests render it back to wgrib2 inventory text
on their own and hold it to the inventories it was generated from.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from vidx_pipeline.datasets.noaa_gfs_catalog import GFS_CATALOG, GFS_LEVEL_DIMENSIONS
from vidx_pipeline.providers.noaa_catalog import Wgrib2Family

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "vidx_pipeline_tests" / "fixtures" / "real" / "noaa-idx"
GENERATOR = ROOT / "scripts" / "generate_noaa_gfs_catalog.py"

# The names the dataset published before the catalog existed, and the family each one means:
# (element, level, window, window start). Stated here independently of the generator.
LEGACY = {
    "temperature_2m": ("TMP", "2 m above ground", "instant", None),
    "dew_point_temperature_2m": ("DPT", "2 m above ground", "instant", None),
    "relative_humidity_2m": ("RH", "2 m above ground", "instant", None),
    "maximum_temperature_2m": ("TMAX", "2 m above ground", "max", "reset"),
    "minimum_temperature_2m": ("TMIN", "2 m above ground", "min", "reset"),
    "wind_u_10m": ("UGRD", "10 m above ground", "instant", None),
    "wind_v_10m": ("VGRD", "10 m above ground", "instant", None),
    "wind_u_100m": ("UGRD", "100 m above ground", "instant", None),
    "wind_v_100m": ("VGRD", "100 m above ground", "instant", None),
    "wind_gust_surface": ("GUST", "surface", "instant", None),
    "pressure_reduced_to_mean_sea_level": ("PRMSL", "mean sea level", "instant", None),
    "pressure_surface": ("PRES", "surface", "instant", None),
    "precipitation_rate_surface": ("PRATE", "surface", "ave", "reset"),
    "total_precipitation_surface": ("APCP", "surface", "acc", "init"),
    "categorical_rain_surface": ("CRAIN", "surface", "instant", None),
    "categorical_snow_surface": ("CSNOW", "surface", "instant", None),
    "categorical_freezing_rain_surface": ("CFRZR", "surface", "instant", None),
    "categorical_ice_pellets_surface": ("CICEP", "surface", "instant", None),
    "percent_frozen_precipitation_surface": ("CPOFP", "surface", "instant", None),
    "total_cloud_cover_atmosphere": ("TCDC", "entire atmosphere", "instant", None),
    "precipitable_water_atmosphere": (
        "PWAT",
        "entire atmosphere (considered as a single layer)",
        "instant",
        None,
    ),
    "downward_short_wave_radiation_flux_surface": ("DSWRF", "surface", "ave", "reset"),
    "downward_long_wave_radiation_flux_surface": ("DLWRF", "surface", "ave", "reset"),
    "visibility_surface": ("VIS", "surface", "instant", None),
    "snow_depth_surface": ("SNOD", "surface", "instant", None),
    "convective_available_potential_energy_surface": ("CAPE", "surface", "instant", None),
    "soil_moisture_0_to_10cm": ("SOILW", "0-0.1 m below ground", "instant", None),
}


def window_text(family: Wgrib2Family, lead: int) -> str | None:
    """What wgrib2 writes for the family's window at ``lead`` (GFS buckets reset every 6 h)."""
    if family.window == "instant":
        return "anl" if lead == 0 else f"{lead} hour fcst"
    if lead == 0:
        return None
    start = 0 if family.window_start == "init" else (lead - 1) // 6 * 6
    return f"{start}-{lead} hour {family.window} fcst"


def claims(lead: int) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """(element, level, window) -> [(family name, level value text)] the catalog claims."""
    claimed: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for family in GFS_CATALOG:
        window = window_text(family, lead)
        if window is None or (lead == 0 and not family.at_lead_zero):
            continue
        if family.level_dimension is None:
            claimed[(family.element, family.level, window)].append((family.name, family.level))
            continue
        for text in family.levels_at_lead_zero if lead == 0 else family.levels:
            level = family.level.format(text)
            claimed[(family.element, level, window)].append((family.name, text))
    return claimed


def inventory_fields(lead: int) -> list[tuple[str, str, str]]:
    path = INVENTORIES / f"gfs.t00z.pgrb2.0p25.f{lead:03d}.idx"
    fields = []
    for line in path.read_text().splitlines():
        number, offset, date, element, level, window, tail = line.split(":")
        assert number.isdigit(), line
        assert offset.isdigit(), line
        assert date.startswith("d="), line
        assert tail == "", line
        fields.append((element, level, window))
    return fields


@pytest.mark.slow
def test_generated_catalog_is_up_to_date() -> None:
    for module in ("eccodes", "gribberish"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"the generator needs {module}")
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("lead", [0, 7])
def test_every_inventory_line_is_claimed_by_exactly_one_family_level(lead: int) -> None:
    fields = inventory_fields(lead)
    assert len(fields) == len(set(fields)), "the inventory repeats a line"
    claimed = claims(lead)
    unclaimed = [f for f in fields if f not in claimed]
    shared = {f: who for f, who in claimed.items() if len(who) > 1}
    phantom = [f for f in claimed if f not in set(fields)]
    assert unclaimed == []
    assert shared == {}
    assert phantom == []


def test_names_are_unique_and_valid() -> None:
    names = [family.name for family in GFS_CATALOG]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    dimension_names = [d.name for d in GFS_LEVEL_DIMENSIONS]
    assert len(dimension_names) == len(set(dimension_names))
    assert not set(names) & set(dimension_names)


def test_families_are_distinct() -> None:
    keys = [(f.element, f.level, f.window, f.window_start) for f in GFS_CATALOG]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_name_keeps_its_family(name: str) -> None:
    (family,) = [f for f in GFS_CATALOG if f.name == name]
    assert (family.element, family.level, family.window, family.window_start) == LEGACY[name]
    assert family.level_dimension is None


def test_windows_are_consistent() -> None:
    for family in GFS_CATALOG:
        if family.window == "instant":
            assert family.window_start is None, family.name
        else:
            assert family.window_start in ("reset", "init"), family.name
            assert not family.at_lead_zero, family.name
            assert family.long_name.endswith(")"), family.name


def test_level_texts_exist_in_their_dimension() -> None:
    dimensions = {d.name: d for d in GFS_LEVEL_DIMENSIONS}
    used: dict[str, set[str]] = defaultdict(set)
    for family in GFS_CATALOG:
        if family.level_dimension is None:
            assert "{}" not in family.level, family.name
            assert family.levels == family.levels_at_lead_zero == (), family.name
            continue
        dimension = dimensions[family.level_dimension]
        assert family.level.count("{}") == 1, family.name
        assert set(family.levels) <= set(dimension.texts), family.name
        assert set(family.levels_at_lead_zero) <= set(dimension.texts), family.name
        assert family.levels or family.levels_at_lead_zero, family.name
        if not family.at_lead_zero:
            assert family.levels_at_lead_zero == (), family.name
        order = {text: i for i, text in enumerate(dimension.texts)}
        for levels in (family.levels, family.levels_at_lead_zero):
            assert list(levels) == sorted(levels, key=order.__getitem__), family.name
        used[dimension.name] |= set(family.levels) | set(family.levels_at_lead_zero)
    for dimension in GFS_LEVEL_DIMENSIONS:
        assert len(dimension.values) == len(dimension.texts) == len(set(dimension.texts))
        assert set(dimension.texts) == used[dimension.name], "a dimension is the union"


def test_isobaric_dimension_runs_from_the_ground_up() -> None:
    (isobaric,) = [d for d in GFS_LEVEL_DIMENSIONS if d.name == "isobaric_level"]
    assert isobaric.units == "hPa"
    pressures = [float(value) for value in isobaric.values]
    assert pressures[0] == 1000.0
    assert pressures[-1] == 0.01
    assert pressures == sorted(pressures, reverse=True)
    assert len(pressures) == 41
    assert [float(text) for text in isobaric.texts] == pressures
