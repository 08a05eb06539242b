"""A fault-injecting HTTP reverse proxy on loopback, in front of a real server (the loopback S3
API), for tests of what the pipeline does when a source or a repository store misbehaves.

Contract of :func:`running_fault_proxy`: it starts a threaded HTTP server on a free loopback
port that forwards every request (method, path, query, headers, body) to ``upstream`` and relays
the response unchanged, except where its :class:`FaultPlan` says otherwise; it yields a
:class:`FaultProxy` whose ``endpoint`` replaces the upstream's, and stops on exit. The plan is
mutable while the proxy runs (a test can heal a source mid-run) and decisions are reproducible:
failures are drawn from a seeded generator, so one run's faults are the next run's.

- ``fail_fraction``: that fraction of matching requests answers ``fail_status`` (default 500,
  which every S3 client retries) without reaching the upstream;
- ``fail_first``: the first N matching requests fail, then all succeed (a 500 then success);
- ``pass_first``: the first N matching requests pass, and only later ones may fail (a store
  that rejects a commit mid-way, after some of its objects are written);
- ``delay_seconds``: matching requests wait that long before they are forwarded (a slow
  source, for timeouts): every one, or only the first ``delay_first`` when that is set (a
  source slow for a while);
- ``methods`` / ``path_contains``: which requests the plan applies to (e.g. only ``PUT``s of a
  repository, only one object's key).

Every request is counted (:attr:`FaultProxy.requests`, :attr:`FaultProxy.failed`).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class FaultPlan:
    """Which requests fail or stall (see the module contract)."""

    fail_fraction: float = 0.0
    fail_first: int = 0
    pass_first: int = 0
    fail_status: int = 500
    delay_seconds: float = 0.0
    delay_first: int | None = None
    methods: frozenset[str] = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
    path_contains: str = ""
    seed: int = 0

    def applies_to(self, method: str, path: str) -> bool:
        return method in self.methods and self.path_contains in path


@dataclass
class FaultProxy:
    """A running proxy: its endpoint, its (mutable) plan and what it has seen."""

    endpoint: str
    plan: FaultPlan
    requests: int = 0
    failed: int = 0
    matched: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=random.Random)

    def decide(self, method: str, path: str) -> tuple[bool, float]:
        """(fail this request?, seconds to wait first), counting it."""
        with self._lock:
            self.requests += 1
            plan = self.plan
            if not plan.applies_to(method, path):
                return False, 0.0
            self.matched += 1
            slow = plan.delay_first is None or self.matched <= plan.delay_first
            delay = plan.delay_seconds if slow else 0.0
            if self.matched <= plan.pass_first:
                return False, delay
            faulty = self.matched - plan.pass_first
            fail = faulty <= plan.fail_first or self._random.random() < plan.fail_fraction
            self.failed += fail
            return fail, delay

    def heal(self) -> None:
        """From now on, forward everything untouched."""
        with self._lock:
            self.plan = FaultPlan()


def _handler(proxy: FaultProxy, upstream: str) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)
    if target.hostname is None:
        raise ValueError(f"upstream {upstream!r} names no host")
    host, port = target.hostname, target.port

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fail, delay = proxy.decide(self.command, self.path)
            if delay:
                time.sleep(delay)
            if fail:
                message = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"
                self.send_response(proxy.plan.fail_status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                return
            connection = http.client.HTTPConnection(host, port, timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except OSError:  # the upstream stopped (a delayed request outlived its test)
                self.close_connection = True
                return
            finally:
                connection.close()
            try:
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout under delay_seconds): nobody to answer

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests read the proxy's counters

    return Handler


@contextlib.contextmanager
def running_fault_proxy(upstream: str, plan: FaultPlan | None = None) -> Iterator[FaultProxy]:
    """A fault proxy in front of ``upstream`` (``http://127.0.0.1:port``), stopped on exit."""
    plan = plan or FaultPlan()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    proxy = FaultProxy(endpoint=f"http://127.0.0.1:{port}", plan=plan)
    proxy._random.seed(plan.seed)
    server.RequestHandlerClass = _handler(proxy, upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
