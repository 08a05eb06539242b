"""Producer buckets, opened for reading: obstore for listing and index GETs, icechunk's virtual
chunk container config for reading the referenced GRIB messages.

The bucket and region come from the dataset spec; the endpoint is the cloud's unless overridden
(the repository storage resource's ``source_endpoint``, set for the offline archive's loopback
S3 API). The code path is the same
either way.
"""

from __future__ import annotations

import icechunk
from obstore.store import S3Store

from vidx_pipeline.spec import ObjectStoreSpec


def open_source_store(spec: ObjectStoreSpec, endpoint: str | None = None) -> S3Store:
    """An obstore S3 store for the producer's bucket. Public buckets are read unsigned; private
    ones take credentials from the environment."""
    options: dict[str, object] = {"region": spec.region}
    if endpoint:
        options["endpoint"] = endpoint
        options["virtual_hosted_style_request"] = False
    if spec.anonymous:
        options["skip_signature"] = True
    client_options = {"allow_http": True} if endpoint and endpoint.startswith("http://") else None
    return S3Store(spec.bucket, client_options=client_options, **options)  # type: ignore[arg-type]


def virtual_chunk_container(
    spec: ObjectStoreSpec, endpoint: str | None = None
) -> icechunk.VirtualChunkContainer:
    """The container a repository needs to hold refs into ``spec``'s bucket."""
    store_config = icechunk.s3_store(
        region=spec.region,
        endpoint_url=endpoint,
        allow_http=bool(endpoint and endpoint.startswith("http://")),
        force_path_style=endpoint is not None,
        anonymous=spec.anonymous,
    )
    return icechunk.VirtualChunkContainer(spec.url_prefix, store_config)


def container_credentials(spec: ObjectStoreSpec) -> icechunk.AnyS3Credential:
    """What readers authorize the container with: unsigned for public buckets."""
    if spec.anonymous:
        return icechunk.s3_anonymous_credentials()
    return icechunk.s3_from_env_credentials()
