"""Everything an operator applies from ``k8s/``, checked offline: every manifest, and the Job that
dagster-k8s's own K8sRunLauncher builds for a run of each job under ``k8s/values.yaml``, against
the Kubernetes API schemas of a current release (``kubernetes-validate``, strict: no unknown
field); the values against the production instance and dagster-k8s's config schema; the
Dockerfile's contract."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes_validate
import pytest
import yaml
from dagster import instance_for_test
from dagster._config import process_config
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.test_utils import create_run_for_test
from dagster_k8s import K8sRunLauncher
from kubernetes.client import ApiClient

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.orchestration.partitions import asset_name
from vidx_pipeline.orchestration.sensors import OPERATIONAL_TAGS, operational_run_config
from vidx_pipeline_tests.deploy.helm_values import (
    code_location,
    code_location_container_context,
    image,
    load_values,
    run_launcher_config,
)
from vidx_pipeline_tests.deploy.instance_setup import CHECKOUT, PRODUCTION_INSTANCE

K8S = CHECKOUT / "k8s"
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "values.yaml")
BACKFILL_TAGS = K8S / "backfill-run-tags.json"
SPEC = get_dataset("noaa-gfs-forecast")
ASSET = asset_name(SPEC)


def _validate(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_a_current_kubernetes_release_is_the_reference() -> None:
    major, minor = (int(part) for part in KUBERNETES_VERSION.split(".")[:2])
    assert (major, minor) >= (1, 34), KUBERNETES_VERSION


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_every_manifest_is_valid(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert documents, path
    for document in documents:
        _validate(document)
        assert document["metadata"].get("namespace", "vidx") == "vidx"


def test_an_invalid_manifest_is_refused() -> None:
    """The validation can fail: an unknown field, a wrong type."""
    configmap = yaml.safe_load((K8S / "locations.configmap.yaml").read_text())
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate({**configmap, "spec": {}})
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate({**configmap, "data": {"VIDX_REPO_KIND": 3}})


def test_secrets_are_placeholders_and_locations_hold_no_credential() -> None:
    for document in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text()):
        assert set(document["stringData"].values()) == {"REPLACE-ME"}
    locations = yaml.safe_load((K8S / "locations.configmap.yaml").read_text())["data"]
    assert locations["VIDX_REPO_KIND"] == "s3"
    assert not [key for key in locations if re.search("SECRET|PASSWORD|TOKEN|KEY_ID", key)]


# --- the Jobs dagster-k8s builds ---------------------------------------------------------------


def _kubeconfig(path: Path) -> Path:
    """A kubeconfig naming an API server nobody contacts: the launcher loads one at start."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "unused"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def _backfill_tags() -> dict[str, str]:
    tags = json.loads(BACKFILL_TAGS.read_text())
    assert set(tags) == {"dagster-k8s/config"}
    return {key: json.dumps(value) for key, value in tags.items()}


RUNS = {
    "operational": (
        f"{ASSET}_operational_job",
        {**OPERATIONAL_TAGS, "vidx/trigger": "due", "dagster/partition": "2025-08-01T00:00"},
        operational_run_config(SPEC),
    ),
    "backfill": (
        f"{ASSET}_job",
        {
            "dagster/backfill": "abcdefgh",
            "dagster/asset_partition_range_start": "2025-08-01T00:00",
            "dagster/asset_partition_range_end": "2025-08-01T18:00",
            **_backfill_tags(),
        },
        {},
    ),
    "checks": (
        f"{ASSET}_checks_job",
        {"vidx/run_kind": "checks", "dagster/partition": "2025-08-01T00:00"},
        {},
    ),
}


def _built_job(tmp_path: Path, job_name: str, tags: dict[str, str], run_config: dict) -> dict:
    """The Job K8sRunLauncher creates for a run of ``job_name`` (its API call intercepted),
    with the launcher and the code location configured as the chart configures them."""
    values = load_values()
    batch_api = mock.MagicMock()
    launcher = K8sRunLauncher(
        **{**run_launcher_config(values), "load_incluster_config": False},
        kubeconfig_file=str(_kubeconfig(tmp_path / "kubeconfig")),
        k8s_client_batch_api=batch_api,
    )
    repository_origin = RepositoryPythonOrigin(
        executable_path="/usr/local/bin/python",
        code_pointer=ModuleCodePointer("vidx_pipeline.definitions", "defs", None),
        container_image=image(values),
        container_context=code_location_container_context(values),
    )
    location = GrpcServerCodeLocationOrigin(
        host="dagster-vidx-pipeline", port=3030, location_name=code_location(values)["name"]
    )
    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        launcher.register_instance(instance)
        run = create_run_for_test(
            instance,
            job_name=job_name,
            tags=tags,
            run_config=run_config,
            job_code_origin=JobPythonOrigin(job_name, repository_origin),
            remote_job_origin=RemoteJobOrigin(
                RemoteRepositoryOrigin(location, "__repository__"), job_name
            ),
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    (call,) = batch_api.create_namespaced_job.call_args_list
    assert call.kwargs["namespace"] == "vidx"
    return ApiClient().sanitize_for_serialization(call.kwargs["body"])


def _memory_mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


@pytest.mark.parametrize("kind", RUNS)
def test_the_job_of_each_run_is_valid_and_sized(tmp_path: Path, kind: str) -> None:
    job_name, tags, run_config = RUNS[kind]
    job = _built_job(tmp_path, job_name, tags, run_config)
    _validate(job)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == image(load_values())
    assert container["args"][-4:-1] == ["dagster", "api", "execute_run"]
    assert job["spec"]["backoffLimit"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True
    # Credentials and locations by reference: the Secret and the ConfigMap, never values.
    sources = container["envFrom"]
    assert {"secretRef": {"name": "vidx-s3-credentials"}} in sources
    assert {"configMapRef": {"name": "vidx-locations"}} in sources
    names = {e["name"] for e in container.get("env", [])}
    assert not {n for n in names if n.startswith("AWS_")}
    pg_password = next(e for e in container["env"] if e["name"] == "DAGSTER_PG_PASSWORD")
    assert pg_password["valueFrom"]["secretKeyRef"]["name"] == "dagster-postgresql-secret"
    # The size of its kind of run: the backfill tag's, else the code location's (which the
    # chart passes on to its runs over the launcher's: the launcher must not set one).
    expected = (
        json.loads(BACKFILL_TAGS.read_text())["dagster-k8s/config"]["container_config"]["resources"]
        if kind == "backfill"
        else code_location(load_values())["resources"]
    )
    launcher = run_launcher_config(load_values())["run_k8s_config"]["container_config"]
    assert "resources" not in launcher, "inert: the code location's resources win"
    assert container["resources"] == expected
    assert _memory_mib(expected["requests"]["memory"]) <= _memory_mib(expected["limits"]["memory"])


def test_backfill_runs_get_more_memory_than_operational_runs() -> None:
    backfill = json.loads(BACKFILL_TAGS.read_text())["dagster-k8s/config"]["container_config"]
    operational = code_location(load_values())["resources"]
    assert _memory_mib(backfill["resources"]["limits"]["memory"]) > _memory_mib(
        operational["limits"]["memory"]
    )


# --- the values against the production instance and dagster's config schemas -----------------


def _snake(config: Any) -> Any:
    if isinstance(config, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): _snake(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_snake(item) for item in config]
    return config


def test_values_render_the_production_instance() -> None:
    values = load_values()
    production = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    daemon = values["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    coordinator = _snake(daemon["runCoordinator"]["config"]["queuedRunCoordinator"])
    assert coordinator == production["run_coordinator"]["config"]
    assert process_config(QueuedRunCoordinator.config_type(), coordinator).success
    assert _snake(daemon["runMonitoring"]) == production["run_monitoring"]
    postgres = values["postgresql"]
    assert postgres["enabled"] is False
    production_db = production["storage"]["postgres"]["postgres_db"]
    assert postgres["postgresqlScheme"] == production_db["scheme"]
    assert "postgresqlPassword" not in postgres
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["migrate"]["enabled"] is True


def test_the_run_launcher_config_is_valid_for_dagster_k8s() -> None:
    config = run_launcher_config(load_values())
    result = process_config(K8sRunLauncher.config_type(), config)
    assert result.success, result.errors
    bad = process_config(K8sRunLauncher.config_type(), {**config, "run_k8s_cofnig": {}})
    assert not bad.success


def test_the_code_location_pod_is_valid() -> None:
    """The deployment's pod settings, as the chart places them in its Deployment's pod."""
    deployment = code_location(load_values())
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "vidx-pipeline"},
        "spec": {
            "securityContext": deployment["podSecurityContext"],
            "containers": [
                {
                    "name": "dagster",
                    "image": image(load_values()),
                    "args": ["dagster", "api", "grpc", *deployment["dagsterApiGrpcArgs"]],
                    "ports": [{"containerPort": deployment["port"]}],
                    "resources": deployment["resources"],
                    "securityContext": deployment["securityContext"],
                }
            ],
        },
    }
    _validate(pod)
    assert deployment["dagsterApiGrpcArgs"][-1] == _pyproject()["tool"]["dagster"]["module_name"]


# --- the image ----------------------------------------------------------------------------------


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((CHECKOUT / "pyproject.toml").read_text())


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (instruction, arguments) pairs, continuation lines joined."""
    text = (K8S / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    pairs = [line.split(maxsplit=1) for line in lines]
    return [(op.upper(), args) for op, args in pairs]


def test_the_image_holds_the_wheel_runs_unprivileged_and_bakes_in_no_credential() -> None:
    instructions = _instructions()
    copies = [args for op, args in instructions if op == "COPY"]
    assert copies == [
        "pyproject.toml README.md ./",
        "vidx_pipeline ./vidx_pipeline",
        "--from=wheel /wheels /wheels",
    ]
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "uv build --wheel" in runs
    assert "uv pip install --system --no-cache /wheels/*.whl" in runs
    (user,) = [args for op, args in instructions if op == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert int(user.split(":")[0]) >= 1000
    environment = [args for op, args in instructions if op in ("ENV", "ARG")]
    assert not [e for e in environment if re.search("AWS|SECRET|PASSWORD|TOKEN|PG", e)]
    (command,) = [json.loads(args) for op, args in instructions if op == "CMD"]
    assert command[:3] == ["dagster", "api", "grpc"]
    assert _pyproject()["tool"]["dagster"]["module_name"] in command
    ignore = (K8S / "Dockerfile.dockerignore").read_text().splitlines()
    assert "*" in ignore  # everything is excluded but what is named
    assert not [line for line in ignore if line.startswith("!") and ".env" in line]
