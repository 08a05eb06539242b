"""ECMWF IFS ENS 15-day ensemble forecast, 0.25°: ``s3://ecmwf-forecasts``, JSON-lines ``.index``.

**Archive start: 2024-02-01 00z**, the first cycle of the 0.25° open-data era. ECMWF's bucket
holds ENS files from 2023-01-18, but at 0.4° (``0p4-beta``) until 2024-01-31; the ``ifs/0p25``
layout this spec reads begins with the 2024-02-01 00z cycle (dynamical-org/reformatters,
``ecmwf/ifs_ens/forecast_15_day_0_25_degree/template_config.py``: "forecasts available from same
s3 bucket since 2023-01-18, but only with 0.4deg resolution from dataset start through
2024-01-31"; ECMWF's open-data page announces the 0.25° IFS data and the 0.4° deprecation). A
real ``enfo`` index line of 2024-02-01 00z step 3 (reformatters' tests) has this layout.

Cycles 00z and 12z (the two ECMWF runs to 15 days), steps 0-144 h every 3 h and 150-360 h every
6 h (85 leads, ecmwf-opendata README "Time steps": ENS 00 and 12). One object per step,
``YYYYMMDD/HHz/ifs/0p25/enfo/YYYYMMDDHH0000-{step}h-enfo-ef.grib2`` with its ``.index``, holds
every member: ``ensemble_member`` 0 is the control (``type=cf``), 1-50 the perturbed members
(``type=pf``, ``number`` "1".."50"), read from each index line (:mod:`vidx_pipeline.providers.
ecmwf`). The grid is ECMWF's open-data 0.25° grid as its GRIB writes it: 721 x 1440, 90°N to
90°S, 180°W (``longitudeOfFirstGridPoint`` 180°) to 179.75°E, checked against the real IFS
message ``vidx_pipeline_tests/fixtures/real/grib/ecmwf-ifs-oper-surface.grib2`` with ecCodes.

Parameters: the ENS (``cf``/``pf``) list of the ecmwf-opendata README (ecmwf/ecmwf-opendata,
"Parameters and levels"): on pressure levels 1000, 925, 850, 700, 500, 300, 250, 200 and 50 hPa
``d``, ``gh``, ``q``, ``r``, ``t``, ``u``, ``v``, ``vo``; on a single level ``10u``, ``10v``,
``2t``, ``msl``, ``ro``, ``skt``, ``sp``, ``tcwv``, ``tp``. Left out: that list's ``st`` and
``stl1``, which ecCodes cannot encode as the 0.25° GRIB2 open data does (``st`` has no GRIB2
paramId; ECMWF moved soil fields to ``levtype=sol``): a line of them, or of any other parameter
ECMWF adds, is reported as new producer output, never dropped silently. ``tp`` and ``ro``
accumulate from the start of the forecast and are written at step 0 too (a zero-length window:
Herbie's documented real ``enfo`` index lines hold ``tp`` at ``step`` "0"). GRIB2 codes, names
and units are ecCodes' for centre 98 (``tp`` 0-1-193, ``ro`` 2-0-201: ECMWF local codes).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from vidx_pipeline.providers.ecmwf import MarsMatch
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    EnsembleSpec,
    InstantWindow,
    LeadTimeSchedule,
    LeadTimeSegment,
    LevelDimension,
    ObjectStoreSpec,
    PublicationSchedule,
    RegularLatLonGrid,
    SourceFileKind,
    SourceLayout,
    StatisticalWindow,
    VariableAttrs,
    VariableSpec,
)

ECMWF_CENTRE = 98
ENS_MEMBERS = 51
PRESSURE_LEVELS = (1000, 925, 850, 700, 500, 300, 250, 200, 50)
ISOBARIC = "isobaric_level"
ENS_KEY = "{init:%Y%m%d}/{init:%H}z/ifs/0p25/enfo/{init:%Y%m%d%H}0000-{lead_hours}h-enfo-ef"

ON_SURFACE = "ground or water surface"  # gribberish's level texts
ABOVE_GROUND = "specific height level above ground"


def _variable(
    name: str,
    param: str,
    parameter: tuple[int, int, int],
    long_name: str,
    units: str,
    short_name: str,
    standard_name: str | None,
    *,
    level_type: str = ON_SURFACE,
    level_value: float | None = None,
    isobaric: bool = False,
    step_type: Literal["instant", "accum"] = "instant",
) -> VariableSpec:
    accumulated = step_type == "accum"
    return VariableSpec(
        name=name,
        attrs=VariableAttrs(
            long_name=long_name,
            units=units,
            short_name=short_name,
            standard_name=standard_name,
            step_type=step_type,
            comment=f"ECMWF open-data index: param={param} levtype={'pl' if isobaric else 'sfc'}"
            + (" (accumulated from the start of the forecast)" if accumulated else ""),
        ),
        match=MarsMatch(
            param=param,
            levtype="pl" if isobaric else "sfc",
            levelist="{}" if isobaric else None,
            parameter=parameter,
            level_type="isobaric surface" if isobaric else level_type,
            level_value=level_value,
        ),
        window=(
            StatisticalWindow(statistic="acc", start="init", at_lead_zero=True)
            if accumulated
            else InstantWindow()
        ),
        level_dimension=ISOBARIC if isobaric else None,
        levels=tuple(float(level) for level in PRESSURE_LEVELS) if isobaric else (),
    )


ENS_VARIABLES = (
    _variable(
        "divergence_isobaric",
        "d",
        (0, 2, 13),
        "Divergence",
        "s**-1",
        "d",
        "divergence_of_wind",
        isobaric=True,
    ),
    _variable(
        "geopotential_height_isobaric",
        "gh",
        (0, 3, 5),
        "Geopotential height",
        "gpm",
        "gh",
        "geopotential_height",
        isobaric=True,
    ),
    _variable(
        "specific_humidity_isobaric",
        "q",
        (0, 1, 0),
        "Specific humidity",
        "kg kg**-1",
        "q",
        "specific_humidity",
        isobaric=True,
    ),
    _variable(
        "relative_humidity_isobaric",
        "r",
        (0, 1, 1),
        "Relative humidity",
        "%",
        "r",
        "relative_humidity",
        isobaric=True,
    ),
    _variable(
        "temperature_isobaric",
        "t",
        (0, 0, 0),
        "Temperature",
        "K",
        "t",
        "air_temperature",
        isobaric=True,
    ),
    _variable(
        "wind_u_isobaric",
        "u",
        (0, 2, 2),
        "U component of wind",
        "m s**-1",
        "u",
        "eastward_wind",
        isobaric=True,
    ),
    _variable(
        "wind_v_isobaric",
        "v",
        (0, 2, 3),
        "V component of wind",
        "m s**-1",
        "v",
        "northward_wind",
        isobaric=True,
    ),
    _variable(
        "relative_vorticity_isobaric",
        "vo",
        (0, 2, 12),
        "Vorticity (relative)",
        "s**-1",
        "vo",
        "atmosphere_relative_vorticity",
        isobaric=True,
    ),
    _variable(
        "wind_u_10m",
        "10u",
        (0, 2, 2),
        "10 metre U wind component",
        "m s**-1",
        "u10",
        "eastward_wind",
        level_type=ABOVE_GROUND,
        level_value=10.0,
    ),
    _variable(
        "wind_v_10m",
        "10v",
        (0, 2, 3),
        "10 metre V wind component",
        "m s**-1",
        "v10",
        "northward_wind",
        level_type=ABOVE_GROUND,
        level_value=10.0,
    ),
    _variable(
        "temperature_2m",
        "2t",
        (0, 0, 0),
        "2 metre temperature",
        "K",
        "t2m",
        "air_temperature",
        level_type=ABOVE_GROUND,
        level_value=2.0,
    ),
    _variable(
        "pressure_reduced_to_mean_sea_level",
        "msl",
        (0, 3, 0),
        "Mean sea level pressure",
        "Pa",
        "msl",
        "air_pressure_at_mean_sea_level",
        level_type="mean sea level",
    ),
    _variable(
        "runoff_surface",
        "ro",
        (2, 0, 201),
        "Runoff",
        "m",
        "ro",
        "runoff_amount",
        step_type="accum",
    ),
    _variable(
        "skin_temperature_surface",
        "skt",
        (0, 0, 17),
        "Skin temperature",
        "K",
        "skt",
        "surface_temperature",
    ),
    _variable(
        "pressure_surface", "sp", (0, 3, 0), "Surface pressure", "Pa", "sp", "surface_air_pressure"
    ),
    _variable(
        "precipitable_water_atmosphere",
        "tcwv",
        (0, 1, 64),
        "Total column vertically-integrated water vapour",
        "kg m**-2",
        "tcwv",
        "atmosphere_mass_content_of_water_vapor",
    ),
    _variable(
        "total_precipitation_surface",
        "tp",
        (0, 1, 193),
        "Total precipitation",
        "m",
        "tp",
        "precipitation_amount",
        step_type="accum",
    ),
)

ECMWF_IFS_ENS_FORECAST_15_DAY = DatasetSpec(
    dataset_id="ecmwf-ifs-ens-forecast-15-day",
    name="ECMWF IFS ENS 0.25° 15-day ensemble forecast",
    description="ECMWF Integrated Forecasting System ensemble (ENS) 00z and 12z forecasts to 15 "
    "days at 0.25°, the control and 50 perturbed members, every ensemble-member field of ECMWF's "
    "open data, served as virtual references to the original GRIB2 messages.",
    attribution="Copyright European Centre for Medium-Range Weather Forecasts (ECMWF), "
    "www.ecmwf.int; ECMWF open data published under CC-BY-4.0 (s3://ecmwf-forecasts). "
    "ECMWF does not accept any liability whatsoever for any error or omission in the data.",
    provider="ecmwf",
    append_dimension=AppendDimension(
        name="init_time",
        start=dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
        frequency=dt.timedelta(hours=12),
    ),
    lead_times=LeadTimeSchedule(
        segments=(
            LeadTimeSegment(start_hours=0, stop_hours=144, step_hours=3),
            LeadTimeSegment(start_hours=150, stop_hours=360, step_hours=6),
        )
    ),
    ensemble=EnsembleSpec(
        members=tuple(range(ENS_MEMBERS)),
        member_labels=("cf", *(f"pf{member}" for member in range(1, ENS_MEMBERS))),
    ),
    grid=RegularLatLonGrid(
        nlat=721, nlon=1440, lat_first=90.0, lat_last=-90.0, lon_first=-180.0, lon_last=179.75
    ),
    levels=(
        LevelDimension(
            name=ISOBARIC,
            values=tuple(float(level) for level in PRESSURE_LEVELS),
            source_labels=tuple(str(level) for level in PRESSURE_LEVELS),
            units="hPa",
            long_name="pressure level",
            standard_name="air_pressure",
            positive="down",
        ),
    ),
    variables=ENS_VARIABLES,
    source=SourceLayout(
        store=ObjectStoreSpec(bucket="ecmwf-forecasts", region="eu-central-1", anonymous=True),
        files=(
            SourceFileKind(
                name="enfo_ef",
                data_key=ENS_KEY + ".grib2",
                index_format="ecmwf_index",
                index_key=ENS_KEY + ".index",
            ),
        ),
        centre=ECMWF_CENTRE,
    ),
    # ecmwf-opendata README: "available between 7 and 9 hours after the forecast starting date
    # and time, depending on the forecasting system and the time step".
    publication=PublicationSchedule(
        first_file_after=dt.timedelta(hours=7),
        last_file_after=dt.timedelta(hours=9, minutes=30),
    ),
)
