"""Repository locations from the environment and an optional file: the one reading both the
Dagster resources and readers use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidx_pipeline.locations import (
    ENV_DEFAULTS,
    ENV_VARS,
    LOCATIONS_FILE_ENV_VAR,
    LocationsConfigError,
    locations_from_env,
)
from vidx_pipeline.orchestration.resources import RepositoryStorageResource


def test_defaults_are_a_local_directory_and_the_clouds_endpoints() -> None:
    locations = locations_from_env({})
    assert locations.repository.kind == "local"
    assert locations.repository.location("x") == str(Path(ENV_DEFAULTS["VIDX_REPO_ROOT"], "x"))
    assert locations.repository.bucket is None
    assert locations.repository.endpoint is None
    assert locations.source_endpoint is None


def test_variables_win_over_the_file_and_empty_means_not_set(tmp_path: Path) -> None:
    file = tmp_path / "vidx.toml"
    file.write_text(
        'kind = "s3"\nbucket = "from-file"\nprefix = "file-prefix"\n'
        'source_endpoint = "http://127.0.0.1:1"\nlocal_root = "repos"\n'
    )
    env = {
        LOCATIONS_FILE_ENV_VAR: str(file),
        "VIDX_REPO_BUCKET": "from-env",
        "VIDX_S3_ENDPOINT": "",
    }
    locations = locations_from_env(env)
    assert locations.repository.location("x") == "s3://from-env/file-prefix/x"
    assert locations.source_endpoint is None  # set empty in the environment: the cloud's own
    assert locations.repository.local_root == str(tmp_path / "repos")  # relative to the file


def test_a_json_file_reads_like_toml(tmp_path: Path) -> None:
    file = tmp_path / "vidx.json"
    file.write_text(json.dumps({"kind": "s3", "bucket": "b", "endpoint": "http://127.0.0.1:2"}))
    locations = locations_from_env({LOCATIONS_FILE_ENV_VAR: str(file)})
    assert locations.repository.location("x") == "s3://b/vidx/x"
    assert locations.repository.endpoint == "http://127.0.0.1:2"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.toml", 'aws_secret_access_key = "s3cr3t-value"\n', "unknown fields"),
        ("a.json", '{"bucket": 3}', "must be strings"),
        ("a.toml", "kind = ", "not valid TOML"),
        ("a.yaml", "kind: s3", "must end in .toml or .json"),
        ("a.toml", 'kind = "gcs"\n', "must be 'local' or 's3'"),
    ],
)
def test_a_bad_file_is_refused_without_quoting_its_values(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    file = tmp_path / name
    file.write_text(text)
    with pytest.raises(LocationsConfigError, match=message) as raised:
        locations_from_env({LOCATIONS_FILE_ENV_VAR: str(file)})
    assert "s3cr3t-value" not in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LocationsConfigError, match=r"no-such\.toml"):
        locations_from_env({LOCATIONS_FILE_ENV_VAR: str(tmp_path / "no-such.toml")})


def test_the_dagster_resource_reads_its_fields_the_same_way() -> None:
    """One reading of the fields: the resource's resolved values give what the same values in
    the environment give a reader."""
    values = {
        "kind": "s3",
        "local_root": "r",
        "bucket": "b",
        "prefix": "p",
        "region": "eu-west-1",
        "endpoint": "",
        "source_endpoint": "http://127.0.0.1:3",
        "http_source_endpoint": "http://127.0.0.1:4",
    }
    resource = RepositoryStorageResource(**values)
    env = {ENV_VARS[field]: value for field, value in values.items()}
    assert resource.locations() == locations_from_env(env)
    assert resource.locations().http_source_endpoint == "http://127.0.0.1:4"
    assert resource.settings() == locations_from_env(env).repository
    with pytest.raises(LocationsConfigError, match="'local' or 's3'"):
        RepositoryStorageResource(kind="gcs").settings()


def test_an_http_endpoint_is_a_scheme_and_host_only() -> None:
    """The HTTP override replaces the producer's scheme, host and port and keeps its paths: an
    endpoint with a path would drop the producer's, so it is refused naming the field."""
    env = {"VIDX_HTTP_ENDPOINT": "http://127.0.0.1:8000/weather/"}
    with pytest.raises(LocationsConfigError, match=r"\['http_source_endpoint'\]") as refused:
        locations_from_env(env)
    assert "weather" not in str(refused.value)
    assert locations_from_env({"VIDX_HTTP_ENDPOINT": ""}).http_source_endpoint is None
