"""What Dagster's Helm chart (dagster/dagster 1.13) makes of ``k8s/values.yaml`` for a run: the
K8sRunLauncher config it writes into the instance and the container context the code-location
deployment passes on to the runs it launches (``includeConfigInLaunchedRuns``).

This mirrors the chart's templates (``helpers/instance/_run-launcher.tpl`` and the user
deployment's ``DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT``) for the keys our values use, and refuses
values that use any other key, so that nothing in the values is silently left out of what the
tests check. Helm itself is not run (it is not available offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

VALUES = Path(__file__).parents[2] / "k8s" / "values.yaml"
RELEASE = "dagster"
NAMESPACE = "vidx"
DAGSTER_HOME = "/opt/dagster/dagster_home"  # the chart's global.dagsterHome default

LAUNCHER_KEYS = {
    "imagePullPolicy",
    "loadInclusterConfig",
    "envConfigMaps",
    "envSecrets",
    "runK8sConfig",
}
RUN_K8S_CONFIG_KEYS = {
    "containerConfig": "container_config",
    "podSpecConfig": "pod_spec_config",
    "podTemplateSpecMetadata": "pod_template_spec_metadata",
    "jobSpecConfig": "job_spec_config",
    "jobMetadata": "job_metadata",
}


class UnmirroredValueError(AssertionError):
    """The values use a key this mirror does not render: extend the mirror first."""


def load_values(path: Path = VALUES) -> dict[str, Any]:
    values = yaml.safe_load(path.read_text())
    assert isinstance(values, dict), f"{path} must hold a mapping"
    return values


def code_location(values: dict[str, Any]) -> dict[str, Any]:
    """The one user-code deployment: this repository's image."""
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def _names(refs: list[dict[str, str]]) -> list[str]:
    return [ref["name"] for ref in refs]


def run_launcher_config(values: dict[str, Any]) -> dict[str, Any]:
    """The K8sRunLauncher config the chart writes into the instance (the keys we use)."""
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    config = launcher["config"]["k8sRunLauncher"]
    if unknown := set(config) - LAUNCHER_KEYS:
        raise UnmirroredValueError(f"runLauncher keys not mirrored: {sorted(unknown)}")
    run_k8s_config = config.get("runK8sConfig", {})
    if unknown := set(run_k8s_config) - set(RUN_K8S_CONFIG_KEYS):
        raise UnmirroredValueError(f"runK8sConfig keys not mirrored: {sorted(unknown)}")
    return {
        "load_incluster_config": config["loadInclusterConfig"],
        "job_namespace": NAMESPACE,
        "image_pull_policy": config["imagePullPolicy"],
        "service_account_name": RELEASE,
        "dagster_home": DAGSTER_HOME,
        "instance_config_map": f"{RELEASE}-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "env_config_maps": _names(config.get("envConfigMaps", [])),
        "env_secrets": _names(config.get("envSecrets", [])),
        "run_k8s_config": {
            RUN_K8S_CONFIG_KEYS[key]: value for key, value in run_k8s_config.items()
        },
    }


def code_location_container_context(values: dict[str, Any]) -> dict[str, Any]:
    """The container context the code-location deployment hands to every run it launches."""
    deployment = code_location(values)
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    return {
        "k8s": {
            # The chart's own per-deployment ConfigMap first, then the values' ones.
            "env_config_maps": [
                f"{RELEASE}-dagster-user-deployments-{deployment['name']}-user-env",
                *_names(deployment.get("envConfigMaps", [])),
            ],
            "env_secrets": _names(deployment.get("envSecrets", [])),
            "image_pull_policy": deployment["image"]["pullPolicy"],
            "namespace": NAMESPACE,
            "service_account_name": f"{RELEASE}-dagster-user-deployments-user-deployments",
            "resources": deployment.get("resources", {}),
        }
    }


def image(values: dict[str, Any]) -> str:
    spec = code_location(values)["image"]
    return f"{spec['repository']}:{spec['tag']}"
