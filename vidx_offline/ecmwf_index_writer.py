"""ECMWF open-data ``.index`` text: one JSON object per GRIB message, as ECMWF writes them.

Contract of :func:`index_line`: one ``\\n``-free JSON object (``json.dumps`` spacing: ``", "``
and ``": "``) with the MARS keys ``domain`` ``g``, ``date`` ``YYYYMMDD``, ``time`` ``HHMM``,
``expver`` ``0001``, ``class`` ``od``, ``type`` (``cf`` for member 0, else ``pf``), ``stream``
``enfo``, ``step`` (the step in hours, as text), ``levtype``, ``levelist`` (pressure levels only),
``number`` (perturbed members only, as text), ``param``, then ``_offset`` and ``_length`` (JSON
numbers). The keys between ``stream`` and ``param`` come in one of the two orders seen in ECMWF's
real ``enfo`` indexes: ``step`` first (``"step", "levtype", "levelist", "number"``, dynamical-org's
2024-02-01 sample) or ``step`` after the member (``"levtype", "number", "step"``, Herbie's
documented sample).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Literal

from vidx_offline.ecmwf_encode import EnsField

KeyOrder = Literal["step_first", "step_last"]


def index_line(
    field: EnsField,
    init: dt.datetime,
    step: int,
    member: int,
    offset: int,
    length: int,
    order: KeyOrder = "step_first",
) -> str:
    """The index line of one message (see the module contract)."""
    utc = init.astimezone(dt.UTC) if init.tzinfo else init.replace(tzinfo=dt.UTC)
    record: dict[str, str | int] = {
        "domain": "g",
        "date": f"{utc:%Y%m%d}",
        "time": f"{utc:%H}00",
        "expver": "0001",
        "class": "od",
        "type": "cf" if member == 0 else "pf",
        "stream": "enfo",
    }
    level: dict[str, str] = {"levtype": field.levtype}
    if field.levelist is not None:
        level["levelist"] = str(field.levelist)
    number = {} if member == 0 else {"number": str(member)}
    match order:
        case "step_first":
            record |= {"step": str(step), **level, **number}
        case "step_last":
            record |= {**level, **number, "step": str(step)}
    record |= {"param": field.param, "_offset": offset, "_length": length}
    return json.dumps(record)
