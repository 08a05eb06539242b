"""The provider hook: what a producer-specific module must offer the core.

A provider knows its producer's messages; the core (:mod:`vidx_pipeline.placement`) does the
rest. Per source file, the provider says which message goes where in label space
(:meth:`Provider.expected_messages`) and, per parsed index entry, which message it is
(:meth:`Provider.message_key`). It is looked up by name (``DatasetSpec.provider``) in the
registry :mod:`vidx_pipeline.providers`; the core never imports a provider module itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from vidx_pipeline.index_formats.base import IndexEntry
from vidx_pipeline.message_facts import MessageFacts
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import DatasetSpec, Label, VariableSpec

Placement = tuple[str, Mapping[str, Label]]
"""Where a message goes: (variable, its labels after the append dimension)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A message the provider will not reference, and why (e.g. a sub-message sharing its
    parent's bytes, which the codec would decode as its sibling)."""

    reason: str


class Provider(Protocol):
    """What the core asks of a producer's module (see the module docstring)."""

    name: str
    lead_free_keys: bool
    """True if the provider's keys never name the lead: its messages of a file then differ
    between leads only in their lead label and in the levels the spec expects or the producer
    writes there, and the core moves one lead's table to the others
    (:mod:`vidx_pipeline.placement`)."""

    def check_spec(self, spec: DatasetSpec) -> None:
        """Raise ValueError if a variable's ``match`` is not this provider's kind."""
        ...

    def expected_messages(
        self, spec: DatasetSpec, file: ExpectedFile
    ) -> Mapping[str, Sequence[Placement]]:
        """Message key -> where each occurrence of that message in ``file`` goes, in file order
        (several where the producer writes one key for several fields); an empty sequence for a
        message the producer writes and the dataset knowingly leaves out at this lead (not new
        output). Must give a place to every chunk the spec expects of the file. Called once
        per (kind, lead, member)."""
        ...

    def message_key(self, entry: IndexEntry, file: ExpectedFile) -> str | Refused:
        """The key of one index entry of ``file`` (as in :meth:`expected_messages`), or why it
        is refused. Raises ValueError for an entry that contradicts the file (the core names
        the index and line)."""
        ...

    def message_problems(
        self,
        spec: DatasetSpec,
        variable: VariableSpec,
        labels: Mapping[str, Label],
        facts: MessageFacts,
    ) -> list[str]:
        """Where a message's own parameter and level (read from its bytes) disagree with the
        variable and labels of the chunk that references it; empty when they agree. (Times,
        member and grid are the core's to compare.)"""
        ...
