"""NOAA HRRR CONUS surface (``wrfsfc``) inventories for any lead of a 48-hour forecast.

Contract:

- :data:`HRRR_PRODUCT` describes the real inventories shipped in ``vidx_offline/inventories/``:
  f00 (170 lines) and f24 (173 lines) of the 2025-08-01 00z run.
- Lead 0 is the f00 template as it is: its lines in order with their own windows, ``anl`` for
  instantaneous fields and the zero-length statistics HRRR writes at its analysis time
  (``0-0 day max fcst``, ``0-0 day acc fcst``, ...).
- Any lead ``L`` > 0 is the f24 template re-rendered by the shared rules of
  :mod:`vidx_offline.inventory`: instants ``L hour fcst``; HRRR's statistical buckets are one
  hour long, ``{L-1}-{L} hour STAT fcst`` (``23-24 hour max fcst`` at f24); running totals since
  initialisation ``0-L hour acc fcst``, written in days when ``L`` is a multiple of 24
  (``0-1 day acc fcst`` at f24, ``0-2 day acc fcst`` at f48). At lead 1 a bucket and a running
  total both read ``0-1 hour acc fcst`` (APCP, WEASD, FROZR): both lines are kept, in template
  order, as GFS keeps its two ``0-6 hour acc fcst`` at f006.
- Every line has six fields ending in ``:`` (no ensemble field). A template window that fits no
  rule raises :class:`~vidx_offline.inventory.InventoryTemplateError` naming the line.
- The rules hold for any lead; the archive (:mod:`vidx_offline.hrrr_archive`) limits leads to
  :data:`HRRR_MAX_LEAD_HOURS`.
"""

from __future__ import annotations

from collections.abc import Collection

from vidx_offline.inventory import InventoryLine, InventoryProduct, product_inventory

HRRR_MAX_LEAD_HOURS = 48
"""HRRR's longest forecast (runs at 00, 06, 12 and 18 UTC; the others stop at
:data:`HRRR_SHORT_RUN_LEAD_HOURS`)."""

HRRR_SHORT_RUN_LEAD_HOURS = 18
"""The longest forecast of the HRRR runs at other hours than :data:`HRRR_LONG_RUN_HOURS`."""

HRRR_LONG_RUN_HOURS = (0, 6, 12, 18)
"""Init hours (UTC) of HRRR's 48-hour runs."""

HRRR_BUCKET_HOURS = 1
"""HRRR resets its statistical buckets every hour."""

HRRR_PRODUCT = InventoryProduct(
    name="HRRR CONUS wrfsfc",
    forecast_template="hrrr.t00z.wrfsfcf24.grib2.idx",
    template_lead_hours=24,
    bucket_hours=HRRR_BUCKET_HOURS,
    analysis_template="hrrr.t00z.wrfsfcf00.grib2.idx",
    analysis_statistics=True,
    running_statistics=True,
)
"""NCEP HRRR CONUS ``wrfsfc``: f00 and f24 templates, 1 h buckets plus running totals."""


def hrrr_inventory(
    lead_hours: int, fields: Collection[tuple[str, str]] | None = None
) -> list[InventoryLine]:
    """The HRRR ``wrfsfc`` inventory lines of lead ``lead_hours``, in the producer's order
    (:func:`~vidx_offline.inventory.product_inventory` of :data:`HRRR_PRODUCT`; ``fields``
    filters by ``(element, level)``, keeping order and duplicates)."""
    return product_inventory(HRRR_PRODUCT, lead_hours, fields)
