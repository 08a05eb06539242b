"""DWD provider: placing ICON's one-message files (no index: ``index_format="none"``).

DWD writes one GRIB2 message per file, named by parameter, lead and (on pressure levels)
level: bz2-compressed in the regular lat/lon tree
(``icon-eu_europe_regular-lat-lon_single-level_2026113000_006_T_2M.grib2.bz2``,
``..._pressure-level_2026113000_006_500_T.grib2.bz2``), uncompressed in the icosahedral v1 tree
(``T_2M/r/2026-12-01T00:00/s/PT006H00M.grib2``, ``T/lvt1/100/lv1/50000/r/...``). So the
spec has one file kind per parameter (per parameter and pressure level), and a file's only
message is recognised by its file kind: the key of the whole-object entry is the kind's name,
and the file's table holds the one variable (at the one level) the spec expects of that kind at
that lead. The message's own bytes are compared with the variable by GRIB2 parameter triple and
by gribberish's level type text and value (Pa on pressure levels), not by the decoder's
abbreviation: gribberish has no names for most of DWD's local parameters (``ASWDIR_S`` 0-4-198
reads as ``missing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from vidx_pipeline.index_formats.base import IndexEntry
from vidx_pipeline.message_facts import MessageFacts, level_problems, parameter_problems
from vidx_pipeline.provider import Placement, Refused
from vidx_pipeline.refs import chunk_labels
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import DatasetSpec, IndexMatch, Label, VariableSpec

HPA_TO_PA = 100.0


class IconMatch(IndexMatch):
    """A variable of DWD's one-message files: ``param`` as DWD names it in its file names
    (``T_2M``, ``T``), its GRIB2 parameter triple, and its level as gribberish reads it (type
    text and value; on a level dimension the value is the chunk's level in hPa, times 100)."""

    kind: Literal["dwd_icon"] = "dwd_icon"
    param: str
    parameter: tuple[int, int, int]
    level_type: str
    level_value: float | None = None


def icon_match(variable: VariableSpec) -> IconMatch:
    if not isinstance(variable.match, IconMatch):
        raise ValueError(f"{variable.name}: match {variable.match.kind!r} is not 'dwd_icon'")
    return variable.match


class DwdProvider:
    name = "dwd"
    lead_free_keys = False  # one message per file: a table per lead is already cheap

    def check_spec(self, spec: DatasetSpec) -> None:
        """Every variable is DWD's; every file kind holds one variable at one level, and its
        file names end with that variable's DWD parameter name."""
        for variable in spec.variables:
            icon_match(variable)
        for kind in spec.source.files:
            if kind.index_format != "none":
                raise ValueError(f"file kind {kind.name!r}: DWD files have no index")
            held = [
                (variable, level)
                for variable in spec.variables_in(kind.name)
                for level in {
                    *variable.expected_levels_in(kind.name, spec.source.files[0].name, 1),
                    *variable.expected_levels_in(kind.name, spec.source.files[0].name, 0),
                }
            ]
            if len(held) != 1:
                raise ValueError(
                    f"file kind {kind.name!r} holds {len(held)} fields; a DWD file holds one"
                )
            ((variable, _),) = held
            param = icon_match(variable).param
            names_it = (  # the regular tree's file name, or the v1 tree's parameter directory
                kind.data_key.endswith(f"_{param}.grib2.bz2") or f"/{param}/" in kind.data_key
            )
            if not names_it:
                raise ValueError(
                    f"file kind {kind.name!r}: key {kind.data_key!r} does not name {param}"
                )

    def expected_messages(
        self, spec: DatasetSpec, file: ExpectedFile
    ) -> dict[str, list[Placement]]:
        """The kind's name -> the one place of the file's message (none where the variable is
        not expected at this lead)."""
        places: list[Placement] = [
            (
                variable.name,
                chunk_labels(file.lead_hours, file.member, variable.level_dimension, level),
            )
            for variable in spec.variables_in(file.kind.name)
            for level in spec.expected_levels_in(variable, file.kind.name, file.lead_hours)
        ]
        return {file.kind.name: places} if places else {}

    def message_key(self, entry: IndexEntry, file: ExpectedFile) -> str | Refused:
        if entry.offset != 0:
            raise ValueError(f"a DWD file is one message, but an entry starts at {entry.offset}")
        return file.kind.name

    def message_problems(
        self,
        spec: DatasetSpec,
        variable: VariableSpec,
        labels: Mapping[str, Label],
        facts: MessageFacts,
    ) -> list[str]:
        match = icon_match(variable)
        problems = parameter_problems(facts, match.parameter, match.param)
        expected_value = match.level_value
        if variable.level_dimension is not None:
            expected_value = float(labels[variable.level_dimension]) * HPA_TO_PA
        problems += level_problems(facts, match.level_type, expected_value)
        return problems


PROVIDER = DwdProvider()
