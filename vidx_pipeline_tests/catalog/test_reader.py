"""open_dataset reads what the pipeline wrote, on disk and on S3, as the writer's own reader and
ecCodes do; versions are chosen by branch, tag, snapshot or time."""

from __future__ import annotations

import datetime as dt

import icechunk
import numpy as np
import pytest
import xarray as xr

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.catalog import (
    UnauthorizedContainerError,
    VersionNotFoundError,
    VersionSelectionError,
    open_dataset,
    open_published,
)
from vidx_pipeline.locations import Locations
from vidx_pipeline.repository import RepositorySettings, repository_config
from vidx_pipeline_tests.catalog.conftest import INITS, SPEC, Published

LEAD = 5
FIELD = ("temperature_2m", "TMP", "2 m above ground")


def _writer_view(
    published: Published, *, branch: str | None = None, tag: str | None = None
) -> xr.Dataset:
    """What the writer's own handle on the repository reads."""
    session = published.repository.repo.readonly_session(branch=branch, tag=tag)
    return xr.open_zarr(session.store, consolidated=False)


def _chunk(ds: xr.Dataset, init: dt.datetime, lead: int = LEAD) -> np.ndarray:
    name, _, _ = FIELD
    return (
        ds[name]
        .sel(
            init_time=np.datetime64(init.replace(tzinfo=None)), lead_time=np.timedelta64(lead, "h")
        )
        .values
    )


def _assert_reads_the_published_message(ds: xr.Dataset, published: Published) -> None:
    _, element, level = FIELD
    for init in INITS[:2]:
        got = _chunk(ds, init)
        np.testing.assert_allclose(
            got, published.message_values(init, LEAD, element, level), rtol=1e-6
        )
        np.testing.assert_array_equal(got, _chunk(_writer_view(published, branch="main"), init))


def test_opens_a_local_repository_from_the_environment(
    published_local: Published, local_s3: LocalS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in published_local.env(local_s3).items():
        monkeypatch.setenv(key, value)
    ds = open_dataset("noaa-gfs-forecast")
    assert _inits(ds) == list(INITS)
    _assert_reads_the_published_message(ds, published_local)
    # Lazy: nothing but coordinates was read, and no dask.
    assert ds[FIELD[0]].chunks is None


def test_opens_an_s3_repository_from_the_environment(
    published_s3: Published, local_s3: LocalS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in published_s3.env(local_s3).items():
        monkeypatch.setenv(key, value)
    _assert_reads_the_published_message(open_dataset("noaa-gfs-forecast"), published_s3)


def test_reads_through_the_configured_source_endpoint_only(
    published_local: Published, local_s3: LocalS3
) -> None:
    """Without the loopback endpoint the producer's bucket is the cloud's, unreachable here:
    the reader honours VIDX_S3_ENDPOINT rather than what the writer stored."""
    elsewhere = Locations(
        repository=published_local.locations.repository, source_endpoint="http://127.0.0.1:9"
    )
    ds = open_dataset("noaa-gfs-forecast", locations=elsewhere)
    with pytest.raises(icechunk.StorageError, match=r"virtual reference.*Connection refused"):
        _chunk(ds, INITS[0])


def test_a_missing_repository_is_named(tmp_path) -> None:
    nowhere = Locations(repository=RepositorySettings(local_root=str(tmp_path / "none")))
    with pytest.raises(FileNotFoundError, match="noaa-gfs-forecast"):
        open_dataset("noaa-gfs-forecast", locations=nowhere)
    assert not (tmp_path / "none").exists()


def test_an_unknown_dataset_is_named(published_local: Published) -> None:
    with pytest.raises(KeyError, match="no-such-dataset"):
        open_dataset("no-such-dataset", locations=published_local.locations)


def _inits(ds: xr.Dataset) -> list[dt.datetime]:
    """The inits with refs in ``ds`` (any file flagged ingested); the append dimension ends at
    the newest."""
    flagged = ds.ingested.any("lead_time").values
    assert flagged[-1], "init_time runs past the newest init ingested"
    return [
        dt.datetime.fromisoformat(str(v.astype("datetime64[s]"))).replace(tzinfo=dt.UTC)
        for v in ds.init_time.values[flagged]
    ]


def test_selects_a_tag_a_snapshot_a_branch_or_a_time(published_local: Published) -> None:
    repo = published_local.repository.repo
    first, second, _ = published_local.commits
    assert first.snapshot_id is not None
    assert second.snapshot_id is not None
    tag = f"after-{first.snapshot_id.lower()}"
    repo.create_tag(tag, first.snapshot_id)
    branch = f"review-{second.snapshot_id.lower()}"
    repo.create_branch(branch, second.snapshot_id)
    (snapshot,) = [s for s in repo.ancestry(branch="main") if s.id == second.snapshot_id]
    where = published_local.locations

    assert _inits(open_dataset("noaa-gfs-forecast", locations=where)) == list(INITS)
    by_tag = open_dataset("noaa-gfs-forecast", tag=tag, locations=where)
    assert _inits(by_tag) == [INITS[0]]
    by_snapshot = open_dataset("noaa-gfs-forecast", snapshot_id=first.snapshot_id, locations=where)
    assert _inits(by_snapshot) == [INITS[0]]
    assert _inits(open_dataset("noaa-gfs-forecast", branch=branch, locations=where)) == list(
        INITS[:2]
    )
    as_of = open_dataset("noaa-gfs-forecast", as_of=snapshot.written_at, locations=where)
    assert _inits(as_of) == list(INITS[:2])
    # The selected version's chunk is the one that version's own session holds.
    np.testing.assert_array_equal(
        _chunk(by_tag, INITS[0]), _chunk(_writer_view(published_local, tag=tag), INITS[0])
    )


def test_version_errors_are_specific(published_local: Published) -> None:
    where = published_local.locations
    with pytest.raises(VersionSelectionError, match="tag and snapshot_id"):
        open_dataset("noaa-gfs-forecast", tag="a", snapshot_id="b", locations=where)
    with pytest.raises(VersionSelectionError, match="timezone-aware"):
        open_dataset("noaa-gfs-forecast", as_of=dt.datetime(2030, 1, 1), locations=where)
    with pytest.raises(VersionNotFoundError, match=r"noaa-gfs-forecast has no tag 'no-such-tag'"):
        open_dataset("noaa-gfs-forecast", tag="no-such-tag", locations=where)
    with pytest.raises(VersionNotFoundError, match="as of 2000"):
        open_dataset(
            "noaa-gfs-forecast", as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), locations=where
        )
    with pytest.raises(VersionNotFoundError, match="snapshot"):
        open_dataset("noaa-gfs-forecast", snapshot_id="not-an-id", locations=where)


def test_a_container_the_spec_does_not_name_is_refused(tmp_path, local_s3: LocalS3) -> None:
    """A repository whose stored config holds refs' containers beyond the spec's would give
    reads the reader is not authorized for: refused at open, naming them."""
    spec = SPEC
    settings = RepositorySettings(local_root=str(tmp_path))
    config = repository_config(spec, local_s3.endpoint)
    config.set_virtual_chunk_container(
        icechunk.VirtualChunkContainer(
            "s3://another-bucket/", icechunk.s3_store(region="us-east-1")
        )
    )
    repo = icechunk.Repository.create(settings.storage(spec.dataset_id), config=config)
    repo.save_config()
    where = Locations(repository=settings, source_endpoint=local_s3.endpoint)
    with pytest.raises(UnauthorizedContainerError, match="s3://another-bucket/"):
        open_published(spec, where)
