"""wgrib2's forecast-time text, lead by lead."""

from __future__ import annotations

import pytest

from vidx_pipeline.providers.noaa import wgrib2_window_text
from vidx_pipeline.spec import InstantWindow, StatisticalWindow

TOTAL = StatisticalWindow(statistic="acc", start="init")
BUCKET = StatisticalWindow(statistic="acc")
MAXIMUM = StatisticalWindow(statistic="max")


@pytest.mark.parametrize(
    ("window", "lead", "text"),
    [
        (InstantWindow(), 0, "anl"),
        (InstantWindow(), 7, "7 hour fcst"),
        (InstantWindow(), 240, "240 hour fcst"),
        (TOTAL, 0, None),
        (TOTAL, 1, "0-1 hour acc fcst"),
        (TOTAL, 7, "0-7 hour acc fcst"),
        (TOTAL, 24, "0-1 day acc fcst"),
        (TOTAL, 123, "0-123 hour acc fcst"),
        (TOTAL, 240, "0-10 day acc fcst"),
        (TOTAL, 384, "0-16 day acc fcst"),
        (BUCKET, 6, "0-6 hour acc fcst"),
        (BUCKET, 7, "6-7 hour acc fcst"),
        (BUCKET, 24, "18-24 hour acc fcst"),
        (BUCKET, 123, "120-123 hour acc fcst"),
        (BUCKET, 126, "120-126 hour acc fcst"),
        (MAXIMUM, 0, None),
        (MAXIMUM, 7, "6-7 hour max fcst"),
        (MAXIMUM, 384, "378-384 hour max fcst"),
    ],
)
def test_window_text(
    window: InstantWindow | StatisticalWindow, lead: int, text: str | None
) -> None:
    assert wgrib2_window_text(window, lead) == text
