"""Maintenance on real repositories: expiry keeps tagged snapshots and the tip, garbage
collection frees what nothing reaches, and maintenance running beside an operational run's
commits (on S3, where nothing serializes them) loses none of them."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import icechunk
import numpy as np
import pytest
import xarray as xr

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.ingest import IngestRun, IngestSettings
from vidx_pipeline.maintenance import MIN_KEEP_MINUTES, MaintenanceSettings, maintain
from vidx_pipeline.repository import DatasetRepository, open_repository, partition_tag
from vidx_pipeline.source_store import open_source_store
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.validation import check_partition_complete, partial_commit_problems
from vidx_pipeline_tests.conftest import new_repository_settings, small_gfs_spec, write_archive

KEPT_VARIABLES = (
    "temperature_2m",
    "pressure_reduced_to_mean_sea_level",
    "cloud_mixing_ratio_hybrid",
    "temperature_isobaric",
    "total_precipitation_surface",
)
"""A few variables, one per kind of level dimension and window: what maintenance races with is
the commits, not how many arrays each touches (all ~200 made each commit on the loopback S3 API
take seconds, and the test minutes)."""
_EVERY_VARIABLE = small_gfs_spec(lead_hours=(0, 1, 2, 3))
SPEC = DatasetSpec.model_validate(
    {
        **_EVERY_VARIABLE.model_dump(),
        "variables": [v for v in _EVERY_VARIABLE.variables if v.name in KEPT_VARIABLES],
    }
)
INITS = [dt.datetime(2025, 11, 21, tzinfo=dt.UTC) + dt.timedelta(hours=6 * i) for i in range(3)]
ONE_COMMIT_PER_FILE = IngestSettings(max_files_per_commit=1)


@pytest.fixture(scope="module")
def published(local_s3: LocalS3) -> list[dt.datetime]:
    write_archive(local_s3, SPEC, INITS)
    return INITS


def _ingest(repository: DatasetRepository, s3: LocalS3, inits: list[dt.datetime]) -> None:
    store = open_source_store(SPEC.source.store, s3.endpoint)
    IngestRun(SPEC, repository, store, inits, ONE_COMMIT_PER_FILE).run()


def _values(session: icechunk.Session) -> dict[str, np.ndarray]:
    ds = xr.open_zarr(session.store, consolidated=False)
    ds = ds.sel(init_time=slice(INITS[0].replace(tzinfo=None), None))
    return {name: ds[name].values for name in ("temperature_2m", "ingested")}


@pytest.mark.slow
def test_expiry_keeps_tags_and_the_tip_and_collection_frees_the_rest(
    tmp_path: Path, s3_env: LocalS3, published: list[dt.datetime]
) -> None:
    settings = new_repository_settings("local", tmp_path, s3_env, "unused")
    repository = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint)
    for init in published:
        _ingest(repository, s3_env, [init])  # one commit per file: 4 per partition
    repo = repository.repo
    history = len(list(repo.ancestry(branch="main")))
    tags = repo.list_tags()
    assert tags == {partition_tag(SPEC, init) for init in published}
    tagged = {tag: _values(repo.readonly_session(tag=tag)) for tag in tags}
    tip = _values(repo.readonly_session(branch="main"))
    old_session = repo.readonly_session(snapshot_id=list(repo.ancestry(branch="main"))[3].id)

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)  # every object is old by then
    report = maintain(repository, later, MaintenanceSettings())

    assert report.snapshots_expired > 0
    assert report.snapshots_deleted > 0
    assert report.manifests_deleted > 0
    assert report.tags == len(tags)
    assert len(list(repo.ancestry(branch="main"))) < history
    assert repo.list_tags() == tags  # expiry never removes a tag
    for tag, values in tagged.items():
        for name, array in _values(repo.readonly_session(tag=tag)).items():
            np.testing.assert_array_equal(array, values[name], err_msg=f"{tag} {name}")
    for name, array in _values(repo.readonly_session(branch="main")).items():
        np.testing.assert_array_equal(array, tip[name], err_msg=name)
    # A reader still holding a collected snapshot gets Icechunk's error, never other data.
    with pytest.raises(Exception, match=r"(?i)not found|does not exist|missing|404"):
        _values(old_session)
    # Nothing is left to collect on a second pass.
    assert maintain(repository, later, MaintenanceSettings()).snapshots_deleted == 0


@pytest.mark.slow
def test_maintenance_beside_operational_commits_on_s3_loses_none_of_them(
    tmp_path: Path, s3_env: LocalS3, published: list[dt.datetime]
) -> None:
    settings = new_repository_settings("s3", tmp_path, s3_env, "vidx-maintenance")
    repository = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint)
    writer_done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            _ingest(repository, s3_env, published)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            writer_done.set()

    # Expire everything but the newest instant, with the shortest age guard allowed.
    aggressive = MaintenanceSettings(
        expire_after_hours=1e-6, keep_objects_younger_than_minutes=MIN_KEEP_MINUTES
    )
    maintainer = open_repository(SPEC, settings, source_endpoint=s3_env.endpoint, create=False)
    writer = threading.Thread(target=write)
    writer.start()
    passes = 0
    while not writer_done.is_set() or passes == 0:
        maintain(maintainer, dt.datetime.now(dt.UTC), aggressive)
        passes += 1
    writer.join()
    assert errors == []
    assert passes > 1

    for init in published:
        assert partial_commit_problems(repository, init) == [], init
        report = check_partition_complete(repository, init)
        assert report.passed, (init, report.files_ingested, report.absent_refs[:5])
        tag = partition_tag(SPEC, init)
        values = _values(repository.repo.readonly_session(tag=tag))
        assert values["ingested"][INITS.index(init)].all()


def test_an_age_guard_shorter_than_a_commit_could_take_is_refused() -> None:
    with pytest.raises(ValueError, match="keep_objects_younger_than_minutes"):
        MaintenanceSettings(keep_objects_younger_than_minutes=1)
