"""What every check takes and gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from obstore.store import ObjectStore

from vidx_pipeline.repository import DatasetRepository

Severity = Literal["warn", "error"]


@dataclass(frozen=True)
class CheckInputs:
    """A check's view of one dataset: its repository, the producer's store (listings and the
    bytes of sampled messages only), the partitions to judge and the time it is now."""

    repository: DatasetRepository
    store: ObjectStore
    partition_times: Sequence[dt.datetime]
    now: dt.datetime
    decode_samples: int = 0
    """Chunks decoded per partition beyond one of every variable."""


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: Severity  # what a failure means
    summary: str  # one line
    details: str  # Markdown for the UI
    numbers: Mapping[str, float]


@dataclass(frozen=True)
class CheckKind:
    name: str
    description: str
    run: Callable[[CheckInputs], CheckOutcome]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bullet_list(items: Sequence[str], limit: int = 50) -> str:
    shown = [f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"- ... and {len(items) - limit} more")
    return "\n".join(shown)


def partition_label(when: dt.datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M}"
