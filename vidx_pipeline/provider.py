"""The provider hook: what a producer-specific module must offer the core.

A provider turns one source file's parsed index entries into :class:`~vidx_pipeline.refs.
VirtualRef` s in label space. It is looked up by name (``DatasetSpec.provider``) in the registry
:mod:`vidx_pipeline.providers`; the core never imports a provider module itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from vidx_pipeline.index_formats.base import IndexEntry
from vidx_pipeline.refs import FileMatch
from vidx_pipeline.source_files import ExpectedFile
from vidx_pipeline.spec import DatasetSpec


class Provider(Protocol):
    name: str

    def check_spec(self, spec: DatasetSpec) -> None:
        """Raise ValueError if a variable's ``match`` is not this provider's kind."""
        ...

    def match_file(
        self,
        spec: DatasetSpec,
        file: ExpectedFile,
        entries: Sequence[IndexEntry],
        *,
        data_url: str,
        index_url: str,
        checksum: dt.datetime | str,
    ) -> FileMatch:
        """Refs for the messages of ``file`` that the dataset holds; the others reported."""
        ...
