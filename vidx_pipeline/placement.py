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
  31.
- :func:`place_entries` walks the entries once (a dict lookup each) into columnar
  :class:`FileRefs`; a key the table lacks, or one occurring more often than it has places, is
  new producer output (``unplaced``); a key the table holds with no place is a message the
  dataset leaves out at this lead; expected chunks left empty are ``missing``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vidx_pipeline.index_formats.base import BadIndexError, IndexEntry, SourceObject
from vidx_pipeline.provider import Provider, Refused
from vidx_pipeline.refs import ChunkLocator, LabelError, Slot, VirtualRef, file_key
from vidx_pipeline.source_files import ExpectedFile


@dataclass(frozen=True)
class PlacementTable:
    """Where each message of one file kind at one lead (and member) goes: message key -> the
    chunks its occurrences fill, in file order."""

    locator: ChunkLocator
    by_key: Mapping[str, tuple[Slot, ...]]
    optional: frozenset[Slot]  # places the spec does not expect filled (few): never missing

    @property
    def expected_count(self) -> int:
        return sum(len(slots) for slots in self.by_key.values()) - len(self.optional)


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
    """:func:`build_table`, memoized in ``locator`` per (kind, lead); for a per-member file, the
    first member's table moved to the file's member."""
    first = locator.first_member
    base = file if file.member in (None, first) else dataclasses.replace(file, member=first)
    key = file_key(base)
    table = locator.tables.get(key)
    if table is None:
        table = locator.tables[key] = build_table(provider, locator, base)
    if base is file or file.member is None:
        return table
    return _moved_to_member(table, file.member)


def _moved_to_member(table: PlacementTable, member: int) -> PlacementTable:
    """``table`` with every chunk's member index set to ``member``'s (not interned: used for
    one file and dropped)."""
    locator = table.locator
    position = locator.member_position
    index = locator.member_index(member)

    def move(slot: Slot) -> Slot:
        variable, at = slot
        return (variable, (*at[:position], index, *at[position + 1 :]))

    by_key = {key: tuple(map(move, slots)) for key, slots in table.by_key.items()}
    return PlacementTable(locator, by_key, frozenset(map(move, table.optional)))


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
        for key, candidates in by_key.items()
        for slot in candidates[taken.get(key, 0) :]
        if slot not in table.optional
    ]
    return FileRefs(
        file, data, data_url, checksum, slots, offsets, lengths, missing, unplaced, refused
    )
