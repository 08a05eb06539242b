"""NOAA GFS analysis by valid time: ``s3://noaa-gfs-bdp-pds``, the GFS forecast's own files.

Hourly ``time`` from 2021-05-01 00z. Each hour is taken from the newest GFS cycle at or before
it, at lead 0-5 h: the f000 analysis at 00/06/12/18z, then f001-f005 of that cycle; the
``source_lead_time`` coordinate says which. One hour has exactly one source (a newer cycle's
leads start at its own time), so an hour once committed is never replaced by another cycle;
a re-published file of the same cycle is re-ingested like any replaced object.

Variables are the GFS forecast's (:mod:`vidx_pipeline.datasets.noaa_gfs_forecast`): every
instantaneous family at every hour the producer writes it (forecast-only fields are absent at
the f000 hours, as in the forecast dataset), and every windowed family only where one message
covers exactly the hour before: f001's ``0-1 hour`` windows (NCEP's 6-hourly bucket and its
running total coincide there, so both keep their forecast names). Values are never combined:
refs only. Their other hours read as NaN.

Partitions are valid hours; the partition of an hour exists once the hour has come (the time
axis never grows into the future), and the publication schedule is its source cycle's: f000 to
f005 appear about 3 h 30 min to 4 h after the cycle.
"""

from __future__ import annotations

import datetime as dt
import re

from vidx_pipeline.datasets.noaa_gfs_catalog import GFS_CATALOG, GFS_LEVEL_DIMENSIONS
from vidx_pipeline.datasets.noaa_gfs_forecast import NOAA_GFS_FORECAST
from vidx_pipeline.datasets.noaa_variables import variable_of
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    PublicationSchedule,
    SourceCycles,
    StatisticalWindow,
    VariableSpec,
)

GFS_CYCLES = SourceCycles(
    start=NOAA_GFS_FORECAST.append_dimension.start,
    frequency=NOAA_GFS_FORECAST.append_dimension.frequency,
)
HOUR_BEFORE_LEAD = 1
"""The only lead whose GFS windows (0-1 h) are the hour before the valid time."""
_STATISTIC_WORDS = {"acc": "accumulation", "ave": "average", "max": "maximum", "min": "minimum"}
_WINDOW_NOTE = re.compile(r"\s*\([^()]*\)$")


def analysis_variable(variable: VariableSpec) -> VariableSpec:
    """The forecast's variable as the analysis takes it: a windowed one only at f001, described
    as over the hour before the valid time."""
    if not isinstance(variable.window, StatisticalWindow):
        return variable
    words = _STATISTIC_WORDS[variable.window.statistic]
    long_name = _WINDOW_NOTE.sub("", variable.attrs.long_name)
    attrs = variable.attrs.model_copy(
        update={"long_name": f"{long_name} ({words} over the hour ending at the time)"}
    )
    return variable.model_copy(update={"only_at_leads": (HOUR_BEFORE_LEAD,), "attrs": attrs})


NOAA_GFS_ANALYSIS = DatasetSpec(
    dataset_id="noaa-gfs-analysis",
    name="NOAA GFS 0.25° analysis",
    description="Hourly Global Forecast System fields at 0.25° by valid time: the f000 "
    "analysis and the f001-f005 forecasts of the newest cycle, every field of the pgrb2.0p25 "
    "files, served as virtual references to the original GRIB2 messages.",
    attribution=NOAA_GFS_FORECAST.attribution,
    provider="noaa",
    append_dimension=AppendDimension(
        name="time", start=GFS_CYCLES.start, frequency=dt.timedelta(hours=1)
    ),
    lead_times=None,
    source_cycles=GFS_CYCLES,
    grid=NOAA_GFS_FORECAST.grid,
    levels=NOAA_GFS_FORECAST.levels,
    variables=tuple(
        analysis_variable(variable_of(family, GFS_LEVEL_DIMENSIONS)) for family in GFS_CATALOG
    ),
    source=NOAA_GFS_FORECAST.source,
    publication=PublicationSchedule(
        first_file_after=dt.timedelta(hours=3, minutes=30),
        last_file_after=dt.timedelta(hours=5),
    ),
    manifest_split_size=24,  # a day per split: an hour holds 1/209 of a forecast cycle
)
