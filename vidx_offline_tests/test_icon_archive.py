"""The offline ICON-EU archive: DWD's file names, one bz2-compressed ecCodes message per file as
DWD encodes it (centre 78, its parameter, level, grid, step and packing), modification times
served as ``Last-Modified`` and autoindex rows by the loopback HTTP server."""

from __future__ import annotations

import bz2
import datetime as dt
import email.utils
import urllib.request
from pathlib import Path

import eccodes
import pytest

from vidx_offline.http_server import running_http_server
from vidx_offline.icon_archive import IconField, icon_key, write_icon_archive
from vidx_offline.reference_decode import eccodes_decode
from vidx_pipeline.autoindex import parse_autoindex

INIT = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
PUBLISHED = dt.datetime(2026, 11, 30, 8, 41, 17, tzinfo=dt.UTC)
REAL_NAME = "icon-eu_europe_regular-lat-lon_single-level_2020062300_000_T_2M.grib2.bz2"


def _keys(message: bytes, *names: str) -> list[object]:
    gid = eccodes.codes_new_from_message(message)
    try:
        return [eccodes.codes_get(gid, name) for name in names]
    finally:
        eccodes.codes_release(gid)


def test_keys_are_dwds_own_file_names() -> None:
    key = icon_key(IconField("T_2M"), dt.datetime(2020, 6, 23, tzinfo=dt.UTC), 0)
    assert key == f"weather/nwp/icon-eu/grib/00/t_2m/{REAL_NAME}"  # the real file's name
    assert icon_key(IconField("RELHUM", 850), INIT, 117) == (
        "weather/nwp/icon-eu/grib/06/relhum/"
        "icon-eu_europe_regular-lat-lon_pressure-level_2026113006_117_850_RELHUM.grib2.bz2"
    )


@pytest.mark.parametrize("packing", ["grid_simple", "grid_ccsds"])
def test_each_file_is_one_compressed_message_as_dwd_encodes_it(
    tmp_path: Path, packing: str
) -> None:
    fields = (IconField("T_2M"), IconField("TOT_PREC"), IconField("T", 500))
    written = write_icon_archive(
        tmp_path,
        (INIT,),
        (0, 3),
        fields=fields,
        shape=(9, 13),
        packing=packing,  # type: ignore[arg-type]
    )
    assert len(written) == 6
    for file in written:
        data = (tmp_path / file.key).read_bytes()
        assert len(data) == file.size
        assert bz2.decompress(data) == file.grib
        centre, short, packed, ni, nj, lat1, lon1, lat2, lon2, scan = _keys(
            file.grib,
            "centre",
            "shortName",
            "packingType",
            "Ni",
            "Nj",
            "latitudeOfFirstGridPointInDegrees",
            "longitudeOfFirstGridPointInDegrees",
            "latitudeOfLastGridPointInDegrees",
            "longitudeOfLastGridPointInDegrees",
            "jScansPositively",
        )
        assert (centre, packed, ni, nj, scan) == ("edzw", packing, 13, 9, 1)
        assert (lat1, lon1, lat2, lon2) == (29.5, 336.5, 70.5, 45.0)
        assert eccodes_decode(file.grib).shape == (9, 13)
        expected_short = {"T_2M": "2t", "TOT_PREC": "tp", "T": "t"}[file.field.param]
        assert short == expected_short
    (tot_prec_3,) = [f for f in written if f.field.param == "TOT_PREC" and f.lead_hours == 3]
    assert _keys(
        tot_prec_3.grib, "indicatorOfUnitOfTimeRange", "forecastTime", "lengthOfTimeRange"
    ) == [0, 0, 180]  # minutes, the window from the start of the forecast
    (t500,) = [f for f in written if f.field.level_hpa == 500 and f.lead_hours == 0]
    assert _keys(t500.grib, "typeOfFirstFixedSurface", "level") == ["pl", 500]  # 100: isobaric


def test_the_server_sends_the_files_times_and_lists_them(tmp_path: Path) -> None:
    root = tmp_path / "opendata"
    (file,) = write_icon_archive(
        root, (INIT,), (0,), fields=(IconField("T_2M"),), shape=(3, 4), published=PUBLISHED
    )
    with running_http_server(root) as http:
        request = urllib.request.Request(http.base_url + file.key, method="HEAD")
        with urllib.request.urlopen(request) as response:
            modified = email.utils.parsedate_to_datetime(response.headers["Last-Modified"])
            assert int(response.headers["Content-Length"]) == file.size
        assert modified == PUBLISHED
        ranged = urllib.request.Request(http.base_url + file.key, headers={"Range": "bytes=2-9"})
        with urllib.request.urlopen(ranged) as response:
            assert response.status == 206
            assert response.read() == (root / file.key).read_bytes()[2:10]
        directory = file.key.rpartition("/")[0]
        with urllib.request.urlopen(f"{http.base_url}{directory}/") as response:
            page = response.read().decode()
    (row,) = parse_autoindex(page, url=directory)
    assert row.name == file.key.rpartition("/")[2]
    assert row.size == file.size
    assert row.modified == PUBLISHED.replace(second=0)
    assert "..&gt;" in page  # nginx cuts long names in the link text
