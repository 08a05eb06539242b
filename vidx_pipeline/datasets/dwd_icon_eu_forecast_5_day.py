"""DWD ICON-EU 5-day forecast, regular 0.0625° lat/lon: ``https://opendata.dwd.de/``, no index.

**Source.** DWD's open-data file server (HTTP only, no S3 API), tree
``weather/nwp/icon-eu/grib/HH/{param}/icon-eu_europe_regular-lat-lon_{single-level|
pressure-level}_YYYYMMDDHH_FFF[_LLL]_{PARAM}.grib2.bz2``: one bz2-compressed GRIB2 message per
file (ie3-institute/DWDWeatherTools README; dynamical-org/reformatters ``dwd/README.md``). Files
are discovered from the server's directory index pages (:mod:`vidx_pipeline.http_listing`).
There is no index: each object is one chunk (``index_format="none"``), and each array's codec
chain is bz2 then gribberish. One file kind per parameter, and per parameter and pressure level
(:mod:`vidx_pipeline.providers.dwd`). Parameters: every regular-grid single-level and
pressure-level parameter of ICON-EU, :mod:`vidx_pipeline.datasets.dwd_icon_eu_catalog` (which
cites its sources and says what was not verified); variables are named by DWD's own parameter
names in lower case (``t_2m``, ``tot_prec``), a pressure-level one with ``_isobaric``.

**Mirror.** DWD keeps each file about a day (the ``HH/`` directories are overwritten by the
next day's run), so ``source.mirror`` says each published object is copied unchanged (still
bz2) into the project's mirror store, under ``{init:%Y%m%d%H}/`` + DWD's key; the refs point at
the copy (:mod:`vidx_pipeline.mirror`).

**Cycles and leads.** Inits 00, 06, 12 and 18 UTC run to 120 h: hourly to 78 h, then 3-hourly
(93 leads). (The 03/09/15/21 UTC runs stop at 30 h and are not part of this dataset.) Every
parameter is expected at every lead including 0, time means and accumulations over a
zero-length window there; ``TMAX_2M``, ``TMIN_2M`` and ``VMAX_10M`` are taken as maxima/minima
over the hour before the lead (``reset_hours=1``): beyond 78 h DWD's output interval, and so
presumably their window, is 3 h, which this spec does not express (decode health would report
those leads' windows). Neither was verified against a real DWD file beyond lead 0.

**Grid.** 657 x 1097 points, 29.5°N to 70.5°N (south to north, as DWD scans), 23.5°W
(``longitudeOfFirstGridPoint`` 336.5°) to 45°E, checked with ecCodes against the real message
``vidx_pipeline_tests/fixtures/real/grib/icon-eu_europe_regular-lat-lon_single-level_
2020062300_000_T_2M.grib2.bz2``. A message on another grid (another model's, ICON-D2's, the
icosahedral one) is refused by the core's header check, naming the object.

**Packing and the end of this tree.** DWD switched ICON's GRIB2 packing to CCSDS (template
5.42) in June 2026; gribberish decodes both (tested against ecCodes), so nothing in the spec
changes. DWD ended the ``weather/nwp/icon-eu/grib/`` tree after 30 Nov 2026: **the archive ends
with init 2026-11-30 18z**. Its successor, ``weather/nwp/v1/``, publishes ICON-EU only on the
native icosahedral grid: live ICON-EU data goes on in
:mod:`vidx_pipeline.datasets.dwd_icon_eu_icosahedral_forecast_5_day` (same parameters, leads
and mirror; the shared parts are :func:`icon_spec`). The append dimension ends there
(``AppendDimension.end``): the last partition is 2026-11-30 18z, the sensor and the mirror
schedule start nothing after it, and currency judges the archive current once that partition
is complete. Its partitions read from the mirror from then on.

**Archive start: 2026-11-01 00z**, the first init the project's mirror is assumed to hold
complete (DWD itself keeps no history): set it to the mirror's first complete init.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from vidx_pipeline.datasets.dwd_icon_eu_catalog import (
    PARAMETERS,
    PRESSURE_LEVELS_HPA,
    IconParameter,
)
from vidx_pipeline.providers.dwd import IconMatch
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    Grid,
    HttpStoreSpec,
    InstantWindow,
    LeadTimeSchedule,
    LeadTimeSegment,
    LevelDimension,
    MirrorSpec,
    PublicationSchedule,
    RegularLatLonGrid,
    SourceFileKind,
    SourceLayout,
    StatisticalWindow,
    VariableAttrs,
    VariableSpec,
    WindowRule,
)

DWD_CENTRE = 78
DWD_BASE_URL = "https://opendata.dwd.de/"
ISOBARIC = "isobaric_level"
ICON_EU_GRID = RegularLatLonGrid(
    nlat=657, nlon=1097, lat_first=29.5, lat_last=70.5, lon_first=-23.5, lon_last=45.0
)
_DIRECTORY = "weather/nwp/icon-eu/grib/{init:%H}/"
_FILE = "icon-eu_europe_regular-lat-lon_"
_STEP_TYPES: dict[str, Literal["accum", "avg", "max", "min"]] = {
    "ave": "avg",
    "acc": "accum",
    "max": "max",
    "min": "min",
}


def single_level_key(param: str) -> str:
    """DWD's key template of a single-level parameter's file."""
    return (
        f"{_DIRECTORY}{param.lower()}/{_FILE}single-level_{{init:%Y%m%d%H}}_"
        f"{{lead_hours:03d}}_{param}.grib2.bz2"
    )


def pressure_level_key(param: str, level_hpa: int) -> str:
    """DWD's key template of a pressure-level parameter's file at ``level_hpa``."""
    return (
        f"{_DIRECTORY}{param.lower()}/{_FILE}pressure-level_{{init:%Y%m%d%H}}_"
        f"{{lead_hours:03d}}_{level_hpa}_{param}.grib2.bz2"
    )


def _kind_name(parameter: IconParameter, level_hpa: int | None = None) -> str:
    name = parameter.param.lower()
    return name if level_hpa is None else f"{name}_{level_hpa}hpa"


def _window(parameter: IconParameter) -> WindowRule:
    match parameter.statistic:
        case None:
            return InstantWindow()
        case "ave" | "acc":
            return StatisticalWindow(statistic=parameter.statistic, start="init", at_lead_zero=True)
        case "max" | "min":
            return StatisticalWindow(
                statistic=parameter.statistic, reset_hours=1, at_lead_zero=True
            )


def _variable(parameter: IconParameter, levels: tuple[int, ...]) -> VariableSpec:
    step_type: Literal["instant", "accum", "avg", "max", "min"] = (
        _STEP_TYPES[parameter.statistic] if parameter.statistic else "instant"
    )
    attrs = VariableAttrs(
        long_name=parameter.long_name,
        units=parameter.units,
        short_name=parameter.param,
        step_type=step_type,
    )
    match = IconMatch(
        param=parameter.param,
        parameter=parameter.parameter,
        level_type=parameter.level_type,
        level_value=parameter.level_value,
    )
    if not parameter.pressure:
        return VariableSpec(
            name=parameter.param.lower(),
            attrs=attrs,
            match=match,
            window=_window(parameter),
            source_file=_kind_name(parameter),
        )
    return VariableSpec(
        name=f"{parameter.param.lower()}_isobaric",
        attrs=attrs,
        match=match,
        window=_window(parameter),
        level_dimension=ISOBARIC,
        levels=tuple(float(level) for level in levels),
        level_source_files={_kind_name(parameter, level): (float(level),) for level in levels},
    )


KeyOf = Callable[[str, int | None], str]
"""A tree's key template of a parameter's file (at a pressure level in hPa, or single-level)."""


def regular_key(param: str, level_hpa: int | None) -> str:
    """The regular lat/lon tree's key template of ``param``'s file at ``level_hpa``."""
    return single_level_key(param) if level_hpa is None else pressure_level_key(param, level_hpa)


def _file_kinds(
    parameter: IconParameter,
    levels: tuple[int, ...],
    key_of: KeyOf,
    compression: Literal["none", "bz2"],
) -> list[SourceFileKind]:
    keys = (
        [(_kind_name(parameter, level), key_of(parameter.param, level)) for level in levels]
        if parameter.pressure
        else [(_kind_name(parameter), key_of(parameter.param, None))]
    )
    return [
        SourceFileKind(name=name, data_key=key, index_format="none", compression=compression)
        for name, key in keys
    ]


def _levels(pressure_levels: tuple[int, ...]) -> tuple[LevelDimension, ...]:
    return (
        LevelDimension(
            name=ISOBARIC,
            values=tuple(float(level) for level in pressure_levels),
            source_labels=tuple(str(level) for level in pressure_levels),
            units="hPa",
            long_name="pressure level",
            standard_name="air_pressure",
            positive="down",
        ),
    )


@dataclass(frozen=True)
class IconTree:
    """What differs between the datasets of DWD's ICON-EU trees: which dataset, its grid and
    archive start, and how the tree names and compresses its files."""

    dataset_id: str
    name: str
    description: str
    grid: Grid
    start: dt.datetime
    end: dt.datetime | None  # the last init, where DWD ended the tree
    key_of: KeyOf
    compression: Literal["none", "bz2"]


def icon_spec(
    tree: IconTree,
    parameters: tuple[IconParameter, ...] = PARAMETERS,
    pressure_levels: tuple[int, ...] = PRESSURE_LEVELS_HPA,
) -> DatasetSpec:
    """The dataset of ``tree`` holding ``parameters`` on ``pressure_levels`` (hPa): every one
    by default; tests take a few. Every ICON-EU tree shares DWD's cycles, leads, parameters,
    publication times and mirror."""
    return DatasetSpec(
        dataset_id=tree.dataset_id,
        name=tree.name,
        description=tree.description,
        attribution="Deutscher Wetterdienst (DWD), opendata.dwd.de; data under the DWD open data "
        "terms (CC BY 4.0). Source: Deutscher Wetterdienst.",
        provider="dwd",
        append_dimension=AppendDimension(
            name="init_time", start=tree.start, frequency=dt.timedelta(hours=6), end=tree.end
        ),
        lead_times=LeadTimeSchedule(
            segments=(
                LeadTimeSegment(start_hours=0, stop_hours=78, step_hours=1),
                LeadTimeSegment(start_hours=81, stop_hours=120, step_hours=3),
            )
        ),
        grid=tree.grid,
        levels=_levels(pressure_levels) if any(p.pressure for p in parameters) else (),
        variables=tuple(_variable(parameter, pressure_levels) for parameter in parameters),
        source=SourceLayout(
            store=HttpStoreSpec(base_url=DWD_BASE_URL),
            files=tuple(
                kind
                for parameter in parameters
                for kind in _file_kinds(parameter, pressure_levels, tree.key_of, tree.compression)
            ),
            centre=DWD_CENTRE,
            mirror=MirrorSpec(key_prefix="{init:%Y%m%d%H}/"),
        ),
        # DWDWeatherTools README: uploads take "up to 5 hours after the start, but most times
        # about 2-3 hours".
        publication=PublicationSchedule(
            first_file_after=dt.timedelta(hours=2),
            last_file_after=dt.timedelta(hours=5),
        ),
    )


REGULAR_TREE = IconTree(
    dataset_id="dwd-icon-eu-forecast-5-day",
    name="DWD ICON-EU forecast, 5 day",
    description="Deutscher Wetterdienst ICON-EU 00, 06, 12 and 18z forecasts to 120 hours on "
    "the regular 0.0625° Europe grid, every single-level and pressure-level parameter of DWD's "
    "open data, served as virtual references to the original bz2-compressed GRIB2 messages "
    "(copied unchanged to the project's mirror: DWD keeps them a day).",
    grid=ICON_EU_GRID,
    start=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    end=dt.datetime(2026, 11, 30, 18, tzinfo=dt.UTC),
    key_of=regular_key,
    compression="bz2",
)


def icon_eu_spec(
    parameters: tuple[IconParameter, ...] = PARAMETERS,
    pressure_levels: tuple[int, ...] = PRESSURE_LEVELS_HPA,
) -> DatasetSpec:
    """The regular-grid dataset of ``parameters`` on ``pressure_levels`` (see
    :func:`icon_spec`)."""
    return icon_spec(REGULAR_TREE, parameters, pressure_levels)


DWD_ICON_EU_FORECAST_5_DAY = icon_eu_spec()
