"""The registry of producers' index formats, one module each. The core looks a format up here by
the name a spec's file kind gives (``SourceFileKind.index_format``) and never branches on it."""

from __future__ import annotations

from vidx_pipeline.index_formats import ecmwf_index, wgrib2_idx, whole_object
from vidx_pipeline.index_formats.base import IndexFormat

FORMATS: dict[str, IndexFormat] = {
    module.FORMAT.name: module.FORMAT for module in (wgrib2_idx, ecmwf_index, whole_object)
}


def get_format(name: str) -> IndexFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown index format {name!r}; known: {sorted(FORMATS)}") from None
