"""Refs in label space, and the one engine that turns labels into chunk indices.

A provider yields, per message it places, a :class:`VirtualRef`: the variable, its labels on
every non-grid dimension after the append one (``{"lead_time": 7, "ensemble_member": 3,
"isobaric_level": 500.0}``), and where the message is (url, offset, length, checksum). The
partition fixes the append position. :class:`ChunkLocator` alone turns labels into chunk
indices; :func:`expected_slots` says which chunks a source file should fill, so missing and
unexpected refs are judged here, the same way for every provider.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import ENSEMBLE_MEMBER, LEAD_TIME, DatasetSpec, Label

Slot = tuple[str, tuple[int, ...]]
"""A chunk of a partition: (variable, its index after the append dimension, grid excluded)."""


@dataclass(frozen=True, slots=True)
class VirtualRef:
    """One GRIB message placed in the cube by a provider."""

    variable: str
    labels: Mapping[str, Label]
    url: str
    offset: int
    length: int
    checksum: dt.datetime | str


@dataclass(frozen=True)
class FileMatch:
    """What a provider made of one source file's index.

    ``unplaced``: messages whose field is not in the dataset (new producer output), described
    for the run's report; ``refused``: messages it will not reference, with why (e.g. a
    sub-message sharing its parent's bytes, which the codec would decode as its sibling).
    """

    refs: list[VirtualRef]
    unplaced: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def chunk_labels(
    lead_hours: int, member: int | None, level_dimension: str | None, level: Label | None
) -> dict[str, Label]:
    """The labels of one message after the append dimension: its lead, its member (ensembles
    only), its level (on a level dimension only)."""
    labels: dict[str, Label] = {LEAD_TIME: lead_hours}
    if member is not None:
        labels[ENSEMBLE_MEMBER] = member
    if level is not None and level_dimension is not None:
        labels[level_dimension] = level
    return labels


class LabelError(ValueError):
    """A ref whose labels do not name a chunk of the dataset."""


class ChunkLocator:
    """Label -> index maps of every non-grid dimension after the append one."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self._axes: dict[str, dict[Label, int]] = {}
        if spec.lead_times is not None:
            self._axes[LEAD_TIME] = {h: i for i, h in enumerate(spec.lead_hours)}
        if spec.ensemble is not None:
            self._axes[ENSEMBLE_MEMBER] = {m: i for i, m in enumerate(spec.ensemble.members)}
        for level in spec.levels:
            self._axes[level.name] = dict(zip(level.values, range(len(level.values)), strict=True))
        self._dims = {v.name: spec.variable_dims(v)[1:-2] for v in spec.variables}
        self._expected: dict[tuple[str, int, int | None], dict[Slot, str]] = {}

    def dims(self, variable: str) -> tuple[str, ...]:
        """The variable's dims between the append dimension and the grid."""
        try:
            return self._dims[variable]
        except KeyError:
            raise LabelError(f"{self.spec.dataset_id} has no variable {variable!r}") from None

    def index(self, variable: str, labels: Mapping[str, Label]) -> tuple[int, ...]:
        try:
            return tuple(self._axes[dim][labels[dim]] for dim in self.dims(variable))
        except KeyError as error:
            raise LabelError(
                f"{variable}: labels {dict(labels)} do not name a chunk (no {error})"
            ) from None

    def slot(self, ref: VirtualRef) -> Slot:
        return (ref.variable, self.index(ref.variable, ref.labels))

    def expected_slots(self, file: ExpectedFile) -> dict[Slot, str]:
        """:func:`expected_slots`, memoized per (file kind, lead, member): the same for every
        partition. Callers must not mutate the result."""
        key = (file.kind.name, file.lead_hours, file.member)
        if key not in self._expected:
            self._expected[key] = expected_slots(self.spec, self, file)
        return self._expected[key]


_LOCATORS: dict[int, ChunkLocator] = {}


def locator_for(spec: DatasetSpec) -> ChunkLocator:
    """The :class:`ChunkLocator` of ``spec``, shared by every run in the process (its memoized
    expected chunks are the same for every partition)."""
    locator = _LOCATORS.get(id(spec))
    if locator is None or locator.spec is not spec:
        locator = _LOCATORS[id(spec)] = ChunkLocator(spec)
    return locator


def expected_slots(spec: DatasetSpec, locator: ChunkLocator, file: ExpectedFile) -> dict[Slot, str]:
    """Every chunk ``file`` should fill, with a readable description of each: each variable of
    the file's kind at each level expected at its lead, for the member it holds (or every member
    when one file holds them all)."""
    members: Iterable[int | None]
    if spec.ensemble is None:
        members = (None,)
    elif file.member is not None:
        members = (file.member,)
    else:
        members = spec.ensemble.members
    slots: dict[Slot, str] = {}
    for variable in spec.variables_in(file.kind.name):
        for level in variable.expected_levels(file.lead_hours):
            for member in members:
                labels = chunk_labels(file.lead_hours, member, variable.level_dimension, level)
                where = f" {variable.level_dimension}={level}" if level is not None else ""
                who = f" member {member}" if member is not None else ""
                slot = (variable.name, locator.index(variable.name, labels))
                slots[slot] = f"{variable.name}{where} f{file.lead_hours:03d}{who}"
    return slots
