"""Generate the catalogs of NOAA products: every field family of NCEP's GFS 0.25° and GEFS 0.5°.

Usage (from the repository root)::

    .venv/bin/python scripts/generate_noaa_catalog.py                 # rewrite every catalog
    .venv/bin/python scripts/generate_noaa_catalog.py --product gefs  # one of them
    .venv/bin/python scripts/generate_noaa_catalog.py --check         # exit 1 if one is stale

Inputs are real wgrib2 inventories from ``vidx_pipeline_tests/fixtures/real/noaa-idx/`` plus
ecCodes' GRIB parameter tables and gribberish's abbreviations (:data:`PRODUCTS`):

- **gfs** -> ``vidx_pipeline/datasets/noaa_gfs_catalog.py``: one file kind, ``pgrb2``, from
  ``gfs.t00z.pgrb2.0p25.f000.idx`` (lead 0) and ``...f007.idx`` (lead 7 h);
- **gefs** -> ``vidx_pipeline/datasets/noaa_gefs_catalog.py``: two file kinds per member,
  ``pgrb2a`` from ``gec00.t00z.pgrb2a.0p50.f432.idx`` (lead 432 h) and ``pgrb2b`` from
  ``gec00.t00z.pgrb2b.0p50.f003.idx`` (lead 3 h), the control member's inventories. No real GEFS
  f000 inventory of either kind is at hand, so lead 0 is *assumed* to hold every instantaneous
  family at the same levels (``anl``) and no statistical one, GFS's rule.

Nothing is downloaded and nothing is cached; a run takes about half a minute per product (most of
it the abbreviation scan below). The output depends on the installed ecCodes (its parameter
tables) and gribberish: upgrading either may change it, which ``--check`` then reports. The output
is formatted with ruff before it is written or compared.

Rules
=====

Lines
    Each line is ``n:offset:d=YYYYMMDDHH:ELEMENT:LEVEL TEXT:WINDOW TEXT:`` (GFS) or, for an
    ensemble member, ``...:WINDOW TEXT:ENS=...`` (GEFS; the control member's inventories say
    ``ENS=low-res ctl`` on every line). f000 must say ``anl`` (instantaneous) everywhere. At a
    forecast lead L the window text is ``L hour fcst`` (instantaneous), ``B-L hour X fcst``
    (statistic X over NCEP's 6-hourly bucket starting at B = ((L - 1) // 6) * 6,
    ``window_start="reset"``) or ``0-L hour X fcst`` (X since initialisation,
    ``window_start="init"``), X in acc/ave/max/min. Where the two coincide (L <= 6: GEFS pgrb2b
    f003's ``0-3 hour ave fcst``) the product's ``ambiguous_start`` decides: GEFS's is
    ``"reset"``, as its f432 inventory writes only 6-hourly buckets (``426-432 hour max fcst``).
    Anything else fails.

File kinds
    A product may split its fields between file kinds (GEFS: ``pgrb2a`` and ``pgrb2b``), and even
    one family's levels (GEFS writes TMP at 500 mb in pgrb2a, at 975 mb in pgrb2b): a family is
    collected across kinds, and ``source_files`` records which kind holds which of its levels.
    A single-level family found in two kinds fails the run.

Families
    A family is (element, level type, window kind). The level type of a level text is one of the
    level dimensions below if the text matches its template, otherwise the exact level text (a
    single-level family). Window kinds are distinct families: APCP/ACPCP surface have both a
    bucket and a since-init family, TCDC entire atmosphere and PRATE surface both an instant and an
    ``ave`` family. Families are listed in order of first appearance in f007, then families only
    f000 carries (there are none today). ``at_lead_zero`` says whether f000 carries the family;
    ``levels`` / ``levels_at_lead_zero`` list the dimension value texts written at f007 / f000, in
    dimension order.

Level dimensions
    One dimension per level type, holding the union of every value any family of that type writes
    (cloud hydrometeors written on 22 isobaric levels share the 41-level ``isobaric_level``; their
    other levels are simply absent). A family of such a type gets the dimension even when it has a
    single level. Values run from the ground upward where that means anything:

    - ``N mb`` -> ``isobaric_level`` (float, hPa), 1000 -> 0.01 hPa (descending pressure);
    - ``PV=N (Km^2/kg/s) surface`` -> ``potential_vorticity_level`` (float, K m2 kg-1 s-1),
      ascending (-2e-06, 2e-06);
    - ``N sigma level`` -> ``sigma_level`` (float), descending sigma;
    - ``N hybrid level`` -> ``hybrid_level`` (float), ascending (1 = lowest model level);
    - ``N K isentropic level`` -> ``isentropic_level`` (float, K), ascending;
    - ``A-B sigma layer`` -> ``sigma_layer`` (str labels ``"A-B"``), bottom sigma descending, then
      top sigma descending;
    - ``A-B mb above ground`` -> ``pressure_difference_layer`` (str labels ``"A-B"``, hPa), near
      edge ascending, then far edge ascending (``30-0`` first).

    Everything else (m above ground, m above mean sea level, soil layers, m-above-ground layers,
    surface, cloud levels and layers, 0C isotherm, tropopause, max wind, entire atmosphere, ...) is
    single-level: one variable per exact level text.

GRIB2 parameter of an element
    1. For every (discipline, category, number) with discipline in 0, 1, 2, 3, 10, category in
       0..30 and 190..199, number in 0..255, encode a tiny GRIB2 message with ecCodes (``GRIB2``
       sample, centre 7 = NCEP so NCEP local parameters resolve) and read gribberish's
       ``var_abbrev`` of it (``parse_grib_message_metadata``). Abbreviations are compared
       case-insensitively and without punctuation (gribberish writes ``UGWD`` and ``dswrf`` where
       wgrib2 writes ``U-GWD`` and ``DSWRF``). :data:`GRIBBERISH_SPELLINGS` lists the one wgrib2
       abbreviation gribberish spells differently (``CLMR`` = gribberish ``CLWMR``, 0-1-22).
    2. Where one abbreviation maps to several triples: keep the triples ecCodes knows (a concept
       or a WMO code-table entry); of those, keep the ones whose ecCodes description agrees with
       gribberish's (ecCodes shortName equal to the element, or one name containing the other once
       gribberish's ``ncep``/``wmo``/number suffixes are dropped) if any agrees; then prefer the
       WMO standard entry (category and number below 192) over NCEP local ones, then the smallest
       triple. Every such choice is listed in the output's header comment. (GFS itself encodes some
       of these fields with the NCEP local number; the metadata ecCodes gives both is the same
       parameter.)
    3. An element that resolves to no triple fails the run, listing all of them.

Metadata of a family
    ecCodes (centre 7, latest WMO tables) is asked about a message of that family: its triple at
    the family's level (GRIB2 code table 4.5 surfaces, :data:`NAMED_SURFACES` and the numeric
    templates in :func:`grib_surfaces`) and, for windowed families, product template 4.8 with the
    statistic and the f007 time range, because ecCodes' parameter concepts depend on both (PRES is
    "Surface pressure" at the surface and "Tropopause pressure" at the tropopause; an averaged
    surface latent heat flux is "Time-mean surface latent heat flux"). Every level of a dimension
    family must give the same answer (a negative PV value is looked up by its magnitude: ecCodes
    cannot encode the sign). From the answer:

    - ``long_name``: ecCodes ``name`` without ecCodes' "(deprecated)" mark; for windowed
      families followed by the window in words, "Maximum temperature (maximum over the 6-hourly
      bucket)", and without a leading "Instantaneous" (an ecCodes concept name that contradicts
      the window);
    - ``units``: ecCodes ``units`` in CF/UDUNITS form (``m s**-1`` -> ``m s-1``; ``~``,
      ``Numeric``, ``Proportion``, ``Fraction``, ``(0 - 1)`` and code tables -> ``1``; ``gpm`` ->
      ``m``; ``%``, ``dB``, ``DU`` stay);
    - ``short_name``: ecCodes ``shortName``; ``standard_name``: ecCodes ``cfName`` unless
      ``unknown``.

    Where ecCodes has no concept for that message, its WMO code-table name and units are used and
    the short name is the element lower-cased. :data:`NCEP_LOCAL_SUPPLEMENT` holds the NCEP local
    parameters ecCodes knows nothing about (NCEP's GRIB2 table 4.2 text); any other parameter
    without metadata fails the run, and so does a supplement entry ecCodes has learnt.

Names
    ``<base><level part><window part>``, lower snake case:

    - base: :data:`PREFERRED_BASES` for the element, otherwise ecCodes' generic name of the
      parameter (its WMO code-table name, or for NCEP local parameters its concept name) in snake
      case, e.g. ``convective_inhibition``, ``derived_radar_reflectivity``;
    - level part: ``_isobaric``, ``_potential_vorticity``, ``_sigma``, ``_hybrid``,
      ``_sigma_layer``, ``_pressure_difference_layer`` for dimension families; ``_2m`` /
      ``_80m`` for ``N m above ground``; ``_1829m_above_mean_sea_level``; soil layers in
      centimetres, ``_0_to_10cm``; m-above-ground layers ``_0_to_3000m``; ``_atmosphere`` for
      "entire atmosphere" and "entire atmosphere (considered as a single layer)"; otherwise the
      level text in snake case (``_surface``, ``_mean_sea_level``, ``_low_cloud_layer``,
      ``_tropopause``, ``_max_wind``, ``_0c_isotherm``, ...). The level part is not repeated when
      the base already ends with it (``pressure_reduced_to_mean_sea_level``);
    - window part: ``_avg``, ``_acc``, ``_max``, ``_min`` for the 6-hourly bucket,
      ``_avg_since_init``, ``_acc_since_init``, ... since initialisation, nothing for
      instantaneous families.

    The 27 names the GFS dataset already published (:data:`LEGACY_NAMES`) keep their meaning and
    override the scheme (in every product that has the family, so GEFS's 2 m temperature is
    ``temperature_2m`` too; GFS must have them all): the windowed ones among them carry no
    window part (``maximum_temperature_2m``, ``precipitation_rate_surface``,
    ``total_precipitation_surface``, ``downward_short_wave_radiation_flux_surface``, ...). An
    instantaneous family whose scheme name is a legacy name given to a windowed sibling gets
    ``_instant`` (``precipitation_rate_surface_instant``). Any
    remaining collision fails the run: no suffix is invented.

Verification (a failure exits non-zero with the details)
    Every line of every inventory is claimed by exactly one (family, level text) when the
    catalog is rendered back to ``ELEMENT:LEVEL:WINDOW`` for its file kind and lead, no two
    families claim one line, and no family claims a line the inventory lacks.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import eccodes
import gribberish

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidx_pipeline.providers.noaa_catalog import (  # noqa: E402
    LevelDimensionEntry,
    Wgrib2Family,
)

INVENTORY_DIR = "vidx_pipeline_tests/fixtures/real/noaa-idx"
COMMAND = ".venv/bin/python scripts/generate_noaa_catalog.py"

Window = Literal["instant", "acc", "ave", "max", "min"]
WindowStart = Literal["reset", "init"] | None


@dataclass(frozen=True)
class Product:
    """One NOAA product's catalog: its inventories per file kind and lead, and its output."""

    name: str
    title: str  # for the output's docstring
    prefix: str  # of the output's constants: GFS_CATALOG, GFS_LEVEL_DIMENSIONS
    inventories: dict[str, dict[int, str]]  # file kind -> lead -> inventory file
    output: str
    ensemble_text: str | None = None  # the 7th field every line carries (the control's ENS=)
    ambiguous_start: WindowStart = None  # a 0-L window where the bucket also starts at 0
    legacy_required: bool = False
    bucket_hours: int = 6  # statistical buckets reset every this many hours
    zero_length_windows: bool = False  # f000 writes windowed fields as "0-0 day X fcst"

    @property
    def bucket_words(self) -> str:
        if self.bucket_hours == 1:
            return "over the hourly bucket"
        return f"over the {self.bucket_hours}-hourly bucket"

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.inventories)

    @property
    def has_lead_zero(self) -> bool:
        return any(0 in leads for leads in self.inventories.values())

    def forecast_lead(self, kind: str) -> int:
        return max(self.inventories[kind])


PRODUCTS: dict[str, Product] = {
    "gfs": Product(
        name="gfs",
        title="NOAA GFS 0.25° (``pgrb2.0p25``)",
        prefix="GFS",
        inventories={
            "pgrb2": {
                7: f"{INVENTORY_DIR}/gfs.t00z.pgrb2.0p25.f007.idx",
                0: f"{INVENTORY_DIR}/gfs.t00z.pgrb2.0p25.f000.idx",
            }
        },
        output="vidx_pipeline/datasets/noaa_gfs_catalog.py",
        legacy_required=True,
    ),
    "gefs": Product(
        name="gefs",
        title="NOAA GEFS 0.5° (``pgrb2a.0p50`` and ``pgrb2b.0p50``)",
        prefix="GEFS",
        inventories={
            "pgrb2a": {432: f"{INVENTORY_DIR}/gec00.t00z.pgrb2a.0p50.f432.idx"},
            "pgrb2b": {3: f"{INVENTORY_DIR}/gec00.t00z.pgrb2b.0p50.f003.idx"},
        },
        output="vidx_pipeline/datasets/noaa_gefs_catalog.py",
        ensemble_text="ENS=low-res ctl",
        ambiguous_start="reset",
    ),
    "hrrr": Product(
        name="hrrr",
        title="NOAA HRRR 3 km CONUS surface fields (``wrfsfcfFF.grib2``)",
        prefix="HRRR",
        inventories={
            "wrfsfc": {
                24: f"{INVENTORY_DIR}/hrrr.t00z.wrfsfcf24.grib2.idx",
                0: f"{INVENTORY_DIR}/hrrr.t00z.wrfsfcf00.grib2.idx",
            }
        },
        output="vidx_pipeline/datasets/noaa_hrrr_catalog.py",
        bucket_hours=1,
        zero_length_windows=True,
    ),
}


class CatalogError(Exception):
    """The inventories or the parameter tables do not support a consistent catalog."""


# --------------------------------------------------------------------------------------------
# Hand-written knowledge (kept small; everything else is derived)

LEGACY_NAMES: dict[tuple[str, str, Window, WindowStart], str] = {
    ("TMP", "2 m above ground", "instant", None): "temperature_2m",
    ("DPT", "2 m above ground", "instant", None): "dew_point_temperature_2m",
    ("RH", "2 m above ground", "instant", None): "relative_humidity_2m",
    ("TMAX", "2 m above ground", "max", "reset"): "maximum_temperature_2m",
    ("TMIN", "2 m above ground", "min", "reset"): "minimum_temperature_2m",
    ("UGRD", "10 m above ground", "instant", None): "wind_u_10m",
    ("VGRD", "10 m above ground", "instant", None): "wind_v_10m",
    ("UGRD", "100 m above ground", "instant", None): "wind_u_100m",
    ("VGRD", "100 m above ground", "instant", None): "wind_v_100m",
    ("GUST", "surface", "instant", None): "wind_gust_surface",
    ("PRMSL", "mean sea level", "instant", None): "pressure_reduced_to_mean_sea_level",
    ("PRES", "surface", "instant", None): "pressure_surface",
    ("PRATE", "surface", "ave", "reset"): "precipitation_rate_surface",
    ("APCP", "surface", "acc", "init"): "total_precipitation_surface",
    ("CRAIN", "surface", "instant", None): "categorical_rain_surface",
    ("CSNOW", "surface", "instant", None): "categorical_snow_surface",
    ("CFRZR", "surface", "instant", None): "categorical_freezing_rain_surface",
    ("CICEP", "surface", "instant", None): "categorical_ice_pellets_surface",
    ("CPOFP", "surface", "instant", None): "percent_frozen_precipitation_surface",
    ("TCDC", "entire atmosphere", "instant", None): "total_cloud_cover_atmosphere",
    (
        "PWAT",
        "entire atmosphere (considered as a single layer)",
        "instant",
        None,
    ): "precipitable_water_atmosphere",
    ("DSWRF", "surface", "ave", "reset"): "downward_short_wave_radiation_flux_surface",
    ("DLWRF", "surface", "ave", "reset"): "downward_long_wave_radiation_flux_surface",
    ("VIS", "surface", "instant", None): "visibility_surface",
    ("SNOD", "surface", "instant", None): "snow_depth_surface",
    ("CAPE", "surface", "instant", None): "convective_available_potential_energy_surface",
    ("SOILW", "0-0.1 m below ground", "instant", None): "soil_moisture_0_to_10cm",
}
"""The names the GFS dataset already published, (element, level, window, window start) -> name;
every product uses them for the families it has."""

PREFERRED_BASES: dict[str, str] = {
    "TMP": "temperature",
    "DPT": "dew_point_temperature",
    "RH": "relative_humidity",
    "SPFH": "specific_humidity",
    "UGRD": "wind_u",
    "VGRD": "wind_v",
    "GUST": "wind_gust",
    "HGT": "geopotential_height",
    "PRES": "pressure",
    "PRMSL": "pressure_reduced_to_mean_sea_level",
    "MSLET": "eta_model_pressure_reduced_to_mean_sea_level",
    "VVEL": "vertical_velocity",
    "DZDT": "geometric_vertical_velocity",
    "CPOFP": "percent_frozen_precipitation",
    "SOILW": "soil_moisture",
    "SOILL": "liquid_soil_moisture",
    "WEASD": "snow_water_equivalent",
    "GRLE": "graupel_mixing_ratio",
    "LAND": "land_sea_mask",
    "LFTX": "lifted_index",
    "PLPL": "pressure_of_lifted_parcel_level",
    "UFLX": "momentum_flux_u",
    "VFLX": "momentum_flux_v",
    "USTM": "storm_motion_u",
    "VSTM": "storm_motion_v",
    "U-GWD": "zonal_gravity_wave_stress",
    "V-GWD": "meridional_gravity_wave_stress",
    "5WAVH": "five_wave_geopotential_height",
    "ICIP": "icing_potential",
}
"""Bases where ecCodes' name would read badly or clash with the legacy names' style (``u-component
of wind``, ``Land cover (0 = sea, 1 = land)``, ``Vertical velocity (pressure)``, ...)."""

GRIBBERISH_SPELLINGS: dict[str, str] = {"CLMR": "CLWMR", "VIL": "VERIL", "AOTK": "APTS"}
"""wgrib2 abbreviations gribberish spells differently: NCEP writes CLMR for 0-1-22 (cloud mixing
ratio; gribberish 1.9 calls it CLWMR), HRRR VIL for 0-15-3 (gribberish VERIL) and AOTK for
0-20-102 (aerosol optical thickness; gribberish APTS). The provider's ``_DECODER_NAMES`` is the
same table read the other way."""

GRIBBERISH_UNNAMED: dict[str, tuple[int, int, int]] = {
    "ICIP": (0, 19, 20),
    "ICSEV": (0, 19, 234),
    "SNOHF": (0, 0, 16),
    "5WAVH": (0, 3, 193),
}
"""wgrib2 abbreviations gribberish 1.9 has no name for (it reads their messages as ``missing``):
the triple from wgrib2's and NCEP's GRIB2 table 4.2, which ecCodes confirms (shortName ICSEV,
snohf, 5wavh; 0-19-20 is WMO "Icing", wgrib2's ICIP). Used only when the scan finds nothing, and a
run fails if the scan starts finding one of them (drop it here then)."""

NCEP_LOCAL_SUPPLEMENT: dict[tuple[int, int, int], tuple[str, str]] = {
    (0, 1, 200): ("Potential evaporation rate", "W m-2"),
    (0, 16, 201): ("Radar-derived vertically integrated liquid", "kg m-2"),
    # HRRR's NCEP local parameters (NCEP GRIB2 table 4.2, as wgrib2 names them):
    (0, 1, 227): ("Frozen rain", "kg m-2"),
    (0, 1, 242): ("Relative humidity with respect to precipitable water", "%"),
    (0, 2, 220): ("Hourly maximum of upward vertical velocity", "m s-1"),
    (0, 2, 221): ("Hourly maximum of downward vertical velocity", "m s-1"),
    (0, 2, 222): ("U-component of hourly maximum 10 m wind speed", "m s-1"),
    (0, 2, 223): ("V-component of hourly maximum 10 m wind speed", "m s-1"),
    (0, 7, 199): ("Hourly maximum of updraft helicity", "m2 s-2"),
    (0, 7, 200): ("Hourly minimum of updraft helicity", "m2 s-2"),
    (0, 7, 204): ("Effective layer height", "m"),
    (0, 7, 205): ("Enhanced stretching potential", "1"),
    (0, 7, 206): ("Critical angle", "degree"),
    (0, 16, 198): ("Hourly maximum of simulated reflectivity", "dB"),
    (2, 0, 231): ("Seasonal minimum green vegetation fraction", "%"),
    (2, 0, 232): ("Seasonal maximum green vegetation fraction", "%"),
}
"""Parameters ecCodes has neither a concept nor a table entry for: (name, CF units) from NCEP's
GRIB2 table 4.2 (0-1-200) and, for 0-16-201, which wgrib2 cannot name either
(HRRR writes it just before VIL), HRRR's post-processor field list (``RADARVIL``)."""

NAMED_SURFACES: dict[str, int] = {
    "surface": 1,
    "0C isotherm": 4,
    "max wind": 6,
    "tropopause": 7,
    "top of atmosphere": 8,
    "entire atmosphere": 10,
    "mean sea level": 101,
    "entire atmosphere (considered as a single layer)": 200,
    "highest tropospheric freezing level": 204,
    "boundary layer cloud layer": 211,
    "low cloud bottom level": 212,
    "low cloud top level": 213,
    "low cloud layer": 214,
    "cloud ceiling": 215,
    "planetary boundary layer": 220,
    "cloud base": 2,
    "cloud top": 3,
    "level of adiabatic condensation from sfc": 5,
    "level of free convection": 14,
    "equilibrium level": 247,
    "middle cloud bottom level": 222,
    "middle cloud top level": 223,
    "middle cloud layer": 224,
    "high cloud bottom level": 232,
    "high cloud top level": 233,
    "high cloud layer": 234,
    "convective cloud bottom level": 242,
    "convective cloud top level": 243,
    "convective cloud layer": 244,
}
"""wgrib2's text of GRIB2 code table 4.5 surfaces without a value (200+ are NCEP local)."""

ATMOSPHERE_LEVELS = ("entire atmosphere", "entire atmosphere (considered as a single layer)")
WINDOW_PARTS: dict[str, str] = {"acc": "acc", "ave": "avg", "max": "max", "min": "min"}
WINDOW_WORDS: dict[str, str] = {
    "acc": "accumulation",
    "ave": "average",
    "max": "maximum",
    "min": "minimum",
}
DIMENSIONLESS_UNITS = {"~", "-", "1", "Numeric", "Proportion", "Fraction", "(0 - 1)", "0-1"}
ECCODES_STATISTICS = {"ave": 0, "acc": 1, "max": 2, "min": 3}

# --------------------------------------------------------------------------------------------
# Level dimensions

_NUMBER = r"-?[0-9.]+(?:e[-+]?[0-9]+)?"


@dataclass(frozen=True)
class Dimension:
    """A level type whose values become a coordinate."""

    name: str
    template: str  # wgrib2 level text with "{}" for the value text
    value_pattern: str
    name_part: str
    units: str
    long_name: str
    standard_name: str | None
    positive: Literal["up", "down"] | None
    labels: bool  # str labels (layers) rather than floats
    sort_key: Callable[[str], tuple[float, ...]]
    # GRIB2 surfaces of a value text: (type, value in the GRIB unit) for each bounding surface
    surfaces: Callable[[str], tuple[tuple[int, Decimal], ...]]

    @property
    def pattern(self) -> re.Pattern[str]:
        head, _, tail = self.template.partition("{}")
        return re.compile(f"{re.escape(head)}(?P<text>{self.value_pattern}){re.escape(tail)}")

    def value(self, text: str) -> float | str:
        return text if self.labels else float(text)


def _layer_bounds(text: str) -> tuple[Decimal, Decimal]:
    first, second = text.split("-")
    return Decimal(first), Decimal(second)


def _hpa_to_pa(value: Decimal) -> Decimal:
    return value * 100


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        name="isobaric_level",
        template="{} mb",
        value_pattern=_NUMBER,
        name_part="isobaric",
        units="hPa",
        long_name="pressure level",
        standard_name="air_pressure",
        positive="down",
        labels=False,
        sort_key=lambda text: (-float(text),),
        surfaces=lambda text: ((100, _hpa_to_pa(Decimal(text))),),
    ),
    Dimension(
        name="potential_vorticity_level",
        template="PV={} (Km^2/kg/s) surface",
        value_pattern=_NUMBER,
        name_part="potential_vorticity",
        units="K m2 kg-1 s-1",
        long_name="potential vorticity surface",
        standard_name="ertel_potential_vorticity",
        positive=None,
        labels=False,
        sort_key=lambda text: (float(text),),
        surfaces=lambda text: ((109, abs(Decimal(text))),),
    ),
    Dimension(
        name="sigma_level",
        template="{} sigma level",
        value_pattern=_NUMBER,
        name_part="sigma",
        units="1",
        long_name="sigma level",
        standard_name=None,
        positive="down",
        labels=False,
        sort_key=lambda text: (-float(text),),
        surfaces=lambda text: ((104, Decimal(text)),),
    ),
    Dimension(
        name="hybrid_level",
        template="{} hybrid level",
        value_pattern=_NUMBER,
        name_part="hybrid",
        units="1",
        long_name="hybrid model level number",
        standard_name=None,
        positive="up",
        labels=False,
        sort_key=lambda text: (float(text),),
        surfaces=lambda text: ((105, Decimal(text)),),
    ),
    Dimension(
        name="isentropic_level",
        template="{} K isentropic level",
        value_pattern=_NUMBER,
        name_part="isentropic",
        units="K",
        long_name="isentropic level (potential temperature)",
        standard_name="air_potential_temperature",
        positive="up",
        labels=False,
        sort_key=lambda text: (float(text),),
        surfaces=lambda text: ((107, Decimal(text)),),
    ),
    Dimension(
        name="sigma_layer",
        template="{} sigma layer",
        value_pattern=r"[0-9.]+-[0-9.]+",
        name_part="sigma_layer",
        units="1",
        long_name="sigma layer (top sigma - bottom sigma)",
        standard_name=None,
        positive=None,
        labels=True,
        sort_key=lambda text: tuple(-float(b) for b in sorted(_layer_bounds(text), reverse=True)),
        surfaces=lambda text: tuple((104, bound) for bound in _layer_bounds(text)),
    ),
    Dimension(
        name="pressure_difference_layer",
        template="{} mb above ground",
        value_pattern=r"[0-9.]+-[0-9.]+",
        name_part="pressure_difference_layer",
        units="hPa",
        long_name="layer between two pressure differences from the ground (far - near, hPa)",
        standard_name=None,
        positive=None,
        labels=True,
        sort_key=lambda text: tuple(float(b) for b in sorted(_layer_bounds(text))),
        surfaces=lambda text: tuple((108, _hpa_to_pa(bound)) for bound in _layer_bounds(text)),
    ),
)


def dimension_of(level: str) -> tuple[Dimension, str] | None:
    """The dimension a level text belongs to and its value text, or None for a single level."""
    matches = [(d, m["text"]) for d in DIMENSIONS if (m := d.pattern.fullmatch(level))]
    if len(matches) > 1:
        raise CatalogError(f"level {level!r} matches several dimensions: {matches}")
    return matches[0] if matches else None


_SINGLE_LEVEL_SURFACES: tuple[
    tuple[re.Pattern[str], Callable[[re.Match[str]], Iterable[tuple[int, Decimal]]]], ...
] = (
    (re.compile(rf"({_NUMBER}) m above ground"), lambda m: [(103, Decimal(m[1]))]),
    (re.compile(rf"({_NUMBER}) m above mean sea level"), lambda m: [(102, Decimal(m[1]))]),
    (re.compile(rf"({_NUMBER}) m underground"), lambda m: [(106, Decimal(m[1]))]),
    (re.compile(rf"({_NUMBER}) K level"), lambda m: [(20, Decimal(m[1]))]),
    (
        re.compile(rf"({_NUMBER}) K level - ({_NUMBER}) K level"),
        lambda m: [(20, Decimal(m[1])), (20, Decimal(m[2]))],
    ),
    (
        re.compile(rf"({_NUMBER})-({_NUMBER}) mb"),
        lambda m: [(100, _hpa_to_pa(Decimal(m[1]))), (100, _hpa_to_pa(Decimal(m[2])))],
    ),
    (
        re.compile(rf"({_NUMBER})-({_NUMBER}) m below ground"),
        lambda m: [(106, Decimal(m[1])), (106, Decimal(m[2]))],
    ),
    (
        re.compile(rf"({_NUMBER})-({_NUMBER}) m above ground"),
        lambda m: [(103, Decimal(m[1])), (103, Decimal(m[2]))],
    ),
)


def grib_surfaces(level: str) -> tuple[tuple[int, Decimal | None], ...]:
    """GRIB2 fixed surfaces (code table 4.5 type, value in the GRIB unit) of a wgrib2 level."""
    found = dimension_of(level)
    if found is not None:
        dimension, text = found
        return dimension.surfaces(text)
    if level in NAMED_SURFACES:
        return ((NAMED_SURFACES[level], None),)
    for pattern, surfaces in _SINGLE_LEVEL_SURFACES:
        if m := pattern.fullmatch(level):
            return tuple(surfaces(m))
    raise CatalogError(f"no GRIB2 surface known for level {level!r}: add it to NAMED_SURFACES")


# --------------------------------------------------------------------------------------------
# Inventories


@dataclass(frozen=True)
class Line:
    kind: str
    lead: int
    number: int
    element: str
    level: str
    window_text: str

    @property
    def field(self) -> tuple[str, str, str]:
        return self.element, self.level, self.window_text


def read_inventory(product: Product, kind: str, lead: int) -> list[Line]:
    path = product.inventories[kind][lead]
    last = product.ensemble_text or ""
    lines = []
    for raw in (ROOT / path).read_text().splitlines():
        parts = raw.split(":")
        if len(parts) != 7 or parts[6] != last or not parts[2].startswith("d="):
            raise CatalogError(f"{path}: unexpected line {raw!r} (its 7th field must be {last!r})")
        lines.append(Line(kind, lead, int(parts[0]), parts[3], parts[4], parts[5]))
    return lines


Inventories = dict[tuple[str, int], list[Line]]
"""(file kind, lead) -> the lines of that inventory."""


def read_inventories(product: Product) -> Inventories:
    return {
        (kind, lead): read_inventory(product, kind, lead)
        for kind, leads in product.inventories.items()
        for lead in leads
    }


def bucket_start(lead: int, hours: int) -> int:
    return (lead - 1) // hours * hours


_STATISTICAL = re.compile(r"(\d+)-(\d+) (hour|day) (acc|ave|max|min) fcst")


def window_kind(product: Product, lead: int, text: str) -> tuple[Window, WindowStart]:
    """(window, window start) of a window text at ``lead``. A zero-length window at lead 0
    (``0-0 day max fcst``) has start None: its family is the one of that statistic found at
    forecast leads (:func:`collect_families`)."""
    m = _STATISTICAL.fullmatch(text)
    unit = 24 if m and m[3] == "day" else 1
    if lead == 0:
        if text == "anl":
            return "instant", None
        if m and product.zero_length_windows and int(m[1]) == int(m[2]) == 0:
            return m[4], None  # type: ignore[return-value]
        raise CatalogError(f"f000 window {text!r} is not 'anl'")
    if text == f"{lead} hour fcst":
        return "instant", None
    if m and int(m[2]) * unit == lead:
        statistic: Window = m[4]  # type: ignore[assignment]
        first = int(m[1]) * unit
        bucket = bucket_start(lead, product.bucket_hours)
        if first == 0 == bucket:
            if product.ambiguous_start is None:
                raise CatalogError(
                    f"window {text!r} at lead {lead} is both the bucket and since init, and "
                    f"{product.name} says nothing about which"
                )
            return statistic, product.ambiguous_start
        if first == 0:
            return statistic, "init"
        if first == bucket:
            return statistic, "reset"
    raise CatalogError(f"window {text!r} at lead {lead} is neither instant, bucket nor since init")


def window_text(product: Product, window: Window, start: WindowStart, lead: int) -> str | None:
    """The window text wgrib2 writes for a family at ``lead`` (None: not written); in days
    when both ends are whole days."""
    if window == "instant":
        return "anl" if lead == 0 else f"{lead} hour fcst"
    if lead == 0:
        return f"0-0 day {window} fcst" if product.zero_length_windows else None
    first = 0 if start == "init" else bucket_start(lead, product.bucket_hours)
    if first % 24 == 0 and lead % 24 == 0:
        return f"{first // 24}-{lead // 24} day {window} fcst"
    return f"{first}-{lead} hour {window} fcst"


@dataclass
class RawFamily:
    """A family as the inventories show it, before naming and parameter look-up."""

    element: str
    level: str  # exact text, or the dimension template
    dimension: Dimension | None
    window: Window
    window_start: WindowStart
    # (file kind, lead) -> value texts, or [level text] for a single-level family
    texts: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, Window, WindowStart]:
        return self.element, self.level, self.window, self.window_start

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(kind for kind, _ in self.texts))

    def at(self, kind: str | None, lead: int) -> tuple[str, ...]:
        """Value texts at ``lead`` in file kind ``kind`` (None: every kind), in order."""
        found = {
            text
            for (in_kind, at_lead), texts in self.texts.items()
            if at_lead == lead and kind in (None, in_kind)
            for text in texts
        }
        return tuple(sorted(found, key=self.sort_key))

    def level_texts(self) -> list[str]:
        """Every exact level text of the family, any lead."""
        values = sorted({t for texts in self.texts.values() for t in texts}, key=self.sort_key)
        if self.dimension is None:
            return values
        return [self.dimension.template.format(t) for t in values]

    def sort_key(self, text: str) -> tuple[float, ...]:
        return self.dimension.sort_key(text) if self.dimension else ()


def collect_families(product: Product, inventories: Inventories) -> list[RawFamily]:
    """Families in order of first appearance: forecast inventories first (kind by kind), then
    lead 0."""
    families: dict[tuple[str, str, Window, WindowStart], RawFamily] = {}
    order = sorted(inventories, key=lambda kind_lead: kind_lead[1] == 0)
    for kind, lead in order:
        for line in inventories[kind, lead]:
            window, start = window_kind(product, lead, line.window_text)
            found = dimension_of(line.level)
            dimension, text = found if found else (None, line.level)
            template = dimension.template if dimension else line.level
            if window != "instant" and start is None:  # a zero-length window at lead 0
                starts: tuple[WindowStart, ...] = ("init", "reset")
                owners = [s for s in starts if (line.element, template, window, s) in families]
                if not owners:
                    raise CatalogError(f"{line}: no forecast-lead family of that statistic")
                start = owners[0]  # a running total's empty window, else the bucket's
            raw = families.setdefault(
                (line.element, template, window, start),
                RawFamily(line.element, template, dimension, window, start),
            )
            raw.texts.setdefault((kind, lead), []).append(text)
    for raw in families.values():
        forecast = [k for k in raw.kinds if raw.at(k, product.forecast_lead(k))]
        if not forecast:  # Wgrib2Family cannot say a family is absent at forecasts
            raise CatalogError(f"{raw.key}: written at f000 only")
        if raw.dimension is None and len(forecast) > 1:
            raise CatalogError(f"{raw.key}: one single-level family in file kinds {forecast}")
        shared = set(raw.at(forecast[0], product.forecast_lead(forecast[0])))
        for kind in forecast[1:]:
            if overlap := shared & set(raw.at(kind, product.forecast_lead(kind))):
                raise CatalogError(f"{raw.key}: levels {sorted(overlap)} in two file kinds")
    return list(families.values())


# --------------------------------------------------------------------------------------------
# GRIB parameters: gribberish abbreviations -> triples, ecCodes metadata

Triple = tuple[int, int, int]


def normalise(abbreviation: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", abbreviation.upper())


class Eccodes:
    """Tiny GRIB2 messages from ecCodes' ``GRIB2`` sample with centre 7 (NCEP)."""

    def __init__(self) -> None:
        self.base = eccodes.codes_grib_new_from_samples("GRIB2")
        eccodes.codes_set(self.base, "centre", 7)
        self.tables_version = int(eccodes.codes_get(self.base, "tablesVersionLatest"))
        eccodes.codes_set(self.base, "tablesVersion", self.tables_version)

    def message(
        self,
        triple: Triple,
        surfaces: Sequence[tuple[int, Decimal | None]] = (),
        window: Window = "instant",
        start: WindowStart = None,
        lead: int = 0,
        bucket_hours: int = 6,
    ) -> int:
        handle = eccodes.codes_clone(self.base)
        if window != "instant":
            eccodes.codes_set(handle, "productDefinitionTemplateNumber", 8)
        for key, number in zip(
            ("discipline", "parameterCategory", "parameterNumber"), triple, strict=True
        ):
            eccodes.codes_set(handle, key, number)
        for which, (surface_type, value) in zip(("First", "Second"), surfaces, strict=False):
            eccodes.codes_set(handle, f"typeOf{which}FixedSurface", surface_type)
            if value is not None:
                factor, scaled = scaled_value(value)
                eccodes.codes_set(handle, f"scaleFactorOf{which}FixedSurface", factor)
                eccodes.codes_set(handle, f"scaledValueOf{which}FixedSurface", scaled)
        if window != "instant":
            first = 0 if start == "init" else bucket_start(lead, bucket_hours)
            eccodes.codes_set(handle, "typeOfStatisticalProcessing", ECCODES_STATISTICS[window])
            eccodes.codes_set(handle, "indicatorOfUnitOfTimeRange", 1)
            eccodes.codes_set(handle, "indicatorOfUnitForTimeRange", 1)
            eccodes.codes_set(handle, "forecastTime", first)
            eccodes.codes_set(handle, "lengthOfTimeRange", lead - first)
        return handle

    def describe(self, handle: int) -> dict[str, str]:
        keys = ("shortName", "name", "units", "cfName", "parameterName", "parameterUnits")
        return {key: str(eccodes.codes_get(handle, key)) for key in keys}

    def lookup(
        self,
        triple: Triple,
        surfaces: Sequence[tuple[int, Decimal | None]] = (),
        window: Window = "instant",
        start: WindowStart = None,
        lead: int = 0,
        bucket_hours: int = 6,
    ) -> dict[str, str]:
        handle = self.message(triple, surfaces, window, start, lead, bucket_hours)
        try:
            return self.describe(handle)
        finally:
            eccodes.codes_release(handle)

    def encode(self, triple: Triple) -> bytes:
        handle = self.message(triple)
        try:
            return bytes(eccodes.codes_get_message(handle))
        finally:
            eccodes.codes_release(handle)


def scaled_value(value: Decimal) -> tuple[int, int]:
    """GRIB2 (scale factor, scaled value) of a surface value: value = scaled / 10**factor."""
    normal = value.normalize()
    exponent = int(normal.as_tuple().exponent)
    factor = max(0, -exponent)
    return factor, int(normal.scaleb(factor))


def knows(description: dict[str, str]) -> bool:
    """Whether ecCodes has a concept (name) or a WMO code-table entry for the parameter."""
    return description["name"] != "unknown" or not description["parameterName"].isdigit()


_SCANS: dict[int, dict[str, list[tuple[Triple, str]]]] = {}


def scan_abbreviations(ecc: Eccodes) -> dict[str, list[tuple[Triple, str]]]:
    """Normalised gribberish abbreviation -> [(triple, gribberish var_name)] over the scan
    (done once per process: it is most of a run's time)."""
    if ecc.tables_version in _SCANS:
        return _SCANS[ecc.tables_version]
    found: dict[str, list[tuple[Triple, str]]] = defaultdict(list)
    categories = [*range(31), *range(190, 200)]
    for triple in itertools.product((0, 1, 2, 3, 10), categories, range(256)):
        try:
            metadata = gribberish.parse_grib_message_metadata(ecc.encode(triple), 0)
        except Exception:  # gribberish refuses parameters it has no table entry for
            continue
        abbreviation = normalise(metadata.var_abbrev)
        if abbreviation and abbreviation != "MISSING":
            found[abbreviation].append((triple, str(metadata.var_name)))
    _SCANS[ecc.tables_version] = found
    return found


def agrees(element: str, gribberish_name: str, description: dict[str, str]) -> bool:
    """Whether ecCodes describes the same parameter as gribberish does."""
    if normalise(description["shortName"]) == normalise(element):
        return True
    theirs = re.sub(r"(ncep|wmo|[0-9]+)$", "", re.sub(r"[^a-z0-9]", "", gribberish_name.lower()))
    for key in ("name", "parameterName"):
        ours = re.sub(r"[^a-z0-9]", "", description[key].lower())
        if theirs and ours and (theirs in ours or ours in theirs):
            return True
    return False


def is_wmo(triple: Triple) -> bool:
    return triple[1] < 192 and triple[2] < 192


def origin(triple: Triple) -> str:
    return "WMO" if is_wmo(triple) else "NCEP local"


def fmt_triple(triple: Triple) -> str:
    return "-".join(map(str, triple))


_EXPLICIT_PARAMETER = re.compile(
    r"var discipline=(\d+) center=\d+ local_table=\d+ parmcat=(\d+) parm=(\d+)"
)
"""What wgrib2 writes for a parameter it has no abbreviation for (HRRR's 0-16-201)."""


def resolve_parameters(
    elements: Iterable[str], ecc: Eccodes
) -> tuple[dict[str, Triple], list[str]]:
    """element -> triple, and one note per ambiguous element."""
    scan = scan_abbreviations(ecc)
    resolved: dict[str, Triple] = {}
    notes: list[str] = []
    unresolved: list[str] = []
    for element in elements:
        if explicit := _EXPLICIT_PARAMETER.fullmatch(element):
            resolved[element] = (int(explicit[1]), int(explicit[2]), int(explicit[3]))
            notes.append(f"{element}: {fmt_triple(resolved[element])} (wgrib2 spells it out)")
            continue
        spelled = GRIBBERISH_SPELLINGS.get(element, element)
        candidates = scan.get(normalise(spelled), [])
        if candidates and element in GRIBBERISH_UNNAMED:
            raise CatalogError(f"gribberish now names {element}: drop it from GRIBBERISH_UNNAMED")
        if element in GRIBBERISH_UNNAMED:
            resolved[element] = GRIBBERISH_UNNAMED[element]
            notes.append(
                f"{element}: {fmt_triple(GRIBBERISH_UNNAMED[element])} (GRIBBERISH_UNNAMED: "
                "gribberish has no name for it)"
            )
            continue
        if not candidates:
            unresolved.append(element)
            continue
        if len(candidates) == 1:
            resolved[element] = candidates[0][0]
            continue
        described = [(t, name, ecc.lookup(t)) for t, name in candidates]
        known = [c for c in described if knows(c[2])] or described
        agreeing = [c for c in known if agrees(element, c[1], c[2])] or known
        chosen = min(agreeing, key=lambda c: (not is_wmo(c[0]), c[0]))[0]
        resolved[element] = chosen
        others = []
        for triple, _, description in described:
            if triple == chosen:
                continue
            if not any(triple == c[0] for c in known):
                why = "unknown to ecCodes"
            elif not any(triple == c[0] for c in agreeing):
                why = f"ecCodes calls it {description['name']!r}, not what gribberish means"
            else:
                why = f"ecCodes {description['name']!r}, not preferred"
            others.append(f"{fmt_triple(triple)} ({origin(triple)}: {why})")
        chosen_name = next(c[2]["name"] for c in described if c[0] == chosen)
        notes.append(
            f"{element}: {fmt_triple(chosen)} ({origin(chosen)}, ecCodes {chosen_name!r}); "
            f"not {'; '.join(others)}"
        )
    if unresolved:
        raise CatalogError(f"elements without a GRIB2 parameter: {', '.join(unresolved)}")
    return resolved, notes


def cf_units(units: str) -> str:
    """CF/UDUNITS spelling of ecCodes (or WMO code-table) units."""
    units = units.strip()
    if units in DIMENSIONLESS_UNITS or re.search(r"(code|flag) table", units, re.IGNORECASE):
        return "1"
    if units == "gpm":
        return "m"
    if "/" in units:  # code-table spelling: "m/s", "/s", "kg/kg"
        numerator, denominator = units.split("/", 1)
        if " " in denominator.strip() or "/" in denominator:
            raise CatalogError(f"cannot convert units {units!r}")
        units = f"{numerator.strip()} {denominator.strip()}-1".strip()
    return re.sub(r"\*\*(-?\d+)", r"\1", units)


@dataclass(frozen=True)
class Metadata:
    short_name: str
    long_name: str
    units: str
    standard_name: str | None


def family_metadata(
    product: Product, raw: RawFamily, triple: Triple, ecc: Eccodes, lead: int
) -> Metadata:
    """ecCodes' description of a message of this family at forecast ``lead`` (the same at each
    of its levels)."""
    answers = {
        tuple(
            sorted(
                ecc.lookup(
                    triple,
                    grib_surfaces(level),
                    raw.window,
                    raw.window_start,
                    lead,
                    product.bucket_hours,
                ).items()
            )
        )
        for level in raw.level_texts()
    }
    if len(answers) != 1:
        raise CatalogError(f"{raw.key}: ecCodes describes its levels differently: {answers}")
    description = dict(answers.pop())
    short_name = description["shortName"]
    if description["name"] != "unknown":
        name, units = description["name"], description["units"]
    elif not description["parameterName"].isdigit():
        name, units, short_name = (
            description["parameterName"],
            description["parameterUnits"],
            raw.element.lower(),
        )
    elif triple in NCEP_LOCAL_SUPPLEMENT:
        (name, units), short_name = NCEP_LOCAL_SUPPLEMENT[triple], raw.element.lower()
    else:
        raise CatalogError(f"{raw.key}: ecCodes knows nothing about {fmt_triple(triple)}")
    name = name.removesuffix(" (deprecated)")
    if raw.window != "instant":
        name = re.sub(r"^Instantaneous (\w)", lambda m: m[1].upper(), name)
        start_words = (
            product.bucket_words if raw.window_start == "reset" else "since initialisation"
        )
        name = f"{name} ({WINDOW_WORDS[raw.window]} {start_words})"
    cf_name = description["cfName"]
    return Metadata(
        short_name=short_name,
        long_name=name,
        units=cf_units(units),
        standard_name=None if cf_name == "unknown" else cf_name,
    )


def check_supplement(ecc: Eccodes) -> None:
    for triple in NCEP_LOCAL_SUPPLEMENT:
        if knows(ecc.lookup(triple)):
            raise CatalogError(
                f"ecCodes now knows {fmt_triple(triple)}: drop it from the supplement"
            )


# --------------------------------------------------------------------------------------------
# Names


def snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def generic_name(triple: Triple, ecc: Eccodes) -> str:
    """ecCodes' level-independent name of a parameter: WMO code-table name, else concept name."""
    description = ecc.lookup(triple)
    if not description["parameterName"].isdigit():
        return description["parameterName"]
    if description["name"] != "unknown":
        return description["name"]
    if triple in NCEP_LOCAL_SUPPLEMENT:
        return NCEP_LOCAL_SUPPLEMENT[triple][0]
    raise CatalogError(f"ecCodes knows nothing about {fmt_triple(triple)}")


def _number(text: str) -> str:
    value = Decimal(text).normalize()
    return format(value, "f").replace(".", "p").replace("-", "minus")


def level_part(raw: RawFamily) -> str:
    if raw.dimension is not None:
        return raw.dimension.name_part
    level = raw.level
    if level in ATMOSPHERE_LEVELS:
        return "atmosphere"
    if m := re.fullmatch(rf"({_NUMBER}) m above ground", level):
        return f"{_number(m[1])}m"
    if m := re.fullmatch(rf"({_NUMBER}) m above mean sea level", level):
        return f"{_number(m[1])}m_above_mean_sea_level"
    if m := re.fullmatch(rf"({_NUMBER})-({_NUMBER}) m below ground", level):
        low, high = sorted(Decimal(v) * 100 for v in (m[1], m[2]))
        return f"{_number(str(low))}_to_{_number(str(high))}cm"
    if m := re.fullmatch(rf"({_NUMBER})-({_NUMBER}) m above ground", level):
        low, high = sorted(Decimal(v) for v in (m[1], m[2]))
        return f"{_number(str(low))}_to_{_number(str(high))}m"
    return snake(level)


def window_part(raw: RawFamily) -> str:
    if raw.window == "instant":
        return ""
    suffix = "" if raw.window_start == "reset" else "_since_init"
    return f"_{WINDOW_PARTS[raw.window]}{suffix}"


def scheme_name(raw: RawFamily, base: str) -> str:
    level = level_part(raw)
    stem = base if base.endswith(f"_{level}") else f"{base}_{level}"
    return stem + window_part(raw)


def assign_names(
    product: Product, families: list[RawFamily], bases: dict[str, str]
) -> dict[int, str]:
    """Index of each family -> its variable name (legacy names first)."""
    by_key = {raw.key: index for index, raw in enumerate(families)}
    missing = [key for key in LEGACY_NAMES if key not in by_key]
    if missing and product.legacy_required:
        raise CatalogError(f"legacy families absent from the inventories: {missing}")
    legacy = {key: name for key, name in LEGACY_NAMES.items() if key in by_key}
    names = {by_key[key]: name for key, name in legacy.items()}
    # Plain names a windowed legacy family holds, in GFS: never an instantaneous field's name in
    # any product (HRRR's instantaneous PRATE is precipitation_rate_surface_instant).
    legacy_windowed = {name for key, name in LEGACY_NAMES.items() if key[2] != "instant"}
    for index, raw in enumerate(families):
        if index in names:
            continue
        name = scheme_name(raw, bases[raw.element])
        if raw.window == "instant" and name in legacy_windowed:
            name += "_instant"
        names[index] = name
    clashes = {
        name: [families[i].key for i, n in names.items() if n == name]
        for name, count in Counter(names.values()).items()
        if count > 1
    }
    if clashes:
        raise CatalogError(f"colliding variable names: {clashes}")
    invalid = [n for n in names.values() if not re.fullmatch(r"[a-z][a-z0-9_]*", n)]
    if invalid:
        raise CatalogError(f"invalid variable names: {invalid}")
    return names


# --------------------------------------------------------------------------------------------
# Catalog


def build_dimensions(families: list[RawFamily]) -> tuple[LevelDimensionEntry, ...]:
    entries = []
    for dimension in DIMENSIONS:
        texts = sorted(
            {
                t
                for raw in families
                if raw.dimension is dimension
                for ts in raw.texts.values()
                for t in ts
            },
            key=dimension.sort_key,
        )
        if not texts:
            continue
        values = tuple(dimension.value(t) for t in texts)
        entries.append(
            LevelDimensionEntry(
                name=dimension.name,
                units=dimension.units,
                long_name=dimension.long_name,
                standard_name=dimension.standard_name,
                positive=dimension.positive,
                values=values,
                texts=tuple(texts),
            )
        )
        if len(set(values)) != len(values):
            raise CatalogError(f"{dimension.name}: two texts give one value: {texts}")
    return tuple(entries)


def build_catalog(
    product: Product,
    families: list[RawFamily],
    triples: dict[str, Triple],
    names: dict[int, str],
    ecc: Eccodes,
) -> tuple[Wgrib2Family, ...]:
    catalog = []
    for index, raw in enumerate(families):
        triple = triples[raw.element]
        kinds = raw.kinds
        metadata = family_metadata(product, raw, triple, ecc, product.forecast_lead(kinds[0]))
        by_kind = {kind: raw.at(kind, product.forecast_lead(kind)) for kind in kinds}
        dimensional = raw.dimension is not None
        levels = tuple(sorted({t for texts in by_kind.values() for t in texts}, key=raw.sort_key))
        if product.has_lead_zero:
            at_zero = raw.at(None, 0)
            at_lead_zero = bool(at_zero)
        else:  # assumed: every instantaneous family at every level, no statistical one
            at_zero = levels if raw.window == "instant" else ()
            at_lead_zero = raw.window == "instant"
        source_files = (
            {kind: texts if dimensional else () for kind, texts in by_kind.items()}
            if len(product.kinds) > 1
            else {}
        )
        catalog.append(
            Wgrib2Family(
                name=names[index],
                element=raw.element,
                level=raw.level,
                level_dimension=raw.dimension.name if raw.dimension else None,
                levels=levels if dimensional else (),
                levels_at_lead_zero=at_zero if dimensional else (),
                source_files=source_files,
                window=raw.window,
                window_start=raw.window_start,
                at_lead_zero=at_lead_zero,
                discipline=triple[0],
                parameter_category=triple[1],
                parameter_number=triple[2],
                short_name=metadata.short_name,
                long_name=metadata.long_name,
                units=metadata.units,
                standard_name=metadata.standard_name,
            )
        )
    return tuple(catalog)


def rendered_lines(
    product: Product, catalog: Sequence[Wgrib2Family], kind: str, lead: int
) -> Iterator[tuple[str, ...]]:
    """(family name, element, level, window) of every line the catalog says a file of ``kind``
    carries at ``lead``."""
    for family in catalog:
        text = window_text(product, family.window, family.window_start, lead)
        if text is None or (lead == 0 and not family.at_lead_zero):
            continue
        if family.source_files and kind not in family.source_files:
            continue
        if family.level_dimension is None:
            yield family.name, family.element, family.level, text
        else:
            levels = family.levels_at_lead_zero if lead == 0 else family.levels
            if family.source_files:
                here = set(family.source_files[kind])
                levels = tuple(value for value in levels if value in here)
            for value in levels:
                yield family.name, family.element, family.level.format(value), text


def verify(
    product: Product,
    catalog: Sequence[Wgrib2Family],
    dimensions: Sequence[LevelDimensionEntry],
    inventories: Inventories,
) -> None:
    """Every inventory line claimed by exactly one (family, level), nothing else claimed."""
    texts = {d.name: set(d.texts) for d in dimensions}
    for family in catalog:
        if family.level_dimension is not None:
            known = texts[family.level_dimension]
            if not set(family.levels) | set(family.levels_at_lead_zero) <= known:
                raise CatalogError(f"{family.name}: levels outside {family.level_dimension}")
    for (kind, lead), lines in inventories.items():
        written = Counter(line.field for line in lines)
        repeated = [f for f, n in written.items() if n > 1]
        if repeated:
            raise CatalogError(f"{kind} f{lead:03d} repeats lines: {repeated}")
        claims: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for name, *line in rendered_lines(product, catalog, kind, lead):
            claims[tuple(line)].append(name)
        shared = {f: n for f, n in claims.items() if len(n) > 1}
        unclaimed = [f for f in written if f not in claims]
        extra = [f for f in claims if f not in written]
        if shared or unclaimed or extra:
            raise CatalogError(
                f"{kind} f{lead:03d}: lines claimed twice {shared}, unclaimed {unclaimed}, "
                f"claimed but absent {extra}"
            )


# --------------------------------------------------------------------------------------------
# Output


def render_model(model: LevelDimensionEntry | Wgrib2Family) -> str:
    fields = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if not info.is_required() and value == info.get_default(call_default_factory=True):
            continue
        fields.append(f"{name}={value!r}")
    return f"    {type(model).__name__}({', '.join(fields)}),"


def render_module(
    product: Product,
    dimensions: Sequence[LevelDimensionEntry],
    catalog: Sequence[Wgrib2Family],
    notes: Sequence[str],
    ecc: Eccodes,
) -> str:
    sources = [path for leads in product.inventories.values() for _, path in sorted(leads.items())]
    header = [
        "# GENERATED FILE - do not edit by hand.",
        f"# Written by `{COMMAND} --product {product.name}` (check: `... --check`)",
        "# from NCEP's real inventories:",
        *(f"#   {path}" for path in sources),
        f"# with ecCodes {eccodes.codes_get_api_version()} parameter tables (centre 7, "
        f"tablesVersion {ecc.tables_version}) and gribberish {gribberish.__version__} "
        "abbreviations.",
        "# Ambiguous wgrib2 abbreviations (triple chosen; the others and why not):",
        *(f"#   {note}" for note in notes),
        f"# GRIBBERISH_SPELLINGS used: {GRIBBERISH_SPELLINGS}",
        "# Parameters ecCodes does not know, named from NCEP's table 4.2: "
        + ", ".join(f"{fmt_triple(t)} {n!r} [{u}]" for t, (n, u) in NCEP_LOCAL_SUPPLEMENT.items()),
        "# ruff: noqa: E501",
    ]
    body = [
        f'"""Every field family of {product.title} and its level dimensions.',
        "",
        "See ``scripts/generate_noaa_catalog.py`` for the rules (families, dimensions, names,",
        'GRIB parameters and their ecCodes metadata)."""',
        "",
        "from vidx_pipeline.providers.noaa_catalog import LevelDimensionEntry, Wgrib2Family",
        "",
        f"{product.prefix}_LEVEL_DIMENSIONS: tuple[LevelDimensionEntry, ...] = (",
        *(render_model(d) for d in dimensions),
        ")",
        "",
        f"{product.prefix}_CATALOG: tuple[Wgrib2Family, ...] = (",
        *(render_model(f) for f in catalog),
        ")",
    ]
    return "\n".join(header + body) + "\n"


def ruff_format(source: str, output: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(ROOT / output), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise CatalogError(f"ruff format failed: {result.stderr}")
    return result.stdout


def generate(product: Product) -> tuple[str, str]:
    """The formatted module and a one-line summary."""
    inventories = read_inventories(product)
    families = collect_families(product, inventories)
    ecc = Eccodes()
    check_supplement(ecc)
    elements = list(dict.fromkeys(raw.element for raw in families))
    triples, notes = resolve_parameters(elements, ecc)
    bases = {e: PREFERRED_BASES.get(e) or snake(generic_name(triples[e], ecc)) for e in elements}
    names = assign_names(product, families, bases)
    dimensions = build_dimensions(families)
    catalog = build_catalog(product, families, triples, names, ecc)
    verify(product, catalog, dimensions, inventories)
    with_dimension = Counter(f.level_dimension for f in catalog if f.level_dimension)
    summary = (
        f"{len(catalog)} families, {sum(with_dimension.values())} with a level dimension ("
        + ", ".join(f"{d.name}: {len(d.texts)} values" for d in dimensions)
        + ")"
    )
    return ruff_format(
        render_module(product, dimensions, catalog, notes, ecc), product.output
    ), summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a checked-in output is stale"
    )
    parser.add_argument(
        "--product", choices=sorted(PRODUCTS), action="append", help="only this one (repeatable)"
    )
    args = parser.parse_args(argv)
    status = 0
    for name in args.product or list(PRODUCTS):
        product = PRODUCTS[name]
        try:
            source, summary = generate(product)
        except CatalogError as error:
            print(f"error: {name}: {error}", file=sys.stderr)
            return 2
        path = ROOT / product.output
        if not args.check:
            path.write_text(source)
            print(f"wrote {product.output}: {summary}")
            continue
        current = path.read_text() if path.exists() else ""
        if current == source:
            print(f"{product.output} is up to date: {summary}")
            continue
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            source.splitlines(keepends=True),
            f"{product.output} (checked in)",
            f"{product.output} (generated)",
        )
        sys.stderr.writelines(itertools.islice(diff, 200))
        print(f"{product.output} is stale: run {COMMAND} --product {name}", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
