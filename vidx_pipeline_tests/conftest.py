"""Shared fixtures: a real S3 API on loopback, a small GFS spec and archives written into it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import obstore
import pytest

from vidx_offline.gfs_archive import (
    GFS_BUCKET,
    GfsArchiveConfig,
    GfsFile,
    render_gfs_file,
    write_gfs_archive,
)
from vidx_offline.s3_server import LocalS3, running_s3_server
from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.orchestration.resources import ENV_DEFAULTS
from vidx_pipeline.providers.noaa import wgrib2_fields
from vidx_pipeline.repository import RepositorySettings
from vidx_pipeline.spec import (
    DatasetSpec,
    LeadTimeSchedule,
    LeadTimeSegment,
    RegularLatLonGrid,
)

SMALL_GRID = (19, 36)
SMALL_LEADS = tuple(range(8))


def small_gfs_spec(
    lead_hours: Sequence[int] = SMALL_LEADS, bucket: str = "noaa-gfs-bdp-pds"
) -> DatasetSpec:
    """The GFS spec on a 10° grid and a few leads: same variables, layout and index rules.
    Tests that publish cycles near the wall clock's now use a bucket of their own."""
    nlat, nlon = SMALL_GRID
    base = get_dataset("noaa-gfs-forecast")
    source = base.source.model_copy(
        update={"store": base.source.store.model_copy(update={"bucket": bucket})}
    )
    return base.model_copy(
        update={
            "source": source,
            "grid": RegularLatLonGrid(
                nlat=nlat,
                nlon=nlon,
                lat_first=90,
                lat_last=-90,
                lon_first=0,
                lon_last=360 - 360 / nlon,
            ),
            "lead_times": LeadTimeSchedule(
                segments=tuple(
                    LeadTimeSegment(start_hours=h, stop_hours=h, step_hours=1) for h in lead_hours
                )
            ),
        }
    )


def spec_fields(
    spec: DatasetSpec, extra: Sequence[tuple[str, str]] = ()
) -> tuple[tuple[str, str], ...]:
    """The spec's (element, level) pairs, then ``extra`` neighbours, for the archive writer."""
    return tuple(dict.fromkeys([*wgrib2_fields(spec), *extra]))


def write_archive(s3: LocalS3, spec: DatasetSpec, inits: Sequence[dt.datetime]) -> None:
    """Write every file of ``inits`` for ``spec``'s leads, grid and fields into the GFS bucket."""
    config = GfsArchiveConfig(
        init_times=tuple(inits),
        lead_hours=spec.lead_hours,
        grid=spec.grid.shape,
        fields=spec_fields(spec),
    )
    write_gfs_archive(s3.store(GFS_BUCKET), config)


def empty_bucket(s3: LocalS3, bucket: str) -> str:
    """``bucket``, public like the producer's, holding nothing."""
    s3.create_bucket(bucket, public_read=True)
    client = s3.boto3_client()
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    return bucket


def publish_files(s3: LocalS3, bucket: str, files: Sequence[GfsFile]) -> None:
    """Put each file's data, then its index, into ``bucket``."""
    store = s3.store(bucket)
    for file in files:
        obstore.put(store, file.data_key, file.data)
        obstore.put(store, file.index_key, file.index_text.encode())


def new_repository_settings(
    kind: str, tmp_path: Path, s3: LocalS3, bucket: str
) -> RepositorySettings:
    """Where a repository that does not exist yet will live: in ``bucket`` on the loopback S3
    API (a prefix per test), or under ``tmp_path``."""
    if kind == "s3":
        s3.create_bucket(bucket)
        return RepositorySettings(
            kind="s3", bucket=bucket, prefix=f"run-{tmp_path.name}", endpoint=s3.endpoint
        )
    return RepositorySettings(local_root=str(tmp_path / "repositories"))


@pytest.fixture(scope="session")
def local_s3() -> Iterator[LocalS3]:
    with running_s3_server() as s3:
        s3.create_bucket("noaa-gfs-bdp-pds", public_read=True)
        yield s3


@pytest.fixture
def s3_env(local_s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> LocalS3:
    """The code location's environment: local defaults, sources on the loopback S3 API."""
    for key, value in {**ENV_DEFAULTS, **local_s3.env()}.items():
        monkeypatch.setenv(key, value)
    return local_s3


PublishFn = Callable[..., list[GfsFile]]


@pytest.fixture
def publish(local_s3: LocalS3) -> PublishFn:
    """Write GFS files (data, then index) for an init and leads into the local bucket; returns
    the writer's own record of each file. ``edit_index`` may rewrite an index before upload."""
    store = local_s3.store(GFS_BUCKET)

    def _publish(
        init: dt.datetime,
        leads: Sequence[int],
        *,
        grid: tuple[int, int] = SMALL_GRID,
        fields: Sequence[tuple[str, str]] | None = None,
        edit_index: Callable[[int, str], str] | None = None,
        write_index: bool = True,
        bucket: str = "noaa-gfs-bdp-pds",
    ) -> list[GfsFile]:
        target = store if bucket == "noaa-gfs-bdp-pds" else local_s3.store(bucket)

        config = GfsArchiveConfig(
            init_times=(init,),
            # All small leads too, so a field absent at the leads asked for stays valid.
            lead_hours=tuple(sorted({*leads, *SMALL_LEADS})),
            grid=grid,
            fields=tuple(fields) if fields is not None else spec_fields(small_gfs_spec()),
        )
        files = []
        for lead in leads:
            file = render_gfs_file(config, init, lead)
            obstore.put(target, file.data_key, file.data)
            if write_index:
                text = edit_index(lead, file.index_text) if edit_index else file.index_text
                obstore.put(target, file.index_key, text.encode())
            files.append(file)
        return files

    return _publish
