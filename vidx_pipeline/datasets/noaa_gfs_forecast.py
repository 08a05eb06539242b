"""NOAA GFS 0.25° forecast: ``s3://noaa-gfs-bdp-pds``, wgrib2 ``.idx`` inventories.

Inits every 6 h from 2021-05-01 00z; leads 0-120 h hourly then 123-384 h 3-hourly (209 leads);
721 x 1440 grid, 90°N..90°S, 0°E..359.75°E as NCEP writes it.

Windowed fields follow NCEP's buckets, which reset every 6 h: at f007 the running maximum is
``6-7 hour max fcst`` and the running precipitation total ``0-7 hour acc fcst``. Lead 0 (f000)
carries the analysis of instantaneous fields (``anl``) and no windowed field at all, so windowed
variables are expected absent there, not missing.
"""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    InstantWindow,
    LeadTimeSchedule,
    LeadTimeSegment,
    ObjectStoreSpec,
    PublicationSchedule,
    RegularLatLonGrid,
    SourceLayout,
    StatisticalWindow,
    VariableAttrs,
    VariableSpec,
    Wgrib2Match,
    WindowRule,
)

INSTANT = InstantWindow()
MAX_6H = StatisticalWindow(statistic="max")
MIN_6H = StatisticalWindow(statistic="min")
AVERAGE_6H = StatisticalWindow(statistic="ave")
SINCE_INIT_TOTAL = StatisticalWindow(statistic="acc", start="init")

_STEP_TYPES = {"acc": "accum", "ave": "avg", "max": "max", "min": "min"}


def _variable(
    name: str,
    element: str,
    level: str,
    long_name: str,
    units: str,
    window: WindowRule = INSTANT,
    standard_name: str | None = None,
    comment: str | None = None,
) -> VariableSpec:
    step_type = "instant" if isinstance(window, InstantWindow) else _STEP_TYPES[window.statistic]
    return VariableSpec(
        name=name,
        attrs=VariableAttrs(
            long_name=long_name,
            units=units,
            short_name=element.lower(),
            standard_name=standard_name,
            step_type=step_type,
            comment=comment,
        ),
        match=Wgrib2Match(element=element, level=level, window=window),
    )


GFS_VARIABLES: tuple[VariableSpec, ...] = (
    _variable(
        "temperature_2m",
        "TMP",
        "2 m above ground",
        "2 metre temperature",
        "K",
        standard_name="air_temperature",
    ),
    _variable(
        "dew_point_temperature_2m",
        "DPT",
        "2 m above ground",
        "2 metre dewpoint temperature",
        "K",
        standard_name="dew_point_temperature",
    ),
    _variable(
        "relative_humidity_2m",
        "RH",
        "2 m above ground",
        "2 metre relative humidity",
        "%",
        standard_name="relative_humidity",
    ),
    _variable(
        "maximum_temperature_2m",
        "TMAX",
        "2 m above ground",
        "Maximum temperature since the last 6-hourly reset",
        "K",
        MAX_6H,
        standard_name="air_temperature",
    ),
    _variable(
        "minimum_temperature_2m",
        "TMIN",
        "2 m above ground",
        "Minimum temperature since the last 6-hourly reset",
        "K",
        MIN_6H,
        standard_name="air_temperature",
    ),
    _variable(
        "wind_u_10m",
        "UGRD",
        "10 m above ground",
        "10 metre U wind component",
        "m s-1",
        standard_name="eastward_wind",
    ),
    _variable(
        "wind_v_10m",
        "VGRD",
        "10 m above ground",
        "10 metre V wind component",
        "m s-1",
        standard_name="northward_wind",
    ),
    _variable(
        "wind_u_100m",
        "UGRD",
        "100 m above ground",
        "100 metre U wind component",
        "m s-1",
        standard_name="eastward_wind",
    ),
    _variable(
        "wind_v_100m",
        "VGRD",
        "100 m above ground",
        "100 metre V wind component",
        "m s-1",
        standard_name="northward_wind",
    ),
    _variable(
        "wind_gust_surface",
        "GUST",
        "surface",
        "Wind speed (gust)",
        "m s-1",
        standard_name="wind_speed_of_gust",
    ),
    _variable(
        "pressure_reduced_to_mean_sea_level",
        "PRMSL",
        "mean sea level",
        "Pressure reduced to MSL",
        "Pa",
        standard_name="air_pressure_at_mean_sea_level",
    ),
    _variable(
        "pressure_surface",
        "PRES",
        "surface",
        "Surface pressure",
        "Pa",
        standard_name="surface_air_pressure",
    ),
    _variable(
        "precipitation_rate_surface",
        "PRATE",
        "surface",
        "Precipitation rate averaged since the last 6-hourly reset",
        "kg m-2 s-1",
        AVERAGE_6H,
        standard_name="precipitation_flux",
    ),
    _variable(
        "total_precipitation_surface",
        "APCP",
        "surface",
        "Total precipitation accumulated since initialization",
        "kg m-2",
        SINCE_INIT_TOTAL,
        standard_name="precipitation_amount",
    ),
    _variable("categorical_rain_surface", "CRAIN", "surface", "Categorical rain", "1"),
    _variable("categorical_snow_surface", "CSNOW", "surface", "Categorical snow", "1"),
    _variable(
        "categorical_freezing_rain_surface", "CFRZR", "surface", "Categorical freezing rain", "1"
    ),
    _variable(
        "categorical_ice_pellets_surface", "CICEP", "surface", "Categorical ice pellets", "1"
    ),
    _variable(
        "percent_frozen_precipitation_surface",
        "CPOFP",
        "surface",
        "Percent frozen precipitation",
        "%",
    ),
    _variable(
        "total_cloud_cover_atmosphere",
        "TCDC",
        "entire atmosphere",
        "Total cloud cover",
        "%",
        standard_name="cloud_area_fraction",
    ),
    _variable(
        "precipitable_water_atmosphere",
        "PWAT",
        "entire atmosphere (considered as a single layer)",
        "Precipitable water",
        "kg m-2",
        standard_name="atmosphere_mass_content_of_water_vapor",
    ),
    _variable(
        "downward_short_wave_radiation_flux_surface",
        "DSWRF",
        "surface",
        "Downward short-wave radiation flux averaged since the last 6-hourly reset",
        "W m-2",
        AVERAGE_6H,
        standard_name="surface_downwelling_shortwave_flux_in_air",
    ),
    _variable(
        "downward_long_wave_radiation_flux_surface",
        "DLWRF",
        "surface",
        "Downward long-wave radiation flux averaged since the last 6-hourly reset",
        "W m-2",
        AVERAGE_6H,
        standard_name="surface_downwelling_longwave_flux_in_air",
    ),
    _variable(
        "visibility_surface", "VIS", "surface", "Visibility", "m", standard_name="visibility_in_air"
    ),
    _variable(
        "snow_depth_surface",
        "SNOD",
        "surface",
        "Snow depth",
        "m",
        standard_name="surface_snow_thickness",
    ),
    _variable(
        "convective_available_potential_energy_surface",
        "CAPE",
        "surface",
        "Convective available potential energy",
        "J kg-1",
        standard_name="atmosphere_convective_available_potential_energy",
    ),
    _variable(
        "soil_moisture_0_to_10cm",
        "SOILW",
        "0-0.1 m below ground",
        "Volumetric soil moisture content, 0-10 cm",
        "m3 m-3",
        comment="Defined over land only: NCEP writes a bitmap, sea points are NaN.",
    ),
)

NOAA_GFS_FORECAST = DatasetSpec(
    dataset_id="noaa-gfs-forecast",
    name="NOAA GFS 0.25° forecast",
    description="Global Forecast System operational forecasts at 0.25°, as published by "
    "NOAA/NCEP, served as virtual references to the original GRIB2 messages.",
    attribution="NOAA/NCEP Global Forecast System; public-domain data from the NOAA Open "
    "Data Dissemination program (s3://noaa-gfs-bdp-pds).",
    append_dimension=AppendDimension(
        name="init_time",
        start=dt.datetime(2021, 5, 1, tzinfo=dt.UTC),
        frequency=dt.timedelta(hours=6),
    ),
    lead_times=LeadTimeSchedule(
        segments=(
            LeadTimeSegment(start_hours=0, stop_hours=120, step_hours=1),
            LeadTimeSegment(start_hours=123, stop_hours=384, step_hours=3),
        )
    ),
    grid=RegularLatLonGrid(
        nlat=721, nlon=1440, lat_first=90.0, lat_last=-90.0, lon_first=0.0, lon_last=359.75
    ),
    variables=GFS_VARIABLES,
    source=SourceLayout(
        store=ObjectStoreSpec(bucket="noaa-gfs-bdp-pds", region="us-east-1", anonymous=True),
        data_key="gfs.{init:%Y%m%d}/{init:%H}/atmos/gfs.t{init:%H}z.pgrb2.0p25.f{lead_hours:03d}",
        index_format="wgrib2_idx",
        index_key="gfs.{init:%Y%m%d}/{init:%H}/atmos/gfs.t{init:%H}z.pgrb2.0p25.f{lead_hours:03d}.idx",
    ),
    publication=PublicationSchedule(
        first_file_after=dt.timedelta(hours=3, minutes=30),
        last_file_after=dt.timedelta(hours=6),
    ),
)
