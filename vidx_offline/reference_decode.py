"""ecCodes, the reference decoder: what every decode through Icechunk is checked against."""

from __future__ import annotations

from pathlib import Path

import eccodes
import numpy as np


def eccodes_decode(message: bytes) -> np.ndarray:
    """ecCodes' decode of one GRIB message as (Nj, Ni) float64 in the file's scanning order
    (on an unstructured grid, 1-D in the producer's point order), NaN where the bitmap marks a
    point missing."""
    handle = eccodes.codes_new_from_message(message)
    try:
        values = eccodes.codes_get_values(handle).astype("float64")
        if eccodes.codes_get_long(handle, "bitmapPresent"):
            values[values == eccodes.codes_get_double(handle, "missingValue")] = np.nan
        if eccodes.codes_get_string(handle, "gridType") == "unstructured_grid":
            shape: tuple[int, ...] = (eccodes.codes_get_long(handle, "numberOfDataPoints"),)
        else:
            shape = (eccodes.codes_get_long(handle, "Nj"), eccodes.codes_get_long(handle, "Ni"))
    finally:
        eccodes.codes_release(handle)
    return values.reshape(shape)


def eccodes_message_ranges(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every GRIB message in the file at ``path``, as ecCodes' scan finds
    them."""
    found = []
    with path.open("rb") as handle:
        while (gid := eccodes.codes_grib_new_from_file(handle)) is not None:
            try:
                found.append(
                    (
                        eccodes.codes_get_long(gid, "offset"),
                        eccodes.codes_get_long(gid, "totalLength"),
                    )
                )
            finally:
                eccodes.codes_release(gid)
    return found
