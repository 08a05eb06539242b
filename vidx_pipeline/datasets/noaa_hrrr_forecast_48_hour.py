"""NOAA HRRR 48-hour forecast, 3 km CONUS: ``s3://noaa-hrrr-bdp-pds``, wgrib2 ``.idx`` inventories.

The 00/06/12/18z cycles (the ones NCEP runs to 48 h) from 2020-12-02 12z, when HRRR version 4
(whose ``wrfsfcf`` field list this follows) became operational, hourly leads 0-48 h; the
surface-fields file ``hrrr.tHHz.wrfsfcfFF.grib2``. Lambert conformal grid 1059 x 1799 (dims
``y``, ``x``; 2-D ``latitude``/``longitude``), as in NCEP's own messages (checked against a real
HRRR message by the tests).

Every field family of the real f00 and f24 inventories is a variable (the generated catalog
:mod:`vidx_pipeline.datasets.noaa_hrrr_catalog`). HRRR's statistical windows are 1-hour buckets
(``23-24 hour max fcst``) and running totals since initialisation (``0-1 day acc fcst``), and
its f00 file writes zero-length windows (``0-0 day max fcst``) for most of them, which are
expected there; at f01 a bucket and its running total are both ``0-1 hour acc fcst``, given to
the two variables in file order.
"""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.datasets.noaa_hrrr_catalog import HRRR_CATALOG, HRRR_LEVEL_DIMENSIONS
from vidx_pipeline.datasets.noaa_variables import NCEP_CENTRE, level_dimension, variable_of
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    LambertConformalGrid,
    LeadTimeSchedule,
    LeadTimeSegment,
    ObjectStoreSpec,
    PublicationSchedule,
    SourceFileKind,
    SourceLayout,
)

HRRR_BUCKET_HOURS = 1
HRRR_DATA_KEY = "hrrr.{init:%Y%m%d}/conus/hrrr.t{init:%H}z.wrfsfcf{lead_hours:02d}.grib2"

HRRR_GRID = LambertConformalGrid(
    nx=1799,
    ny=1059,
    first_latitude=21.138123,
    first_longitude=237.280472,
    lov=262.5,
    latin1=38.5,
    latin2=38.5,
    dx_metres=3000.0,
    dy_metres=3000.0,
)

NOAA_HRRR_FORECAST_48_HOUR = DatasetSpec(
    dataset_id="noaa-hrrr-forecast-48-hour",
    name="NOAA HRRR 3 km CONUS 48-hour forecast",
    description="High-Resolution Rapid Refresh (version 4) 00/06/12/18z forecasts to 48 h on "
    "its 3 km CONUS Lambert conformal grid, as published by NOAA/NCEP, every field of the "
    "wrfsfc files, served as virtual references to the original GRIB2 messages.",
    attribution="NOAA/NCEP High-Resolution Rapid Refresh; public-domain data from the NOAA "
    "Open Data Dissemination program (s3://noaa-hrrr-bdp-pds).",
    provider="noaa",
    append_dimension=AppendDimension(
        name="init_time",
        start=dt.datetime(2020, 12, 2, 12, tzinfo=dt.UTC),
        frequency=dt.timedelta(hours=6),
    ),
    lead_times=LeadTimeSchedule(
        segments=(LeadTimeSegment(start_hours=0, stop_hours=48, step_hours=1),)
    ),
    grid=HRRR_GRID,
    levels=tuple(level_dimension(entry) for entry in HRRR_LEVEL_DIMENSIONS),
    variables=tuple(
        variable_of(family, HRRR_LEVEL_DIMENSIONS, HRRR_BUCKET_HOURS) for family in HRRR_CATALOG
    ),
    source=SourceLayout(
        store=ObjectStoreSpec(bucket="noaa-hrrr-bdp-pds", region="us-east-1", anonymous=True),
        files=(
            SourceFileKind(
                name="wrfsfc",
                data_key=HRRR_DATA_KEY,
                index_format="wgrib2_idx",
                index_key=HRRR_DATA_KEY + ".idx",
            ),
        ),
        centre=NCEP_CENTRE,
    ),
    publication=PublicationSchedule(
        first_file_after=dt.timedelta(minutes=50),
        last_file_after=dt.timedelta(hours=2),
    ),
    # A commit costs icechunk ~0.35 us per manifest split of every array it touches, counted
    # over the array's whole length (~7,000 inits here), however few chunks are written; an HRRR
    # init holds ~50 refs per array, so a day per split costs little to rewrite and cut an
    # init's commit from 0.39 s to 0.16 s of CPU (GFS, with ~750 refs per array and init, keeps 1).
    manifest_split_size=4,
)
