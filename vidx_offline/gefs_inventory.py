"""NOAA GEFS 0.5° inventories (``pgrb2a``, ``pgrb2b``) and member naming, for any lead.

Contract:

- :data:`GEFS_PRODUCTS` describes the two file kinds with the real control-member inventories
  shipped in ``vidx_offline/inventories/``: ``pgrb2a`` from f432 (85 lines, ``432 hour fcst``
  and the bucket ``426-432 hour STAT fcst``) and ``pgrb2b`` from f003 (505 lines, ``3 hour
  fcst`` and the bucket ``0-3 hour STAT fcst``). GEFS resets every statistic every 6 hours and
  has no running statistic since initialisation, so every statistical line is a bucket:
  :func:`gefs_inventory` re-renders it as ``{r}-{L} hour STAT fcst`` with
  ``r = ((L - 1) // 6) * 6`` (``6-9 hour acc fcst`` at lead 9), instants as ``{L} hour fcst``
  (rules of :mod:`vidx_offline.inventory`, shared with GFS).
- Lead 0 is an assumption, not a copy: no real f000 GEFS ``pgrb2a``/``pgrb2b`` inventory is
  available, so lead 0 is the forecast template's instantaneous lines with window ``anl``, in
  order, and no statistical line (NCEP writes no accumulation or average at f000). The real
  f000 files may hold a somewhat different set of fields.
- Members: ``ensemble_member`` 0 is the control, label ``c00`` (:func:`member_label`), written
  ``ENS=low-res ctl`` in the inventory (:func:`ensemble_text`); member k in 1..30 is ``pKK``
  (``p01``...), written ``ENS=+k``. Anything else raises :class:`~vidx_offline.inventory
  .InventoryError`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal, get_args

from vidx_offline.inventory import (
    BUCKET_HOURS,
    InventoryError,
    InventoryLine,
    InventoryProduct,
    product_inventory,
)

GefsKind = Literal["pgrb2a", "pgrb2b"]
GEFS_KINDS: tuple[GefsKind, ...] = get_args(GefsKind)

GEFS_ENSEMBLE_SIZE = 31
"""Control plus 30 perturbed members (what NCEP writes as numberOfForecastsInEnsemble)."""

CONTROL_ENSEMBLE_TEXT = "ENS=low-res ctl"
"""wgrib2's text of code table 4.6 value 1 (unperturbed low-resolution control)."""

GEFS_PRODUCTS: Mapping[GefsKind, InventoryProduct] = {
    "pgrb2a": InventoryProduct(
        name="GEFS pgrb2a 0.5°",
        forecast_template="gec00.t00z.pgrb2a.0p50.f432.idx",
        template_lead_hours=432,
        bucket_hours=BUCKET_HOURS,
        template_extra=CONTROL_ENSEMBLE_TEXT,
    ),
    "pgrb2b": InventoryProduct(
        name="GEFS pgrb2b 0.5°",
        forecast_template="gec00.t00z.pgrb2b.0p50.f003.idx",
        template_lead_hours=3,
        bucket_hours=BUCKET_HOURS,
        template_extra=CONTROL_ENSEMBLE_TEXT,
    ),
}


def check_member(member: int) -> int:
    """``member`` if it is an int in ``0 .. GEFS_ENSEMBLE_SIZE - 1``; raises otherwise."""
    if (
        isinstance(member, bool)
        or not isinstance(member, int)
        or not 0 <= member < GEFS_ENSEMBLE_SIZE
    ):
        raise InventoryError(
            f"GEFS member must be an int in 0..{GEFS_ENSEMBLE_SIZE - 1}, got {member!r}"
        )
    return member


def check_kind(kind: str) -> GefsKind:
    """``kind`` if it is one of :data:`GEFS_KINDS`; raises otherwise."""
    if kind not in GEFS_KINDS:
        raise InventoryError(f"GEFS file kind must be one of {GEFS_KINDS}, got {kind!r}")
    return kind


def member_label(member: int) -> str:
    """The member's label in NCEP's file names: 0 -> ``c00``, 7 -> ``p07``."""
    check_member(member)
    return "c00" if member == 0 else f"p{member:02d}"


def ensemble_text(member: int) -> str:
    """The 7th field of the member's inventory lines: ``ENS=low-res ctl`` or ``ENS=+k``."""
    check_member(member)
    return CONTROL_ENSEMBLE_TEXT if member == 0 else f"ENS=+{member}"


def gefs_inventory(
    kind: str, lead_hours: int, fields: Collection[tuple[str, str]] | None = None
) -> list[InventoryLine]:
    """The lines of every member's ``kind`` file at ``lead_hours``, in the producer's order
    (the same for every member; only the ENS text differs). ``fields`` filters as in
    :func:`~vidx_offline.inventory.product_inventory`."""
    return product_inventory(GEFS_PRODUCTS[check_kind(kind)], lead_hours, fields)
