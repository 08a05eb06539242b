"""NOAA GFS 0.25° forecast: ``s3://noaa-gfs-bdp-pds``, wgrib2 ``.idx`` inventories.

Inits every 6 h from 2021-05-01 00z; leads 0-120 h hourly then 123-384 h 3-hourly (209 leads);
721 x 1440 grid, 90°N..90°S, 0°E..359.75°E as NCEP writes it.

Every field family of NCEP's real f000 and f007 inventories is a variable (the generated
catalog :mod:`vidx_pipeline.datasets.noaa_gfs_catalog`), isobaric, potential-vorticity, sigma
and hybrid families on a level dimension, the others one variable per level with the level in
the name (``temperature_2m``).

Windowed fields follow NCEP's buckets, which reset every 6 h: at f007 the running maximum is
``6-7 hour max fcst`` and the running precipitation total ``0-7 hour acc fcst``. Lead 0 (f000)
carries the analysis of instantaneous fields (``anl``) and no windowed field at all, so windowed
variables are expected absent there, not missing.
"""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.datasets.noaa_gfs_catalog import GFS_CATALOG, GFS_LEVEL_DIMENSIONS
from vidx_pipeline.datasets.noaa_variables import NCEP_CENTRE, level_dimension, variable_of
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    ObjectStoreSpec,
    PublicationSchedule,
    RegularLatLonGrid,
    SourceFileKind,
    SourceLayout,
)

GFS_DATA_KEY = "gfs.{init:%Y%m%d}/{init:%H}/atmos/gfs.t{init:%H}z.pgrb2.0p25.f{lead_hours:03d}"

NOAA_GFS_FORECAST = DatasetSpec(
    dataset_id="noaa-gfs-forecast",
    name="NOAA GFS 0.25° forecast",
    description="Global Forecast System operational forecasts at 0.25°, as published by "
    "NOAA/NCEP, every field of the pgrb2.0p25 files, served as virtual references to the "
    "original GRIB2 messages.",
    attribution="NOAA/NCEP Global Forecast System; public-domain data from the NOAA Open "
    "Data Dissemination program (s3://noaa-gfs-bdp-pds).",
    provider="noaa",
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
    levels=tuple(level_dimension(entry) for entry in GFS_LEVEL_DIMENSIONS),
    variables=tuple(variable_of(family, GFS_LEVEL_DIMENSIONS) for family in GFS_CATALOG),
    source=SourceLayout(
        store=ObjectStoreSpec(bucket="noaa-gfs-bdp-pds", region="us-east-1", anonymous=True),
        files=(
            SourceFileKind(
                name="pgrb2",
                data_key=GFS_DATA_KEY,
                index_format="wgrib2_idx",
                index_key=GFS_DATA_KEY + ".idx",
            ),
        ),
        centre=NCEP_CENTRE,
    ),
    publication=PublicationSchedule(
        first_file_after=dt.timedelta(hours=3, minutes=30),
        last_file_after=dt.timedelta(hours=6),
    ),
)
