"""Dagster partitions from a dataset's append dimension: one partition per init (or valid) time."""

from __future__ import annotations

import datetime as dt

from dagster import TimeWindowPartitionsDefinition

from vidx_pipeline.spec import DatasetSpec

PARTITION_FORMAT = "%Y-%m-%dT%H:%M"


def cron_schedule(frequency: dt.timedelta) -> str:
    """Cron expression of a sub-daily or daily cadence that divides the day."""
    hours, remainder = divmod(frequency, dt.timedelta(hours=1))
    if remainder or hours <= 0 or 24 % hours:
        raise ValueError(f"cadence {frequency} does not divide a day into whole hours")
    return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *"


def partitions_definition(spec: DatasetSpec) -> TimeWindowPartitionsDefinition:
    """Partitions from the archive start; ``end_offset=1`` includes the cycle now being run,
    because a forecast's files appear hours before its 6-hour window would close. An archive
    with an end has its last partition there (Dagster's ``end`` is the first value excluded)."""
    axis = spec.append_dimension
    return TimeWindowPartitionsDefinition(
        start=axis.start,
        end=None if axis.end is None else axis.end + axis.frequency,
        cron_schedule=cron_schedule(axis.frequency),
        fmt=PARTITION_FORMAT,
        timezone="UTC",
        end_offset=1,
    )


def partition_time(partition_key: str) -> dt.datetime:
    return dt.datetime.strptime(partition_key, PARTITION_FORMAT).replace(tzinfo=dt.UTC)


def asset_name(spec: DatasetSpec) -> str:
    return spec.dataset_id.replace("-", "_")
