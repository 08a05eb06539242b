"""What one GRIB2 message says about itself, read from its own bytes (not from any index):
parameter, level, times, ensemble member and grid. Decode health compares these with what the
chunk the message is referenced from claims.

Sections 0-3 come from :mod:`vidx_pipeline.grib_header`, the product definition (section 4)
from ``gribberish.parse_grib_message_metadata``: a second, independent reader. That parser
refuses grid templates other than 3.0, 3.10, 3.20 and 3.30 before it reads section 4, so a
message on another grid (ICON's unstructured 3.101) is given to it with section 3 replaced by a
regular lat/lon section of the same number of points (:func:`_gribberish_readable`); the
product definition it reads is still the message's own, and the grid is read by
:mod:`vidx_pipeline.grib_header`.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from dataclasses import dataclass

import gribberish

from vidx_pipeline.grib_header import GribHeader, GribHeaderError, parse_grib_header


@dataclass(frozen=True)
class MessageFacts:
    header: GribHeader  # sections 0-3: centre, reference time, grid
    parameter_triple: tuple[int, int, int]  # discipline, category, number (sections 0 and 4)
    parameter: str  # the decoder's abbreviation, e.g. "TMP" ("missing" where it has none)
    parameter_name: str
    level_type: str  # e.g. "isobaric surface"
    level_value: float | None  # in the level type's GRIB unit (Pa for isobaric surfaces)
    reference_time: dt.datetime
    forecast_time: dt.datetime  # valid time, or the start of a statistical window
    forecast_end: dt.datetime | None  # end of a statistical window
    statistical_process: str | None
    perturbation_number: int | None


_PARAMETER_CATEGORY_OCTET = 10  # of section 4, in every product definition template
_PARAMETER_NUMBER_OCTET = 11
_GRIBBERISH_GRID_TEMPLATES = frozenset({0, 10, 20, 30})


class MessageFactsError(ValueError):
    """The bytes do not hold a GRIB2 message either reader understands."""


def read_message_facts(message: bytes, *, source: str) -> MessageFacts:
    try:
        header = parse_grib_header(message, source=source)
    except GribHeaderError as error:
        raise MessageFactsError(str(error)) from None
    section4 = header.length
    if len(message) < section4 + _PARAMETER_NUMBER_OCTET or message[section4 + 4] != 4:
        raise MessageFactsError(f"{source}: no product definition section after section 3")
    try:
        meta = gribberish.parse_grib_message_metadata(_gribberish_readable(message, header), 0)
    except Exception as error:  # gribberish raises bare exceptions from Rust
        raise MessageFactsError(f"{source}: product definition unreadable: {error}") from None
    return MessageFacts(
        header=header,
        parameter_triple=(
            header.discipline,
            message[section4 + _PARAMETER_CATEGORY_OCTET - 1],
            message[section4 + _PARAMETER_NUMBER_OCTET - 1],
        ),
        parameter=meta.var_abbrev,
        parameter_name=meta.var_name,
        level_type=meta.level_type,
        level_value=meta.level_value,
        reference_time=meta.reference_date,
        forecast_time=meta.forecast_date,
        forecast_end=meta.forecast_date_end,
        statistical_process=meta.statistical_process,
        perturbation_number=meta.perturbation_number,
    )


def _gribberish_readable(message: bytes, header: GribHeader) -> bytes:
    """``message`` as gribberish's metadata parser reads it: unchanged on a grid template it
    knows; else with section 3 replaced by a regular lat/lon one (template 3.0, one row of
    as many points) and section 0's total length adjusted, every other section unchanged."""
    if header.grid.template in _GRIBBERISH_GRID_TEMPLATES:
        return message
    points = header.grid.number_of_points
    section3 = struct.pack(
        ">IBBIBBHB15xIIIIiiBiiIIB",
        72,  # length
        3,  # section number
        0,  # source of grid definition: code table 3.1
        points,
        0,  # no optional list of numbers of points
        0,
        0,  # template 3.0
        6,  # shape of the earth: sphere of 6,371,229 m
        points,  # Ni
        1,  # Nj
        0,  # basic angle: micro-degrees
        0xFFFFFFFF,  # subdivisions: missing
        0,  # La1
        0,  # Lo1
        0,  # resolution and component flags
        0,  # La2
        0,  # Lo2
        0,  # Di
        0,  # Dj
        0,  # scanning mode
    )
    rewritten = message[: header.grid_offset] + section3 + message[header.length :]
    return rewritten[:8] + len(rewritten).to_bytes(8, "big") + rewritten[16:]


def parameter_problems(
    facts: MessageFacts, expected: tuple[int, int, int], expected_name: str
) -> list[str]:
    """How a message's parameter (discipline, category, number) differs from ``expected``,
    the producer's parameter ``expected_name``; empty when they agree."""
    if facts.parameter_triple == expected:
        return []
    triple = "-".join(map(str, facts.parameter_triple))
    return [
        f"parameter {triple} ({facts.parameter} {facts.parameter_name}), not {expected_name} "
        + "-".join(map(str, expected))
    ]


def level_problems(facts: MessageFacts, level_type: str, value: float | None) -> list[str]:
    """How a message's first fixed surface differs from ``level_type`` at ``value`` (None: a
    level without a value, where the message's is absent or 0); empty when they agree."""
    if facts.level_type == level_type and same_level_value(facts.level_value, value):
        return []
    return [f"level {facts.level_type} {facts.level_value}, not {level_type} {value}"]


def same_level_value(value: float | None, expected: float | None) -> bool:
    if expected is None:
        return value is None or value == 0.0
    return value is not None and math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9)
