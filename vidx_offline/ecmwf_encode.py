"""Real GRIB2 messages as ECMWF writes its open-data ENS files (``enfo``, type ``cf``/``pf``).

Contract:

- :data:`ENS_FIELDS` lists the fields of every member and step of an ``-enfo-ef`` file, written
  here from ECMWF's published list (ecmwf-opendata README, ENS parameters and pressure levels),
  independently of the dataset spec, so that the archive checks the spec rather than echoing it.
- :func:`encode_ens_message` returns one complete GRIB2 message encoded by ecCodes: centre 98
  (``ecmf``), the MARS local section (local definition 1: ``class=od``, ``stream=enfo``,
  ``type=cf`` for member 0 or ``pf``, ``expver=0001``), ECMWF's open-data regular lat/lon grid
  of ``(nlat, nlon)`` points (first point 90°N 180°W, written ``longitudeOfFirstGridPoint`` 180°,
  last point 90°S ``180 - 360/nlon``°E), product definition template 4.1 (an instantaneous
  ensemble forecast) or 4.11 (an ensemble accumulation from the start of the forecast, ``0-N``;
  ``0-0`` at step 0), ``perturbationNumber`` = member, ``numberOfForecastsInEnsemble`` 51, the
  parameter by its ecCodes shortName and CCSDS packing (``grid_ccsds``, 16 bits per value) as
  ECMWF packs its 0.25° open data.
- :func:`synthetic_values` are deterministic, smooth and differ by field, step, member and seed.
  Decoders return them to CCSDS precision: tests compare decodes with ecCodes' own decode of the
  same bytes, never with these values.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import eccodes
import numpy as np

ECMWF_CENTRE = 98
ENS_SIZE = 51
CCSDS_BITS = 16
ENS_PRESSURE_LEVELS = (1000, 925, 850, 700, 500, 300, 250, 200, 50)


class EcmwfEncodeError(ValueError):
    """A message cannot be encoded as requested."""


@dataclass(frozen=True)
class EnsField:
    """One field of a member in an ENS file: MARS ``param``, ``levtype``, ``levelist`` (hPa,
    pressure levels only) and whether it accumulates from the start of the forecast."""

    param: str
    levtype: str
    levelist: int | None = None
    accumulated: bool = False


_PRESSURE_PARAMS = ("d", "gh", "q", "r", "t", "u", "v", "vo")
_SURFACE_PARAMS = ("10u", "10v", "2t", "msl", "ro", "skt", "sp", "tcwv", "tp")
_ACCUMULATED = frozenset({"ro", "tp"})

ENS_FIELDS: tuple[EnsField, ...] = (
    *(EnsField(p, "pl", level) for p in _PRESSURE_PARAMS for level in ENS_PRESSURE_LEVELS),
    *(EnsField(p, "sfc", accumulated=p in _ACCUMULATED) for p in _SURFACE_PARAMS),
)

SAMPLE_FIELDS: tuple[EnsField, ...] = (
    EnsField("2t", "sfc"),
    EnsField("msl", "sfc"),
    EnsField("tp", "sfc", accumulated=True),
    EnsField("t", "pl", 850),
    EnsField("gh", "pl", 500),
)
"""A few fields of each kind (instantaneous, accumulated, on pressure levels), for a quick demo
at full resolution."""

# Plausible value ranges (low, high) per param, so that CCSDS packs something field-like.
_RANGES = {
    "d": (-1e-4, 1e-4),
    "gh": (0.0, 20000.0),
    "q": (0.0, 0.02),
    "r": (0.0, 100.0),
    "t": (200.0, 310.0),
    "u": (-40.0, 40.0),
    "v": (-40.0, 40.0),
    "vo": (-1e-4, 1e-4),
    "10u": (-20.0, 20.0),
    "10v": (-20.0, 20.0),
    "2t": (220.0, 315.0),
    "msl": (96000.0, 104000.0),
    "ro": (0.0, 0.01),
    "skt": (220.0, 320.0),
    "sp": (50000.0, 105000.0),
    "tcwv": (0.0, 70.0),
    "tp": (0.0, 0.05),
}


def grid_longitudes(nlon: int) -> np.ndarray:
    """Column longitudes of the open-data grid, -180 to ``180 - 360/nlon``."""
    return -180.0 + np.arange(nlon) * (360.0 / nlon)


def synthetic_values(
    field: EnsField, grid: tuple[int, int], init: dt.datetime, step: int, member: int, seed: int
) -> np.ndarray:
    """Deterministic values of ``field`` on ``grid`` (see the module contract); an accumulation
    is zero at step 0, as ECMWF writes it."""
    nlat, nlon = grid
    low, high = _RANGES.get(field.param, (0.0, 1.0))
    if field.accumulated and step == 0:
        return np.zeros(grid)
    key = f"{field.param}/{field.levtype}/{field.levelist}/{init:%Y%m%d%H}/{step}/{member}/{seed}"
    phase = (zlib.crc32(key.encode()) % 10_000) / 10_000 * 2 * np.pi
    lat = np.radians(np.linspace(90.0, -90.0, nlat))[:, None]
    lon = np.radians(grid_longitudes(nlon))[None, :]
    shape = 0.5 + 0.5 * np.sin(2 * lon + phase) * np.cos(lat) ** 2
    if field.levelist is not None:
        shape = shape * (0.5 + field.levelist / 2000.0)
    return low + (high - low) * np.clip(shape, 0.0, 1.0)


def encode_ens_message(
    field: EnsField,
    init: dt.datetime,
    step: int,
    member: int,
    values: np.ndarray,
) -> bytes:
    """One message of ``field`` of ``member`` (0 = control) at ``init`` + ``step`` hours (see
    the module contract). ``values`` has the grid's shape ``(nlat, nlon)``, row 0 at 90°N."""
    if not 0 <= member < ENS_SIZE:
        raise EcmwfEncodeError(f"member {member} is not one of 0 .. {ENS_SIZE - 1}")
    nlat, nlon = values.shape
    if nlat < 2 or nlon < 2:
        raise EcmwfEncodeError(f"grid {values.shape} needs two rows and two columns at least")
    utc = init.astimezone(dt.UTC) if init.tzinfo else init.replace(tzinfo=dt.UTC)
    handle = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        for key, value in (
            ("tablesVersion", 32),
            ("centre", ECMWF_CENTRE),
            ("subCentre", 0),
            ("setLocalDefinition", 1),
            ("localDefinitionNumber", 1),
            ("class", "od"),
            ("stream", "enfo"),
            ("type", "cf" if member == 0 else "pf"),
            ("expver", "0001"),
            ("Ni", nlon),
            ("Nj", nlat),
            ("latitudeOfFirstGridPointInDegrees", 90.0),
            ("longitudeOfFirstGridPointInDegrees", 180.0),
            ("latitudeOfLastGridPointInDegrees", -90.0),
            ("longitudeOfLastGridPointInDegrees", 180.0 - 360.0 / nlon),
            ("iDirectionIncrementInDegrees", 360.0 / nlon),
            ("jDirectionIncrementInDegrees", 180.0 / (nlat - 1)),
            ("productDefinitionTemplateNumber", 11 if field.accumulated else 1),
        ):
            eccodes.codes_set(handle, key, value)
        if field.levtype == "pl":
            eccodes.codes_set(handle, "typeOfFirstFixedSurface", 100)
            eccodes.codes_set(handle, "level", field.levelist)
        eccodes.codes_set(handle, "shortName", field.param)
        eccodes.codes_set(handle, "dataDate", int(f"{utc:%Y%m%d}"))
        eccodes.codes_set(handle, "dataTime", utc.hour * 100)
        if field.accumulated:
            eccodes.codes_set(handle, "stepRange", f"0-{step}")
        else:
            eccodes.codes_set(handle, "step", step)
        eccodes.codes_set(handle, "number", member)
        eccodes.codes_set(handle, "numberOfForecastsInEnsemble", ENS_SIZE)
        eccodes.codes_set(handle, "packingType", "grid_ccsds")
        eccodes.codes_set(handle, "bitsPerValue", CCSDS_BITS)
        eccodes.codes_set_values(handle, np.asarray(values, dtype=np.float64).ravel())
        if eccodes.codes_get(handle, "shortName") != field.param:
            raise EcmwfEncodeError(f"ecCodes wrote {field} as another parameter")
        return bytes(eccodes.codes_get_message(handle))
    except eccodes.CodesInternalError as error:
        raise EcmwfEncodeError(f"{field} step {step} member {member}: {error}") from error
    finally:
        eccodes.codes_release(handle)
