"""The production instance (``deploy/dagster.yaml``: PostgreSQL) end to end, with the real daemon:
a publication sensor starts an operational run that commits to a repository on the loopback S3
API; the run is killed and the sensor's recovery run completes the cycle, then the asset checks
judge it; a backfill run over a partition range. PostgreSQL is a server the tests start and stop
(:mod:`vidx_pipeline_tests.deploy.postgres_server`); nothing the instance stores holds a
credential."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.storage.dagster_run import DagsterRun

from vidx_offline.gfs_archive import GFS_BUCKET, GfsArchiveConfig
from vidx_offline.publisher import render_cycle
from vidx_offline.s3_server import LocalS3
from vidx_pipeline.checks import CHECKS
from vidx_pipeline.orchestration.partitions import PARTITION_FORMAT, asset_name
from vidx_pipeline.orchestration.resources import ENV_DEFAULTS
from vidx_pipeline.repository import RepositorySettings, open_repository
from vidx_pipeline.validation import check_partition_complete
from vidx_pipeline_tests.conftest import (
    empty_bucket,
    publish_files,
    small_gfs_spec,
    spec_fields,
    write_archive,
)
from vidx_pipeline_tests.deploy.daemon import running_daemon
from vidx_pipeline_tests.deploy.instance_setup import CHECKOUT, dagster_cli
from vidx_pipeline_tests.deploy.location import SOURCE_BUCKET_ENV_VAR
from vidx_pipeline_tests.deploy.postgres_server import LocalPostgres
from vidx_pipeline_tests.orchestration.test_assets import _stored_run_texts

REPOSITORIES_BUCKET = "vidx-deploy-repositories"
OPERATIONAL_BUCKET = "gfs-deploy-operational"


def _deployment_env(
    tmp_path: Path, home: Path, s3: LocalS3, postgres_env: dict[str, str], source_bucket: str
) -> dict[str, str]:
    """What every Dagster process of the deployment gets: the instance's PostgreSQL variables,
    repositories on S3 (a prefix per test), producers on the loopback S3 API, sensors on."""
    s3.create_bucket(REPOSITORIES_BUCKET)
    return {
        **os.environ,
        **ENV_DEFAULTS,
        **s3.env(),
        **postgres_env,
        "DAGSTER_HOME": str(home),
        "VIDX_REPO_KIND": "s3",
        "VIDX_REPO_BUCKET": REPOSITORIES_BUCKET,
        "VIDX_REPO_PREFIX": f"deploy-{tmp_path.name}",
        "VIDX_REPO_ENDPOINT": s3.endpoint,
        "VIDX_SENSORS": "on",
        SOURCE_BUCKET_ENV_VAR: source_bucket,
        "PYTHONPATH": str(CHECKOUT),
    }


def _repository_settings(env: dict[str, str], s3: LocalS3) -> RepositorySettings:
    return RepositorySettings(
        kind="s3",
        bucket=env["VIDX_REPO_BUCKET"],
        prefix=env["VIDX_REPO_PREFIX"],
        region=s3.region,
        endpoint=s3.endpoint,
    )


def _runs(instance: DagsterInstance, job: str, **tags: str) -> list[DagsterRun]:
    return list(instance.get_runs(RunsFilter(job_name=job, tags=tags)))


def _run_worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The PID the launcher reported for the run's worker process (its engine event)."""
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not (event.message or "").startswith("Started process for run"):
            continue
        pid = event.engine_event_data.metadata["pid"].value
        return int(str(pid))
    return None


def _died_of_sigkill(instance: DagsterInstance, run_id: str) -> bool:
    """The code server reported the run's process killed by SIGKILL (its engine event, which
    Dagster prefixes with the reporter's name, e.g. ``[DagsterApiServer]``)."""
    killed = f"Run execution process for {run_id} was terminated by signal 9 (SIGKILL)."
    return any(
        killed in (r.dagster_event.message or "")
        for r in instance.all_logs(run_id)
        if r.dagster_event is not None
    )


def _events(instance: DagsterInstance, run_id: str) -> str:
    """The run's events, one line each (type and message): what failed it, where a test
    expected something else to."""
    return "\n".join(
        f"{r.dagster_event.event_type_value if r.dagster_event else 'log'}: "
        f"{(r.dagster_event.message if r.dagster_event else r.user_message) or ''}"
        for r in instance.all_logs(run_id)
    )


def _committed(instance: DagsterInstance, run_id: str) -> bool:
    return any((r.user_message or "").startswith("committed ") for r in instance.all_logs(run_id))


def _finished(instance: DagsterInstance, run_id: str) -> DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None


def _assert_no_credentials(instance: DagsterInstance, secrets: dict[str, str]) -> None:
    stored = "".join(_stored_run_texts(instance, run.run_id) for run in instance.get_runs())
    assert stored
    leaked = [name for name, secret in secrets.items() if secret in stored]
    assert leaked == [], f"stored in the instance: {leaked}"


@pytest.mark.slow
def test_sensor_run_commit_checks_and_recovery_of_a_killed_run(
    tmp_path: Path,
    postgres_home: Path,
    postgres_env: dict[str, str],
    postgres: LocalPostgres,
    s3_env: LocalS3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The daemon ticks the publication sensor, which starts an operational run of the current
    cycle on its first published files; the run commits them and keeps polling. It is killed
    (SIGKILL of its worker process) and marked failed: by the code server that started the
    process when it sees it die first, else by the test, as run monitoring marks a dead worker
    where the launcher can see one (K8sRunLauncher; the local launcher cannot). The sensor then
    starts a recovery run, which ingests the rest, commits, and the checks pass."""
    local_s3 = s3_env  # the test process reads the repositories with the same credentials
    spec = small_gfs_spec(bucket=empty_bucket(local_s3, OPERATIONAL_BUCKET))
    env = _deployment_env(tmp_path, postgres_home, local_s3, postgres_env, OPERATIONAL_BUCKET)
    for key, value in postgres_env.items():
        monkeypatch.setenv(key, value)
    cycle = spec.append_dimension.latest_at_or_before(dt.datetime.now(dt.UTC))
    partition = cycle.strftime(PARTITION_FORMAT)
    config = GfsArchiveConfig(
        init_times=(cycle,),
        lead_hours=spec.lead_hours,
        grid=spec.grid.shape,
        fields=spec_fields(spec),
    )
    files = render_cycle(config, cycle, spec.lead_hours)
    half = len(files) // 2
    publish_files(local_s3, OPERATIONAL_BUCKET, files[:half])
    job = f"{asset_name(spec)}_operational_job"

    with (
        DagsterInstance.from_config(str(postgres_home)) as instance,
        running_daemon(env, tmp_path) as daemon,
    ):
        first = daemon.wait_for("operational run", lambda: _runs(instance, job))[0]
        assert first.tags["vidx/trigger"] in ("first-file", "due")
        assert first.tags["dagster/partition"] == partition
        daemon.wait_for("first commit", lambda: _committed(instance, first.run_id))
        pid = daemon.wait_for("run worker pid", lambda: _run_worker_pid(instance, first.run_id))
        os.kill(pid, signal.SIGKILL)
        daemon.wait_for("worker's end", lambda: _gone(pid), timeout=30)
        status = instance.get_run_by_id(first.run_id)
        assert status is not None
        if status.status == DagsterRunStatus.STARTED:  # killed inside the run, not yet noticed
            instance.report_run_failed(status)
        else:  # the code server saw the run's process die of this SIGKILL and failed the run
            assert status.status == DagsterRunStatus.FAILURE
            assert _died_of_sigkill(instance, first.run_id), _events(instance, first.run_id)
        repo = open_repository(
            spec, _repository_settings(env, local_s3), source_endpoint=local_s3.endpoint
        )
        assert check_partition_complete(repo, cycle).files_ingested == half

        publish_files(local_s3, OPERATIONAL_BUCKET, files[half:])
        recovery = daemon.wait_for(
            "recovery run", lambda: _runs(instance, job, **{"vidx/trigger": "recovery"})
        )[0]
        done = daemon.wait_for("recovery's end", lambda: _finished(instance, recovery.run_id))
        assert done.status == DagsterRunStatus.SUCCESS, daemon.log_tail()

        event = instance.get_latest_materialization_event(AssetKey(asset_name(spec)))
        assert event is not None
        assert event.run_id == recovery.run_id
        assert event.asset_materialization is not None
        metadata = event.asset_materialization.metadata
        assert metadata["files_already_ingested"].value == half
        assert metadata["files_ingested"].value == len(files) - half
        evaluations = {
            kind.name: instance.event_log_storage.get_asset_check_execution_history(
                AssetCheckKey(AssetKey(asset_name(spec)), kind.name), limit=5
            )
            for kind in CHECKS
        }
        for name, history in evaluations.items():
            (latest, *_) = history
            assert latest.run_id == recovery.run_id, name
            assert latest.evaluation is not None, name
        completeness = evaluations["completeness"][0].evaluation
        decode = evaluations["decode_health"][0].evaluation
        assert completeness is not None
        assert completeness.passed
        assert decode is not None
        assert decode.passed
        _assert_no_credentials(
            instance,
            {"S3 secret": local_s3.secret_access_key, "PostgreSQL password": postgres.password},
        )
    repo = open_repository(
        spec, _repository_settings(env, local_s3), source_endpoint=local_s3.endpoint, create=False
    )
    report = check_partition_complete(repo, cycle)
    assert report.files_ingested == len(files)
    assert report.absent_refs == []


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
def test_a_backfill_run_over_a_partition_range(
    tmp_path: Path,
    postgres_home: Path,
    postgres_env: dict[str, str],
    postgres: LocalPostgres,
    s3_env: LocalS3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run of the backfill job over four partitions (the range tags the backfill daemon gives
    a multi-partition run), launched through the queued run coordinator and executed by the
    daemon's launcher: four partitions in one commit, every check on each."""
    local_s3 = s3_env  # the test process reads the repositories with the same credentials
    spec = small_gfs_spec()
    inits = [dt.datetime(2025, 11, 3, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(4)]
    write_archive(local_s3, spec, inits)
    env = _deployment_env(tmp_path, postgres_home, local_s3, postgres_env, GFS_BUCKET)
    for variable, value in postgres_env.items():
        monkeypatch.setenv(variable, value)
    first, last = (inits[0].strftime(PARTITION_FORMAT), inits[-1].strftime(PARTITION_FORMAT))
    job = f"{asset_name(spec)}_job"
    tags = {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }
    launch = [
        dagster_cli(),
        *("job", "launch", "-m", "vidx_pipeline_tests.deploy.location", "-j", job),
        *("--tags", json.dumps(tags)),
    ]
    with (
        DagsterInstance.from_config(str(postgres_home)) as instance,
        running_daemon(env, tmp_path) as daemon,
    ):
        completed = subprocess.run(
            launch, env=env, cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        (run,) = _runs(instance, job)
        # A liveness bound, not a speed target: a loaded 2-core CI machine is slow.
        done = daemon.wait_for(
            "backfill run's end", lambda: _finished(instance, run.run_id), timeout=1200
        )
        assert done.status == DagsterRunStatus.SUCCESS, daemon.log_tail()
        key = AssetKey(asset_name(spec))
        assert instance.get_materialized_partitions(key) == {
            i.strftime(PARTITION_FORMAT) for i in inits
        }
        keys = ", ".join(i.strftime(PARTITION_FORMAT) for i in inits)
        partitions = {i.strftime(PARTITION_FORMAT) for i in inits}
        for kind in CHECKS:  # each check judged the run's partitions together, in this run
            # The instance is the session's: other tests' runs checked other partitions.
            history = instance.event_log_storage.get_asset_check_execution_history(
                AssetCheckKey(key, kind.name), limit=200
            )
            planned = [e for e in history if e.partition in partitions]
            assert planned, kind.name
            assert {e.run_id for e in planned} == {run.run_id}, kind.name
            # The executions planned per partition; the evaluation resolves them together.
            evaluations = [
                e.evaluation
                for e in history
                if e.run_id == run.run_id and isinstance(e.evaluation, AssetCheckEvaluation)
            ]
            assert evaluations, kind.name
            assert {e.metadata["partitions"].value for e in evaluations} == {keys}, kind.name
            if kind.name in ("completeness", "decode_health", "coordinates"):
                assert all(e.passed for e in evaluations), kind.name
        _assert_no_credentials(
            instance,
            {"S3 secret": local_s3.secret_access_key, "PostgreSQL password": postgres.password},
        )
    repo = open_repository(
        spec, _repository_settings(env, local_s3), source_endpoint=local_s3.endpoint, create=False
    )
    messages = [s.message for s in repo.repo.ancestry(branch="main")]
    assert messages[0].startswith(f"{spec.dataset_id} init_time={first}..{last} (4 partitions)")
