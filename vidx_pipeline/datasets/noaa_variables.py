"""Turning a generated NOAA catalog (:mod:`vidx_pipeline.providers.noaa_catalog` entries) into
the spec's level dimensions and variables, shared by the NOAA datasets (GFS, GEFS)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vidx_pipeline.providers.noaa import Wgrib2Match
from vidx_pipeline.providers.noaa_catalog import LevelDimensionEntry, Wgrib2Family
from vidx_pipeline.spec import (
    InstantWindow,
    Label,
    LevelDimension,
    StatisticalWindow,
    VariableAttrs,
    VariableSpec,
    WindowRule,
)

NCEP_CENTRE = 7
_STEP_TYPES: dict[str, Literal["instant", "accum", "avg", "max", "min"]] = {
    "instant": "instant",
    "acc": "accum",
    "ave": "avg",
    "max": "max",
    "min": "min",
}


def level_dimension(entry: LevelDimensionEntry) -> LevelDimension:
    return LevelDimension(
        name=entry.name,
        values=entry.values,
        source_labels=entry.texts,
        units=entry.units,
        long_name=entry.long_name,
        standard_name=entry.standard_name,
        positive=entry.positive,
    )


def _window(family: Wgrib2Family, bucket_hours: int) -> WindowRule:
    if family.window == "instant":
        return InstantWindow()
    return StatisticalWindow(
        statistic=family.window,
        start=family.window_start or "reset",
        reset_hours=bucket_hours,
        at_lead_zero=family.at_lead_zero,  # a zero-length window written at lead 0 (HRRR)
    )


def variable_of(
    family: Wgrib2Family, dimensions: Sequence[LevelDimensionEntry], bucket_hours: int = 6
) -> VariableSpec:
    """The variable of one catalog family, found in the file kinds its ``source_files`` name
    (none: the dataset's only kind), each holding the levels listed for it; statistical buckets
    reset every ``bucket_hours`` (NCEP's global models: 6, HRRR: 1)."""
    levels: tuple[Label, ...] = ()
    at_zero: tuple[Label, ...] | None = None
    source_file: str | None = None
    level_source_files: dict[str, tuple[Label, ...]] | None = None
    value_of: dict[str, Label] = {}
    if family.level_dimension is not None:
        (dimension,) = [d for d in dimensions if d.name == family.level_dimension]
        value_of = dict(zip(dimension.texts, dimension.values, strict=True))
        levels = tuple(value_of[t] for t in family.levels)
        if family.at_lead_zero and family.levels_at_lead_zero != family.levels:
            at_zero = tuple(value_of[t] for t in family.levels_at_lead_zero)
    if len(family.source_files) <= 1 or family.level_dimension is None:
        source_file = next(iter(family.source_files), None)
    else:
        level_source_files = {
            kind: tuple(value_of[t] for t in texts) for kind, texts in family.source_files.items()
        }
    return VariableSpec.model_validate(
        {
            "name": family.name,
            "attrs": VariableAttrs(
                long_name=family.long_name,
                units=family.units,
                short_name=family.short_name,
                standard_name=family.standard_name,
                step_type=_STEP_TYPES[family.window],
                comment="NCEP wgrib2 inventory: "
                f"{family.element}:{family.level.replace('{}', '<level>')}",
            ),
            "match": Wgrib2Match(
                element=family.element,
                level=family.level,
                parameter=(
                    family.discipline,
                    family.parameter_category,
                    family.parameter_number,
                ),
            ),
            "window": _window(family, bucket_hours),
            "expected_at_lead_zero": family.at_lead_zero,
            "level_dimension": family.level_dimension,
            "levels": levels,
            "levels_at_lead_zero": at_zero,
            "source_file": source_file,
            "level_source_files": level_source_files,
        }
    )
