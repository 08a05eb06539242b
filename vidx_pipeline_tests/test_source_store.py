"""Source stores: an HTTP producer's base URL with a path is read at exactly its keys' paths."""

from pathlib import Path

import obstore
import pytest

from vidx_offline.http_server import running_http_server
from vidx_pipeline.http_listing import list_http_partition
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import HttpStoreSpec

KEY = "nwp/icon-eu/grib/00/t_2m/a.grib2.bz2"
DATA = b"GRIB-ish bytes of one object"


@pytest.mark.parametrize("endpoint_override", [False, True])
def test_http_base_url_with_a_path(tmp_path: Path, endpoint_override: bool) -> None:
    path = tmp_path / "weather" / KEY
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA)
    with running_http_server(tmp_path) as served:
        if endpoint_override:  # the producer's own URL, served from the loopback server
            spec = HttpStoreSpec(base_url="https://opendata.dwd.de/weather/")
            store = open_source_store(spec, http_endpoint=served.base_url)
        else:
            spec = HttpStoreSpec(base_url=served.base_url + "weather/")
            store = open_source_store(spec)
        assert bytes(obstore.get(store, KEY).bytes()) == DATA
        assert bytes(obstore.get_range(store, KEY, start=4, end=8)) == DATA[4:8]
        assert obstore.head(store, KEY)["size"] == len(DATA)
        listed = list_http_partition(store, [KEY])
        assert listed[KEY].size == len(DATA)
        object_requests = [p for method, p in served.requests if not p.endswith("/")]
        assert object_requests
        assert set(object_requests) == {"/weather/" + KEY}, served.requests
