"""Publication as it happens: a cycle's files written over time, in NCEP's order.

:class:`CyclePublisher` writes leads in ascending order, one file every
``file_interval_seconds``; each file's data object first, then its index object
``index_lag_seconds`` later (NCEP writes the inventory after the GRIB file). Files are encoded
before the clock starts, so encoding never delays publication. Each published file records the
wall-clock time at which its objects became visible (the PUT had returned), which is what
latency is measured from.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import obstore
from obstore.store import ObjectStore

from vidx_offline.gfs_archive import GfsArchiveConfig, GfsFile, render_gfs_file


class RenderedFile(Protocol):
    """A file encoded ahead of publication (:class:`GfsFile`, ``GefsFile``)."""

    @property
    def lead_hours(self) -> int: ...
    @property
    def data_key(self) -> str: ...
    @property
    def index_key(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def index_text(self) -> str: ...


@dataclass
class PublishedFile:
    """One file of the cycle and when its objects became visible (epoch seconds)."""

    file: RenderedFile
    data_visible_at: float | None = None
    index_visible_at: float | None = None


def render_cycle(
    config: GfsArchiveConfig, init: dt.datetime, lead_hours: Sequence[int]
) -> list[GfsFile]:
    """Encode a cycle's files ahead of publishing them."""
    return [render_gfs_file(config, init, lead) for lead in sorted(lead_hours)]


class CyclePublisher:
    """Publish one cycle's files over time; ``start()`` runs it on a thread, ``run()`` inline."""

    def __init__(
        self,
        store: ObjectStore,
        files: Sequence[RenderedFile],
        *,
        file_interval_seconds: float,
        index_lag_seconds: float,
    ) -> None:
        if file_interval_seconds < 0 or index_lag_seconds < 0:
            raise ValueError("publication intervals must be >= 0")
        self.store = store
        self.file_interval_seconds = file_interval_seconds
        self.index_lag_seconds = index_lag_seconds
        self.published = [PublishedFile(f) for f in sorted(files, key=lambda f: f.lead_hours)]
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()

    def run(self) -> list[PublishedFile]:
        """Publish every file on schedule; returns the record of each."""
        started = time.monotonic()
        events: list[tuple[float, int, str]] = []
        for number in range(len(self.published)):
            at = number * self.file_interval_seconds
            heapq.heappush(events, (at, number, "data"))
            heapq.heappush(events, (at + self.index_lag_seconds, number, "index"))
        while events and not self._stop.is_set():
            at, number, kind = heapq.heappop(events)
            delay = started + at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            entry = self.published[number]
            if kind == "data":
                obstore.put(self.store, entry.file.data_key, entry.file.data)
                entry.data_visible_at = time.time()
            else:
                obstore.put(self.store, entry.file.index_key, entry.file.index_text.encode())
                entry.index_visible_at = time.time()
        return self.published

    def start(self) -> CyclePublisher:
        def target() -> None:
            try:
                self.run()
            except BaseException as error:  # re-raised by join()
                self._error = error

        self._thread = threading.Thread(target=target, name="cycle-publisher", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> list[PublishedFile]:
        """Wait for the thread; re-raises what it raised."""
        assert self._thread is not None, "start() first"
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the publisher is still publishing")
        if self._error is not None:
            raise self._error
        return self.published

    def stop(self) -> None:
        self._stop.set()
