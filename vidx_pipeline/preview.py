"""A small map preview of one committed field of a partition: a PNG (numpy and the standard
library's zlib only, so the pipeline needs no plotting library) for Dagster's Markdown metadata.

Contract of :func:`partition_preview`: the field is the first chunk with a virtual ref of the
partition's first ingested file (in the spec's variable order), read through the reader's path
(the repository's store, the array's codec chain); the image is that field subsampled to at most
:data:`PREVIEW_WIDTH` pixels wide, north up (rows flipped where the grid's latitude grows with
its row index), coloured by value from the field's own minimum to maximum, NaN transparent. A grid
without rows and columns (an unstructured ``cell`` dimension) has no map: ``None``.
"""

from __future__ import annotations

import base64
import datetime as dt
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import zarr

from vidx_pipeline.progress import ingested_row
from vidx_pipeline.refs import locator_for
from vidx_pipeline.repository import DatasetRepository
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.validation import slot_states

PREVIEW_WIDTH = 240
"""Width of a preview in pixels, at most (its height follows the grid's aspect)."""

_COLOURS = np.array(  # viridis at 0, 1/4, 1/2, 3/4, 1
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float
)


@dataclass(frozen=True)
class Preview:
    """One field of a partition as a PNG, and what it shows."""

    label: str  # the chunk's variable and labels, e.g. "temperature_2m f000"
    units: str
    minimum: float
    maximum: float
    png: bytes

    def markdown(self) -> str:
        """The preview as Markdown with the image inline (a ``data:`` URI)."""
        image = base64.b64encode(self.png).decode("ascii")
        return (
            f"**{self.label}** ({self.units}), {self.minimum:.6g} to {self.maximum:.6g}\n\n"
            f"![{self.label}](data:image/png;base64,{image})"
        )


def partition_preview(repository: DatasetRepository, partition_time: dt.datetime) -> Preview | None:
    """The preview of the partition's first committed field (see the module contract); None
    where nothing of the partition is committed or the grid is not two-dimensional."""
    spec = repository.spec
    if len(spec.grid.dims) != 2:
        return None
    position = spec.append_dimension.index_of(partition_time)
    row = ingested_row(repository, position)
    if row is None:
        return None
    flagged = [f for f in expected_files(spec, partition_time) if row[f.progress_index]]
    states = slot_states(repository, partition_time, flagged[:1])[1] if flagged else []
    state = next((s for s in states if s.has_ref), None)
    if state is None:
        return None
    variable, index = state.slot
    group = zarr.open_group(repository.readonly_session().store, mode="r")
    array = group[variable]
    assert isinstance(array, zarr.Array)
    values = np.asarray(array[(position, *index)], dtype=float)
    if _latitude_grows_with_row(group):
        values = values[::-1]
    finite = values[np.isfinite(values)]
    return Preview(
        label=locator_for(spec).describe(state.slot),
        units=spec.variable(variable).attrs.units,
        minimum=float(finite.min()) if finite.size else float("nan"),
        maximum=float(finite.max()) if finite.size else float("nan"),
        png=png_rgba(colour(subsample(values, PREVIEW_WIDTH))),
    )


def _latitude_grows_with_row(group: zarr.Group) -> bool:
    """Whether latitude increases with the grid's row index (south up as stored): 1-D latitude
    (a regular grid's row coordinate) or 2-D over the grid's (row, column) dims."""
    latitude = group["latitude"]
    assert isinstance(latitude, zarr.Array)
    lat = np.asarray(latitude[...])
    column = lat if lat.ndim == 1 else lat[:, lat.shape[1] // 2]
    return bool(column[-1] > column[0])


def subsample(values: np.ndarray, width: int) -> np.ndarray:
    """Every n-th row and column, n the smallest step that fits ``width`` columns."""
    step = max(1, -(-values.shape[1] // width))
    return values[::step, ::step]


def colour(values: np.ndarray) -> np.ndarray:
    """RGBA bytes (rows, columns, 4) of ``values`` on viridis from their minimum to their
    maximum; NaN (and infinities) transparent."""
    finite = np.isfinite(values)
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    if not finite.any():
        return rgba
    low, high = values[finite].min(), values[finite].max()
    scaled = (values[finite] - low) / (high - low) if high > low else np.zeros(finite.sum())
    anchors = np.linspace(0.0, 1.0, len(_COLOURS))
    for channel in range(3):
        rgba[..., channel][finite] = np.round(np.interp(scaled, anchors, _COLOURS[:, channel]))
    rgba[..., 3][finite] = 255
    return rgba


def png_rgba(rgba: np.ndarray) -> bytes:
    """A PNG (8-bit RGBA, no interlace) of an array of shape (rows, columns, 4)."""
    height, width, _ = rgba.shape
    rows = np.zeros((height, 1 + 4 * width), dtype=np.uint8)  # filter byte 0 (None) per row
    rows[:, 1:] = rgba.reshape(height, 4 * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
