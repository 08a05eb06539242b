"""NOAA/NCEP provider: placing the messages of wgrib2 ``.idx`` inventories.

A message is recognised by the exact text wgrib2 writes for it, ``ELEMENT:LEVEL:WINDOW``
(verified against real GFS inventories, see ``vidx_pipeline_tests/fixtures/real``):

- the level is the variable's level text, or for a variable on a level dimension its template
  (``"{} mb"``) filled with the dimension's source label of each expected level;
- the window is ``anl`` for an instantaneous field at lead 0, ``{N} hour fcst`` at lead N, and
  ``{A}-{B} hour {stat} fcst`` for a statistical window from A to B hours (``acc``, ``ave``,
  ``max``, ``min``), written in days when both ends are whole days: GFS f024's running total is
  ``0-1 day acc fcst``, f240's ``0-10 day acc fcst``; HRRR's f00 writes zero-length windows,
  ``0-0 day max fcst``, where the spec says so (``StatisticalWindow.at_lead_zero``).

Where several variables expect the same text at a lead (GFS f006 writes ``0-6 hour acc fcst``
twice: the 6-hourly bucket and the running total coincide), occurrences are given to them in
file order, in the spec's variable order, so each message lands in exactly one place.

A sub-message line (``n.2``, ``n.3``...) shares its parent's byte range, and the codec decodes the
first field of those bytes: such a message is refused, never referenced as a ref that would
decode to its sibling. ``n.1`` is the first field and is placed as usual.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from vidx_pipeline.index_formats.base import IndexEntry
from vidx_pipeline.message_facts import MessageFacts
from vidx_pipeline.provider import Placement, Refused
from vidx_pipeline.refs import chunk_labels
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import (
    DatasetSpec,
    IndexMatch,
    InstantWindow,
    Label,
    StatisticalWindow,
    VariableSpec,
    WindowRule,
)

HOURS_PER_DAY = 24


class Wgrib2Match(IndexMatch):
    """Find a variable's messages in a wgrib2 ``.idx`` by element and level text. For a variable
    on a level dimension, ``level`` holds ``{}`` where the level's source label goes."""

    kind: Literal["wgrib2"] = "wgrib2"
    element: str
    level: str
    parameter: tuple[int, int, int] | None = Field(
        None,
        description="GRIB2 (discipline, category, number) of the element, compared with a "
        "message's own where the decoder has no abbreviation for it.",
    )


def wgrib2_window_text(window: WindowRule, lead_hours: int) -> str | None:
    """The forecast-time text of ``window`` at ``lead_hours``; None where the producer writes no
    message for it (a statistical field at lead 0, unless its window says the producer writes
    a zero-length one)."""
    match window:
        case InstantWindow():
            return "anl" if lead_hours == 0 else f"{lead_hours} hour fcst"
        case StatisticalWindow(statistic=statistic):
            if lead_hours == 0 and not window.at_lead_zero:
                return None
            return wgrib2_range_text(window.window_start(lead_hours), lead_hours, statistic)


def wgrib2_range_text(start_hours: int, end_hours: int, statistic: str) -> str:
    if start_hours % HOURS_PER_DAY == 0 and end_hours % HOURS_PER_DAY == 0:
        return f"{start_hours // HOURS_PER_DAY}-{end_hours // HOURS_PER_DAY} day {statistic} fcst"
    return f"{start_hours}-{end_hours} hour {statistic} fcst"


def wgrib2_match(variable: VariableSpec) -> Wgrib2Match:
    if not isinstance(variable.match, Wgrib2Match):
        raise ValueError(f"{variable.name}: match {variable.match.kind!r} is not 'wgrib2'")
    return variable.match


def level_texts(
    spec: DatasetSpec,
    variable: VariableSpec,
    lead_hours: int,
    file_kind: str | None = None,
    *,
    written: bool = False,
) -> list[tuple[str, Label | None]]:
    """(level text, level value) of every level of ``variable`` expected at ``lead_hours`` in
    files of kind ``file_kind`` (None: in any kind); ``written``: every level the producer
    writes there, whether the dataset takes it or not."""
    match = wgrib2_match(variable)
    levels = (
        (variable.written_levels(lead_hours) if written else variable.expected_levels(lead_hours))
        if file_kind is None
        else spec.expected_levels_in(variable, file_kind, lead_hours, written=written)
    )
    if variable.level_dimension is None:
        return [(match.level, None)] if levels else []
    dimension = spec.level(variable.level_dimension)
    labels = dict(zip(dimension.values, dimension.source_labels, strict=True))
    return [(match.level.format(labels[value]), value) for value in levels if value is not None]


def expected_texts(
    spec: DatasetSpec, file_kind: str, lead_hours: int, member: int | None = None
) -> dict[str, list[Placement]]:
    """``ELEMENT:LEVEL:WINDOW`` -> where each message with that text goes at this lead (and
    member), in the spec's variable order (several when texts coincide); no place for the
    messages of a variable the dataset leaves out at this lead (``only_at_leads``)."""
    texts: dict[str, list[Placement]] = {}
    left_out: list[str] = []
    for variable in spec.variables_in(file_kind):
        window = wgrib2_window_text(variable.window, lead_hours)
        if window is None:
            continue
        element = wgrib2_match(variable).element
        taken = level_texts(spec, variable, lead_hours, file_kind)
        for level_text, value in taken:
            labels = chunk_labels(lead_hours, member, variable.level_dimension, value)
            texts.setdefault(f"{element}:{level_text}:{window}", []).append((variable.name, labels))
        if not taken:
            written = level_texts(spec, variable, lead_hours, file_kind, written=True)
            left_out += [f"{element}:{level_text}:{window}" for level_text, _ in written]
    for text in left_out:
        texts.setdefault(text, [])
    return texts


class NoaaProvider:
    name = "noaa"
    lead_free_keys = False  # a key holds the inventory's forecast time ("6 hour fcst")

    def check_spec(self, spec: DatasetSpec) -> None:
        for variable in spec.variables:
            match = wgrib2_match(variable)
            if (variable.level_dimension is not None) != ("{}" in match.level):
                raise ValueError(
                    f"{variable.name}: a level template with '{{}}' goes with a level dimension"
                )

    def expected_messages(
        self, spec: DatasetSpec, file: ExpectedFile
    ) -> dict[str, list[Placement]]:
        return expected_texts(spec, file.kind.name, file.lead_hours, file.member)

    def message_key(self, entry: IndexEntry, file: ExpectedFile) -> str | Refused:
        text = f"{entry.var}:{entry.level}:{entry.forecast_time}"
        check_ensemble_field(entry.extra, file.member)
        submessage = entry.submessage
        if submessage is not None and submessage > 1:
            return Refused(
                f"{text} is sub-message {entry.message_number}.{submessage}, which shares its "
                "parent's bytes (the codec would decode the first field)"
            )
        return text

    def message_problems(
        self,
        spec: DatasetSpec,
        variable: VariableSpec,
        labels: Mapping[str, Label],
        facts: MessageFacts,
    ) -> list[str]:
        match = wgrib2_match(variable)
        problems = []
        if facts.parameter == DECODER_UNNAMED:
            if match.parameter is None or facts.parameter_triple != match.parameter:
                triple = "-".join(map(str, facts.parameter_triple))
                problems.append(f"parameter {triple}, not {match.element} {match.parameter}")
        elif parameter_name(facts.parameter) != parameter_name(match.element):
            problems.append(f"parameter {facts.parameter} ({facts.parameter_name})")
        level_text = match.level
        if variable.level_dimension is not None:
            dimension = spec.level(variable.level_dimension)
            source_labels = dict(zip(dimension.values, dimension.source_labels, strict=True))
            level_text = match.level.format(source_labels[labels[variable.level_dimension]])
        expected = grib_level_value(level_text)
        if expected is not None and not _close(facts.level_value, expected):
            problems.append(f"level {facts.level_type} {facts.level_value}, not {level_text!r}")
        return problems


DECODER_UNNAMED = "missing"
"""What gribberish calls a parameter it has no abbreviation for (GEFS's ICIP, ICSEV, SNOHF,
5WAVH): such a message is compared by its GRIB2 triple instead."""


@functools.cache
def ensemble_field(member: int) -> str:
    """What wgrib2 writes after the window of a GEFS member's line: ``ENS=low-res ctl`` for the
    control (member 0), ``ENS=+k`` for perturbed member k."""
    return "ENS=low-res ctl" if member == 0 else f"ENS=+{member}"


def check_ensemble_field(extra: Sequence[str], member: int | None) -> None:
    """A member's file describes that member on every line; a deterministic file no member.
    Raises ValueError naming what the line says instead."""
    if member is not None and len(extra) == 1 and extra[0] == ensemble_field(member):
        return  # the usual line, checked without building a list (GEFS: 3 million a cycle)
    said = [field for field in extra if field.startswith("ENS=")]
    if member is None:
        if said:
            raise ValueError(f"{said[0]} in a file of no ensemble member")
        return
    expected = ensemble_field(member)
    if said != [expected]:
        found = ", ".join(said) or "no ENS= field"
        raise ValueError(f"{found}, but the file's name is member {member} ({expected})")


_DECODER_NAMES = {"CLWMR": "CLMR", "VERIL": "VIL", "APTS": "AOTK", "UTSM": "USTM"}
"""Where the message decoder's abbreviation for a parameter is not wgrib2's: gribberish calls
cloud mixing ratio (0-1-22) ``CLWMR``, wgrib2 ``CLMR``; vertically integrated liquid (0-15-3)
``VERIL``, wgrib2 ``VIL``; aerosol optical thickness (0-20-102) ``APTS``, wgrib2 ``AOTK``; the
WMO u-component of storm motion (0-2-27, which HRRR writes; GFS writes NCEP's 0-2-194)
``UTSM``, wgrib2 ``USTM``."""


def parameter_name(abbreviation: str) -> str:
    """A parameter abbreviation as wgrib2 would spell it, for comparison: upper case, without
    punctuation (gribberish writes ``dswrf`` and ``UGWD`` for wgrib2's ``DSWRF`` and ``U-GWD``)."""
    name = re.sub(r"[^A-Z0-9]", "", abbreviation.upper())
    return _DECODER_NAMES.get(name, name)


_LEVEL_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?(?:e-?\d+)?)(?:-\S+)? (\S+)")


def grib_level_value(level_text: str) -> float | None:
    """The value of the first fixed surface a wgrib2 level text names, in GRIB's unit (``500
    mb`` -> 50000 Pa, ``2 m above ground`` -> 2); None for a level without a number."""
    found = _LEVEL_NUMBER.match(level_text)
    if found is None:
        return None
    value = float(found.group(1))
    return value * 100 if found.group(2) == "mb" else value


def _close(value: float | None, expected: float) -> bool:
    return value is not None and math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9)


PROVIDER = NoaaProvider()


def wgrib2_fields(spec: DatasetSpec) -> tuple[tuple[str, str], ...]:
    """The distinct (element, level text) pairs of the spec's variables, in order."""
    pairs: list[tuple[str, str]] = []
    for variable in spec.variables:
        for lead in (0, max(spec.lead_hours)):
            match = wgrib2_match(variable)
            pairs.extend((match.element, text) for text, _ in level_texts(spec, variable, lead))
    return tuple(dict.fromkeys(pairs))
