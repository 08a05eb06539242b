"""Fixtures of the deployment tests: one PostgreSQL server per session, a fresh database and
``DAGSTER_HOME`` (the production instance file, migrated) per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidx_pipeline_tests.deploy.instance_setup import PRODUCTION_INSTANCE, set_up_instance
from vidx_pipeline_tests.deploy.postgres_server import LocalPostgres, running_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL server on loopback for the session; stopped (by PID) and removed after."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_env(postgres: LocalPostgres) -> dict[str, str]:
    """The production instance's connection variables, on a database of this test's own."""
    database = postgres.create_database(f"dagster_{uuid.uuid4().hex[:12]}")
    return {**postgres.env(), "DAGSTER_PG_DB": database}


@pytest.fixture
def postgres_home(tmp_path: Path, postgres_env: dict[str, str]) -> Path:
    """A ``DAGSTER_HOME`` with the production instance file, set up as documented."""
    return set_up_instance(
        tmp_path / "dagster-home", PRODUCTION_INSTANCE, {**os.environ, **postgres_env}
    )
