"""Listing an HTTP file server: nginx and Apache autoindex pages are parsed from their hrefs
(never nginx's truncated link text), a page whose rows lose their times is refused naming it,
a partition listed over a real loopback server holds exactly its own listed keys with the
size and last-modified (to the second) the server sends for each object, and a page row
describes exactly the versions the server would print so (its UTC minute; its size in bytes or
as Apache and nginx round it)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from obstore.store import HTTPStore

from vidx_offline.http_server import running_http_server
from vidx_pipeline.autoindex import AutoindexError, parse_autoindex
from vidx_pipeline.http_listing import list_http_partition, row_describes, size_agrees

LONG = "icon-eu_europe_regular-lat-lon_single-level_2026113006_000_T_2M.grib2.bz2"
NGINX_PAGE = f"""<html>
<head><title>Index of /weather/nwp/icon-eu/grib/06/t_2m/</title></head>
<body>
<h1>Index of /weather/nwp/icon-eu/grib/06/t_2m/</h1><hr><pre><a href="../">../</a>
<a href="{LONG}">icon-eu_europe_regular-lat-lon_single-level_2026..&gt;</a> 30-Nov-2026 08:41             1441664
<a href="sub%20dir/">sub dir/</a>                                           29-Nov-2026 23:05                   -
</pre><hr></body>
</html>
"""  # noqa: E501 - nginx's own line layout

APACHE_PAGE = f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /grib</title></head><body><h1>Index of /grib</h1>
<table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>
<th><a href="?C=S;O=A">Size</a></th></tr>
<tr><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td><a href="{LONG}">{LONG}</a></td><td align="right">2026-11-30 08:41  </td><td align="right">1.4M</td></tr>
<tr><td><a href="small.idx">small.idx</a></td><td align="right">2026-11-30 08:42  </td><td align="right">530 </td></tr>
</table></body></html>
"""  # noqa: E501 - Apache's own line layout


def test_an_nginx_page_names_each_entry_by_its_href() -> None:
    rows = parse_autoindex(NGINX_PAGE, url="https://opendata.dwd.de/x/")
    assert [(r.name, r.is_directory, r.size) for r in rows] == [
        (LONG, False, 1441664),
        ("sub dir", True, None),
    ]
    assert rows[0].modified == dt.datetime(2026, 11, 30, 8, 41, tzinfo=dt.UTC)


def test_an_apache_page_skips_sort_and_parent_links() -> None:
    rows = parse_autoindex(APACHE_PAGE, url="http://host/grib/")
    assert [r.name for r in rows] == [LONG, "small.idx"]
    assert rows[0].modified == dt.datetime(2026, 11, 30, 8, 41, tzinfo=dt.UTC)
    assert rows[0].size is not None
    assert 1_400_000 < rows[0].size < 1_500_000
    assert rows[1].size == 530


def test_a_row_without_a_time_is_refused_naming_the_page() -> None:
    page = NGINX_PAGE.replace("30-Nov-2026 08:41", "yesterday")
    with pytest.raises(AutoindexError, match=r"https://opendata\.dwd\.de/x/.*T_2M"):
        parse_autoindex(page, url="https://opendata.dwd.de/x/")


def test_a_partition_lists_its_own_keys_with_the_servers_metadata(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    wanted = ["a/b/one.grib2.bz2", "a/b/two.grib2.bz2", "a/c/three.grib2.bz2", "gone/four.bz2"]
    present = {"a/b/one.grib2.bz2": b"x" * 10, "a/c/three.grib2.bz2": b"y" * 2000}
    others = {"a/b/other.grib2.bz2": b"z", "a/b/one.grib2.bz2.tmp": b"t"}
    stamp = dt.datetime(2026, 11, 30, 8, 41, 17, tzinfo=dt.UTC).timestamp()
    for key, data in {**present, **others}.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
        os.utime(root / key, (stamp, stamp))
    with running_http_server(root) as http:
        store = HTTPStore.from_url(http.base_url, client_options={"allow_http": True})
        listed = list_http_partition(store, wanted)
        assert set(listed) == set(present)  # not the others, not the absent directory
        for key, data in present.items():
            assert listed[key].size == len(data)
            assert listed[key].last_modified == dt.datetime.fromtimestamp(stamp, dt.UTC)
        later = stamp + 120
        (root / "a/c/three.grib2.bz2").write_bytes(b"w" * 2000)  # replaced, same size
        os.utime(root / "a/c/three.grib2.bz2", (later, later))
        relisted = list_http_partition(store, wanted)
        assert relisted["a/c/three.grib2.bz2"].last_modified == dt.datetime.fromtimestamp(
            later, dt.UTC
        )


def test_a_row_describes_the_sizes_and_minute_the_server_would_print() -> None:
    minute = dt.datetime(2026, 11, 30, 8, 41, tzinfo=dt.UTC)
    apache = {r.name: r for r in parse_autoindex(APACHE_PAGE, url="http://host/grib/")}
    nginx = {r.name: r for r in parse_autoindex(NGINX_PAGE, url="https://opendata.dwd.de/x/")}
    at = minute + dt.timedelta(seconds=59)
    assert row_describes(nginx[LONG], 1441664, at)
    assert not row_describes(nginx[LONG], 1441665, at)  # nginx prints bytes: exact
    assert not row_describes(nginx[LONG], 1441664, minute + dt.timedelta(seconds=60))
    assert not row_describes(nginx[LONG], 1441664, minute - dt.timedelta(microseconds=1))
    assert row_describes(nginx[LONG], 1441664, at.astimezone(dt.timezone(dt.timedelta(hours=1))))
    # Apache's "1.4M" is any size APR prints so: 1383 KiB to 1484 KiB and 1023 bytes.
    assert row_describes(apache[LONG], 1441664, at)
    assert row_describes(apache[LONG], 1383 << 10, at)
    assert row_describes(apache[LONG], (1485 << 10) - 1, at)
    assert not row_describes(apache[LONG], (1383 << 10) - 1, at)
    assert not row_describes(apache[LONG], 1485 << 10, at)
    assert row_describes(apache["small.idx"], 530, minute + dt.timedelta(minutes=1))
    assert not row_describes(apache["small.idx"], 531, minute + dt.timedelta(minutes=1))
    # Apache's "12K" and nginx's rounded sizes (autoindex_exact_size off).
    assert size_agrees(12 << 10, 12 * 1024 + 511)
    assert not size_agrees(12 << 10, 12 * 1024 + 512)
    assert size_agrees(3 << 20, 3 * 1024 * 1024 + 10_000)  # nginx "3M" (APR: "3.0M")
    assert size_agrees(None, 123)
