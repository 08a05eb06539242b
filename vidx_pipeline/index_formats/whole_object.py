"""No index (DWD ICON): the whole object is one message and one chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from vidx_pipeline.index_formats.base import (
    BadIndexError,
    IndexEntry,
    SourceObject,
    WholeObjectEntry,
)


class WholeObjectFormat:
    name = "none"
    has_index = False

    def parse(
        self, text: str, *, index_url: str, data: SourceObject, data_url: str, init: dt.datetime
    ) -> Sequence[IndexEntry]:
        """``text`` is ignored (there is no index object); the entry spans the object."""
        if data.size <= 0:
            raise BadIndexError(data_url, "empty object")
        return [WholeObjectEntry(offset=0, length=data.size)]


FORMAT = WholeObjectFormat()
