"""The latency benchmark's Dagster code location: the production code location
(:func:`vidx_pipeline.definitions.build_definitions`) of one benchmark dataset's spec on the tiny
grid (:func:`bench.archive.tiny_spec`), with the publication schedule the benchmark chose so that
its cycle falls due a few seconds after the daemon starts.

Both come from the environment the benchmark gives the daemon: ``VIDX_BENCH_DATASET`` (a name
of :data:`bench.archive.BENCH_DATASETS`) and ``VIDX_BENCH_PUBLICATION`` (JSON of a
``PublicationSchedule``); a missing one raises, naming it. Loaded by the daemon, its code server
and every run from the benchmark's workspace file.
"""

from __future__ import annotations

import os

from bench.archive import DATASET_ENV_VAR, PUBLICATION_ENV_VAR, tiny_spec
from vidx_pipeline.definitions import build_definitions
from vidx_pipeline.spec import DatasetSpec, PublicationSchedule


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: bench.location is loaded by bench/latency.py only")
    return value


def bench_spec(dataset: str, publication_json: str) -> DatasetSpec:
    """The spec the daemon runs: ``dataset`` on the tiny grid with the benchmark's schedule."""
    return tiny_spec(dataset, PublicationSchedule.model_validate_json(publication_json))


defs = build_definitions(
    [bench_spec(_required_env(DATASET_ENV_VAR), _required_env(PUBLICATION_ENV_VAR))]
)
