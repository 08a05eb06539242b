"""The latency benchmark's Dagster code location: the production code location
(:func:`vidx_pipeline.definitions.build_definitions`) of the GFS spec on the benchmark's tiny
grid, with the publication schedule the benchmark chose so that its cycle falls due a few
seconds after the daemon starts (JSON of a ``PublicationSchedule`` in ``VIDX_BENCH_PUBLICATION``).
Loaded by the daemon, its code server and every run from the benchmark's workspace file.
"""

from __future__ import annotations

import os

from bench.archive import PUBLICATION_ENV_VAR, tiny_gfs_spec
from vidx_pipeline.definitions import build_definitions
from vidx_pipeline.spec import DatasetSpec, PublicationSchedule


def bench_spec(publication_json: str) -> DatasetSpec:
    return tiny_gfs_spec(PublicationSchedule.model_validate_json(publication_json))


defs = build_definitions([bench_spec(os.environ[PUBLICATION_ENV_VAR])])
