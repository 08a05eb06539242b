"""DWD ICON-EU 5-day forecast on its native icosahedral grid: DWD's ``weather/nwp/v1/`` tree.

**Why.** DWD ended the regular lat/lon tree ``weather/nwp/icon-eu/grib/`` after 30 Nov 2026
(:mod:`vidx_pipeline.datasets.dwd_icon_eu_forecast_5_day`, whose archive ends with init
2026-11-30 18z). ICON-EU goes on in ``weather/nwp/v1/m/icon-eu/p/`` on the model's own grid;
this dataset keeps live ICON-EU data flowing from there.

**Source.** DWD's open-data file server over HTTPS, listed from its directory index pages; one
uncompressed GRIB2 message per object, one object per parameter, level, run and step::

    weather/nwp/v1/m/icon-eu/p/{PARAM}/r/{YYYY-MM-DDTHH:MM}/s/PT{FFF}H00M.grib2
    weather/nwp/v1/m/icon-eu/p/{PARAM}/lvt1/100/lv1/{level in Pa}/r/{YYYY-MM-DDTHH:MM}/s/
        PT{FFF}H00M.grib2

(the layout as public ICON-EU archiving code copies it: parameter directories named as in the
regular tree's file names, pressure levels under level type 100 with the level in Pa, run
directories ``2026-12-01T00:00``, steps as ISO 8601 durations). No index: each object is one
chunk, decoded by gribberish alone (no bz2). The parameters, cycles, leads, windows,
publication times and mirror are the regular tree's (:func:`~vidx_pipeline.datasets.
dwd_icon_eu_forecast_5_day.icon_spec`); that v1 publishes each of them under these names is
taken from DWD's announcement and public archiving code, not verified against a live listing.

**Grid.** ICON-EU's nest of the icosahedral grid, GRIB template 3.101: grid number 27, UUID
``ec13b8bcb82d11e4b13f4d55411d42e6``, 659,156 cells (the values public readers of the v1 tree
check). The cube's last dim is ``cell`` and the grid's number and UUID are dataset
attributes; a message naming another grid, or with another number of points, is refused by the
core's header check. The cells' latitudes and longitudes are not in the messages but in DWD's
grid file for that UUID, ``icon_grid_0027_R03B08_N02.nc`` (published bz2-compressed in
``https://opendata.dwd.de/weather/lib/cdo/``; the name and place as DWD's remapping notes give
them, not checked against a live listing). Where ``VIDX_GRID_FILES`` names a directory or URL
holding it, the cube gets ``latitude``/``longitude`` (cell) and their vertices from it
(:mod:`vidx_pipeline.grid_files`); otherwise it has no cell coordinates. gribberish's
metadata parser refuses template 3.101, but its array decode (the codec's path) reads these
messages; the core reads the header with its own parser.

**Mirror.** Like the regular tree, v1 keeps files about a day: each published object is copied
unchanged into the project's mirror under ``{init:%Y%m%d%H}/`` + DWD's key, and the refs point
at the copy.

**Archive start: 2026-12-01 00z**, the first init after the regular tree ended.
"""

from __future__ import annotations

import datetime as dt

from vidx_pipeline.datasets.dwd_icon_eu_forecast_5_day import IconTree, icon_spec
from vidx_pipeline.spec import UnstructuredGrid

V1_PARAMETERS = "weather/nwp/v1/m/icon-eu/p/"
ICON_EU_ICOSAHEDRAL_GRID = UnstructuredGrid(
    cells=659_156,
    grid_number=27,
    grid_uuid="ec13b8bcb82d11e4b13f4d55411d42e6",
    grid_file="icon_grid_0027_R03B08_N02.nc",
)
DWD_GRID_FILES = "https://opendata.dwd.de/weather/lib/cdo/"
"""Where DWD publishes ICON grid files, bz2-compressed (``icon_grid_0027_R03B08_N02.nc.bz2``):
a value for ``VIDX_GRID_FILES``."""
_RUN_AND_STEP = "r/{init:%Y-%m-%dT%H:%M}/s/PT{lead_hours:03d}H00M.grib2"
ISOBARIC_LEVEL_TYPE = 100  # GRIB2 code table 4.5: isobaric surface, level in Pa


def v1_key(param: str, level_hpa: int | None) -> str:
    """The v1 tree's key template of ``param``'s object (at ``level_hpa``, or single-level)."""
    if level_hpa is None:
        return f"{V1_PARAMETERS}{param}/{_RUN_AND_STEP}"
    return (
        f"{V1_PARAMETERS}{param}/lvt1/{ISOBARIC_LEVEL_TYPE}/lv1/{level_hpa * 100}/{_RUN_AND_STEP}"
    )


ICOSAHEDRAL_TREE = IconTree(
    dataset_id="dwd-icon-eu-icosahedral-forecast-5-day",
    name="DWD ICON-EU forecast, 5 day, native icosahedral grid",
    description="Deutscher Wetterdienst ICON-EU 00, 06, 12 and 18z forecasts to 120 hours on "
    "the model's native icosahedral grid (659,156 cells over Europe), every single-level and "
    "pressure-level parameter of DWD's open data, served as virtual references to the original "
    "GRIB2 messages (copied unchanged to the project's mirror: DWD keeps them a day).",
    grid=ICON_EU_ICOSAHEDRAL_GRID,
    start=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    end=None,
    key_of=v1_key,
    compression="none",
)

DWD_ICON_EU_ICOSAHEDRAL_FORECAST_5_DAY = icon_spec(ICOSAHEDRAL_TREE)
