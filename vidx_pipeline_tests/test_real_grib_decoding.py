"""Real producer GRIB2 files read through virtual Icechunk refs decode exactly as ecCodes does.

Each file is served by a loopback S3 API, every message becomes one virtual chunk of its own
array (decoded at read time by gribberish's Zarr codec), the repository is committed, reopened
read-only with the container credentials readers use, and read with zarr and with xarray. The
result must equal ecCodes' decode of the same message bytes, NaN mask included.
"""

from __future__ import annotations

import bz2
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gribberish
import icechunk
import numpy as np
import obstore
import pytest
import xarray as xr
import zarr
from gribberish.zarr import GribberishCodec
from obstore.store import S3Store
from zarr.codecs.numcodecs import BZ2

from vidx_offline.reference_decode import eccodes_decode, eccodes_message_ranges
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.index_formats.base import SourceObject
from vidx_pipeline.source_store import container_credentials, virtual_chunk_container
from vidx_pipeline.spec import ObjectStoreSpec

GRIB = Path(__file__).parent / "fixtures" / "real" / "grib"
BUCKET = "real-grib"
SPEC = ObjectStoreSpec(bucket=BUCKET, anonymous=True)
LATLON = ("time", "latitude", "longitude")
PROJECTED = ("time", "y", "x")


# --------------------------------------------------------------------------------------------
# Helpers


@dataclass(frozen=True)
class Served:
    """The loopback S3 API with the test bucket created, and a signed store to upload with."""

    s3: LocalS3
    store: S3Store


@dataclass(frozen=True)
class Message:
    """One GRIB message to expose as a single-chunk array: its byte range in the served object
    and the bytes ecCodes decodes for the expected values (decompressed for bz2 objects)."""

    name: str
    offset: int
    length: int
    grib: bytes


def scan_messages(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every GRIB message in ``path``, as ecCodes finds them."""
    return eccodes_message_ranges(path)


def upload(served: Served, key: str, data: bytes) -> dt.datetime:
    """Put ``data`` at ``key`` and return the checksum a ref to it must carry: the object's
    last-modified as the server reports it, rounded up to the whole second by the pipeline's own
    rule (``SourceObject.last_modified_checksum``)."""
    obstore.put(served.store, key, data)
    meta = obstore.head(served.store, key)
    listed = SourceObject(key, meta["size"], meta["last_modified"], meta.get("e_tag"))
    return listed.last_modified_checksum()


def create_virtual_repo(
    path: Path,
    served: Served,
    key: str,
    checksum: dt.datetime,
    messages: list[Message],
    dims: tuple[str, str, str],
    compressors: list[object] | None = None,
    north_up: bool = False,
) -> None:
    """A committed repository with one (1, ny, nx) array per message, its only chunk a virtual
    ref into ``s3://BUCKET/key`` validated against the repository's container. ``compressors``
    undo any whole-object compression before the gribberish serializer decodes the message."""
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(virtual_chunk_container(SPEC, served.s3.endpoint))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)), config=config)
    session = repo.writable_session("main")
    group = zarr.open_group(session.store, mode="w")
    for message in messages:
        ny, nx = eccodes_decode(message.grib).shape
        group.create_array(
            message.name,
            shape=(1, ny, nx),
            chunks=(1, ny, nx),
            dtype="float32",
            fill_value=np.nan,
            serializer=GribberishCodec(var=message.name, north_up=north_up),
            compressors=compressors,
            dimension_names=list(dims),
        )
        ref = icechunk.VirtualChunkSpec(
            index=[0, 0, 0],
            location=f"s3://{BUCKET}/{key}",
            offset=message.offset,
            length=message.length,
            last_updated_at_checksum=checksum,
        )
        failed = session.store.set_virtual_refs(message.name, [ref], validate_containers=True)
        assert failed is None, f"{message.name}: ref outside every virtual chunk container"
    session.commit(f"virtual refs into s3://{BUCKET}/{key}")


def open_readonly(path: Path) -> icechunk.Session:
    """The committed repository reopened read-only, authorized as readers are."""
    credentials = icechunk.containers_credentials({SPEC.url_prefix: container_credentials(SPEC)})
    repo = icechunk.Repository.open(
        icechunk.local_filesystem_storage(str(path)),
        authorize_virtual_chunk_access=credentials,
    )
    return repo.readonly_session("main")


def assert_same_as_eccodes(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Equal to float32 precision, with identical NaN masks."""
    assert actual.shape == expected.shape, what
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{what}: NaN mask")
    np.testing.assert_allclose(actual, expected, rtol=1e-6, equal_nan=True, err_msg=what)


def assert_reads_match(tmp_path: Path, messages: list[Message], dims: tuple[str, ...]) -> None:
    """Read every array with zarr and with xarray and compare both with ecCodes."""
    session = open_readonly(tmp_path)
    dataset = xr.open_zarr(session.store, consolidated=False)
    assert sorted(dataset.data_vars) == sorted(m.name for m in messages)
    for message in messages:
        expected = eccodes_decode(message.grib)[np.newaxis]
        array = zarr.open_array(session.store, path=message.name, mode="r")
        assert_same_as_eccodes(array[...], expected, f"zarr {message.name}")
        variable = dataset[message.name]
        assert variable.dims == dims
        assert_same_as_eccodes(variable.values, expected, f"xarray {message.name}")


def scanned_messages(path: Path, names: list[str]) -> list[Message]:
    """The messages of an uncompressed file, located by the ecCodes scan and named in order."""
    data = path.read_bytes()
    ranges = scan_messages(path)
    assert len(ranges) == len(names), f"{path.name}: {len(ranges)} messages"
    return [
        Message(name, offset, length, data[offset : offset + length])
        for name, (offset, length) in zip(names, ranges, strict=True)
    ]


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One loopback S3 API for the module, with a public-read bucket like the producers'."""
    with running_s3_server() as s3:
        s3.create_bucket(BUCKET, public_read=True)
        yield Served(s3, s3.store(BUCKET))


# --------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize(
    ("file", "names", "dims"),
    [
        pytest.param(
            "gfs.0p25.2023121906.f001.grib2",
            ["t_900hPa", "u_900hPa", "u_50m"],
            LATLON,
            id="gfs-0p25-template-5.3",
        ),
        pytest.param(
            "hrrr.t06z.wrfsfcf01-TMP.grib2",
            ["t_surface"],
            PROJECTED,
            id="hrrr-lambert-template-5.3",
        ),
        pytest.param(
            "ecmwf-ifs-oper-surface.grib2",
            ["asn", "ptype", "rsn", "sd", "tcc"],
            LATLON,
            id="ifs-ccsds",
        ),
    ],
)
def test_scanned_file_decodes_like_eccodes(
    served: Served, tmp_path: Path, file: str, names: list[str], dims: tuple[str, str, str]
) -> None:
    path = GRIB / file
    messages = scanned_messages(path, names)
    checksum = upload(served, file, path.read_bytes())
    create_virtual_repo(tmp_path, served, file, checksum, messages, dims)
    assert_reads_match(tmp_path, messages, dims)


def test_gfswave_jpeg2000_with_bitmap_via_its_real_idx(served: Served, tmp_path: Path) -> None:
    path = GRIB / "gfswave.t18z.atlocn.0p16.f001.grib2"
    data = path.read_bytes()
    idx = (GRIB / f"{path.name}.idx").read_text()
    entries = gribberish.parse_grib_index(idx, file_size=len(data))
    assert len(entries) == 19
    assert [(e.offset, e.length) for e in entries] == scan_messages(path)
    messages = [
        Message(
            f"{e.var}_{e.message_number:02d}",
            e.offset,
            e.length,
            data[e.offset : e.offset + e.length],
        )
        for e in entries
    ]
    masks = [np.isnan(eccodes_decode(m.grib)) for m in messages]
    assert all(0 < mask.sum() < mask.size for mask in masks), "every message has a land bitmap"

    checksum = upload(served, path.name, data)
    create_virtual_repo(tmp_path, served, path.name, checksum, messages, LATLON)
    assert_reads_match(tmp_path, messages, LATLON)


def test_icon_eu_bz2_object_decodes_through_a_bz2_compressor(
    served: Served, tmp_path: Path
) -> None:
    path = GRIB / "icon-eu_europe_regular-lat-lon_single-level_2020062300_000_T_2M.grib2.bz2"
    compressed = path.read_bytes()
    message = Message("t_2m", 0, len(compressed), bz2.decompress(compressed))

    checksum = upload(served, path.name, compressed)
    create_virtual_repo(
        tmp_path, served, path.name, checksum, [message], LATLON, compressors=[BZ2()]
    )
    assert_reads_match(tmp_path, [message], LATLON)


def test_hrrr_north_up_flips_the_south_first_rows(served: Served, tmp_path: Path) -> None:
    """HRRR scans south to north (jScansPositively=1); ``north_up`` must reverse the rows."""
    path = GRIB / "hrrr.t06z.wrfsfcf01-TMP.grib2"
    messages = scanned_messages(path, ["t_surface"])
    checksum = upload(served, path.name, path.read_bytes())
    create_virtual_repo(tmp_path, served, path.name, checksum, messages, PROJECTED, north_up=True)

    actual = zarr.open_array(open_readonly(tmp_path).store, path="t_surface", mode="r")[...]
    expected = eccodes_decode(messages[0].grib)[np.newaxis]
    assert_same_as_eccodes(actual, expected[:, ::-1, :], "north_up t_surface")


def test_ref_older_than_the_object_is_refused(served: Served, tmp_path: Path) -> None:
    """A checksum even one second older than the object's last-modified is stale: icechunk must
    refuse the chunk rather than decode bytes that may have changed. Truncating a sub-second
    last-modified instead of rounding it up produces exactly such a checksum."""
    path = GRIB / "gfswave.t18z.atlocn.0p16.f001.grib2"
    (offset, length), *_ = scan_messages(path)
    data = path.read_bytes()
    key = f"stale/{path.name}"
    checksum = upload(served, key, data)
    grib = data[offset : offset + length]
    fresh = Message("fresh", offset, length, grib)
    stale = Message("stale", offset, length, grib)
    create_virtual_repo(tmp_path / "fresh", served, key, checksum, [fresh], LATLON)
    older = checksum - dt.timedelta(seconds=1)
    create_virtual_repo(tmp_path / "stale", served, key, older, [stale], LATLON)

    assert_reads_match(tmp_path / "fresh", [fresh], LATLON)
    array = zarr.open_array(open_readonly(tmp_path / "stale").store, path="stale", mode="r")
    refused = re.escape(
        f"checksum of the object owning the virtual chunk has changed (s3://{BUCKET}/{key})"
    )
    with pytest.raises(icechunk.IcechunkError, match=refused):
        array[...]
