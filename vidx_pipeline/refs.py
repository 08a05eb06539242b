"""Refs in label space, and the one engine that turns labels into chunk indices.

A provider places each message by its variable and its labels on every non-grid dimension
after the append one (``{"lead_time": 7, "ensemble_member": 3, "isobaric_level": 500.0}``); with
where the message is (url, offset, length, checksum) that is a :class:`VirtualRef`. The
partition fixes the append position. :class:`ChunkLocator` alone turns labels into chunk
indices; :func:`expected_slots` says which chunks a source file should fill, so missing and
unexpected refs are judged in the core, the same way for every provider.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import ENSEMBLE_MEMBER, LEAD_TIME, DatasetSpec, Label

if TYPE_CHECKING:
    from vidx_pipeline.placement import PlacementTable

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


FileKey = tuple[str, int, int | None]
"""What a file's expected content depends on: (kind, lead hours, member)."""


def file_key(file: ExpectedFile) -> FileKey:
    return (file.kind.name, file.lead_hours, file.member)


_NAMED_DIMS = (LEAD_TIME, ENSEMBLE_MEMBER)


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
        grid_dims = len(spec.grid.dims)
        self._dims = {v.name: spec.variable_dims(v)[1:-grid_dims] for v in spec.variables}
        self._var_axes = {
            name: tuple((dim, self._axes[dim]) for dim in dims) for name, dims in self._dims.items()
        }
        self._values = {dim: list(axis) for dim, axis in self._axes.items()}
        self._indices: dict[tuple[int, ...], tuple[int, ...]] = {}  # one object per index
        self.tables: dict[Hashable, PlacementTable] = {}
        """Placement tables memoized by :mod:`vidx_pipeline.placement`: per file key, or per
        (kind, member, levels at the lead) for a provider whose keys never name the lead."""
        non_grid = spec.non_grid_dims[1:]
        self.member_position = (
            non_grid.index(ENSEMBLE_MEMBER) if ENSEMBLE_MEMBER in non_grid else -1
        )
        """Where the member is in every chunk index (the non-grid dims come first in each)."""
        self.first_member = spec.ensemble.members[0] if spec.ensemble is not None else None

    def member_index(self, member: int) -> int:
        try:
            return self._axes[ENSEMBLE_MEMBER][member]
        except KeyError:
            raise LabelError(f"{self.spec.dataset_id} has no ensemble member {member}") from None

    def dims(self, variable: str) -> tuple[str, ...]:
        """The variable's dims between the append dimension and the grid."""
        try:
            return self._dims[variable]
        except KeyError:
            raise LabelError(f"{self.spec.dataset_id} has no variable {variable!r}") from None

    def index(self, variable: str, labels: Mapping[str, Label]) -> tuple[int, ...]:
        try:
            index = tuple([axis[labels[dim]] for dim, axis in self._var_axes[variable]])
        except KeyError as error:
            self.dims(variable)  # names an unknown variable
            raise LabelError(
                f"{variable}: labels {dict(labels)} do not name a chunk (no {error})"
            ) from None
        return self._indices.setdefault(index, index)

    def slot(self, ref: VirtualRef) -> Slot:
        return (ref.variable, self.index(ref.variable, ref.labels))

    def labels(self, slot: Slot) -> dict[str, Label]:
        """The labels of a chunk (the inverse of :meth:`index`)."""
        variable, index = slot
        return {
            dim: self._values[dim][i] for dim, i in zip(self.dims(variable), index, strict=True)
        }

    def describe(self, slot: Slot) -> str:
        """A chunk for people: ``temperature_isobaric isobaric_level=500.0 f007 member 3``."""
        labels = self.labels(slot)
        words = [slot[0]]
        words += [f"{dim}={value}" for dim, value in labels.items() if dim not in _NAMED_DIMS]
        if LEAD_TIME in labels:
            words.append(f"f{labels[LEAD_TIME]:03d}")
        if ENSEMBLE_MEMBER in labels:
            words.append(f"member {labels[ENSEMBLE_MEMBER]}")
        return " ".join(words)

    def expected_slots(self, file: ExpectedFile) -> tuple[Slot, ...]:
        """:func:`expected_slots` of ``file``."""
        return expected_slots(self.spec, self, file)


_LOCATORS: dict[int, ChunkLocator] = {}


def locator_for(spec: DatasetSpec) -> ChunkLocator:
    """The :class:`ChunkLocator` of ``spec``, shared by every run in the process (its memoized
    expected chunks are the same for every partition)."""
    locator = _LOCATORS.get(id(spec))
    if locator is None or locator.spec is not spec:
        locator = _LOCATORS[id(spec)] = ChunkLocator(spec)
    return locator


def expected_slots(
    spec: DatasetSpec, locator: ChunkLocator, file: ExpectedFile
) -> tuple[Slot, ...]:
    """Every chunk ``file`` should fill: each variable of the file's kind at each level expected
    at its lead, for the member it holds (or every member when one file holds them all)."""
    members: Iterable[int | None]
    if spec.ensemble is None:
        members = (None,)
    elif file.member is not None:
        members = (file.member,)
    else:
        members = spec.ensemble.members
    slots: list[Slot] = []
    for variable in spec.variables_in(file.kind.name):
        for level in spec.expected_levels_in(variable, file.kind.name, file.lead_hours):
            for member in members:
                labels = chunk_labels(file.lead_hours, member, variable.level_dimension, level)
                slots.append((variable.name, locator.index(variable.name, labels)))
    return tuple(slots)
