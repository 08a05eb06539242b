"""Many runs at once on a new instance: after the documented set-up step (``dagster instance
migrate`` on a fresh ``DAGSTER_HOME`` holding the development ``dagster.yaml``), eight ``dagster
asset materialize`` processes started together all succeed. (Without the step they race to create
the SQLite tables and some fail, as reported; that race is not reproduced here.)"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from vidx_offline.gfs_archive import GFS_BUCKET
from vidx_offline.processes import kill_process_group
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT, asset_name
from vidx_pipeline.orchestration.resources import ENV_DEFAULTS
from vidx_pipeline_tests.conftest import small_gfs_spec, write_archive
from vidx_pipeline_tests.deploy.daemon import LOCATION_MODULE
from vidx_pipeline_tests.deploy.instance_setup import (
    CHECKOUT,
    DEVELOPMENT_INSTANCE,
    dagster_cli,
    set_up_instance,
)
from vidx_pipeline_tests.deploy.location import SOURCE_BUCKET_ENV_VAR

PROCESSES = 8
SPEC = small_gfs_spec()
INITS = [dt.datetime(2025, 11, 10, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(8)]


@pytest.mark.slow
def test_concurrent_materializations_on_a_new_instance_after_the_set_up_step(
    tmp_path: Path, local_s3: LocalS3
) -> None:
    write_archive(local_s3, SPEC, INITS)
    env = {
        **os.environ,
        **ENV_DEFAULTS,
        **local_s3.env(),
        "VIDX_REPO_ROOT": str(tmp_path / "repositories"),
        SOURCE_BUCKET_ENV_VAR: GFS_BUCKET,
        "PYTHONPATH": str(CHECKOUT),
    }
    home = set_up_instance(tmp_path / "dagster-home", DEVELOPMENT_INSTANCE, env)
    env["DAGSTER_HOME"] = str(home)
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []
    for init in INITS[:PROCESSES]:
        partition = init.strftime(PARTITION_FORMAT)
        log = open(logs / f"{init:%Y%m%d%H}.log", "w")  # noqa: SIM115
        processes.append(
            (
                partition,
                log,
                subprocess.Popen(
                    [
                        dagster_cli(),
                        *("asset", "materialize", "-m", LOCATION_MODULE),
                        *("--select", asset_name(SPEC), "--partition", partition),
                    ],
                    env=env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stopped with whatever it starts, below
                ),
            )
        )
    failed = {}
    try:
        for partition, log, process in processes:
            if process.wait(timeout=600) != 0:
                log.flush()
                failed[partition] = Path(log.name).read_text()[-2000:]
    finally:
        for _, log, process in processes:
            kill_process_group(process)  # by its PID's group: nothing it started outlives it
            log.close()
    assert failed == {}, failed

    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == PROCESSES
        assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
        assert instance.get_materialized_partitions(AssetKey(asset_name(SPEC))) == {
            init.strftime(PARTITION_FORMAT) for init in INITS[:PROCESSES]
        }
