"""NOAA/NCEP quirks: the forecast-time text wgrib2 writes in ``.idx`` inventories.

wgrib2 renders the forecast-time field of an inventory line as (verified against real GFS
inventories, see ``vidx_pipeline_tests/fixtures/real``):

- ``anl`` for the analysis (lead 0) of an instantaneous field;
- ``{N} hour fcst`` for an instantaneous field at lead N;
- ``{A}-{B} hour {stat} fcst`` for a field over a window from A to B hours (``acc``, ``ave``,
  ``max``, ``min``), except that a window whose ends are both whole days is written in days:
  GFS f024's running total is ``0-1 day acc fcst``, f240's ``0-10 day acc fcst``.
"""

from __future__ import annotations

from vidx_pipeline.spec import (
    DatasetSpec,
    InstantWindow,
    StatisticalWindow,
    Wgrib2Match,
    WindowRule,
)

HOURS_PER_DAY = 24


def wgrib2_window_text(window: WindowRule, lead_hours: int) -> str | None:
    """The forecast-time text of ``window`` at ``lead_hours``; None where the producer writes no
    message for it (a statistical field has no window at lead 0)."""
    match window:
        case InstantWindow():
            return "anl" if lead_hours == 0 else f"{lead_hours} hour fcst"
        case StatisticalWindow(statistic=statistic):
            if lead_hours == 0:
                return None
            return wgrib2_range_text(window.window_start(lead_hours), lead_hours, statistic)


def wgrib2_range_text(start_hours: int, end_hours: int, statistic: str) -> str:
    if start_hours % HOURS_PER_DAY == 0 and end_hours % HOURS_PER_DAY == 0:
        return f"{start_hours // HOURS_PER_DAY}-{end_hours // HOURS_PER_DAY} day {statistic} fcst"
    return f"{start_hours}-{end_hours} hour {statistic} fcst"


def wgrib2_fields(spec: DatasetSpec) -> tuple[tuple[str, str], ...]:
    """The distinct (element, level) pairs the spec's variables are found by, in order."""
    pairs = [
        (v.match.element, v.match.level) for v in spec.variables if isinstance(v.match, Wgrib2Match)
    ]
    return tuple(dict.fromkeys(pairs))
