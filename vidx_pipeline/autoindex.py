"""Parsing an HTTP server's directory index page (nginx or Apache ``autoindex``).

Contract of :func:`parse_autoindex`: given the HTML of one directory's index page, return one
:class:`IndexRow` per entry the page links to inside the directory, in page order: its name
(from the link's ``href``, percent-decoded, never from the link text, which nginx truncates to
50 characters with ``..>``), whether it is a subdirectory (``href`` ending in ``/``), and the
modification time and size the row prints. Parent links (``../``), sort links (``?C=N;O=D``),
absolute links and links into other directories are skipped. Both servers' row formats are
read:

- nginx: ``<a href="f">f</a>   01-Dec-2026 02:26   1234567`` (size in bytes, ``-`` for a
  directory);
- Apache: ``... <td>2026-12-01 02:26  </td><td>1.2M</td>`` (size rounded: ``1.2M``, ``530K``).

Times are UTC to the minute, as both servers print them; a size Apache rounds is approximate.
A page with a link but no readable time on its row raises :class:`AutoindexError` naming the
page's URL and the entry: a changed page format must not be mistaken for an empty directory.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import unquote

_LINK = re.compile(r'<a\s+href="([^"]*)"[^>]*>.*?</a>(.*?)(?=<a\s|</pre>|</table>|$)', re.I | re.S)
_NGINX_TIME = re.compile(r"(\d{2})-([A-Za-z]{3})-(\d{4})\s+(\d{2}):(\d{2})")
_APACHE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})\s+(\d{2}):(\d{2})")
_SIZE = re.compile(r"(?:^|[\s>])(\d+(?:\.\d+)?)([KMGT]?)\s*(?:<|$)")
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class AutoindexError(ValueError):
    """A directory index page that cannot be read."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url


@dataclass(frozen=True)
class IndexRow:
    """One entry of a directory index page."""

    name: str
    is_directory: bool
    modified: dt.datetime  # UTC, to the minute
    size: int | None  # bytes (approximate where the server rounds); None for a directory


def parse_autoindex(html: str, *, url: str) -> list[IndexRow]:
    """The entries of the index page ``html`` of the directory at ``url`` (see the module
    contract)."""
    rows = []
    for match in _LINK.finditer(html):
        href, rest = match.group(1), _strip_tags(match.group(2))
        if not href or href.startswith(("?", "/", "#", "../")) or "://" in href:
            continue
        name = unquote(href)
        is_directory = name.endswith("/")
        name = name.rstrip("/")
        if not name or "/" in name or name in (".", ".."):
            continue
        modified = _modified(rest)
        if modified is None:
            raise AutoindexError(url, f"no modification time on the row of {name!r}: {rest!r}")
        rows.append(
            IndexRow(
                name=name,
                is_directory=is_directory,
                modified=modified,
                size=None if is_directory else _size(rest),
            )
        )
    return rows


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]*>", " ", text).replace("&nbsp;", " ")


def _modified(text: str) -> dt.datetime | None:
    if found := _NGINX_TIME.search(text):
        day, month, year, hour, minute = found.groups()
        if month not in _MONTHS:
            return None
        return dt.datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), tzinfo=dt.UTC
        )
    if found := _APACHE_TIME.search(text):
        year, month, day, hour, minute = map(int, found.groups())
        return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)
    return None


def _size(text: str) -> int | None:
    after_time = _APACHE_TIME.split(_NGINX_TIME.split(text)[-1])[-1]
    found = _SIZE.search(after_time.strip() + " ")
    if found is None:
        return None
    number, unit = found.groups()
    return int(float(number) * _UNITS[unit])
