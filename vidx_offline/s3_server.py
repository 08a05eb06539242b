"""A real S3 HTTP API on loopback (``moto_server``), started and stopped by the code that needs it.

The offline archive is served through it so that the pipeline reads exactly the code path it uses
against the producers' buckets; only the endpoint differs.

Contract:
- :func:`running_s3_server` starts ``moto_server`` on a free loopback port, waits until it answers,
  yields a :class:`LocalS3` and kills the process (SIGKILL, by PID) on exit, whatever happened.
- The child's SIGINT/SIGTERM handlers are reset to their defaults so the server can never outlive
  its owner because it inherited them as ignored.
- Credentials are moto's dummy test keys; they grant nothing anywhere but this loopback server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obstore.store import S3Store

from vidx_offline.processes import reset_signal_handlers

LOCAL_ACCESS_KEY_ID = "vidx-local-test"
LOCAL_SECRET_ACCESS_KEY = "vidx-local-test-secret"
LOCAL_REGION = "us-east-1"
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LocalS3:
    """A running loopback S3 API: its endpoint and the dummy credentials it accepts."""

    endpoint: str
    pid: int
    access_key_id: str = LOCAL_ACCESS_KEY_ID
    secret_access_key: str = LOCAL_SECRET_ACCESS_KEY
    region: str = LOCAL_REGION

    def env(self) -> dict[str, str]:
        """Environment variables that point the pipeline's stores at this server."""
        return {
            "VIDX_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",
        }

    def store(self, bucket: str) -> S3Store:
        """A signed obstore store on ``bucket``, for writing (the pipeline reads unsigned)."""
        return S3Store(
            bucket,
            endpoint=self.endpoint,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            client_options={"allow_http": True},
            virtual_hosted_style_request=False,
        )

    def boto3_client(self) -> Any:
        """A boto3 S3 client for administration (bucket creation, policies); not used by ingest."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def create_bucket(self, bucket: str, *, public_read: bool = False) -> None:
        """Create ``bucket`` (idempotent); ``public_read`` mimics NOAA/ECMWF open-data buckets,
        which anyone may list and read without signing."""
        client = self.boto3_client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket)
        if public_read:
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject", "s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }
                ],
            }
            client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _moto_server_executable() -> str:
    candidate = Path(sys.executable).with_name("moto_server")
    if candidate.exists():
        return str(candidate)
    raise RuntimeError(
        f"moto_server not found next to {sys.executable}: install the 'offline' extra "
        "(pip install 'vidx-pipeline[offline]')"
    )


def start_s3_server(log_path: Path | None = None) -> tuple[subprocess.Popen[bytes], LocalS3]:
    """Start ``moto_server`` on a free loopback port and wait until it answers HTTP.

    The caller owns the process and must stop it with :func:`stop_s3_server`.
    """
    port = _free_loopback_port()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [_moto_server_executable(), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        preexec_fn=reset_signal_handlers,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {process.returncode} at startup")
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                stop_s3_server(process)
                raise RuntimeError(
                    f"moto_server on {endpoint} did not answer within {STARTUP_TIMEOUT_SECONDS}s"
                ) from None
            time.sleep(0.05)
    return process, LocalS3(endpoint=endpoint, pid=process.pid)


def stop_s3_server(process: subprocess.Popen[bytes]) -> None:
    """Kill the server by PID (SIGKILL: it may have inherited SIGTERM as ignored) and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@contextlib.contextmanager
def running_s3_server(log_path: Path | None = None) -> Iterator[LocalS3]:
    """Run a loopback S3 API for the duration of the ``with`` block."""
    process, server = start_s3_server(log_path)
    try:
        yield server
    finally:
        stop_s3_server(process)
