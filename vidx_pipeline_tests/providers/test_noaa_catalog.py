"""The generated NOAA catalogs against NCEP's real inventories: GFS (f000 and f007 of
``pgrb2.0p25``), GEFS (the control member's ``pgrb2a.0p50`` f432 and ``pgrb2b.0p50`` f003)
and HRRR (``wrfsfcf00`` and ``wrfsfcf24``).

The catalogs (``vidx_pipeline/datasets/noaa_{gfs,gefs,hrrr}_catalog.py``) are written by
``scripts/generate_noaa_catalog.py``; these tests render them back to wgrib2 inventory text
on their own and hold them to the inventories they were generated from.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from vidx_pipeline.datasets.noaa_gefs_catalog import GEFS_CATALOG, GEFS_LEVEL_DIMENSIONS
from vidx_pipeline.datasets.noaa_gfs_catalog import GFS_CATALOG, GFS_LEVEL_DIMENSIONS
from vidx_pipeline.datasets.noaa_hrrr_catalog import HRRR_CATALOG, HRRR_LEVEL_DIMENSIONS
from vidx_pipeline.providers.noaa_catalog import LevelDimensionEntry, Wgrib2Family

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "vidx_pipeline_tests" / "fixtures" / "real" / "noaa-idx"
GENERATOR = ROOT / "scripts" / "generate_noaa_catalog.py"

Catalog = tuple[Wgrib2Family, ...]
CATALOGS: dict[str, tuple[Catalog, tuple[LevelDimensionEntry, ...]]] = {
    "gfs": (GFS_CATALOG, GFS_LEVEL_DIMENSIONS),
    "gefs": (GEFS_CATALOG, GEFS_LEVEL_DIMENSIONS),
    "hrrr": (HRRR_CATALOG, HRRR_LEVEL_DIMENSIONS),
}
# (product, file kind, lead, inventory file, what every line's 7th field says)
INVENTORY_FILES = [
    ("gfs", None, 0, "gfs.t00z.pgrb2.0p25.f000.idx", ""),
    ("gfs", None, 7, "gfs.t00z.pgrb2.0p25.f007.idx", ""),
    ("gefs", "pgrb2a", 432, "gec00.t00z.pgrb2a.0p50.f432.idx", "ENS=low-res ctl"),
    ("gefs", "pgrb2b", 3, "gec00.t00z.pgrb2b.0p50.f003.idx", "ENS=low-res ctl"),
    ("hrrr", None, 0, "hrrr.t00z.wrfsfcf00.grib2.idx", ""),
    ("hrrr", None, 24, "hrrr.t00z.wrfsfcf24.grib2.idx", ""),
]

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


BUCKET_HOURS = {"gfs": 6, "gefs": 6, "hrrr": 1}
"""How often each product's statistical buckets reset (NCEP's global models 6 h, HRRR 1 h)."""
ZERO_LENGTH_WINDOWS = {"hrrr"}
"""Products whose f000 writes windowed fields as ``0-0 day X fcst``."""


def window_text(family: Wgrib2Family, lead: int, product: str) -> str | None:
    """What wgrib2 writes for the family's window at ``lead``: in days where both ends are
    whole days."""
    if family.window == "instant":
        return "anl" if lead == 0 else f"{lead} hour fcst"
    if lead == 0:
        return f"0-0 day {family.window} fcst" if product in ZERO_LENGTH_WINDOWS else None
    hours = BUCKET_HOURS[product]
    start = 0 if family.window_start == "init" else (lead - 1) // hours * hours
    if start % 24 == 0 and lead % 24 == 0:
        return f"{start // 24}-{lead // 24} day {family.window} fcst"
    return f"{start}-{lead} hour {family.window} fcst"


def claims(
    product: str, kind: str | None, lead: int
) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """(element, level, window) -> [(family name, level value text)] the catalog claims for a
    file of ``kind`` (None: the product's only kind) at ``lead``."""
    claimed: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for family in CATALOGS[product][0]:
        window = window_text(family, lead, product)
        if window is None or (lead == 0 and not family.at_lead_zero):
            continue
        if kind is not None and kind not in family.source_files:
            continue
        if family.level_dimension is None:
            claimed[(family.element, family.level, window)].append((family.name, family.level))
            continue
        here = family.source_files[kind] if kind is not None else None
        for text in family.levels_at_lead_zero if lead == 0 else family.levels:
            if here is not None and text not in here:
                continue
            level = family.level.format(text)
            claimed[(family.element, level, window)].append((family.name, text))
    return claimed


def inventory_fields(name: str, last: str) -> list[tuple[str, str, str]]:
    fields = []
    for line in (INVENTORIES / name).read_text().splitlines():
        number, offset, date, element, level, window, tail = line.split(":")
        assert number.isdigit(), line
        assert offset.isdigit(), line
        assert date.startswith("d="), line
        assert tail == last, line
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


@pytest.mark.parametrize(
    ("product", "kind", "lead", "name", "last"),
    INVENTORY_FILES,
    ids=[i[3] for i in INVENTORY_FILES],
)
def test_every_inventory_line_is_claimed_by_exactly_one_family_level(
    product: str, kind: str | None, lead: int, name: str, last: str
) -> None:
    fields = inventory_fields(name, last)
    assert len(fields) == len(set(fields)), "the inventory repeats a line"
    claimed = claims(product, kind, lead)
    unclaimed = [f for f in fields if f not in claimed]
    shared = {f: who for f, who in claimed.items() if len(who) > 1}
    phantom = [f for f in claimed if f not in set(fields)]
    assert unclaimed == []
    assert shared == {}
    assert phantom == []


@pytest.mark.parametrize("product", sorted(CATALOGS))
def test_names_are_unique_and_valid(product: str) -> None:
    catalog, dimensions = CATALOGS[product]
    names = [family.name for family in catalog]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    dimension_names = [d.name for d in dimensions]
    assert len(dimension_names) == len(set(dimension_names))
    assert not set(names) & set(dimension_names)


@pytest.mark.parametrize("product", sorted(CATALOGS))
def test_families_are_distinct(product: str) -> None:
    keys = [(f.element, f.level, f.window, f.window_start) for f in CATALOGS[product][0]]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_name_keeps_its_family(name: str) -> None:
    (family,) = [f for f in GFS_CATALOG if f.name == name]
    assert (family.element, family.level, family.window, family.window_start) == LEGACY[name]
    assert family.level_dimension is None


def test_gefs_shares_gfs_names_for_the_same_fields() -> None:
    """A user reads GEFS's 2 m temperature as ``temperature_2m``, as in GFS; a GEFS family
    named like a GFS one is the same field."""
    gfs = {(f.element, f.level, f.window, f.window_start): f.name for f in GFS_CATALOG}
    shared = 0
    for family in GEFS_CATALOG:
        key = (family.element, family.level, family.window, family.window_start)
        if key in gfs:
            shared += 1
            assert family.name == gfs[key], key
    assert shared > 50
    assert {"temperature_2m", "maximum_temperature_2m", "wind_u_10m"} <= {
        f.name for f in GEFS_CATALOG
    }


def test_gefs_splits_isobaric_levels_between_its_file_kinds() -> None:
    """NCEP writes TMP at 500 mb in pgrb2a and at 975 mb in pgrb2b (the real inventories)."""
    (temperature,) = [f for f in GEFS_CATALOG if f.name == "temperature_isobaric"]
    assert "500" in temperature.source_files["pgrb2a"]
    assert "975" in temperature.source_files["pgrb2b"]
    assert not set(temperature.source_files["pgrb2a"]) & set(temperature.source_files["pgrb2b"])
    assert sorted(
        [*temperature.source_files["pgrb2a"], *temperature.source_files["pgrb2b"]]
    ) == sorted(temperature.levels)
    for family in GEFS_CATALOG:
        assert set(family.source_files) <= {"pgrb2a", "pgrb2b"}, family.name
        assert family.source_files, family.name


@pytest.mark.parametrize("product", sorted(CATALOGS))
def test_windows_are_consistent(product: str) -> None:
    for family in CATALOGS[product][0]:
        if family.window == "instant":
            assert family.window_start is None, family.name
        else:
            assert family.window_start in ("reset", "init"), family.name
            assert not family.at_lead_zero or product in ZERO_LENGTH_WINDOWS, family.name
            assert family.long_name.endswith(")"), family.name


@pytest.mark.parametrize("product", sorted(CATALOGS))
def test_level_texts_exist_in_their_dimension(product: str) -> None:
    catalog, level_dimensions = CATALOGS[product]
    dimensions = {d.name: d for d in level_dimensions}
    used: dict[str, set[str]] = defaultdict(set)
    for family in catalog:
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
    for dimension in level_dimensions:
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
