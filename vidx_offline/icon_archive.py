"""A synthetic DWD ICON-EU open-data archive in DWD's exact directory layout and file names.

Contract:

- Files live under a local directory ``root`` (served by :mod:`vidx_offline.http_server` as
  ``opendata.dwd.de`` serves its tree) at DWD's keys, written here independently of the dataset
  spec. The regular lat/lon tree (:func:`icon_key`, ended by DWD after 30 Nov 2026)::

      weather/nwp/icon-eu/grib/HH/{param}/icon-eu_europe_regular-lat-lon_single-level_
          YYYYMMDDHH_FFF_{PARAM}.grib2.bz2
      weather/nwp/icon-eu/grib/HH/{param}/icon-eu_europe_regular-lat-lon_pressure-level_
          YYYYMMDDHH_FFF_{LLL}_{PARAM}.grib2.bz2

  and the icosahedral v1 tree (:func:`icon_v1_key`; ``tree="icosahedral"``), uncompressed::

      weather/nwp/v1/m/icon-eu/p/{PARAM}/r/YYYY-MM-DDTHH:MM/s/PTFFFH00M.grib2
      weather/nwp/v1/m/icon-eu/p/{PARAM}/lvt1/100/lv1/{level in Pa}/r/YYYY-MM-DDTHH:MM/s/
          PTFFFH00M.grib2

- Each file is one ecCodes-encoded GRIB2 message (:func:`encode_icon_message`), bz2-compressed:
  centre 78 (``edzw``), the parameter by its DWD shortName in ecCodes' DWD tables, on the
  pressure level in hPa where the field has one, the regular lat/lon grid ``(nlat, nlon)`` from
  29.5°N 23.5°W to 70.5°N 45°E scanned south to north (``jScansPositively`` 1), the step in
  minutes as DWD writes it, statistical fields (template 4.8) over DWD's window: time means and
  accumulations from the start of the forecast, extremes over the hour before the lead (0-0 at
  lead 0), and simple packing (``grid_simple``, before June 2026) or CCSDS (``grid_ccsds``).
  In the v1 tree the grid is instead ICON-EU's icosahedral one (template 3.101: grid number
  27, its UUID, ``cells`` values; the real grid has 659,156 cells).
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
ICON_EU_CELLS = 659_156  # the icosahedral grid's (numberOfDataPoints of DWD's v1 messages)
ICON_EU_GRID_NUMBER = 27
ICON_EU_GRID_UUID = "ec13b8bcb82d11e4b13f4d55411d42e6"

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
Tree = Literal["regular", "icosahedral"]


@dataclass(frozen=True)
class IcosahedralGrid:
    """The unstructured grid a v1 message names (``numberOfGridUsed``, ``uuidOfHGrid``) and
    its number of cells: ICON-EU's by default; tests take fewer cells or another grid."""

    cells: int = ICON_EU_CELLS
    number: int = ICON_EU_GRID_NUMBER
    uuid: str = ICON_EU_GRID_UUID


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


def icon_v1_key(field: IconField, init: dt.datetime, lead_hours: int) -> str:
    """DWD's v1 (icosahedral) key of ``field``'s object of ``init`` (UTC) + ``lead_hours``."""
    level = "" if field.level_hpa is None else f"lvt1/100/lv1/{field.level_hpa * 100}/"
    return (
        f"weather/nwp/v1/m/icon-eu/p/{field.param}/{level}r/{init:%Y-%m-%dT%H:%M}/s/"
        f"PT{lead_hours:03d}H00M.grib2"
    )


def synthetic_values(
    field: IconField, lead_hours: int, shape: tuple[int, int] | tuple[int]
) -> np.ndarray:
    """Smooth, deterministic values differing by field and lead (one row for a 1-D shape)."""
    seed = zlib.crc32(f"{field.param}/{field.level_hpa}".encode()) % 1000
    nlat, nlon = shape if len(shape) == 2 else (1, shape[0])
    y, x = np.meshgrid(np.linspace(0, 1, nlat), np.linspace(0, 1, nlon), indexing="ij")
    values = seed + 10 * np.sin(3 * x + lead_hours / 7) * np.cos(2 * y) + lead_hours
    return values.astype(np.float64).reshape(shape)


def encode_icon_message(
    field: IconField,
    init: dt.datetime,
    lead_hours: int,
    shape: tuple[int, int] | IcosahedralGrid,
    *,
    packing: Packing = "grid_simple",
    corners: tuple[float, float, float, float] = ICON_EU_CORNERS,
    centre: int = DWD_CENTRE,
) -> bytes:
    """One complete GRIB2 message as DWD writes ``field`` (see the module contract): on the
    regular grid of ``shape`` (nlat, nlon) within ``corners``, or on an icosahedral grid."""
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
        if isinstance(shape, IcosahedralGrid):
            eccodes.codes_set(gid, "gridDefinitionTemplateNumber", 101)
            eccodes.codes_set(gid, "shapeOfTheEarth", 6)
            eccodes.codes_set(gid, "numberOfDataPoints", shape.cells)
            eccodes.codes_set(gid, "numberOfGridUsed", shape.number)
            eccodes.codes_set(gid, "numberOfGridInReference", 1)
            eccodes.codes_set_string(gid, "uuidOfHGrid", shape.uuid)
            values = synthetic_values(field, lead_hours, (shape.cells,))
        else:
            nlat, nlon = shape
            lat1, lon1, lat2, lon2 = corners
            eccodes.codes_set(gid, "gridType", "regular_ll")
            eccodes.codes_set(gid, "Ni", nlon)
            eccodes.codes_set(gid, "Nj", nlat)
            eccodes.codes_set(gid, "latitudeOfFirstGridPointInDegrees", lat1)
            eccodes.codes_set(gid, "longitudeOfFirstGridPointInDegrees", lon1 % 360)
            eccodes.codes_set(gid, "latitudeOfLastGridPointInDegrees", lat2)
            eccodes.codes_set(gid, "longitudeOfLastGridPointInDegrees", lon2 % 360)
            eccodes.codes_set(
                gid, "iDirectionIncrementInDegrees", round((lon2 - lon1) / (nlon - 1), 6)
            )
            eccodes.codes_set(
                gid, "jDirectionIncrementInDegrees", round((lat2 - lat1) / (nlat - 1), 6)
            )
            eccodes.codes_set(gid, "jScansPositively", 1)
            values = synthetic_values(field, lead_hours, shape)
        eccodes.codes_set(gid, "bitsPerValue", 16)
        eccodes.codes_set(gid, "packingType", packing)
        eccodes.codes_set_values(gid, values.ravel())
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
    tree: Tree = "regular",
    icosahedral: IcosahedralGrid = IcosahedralGrid(),
) -> list[WrittenIconFile]:
    """Write every (init, lead, field) file under ``root`` (see the module contract): in the
    regular tree on ``shape``, or in the v1 tree on the ``icosahedral`` grid."""
    written = []
    mtime = (published or dt.datetime.now(dt.UTC)).replace(microsecond=0).timestamp()
    grid = shape if tree == "regular" else icosahedral
    for init in inits:
        for lead in lead_hours:
            for field in fields or every_field():
                grib = encode_icon_message(field, init, lead, grid, packing=packing)
                written.append(
                    write_icon_file(root, field, init, lead, grib, mtime=mtime, tree=tree)
                )
    return written


def write_icon_file(
    root: Path,
    field: IconField,
    init: dt.datetime,
    lead_hours: int,
    grib: bytes,
    *,
    mtime: float,
    tree: Tree = "regular",
) -> WrittenIconFile:
    """Write ``grib`` at ``field``'s key of ``tree``, modified at ``mtime``: bz2-compressed in
    the regular tree, as it is in the v1 tree."""
    if tree == "regular":
        key, body = icon_key(field, init, lead_hours), bz2.compress(grib, 9)
    else:
        key, body = icon_v1_key(field, init, lead_hours), grib
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    os.utime(path, (mtime, mtime))
    return WrittenIconFile(key, field, init, lead_hours, len(body), grib)
