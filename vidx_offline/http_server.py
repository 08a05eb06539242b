"""A loopback HTTP file server as DWD's ``opendata.dwd.de`` serves: a directory tree, nginx
autoindex pages, ``Last-Modified`` headers and byte ranges.

Contract of :func:`running_http_server`: serve ``root`` on ``127.0.0.1`` (a free port) from a
thread of this process until the context exits, then shut the server down and join the thread.
Files are served with ``Content-Length``, ``Last-Modified`` (the file's mtime, to the second)
and single byte ranges (``Range: bytes=a-b`` -> 206 with ``Content-Range``); HEAD answers the
same headers. A directory's URL with a trailing slash answers an nginx-style autoindex page
(``<a href="name">name</a> DD-Mon-YYYY HH:MM size``, link text cut to 50 characters with
``..>`` as nginx does, ``-`` as a directory's size); without the slash, a 301 to it.
Connections are accepted with nginx's listen backlog (:data:`LISTEN_BACKLOG`), not
``socketserver``'s 5: every request is a connection of its own (HTTP/1.0), and a client with
dozens of requests in flight would otherwise wait out SYN retransmissions (a second each).
Every request is recorded in :attr:`LocalHttp.requests` as ``(method, path)`` (a test counts
what a client asks). Python's ``http.server`` does the socket work; only the pages and ranges
are written here.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import quote, unquote, urlsplit

NGINX_NAME_WIDTH = 50
LISTEN_BACKLOG = 511
"""nginx's default ``listen ... backlog``."""


@dataclass(frozen=True)
class LocalHttp:
    """A running loopback file server: ``base_url`` ends with ``/`` and serves ``root``."""

    base_url: str
    root: Path
    requests: list[tuple[str, str]] = field(default_factory=list)
    """``(method, path)`` of every request served so far, in arrival order."""


def autoindex_page(directory: Path, url_path: str) -> str:
    """The nginx autoindex page of ``directory`` served at ``url_path`` (ending with ``/``)."""
    lines = [
        f"<html>\r\n<head><title>Index of {html.escape(url_path)}</title></head>\r\n<body>\r\n"
        f"<h1>Index of {html.escape(url_path)}</h1><hr><pre>"
        '<a href="../">../</a>\r\n'
    ]
    entries = sorted(directory.iterdir(), key=lambda p: (not p.is_dir(), p.name))
    for entry in entries:
        stat = entry.stat()
        name = entry.name + ("/" if entry.is_dir() else "")
        shown = name if len(name) <= NGINX_NAME_WIDTH else name[: NGINX_NAME_WIDTH - 3] + "..>"
        modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).strftime("%d-%b-%Y %H:%M")
        size = "-" if entry.is_dir() else str(stat.st_size)
        padding = " " * (NGINX_NAME_WIDTH + 1 - len(shown))
        lines.append(
            f'<a href="{quote(name)}">{html.escape(shown)}</a>{padding}{modified} {size:>19}\r\n'
        )
    lines.append("</pre><hr></body>\r\n</html>\r\n")
    return "".join(lines)


class _Handler(SimpleHTTPRequestHandler):
    """Files with ranges and Last-Modified; directories as nginx autoindex pages."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _target(self) -> Path:
        return Path(self.translate_path(urlsplit(self.path).path))

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, *, body: bool) -> None:
        cast("_Server", self.server).requests.append((self.command, self.path))
        path = self._target()
        url_path = unquote(urlsplit(self.path).path)
        if path.is_dir():
            if not url_path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", url_path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page = autoindex_page(path, url_path).encode()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            if body:
                self.wfile.write(page)
            return
        if not path.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        data = path.read_bytes()
        modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        start, end = 0, len(data) - 1
        status = HTTPStatus.OK
        if (wanted := self.headers.get("Range")) and wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes=") :].partition("-")
            if first:
                start, end = int(first), min(int(last) if last else end, end)
            else:  # a suffix range: the last N bytes
                start = max(0, len(data) - int(last))
            if start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Last-Modified", modified)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if body:
            self.wfile.write(data[start : end + 1])


class _Server(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    requests: list[tuple[str, str]]


@contextmanager
def running_http_server(root: Path) -> Iterator[LocalHttp]:
    """Serve ``root`` on loopback for the duration of the context (see the module contract)."""
    root.mkdir(parents=True, exist_ok=True)
    server = _Server(("127.0.0.1", 0), partial(_Handler, directory=os.fspath(root)))
    server.daemon_threads = True
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, name="loopback-http", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield LocalHttp(base_url=f"http://{host!s}:{port}/", root=root, requests=server.requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
