"""Where the datasets' repositories live and which endpoint reaches the producers' buckets, from
the environment: one source of truth for the Dagster resources and for readers.

The configuration is nine ``VIDX_*`` variables (:data:`ENV_VARS`, one per field of
:class:`Locations`); an empty value means "not set" (no bucket, the cloud's own endpoint), and an
unset variable takes its local default (:data:`ENV_DEFAULTS`). The Dagster resources resolve
them through ``EnvVar`` at run time (:mod:`vidx_pipeline.orchestration.resources`); readers
(:mod:`vidx_pipeline.catalog`) through :func:`locations_from_env`, which also reads an optional
TOML or JSON file named by :data:`LOCATIONS_FILE_ENV_VAR`, whose keys are the fields' names
(``kind``, ``local_root``, ``bucket``, ``prefix``, ``region``, ``endpoint``, ``source_endpoint``,
``http_source_endpoint``, ``grid_files``).
A variable set in the environment wins over the file, the file over the defaults.

Locations only: credentials come from the standard AWS variables when a store is opened, never
from here (a file naming any other field is refused), and no error raised here quotes a
configured value but the repository kind.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, ValidationError

from vidx_pipeline.repository import RepositorySettings
from vidx_pipeline.spec import FrozenModel

ENV_VARS = {
    "kind": "VIDX_REPO_KIND",
    "local_root": "VIDX_REPO_ROOT",
    "bucket": "VIDX_REPO_BUCKET",
    "prefix": "VIDX_REPO_PREFIX",
    "region": "VIDX_REPO_REGION",
    "endpoint": "VIDX_REPO_ENDPOINT",
    "source_endpoint": "VIDX_S3_ENDPOINT",
    "http_source_endpoint": "VIDX_HTTP_ENDPOINT",
    "grid_files": "VIDX_GRID_FILES",
}
"""Environment variable of each location field (an empty value means "not set"); unset ones
take :data:`ENV_DEFAULTS`."""

ENV_DEFAULTS = {
    "VIDX_REPO_KIND": "local",
    "VIDX_REPO_ROOT": ".local/icechunk",
    "VIDX_REPO_BUCKET": "",
    "VIDX_REPO_PREFIX": "vidx",
    "VIDX_REPO_REGION": "us-east-1",
    "VIDX_REPO_ENDPOINT": "",
    "VIDX_S3_ENDPOINT": "",
    "VIDX_HTTP_ENDPOINT": "",
    "VIDX_GRID_FILES": "",
}
"""Local development values of :data:`ENV_VARS`: repositories under ``.local/icechunk``, the
producers' own cloud buckets and servers."""

LOCATIONS_FILE_ENV_VAR = "VIDX_LOCATIONS_FILE"
"""Names an optional TOML (``.toml``) or JSON (``.json``) file of location fields, read by
:func:`locations_from_env` (readers only; the Dagster resources read the variables alone)."""


class LocationsConfigError(ValueError):
    """The location configuration is unusable; the message names fields and files, never
    values."""


def none_if_empty(value: str | None) -> str | None:
    """An empty configured value means "not set"."""
    return value or None


_NOT_REPOSITORY_FIELDS = ("source_endpoint", "http_source_endpoint", "grid_files")


class Locations(FrozenModel):
    """Where every dataset's repository lives, and the producers' endpoints (None: their own):
    ``source_endpoint`` for their S3 buckets (the loopback S3 API for the offline archive),
    ``http_source_endpoint`` for their HTTP servers (the loopback HTTP server; see
    :func:`vidx_pipeline.source_store.open_source_store`). ``grid_files``: where the grid
    files of unstructured grids are (a directory or an ``http(s)`` URL prefix; None: cubes on
    those grids get no cell coordinates; :mod:`vidx_pipeline.grid_files`). Holds no
    credentials."""

    repository: RepositorySettings
    source_endpoint: str | None = None
    http_source_endpoint: str | None = Field(default=None, pattern=r"^https?://[^/]+/?$")
    grid_files: str | None = None


def repository_settings(
    *, kind: str, local_root: str, bucket: str, prefix: str, region: str, endpoint: str
) -> RepositorySettings:
    """The repository settings of configured values (empty: not set); raises
    :class:`LocationsConfigError` for a kind other than ``local`` or ``s3``."""
    if kind not in ("local", "s3"):
        raise LocationsConfigError(f"repository kind must be 'local' or 's3', not {kind!r}")
    return RepositorySettings(
        kind=kind,
        local_root=local_root,
        bucket=none_if_empty(bucket),
        prefix=prefix,
        region=region,
        endpoint=none_if_empty(endpoint),
    )


def locations_from_values(values: Mapping[str, str]) -> Locations:
    """Locations from a value for every field of :data:`ENV_VARS` (keyed by field name)."""
    if missing := set(ENV_VARS) - set(values):
        raise LocationsConfigError(f"location fields not given: {sorted(missing)}")
    if unknown := set(values) - set(ENV_VARS):
        raise LocationsConfigError(
            f"unknown location fields {sorted(unknown)}; known: {list(ENV_VARS)}"
        )
    try:
        repository = repository_settings(
            **{field: values[field] for field in ENV_VARS if field not in _NOT_REPOSITORY_FIELDS}
        )
        return Locations(
            repository=repository,
            source_endpoint=none_if_empty(values["source_endpoint"]),
            http_source_endpoint=none_if_empty(values["http_source_endpoint"]),
            grid_files=none_if_empty(values["grid_files"]),
        )
    except ValidationError as error:
        # Pydantic quotes the input; name the fields only.
        fields = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
        raise LocationsConfigError(f"invalid location fields {fields}") from None


def read_locations_file(path: Path) -> dict[str, str]:
    """The fields a locations file sets: a TOML or JSON table of strings keyed by field name
    (any subset of :data:`ENV_VARS`' keys). A relative ``local_root`` is taken relative to the
    file's directory."""
    try:
        text = path.read_text()
    except OSError as error:
        raise LocationsConfigError(
            f"cannot read locations file {path} ({LOCATIONS_FILE_ENV_VAR}): {error.strerror}"
        ) from None
    match path.suffix:
        case ".toml":
            try:
                table: object = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                raise LocationsConfigError(f"locations file {path} is not valid TOML") from None
        case ".json":
            try:
                table = json.loads(text)
            except json.JSONDecodeError:
                raise LocationsConfigError(f"locations file {path} is not valid JSON") from None
        case suffix:
            raise LocationsConfigError(
                f"locations file {path} must end in .toml or .json, not {suffix!r}"
            )
    if not isinstance(table, dict):
        raise LocationsConfigError(f"locations file {path} must hold one table of fields")
    if unknown := set(table) - set(ENV_VARS):
        raise LocationsConfigError(
            f"locations file {path}: unknown fields {sorted(unknown)}; known: {list(ENV_VARS)}"
        )
    if not_text := sorted(key for key, value in table.items() if not isinstance(value, str)):
        raise LocationsConfigError(f"locations file {path}: fields {not_text} must be strings")
    fields = dict(table)
    root = fields.get("local_root")
    if root and not Path(root).is_absolute():
        fields["local_root"] = str(path.parent / root)
    return fields


def locations_from_env(environ: Mapping[str, str] | None = None) -> Locations:
    """Locations as readers resolve them: each field from its variable if set in ``environ``
    (default: the process environment), else from the :data:`LOCATIONS_FILE_ENV_VAR` file if
    one is named and sets it, else its default."""
    env = os.environ if environ is None else environ
    values = {field: ENV_DEFAULTS[variable] for field, variable in ENV_VARS.items()}
    if file := env.get(LOCATIONS_FILE_ENV_VAR):
        values.update(read_locations_file(Path(file)))
    values.update({field: env[var] for field, var in ENV_VARS.items() if var in env})
    return locations_from_values(values)
