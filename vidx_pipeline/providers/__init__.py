"""The registry of providers: producer-specific modules that place messages in a dataset. The
core finds a dataset's provider here by the name its spec gives (``DatasetSpec.provider``)."""

from __future__ import annotations

from vidx_pipeline.provider import Provider
from vidx_pipeline.providers import dwd, ecmwf, noaa

PROVIDERS: dict[str, Provider] = {
    module.PROVIDER.name: module.PROVIDER for module in (noaa, ecmwf, dwd)
}


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {sorted(PROVIDERS)}") from None
