"""Placing one source file's messages: the provider's labels, the core's chunks and judgement.

A provider says, for a file, which message goes where (:meth:`~vidx_pipeline.provider.Provider.
expected_messages`: message key -> the variable and labels each occurrence fills, in file order)
and what key a parsed index entry has (:meth:`~vidx_pipeline.provider.Provider.message_key`).
Everything else happens here, the same way for every provider:

- :class:`PlacementTable` turns the provider's labels into chunk indices once per (file kind,
  lead): the same for every partition. It is checked when built: every label names a chunk, no
  chunk is filled twice, and every chunk the spec expects of the file has a place. A per-member
  file's table is built for the first member and moved to the others (the provider's contract:
  members' files differ only in their member label), so GEFS's 31 members cost one table, not
  31. A provider whose keys never name the lead (``lead_free_keys = True``: ECMWF's MARS keys)
  has its table built once per file kind, member and set of levels the spec expects (or that
  the producer writes) at a lead, and moved to every other lead with the same levels: an ENS
  init's 85 steps cost two tables (step 0 lacks the windowed fields), not 85.
- :func:`place_entries` walks the entries once (a dict lookup each) into columnar
  :class:`FileRefs`; a key the table lacks, or one occurring more often than it has places, is
  new producer output (``unplaced``); a key the table holds with no place is a message the
  dataset leaves out at this lead; expected chunks left empty are ``missing``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vidx_pipeline.index_formats.base import BadIndexError, IndexEntry, SourceObject
from vidx_pipeline.provider import Provider, Refused
from vidx_pipeline.refs import ChunkLocator, LabelError, Slot, VirtualRef, file_key
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import LEAD_TIME


@dataclass(frozen=True)
class PlacementTable:
    """Where each message of one file kind at one lead (and member) goes: message key -> the
    chunks its occurrences fill, in file order."""

    locator: ChunkLocator
    by_key: Mapping[str, tuple[Slot, ...]]
    optional: frozenset[Slot]  # places the spec does not expect filled (few): never missing

    @property
    def expected_count(self) -> int:
        return self.place_count - len(self.optional)

    @functools.cached_property
    def place_count(self) -> int:
        """Every place of the table, expected or optional."""
        return sum(map(len, self.by_key.values()))


def build_table(provider: Provider, locator: ChunkLocator, file: ExpectedFile) -> PlacementTable:
    """The provider's placements for ``file`` in chunk space; ValueError if they disagree with
    the spec (a provider bug, not a bad source)."""
    spec = locator.spec
    expected = locator.expected_slots(file)
    canonical = {slot: slot for slot in expected}  # one tuple per chunk, shared below
    by_key: dict[str, tuple[Slot, ...]] = {}
    seen: dict[Slot, str] = {}
    for key, placements in provider.expected_messages(spec, file).items():
        slots = []
        for variable, labels in placements:
            try:
                slot = (variable, locator.index(variable, labels))
                slot = canonical.get(slot, slot)
            except LabelError as error:
                raise ValueError(f"provider {provider.name}: {key!r}: {error}") from None
            if slot in seen:
                raise ValueError(
                    f"provider {provider.name}: {key!r} and {seen[slot]!r} both fill "
                    f"{locator.describe(slot)}"
                )
            seen[slot] = key
            slots.append(slot)
        by_key[key] = tuple(slots)
    if unplaceable := [locator.describe(slot) for slot in expected if slot not in seen]:
        raise ValueError(
            f"provider {provider.name} has no message for {len(unplaceable)} chunks "
            f"{spec.dataset_id} expects of {file.kind.name} f{file.lead_hours:03d}: "
            + "; ".join(unplaceable[:5])
        )
    return PlacementTable(locator, by_key, frozenset(seen.keys() - canonical.keys()))


def table_for(provider: Provider, locator: ChunkLocator, file: ExpectedFile) -> PlacementTable:
    """:func:`build_table`, memoized in ``locator.tables`` per (kind, lead); for a per-member
    file, the first member's table moved to the file's member. For a provider with
    ``lead_free_keys``, memoized per (kind, member, levels at the lead) instead and moved to the
    file's lead (see the module docstring). A moved table is not kept: used for one file and
    dropped."""
    first = locator.first_member
    base = file if file.member in (None, first) else dataclasses.replace(file, member=first)
    if provider.lead_free_keys and locator.spec.lead_times is not None:
        table = _table_at_lead(provider, locator, base)
    elif (memoized := locator.tables.get(file_key(base))) is not None:
        table = memoized
    else:
        table = locator.tables[file_key(base)] = build_table(provider, locator, base)
    if base is file or file.member is None:
        return table
    return _moved(table, locator.member_position, locator.member_index(file.member))


def _table_at_lead(provider: Provider, locator: ChunkLocator, file: ExpectedFile) -> PlacementTable:
    """The table of a file of the same kind and member at a lead where every variable has the
    same levels (expected and written: all that the provider's messages and the spec's expected
    chunks depend on besides the lead label, when keys never name the lead), moved to
    ``file``'s lead; built for ``file`` if there is none yet."""
    spec = locator.spec
    kind, lead = file.kind.name, file.lead_hours
    if lead not in (hours := spec.lead_hours):
        return build_table(provider, locator, file)  # which refuses it, naming the labels
    levels = tuple(
        (
            spec.expected_levels_in(variable, kind, lead),
            spec.expected_levels_in(variable, kind, lead, written=True),
        )
        for variable in spec.variables_in(kind)
    )
    memo_key = (kind, file.member, levels)
    table = locator.tables.get(memo_key)
    if table is None:
        table = locator.tables[memo_key] = build_table(provider, locator, file)
        return table
    return _moved(table, spec.non_grid_dims[1:].index(LEAD_TIME), hours.index(lead))


def _moved(table: PlacementTable, position: int, index: int) -> PlacementTable:
    """``table`` with every chunk's index on the dimension at ``position`` (the lead's or the
    member's: every variable's first dims) set to ``index``."""

    def move(slot: Slot) -> Slot:
        variable, at = slot
        return (variable, (*at[:position], index, *at[position + 1 :]))

    by_key = {key: tuple(map(move, slots)) for key, slots in table.by_key.items()}
    return PlacementTable(table.locator, by_key, frozenset(map(move, table.optional)))


@dataclass(frozen=True)
class MissingField:
    """An expected chunk of a file that its index does not hold."""

    slot: str  # e.g. "temperature_isobaric isobaric_level=500.0 f007"
    index_url: str

    def describe(self) -> str:
        return f"{self.slot}: not in {self.index_url}"


@dataclass(frozen=True)
class FileRefs:
    """The placed refs of one published file, columnar (one row per ref, all from ``url`` with
    ``checksum``), and what the file lacked or added."""

    file: ExpectedFile
    data: SourceObject  # the data object as listed
    url: str
    checksum: dt.datetime | str
    slots: list[Slot]
    offsets: list[int]
    lengths: list[int]
    missing: list[MissingField]
    unplaced: list[str]  # messages of fields the dataset does not hold: new producer output
    refused: list[str]  # messages the provider will not reference, with why

    def __len__(self) -> int:
        return len(self.slots)

    def refs(self, locator: ChunkLocator) -> list[VirtualRef]:
        """The refs in label space (for reports and tests; the writer reads the columns)."""
        return [
            VirtualRef(slot[0], locator.labels(slot), self.url, offset, length, self.checksum)
            for slot, offset, length in zip(self.slots, self.offsets, self.lengths, strict=True)
        ]


def place_entries(
    provider: Provider,
    table: PlacementTable,
    file: ExpectedFile,
    entries: Sequence[IndexEntry],
    *,
    data: SourceObject,
    data_url: str,
    index_url: str,
    checksum: dt.datetime | str,
) -> FileRefs:
    """Place every entry of one parsed index (see the module contract)."""
    by_key = table.by_key
    message_key = provider.message_key
    taken: dict[str, int] = {}
    slots: list[Slot] = []
    offsets: list[int] = []
    lengths: list[int] = []
    unplaced: list[str] = []
    refused: list[str] = []
    for line, entry in enumerate(entries, start=1):
        try:
            key = message_key(entry, file)
        except ValueError as error:
            raise BadIndexError(index_url, str(error), line) from None
        if isinstance(key, Refused):
            refused.append(f"{index_url} line {line}: {key.reason}")
            continue
        candidates = by_key.get(key)
        if candidates == ():
            continue  # a message the dataset leaves out at this lead
        candidates = candidates or ()
        used = taken.get(key, 0)
        if used >= len(candidates):
            unplaced.append(f"{key} ({index_url} line {line})")
            continue
        taken[key] = used + 1
        slots.append(candidates[used])
        offsets.append(entry.offset)
        lengths.append(entry.length)  # type: ignore[arg-type]  # formats guarantee a length
    missing = [
        MissingField(table.locator.describe(slot), index_url)
        for key, candidates in (by_key.items() if len(slots) < table.place_count else ())
        for slot in candidates[taken.get(key, 0) :]
        if slot not in table.optional
    ]
    return FileRefs(
        file, data, data_url, checksum, slots, offsets, lengths, missing, unplaced, refused
    )
