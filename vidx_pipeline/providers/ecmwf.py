"""ECMWF provider: placing the messages of open-data JSON-lines ``.index`` files.

A message is recognised by its MARS keys, whatever order the producer writes them in: ``param``
(the ecCodes shortName, ``2t``, ``gh``), ``levtype`` (``sfc``, ``pl``), ``levelist`` (the
pressure level in hPa, absent on single levels) and the member, from ``type`` and ``number``:

- ``type=cf`` is the control, member 0, with no ``number`` (or ``"0"``);
- ``type=pf`` is perturbed member ``number`` (a JSON *string*, ``"1"`` .. ``"50"``);
- ``type=fc`` is a deterministic forecast (HRES, ``oper``), no ``number``.

One ensemble file (``-enfo-ef``) holds every member, in no particular order: the key of an entry
names its member, and the file's placement table holds every member's keys. Each line's ``step``
must be the lead the object's path names (``"6"``, or a window ``"0-6"`` ending there): a line of
another step is a bad index, named with its line by the core. (The index format refuses a line
whose date, byte range or MARS keys repeat or contradict the object.)

A message's own bytes are compared with the variable by its GRIB2 parameter triple (discipline,
category, number as ecCodes writes the paramId), not by the decoder's abbreviation: gribberish
names ECMWF's local codes after NCEP's (``tp`` 0-1-193 reads as ``CFRZR``, ``ro`` 2-0-201 as
``WILT``). Levels are compared by gribberish's level type text and value (Pa on pressure
levels).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Literal

from vidx_pipeline.index_formats.base import IndexEntry
from vidx_pipeline.message_facts import MessageFacts, level_problems, parameter_problems
from vidx_pipeline.provider import Placement, Refused
from vidx_pipeline.refs import chunk_labels
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import DatasetSpec, IndexMatch, Label, VariableSpec

HPA_TO_PA = 100.0


class MarsMatch(IndexMatch):
    """Find a variable's messages in an ECMWF ``.index`` by MARS keys. For a variable on a level
    dimension, ``levelist`` holds ``{}`` where the level's source label goes (``"{}"``: the
    label itself); None on a single level (the line has no ``levelist``)."""

    kind: Literal["mars"] = "mars"
    param: str
    levtype: str
    levelist: str | None = None
    parameter: tuple[int, int, int]
    level_type: str
    level_value: float | None = None

    def index_levelist(self, source_label: str | None) -> str:
        if self.levelist is None:
            return ""
        return self.levelist.format(source_label)


def mars_match(variable: VariableSpec) -> MarsMatch:
    if not isinstance(variable.match, MarsMatch):
        raise ValueError(f"{variable.name}: match {variable.match.kind!r} is not 'mars'")
    return variable.match


def mars_key(param: str, levtype: str, levelist: str, member: int | None) -> str:
    """The key of one message: ``gh/pl/500/member 3``; ``2t/sfc//member 0``; ``2t/sfc//`` for a
    deterministic forecast."""
    who = "" if member is None else f"member {member}"
    return f"{param}/{levtype}/{levelist}/{who}"


@functools.lru_cache(maxsize=1024)
def _member(kind: str | None, number: str | None) -> int | None:
    """The member a line's ``type`` and ``number`` describe (see the module docstring);
    ValueError if they disagree or name no forecast. An object repeats each pair once per
    field: computed once; errors are not cached."""
    match kind:
        case "cf":
            if number not in (None, "0"):
                raise ValueError(f"type=cf (the control) with number={number!r}")
            return 0
        case "pf":
            if number is None or not number.isdigit() or int(number) < 1:
                raise ValueError(f"type=pf with number={number!r}, not a perturbed member")
            return int(number)
        case "fc":
            if number is not None:
                raise ValueError(f"type=fc (deterministic) with number={number!r}")
            return None
        case _:
            raise ValueError(f"type={kind!r} is not a forecast of one member (cf, pf or fc)")


def check_step(keys: Mapping[str, str], lead_hours: int) -> None:
    """The line's ``step`` (``"6"``, or ``"0-6"`` for a window) ends at the lead of the object's
    path."""
    step = keys.get("step")
    if _step_end(step) != lead_hours:
        raise ValueError(f"step={step!r}, but the object's path is step {lead_hours}")


@functools.lru_cache(maxsize=1024)
def _step_end(step: str | None) -> int | None:
    """The hour a ``step`` ends at; None if it names none."""
    end = step.rpartition("-")[2] if step is not None else None
    return int(end) if end is not None and end.isdigit() else None


@functools.lru_cache(maxsize=1 << 14)
def _key_and_member(
    param: str, levtype: str | None, levelist: str, kind: str | None, number: str | None
) -> tuple[str | None, int | None]:
    """A line's key (None without ``levtype``) and member, from its MARS keys: the same for
    every step of an init, so each distinct line is keyed once (an ENS init has ~4,100
    distinct ones, repeated in each of its 85 steps)."""
    member = _member(kind, number)
    return (None if levtype is None else mars_key(param, levtype, levelist, member)), member


def expected_keys(spec: DatasetSpec, file: ExpectedFile) -> dict[str, list[Placement]]:
    """MARS key -> the one place of that message in ``file``: every variable of the file's kind
    at every level expected at its lead, for every member the file holds."""
    members: Sequence[int | None]
    if file.member is not None:
        members = (file.member,)
    elif spec.ensemble is not None:
        members = spec.ensemble.members
    else:
        members = (None,)
    keys: dict[str, list[Placement]] = {}
    for variable in spec.variables_in(file.kind.name):
        match = mars_match(variable)
        labels_of = _source_labels(spec, variable)
        for level in spec.expected_levels_in(variable, file.kind.name, file.lead_hours):
            levelist = match.index_levelist(None if level is None else labels_of[level])
            for member in members:
                labels = chunk_labels(file.lead_hours, member, variable.level_dimension, level)
                key = mars_key(match.param, match.levtype, levelist, member)
                keys[key] = [(variable.name, labels)]
    return keys


def _source_labels(spec: DatasetSpec, variable: VariableSpec) -> dict[Label, str]:
    if variable.level_dimension is None:
        return {}
    dimension = spec.level(variable.level_dimension)
    return dict(zip(dimension.values, dimension.source_labels, strict=True))


class EcmwfProvider:
    name = "ecmwf"
    lead_free_keys = True
    """A key never names the step (each line's is checked against the path instead): the core
    may move one lead's table to another lead with the same levels."""

    def check_spec(self, spec: DatasetSpec) -> None:
        for variable in spec.variables:
            match = mars_match(variable)
            templated = match.levelist is not None and "{}" in match.levelist
            if (variable.level_dimension is not None) != templated:
                raise ValueError(
                    f"{variable.name}: a levelist template with '{{}}' goes with a level "
                    "dimension, and only then"
                )

    def expected_messages(
        self, spec: DatasetSpec, file: ExpectedFile
    ) -> dict[str, list[Placement]]:
        return expected_keys(spec, file)

    def message_key(self, entry: IndexEntry, file: ExpectedFile) -> str | Refused:
        keys = entry.keys
        check_step(keys, file.lead_hours)
        key, member = _key_and_member(
            entry.var,
            keys.get("levtype"),
            keys.get("levelist", ""),
            keys.get("type"),
            keys.get("number"),
        )
        if file.member is not None and member != file.member:
            raise ValueError(f"member {member}, but the object's path is member {file.member}")
        if key is None:
            raise ValueError("no levtype")
        return key

    def message_problems(
        self,
        spec: DatasetSpec,
        variable: VariableSpec,
        labels: Mapping[str, Label],
        facts: MessageFacts,
    ) -> list[str]:
        match = mars_match(variable)
        problems = parameter_problems(facts, match.parameter, match.param)
        expected_value = match.level_value
        if variable.level_dimension is not None:
            factor = HPA_TO_PA if match.levtype == "pl" else 1.0
            expected_value = float(labels[variable.level_dimension]) * factor
        problems += level_problems(facts, match.level_type, expected_value)
        return problems


PROVIDER = EcmwfProvider()
