"""Source stores, opened for reading: obstore for listing and GETs, icechunk's virtual chunk
container config for reading the referenced GRIB messages.

Three kinds of store (:data:`vidx_pipeline.spec.StoreSpec`), matched here and nowhere else:

- ``s3``: the producer's bucket. The bucket and region come from the spec; the endpoint is the
  cloud's unless overridden (the repository storage resource's ``source_endpoint``, set for the
  offline archive's loopback S3 API). The code path is the same either way.
- ``http``: a plain file server (DWD's ``opendata.dwd.de``), read with obstore's ``HTTPStore``
  (GET and HEAD); listed through its directory index pages (:mod:`vidx_pipeline.http_listing`).
  Its own endpoint override (the storage resource's ``http_source_endpoint``, set for the
  offline archive's loopback HTTP server) replaces the scheme, host and port of the base URL
  and keeps its path. It applies to listing and GETs (the mirror's copies, ingest's reads),
  not to refs: refs name the producer's own URL, and a repository reads them through
  icechunk's HTTP container, which fetches that URL as written. The HTTP datasets' refs point
  at their mirror.
- ``local``: a local directory (the default mirror of a short-lived producer archive).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import icechunk
from obstore.exceptions import BaseError
from obstore.store import HTTPStore, LocalStore, ObjectStore, S3Store
from pydantic import Field

from vidx_pipeline.spec import FrozenModel, HttpStoreSpec, LocalStoreSpec, ObjectStoreSpec

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

StoreSpecs = ObjectStoreSpec | HttpStoreSpec | LocalStoreSpec


class SourceClientSettings(FrozenModel):
    """How reads of a producer's store treat a slow or failing server: every request (listing
    page, index GET, range GET) has a time limit, and a request that times out, drops its
    connection or gets an HTTP 5xx is retried with exponential backoff and jitter, up to
    ``max_retries`` times and never after ``retry_timeout_seconds``; then
    :class:`SourceUnavailableError` names the object."""

    request_timeout_seconds: float = Field(
        30.0, gt=0, description="A request not answered in full within this is retried."
    )
    max_retries: int = Field(10, ge=0, description="Retries of one request (0: none).")
    retry_timeout_seconds: float = Field(
        180.0, gt=0, description="No retry starts this long after a request's first try."
    )
    initial_backoff_seconds: float = Field(0.1, gt=0)

    def client_options(self) -> ClientConfig:
        return {"timeout": dt.timedelta(seconds=self.request_timeout_seconds)}

    def retry_config(self) -> RetryConfig:
        return {
            "max_retries": self.max_retries,
            "retry_timeout": dt.timedelta(seconds=self.retry_timeout_seconds),
            "backoff": {"init_backoff": dt.timedelta(seconds=self.initial_backoff_seconds)},
        }


class SourceUnavailableError(OSError):
    """A producer object its store did not serve after the client's retries (timeouts,
    dropped connections, HTTP 5xx): the run fails naming it, nothing of its batch committed."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        super().__init__(f"source unavailable: {url}: {problem}")


def first_line(error: BaseException) -> str:
    """What an error says in one line: obstore's messages go on for lines of source chains."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def unavailable(url: str, error: BaseError) -> SourceUnavailableError:
    """The error for a request of ``url`` the client gave up on (its first line says how many
    tries over how long; a timeout is said so)."""
    detail = first_line(error)
    timed_out = "TimedOut" in str(error) or "kind: Timeout" in str(error)
    reason = "requests timed out; " if timed_out else ""
    return SourceUnavailableError(url, f"{reason}gave up after the client's retries ({detail})")


def open_source_store(
    spec: StoreSpecs,
    endpoint: str | None = None,
    client: SourceClientSettings | None = None,
    *,
    http_endpoint: str | None = None,
) -> ObjectStore:
    """An obstore store for ``spec``. Public buckets are read unsigned; private ones take
    credentials from the environment. ``endpoint`` overrides an S3 store's endpoint,
    ``http_endpoint`` (``http://host:port``) an HTTP store's scheme, host and port;
    ``client`` sets timeouts and retries (the defaults of :class:`SourceClientSettings`)."""
    client = client or SourceClientSettings()
    match spec:
        case ObjectStoreSpec():
            return _s3_store(spec, endpoint, client)
        case HttpStoreSpec():
            base_url = http_base_url(spec, http_endpoint)
            options = _client_options(base_url, client)
            # obstore joins the URL and a key with a "/" of its own: a base URL ending with
            # one would request ".../weather//key", which a server may refuse.
            return HTTPStore.from_url(
                base_url.rstrip("/"), client_options=options, retry_config=client.retry_config()
            )
        case LocalStoreSpec():
            Path(spec.root).mkdir(parents=True, exist_ok=True)
            return LocalStore(spec.root)


def http_base_url(spec: HttpStoreSpec, endpoint: str | None) -> str:
    """``spec``'s base URL, on ``endpoint``'s scheme, host and port if one is given: the
    producer's paths served from elsewhere (``https://opendata.dwd.de/weather/`` on
    ``http://127.0.0.1:8000`` is ``http://127.0.0.1:8000/weather/``)."""
    if not endpoint:
        return spec.base_url
    path = urlsplit(spec.base_url).path
    return endpoint.rstrip("/") + path


def _client_options(url: str, client: SourceClientSettings) -> ClientConfig:
    options = client.client_options()
    if url.startswith("http://"):
        options["allow_http"] = True
    return options


def _s3_store(spec: ObjectStoreSpec, endpoint: str | None, client: SourceClientSettings) -> S3Store:
    options: dict[str, Any] = {"region": spec.region}
    if endpoint:
        options["endpoint"] = endpoint
        options["virtual_hosted_style_request"] = False
    if spec.anonymous:
        options["skip_signature"] = True
    return S3Store(
        spec.bucket,
        client_options=_client_options(endpoint or "", client),
        retry_config=client.retry_config(),
        **options,
    )


def virtual_chunk_container(
    spec: StoreSpecs, endpoint: str | None = None
) -> icechunk.VirtualChunkContainer:
    """The container a repository needs to hold refs into ``spec``'s store."""
    match spec:
        case ObjectStoreSpec():
            s3_config = icechunk.s3_store(
                region=spec.region,
                endpoint_url=endpoint,
                allow_http=bool(endpoint and endpoint.startswith("http://")),
                force_path_style=endpoint is not None,
                anonymous=spec.anonymous,
            )
            return icechunk.VirtualChunkContainer(spec.url_prefix, s3_config)
        case HttpStoreSpec():
            opts = {"allow_http": "true"} if spec.base_url.startswith("http://") else None
            return icechunk.VirtualChunkContainer(spec.url_prefix, icechunk.http_store(opts))
        case LocalStoreSpec():
            local_config = icechunk.local_filesystem_store(spec.root)
            return icechunk.VirtualChunkContainer(spec.url_prefix, local_config)


ContainerCredential = (
    icechunk.AnyS3Credential
    | icechunk.credentials.Credentials.HttpAccess
    | icechunk.credentials.Credentials.LocalFileSystemAccess
)


def container_credentials(spec: StoreSpecs) -> ContainerCredential:
    """What readers authorize the container with: unsigned for public buckets, icechunk's
    no-auth sentinels for an HTTP server or a local directory."""
    match spec:
        case ObjectStoreSpec():
            if spec.anonymous:
                return icechunk.s3_anonymous_credentials()
            return icechunk.s3_from_env_credentials()
        case HttpStoreSpec():
            return icechunk.credentials.HttpAccess
        case LocalStoreSpec():
            return icechunk.credentials.LocalFileSystemAccess
