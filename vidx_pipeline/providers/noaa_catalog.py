"""The catalog of a NOAA product's field families, as generated from the producer's real
wgrib2 inventories (``scripts/generate_noaa_catalog.py``) and turned into variables by the
dataset modules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vidx_pipeline.spec import FrozenModel


class LevelDimensionEntry(FrozenModel):
    """A vertical dimension: one per level type, holding every value any family writes.

    ``values`` are the coordinate values (floats; ``str`` labels such as ``"0.44-1"`` for
    layers), ordered from the ground upward where that means anything (isobaric: 1000 -> 0.01
    hPa); ``texts`` are the wgrib2 level value texts of the same values in the same order
    (``"1000"``, ``"0.4"``, ``"2e-06"``, ``"-2e-06"``, ``"0.44-1"``). ``units`` are CF units.
    """

    name: str
    units: str
    long_name: str
    standard_name: str | None = None
    positive: Literal["up", "down"] | None = None
    values: tuple[float, ...] | tuple[str, ...]
    texts: tuple[str, ...]


class Wgrib2Family(FrozenModel):
    """One field family: (element, level type, window kind), one variable of the dataset.

    ``level`` is the exact wgrib2 level text (``"2 m above ground"``) of a single-level family,
    or a template with ``{}`` for the value text (``"{} mb"``) of a family on the level dimension
    named ``level_dimension``. ``levels`` / ``levels_at_lead_zero`` are the value texts written
    at forecast leads / at lead 0, in dimension order (``()`` without a dimension).

    ``source_files``: where the product writes the family in several file kinds (GEFS
    ``pgrb2a``/``pgrb2b``), kind -> the value texts that kind holds (``()`` for a single-level
    family, which lives in exactly one kind); empty for a product with one file kind.

    ``window`` is ``instant`` or the statistic; ``window_start`` is ``"reset"`` for NCEP's
    6-hourly bucket (``6-7 hour max fcst``) and ``"init"`` for since initialisation
    (``0-7 hour acc fcst``), None when instant. ``at_lead_zero`` says whether f000 carries the
    family (statistical ones never).

    ``discipline`` / ``parameter_category`` / ``parameter_number`` are the GRIB2 parameter;
    ``short_name``, ``long_name``, ``units`` (CF form) and ``standard_name`` come from ecCodes'
    parameter tables.
    """

    name: str
    element: str
    level: str
    level_dimension: str | None
    levels: tuple[str, ...] = ()
    levels_at_lead_zero: tuple[str, ...] = ()
    source_files: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    window: Literal["instant", "acc", "ave", "max", "min"]
    window_start: Literal["reset", "init"] | None
    at_lead_zero: bool
    discipline: int
    parameter_category: int
    parameter_number: int
    short_name: str
    long_name: str
    units: str
    standard_name: str | None = None
