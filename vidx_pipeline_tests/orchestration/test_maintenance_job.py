"""The maintenance job of a dataset, run in process against a real repository: it reports what
it removed as metadata, and leaves a repository that does not exist yet alone."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestRun, IngestSettings
from vidx_pipeline.orchestration.assets import repository_resource_key
from vidx_pipeline.orchestration.maintenance import build_maintenance_job
from vidx_pipeline.orchestration.resources import (
    IcechunkRepositoryResource,
    RepositoryStorageResource,
)
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline_tests.conftest import small_gfs_spec, write_archive

SPEC = small_gfs_spec(lead_hours=(0, 1, 2))
INIT = dt.datetime(2025, 11, 25, tzinfo=dt.UTC)


def _run(storage: RepositoryStorageResource, config: dict[str, float]) -> dict[str, object]:
    job = build_maintenance_job(SPEC)
    resources = {
        repository_resource_key(SPEC): IcechunkRepositoryResource(
            dataset_id=SPEC.dataset_id, storage=storage
        )
    }
    op_name = job.graph.node_defs[0].name
    result = job.execute_in_process(
        resources=resources, run_config={"ops": {op_name: {"config": config}}}
    )
    assert result.success
    (materialization,) = [
        event.step_output_data.metadata
        for event in result.all_node_events
        if event.is_successful_output
    ]
    return {key: value.value for key, value in materialization.items()}


@pytest.mark.slow
def test_the_maintenance_job_reports_what_it_removed(tmp_path: Path, s3_env: LocalS3) -> None:
    storage = RepositoryStorageResource(
        kind="local", local_root=str(tmp_path / "repos"), source_endpoint=s3_env.endpoint
    )
    assert _run(storage, {})["repository"] == "(none yet)"  # and nothing was created
    assert not (tmp_path / "repos" / SPEC.dataset_id).exists()

    write_archive(s3_env, SPEC, [INIT])
    resource = IcechunkRepositoryResource(dataset_id=SPEC.dataset_id, storage=storage)
    repository = resource.open(SPEC)
    store = open_source_store(SPEC.source.store, s3_env.endpoint)
    IngestRun(SPEC, repository, store, [INIT], IngestSettings(max_files_per_commit=1)).run()
    history = len(list(repository.repo.ancestry(branch="main")))
    time.sleep(2)  # every snapshot is older than the expiry age below
    # Expire everything older than a few seconds.
    metadata = _run(storage, {"expire_after_hours": 0.0005})
    assert metadata["snapshots_expired"] > 0
    assert metadata["tags"] == 1
    assert metadata["repository"] == str(tmp_path / "repos" / SPEC.dataset_id)
    assert len(list(repository.repo.ancestry(branch="main"))) < history
