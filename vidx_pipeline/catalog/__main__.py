"""``python -m vidx_pipeline.catalog list [--json]`` (see :mod:`vidx_pipeline.catalog.cli`)."""

import sys

from vidx_pipeline.catalog.cli import main

sys.exit(main())
