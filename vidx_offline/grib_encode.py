"""Real GRIB2 messages for wgrib2 inventory lines, encoded with ecCodes as NCEP writes GFS, GEFS
and HRRR.

Contract:

- :func:`encode_message` returns one complete GRIB2 message (``GRIB`` ... ``7777``) for an
  :class:`~vidx_offline.inventory.InventoryLine` at ``init`` + ``lead_hours``:
  centre ``kwbc`` (7), GFS generating process 96 unless another is given (HRRR: 83), the grid
  (a :data:`Grid`: ``(nlat, nlon)`` is the global regular_ll grid, first point 90°N 0°E, last
  point 90°S ``360 - 360/nlon``°E, scanning north to south, west to east, so ``values[0, 0]``
  is 90°N 0°E; a :class:`~vidx_offline.grids.LambertConformalGrid` is written as template 3.30
  the way NCEP writes HRRR), the parameter from :data:`ELEMENTS` (standard WMO / NCEP local
  codes) unless another code is given, the fixed surfaces from the level text, product
  definition template 4.0 (``anl``, ``N hour fcst``) or 4.8 (``A-B hour STAT fcst``,
  ``0-N day STAT fcst``, and HRRR's zero-length ``0-0 day STAT fcst`` at lead 0) and the
  requested packing (NCEP's complex packing with second-order spatial differencing, template
  5.3, by default). Without a grid description, parameter or generating process the bytes
  are exactly those the GFS/GEFS archives have always written.
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
  0, category 191 "miscellaneous", number 255 "missing"), except wgrib2's own text for a
  parameter its table lacks (``var discipline=D center=7 local_table=1 parmcat=C parm=N``),
  which is encoded as that parameter; a level text not covered by
  :func:`level_surfaces` with fixed-surface type 255 ("missing"); the inventory keeps the exact
  text in both cases. A window text that is not one of the forms above raises.
- Encoding reuses one prepared ecCodes handle per (grid, packing, product template, bitmap,
  surface types, generating process) and thread: cloning or creating a handle costs ~0.2 ms,
  far more than encoding a tiny grid. Every key that varies between messages is set on every
  call; a handle whose encode failed is dropped. :func:`clear_handle_cache` releases them.
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal, get_args

import eccodes
import numpy as np

from vidx_offline.gefs_inventory import GEFS_ENSEMBLE_SIZE, check_member
from vidx_offline.grids import GlobalLatLonGrid, GridDefinition, LambertConformalGrid
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
    # Elements only HRRR's wrfsfc files hold, with the codes HRRR's post-processor writes (UPP
    # parm/postxconfig-NT-hrrr.txt: table_info "NCEP" is the NCEP local code of
    # params_grib2_tbl_new, "?" the WMO code). Names are wgrib2's; ecCodes and gribberish were
    # checked for each (vidx_offline_tests/test_hrrr_archive.py).
    "RETOP": _e((0, 16, 3), 0, 0.0, 15000.0, "nonnegative"),  # WMO code, not NCEP's 16.197
    "VIL": _e((0, 15, 3), 2, 0.0, 80.0, "nonnegative"),
    "MAXUVV": _e((0, 2, 220), 2, 0.0, 50.0, "nonnegative"),
    "MAXDVV": _e((0, 2, 221), 2, -50.0, 0.0, "nonpositive"),
    "MSLMA": _e((0, 3, 198), -1, 95000.0, 105000.0),
    "MAXREF": _e((0, 16, 198), 1, -20.0, 70.0),
    "MXUPHL": _e((0, 7, 199), 1, 0.0, 300.0, "nonnegative"),
    "MNUPHL": _e((0, 7, 200), 1, -150.0, 0.0, "nonpositive"),
    "RELV": _e((0, 2, 12), 5, -0.005, 0.02),
    "HAIL": _e((0, 1, 31), 4, 0.0, 0.1, "nonnegative"),
    "TCOLG": _e((0, 1, 74), 2, 0.0, 50.0, "nonnegative"),
    "LTNGSD": _e((0, 17, 0), 2, 0.0, 10.0, "nonnegative"),
    "LTNG": _e((0, 17, 192), 2, 0.0, 10.0, "nonnegative"),
    "ASNOW": _e((0, 1, 29), 4, 0.0, 0.05, "nonnegative"),
    # HRRR writes MSTAV with table_info NCEP; of NCEP's two local MSTAV codes (2.0.194 and
    # 2.3.204) UPP takes the first in params_grib2_tbl_new.
    "MSTAV": _e((2, 0, 194), 1, 0.0, 100.0, "percent"),
    "MASSDEN": _e((0, 20, 0), 11, 0.0, 1e-7, "nonnegative"),
    "WIND": _e((0, 2, 1), 2, 0.0, 40.0, "nonnegative"),
    "MAXUW": _e((0, 2, 222), 2, -40.0, 40.0),
    "MAXVW": _e((0, 2, 223), 2, -40.0, 40.0),
    "FROZR": _e((0, 1, 227), 2, 0.0, 2.0, "nonnegative"),
    "FRZR": _e((0, 1, 225), 2, 0.0, 2.0, "nonnegative"),
    "SSRUN": _e((1, 0, 6), 2, 0.0, 2.0, "nonnegative"),  # WMO code, not NCEP's 1.0.193
    "BGRUN": _e((1, 0, 5), 2, 0.0, 1.0, "nonnegative"),  # WMO code, not NCEP's 1.0.192
    "VEGMIN": _e((2, 0, 231), 1, 0.0, 100.0, "percent"),
    "VEGMAX": _e((2, 0, 232), 1, 0.0, 100.0, "percent"),
    "LAI": _e((0, 7, 198), 2, 0.0, 8.0, "nonnegative"),
    "VGTYP": _e((2, 0, 198), 0, 1.0, 20.0, "integer"),
    "AOTK": _e((0, 20, 102), 3, 0.0, 3.0, "nonnegative"),
    "COLMD": _e((0, 20, 1), 9, 0.0, 1e-4, "nonnegative"),
    "TCOLW": _e((0, 1, 69), 2, 0.0, 5.0, "nonnegative"),  # WMO code, not NCEP's 6.196
    "TCOLI": _e((0, 1, 70), 2, 0.0, 5.0, "nonnegative"),  # WMO code, not NCEP's 6.197
    "CFNSF": _e((0, 4, 199), 1, 0.0, 500.0, "nonnegative"),  # HRRR: fire radiative power
    "VBDSF": _e((0, 4, 200), 1, 0.0, 1000.0, "nonnegative"),
    "VDDSF": _e((0, 4, 201), 1, 0.0, 500.0, "nonnegative"),
    "VUCSH": _e((0, 2, 15), 4, -0.05, 0.05),
    "VVCSH": _e((0, 2, 16), 4, -0.05, 0.05),
    "EFHL": _e((0, 7, 204), 1, -200.0, 600.0),
    "CANGLE": _e((0, 7, 206), 1, 0.0, 180.0),
    "LAYTH": _e((0, 3, 205), 0, 0.0, 3000.0, "nonnegative"),
    "ESP": _e((0, 7, 205), 2, 0.0, 10.0, "nonnegative"),
    "RHPW": _e((0, 1, 242), 1, 0.0, 100.0, "percent"),
    "SBT113": _e((3, 192, 7), 2, 180.0, 320.0),
    "SBT114": _e((3, 192, 8), 2, 180.0, 320.0),
    "SBT123": _e((3, 192, 1), 2, 180.0, 320.0),
    "SBT124": _e((3, 192, 2), 2, 180.0, 320.0),
}
"""Every ELEMENT of the GFS 0.25° f000/f007, GEFS 0.5° pgrb2a/pgrb2b and HRRR wrfsfc f00/f24
inventories (cross-checked against ecCodes' and gribberish's parameter tables). An element
several models write carries the GFS/GEFS code; where HRRR's post-processor writes another code
for the same wgrib2 name (e.g. CRAIN: GFS NCEP-local 0.1.192, HRRR WMO 0.1.33), the HRRR archive
passes its own code to :func:`encode_message` (``parameter``)."""

FALLBACK_ELEMENT = ElementInfo(0, 191, 255, 2, 0.0, 100.0, "smooth")
"""Generic parameter for an ELEMENT not in :data:`ELEMENTS`: discipline 0, category 191
(miscellaneous), number 255 (missing). Decoders read it as an unknown parameter; the inventory
line keeps the element's text, which is what index-based matching reads."""


# wgrib2's ELEMENT text for an NCEP local parameter missing from its table, e.g. HRRR's
# RADARVIL: "var discipline=0 center=7 local_table=1 parmcat=16 parm=201".
_WGRIB2_LOCAL_VARIABLE = re.compile(
    r"var discipline=(?P<discipline>\d+) center=(?P<centre>\d+) "
    r"local_table=(?P<local_table>\d+) parmcat=(?P<category>\d+) parm=(?P<number>\d+)"
)


@cache
def element_info(element: str) -> ElementInfo:
    """The encoding of ``element``: its :data:`ELEMENTS` entry; for wgrib2's text of a parameter
    its table lacks (``var discipline=D center=7 local_table=1 parmcat=C parm=N``) the parameter
    ``(D, C, N)`` with :data:`FALLBACK_ELEMENT`'s synthetic values; else
    :data:`FALLBACK_ELEMENT`. Raises :class:`GribEncodeError` for such a text naming another
    centre or local table than the encoder writes (centre 7, local table 1)."""
    info = ELEMENTS.get(element)
    if info is not None:
        return info
    variable = _WGRIB2_LOCAL_VARIABLE.fullmatch(element)
    if variable is None:
        return FALLBACK_ELEMENT
    if (int(variable["centre"]), int(variable["local_table"])) != (NCEP_CENTRE, 1):
        raise GribEncodeError(
            f"element {element!r} names centre {variable['centre']} local table "
            f"{variable['local_table']}; the encoder writes centre {NCEP_CENTRE} local table 1"
        )
    return replace(
        FALLBACK_ELEMENT,
        discipline=int(variable["discipline"]),
        category=int(variable["category"]),
        number=int(variable["number"]),
    )


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
    "cloud base": 2,
    "cloud top": 3,
    "cloud ceiling": 215,
    "0C isotherm": 4,
    "level of adiabatic condensation from sfc": 5,
    "level of free convection": 14,
    "equilibrium level": 247,
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
    (re.compile(rf"(?P<a>{_NUMBER})-(?P<b>{_NUMBER}) mb"), 100, 100),
    (re.compile(rf"(?P<a>{_NUMBER}) K level"), 20, 1),
    (re.compile(rf"(?P<a>{_NUMBER}) K level - (?P<b>{_NUMBER}) K level"), 20, 1),
    (re.compile(rf"(?P<a>{_NUMBER}) m underground"), 106, 1),
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
    109, 4, 6, 7, 204, 211-244, 215, 220) and of HRRR's: ``A-B mb`` 100/100, ``N K level`` 20
    (isothermal, kelvin), ``A K level - B K level`` 20/20, ``N m underground`` 106, cloud base 2,
    cloud top 3, ``level of adiabatic condensation from sfc`` 5, ``level of free convection`` 14,
    ``equilibrium level`` 247.
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

    A statistical window needs B > A, except the zero-length ``0-0`` window HRRR writes at lead
    0 for its statistics (``0-0 day max fcst``). Raises :class:`GribEncodeError` for anything
    else (including an unknown STAT or any other B <= A).
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
        if statistic is None or not (end > start or start == end == 0):
            break
        return WindowTiming(statistic, start, end)
    raise GribEncodeError(
        f"window {window!r} is not 'anl', 'N hour fcst', 'A-B hour STAT fcst' or "
        f"'A-B day STAT fcst' with STAT in {tuple(STATISTICAL_PROCESSING)} and B > A "
        "(or A = B = 0)"
    )


# --------------------------------------------------------------------------------------------
# Grid, masks and synthetic values


Grid = tuple[int, int] | GridDefinition
"""A grid argument: a :class:`~vidx_offline.grids.GridDefinition`, or ``(nlat, nlon)`` for the
global regular lat/lon grid :class:`~vidx_offline.grids.GlobalLatLonGrid` (GFS, GEFS)."""


def check_grid(grid: tuple[int, int]) -> tuple[int, int]:
    """Validate a grid shape ``(rows, points per row)``, e.g. ``(nlat, nlon)``: two ints >= 2
    (a global grid needs both poles and 2 columns)."""
    if (
        not isinstance(grid, tuple | list)
        or len(grid) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 2 for n in grid)
    ):
        raise GribEncodeError(f"grid must be (nlat, nlon) with two ints >= 2, got {grid!r}")
    return int(grid[0]), int(grid[1])


def grid_definition(grid: Grid) -> GridDefinition:
    """``grid`` itself if it is a grid description, else the global regular lat/lon grid of
    shape ``grid`` (validated by :func:`check_grid`)."""
    if isinstance(grid, GlobalLatLonGrid | LambertConformalGrid):
        return grid
    return GlobalLatLonGrid(shape=check_grid(grid))


def grid_latitudes(grid: tuple[int, int]) -> np.ndarray:
    """Row latitudes of the global regular grid ``(nlat, nlon)``, 90 to -90 (degrees north)."""
    return GlobalLatLonGrid(shape=check_grid(grid)).latitudes()


def grid_longitudes(grid: tuple[int, int]) -> np.ndarray:
    """Column longitudes of the global regular grid ``(nlat, nlon)``, 0 to ``360 - 360/nlon``
    (degrees east)."""
    return GlobalLatLonGrid(shape=check_grid(grid)).longitudes()


@cache
def _radians(grid: GridDefinition) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude in radians, broadcastable to the grid's shape."""
    latitude, longitude = grid.coordinates()
    lat = np.radians(latitude)
    lon = np.radians(longitude)
    lat.setflags(write=False)
    lon.setflags(write=False)
    return lat, lon


@cache
def _land_mask(grid: GridDefinition) -> np.ndarray:
    lat, lon = _radians(grid)
    # Parenthesised as np.outer was, so global grids keep their exact mask.
    continents = 0.6 * (np.cos(lat) * np.sin(2.0 * lon + 0.5)) + 0.5 * np.cos(3.0 * lat + 0.3)
    mask = (continents > 0.25) | (lat < math.radians(-70.0))
    if mask.all() or not mask.any():
        mask[0, 0] = not mask[0, 0]
    mask.setflags(write=False)
    return mask


def land_mask(grid: Grid) -> np.ndarray:
    """Deterministic land/sea mask of the grid (True = land), a function of each point's
    latitude and longitude: smooth "continents" plus Antarctica; always holds at least one land
    and one sea point. Read-only array of the grid's shape."""
    return _land_mask(grid_definition(grid))


def field_bitmap(element: str, grid: Grid) -> np.ndarray | None:
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
    grid: Grid,
    init: datetime,
    lead_hours: int,
    seed: int,
    *,
    level: str = "",
    window: str = "",
    member: int | None = None,
) -> np.ndarray:
    """Deterministic, smooth, plausible values of ``element`` (float64, the grid's shape).

    The pattern is a few low-order harmonics of each point's latitude and longitude (on any
    grid, :meth:`~vidx_offline.grids.GlobalLatLonGrid.coordinates`; a Lambert grid's points are
    used where they lie on the globe) whose phases depend on element, level, window,
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
    definition = grid_definition(grid)
    if info.kind == "land":
        return land_mask(definition).astype(np.float64)
    init_utc = init.replace(tzinfo=UTC) if init.tzinfo is None else init.astimezone(UTC)
    valid_hours = (init_utc - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(hours=1) + lead_hours
    drift = 2.0 * math.pi * valid_hours / 240.0 + 0.37 * lead_hours
    # A member is one more phase input; None keeps the deterministic (GFS) values unchanged.
    member_input = () if member is None else (member,)
    p1, p2, p3, p4 = _phases(element, level, window, seed, *member_input)
    lat, lon = _radians(definition)
    # Products parenthesised as np.outer computed them, so global grids keep their exact values.
    pattern = (
        0.5
        + 0.25 * (np.cos(lat) * np.sin(2.0 * lon + p1 + drift))
        + 0.15 * np.cos(2.0 * lat + p2 + 0.5 * drift)
        + 0.1 * (np.cos(lat + p4) * np.sin(3.0 * lon + p3 - drift))
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
    grid: Grid,
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


# Grid, packing, product definition template (0, 8, 1 or 11), bitmap, first and second
# fixed-surface types, generating process. The surface types are part of the key because
# setting typeOf{First,Second}FixedSurface on an existing handle makes every later set on that
# handle slower (ecCodes 2.50: 1000 alternating sets take 0.1 s, the next 1000 0.25 s, then
# 0.4 s, ...), so each handle sets them exactly once.
_HandleKey = tuple[GridDefinition, str, int, bool, int, int, int]

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


def _set_regular_ll(handle: Any, grid: GlobalLatLonGrid) -> None:
    nlat, nlon = grid.shape
    _set_longs(handle, (("shapeOfTheEarth", 6), ("Ni", nlon), ("Nj", nlat)))
    for name, degrees in (
        ("latitudeOfFirstGridPointInDegrees", 90.0),
        ("longitudeOfFirstGridPointInDegrees", 0.0),
        ("latitudeOfLastGridPointInDegrees", -90.0),
        ("longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / nlon),
        ("iDirectionIncrementInDegrees", 360.0 / nlon),
        ("jDirectionIncrementInDegrees", 180.0 / (nlat - 1)),
    ):
        eccodes.codes_set_double(handle, name, degrees)


def _lambert_keys(grid: LambertConformalGrid) -> tuple[tuple[str, int], ...]:
    """Template 3.30 keys as NCEP writes HRRR: section 3 of a full-size HRRR grid is byte for
    byte that of a real HRRR message (earth-shape scale factors and values 0, not missing;
    u/v relative to the grid; southern pole 0/0)."""
    ny, nx = grid.shape
    return (
        ("shapeOfTheEarth", 6),
        ("scaleFactorOfRadiusOfSphericalEarth", 0),
        ("scaledValueOfRadiusOfSphericalEarth", 0),
        ("scaleFactorOfEarthMajorAxis", 0),
        ("scaledValueOfEarthMajorAxis", 0),
        ("scaleFactorOfEarthMinorAxis", 0),
        ("scaledValueOfEarthMinorAxis", 0),
        ("Nx", nx),
        ("Ny", ny),
        ("latitudeOfFirstGridPoint", grid.la1),
        ("longitudeOfFirstGridPoint", grid.lo1),
        ("resolutionAndComponentFlags", 8),
        ("LaD", grid.lad),
        ("LoV", grid.lov),
        ("Dx", grid.dx),
        ("Dy", grid.dy),
        ("projectionCentreFlag", 0),
        ("scanningMode", 64),
        ("Latin1", grid.latin1),
        ("Latin2", grid.latin2),
        ("latitudeOfSouthernPole", 0),
        ("longitudeOfSouthernPole", 0),
    )


def _set_grid(handle: Any, grid: GridDefinition) -> None:
    if isinstance(grid, GlobalLatLonGrid):
        _set_regular_ll(handle, grid)
    else:
        eccodes.codes_set_long(handle, "gridDefinitionTemplateNumber", 30)
        _set_longs(handle, _lambert_keys(grid))


def _new_handle(key: _HandleKey) -> Any:
    grid, packing, template, with_bitmap, first_type, second_type, generating_process = key
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
            ),
        )
        _set_grid(handle, grid)
        _set_longs(
            handle,
            (
                ("productDefinitionTemplateNumber", template),
                (
                    "typeOfGeneratingProcess",
                    ENSEMBLE_FORECAST if ensemble else DETERMINISTIC_FORECAST,
                ),
                ("generatingProcessIdentifier", generating_process),
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
        eccodes.codes_set_double_array(handle, "values", np.zeros(math.prod(grid.shape)))
        _check_grid(handle, grid)
    except BaseException:
        eccodes.codes_release(handle)
        raise
    return handle


def _check_grid(handle: Any, grid: GridDefinition) -> None:
    """Raise unless ecCodes took ``grid``: every template 3.30 key reads back as written; a
    regular grid's coordinates are the intended ones."""
    rows, columns = grid.shape
    if eccodes.codes_get_long(handle, "numberOfDataPoints") != rows * columns:
        raise GribEncodeError(f"ecCodes did not take the {rows}x{columns} grid")
    if isinstance(grid, GlobalLatLonGrid):
        _check_coordinates(handle, rows, columns)
        return
    differing = [
        (name, value, eccodes.codes_get_long(handle, name))
        for name, value in _lambert_keys(grid)
        if eccodes.codes_get_long(handle, name) != value
    ]
    if eccodes.codes_get_string(handle, "gridType") != "lambert" or differing:
        raise GribEncodeError(
            f"ecCodes did not take the Lambert grid {grid}: (key, written, read) {differing}"
        )


def _check_coordinates(handle: Any, nlat: int, nlon: int) -> None:
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
    # grid: the grid's shape
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


def _is_octet(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255


def _check_parameter(parameter: tuple[int, int, int]) -> tuple[int, int, int]:
    if (
        not isinstance(parameter, tuple)
        or len(parameter) != 3
        or not all(_is_octet(part) for part in parameter)
    ):
        raise GribEncodeError(
            f"parameter must be (discipline, category, number), three ints in 0..255, "
            f"got {parameter!r}"
        )
    return parameter


def encode_message(
    line: InventoryLine,
    init: datetime,
    lead_hours: int,
    grid: Grid,
    values: np.ndarray,
    *,
    packing: str = DEFAULT_PACKING,
    bitmap: np.ndarray | None = None,
    member: int | None = None,
    parameter: tuple[int, int, int] | None = None,
    generating_process: int | None = None,
) -> bytes:
    """One GRIB2 message for ``line`` at ``init`` + ``lead_hours`` (see the module contract).

    ``grid``: a :data:`Grid` (``(nlat, nlon)`` is the global regular lat/lon grid).
    ``values``: float array of the grid's shape in GRIB's storage order (global grid: row 0 =
    90°N, column 0 = 0°E; Lambert grid: row 0 = the southernmost row), finite at every
    present point; rounded to the element's ``10**-D`` before packing. ``bitmap``: None, or a
    bool array of the grid's shape with at least one True (True = present; values elsewhere are
    ignored). ``packing``: one of :data:`PACKING_TYPES`. ``init`` must be on a whole hour
    (naive = UTC). The window's end must equal ``lead_hours`` (``anl`` only at lead 0).
    ``member``: None for the deterministic GFS encoding (templates 4.0/4.8), else the GEFS
    ensemble member in ``0 .. GEFS_ENSEMBLE_SIZE - 1`` (templates 4.1/4.11, 0 = control).
    ``parameter``: the ``(discipline, category, number)`` to write instead of the element's
    :func:`element_info` code (a model whose post-processor codes a wgrib2 name differently,
    e.g. HRRR's WMO CRAIN); its decimal precision and synthetic values stay the element's.
    ``generating_process``: ``generatingProcessIdentifier`` (ON388 table A, e.g. 83 HRRR);
    None writes GFS's 96, or GEFS's 107 with a ``member``.
    Raises :class:`GribEncodeError` naming the line on any inconsistency or ecCodes failure.
    """
    if packing not in PACKING_TYPES:
        raise GribEncodeError(f"packing {packing!r} is not one of {PACKING_TYPES}")
    definition = grid_definition(grid)
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
    surfaces = level_surfaces(line.level)
    try:
        info = element_info(line.element)
        discipline, category, number = _check_parameter(
            (info.discipline, info.category, info.number) if parameter is None else parameter
        )
        if generating_process is None:
            generating_process = (
                GFS_GENERATING_PROCESS if member is None else GEFS_GENERATING_PROCESS
            )
        elif not _is_octet(generating_process):
            raise GribEncodeError(
                f"generating_process must be an int in 0..255, got {generating_process!r}"
            )
        flat, bits = _packed_values(values, bitmap, definition.shape, info.decimal_scale)
    except GribEncodeError as error:
        raise GribEncodeError(f"{where}: {error}") from None

    key: _HandleKey = (
        definition,
        packing,
        _TEMPLATES[timing.statistic is not None, member is not None],
        bitmap is not None,
        surfaces.first_type,
        surfaces.second_type,
        generating_process,
    )
    try:
        prepared = _prepared(key)
        handle = prepared.handle
        prepared.set_header(
            (
                ("discipline", discipline),
                ("parameterCategory", category),
                ("parameterNumber", number),
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
