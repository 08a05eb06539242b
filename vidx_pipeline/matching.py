"""Index entries -> virtual chunk refs, for one producer file.

A variable is looked up by the exact text its producer writes (element, level and the lead's
window); it is *expected absent* where the producer writes no message for it (a windowed field
at lead 0) and *missing* where it is expected but not found. Missing variables are reported, never
dropped silently, and never shift another variable's ref: each variable's chunk index is fixed
by the spec, not by the order of the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import gribberish

from vidx_pipeline.providers.noaa import wgrib2_window_text
from vidx_pipeline.spec import (
    DatasetSpec,
    MarsKeysMatch,
    VariableSpec,
    Wgrib2Match,
    WholeObjectMatch,
)


@dataclass(frozen=True)
class ChunkRef:
    variable: str
    chunk_index: tuple[int, ...]
    location: str
    offset: int
    length: int
    checksum: dt.datetime | str


@dataclass(frozen=True)
class MissingField:
    variable: str
    lead_hours: int
    member: int | None
    index_url: str
    expected: str

    def describe(self) -> str:
        member = f" member {self.member}" if self.member is not None else ""
        step = f"f{self.lead_hours:03d}{member}"
        return f"{self.variable} ({step}): no '{self.expected}' in {self.index_url}"


def expected_text(variable: VariableSpec, lead_hours: int) -> str | None:
    """The ``element:level:window`` the producer writes for ``variable`` at ``lead_hours``, or
    None where it writes none."""
    match variable.match:
        case Wgrib2Match(element=element, level=level, window=window):
            window_text = wgrib2_window_text(window, lead_hours)
            return None if window_text is None else f"{element}:{level}:{window_text}"
        case MarsKeysMatch() | WholeObjectMatch():
            raise NotImplementedError(
                f"{variable.name}: {variable.match.kind} matching lands with the first dataset "
                "that needs it (ECMWF IFS / DWD ICON)"
            )


def expected_texts(spec: DatasetSpec, lead_hours: int) -> dict[str, str]:
    """Variable name -> the text the producer writes for it at ``lead_hours``, for every
    variable it writes at that lead."""
    return {
        variable.name: text
        for variable in spec.variables
        if (text := expected_text(variable, lead_hours)) is not None
    }


def match_file(
    spec: DatasetSpec,
    entries: Sequence[gribberish.GribIndexEntry],
    *,
    step_index: tuple[int, ...],
    lead_hours: int,
    member: int | None,
    data_url: str,
    index_url: str,
    checksum: dt.datetime | str,
    wanted: Mapping[str, str] | None = None,
) -> tuple[list[ChunkRef], list[MissingField]]:
    """Refs for every expected variable of one file, and the expected ones it lacks.

    ``step_index`` is the chunk index of the file's non-grid dimensions after the append
    dimension, e.g. (lead,). ``wanted`` is ``expected_texts(spec, lead_hours)``, precomputed
    by callers matching many files. Where the producer writes the same text twice (GFS f006 has
    two ``0-6 hour acc fcst``), the first occurrence is taken.
    """
    if wanted is None:
        wanted = expected_texts(spec, lead_hours)
    elements = {text.partition(":")[0] for text in wanted.values()}
    by_text: dict[str, gribberish.GribIndexEntry] = {}
    for entry in entries:
        element = entry.var
        if element in elements:  # most lines are not wanted: skip their other fields
            by_text.setdefault(f"{element}:{entry.level}:{entry.forecast_time}", entry)
    refs: list[ChunkRef] = []
    missing: list[MissingField] = []
    grid_index = (0, 0)
    for variable in spec.variables:
        text = wanted.get(variable.name)
        if text is None:
            continue
        entry = by_text.get(text)
        if entry is None:
            missing.append(MissingField(variable.name, lead_hours, member, index_url, text))
            continue
        assert entry.length is not None  # parse_index guarantees it
        refs.append(
            ChunkRef(
                variable=variable.name,
                chunk_index=(*step_index, *grid_index),
                location=data_url,
                offset=entry.offset,
                length=entry.length,
                checksum=checksum,
            )
        )
    return refs, missing
