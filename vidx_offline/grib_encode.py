"""Real GRIB2 messages for wgrib2 inventory lines, encoded with ecCodes as NCEP writes GFS/GEFS.

Contract:

- :func:`encode_message` returns one complete GRIB2 message (``GRIB`` ... ``7777``) for an
  :class:`~vidx_offline.inventory.InventoryLine` at ``init`` + ``lead_hours``:
  centre ``kwbc`` (7), GFS generating process 96, a global regular_ll grid
  (``nlat, nlon = grid``; first point 90°N 0°E, last point 90°S ``360 - 360/nlon``°E, scanning
  north to south, west to east, so ``values[0, 0]`` is 90°N 0°E), the parameter from
  :data:`ELEMENTS` (standard WMO / NCEP local codes), the fixed surfaces from the level text,
  product definition template 4.0 (``anl``, ``N hour fcst``) or 4.8 (``A-B hour STAT fcst``,
  ``0-N day STAT fcst``) and the requested packing (NCEP's complex packing with second-order
  spatial differencing, template 5.3, by default).
- With ``member`` (GEFS), the message is an individual ensemble forecast as NCEP writes GEFS:
  product definition template 4.1 (instant) or 4.11 (statistical, the ensemble 4.8),
  ``typeOfEnsembleForecast`` 1 (low-resolution control) for member 0 and 3 (positively
  perturbed) for members >= 1, ``perturbationNumber`` = member, ``numberOfForecastsInEnsemble``
  :data:`~vidx_offline.gefs_inventory.GEFS_ENSEMBLE_SIZE`, generating process type 4 (ensemble
  forecast) and NCEP model 107 (GEFS, ON388 table A), as NCEP's GEFS post-processor sets them.
  Without ``member`` (the default) the encoding is the deterministic GFS one, unchanged.
- Values are rounded to the element's decimal precision ``10**-D``
  (:attr:`ElementInfo.decimal_scale`) and packed NCEP-style with decimal scaling and binary
  scale factor 0, so every decoder returns ``round(value, D)`` (up to floating-point noise).
  A range that would need more than 23 bits (i.e. lose precision) raises.
- ``bitmap`` (bool, grid-shaped, True = present) writes a bitmap section; the values at missing
  points are ignored. :func:`field_bitmap` gives the bitmap the archive uses for the elements
  NCEP masks (SOILW, TSOIL, WEASD over land only; ICEC over sea only).
- :func:`synthetic_field` gives deterministic, smooth, plausible values that depend on element,
  grid, init, lead, seed and, through keyword arguments, on the level and window text so that
  different lines of one file hold different data, and on the ensemble member so that members
  differ. :func:`synthetic_message_values` is exactly what a decoder returns for the archive's
  message of a line (rounded, NaN where missing).
- Documented fallbacks, so any line of an inventory can be written: an element missing from
  :data:`ELEMENTS` is encoded with the generic parameter :data:`FALLBACK_ELEMENT` (discipline
  0, category 191 "miscellaneous", number 255 "missing") and a level text not covered by
  :func:`level_surfaces` with fixed-surface type 255 ("missing"); the inventory keeps the exact
  text in both cases. A window text that is not one of the forms above raises.
- Encoding reuses one prepared ecCodes handle per (grid, packing, product template, bitmap,
  surface types) and thread: cloning or creating a handle costs ~0.2 ms, far more than
  encoding a tiny grid. Every key that varies between messages is set on every call; a handle
  whose encode failed is dropped. :func:`clear_handle_cache` releases them.
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal, get_args

import eccodes
import numpy as np

from vidx_offline.gefs_inventory import GEFS_ENSEMBLE_SIZE, check_member
from vidx_offline.inventory import InventoryError, InventoryLine

PackingType = Literal["grid_complex_spatial_differencing", "grid_complex", "grid_simple"]
PACKING_TYPES: tuple[str, ...] = get_args(PackingType)
DEFAULT_PACKING: PackingType = "grid_complex_spatial_differencing"

MISSING_VALUE = 9.999e20
"""Value ecCodes is given at bitmap-missing points (wgrib2's/NCEP's UNDEFINED)."""

MAX_PACKED_BITS = 23
"""ecCodes' complex packing caps bits per value at 23; larger ranges would lose precision."""

NCEP_CENTRE = 7  # kwbc
GFS_GENERATING_PROCESS = 96
GEFS_GENERATING_PROCESS = 107  # NCEP ON388 table A: Global Ensemble Forecast System
DETERMINISTIC_FORECAST = 2  # code table 4.3
ENSEMBLE_FORECAST = 4  # code table 4.3
LOW_RES_CONTROL = 1  # code table 4.6: wgrib2 writes "ENS=low-res ctl"
POSITIVELY_PERTURBED = 3  # code table 4.6: wgrib2 writes "ENS=+k"

FieldKind = Literal[
    "smooth", "nonnegative", "nonpositive", "percent", "categorical", "land", "integer"
]
MaskKind = Literal["land", "sea"]


class GribEncodeError(ValueError):
    """A message cannot be encoded as requested (bad input or ecCodes refused it)."""


@dataclass(frozen=True)
class ElementInfo:
    """How an inventory ELEMENT is encoded and synthesised.

    ``discipline``/``category``/``number``: GRIB2 parameter (code table 4.2; numbers >= 192 are
    NCEP local, ``localTablesVersion=1``). ``decimal_scale``: D, values are packed to
    ``10**-D``. ``low``/``high``/``kind``: plausible range and shape of synthetic values (for
    accumulations the range is per hour of the window). ``mask``: where NCEP writes the field
    (``"land"``/``"sea"`` points present, the rest missing through a bitmap), or None.
    """

    discipline: int
    category: int
    number: int
    decimal_scale: int
    low: float
    high: float
    kind: FieldKind = "smooth"
    mask: MaskKind | None = None


def _e(
    code: tuple[int, int, int],
    decimal_scale: int,
    low: float,
    high: float,
    kind: FieldKind = "smooth",
    mask: MaskKind | None = None,
) -> ElementInfo:
    return ElementInfo(*code, decimal_scale, low, high, kind, mask)


ELEMENTS: Mapping[str, ElementInfo] = {
    # discipline 0, category 0: temperature
    "TMP": _e((0, 0, 0), 2, 200.0, 320.0),
    "POT": _e((0, 0, 2), 2, 250.0, 350.0),
    "TMAX": _e((0, 0, 4), 2, 200.0, 320.0),
    "TMIN": _e((0, 0, 5), 2, 200.0, 320.0),
    "DPT": _e((0, 0, 6), 2, 200.0, 300.0),
    "LHTFL": _e((0, 0, 10), 1, -100.0, 600.0),
    "SHTFL": _e((0, 0, 11), 1, -100.0, 400.0),
    "SNOHF": _e((0, 0, 16), 1, -50.0, 0.0, "nonpositive"),
    "APTMP": _e((0, 0, 21), 2, 200.0, 330.0),
    # category 1: moisture
    "SPFH": _e((0, 1, 0), 7, 0.0, 0.025),
    "RH": _e((0, 1, 1), 1, 0.0, 100.0, "percent"),
    "PWAT": _e((0, 1, 3), 1, 0.0, 70.0),
    "PRATE": _e((0, 1, 7), 6, 0.0, 0.005, "nonnegative"),
    "APCP": _e((0, 1, 8), 2, 0.0, 3.0, "nonnegative"),
    "NCPCP": _e((0, 1, 9), 2, 0.0, 2.0, "nonnegative"),
    "ACPCP": _e((0, 1, 10), 2, 0.0, 2.0, "nonnegative"),
    "SNOD": _e((0, 1, 11), 3, 0.0, 2.0, "nonnegative"),
    "WEASD": _e((0, 1, 13), 2, 0.0, 300.0, "nonnegative", "land"),
    "CLMR": _e((0, 1, 22), 7, 0.0, 0.001, "nonnegative"),
    "CLWMR": _e((0, 1, 22), 7, 0.0, 0.001, "nonnegative"),  # older wgrib2's name (GEFS)
    "ICMR": _e((0, 1, 23), 7, 0.0, 0.001, "nonnegative"),
    "RWMR": _e((0, 1, 24), 7, 0.0, 0.001, "nonnegative"),
    "SNMR": _e((0, 1, 25), 7, 0.0, 0.001, "nonnegative"),
    "GRLE": _e((0, 1, 32), 7, 0.0, 0.001, "nonnegative"),
    "CPOFP": _e((0, 1, 39), 1, 0.0, 100.0, "percent"),
    "SNOWC": _e((0, 1, 42), 1, 0.0, 100.0, "percent"),
    "CRAIN": _e((0, 1, 192), 0, 0.0, 1.0, "categorical"),
    "CFRZR": _e((0, 1, 193), 0, 0.0, 1.0, "categorical"),
    "CICEP": _e((0, 1, 194), 0, 0.0, 1.0, "categorical"),
    "CSNOW": _e((0, 1, 195), 0, 0.0, 1.0, "categorical"),
    "CPRAT": _e((0, 1, 196), 6, 0.0, 0.003, "nonnegative"),
    "PEVPR": _e((0, 1, 200), 1, 0.0, 800.0),
    # category 2: momentum
    "UGRD": _e((0, 2, 2), 2, -30.0, 30.0),
    "VGRD": _e((0, 2, 3), 2, -30.0, 30.0),
    "MNTSF": _e((0, 2, 6), 0, 290000.0, 360000.0),
    "VVEL": _e((0, 2, 8), 3, -2.0, 2.0),
    "DZDT": _e((0, 2, 9), 3, -0.5, 0.5),
    "ABSV": _e((0, 2, 10), 7, -5e-4, 5e-4),
    "PVORT": _e((0, 2, 14), 9, -1e-5, 1e-4),
    "UFLX": _e((0, 2, 17), 3, -1.0, 1.0),
    "VFLX": _e((0, 2, 18), 3, -1.0, 1.0),
    "GUST": _e((0, 2, 22), 2, 0.0, 40.0),
    "VWSH": _e((0, 2, 192), 4, -0.05, 0.05),
    "USTM": _e((0, 2, 194), 2, -20.0, 20.0),
    "VSTM": _e((0, 2, 195), 2, -20.0, 20.0),
    "FRICV": _e((0, 2, 197), 3, 0.0, 1.5),
    "VRATE": _e((0, 2, 224), 0, 0.0, 20000.0),
    # category 3: mass
    "PRES": _e((0, 3, 0), 0, 50000.0, 105000.0),
    "PRMSL": _e((0, 3, 1), -1, 95000.0, 105000.0),
    "ICAHT": _e((0, 3, 3), 0, 0.0, 20000.0),
    "HGT": _e((0, 3, 5), 1, -100.0, 5000.0),
    "MSLET": _e((0, 3, 192), -1, 95000.0, 105000.0),
    "5WAVH": _e((0, 3, 193), 1, 5000.0, 6000.0),
    "U-GWD": _e((0, 3, 194), 3, -1.0, 1.0),
    "V-GWD": _e((0, 3, 195), 3, -1.0, 1.0),
    "HPBL": _e((0, 3, 196), 1, 0.0, 3000.0),
    "PLPL": _e((0, 3, 200), 0, 50000.0, 105000.0),
    # categories 4-7: radiation, cloud, stability
    "DSWRF": _e((0, 4, 7), 1, 0.0, 1000.0, "nonnegative"),
    "USWRF": _e((0, 4, 8), 1, 0.0, 400.0, "nonnegative"),
    "BRTMP": _e((0, 4, 4), 2, 180.0, 320.0),
    "DUVB": _e((0, 4, 194), 2, 0.0, 30.0, "nonnegative"),
    "CDUVB": _e((0, 4, 195), 2, 0.0, 50.0, "nonnegative"),
    "DLWRF": _e((0, 5, 3), 1, 150.0, 450.0),
    "ULWRF": _e((0, 5, 4), 1, 100.0, 500.0),
    "TCDC": _e((0, 6, 1), 1, 0.0, 100.0, "percent"),
    "LCDC": _e((0, 6, 3), 1, 0.0, 100.0, "percent"),
    "MCDC": _e((0, 6, 4), 1, 0.0, 100.0, "percent"),
    "HCDC": _e((0, 6, 5), 1, 0.0, 100.0, "percent"),
    "CWAT": _e((0, 6, 6), 2, 0.0, 2.0, "nonnegative"),
    "CWORK": _e((0, 6, 193), 1, 0.0, 1000.0, "nonnegative"),
    "SUNSD": _e((0, 6, 201), 0, 0.0, 21600.0, "nonnegative"),
    "CAPE": _e((0, 7, 6), 0, 0.0, 5000.0, "nonnegative"),
    "CIN": _e((0, 7, 7), 0, -500.0, 0.0, "nonpositive"),
    "HLCY": _e((0, 7, 8), 1, -200.0, 400.0),
    "LFTX": _e((0, 7, 192), 1, -10.0, 20.0),
    "4LFTX": _e((0, 7, 193), 1, -10.0, 20.0),
    "PLI": _e((0, 7, 0), 1, -10.0, 20.0),
    # categories 14-19: ozone, radar, physical properties
    "TOZNE": _e((0, 14, 0), 1, 200.0, 500.0),
    "O3MR": _e((0, 14, 192), 9, 0.0, 1.5e-5, "nonnegative"),
    "REFD": _e((0, 16, 195), 1, -20.0, 70.0),
    "REFC": _e((0, 16, 196), 1, -20.0, 70.0),
    "VIS": _e((0, 19, 0), 0, 0.0, 24100.0),
    "ALBDO": _e((0, 19, 1), 1, 0.0, 100.0, "percent"),
    "ICIP": _e((0, 19, 20), 1, 0.0, 100.0, "percent"),
    "ICSEV": _e((0, 19, 234), 0, 0.0, 4.0, "integer"),
    # discipline 2: land surface
    "LAND": _e((2, 0, 0), 0, 0.0, 1.0, "land"),
    "SFCR": _e((2, 0, 1), 4, 0.0, 3.0),
    "TSOIL": _e((2, 0, 2), 2, 220.0, 320.0, "smooth", "land"),
    "VEG": _e((2, 0, 4), 1, 0.0, 100.0, "percent"),
    "WATR": _e((2, 0, 5), 2, 0.0, 1.0, "nonnegative"),
    "GFLUX": _e((2, 0, 10), 1, -200.0, 200.0),
    "SOILW": _e((2, 0, 192), 3, 0.02, 0.5, "smooth", "land"),
    "CNWAT": _e((2, 0, 196), 2, 0.0, 0.5, "nonnegative"),
    "WILT": _e((2, 0, 201), 3, 0.0, 0.5),
    "SOTYP": _e((2, 3, 0), 0, 0.0, 16.0, "integer"),
    "SOILL": _e((2, 3, 192), 3, 0.0, 0.5),
    "FLDCP": _e((2, 3, 203), 3, 0.0, 0.5),
    "HINDEX": _e((2, 4, 2), 0, 2.0, 6.0, "integer"),
    # discipline 10: oceanographic (sea ice)
    "ICEC": _e((10, 2, 0), 2, 0.0, 1.0, "nonnegative", "sea"),
    "ICETK": _e((10, 2, 1), 2, 0.0, 5.0, "nonnegative"),
    "ICEG": _e((10, 2, 6), 10, -1e-6, 1e-6),
    "ICETMP": _e((10, 2, 8), 2, 240.0, 273.0),
}
"""Every ELEMENT of the GFS 0.25° f000/f007 and GEFS 0.5° pgrb2a/pgrb2b inventories
(cross-checked against ecCodes' and gribberish's parameter tables)."""

FALLBACK_ELEMENT = ElementInfo(0, 191, 255, 2, 0.0, 100.0, "smooth")
"""Generic parameter for an ELEMENT not in :data:`ELEMENTS`: discipline 0, category 191
(miscellaneous), number 255 (missing). Decoders read it as an unknown parameter; the inventory
line keeps the element's text, which is what index-based matching reads."""


def element_info(element: str) -> ElementInfo:
    """The encoding of ``element``; :data:`FALLBACK_ELEMENT` if it is not in :data:`ELEMENTS`."""
    return ELEMENTS.get(element, FALLBACK_ELEMENT)


# --------------------------------------------------------------------------------------------
# Levels


@dataclass(frozen=True)
class FixedSurfaces:
    """Section-4 fixed surfaces (code table 4.5). A surface's value is
    ``scaled_value * 10**-scale_factor`` in SI units; None means "missing" (all bits set).
    Negative scaled values are written sign-and-magnitude (bit 31), as GRIB2 requires."""

    first_type: int
    first_scale: int | None = 0
    first_value: int | None = 0
    second_type: int = 255
    second_scale: int | None = None
    second_value: int | None = None


_NAMED_LEVELS: Mapping[str, int] = {
    "surface": 1,
    "cloud ceiling": 215,
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
    "planetary boundary layer": 220,
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

_NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
# (pattern, surface type, multiplier to SI): one or two numbers.
_LEVEL_PATTERNS: tuple[tuple[re.Pattern[str], int, int], ...] = (
    (re.compile(rf"(?P<a>{_NUMBER}) mb"), 100, 100),
    (re.compile(rf"(?P<a>{_NUMBER}) m above ground"), 103, 1),
    (re.compile(rf"(?P<a>{_NUMBER})-(?P<b>{_NUMBER}) m above ground"), 103, 1),
    (re.compile(rf"(?P<a>{_NUMBER}) m above mean sea level"), 102, 1),
    (re.compile(rf"(?P<a>{_NUMBER})-(?P<b>{_NUMBER}) m below ground"), 106, 1),
    (re.compile(rf"(?P<a>{_NUMBER})-(?P<b>{_NUMBER}) mb above ground"), 108, 100),
    (re.compile(rf"(?P<a>{_NUMBER}) hybrid level"), 105, 1),
    (re.compile(rf"(?P<a>{_NUMBER}) sigma level"), 104, 1),
    (re.compile(rf"(?P<a>{_NUMBER})-(?P<b>{_NUMBER}) sigma layer"), 104, 1),
    (re.compile(rf"PV=(?P<a>{_NUMBER}) \(Km\^2/kg/s\) surface"), 109, 1),
    (re.compile(rf"(?P<a>{_NUMBER}) K isentropic level"), 107, 1),
)

FALLBACK_SURFACES = FixedSurfaces(255, None, None)
"""Fixed surfaces for a level text :func:`level_surfaces` does not know: type 255 (missing)."""


def scaled(value: str | Decimal) -> tuple[int, int]:
    """``(scale_factor, scaled_value)`` with ``value == scaled_value * 10**-scale_factor``
    exactly, the smallest non-negative scale factor; negative values sign-and-magnitude."""
    try:
        number = Decimal(value).normalize()
    except InvalidOperation:
        raise GribEncodeError(f"not a decimal number: {value!r}") from None
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity
        raise GribEncodeError(f"not a finite number: {value!r}")
    scale = max(0, -exponent)
    magnitude = int(abs(number).scaleb(scale))
    if magnitude >= 2**31:
        raise GribEncodeError(f"{value} does not fit a 31-bit scaled value")
    return scale, (magnitude | 2**31) if number < 0 else magnitude


@cache
def level_surfaces(level: str) -> FixedSurfaces:
    """Fixed surfaces of a wgrib2 level text; :data:`FALLBACK_SURFACES` if not recognised.

    ``surface`` 1, ``N m above ground`` 103, ``mean sea level`` 101, ``entire atmosphere`` 10,
    ``entire atmosphere (considered as a single layer)`` 200, low/middle/high cloud layer
    214/224/234, ``top of atmosphere`` 8, ``A-B m below ground`` 106/106 (metres), ``N mb`` 100
    (N*100 Pa), plus every other level of the GFS and GEFS inventories (102, 104, 105, 107, 108,
    109, 4, 6, 7, 204, 211-244, 215, 220).
    """
    named = _NAMED_LEVELS.get(level)
    if named is not None:
        return FixedSurfaces(named)
    for pattern, surface, to_si in _LEVEL_PATTERNS:
        match = pattern.fullmatch(level)
        if match is None:
            continue
        first_scale, first_value = scaled(Decimal(match["a"]) * to_si)
        if "b" not in match.groupdict():
            return FixedSurfaces(surface, first_scale, first_value)
        second_scale, second_value = scaled(Decimal(match["b"]) * to_si)
        return FixedSurfaces(surface, first_scale, first_value, surface, second_scale, second_value)
    return FALLBACK_SURFACES


# --------------------------------------------------------------------------------------------
# Windows


STATISTICAL_PROCESSING: Mapping[str, int] = {"ave": 0, "acc": 1, "max": 2, "min": 3}
"""Code table 4.10 for the statistics wgrib2 writes in GFS windows."""

_WINDOW_INSTANT = re.compile(r"(?P<end>\d+) hour fcst")
_WINDOW_HOURS = re.compile(r"(?P<start>\d+)-(?P<end>\d+) hour (?P<stat>[a-z]+) fcst")
_WINDOW_DAYS = re.compile(r"(?P<start>\d+)-(?P<end>\d+) day (?P<stat>[a-z]+) fcst")


@dataclass(frozen=True)
class WindowTiming:
    """Time of a wgrib2 window: ``statistic`` (code table 4.10) or None for an instant, and the
    window's start and end in hours after init (equal for an instant)."""

    statistic: int | None
    start_hours: int
    end_hours: int

    @property
    def length_hours(self) -> int:
        return self.end_hours - self.start_hours


@cache
def window_timing(window: str) -> WindowTiming:
    """Parse ``anl``, ``N hour fcst``, ``A-B hour STAT fcst`` or ``A-B day STAT fcst``.

    Raises :class:`GribEncodeError` for anything else (including an unknown STAT or B <= A).
    """
    if window == "anl":
        return WindowTiming(None, 0, 0)
    instant = _WINDOW_INSTANT.fullmatch(window)
    if instant is not None:
        hours = int(instant["end"])
        return WindowTiming(None, hours, hours)
    for pattern, unit in ((_WINDOW_HOURS, 1), (_WINDOW_DAYS, 24)):
        match = pattern.fullmatch(window)
        if match is None:
            continue
        statistic = STATISTICAL_PROCESSING.get(match["stat"])
        start, end = int(match["start"]) * unit, int(match["end"]) * unit
        if statistic is None or end <= start:
            break
        return WindowTiming(statistic, start, end)
    raise GribEncodeError(
        f"window {window!r} is not 'anl', 'N hour fcst', 'A-B hour STAT fcst' or "
        f"'A-B day STAT fcst' with STAT in {tuple(STATISTICAL_PROCESSING)} and B > A"
    )


# --------------------------------------------------------------------------------------------
# Grid, masks and synthetic values


def check_grid(grid: tuple[int, int]) -> tuple[int, int]:
    """Validate ``(nlat, nlon)``: two ints >= 2 (a global grid needs both poles and 2 columns)."""
    if (
        not isinstance(grid, tuple | list)
        or len(grid) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 2 for n in grid)
    ):
        raise GribEncodeError(f"grid must be (nlat, nlon) with two ints >= 2, got {grid!r}")
    return int(grid[0]), int(grid[1])


def grid_latitudes(grid: tuple[int, int]) -> np.ndarray:
    """Row latitudes, 90 to -90 (degrees north)."""
    nlat, _ = check_grid(grid)
    return np.linspace(90.0, -90.0, nlat)


def grid_longitudes(grid: tuple[int, int]) -> np.ndarray:
    """Column longitudes, 0 to ``360 - 360/nlon`` (degrees east)."""
    _, nlon = check_grid(grid)
    return np.arange(nlon) * (360.0 / nlon)


@cache
def _radians(nlat: int, nlon: int) -> tuple[np.ndarray, np.ndarray]:
    lat = np.radians(grid_latitudes((nlat, nlon)))
    lon = np.radians(grid_longitudes((nlat, nlon)))
    lat.setflags(write=False)
    lon.setflags(write=False)
    return lat, lon


@cache
def _land_mask(nlat: int, nlon: int) -> np.ndarray:
    lat, lon = _radians(nlat, nlon)
    continents = (
        0.6 * np.outer(np.cos(lat), np.sin(2.0 * lon + 0.5))
        + 0.5 * np.cos(3.0 * lat + 0.3)[:, None]
    )
    mask = (continents > 0.25) | (lat[:, None] < math.radians(-70.0))
    if mask.all() or not mask.any():
        mask[0, 0] = not mask[0, 0]
    mask.setflags(write=False)
    return mask


def land_mask(grid: tuple[int, int]) -> np.ndarray:
    """Deterministic land/sea mask of the grid (True = land). Smooth "continents" plus
    Antarctica; always holds at least one land and one sea point. Read-only array."""
    return _land_mask(*check_grid(grid))


def field_bitmap(element: str, grid: tuple[int, int]) -> np.ndarray | None:
    """The bitmap (True = present) the archive writes for ``element``, or None (no bitmap):
    land points for SOILW, TSOIL, WEASD; sea points for ICEC (as NCEP masks them)."""
    mask = element_info(element).mask
    if mask is None:
        return None
    land = land_mask(grid)
    return land.copy() if mask == "land" else ~land


def _phases(*parts: object) -> tuple[float, ...]:
    digest = zlib.crc32("|".join(str(part) for part in parts).encode())
    return tuple(2.0 * math.pi * ((digest >> (8 * i)) & 0xFF) / 256.0 for i in range(4))


def _range_for(element: str, level: str, info: ElementInfo) -> tuple[float, float]:
    if element == "HGT":
        match = re.fullmatch(rf"({_NUMBER}) mb", level)
        if match is not None:
            height = 7000.0 * math.log(1013.25 / float(match[1]))
            return height - 300.0, height + 300.0
    if element == "PRES" and level not in ("surface", ""):
        return 10000.0, 100000.0
    return info.low, info.high


def synthetic_field(
    element: str,
    grid: tuple[int, int],
    init: datetime,
    lead_hours: int,
    seed: int,
    *,
    level: str = "",
    window: str = "",
    member: int | None = None,
) -> np.ndarray:
    """Deterministic, smooth, plausible values of ``element`` (float64, shape ``grid``).

    The pattern is a few low-order harmonics whose phases depend on element, level, window,
    seed and ensemble ``member`` (None for a deterministic model such as GFS), drifting with the
    valid time and the lead, so every (init, lead, member) chunk differs and so do lines of one
    file that differ by level or window (identical lines get identical values).
    Ranges follow :data:`ELEMENTS` (HGT on ``N mb`` levels is centred on the standard height of
    N mb). The pattern is stretched to span each range exactly on the grid: ``nonnegative``
    fields are exactly 0 where the pattern is in the lowest 45 % of its range, ``percent``
    fields hit 0 and 100, ``categorical`` fields hold both 0 and 1, LAND is :func:`land_mask`.
    For an ``acc`` window the range is per hour and scales with the window length (a 0-384 h
    total exceeds a 6 h bucket).
    Values are not rounded and not masked; see :func:`synthetic_message_values`.
    """
    info = element_info(element)
    nlat, nlon = check_grid(grid)
    if info.kind == "land":
        return land_mask((nlat, nlon)).astype(np.float64)
    init_utc = init.replace(tzinfo=UTC) if init.tzinfo is None else init.astimezone(UTC)
    valid_hours = (init_utc - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(hours=1) + lead_hours
    drift = 2.0 * math.pi * valid_hours / 240.0 + 0.37 * lead_hours
    # A member is one more phase input; None keeps the deterministic (GFS) values unchanged.
    member_input = () if member is None else (member,)
    p1, p2, p3, p4 = _phases(element, level, window, seed, *member_input)
    lat, lon = _radians(nlat, nlon)
    pattern = (
        0.5
        + 0.25 * np.outer(np.cos(lat), np.sin(2.0 * lon + p1 + drift))
        + (0.15 * np.cos(2.0 * lat + p2 + 0.5 * drift))[:, None]
        + 0.1 * np.outer(np.cos(lat + p4), np.sin(3.0 * lon + p3 - drift))
    )
    spread = float(pattern.max() - pattern.min())
    # Stretch to exactly [0, 1] on this grid, so every field spans its range (and zero-clipped
    # or categorical fields always hold both states), however few points the grid has.
    pattern = (pattern - pattern.min()) / spread if spread > 1e-12 else np.full_like(pattern, 0.5)
    low, high = _range_for(element, level, info)
    values: np.ndarray
    if info.kind == "nonnegative":
        values = high * np.clip((pattern - 0.45) / 0.55, 0.0, 1.0)
    elif info.kind == "nonpositive":
        values = low * np.clip((pattern - 0.45) / 0.55, 0.0, 1.0)
    elif info.kind == "percent":
        values = np.clip(low + (high - low) * (1.4 * pattern - 0.2), low, high)
    elif info.kind == "categorical":
        values = (pattern > 0.55).astype(np.float64)
    elif info.kind == "integer":
        values = np.rint(low + (high - low) * pattern)
    else:
        values = low + (high - low) * pattern
    if window:
        timing = window_timing(window)
        if timing.statistic == STATISTICAL_PROCESSING["acc"]:
            values = values * timing.length_hours
    return values


def synthetic_message_values(
    line: InventoryLine,
    grid: tuple[int, int],
    init: datetime,
    lead_hours: int,
    seed: int,
    *,
    member: int | None = None,
) -> np.ndarray:
    """What a decoder returns for the archive's message of ``line`` (of ensemble ``member``, or
    None): :func:`synthetic_field` rounded to the element's decimal precision, NaN where
    :func:`field_bitmap` is False."""
    info = element_info(line.element)
    values = np.round(
        synthetic_field(
            line.element,
            grid,
            init,
            lead_hours,
            seed,
            level=line.level,
            window=line.window,
            member=member,
        ),
        info.decimal_scale,
    )
    bitmap = field_bitmap(line.element, grid)
    if bitmap is not None:
        values[~bitmap] = np.nan
    return values


# --------------------------------------------------------------------------------------------
# Encoding


# nlat, nlon, packing, product definition template (0, 8, 1 or 11), bitmap, first and second
# fixed-surface types. The surface types are part of the key because setting
# typeOf{First,Second}FixedSurface on an existing handle makes every later set on that handle
# slower (ecCodes 2.50: 1000 alternating sets take 0.1 s, the next 1000 0.25 s, then 0.4 s,
# ...), so each handle sets them exactly once.
_HandleKey = tuple[int, int, str, int, bool, int, int]

# Product definition templates by (statistical, ensemble): 4.0, 4.8, 4.1, 4.11.
_TEMPLATES: Mapping[tuple[bool, bool], int] = {
    (False, False): 0,
    (True, False): 8,
    (False, True): 1,
    (True, True): 11,
}
_STATISTICAL = {_TEMPLATES[True, False], _TEMPLATES[True, True]}
_ENSEMBLE = {_TEMPLATES[False, True], _TEMPLATES[True, True]}


class _Prepared:
    """A reusable ecCodes handle and the header keys last set on it by this module.

    Header keys (parameter, date, step, surface values) are plain section fields that only this
    module writes, so setting one to the value it already holds is skipped. Packing keys are
    rewritten by ecCodes on every encode and are always set.
    """

    __slots__ = ("handle", "header")

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.header: dict[str, int | None] = {}

    def set_header(self, items: tuple[tuple[str, int | None], ...]) -> None:
        """Set each (key, value); None sets the key to "missing"."""
        for name, value in items:
            if name in self.header and self.header[name] == value:
                continue
            self.header.pop(name, None)  # unknown until the set succeeds
            if value is None:
                eccodes.codes_set_missing(self.handle, name)
            else:
                eccodes.codes_set_long(self.handle, name, value)
            self.header[name] = value


class _HandleCache(threading.local):
    def __init__(self) -> None:
        self.handles: dict[_HandleKey, _Prepared] = {}


_HANDLES = _HandleCache()


def clear_handle_cache() -> None:
    """Release this thread's prepared ecCodes handles (they are rebuilt on demand)."""
    handles, _HANDLES.handles = _HANDLES.handles, {}
    for prepared in handles.values():
        eccodes.codes_release(prepared.handle)


def _set_longs(handle: Any, items: tuple[tuple[str, int], ...]) -> None:
    for name, value in items:
        eccodes.codes_set_long(handle, name, value)


def _new_handle(key: _HandleKey) -> Any:
    nlat, nlon, packing, template, with_bitmap, first_type, second_type = key
    statistical = template in _STATISTICAL
    ensemble = template in _ENSEMBLE
    handle = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        _set_longs(
            handle,
            (
                ("centre", NCEP_CENTRE),
                ("subCentre", 0),
                ("tablesVersion", 2),
                ("localTablesVersion", 1),
                ("significanceOfReferenceTime", 1),
                ("productionStatusOfProcessedData", 0),
                ("typeOfProcessedData", 1),
                ("shapeOfTheEarth", 6),
                ("Ni", nlon),
                ("Nj", nlat),
            ),
        )
        for name, degrees in (
            ("latitudeOfFirstGridPointInDegrees", 90.0),
            ("longitudeOfFirstGridPointInDegrees", 0.0),
            ("latitudeOfLastGridPointInDegrees", -90.0),
            ("longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / nlon),
            ("iDirectionIncrementInDegrees", 360.0 / nlon),
            ("jDirectionIncrementInDegrees", 180.0 / (nlat - 1)),
        ):
            eccodes.codes_set_double(handle, name, degrees)
        _set_longs(
            handle,
            (
                ("productDefinitionTemplateNumber", template),
                (
                    "typeOfGeneratingProcess",
                    ENSEMBLE_FORECAST if ensemble else DETERMINISTIC_FORECAST,
                ),
                (
                    "generatingProcessIdentifier",
                    GEFS_GENERATING_PROCESS if ensemble else GFS_GENERATING_PROCESS,
                ),
                ("indicatorOfUnitOfTimeRange", 1),
                ("typeOfFirstFixedSurface", first_type),
                ("typeOfSecondFixedSurface", second_type),
            ),
        )
        if ensemble:
            eccodes.codes_set_long(handle, "numberOfForecastsInEnsemble", GEFS_ENSEMBLE_SIZE)
        if statistical:
            _set_longs(
                handle,
                (
                    ("numberOfTimeRanges", 1),
                    ("numberOfMissingInStatisticalProcess", 0),
                    ("typeOfTimeIncrement", 2),
                    ("indicatorOfUnitForTimeRange", 1),
                    ("indicatorOfUnitForTimeIncrement", 255),
                    ("timeIncrement", 0),
                ),
            )
        eccodes.codes_set_string(handle, "packingType", packing)
        if packing != "grid_simple":
            # Honour decimalScaleFactor with binary scale 0 (NCEP/wgrib2 style); with the
            # default 0 ecCodes ignores D and scales by bitsPerValue only.
            eccodes.codes_set_long(handle, "optimizeScaleFactor", 1)
        if packing == "grid_complex_spatial_differencing":
            eccodes.codes_set_long(handle, "orderOfSpatialDifferencing", 2)  # as NCEP
        # Always: ecCodes' default missing value (9999) is a plausible field value, and complex
        # packing would silently write such a point as missing.
        eccodes.codes_set_double(handle, "missingValue", MISSING_VALUE)
        if with_bitmap:
            eccodes.codes_set_long(handle, "bitmapPresent", 1)
        eccodes.codes_set_long(handle, "bitsPerValue", 8)
        eccodes.codes_set_long(handle, "decimalScaleFactor", 0)
        eccodes.codes_set_double_array(handle, "values", np.zeros(nlat * nlon))
        _check_coordinates(handle, nlat, nlon)
    except BaseException:
        eccodes.codes_release(handle)
        raise
    return handle


def _check_coordinates(handle: Any, nlat: int, nlon: int) -> None:
    if eccodes.codes_get_long(handle, "numberOfDataPoints") != nlat * nlon:
        raise GribEncodeError(f"ecCodes did not take the {nlat}x{nlon} grid")
    latitudes = eccodes.codes_get_double_array(handle, "latitudes").reshape(nlat, nlon)
    longitudes = eccodes.codes_get_double_array(handle, "longitudes").reshape(nlat, nlon)
    # GRIB2 stores degrees in micro-degrees; increments accumulate that rounding over a row.
    tolerance = 1e-6 * max(nlat, nlon)
    expected_lat = grid_latitudes((nlat, nlon))[:, None]
    expected_lon = grid_longitudes((nlat, nlon))[None, :]
    if not (
        np.allclose(latitudes, expected_lat, rtol=0.0, atol=tolerance)
        and np.allclose(longitudes, expected_lon, rtol=0.0, atol=tolerance)
    ):
        raise GribEncodeError(
            f"ecCodes' coordinates of the {nlat}x{nlon} regular_ll grid differ from the "
            f"intended 90..-90 / 0..{360 - 360 / nlon} by more than {tolerance} degrees"
        )


def _prepared(key: _HandleKey) -> _Prepared:
    prepared = _HANDLES.handles.get(key)
    if prepared is None:
        prepared = _HANDLES.handles[key] = _Prepared(_new_handle(key))
    return prepared


def _drop_handle(key: _HandleKey) -> None:
    prepared = _HANDLES.handles.pop(key, None)
    if prepared is not None:
        eccodes.codes_release(prepared.handle)


def _surface_items(surfaces: FixedSurfaces) -> tuple[tuple[str, int | None], ...]:
    """Scale factors and scaled values; the types are fixed per handle (see ``_HandleKey``).
    A surface whose scale or value is None is written as missing."""
    items: list[tuple[str, int | None]] = []
    for which, scale, value in (
        ("First", surfaces.first_scale, surfaces.first_value),
        ("Second", surfaces.second_scale, surfaces.second_value),
    ):
        missing = scale is None or value is None
        items.append((f"scaleFactorOf{which}FixedSurface", None if missing else scale))
        items.append((f"scaledValueOf{which}FixedSurface", None if missing else value))
    return tuple(items)


def _packed_values(
    values: np.ndarray, bitmap: np.ndarray | None, grid: tuple[int, int], decimal_scale: int
) -> tuple[np.ndarray, int]:
    """Flat values for ecCodes (missing points = MISSING_VALUE) and the bits they need."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != grid:
        raise GribEncodeError(f"values have shape {array.shape}, the grid is {grid}")
    rounded = np.round(array, decimal_scale)
    if bitmap is not None:
        present = np.asarray(bitmap)
        if present.dtype != np.bool_ or present.shape != grid:
            raise GribEncodeError(
                f"bitmap must be a bool array of shape {grid}, got {present.dtype} {present.shape}"
            )
        if not present.any():
            # ecCodes logs "Unable to code a field without values" but does not fail, and
            # leaves a message that crashes gribberish.
            raise GribEncodeError("bitmap has no present point; a message needs at least one")
        defined = rounded[present]
        flat = np.where(present, rounded, MISSING_VALUE).ravel()
    else:
        defined = flat = rounded.ravel()
    if not np.isfinite(defined).all():
        raise GribEncodeError("values must be finite at every present point")
    if np.abs(defined).max() >= 1e20:
        raise GribEncodeError("values of magnitude >= 1e20 collide with the missing value")
    scaled_min = round(float(defined.min()) * 10.0**decimal_scale)
    scaled_max = round(float(defined.max()) * 10.0**decimal_scale)
    bits = max(1, (scaled_max - scaled_min).bit_length())
    if bits > MAX_PACKED_BITS:
        raise GribEncodeError(
            f"range {defined.min()}..{defined.max()} needs {bits} bits at decimal scale "
            f"{decimal_scale}; ecCodes packs at most {MAX_PACKED_BITS}"
        )
    return flat, bits


def encode_message(
    line: InventoryLine,
    init: datetime,
    lead_hours: int,
    grid: tuple[int, int],
    values: np.ndarray,
    *,
    packing: str = DEFAULT_PACKING,
    bitmap: np.ndarray | None = None,
    member: int | None = None,
) -> bytes:
    """One GRIB2 message for ``line`` at ``init`` + ``lead_hours`` (see the module contract).

    ``values``: float array of shape ``grid`` (row 0 = 90°N, column 0 = 0°E), finite at every
    present point; rounded to the element's ``10**-D`` before packing. ``bitmap``: None, or a
    bool array of shape ``grid`` with at least one True (True = present; values elsewhere are
    ignored). ``packing``: one of :data:`PACKING_TYPES`. ``init`` must be on a whole hour
    (naive = UTC). The window's end must equal ``lead_hours`` (``anl`` only at lead 0).
    ``member``: None for the deterministic GFS encoding (templates 4.0/4.8), else the GEFS
    ensemble member in ``0 .. GEFS_ENSEMBLE_SIZE - 1`` (templates 4.1/4.11, 0 = control).
    Raises :class:`GribEncodeError` naming the line on any inconsistency or ecCodes failure.
    """
    if packing not in PACKING_TYPES:
        raise GribEncodeError(f"packing {packing!r} is not one of {PACKING_TYPES}")
    nlat, nlon = check_grid(grid)
    if isinstance(lead_hours, bool) or not isinstance(lead_hours, int) or lead_hours < 0:
        raise GribEncodeError(f"lead_hours must be an int >= 0, got {lead_hours!r}")
    init_utc = init.replace(tzinfo=UTC) if init.tzinfo is None else init.astimezone(UTC)
    if (init_utc.minute, init_utc.second, init_utc.microsecond) != (0, 0, 0):
        raise GribEncodeError(f"init {init.isoformat()} is not on a whole hour")
    member_text = "" if member is None else f", member {member!r}"
    where = f"{line.element}:{line.level}:{line.window} (lead {lead_hours} h{member_text})"
    if member is not None:
        try:
            check_member(member)
        except InventoryError as error:
            raise GribEncodeError(f"{where}: {error}") from None
    try:
        timing = window_timing(line.window)
    except GribEncodeError as error:
        raise GribEncodeError(f"{where}: {error}") from None
    if timing.end_hours != lead_hours:
        raise GribEncodeError(f"{where}: the window ends at {timing.end_hours} h, not the lead")
    info = element_info(line.element)
    surfaces = level_surfaces(line.level)
    try:
        flat, bits = _packed_values(values, bitmap, (nlat, nlon), info.decimal_scale)
    except GribEncodeError as error:
        raise GribEncodeError(f"{where}: {error}") from None

    key: _HandleKey = (
        nlat,
        nlon,
        packing,
        _TEMPLATES[timing.statistic is not None, member is not None],
        bitmap is not None,
        surfaces.first_type,
        surfaces.second_type,
    )
    try:
        prepared = _prepared(key)
        handle = prepared.handle
        prepared.set_header(
            (
                ("discipline", info.discipline),
                ("parameterCategory", info.category),
                ("parameterNumber", info.number),
                ("dataDate", int(f"{init_utc:%Y%m%d}")),
                ("dataTime", init_utc.hour * 100),
                ("forecastTime", timing.start_hours),
                *_surface_items(surfaces),
            )
        )
        if member is not None:
            prepared.set_header(
                (
                    (
                        "typeOfEnsembleForecast",
                        LOW_RES_CONTROL if member == 0 else POSITIVELY_PERTURBED,
                    ),
                    ("perturbationNumber", member),
                )
            )
        if timing.statistic is not None:
            end = init_utc + timedelta(hours=timing.end_hours)
            prepared.set_header(
                (
                    ("typeOfStatisticalProcessing", timing.statistic),
                    ("lengthOfTimeRange", timing.length_hours),
                    ("yearOfEndOfOverallTimeInterval", end.year),
                    ("monthOfEndOfOverallTimeInterval", end.month),
                    ("dayOfEndOfOverallTimeInterval", end.day),
                    ("hourOfEndOfOverallTimeInterval", end.hour),
                    ("minuteOfEndOfOverallTimeInterval", 0),
                    ("secondOfEndOfOverallTimeInterval", 0),
                )
            )
        # bitsPerValue: what the values need (simple packing) or the cap (complex packing,
        # which derives its own widths); both keys are reset because ecCodes rewrites them.
        eccodes.codes_set_long(
            handle, "bitsPerValue", bits if packing == "grid_simple" else MAX_PACKED_BITS
        )
        eccodes.codes_set_long(handle, "decimalScaleFactor", info.decimal_scale)
        eccodes.codes_set_double_array(handle, "values", flat)
        decimal_scale = eccodes.codes_get_long(handle, "decimalScaleFactor")
        binary_scale = eccodes.codes_get_long(handle, "binaryScaleFactor")
        if decimal_scale != info.decimal_scale or binary_scale > 0:
            raise GribEncodeError(
                f"ecCodes packed with decimalScaleFactor={decimal_scale}, "
                f"binaryScaleFactor={binary_scale}; wanted {info.decimal_scale} and <= 0"
            )
        return bytes(eccodes.codes_get_message(handle))
    except GribEncodeError as error:
        _drop_handle(key)
        raise GribEncodeError(f"{where}: {error}") from None
    except eccodes.CodesInternalError as error:
        _drop_handle(key)
        raise GribEncodeError(f"{where}: ecCodes failed: {error}") from error
