"""Real NOAA GFS 0.25° wgrib2 inventories used as templates for any lead time.

Contract:

- The templates are the producer's own inventories, shipped as package data in
  ``offline/inventories/``: f000 (every window ``anl``) and f007 (``7 hour fcst`` plus the
  statistical windows ``6-7 hour STAT fcst`` and ``0-7 hour acc fcst``).
- :func:`gfs_inventory` returns, for lead 0, the f000 lines in order; for any lead > 0, the f007
  lines in order with each window re-rendered for that lead by :func:`render_window`.
- :func:`render_window` applies NCEP's GFS rules (checked against real inventories):

  * ``"7 hour fcst"`` -> ``"{h} hour fcst"``;
  * ``"0-7 hour STAT fcst"`` (since initialisation) -> ``"0-{h} hour STAT fcst"``, written in
    whole days when ``h % 24 == 0`` as wgrib2 does: ``"0-{h // 24} day STAT fcst"``;
  * ``"6-7 hour STAT fcst"`` (the 6-hourly bucket) -> ``"{r}-{h} hour STAT fcst"`` with
    ``r = ((h - 1) // 6) * 6``.

  Any other template window raises :class:`InventoryTemplateError` naming the line; nothing is
  passed through silently.
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

INVENTORY_DIR = Path(__file__).parent / "inventories"
"""Directory holding the real inventories (package data)."""

ANALYSIS_TEMPLATE = "gfs.t00z.pgrb2.0p25.f000.idx"
FORECAST_TEMPLATE = "gfs.t00z.pgrb2.0p25.f007.idx"
TEMPLATE_LEAD_HOURS = 7
"""The lead of the forecast template: every non-analysis window in it ends at this hour."""

BUCKET_HOURS = 6
"""GFS resets its statistical buckets every 6 hours."""

STATISTICS = ("acc", "ave", "max", "min")
"""Statistical-process words wgrib2 writes in GFS windows (accumulation, average, max, min)."""

_INSTANT = re.compile(r"(?P<end>\d+) hour fcst")
_STATISTICAL = re.compile(r"(?P<start>\d+)-(?P<end>\d+) hour (?P<stat>[a-z]+) fcst")
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
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InventoryError(f"InventoryLine.{name} must be a non-empty str, got {value!r}")
            if any(sep in value for sep in _FIELD_SEPARATORS):
                raise InventoryError(
                    f"InventoryLine.{name}={value!r} contains ':' or a line break, "
                    "which would corrupt the wgrib2 inventory line"
                )

    def text(self, n: int, offset: int, init: datetime) -> str:
        """The exact wgrib2 line ``n:offset:d=YYYYMMDDHH:ELEMENT:level:window:`` (no newline).

        ``n`` is the 1-based message number, ``offset`` the message's byte offset in the file,
        ``init`` the initialisation time (naive = UTC; aware is converted to UTC).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InventoryError(f"message number must be an int >= 1, got {n!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InventoryError(f"byte offset must be an int >= 0, got {offset!r}")
        init = _as_utc(init)
        return f"{n}:{offset}:d={init:%Y%m%d%H}:{self.element}:{self.level}:{self.window}:"


def parse_inventory_line(text: str, expected_number: int | None = None) -> InventoryLine:
    """Parse one real wgrib2 line ``n:offset:d=YYYYMMDDHH:ELEMENT:level:window:``.

    Raises :class:`InventoryError` if the line has extra fields (e.g. GEFS ``ENS=`` text), a
    non-numeric position, or a number other than ``expected_number``.
    """
    parts = text.split(":")
    if len(parts) != 7 or parts[6] != "":
        raise InventoryError(
            f"not a 6-field wgrib2 line ending in ':' (got {len(parts) - 1} fields): {text!r}"
        )
    number, offset, date, element, level, window, _ = parts
    if not number.isdigit() or not offset.isdigit():
        raise InventoryError(f"message number/offset are not integers: {text!r}")
    if expected_number is not None and int(number) != expected_number:
        raise InventoryError(f"expected message number {expected_number}, got {text!r}")
    if not re.fullmatch(r"d=\d{10}", date):
        raise InventoryError(f"date field is not d=YYYYMMDDHH: {text!r}")
    return InventoryLine(element=element, level=level, window=window)


@cache
def template_lines(name: str) -> tuple[InventoryLine, ...]:
    """The lines of one shipped template inventory, in file order (parsed once, cached)."""
    path = INVENTORY_DIR / name
    try:
        raw = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise InventoryTemplateError(
            f"template inventory {path} is missing: the package data was not installed"
        ) from None
    if not raw.endswith("\n"):
        raise InventoryTemplateError(f"{path} does not end with a newline")
    lines = tuple(
        parse_inventory_line(text, expected_number=number)
        for number, text in enumerate(raw[:-1].split("\n"), start=1)
    )
    if not lines:
        raise InventoryTemplateError(f"{path} is empty")
    return lines


def bucket_start(lead_hours: int) -> int:
    """Start hour of the 6-hourly GFS bucket ending at ``lead_hours`` (> 0)."""
    return ((lead_hours - 1) // BUCKET_HOURS) * BUCKET_HOURS


def render_window(template_window: str, lead_hours: int) -> str:
    """Re-render one f007 template window for ``lead_hours`` (> 0); see the module contract.

    Raises :class:`InventoryTemplateError` for any window the rules do not cover (including a
    statistical window whose start is neither 0 nor the f007 bucket start 6).
    """
    _check_lead(lead_hours)
    if lead_hours == 0:
        raise InventoryError("lead 0 uses the analysis template; there is nothing to re-render")
    instant = _INSTANT.fullmatch(template_window)
    if instant is not None and int(instant["end"]) == TEMPLATE_LEAD_HOURS:
        return f"{lead_hours} hour fcst"
    statistical = _STATISTICAL.fullmatch(template_window)
    if (
        statistical is not None
        and int(statistical["end"]) == TEMPLATE_LEAD_HOURS
        and statistical["stat"] in STATISTICS
    ):
        stat = statistical["stat"]
        start = int(statistical["start"])
        if start == 0:
            if lead_hours % 24 == 0:
                return f"0-{lead_hours // 24} day {stat} fcst"
            return f"0-{lead_hours} hour {stat} fcst"
        if start == bucket_start(TEMPLATE_LEAD_HOURS):
            return f"{bucket_start(lead_hours)}-{lead_hours} hour {stat} fcst"
    raise InventoryTemplateError(
        f"template window {template_window!r} is not one of '{TEMPLATE_LEAD_HOURS} hour fcst', "
        f"'0-{TEMPLATE_LEAD_HOURS} hour STAT fcst' or "
        f"'{bucket_start(TEMPLATE_LEAD_HOURS)}-{TEMPLATE_LEAD_HOURS} hour STAT fcst' "
        f"(STAT in {STATISTICS}); cannot re-render it for lead {lead_hours}"
    )


def _check_lead(lead_hours: int) -> None:
    if isinstance(lead_hours, bool) or not isinstance(lead_hours, int) or lead_hours < 0:
        raise InventoryError(f"lead_hours must be an int >= 0, got {lead_hours!r}")


@cache
def _rendered(lead_hours: int) -> tuple[InventoryLine, ...]:
    if lead_hours == 0:
        lines = template_lines(ANALYSIS_TEMPLATE)
        for number, line in enumerate(lines, start=1):
            if line.window != "anl":
                raise InventoryTemplateError(
                    f"{ANALYSIS_TEMPLATE} line {number} ({line.element}:{line.level}) has window "
                    f"{line.window!r}; the analysis template must be all 'anl'"
                )
        return lines
    rendered = []
    for number, line in enumerate(template_lines(FORECAST_TEMPLATE), start=1):
        try:
            window = render_window(line.window, lead_hours)
        except InventoryTemplateError as error:
            raise InventoryTemplateError(
                f"{FORECAST_TEMPLATE} line {number} "
                f"({line.element}:{line.level}:{line.window}): {error}"
            ) from None
        rendered.append(InventoryLine(line.element, line.level, window))
    return tuple(rendered)


def gfs_inventory(
    lead_hours: int, fields: Collection[tuple[str, str]] | None = None
) -> list[InventoryLine]:
    """The GFS 0.25° inventory lines of lead ``lead_hours``, in the producer's order.

    ``fields``, if given, keeps only the lines whose ``(element, level)`` is in it, preserving
    order and duplicates (e.g. APCP surface appears twice at every lead > 0). A field absent
    from this lead's inventory simply yields no line (APCP is not in f000).
    """
    _check_lead(lead_hours)
    lines = _rendered(lead_hours)
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
