"""Source stores, opened for reading: obstore for listing and GETs, icechunk's virtual chunk
container config for reading the referenced GRIB messages.

Three kinds of store (:data:`vidx_pipeline.spec.StoreSpec`), matched here and nowhere else:

- ``s3``: the producer's bucket. The bucket and region come from the spec; the endpoint is the
  cloud's unless overridden (the repository storage resource's ``source_endpoint``, set for the
  offline archive's loopback S3 API). The code path is the same either way.
- ``http``: a plain file server (DWD's ``opendata.dwd.de``), read with obstore's ``HTTPStore``
  (GET and HEAD); listed through its directory index pages (:mod:`vidx_pipeline.http_listing`).
  The S3 endpoint override does not apply.
- ``local``: a local directory (the default mirror of a short-lived producer archive).
"""

from __future__ import annotations

from pathlib import Path

import icechunk
from obstore.store import HTTPStore, LocalStore, ObjectStore, S3Store

from vidx_pipeline.spec import HttpStoreSpec, LocalStoreSpec, ObjectStoreSpec

StoreSpecs = ObjectStoreSpec | HttpStoreSpec | LocalStoreSpec


def open_source_store(spec: StoreSpecs, endpoint: str | None = None) -> ObjectStore:
    """An obstore store for ``spec``. Public buckets are read unsigned; private ones take
    credentials from the environment. ``endpoint`` overrides an S3 store's endpoint only."""
    match spec:
        case ObjectStoreSpec():
            return _s3_store(spec, endpoint)
        case HttpStoreSpec():
            client_options = {"allow_http": True} if spec.base_url.startswith("http://") else None
            return HTTPStore.from_url(spec.base_url, client_options=client_options)  # type: ignore[arg-type]
        case LocalStoreSpec():
            Path(spec.root).mkdir(parents=True, exist_ok=True)
            return LocalStore(spec.root)


def _s3_store(spec: ObjectStoreSpec, endpoint: str | None) -> S3Store:
    options: dict[str, object] = {"region": spec.region}
    if endpoint:
        options["endpoint"] = endpoint
        options["virtual_hosted_style_request"] = False
    if spec.anonymous:
        options["skip_signature"] = True
    client_options = {"allow_http": True} if endpoint and endpoint.startswith("http://") else None
    return S3Store(spec.bucket, client_options=client_options, **options)  # type: ignore[arg-type]


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
