"""Test helpers that run in other processes: concurrent writers and runs to be killed.

``python -m vidx_pipeline_tests.workers '<json>'`` runs :func:`run_from_json` and prints
``ready`` once its imports are done, so a test can kill it at a moment that falls inside the
ingest itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from vidx_pipeline.ingest import IngestRun, IngestSettings
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec


def ingest_in_process(
    spec_json: str,
    repository_json: str,
    endpoint: str,
    partitions: list[str],
    settings_json: str,
    env: dict[str, str],
    barrier: Barrier | None = None,
) -> list[tuple[int, str | None]]:
    """Open the (existing) repository, wait at ``barrier``, ingest ``partitions`` one run each.
    Returns (commit attempts, snapshot id) per partition."""
    os.environ.update(env)
    spec = DatasetSpec.model_validate_json(spec_json)
    settings = RepositorySettings.model_validate_json(repository_json)
    repository = open_repository(spec, settings, source_endpoint=endpoint, create=False)
    store = open_source_store(spec.source.store, endpoint)
    ingest_settings = IngestSettings.model_validate_json(settings_json)
    if barrier is not None:
        barrier.wait()
    outcome = []
    for partition in partitions:
        when = dt.datetime.fromisoformat(partition)
        (result,) = IngestRun(spec, repository, store, [when], ingest_settings).run()
        outcome.append((result.commit_attempts, result.snapshot_id))
    return outcome


def report_ingest(results: Queue, *arguments: Any) -> None:
    """:func:`ingest_in_process`, putting its outcome (or the error's text) on ``results``."""
    try:
        results.put(ingest_in_process(*arguments))
    except Exception as error:
        results.put(f"{type(error).__name__}: {error}")
        raise


def run_from_json(arguments: dict[str, Any]) -> None:
    print("ready", flush=True)
    ingest_in_process(
        arguments["spec"],
        arguments["repository"],
        arguments["endpoint"],
        arguments["partitions"],
        arguments["settings"],
        arguments["env"],
    )
    print("done", flush=True)


if __name__ == "__main__":
    run_from_json(json.loads(sys.argv[1]))
