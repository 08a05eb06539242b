"""Validation reports of a dataset, one module per check, provider-neutral.

Each check reads the committed repository (and, where it must, the producer's listing or the
bytes a reader would get) for a set of partitions and returns a :class:`CheckOutcome`: passed or
not, what a failure means (``warn``: data is late or absent, the producer's side; ``error``: a
reader could get wrong or refused bytes, ours to fix), a one-line summary, Markdown for the
Dagster UI and numbers to chart. :data:`CHECKS` lists them; the orchestration layer turns each
into a partitioned Dagster asset check of every dataset.
"""

from __future__ import annotations

from vidx_pipeline.checks.base import CheckInputs, CheckKind, CheckOutcome
from vidx_pipeline.checks.completeness import COMPLETENESS
from vidx_pipeline.checks.coordinates import COORDINATES
from vidx_pipeline.checks.currency import CURRENCY
from vidx_pipeline.checks.decode_health import DECODE_HEALTH
from vidx_pipeline.checks.source_integrity import SOURCE_INTEGRITY

CHECKS: tuple[CheckKind, ...] = (
    COMPLETENESS,
    DECODE_HEALTH,
    CURRENCY,
    SOURCE_INTEGRITY,
    COORDINATES,
)

__all__ = ["CHECKS", "CheckInputs", "CheckKind", "CheckOutcome"]
