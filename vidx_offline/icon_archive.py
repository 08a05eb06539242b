"""A synthetic DWD ICON-EU open-data archive in DWD's exact directory layout and file names.

Contract:

- Files live under a local directory ``root`` (served by :mod:`vidx_offline.http_server` as
  ``opendata.dwd.de`` serves its tree) at DWD's keys (:func:`icon_key`), written here
  independently of the dataset spec::

      weather/nwp/icon-eu/grib/HH/{param}/icon-eu_europe_regular-lat-lon_single-level_
          YYYYMMDDHH_FFF_{PARAM}.grib2.bz2
      weather/nwp/icon-eu/grib/HH/{param}/icon-eu_europe_regular-lat-lon_pressure-level_
          YYYYMMDDHH_FFF_{LLL}_{PARAM}.grib2.bz2

- Each file is one ecCodes-encoded GRIB2 message (:func:`encode_icon_message`), bz2-compressed:
  centre 78 (``edzw``), the parameter by its DWD shortName in ecCodes' DWD tables, on the
  pressure level in hPa where the field has one, the regular lat/lon grid ``(nlat, nlon)`` from
  29.5°N 23.5°W to 70.5°N 45°E scanned south to north (``jScansPositively`` 1), the step in
  minutes as DWD writes it, statistical fields (template 4.8) over DWD's window: time means and
  accumulations from the start of the forecast, extremes over the hour before the lead (0-0 at
  lead 0), and simple packing (``grid_simple``, before June 2026) or CCSDS (``grid_ccsds``).
- Every file's modification time is ``published`` (whole seconds), so the HTTP server's
  ``Last-Modified`` and autoindex pages describe it.
- Grid size, leads, fields and packing are parameters: tests use tiny grids.
"""

from __future__ import annotations

import bz2
import datetime as dt
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import eccodes
import numpy as np

DWD_CENTRE = 78
ICON_EU_CORNERS = (29.5, -23.5, 70.5, 45.0)  # lat1, lon1, lat2, lon2
ICON_EU_SHAPE = (657, 1097)

# ICON-EU's regular-grid parameters (see vidx_pipeline/datasets/dwd_icon_eu_catalog.py for the
# sources), written here again so that the archive checks the spec rather than echoing it.
SINGLE_LEVEL = (
    "ALB_RAD",
    "ALHFL_S",
    "ASHFL_S",
    "ASOB_S",
    "ASOB_T",
    "ASWDIFD_S",
    "ASWDIFU_S",
    "ASWDIR_S",
    "ATHB_S",
    "ATHB_T",
    "AUMFL_S",
    "AVMFL_S",
    "CAPE_CON",
    "CAPE_ML",
    "CLCH",
    "CLCL",
    "CLCM",
    "CLCT",
    "CLCT_MOD",
    "CLDEPTH",
    "EVAP_PL",
    "H_SNOW",
    "HBAS_CON",
    "HTOP_CON",
    "HTOP_DC",
    "HSNOW_MAX",
    "HZEROCL",
    "PMSL",
    "PS",
    "QV_2M",
    "QV_S",
    "RAIN_CON",
    "RAIN_GSP",
    "RELHUM_2M",
    "RHO_SNOW",
    "RUNOFF_G",
    "RUNOFF_S",
    "SNOW_CON",
    "SNOW_GSP",
    "SNOWLMT",
    "T_2M",
    "T_G",
    "T_SNOW",
    "TCH",
    "TCM",
    "TD_2M",
    "TMAX_2M",
    "TMIN_2M",
    "TOT_PREC",
    "TQC",
    "TQI",
    "U_10M",
    "V_10M",
    "VMAX_10M",
    "W_SNOW",
    "WW",
    "Z0",
)
PRESSURE_LEVEL = ("CLC", "FI", "OMEGA", "RELHUM", "T", "U", "V")
PRESSURE_LEVELS_HPA = (
    1000, 950, 925, 900, 875, 850, 825, 800, 775, 700, 600, 500, 400, 300, 250, 200, 150, 100,
    70, 50,
)  # fmt: skip
_EXTREMES = ("TMAX_2M", "TMIN_2M", "VMAX_10M")

Packing = Literal["grid_simple", "grid_ccsds"]


@dataclass(frozen=True)
class IconField:
    """One DWD file's field: the parameter as in DWD's file names, and its pressure level."""

    param: str
    level_hpa: int | None = None


@dataclass(frozen=True)
class WrittenIconFile:
    key: str
    field: IconField
    init: dt.datetime
    lead_hours: int
    size: int
    grib: bytes  # the uncompressed message


def every_field() -> tuple[IconField, ...]:
    """Every field DWD writes per lead: single levels, then each pressure parameter's levels."""
    return (
        *(IconField(param) for param in SINGLE_LEVEL),
        *(IconField(param, level) for param in PRESSURE_LEVEL for level in PRESSURE_LEVELS_HPA),
    )


def icon_key(field: IconField, init: dt.datetime, lead_hours: int) -> str:
    """DWD's key of ``field``'s file of ``init`` (UTC) + ``lead_hours``."""
    stamp = f"{init:%Y%m%d%H}_{lead_hours:03d}"
    if field.level_hpa is None:
        name = f"single-level_{stamp}_{field.param}"
    else:
        name = f"pressure-level_{stamp}_{field.level_hpa}_{field.param}"
    return (
        f"weather/nwp/icon-eu/grib/{init:%H}/{field.param.lower()}/"
        f"icon-eu_europe_regular-lat-lon_{name}.grib2.bz2"
    )


def synthetic_values(field: IconField, lead_hours: int, shape: tuple[int, int]) -> np.ndarray:
    """Smooth, deterministic values differing by field and lead."""
    seed = zlib.crc32(f"{field.param}/{field.level_hpa}".encode()) % 1000
    nlat, nlon = shape
    y, x = np.meshgrid(np.linspace(0, 1, nlat), np.linspace(0, 1, nlon), indexing="ij")
    return (seed + 10 * np.sin(3 * x + lead_hours / 7) * np.cos(2 * y) + lead_hours).astype(
        np.float64
    )


def encode_icon_message(
    field: IconField,
    init: dt.datetime,
    lead_hours: int,
    shape: tuple[int, int],
    *,
    packing: Packing = "grid_simple",
    corners: tuple[float, float, float, float] = ICON_EU_CORNERS,
    centre: int = DWD_CENTRE,
) -> bytes:
    """One complete GRIB2 message as DWD writes ``field`` (see the module contract)."""
    nlat, nlon = shape
    lat1, lon1, lat2, lon2 = corners
    gid = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        eccodes.codes_set(gid, "centre", DWD_CENTRE)
        eccodes.codes_set(gid, "subCentre", 255)
        eccodes.codes_set(gid, "tablesVersion", 19)
        eccodes.codes_set(gid, "localTablesVersion", 1)
        eccodes.codes_set(gid, "typeOfGeneratingProcess", 2)
        eccodes.codes_set(gid, "dataDate", int(f"{init:%Y%m%d}"))
        eccodes.codes_set(gid, "dataTime", int(f"{init:%H%M}"))
        eccodes.codes_set(gid, "shortName", field.param)
        if field.level_hpa is not None:
            eccodes.codes_set(gid, "typeOfFirstFixedSurface", 100)
            eccodes.codes_set(gid, "scaleFactorOfFirstFixedSurface", 0)
            eccodes.codes_set(gid, "scaledValueOfFirstFixedSurface", field.level_hpa * 100)
        if centre != DWD_CENTRE:  # another producer's message, with DWD's parameter numbers
            eccodes.codes_set(gid, "centre", centre)
        eccodes.codes_set(gid, "indicatorOfUnitOfTimeRange", 0)  # minutes, as DWD writes
        if eccodes.codes_get(gid, "productDefinitionTemplateNumber") == 8:
            start = max(0, lead_hours - 1) if field.param in _EXTREMES else 0
            eccodes.codes_set(gid, "forecastTime", start * 60)
            eccodes.codes_set(gid, "indicatorOfUnitForTimeRange", 0)
            eccodes.codes_set(gid, "lengthOfTimeRange", (lead_hours - start) * 60)
            end = init + dt.timedelta(hours=lead_hours)
            for unit in ("year", "month", "day", "hour", "minute", "second"):
                key = f"{unit}OfEndOfOverallTimeInterval"
                eccodes.codes_set(gid, key, getattr(end, unit))
        else:
            eccodes.codes_set(gid, "forecastTime", lead_hours * 60)
        eccodes.codes_set(gid, "gridType", "regular_ll")
        eccodes.codes_set(gid, "Ni", nlon)
        eccodes.codes_set(gid, "Nj", nlat)
        eccodes.codes_set(gid, "latitudeOfFirstGridPointInDegrees", lat1)
        eccodes.codes_set(gid, "longitudeOfFirstGridPointInDegrees", lon1 % 360)
        eccodes.codes_set(gid, "latitudeOfLastGridPointInDegrees", lat2)
        eccodes.codes_set(gid, "longitudeOfLastGridPointInDegrees", lon2 % 360)
        eccodes.codes_set(gid, "iDirectionIncrementInDegrees", round((lon2 - lon1) / (nlon - 1), 6))
        eccodes.codes_set(gid, "jDirectionIncrementInDegrees", round((lat2 - lat1) / (nlat - 1), 6))
        eccodes.codes_set(gid, "jScansPositively", 1)
        eccodes.codes_set(gid, "bitsPerValue", 16)
        eccodes.codes_set(gid, "packingType", packing)
        eccodes.codes_set_values(gid, synthetic_values(field, lead_hours, shape).ravel())
        return bytes(eccodes.codes_get_message(gid))
    finally:
        eccodes.codes_release(gid)


def write_icon_archive(
    root: Path,
    inits: tuple[dt.datetime, ...],
    lead_hours: tuple[int, ...],
    *,
    fields: tuple[IconField, ...] | None = None,
    shape: tuple[int, int] = ICON_EU_SHAPE,
    packing: Packing = "grid_simple",
    published: dt.datetime | None = None,
) -> list[WrittenIconFile]:
    """Write every (init, lead, field) file under ``root`` (see the module contract)."""
    written = []
    mtime = (published or dt.datetime.now(dt.UTC)).replace(microsecond=0).timestamp()
    for init in inits:
        for lead in lead_hours:
            for field in fields or every_field():
                grib = encode_icon_message(field, init, lead, shape, packing=packing)
                written.append(write_icon_file(root, field, init, lead, grib, mtime=mtime))
    return written


def write_icon_file(
    root: Path,
    field: IconField,
    init: dt.datetime,
    lead_hours: int,
    grib: bytes,
    *,
    mtime: float,
) -> WrittenIconFile:
    """Write ``grib`` bz2-compressed at ``field``'s key, modified at ``mtime``."""
    key = icon_key(field, init, lead_hours)
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    compressed = bz2.compress(grib, 9)
    path.write_bytes(compressed)
    os.utime(path, (mtime, mtime))
    return WrittenIconFile(key, field, init, lead_hours, len(compressed), grib)
