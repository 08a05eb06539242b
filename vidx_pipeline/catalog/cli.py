"""``python -m vidx_pipeline.catalog``: the catalog on the command line.

``list`` prints every registered dataset: status (published, or absent: no repository yet),
location, newest complete partition, number of variables and dims; ``list --json`` prints the
same as one JSON array of :class:`CatalogEntry` objects. Locations come from the ``VIDX_*``
variables and the optional ``VIDX_LOCATIONS_FILE`` (:mod:`vidx_pipeline.locations`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from vidx_pipeline.catalog.listing import CatalogEntry, catalog_entries


def render_text(entries: Sequence[CatalogEntry]) -> str:
    """One block per dataset, for people."""
    blocks = []
    for entry in entries:
        newest = f"{entry.newest_complete:%Y-%m-%dT%H:%M}Z" if entry.newest_complete else "none"
        dims = ", ".join(f"{dim}={size}" for dim, size in entry.dims.items())
        match entry.status:
            case "published":
                head = f"{entry.dataset_id}  {entry.location}"
            case "absent":
                head = f"{entry.dataset_id}  {entry.location}  (no repository yet)"
        blocks.append(
            f"{head}\n"
            f"  name: {entry.name}\n"
            f"  newest complete partition: {newest}\n"
            f"  variables: {entry.variables}\n"
            f"  dims: {dims}"
        )
    return "\n".join(blocks)


def render_json(entries: Sequence[CatalogEntry]) -> str:
    """A JSON array of the entries (times in ISO 8601, UTC)."""
    return json.dumps([entry.model_dump(mode="json") for entry in entries], indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vidx_pipeline.catalog",
        description="The vidx datasets and where they are published.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser(
        "list", help="every registered dataset: location, newest complete partition, dims"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    arguments = parser.parse_args(argv)
    match arguments.command:
        case "list":
            entries = catalog_entries()
            print(render_json(entries) if arguments.json else render_text(entries))
            return 0
    parser.error(f"unknown command {arguments.command!r}")


if __name__ == "__main__":
    sys.exit(main())
