"""The code location the deployment tests load in Dagster's own processes (daemon, code server,
run workers): the production wiring (:func:`~vidx_pipeline.definitions.build_definitions`,
resources from ``EnvVar``) on the tests' small GFS spec, whose producer bucket is
``VIDX_E2E_SOURCE_BUCKET`` (a bucket of the test's own on the loopback S3 API)."""

import os

from vidx_pipeline.definitions import build_definitions
from vidx_pipeline_tests.conftest import small_gfs_spec

SOURCE_BUCKET_ENV_VAR = "VIDX_E2E_SOURCE_BUCKET"
DEFAULT_SOURCE_BUCKET = "gfs-deploy-test"

defs = build_definitions(
    [small_gfs_spec(bucket=os.environ.get(SOURCE_BUCKET_ENV_VAR, DEFAULT_SOURCE_BUCKET))]
)
