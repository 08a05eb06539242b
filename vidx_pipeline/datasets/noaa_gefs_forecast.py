"""NOAA GEFS 35-day ensemble forecast, 0.5°: ``s3://noaa-gefs-pds``, wgrib2 ``.idx`` inventories.

The 00z cycle only (the one NCEP runs to 35 days) from 2020-10-01, the first whole month of GEFS
version 12 (operational 2020-09-23), whose ``pgrb2ap5``/``pgrb2bp5`` layout this follows. Leads
0-240 h every 3 h, then 246-840 h every 6 h (181 leads); 31 members, ``ensemble_member`` 0 the
control (``gec00``, ``ENS=low-res ctl``) and 1-30 the perturbed members (``gep01``..``gep30``,
``ENS=+1``..``ENS=+30``); 361 x 720 grid, 90°N..90°S, 0°E..359.5°E.

Each member and lead has two files, ``pgrb2a`` (the common fields) and ``pgrb2b`` (the rest);
every field family of both real inventories is a variable (the generated catalog
:mod:`vidx_pipeline.datasets.noaa_gefs_catalog`). NCEP splits some families' pressure levels
between the two kinds (TMP at 500 hPa in ``pgrb2a``, at 975 hPa in ``pgrb2b``): they are one
variable on ``isobaric_level``, each level read from the kind that holds it. A member/lead is
complete when both its files are ingested; each file is committed as soon as it is published.

Windowed fields follow NCEP's 6-hourly buckets (``426-432 hour max fcst``). Lead 0 is assumed to
carry every instantaneous field and no windowed one (GFS's rule; no real f000 inventory of these
kinds was at hand when the catalog was generated).
"""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.datasets.noaa_gefs_catalog import GEFS_CATALOG, GEFS_LEVEL_DIMENSIONS
from vidx_pipeline.datasets.noaa_variables import NCEP_CENTRE, level_dimension, variable_of
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    EnsembleSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    ObjectStoreSpec,
    PublicationSchedule,
    RegularLatLonGrid,
    SourceFileKind,
    SourceLayout,
)

GEFS_MEMBERS = 31


def gefs_key(kind: str) -> str:
    """NOAA's key template of a GEFS 0.5° file of ``kind`` (``pgrb2a`` or ``pgrb2b``)."""
    return (
        f"gefs.{{init:%Y%m%d}}/{{init:%H}}/atmos/{kind}p5/"
        f"ge{{member}}.t{{init:%H}}z.{kind}.0p50.f{{lead_hours:03d}}"
    )


def _file_kind(kind: str) -> SourceFileKind:
    key = gefs_key(kind)
    return SourceFileKind(
        name=kind, data_key=key, index_format="wgrib2_idx", index_key=key + ".idx"
    )


NOAA_GEFS_FORECAST_35_DAY = DatasetSpec(
    dataset_id="noaa-gefs-forecast-35-day",
    name="NOAA GEFS 0.5° 35-day ensemble forecast",
    description="Global Ensemble Forecast System (version 12) 00z forecasts to 35 days at 0.5°, "
    "31 members, as published by NOAA/NCEP, every field of the pgrb2a and pgrb2b files, served "
    "as virtual references to the original GRIB2 messages.",
    attribution="NOAA/NCEP Global Ensemble Forecast System; public-domain data from the NOAA "
    "Open Data Dissemination program (s3://noaa-gefs-pds).",
    provider="noaa",
    append_dimension=AppendDimension(
        name="init_time",
        start=dt.datetime(2020, 10, 1, tzinfo=dt.UTC),
        frequency=dt.timedelta(days=1),
    ),
    lead_times=LeadTimeSchedule(
        segments=(
            LeadTimeSegment(start_hours=0, stop_hours=240, step_hours=3),
            LeadTimeSegment(start_hours=246, stop_hours=840, step_hours=6),
        )
    ),
    ensemble=EnsembleSpec(
        members=tuple(range(GEFS_MEMBERS)),
        member_labels=("c00", *(f"p{member:02d}" for member in range(1, GEFS_MEMBERS))),
    ),
    grid=RegularLatLonGrid(
        nlat=361, nlon=720, lat_first=90.0, lat_last=-90.0, lon_first=0.0, lon_last=359.5
    ),
    levels=tuple(level_dimension(entry) for entry in GEFS_LEVEL_DIMENSIONS),
    variables=tuple(variable_of(family, GEFS_LEVEL_DIMENSIONS) for family in GEFS_CATALOG),
    source=SourceLayout(
        store=ObjectStoreSpec(bucket="noaa-gefs-pds", region="us-east-1", anonymous=True),
        files=(_file_kind("pgrb2a"), _file_kind("pgrb2b")),
        centre=NCEP_CENTRE,
    ),
    publication=PublicationSchedule(
        first_file_after=dt.timedelta(hours=3, minutes=30),
        last_file_after=dt.timedelta(hours=8),
    ),
)
