"""Real NOAA wgrib2 inventories used as templates for any lead time.

Contract:

- The templates are the producer's own inventories, shipped as package data in
  ``vidx_offline/inventories/``. An :class:`InventoryProduct` describes one product's templates:
  a forecast template at ``template_lead_hours``, optionally an analysis template for lead 0,
  the bucket length of its statistical windows, whether it also holds running statistics since
  initialisation, and the 7th field every template line carries (GEFS ``ENS=...``) if any.
- :func:`product_inventory` returns, for lead 0, the analysis template's lines in order (every
  window must be ``anl``, or for a product with ``analysis_statistics`` a zero-length
  ``0-0 day STAT fcst`` as HRRR writes at f00) or, for a product without one, the forecast
  template's instantaneous
  lines with window ``anl`` (statistical lines omitted: nothing has been accumulated yet); for
  any lead > 0, the forecast template's lines in order, each window re-rendered for that lead
  by :func:`render_window`.
- :func:`render_window` applies NCEP's rules (checked against real GFS inventories):

  * ``"{T} hour fcst"`` -> ``"{h} hour fcst"`` (``T`` = the template lead);
  * ``"0-{T} hour STAT fcst"`` of a product with running statistics (since initialisation)
    -> ``"0-{h} hour STAT fcst"``;
  * ``"{b}-{T} hour STAT fcst"`` with ``b = bucket_start(T)`` (the bucket) ->
    ``"{r}-{h} hour STAT fcst"`` with ``r = bucket_start(h) = ((h - 1) // B) * B``.

  A statistical window ``A-B`` is written in whole days, ``"{A // 24}-{B // 24} day STAT fcst"``,
  when both ends are multiples of 24 h, as wgrib2 does (GFS ``0-240 h`` is ``0-10 day``; a 6 h
  bucket never is); template windows are read in the same form (HRRR's f24 running total
  ``0-1 day acc fcst`` is ``0-24 h``). Any other template window raises
  :class:`InventoryTemplateError` naming the line; nothing is passed through silently.
- :data:`GFS_PRODUCT` is the GFS 0.25° product (f000 + f007, 6 h buckets, running totals);
  :func:`gfs_inventory` is its inventory.
- This module is deliberately independent of ``vidx_pipeline.providers`` and
  ``vidx_pipeline.datasets``: it is the generator side of an independent check of the
  pipeline's own matcher.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from pydantic import field_validator, model_validator

from vidx_pipeline.spec import FrozenModel

INVENTORY_DIR = Path(__file__).parent / "inventories"
"""Directory holding the real inventories (package data)."""

ANALYSIS_TEMPLATE = "gfs.t00z.pgrb2.0p25.f000.idx"
FORECAST_TEMPLATE = "gfs.t00z.pgrb2.0p25.f007.idx"
TEMPLATE_LEAD_HOURS = 7
"""The lead of the GFS forecast template: every non-analysis window in it ends at this hour."""

BUCKET_HOURS = 6
"""GFS (and GEFS) reset their statistical buckets every 6 hours."""

STATISTICS = ("acc", "ave", "max", "min")
"""Statistical-process words wgrib2 writes in NCEP windows (accumulation, average, max, min)."""

_INSTANT = re.compile(r"(?P<end>\d+) hour fcst")
_STATISTICAL = re.compile(r"(?P<start>\d+)-(?P<end>\d+) (?P<unit>hour|day) (?P<stat>[a-z]+) fcst")
_UNIT_HOURS = {"hour": 1, "day": 24}
_FIELD_SEPARATORS = (":", "\n", "\r")


class InventoryError(ValueError):
    """An inventory line or a request for one is malformed."""


class InventoryTemplateError(InventoryError):
    """A template inventory holds something the re-rendering rules do not cover."""


def _as_utc(value: datetime) -> datetime:
    """Naive datetimes are UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _check_field_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InventoryError(f"{name} must be a non-empty str, got {value!r}")
    if any(sep in value for sep in _FIELD_SEPARATORS):
        raise InventoryError(
            f"{name}={value!r} contains ':' or a line break, "
            "which would corrupt the wgrib2 inventory line"
        )


@dataclass(frozen=True)
class InventoryLine:
    """One wgrib2 inventory entry without its position: ELEMENT, level text and window text.

    The three fields are the producer's exact text (e.g. ``"TMP"``, ``"2 m above ground"``,
    ``"7 hour fcst"``). None may be empty or contain ``:`` or a line break.
    """

    element: str
    level: str
    window: str

    def __post_init__(self) -> None:
        for name in ("element", "level", "window"):
            _check_field_text(f"InventoryLine.{name}", getattr(self, name))

    def text(self, n: int, offset: int, init: datetime, extra: str | None = None) -> str:
        """The exact wgrib2 line (no newline).

        Without ``extra``: ``n:offset:d=YYYYMMDDHH:ELEMENT:level:window:`` (GFS, trailing
        colon). With ``extra`` (e.g. GEFS ``"ENS=+3"``): ``...:window:EXTRA``, a 7th field and
        no trailing colon, as wgrib2 writes ensemble inventories. ``n`` is the 1-based message
        number, ``offset`` the message's byte offset in the file, ``init`` the initialisation
        time (naive = UTC; aware is converted to UTC). ``extra`` must be a non-empty str
        without ``:`` or a line break.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InventoryError(f"message number must be an int >= 1, got {n!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InventoryError(f"byte offset must be an int >= 0, got {offset!r}")
        init = _as_utc(init)
        head = f"{n}:{offset}:d={init:%Y%m%d%H}:{self.element}:{self.level}:{self.window}:"
        if extra is None:
            return head
        _check_field_text("extra", extra)
        return head + extra


def parse_inventory_entry(
    text: str, expected_number: int | None = None
) -> tuple[InventoryLine, str | None]:
    """Parse one real wgrib2 line: ``n:offset:d=YYYYMMDDHH:ELEMENT:level:window:`` (extra None)
    or ``n:offset:d=YYYYMMDDHH:ELEMENT:level:window:EXTRA`` (e.g. GEFS ``ENS=low-res ctl``).

    Raises :class:`InventoryError` for any other number of fields, a non-numeric position, a
    malformed date, or a number other than ``expected_number``.
    """
    parts = text.split(":")
    if len(parts) != 7:
        raise InventoryError(
            "not a wgrib2 line 'n:offset:d=YYYYMMDDHH:ELEMENT:level:window:[EXTRA]' "
            f"(got {len(parts) - 1} fields): {text!r}"
        )
    number, offset, date, element, level, window, extra = parts
    if not number.isdigit() or not offset.isdigit():
        raise InventoryError(f"message number/offset are not integers: {text!r}")
    if expected_number is not None and int(number) != expected_number:
        raise InventoryError(f"expected message number {expected_number}, got {text!r}")
    if not re.fullmatch(r"d=\d{10}", date):
        raise InventoryError(f"date field is not d=YYYYMMDDHH: {text!r}")
    return InventoryLine(element=element, level=level, window=window), extra or None


def parse_inventory_line(text: str, expected_number: int | None = None) -> InventoryLine:
    """Parse one real 6-field wgrib2 line ``n:offset:d=YYYYMMDDHH:ELEMENT:level:window:``.

    Raises :class:`InventoryError` if the line has extra fields (e.g. GEFS ``ENS=`` text; use
    :func:`parse_inventory_entry` for those), a non-numeric position, or a number other than
    ``expected_number``.
    """
    line, extra = parse_inventory_entry(text, expected_number)
    if extra is not None:
        raise InventoryError(
            f"not a 6-field wgrib2 line ending in ':' (7th field {extra!r}): {text!r}"
        )
    return line


@cache
def template_lines(name: str, extra: str | None = None) -> tuple[InventoryLine, ...]:
    """The lines of one shipped template inventory, in file order (parsed once, cached).

    Every line must carry exactly ``extra`` as its 7th field (None: 6-field lines).
    """
    path = INVENTORY_DIR / name
    try:
        raw = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise InventoryTemplateError(
            f"template inventory {path} is missing: the package data was not installed"
        ) from None
    if not raw.endswith("\n"):
        raise InventoryTemplateError(f"{path} does not end with a newline")
    lines = []
    for number, text in enumerate(raw[:-1].split("\n"), start=1):
        line, found = parse_inventory_entry(text, expected_number=number)
        if found != extra:
            raise InventoryTemplateError(
                f"{path} line {number} has 7th field {found!r}, the template must carry {extra!r}"
            )
        lines.append(line)
    if not lines:
        raise InventoryTemplateError(f"{path} is empty")
    return tuple(lines)


def _check_lead(lead_hours: int) -> None:
    if isinstance(lead_hours, bool) or not isinstance(lead_hours, int) or lead_hours < 0:
        raise InventoryError(f"lead_hours must be an int >= 0, got {lead_hours!r}")


def bucket_start(lead_hours: int, bucket_hours: int = BUCKET_HOURS) -> int:
    """Start hour of the ``bucket_hours`` bucket ending at ``lead_hours`` (> 0)."""
    return ((lead_hours - 1) // bucket_hours) * bucket_hours


def statistical_window(start_hours: int, end_hours: int, stat: str) -> str:
    """wgrib2's text of a statistical window: in whole days when both ends are multiples of
    24 h (``"0-10 day acc fcst"``), else in hours (``"120-123 hour acc fcst"``)."""
    if start_hours % 24 == 0 and end_hours % 24 == 0:
        return f"{start_hours // 24}-{end_hours // 24} day {stat} fcst"
    return f"{start_hours}-{end_hours} hour {stat} fcst"


class InventoryProduct(FrozenModel):
    """The templates of one NCEP product and how its windows move with the lead.

    ``forecast_template``: file name in :data:`INVENTORY_DIR`, every window of which ends at
    ``template_lead_hours`` (> 0). ``analysis_template``: the lead-0 file (all ``anl``), or None
    to derive lead 0 from the forecast template (instantaneous lines as ``anl``, statistical
    lines omitted). ``analysis_statistics``: the analysis template may also hold zero-length
    statistics ``0-0 day STAT fcst`` (HRRR's f00), kept as they are; requires an
    ``analysis_template``. ``bucket_hours``: statistical buckets reset every this many hours.
    ``running_statistics``: the product also holds statistics since initialisation
    (``0-{T} hour STAT fcst`` besides the bucket); it must then be distinguishable from the
    bucket, i.e. the template's bucket must not start at 0. ``template_extra``: the 7th field
    every template line carries (the templates are one member's files), or None.
    """

    name: str
    forecast_template: str
    template_lead_hours: int
    bucket_hours: int = BUCKET_HOURS
    analysis_template: str | None = None
    analysis_statistics: bool = False
    running_statistics: bool = False
    template_extra: str | None = None

    @field_validator("template_lead_hours", "bucket_hours")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @model_validator(mode="after")
    def _unambiguous(self) -> InventoryProduct:
        if self.analysis_statistics and self.analysis_template is None:
            raise ValueError(
                f"{self.name}: analysis_statistics describes an analysis template; "
                "analysis_template is None"
            )
        if self.running_statistics and self.template_bucket_start == 0:
            raise ValueError(
                f"{self.name}: the {self.template_lead_hours} h template's bucket starts at 0, "
                "so running statistics since initialisation cannot be told from the bucket"
            )
        return self

    @property
    def template_bucket_start(self) -> int:
        """Start hour of the bucket in the forecast template."""
        return bucket_start(self.template_lead_hours, self.bucket_hours)


GFS_PRODUCT = InventoryProduct(
    name="GFS 0.25°",
    forecast_template=FORECAST_TEMPLATE,
    template_lead_hours=TEMPLATE_LEAD_HOURS,
    bucket_hours=BUCKET_HOURS,
    analysis_template=ANALYSIS_TEMPLATE,
    running_statistics=True,
)
"""NCEP GFS 0.25° ``pgrb2``: f000 and f007 templates, 6 h buckets plus running totals."""


def _statistical(window: str) -> tuple[int, int, str] | None:
    """``(start hours, end hours, STAT)`` of a statistical window in wgrib2's own form: the days
    form only where wgrib2 writes days (both ends whole days), STAT in :data:`STATISTICS`."""
    match = _STATISTICAL.fullmatch(window)
    if match is None or match["stat"] not in STATISTICS:
        return None
    unit = _UNIT_HOURS[match["unit"]]
    start, end = int(match["start"]) * unit, int(match["end"]) * unit
    if statistical_window(start, end, match["stat"]) != window:
        return None  # e.g. "0-24 hour acc fcst", which wgrib2 writes "0-1 day acc fcst"
    return start, end, match["stat"]


def render_window(
    template_window: str, lead_hours: int, product: InventoryProduct = GFS_PRODUCT
) -> str:
    """Re-render one forecast-template window for ``lead_hours`` (> 0); see the module contract.

    Raises :class:`InventoryTemplateError` for any window the rules do not cover (including a
    statistical window whose start is neither the template's bucket start nor, for a product
    with running statistics, 0).
    """
    _check_lead(lead_hours)
    if lead_hours == 0:
        raise InventoryError("lead 0 is not re-rendered; see product_inventory")
    template_lead = product.template_lead_hours
    instant = _INSTANT.fullmatch(template_window)
    if instant is not None and int(instant["end"]) == template_lead:
        return f"{lead_hours} hour fcst"
    statistical = _statistical(template_window)
    if statistical is not None and statistical[1] == template_lead:
        start, _, stat = statistical
        if start == product.template_bucket_start:
            return statistical_window(
                bucket_start(lead_hours, product.bucket_hours), lead_hours, stat
            )
        if start == 0 and product.running_statistics:
            return statistical_window(0, lead_hours, stat)
    allowed = [f"'{template_lead} hour fcst'"]
    if product.running_statistics:
        allowed.append(f"'0-{template_lead} hour STAT fcst'")
    allowed.append(f"'{product.template_bucket_start}-{template_lead} hour STAT fcst'")
    raise InventoryTemplateError(
        f"template window {template_window!r} is not one of {', '.join(allowed)} "
        f"(STAT in {STATISTICS}); cannot re-render it for lead {lead_hours}"
    )


def _analysis_window(template_window: str, product: InventoryProduct) -> str | None:
    """Lead-0 window of a forecast-template window: ``anl`` for an instant, None (omitted) for a
    statistic; raises like :func:`render_window` for anything else."""
    render_window(template_window, product.template_lead_hours, product)
    if _INSTANT.fullmatch(template_window) is not None:
        return "anl"
    return None


@cache
def _rendered(product: InventoryProduct, lead_hours: int) -> tuple[InventoryLine, ...]:
    if lead_hours == 0 and product.analysis_template is not None:
        name = product.analysis_template
        lines = template_lines(name, product.template_extra)
        allowed = {"anl"}
        if product.analysis_statistics:
            allowed.update(statistical_window(0, 0, stat) for stat in STATISTICS)
        for number, line in enumerate(lines, start=1):
            if line.window not in allowed:
                raise InventoryTemplateError(
                    f"{name} line {number} ({line.element}:{line.level}) has window "
                    f"{line.window!r}; the analysis template's windows must be one of "
                    f"{sorted(allowed)}"
                )
        return lines
    rendered = []
    name = product.forecast_template
    for number, line in enumerate(template_lines(name, product.template_extra), start=1):
        try:
            if lead_hours == 0:
                window = _analysis_window(line.window, product)
            else:
                window = render_window(line.window, lead_hours, product)
        except InventoryTemplateError as error:
            raise InventoryTemplateError(
                f"{name} line {number} ({line.element}:{line.level}:{line.window}): {error}"
            ) from None
        if window is not None:
            rendered.append(InventoryLine(line.element, line.level, window))
    return tuple(rendered)


def product_inventory(
    product: InventoryProduct, lead_hours: int, fields: Collection[tuple[str, str]] | None = None
) -> list[InventoryLine]:
    """The inventory lines of ``product`` at lead ``lead_hours``, in the producer's order.

    ``fields``, if given, keeps only the lines whose ``(element, level)`` is in it, preserving
    order and duplicates (e.g. GFS APCP surface appears twice at every lead > 0). A field absent
    from this lead's inventory simply yields no line (APCP is not in f000).
    """
    _check_lead(lead_hours)
    lines = _rendered(product, lead_hours)
    if fields is None:
        return list(lines)
    wanted = set()
    for field in fields:
        if (
            not isinstance(field, tuple)
            or len(field) != 2
            or not all(isinstance(part, str) for part in field)
        ):
            raise InventoryError(f"fields must be (element, level) str pairs, got {field!r}")
        wanted.add(field)
    return [line for line in lines if (line.element, line.level) in wanted]


def gfs_inventory(
    lead_hours: int, fields: Collection[tuple[str, str]] | None = None
) -> list[InventoryLine]:
    """The GFS 0.25° inventory lines of lead ``lead_hours`` (:func:`product_inventory` of
    :data:`GFS_PRODUCT`)."""
    return product_inventory(GFS_PRODUCT, lead_hours, fields)
