"""Test-session scheduling for ``make test`` (both test trees).

``pytest-xdist --dist loadfile`` hands whole files to its workers in queue order, and by default
it queues the files with the most tests first, which puts the end-to-end files (one or two tests
that each start servers, Dagster daemons or PostgreSQL for minutes) last: the run then ends
with one worker alone on them. Here the files with the most ``slow`` tests are queued first
(``--no-loadscope-reorder`` in ``pyproject.toml`` keeps this order), so they overlap the many
quick files instead of following them. A file's own test order is kept.
"""

from __future__ import annotations

from collections import Counter

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow_tests = Counter(item.path for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow_tests[item.path])
