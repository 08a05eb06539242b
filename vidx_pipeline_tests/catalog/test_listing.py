"""The catalog's listing: what is published where, read from the repositories themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zarr

from vidx_offline.s3_server import LocalS3
from vidx_pipeline.catalog import catalog_entries
from vidx_pipeline.catalog.cli import main
from vidx_pipeline.checks.currency import newest_complete
from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.source_files import expected_files
from vidx_pipeline_tests.catalog.conftest import INITS, SPEC, Published


def test_entries_come_from_the_repositories(published_local: Published) -> None:
    entries = {e.dataset_id: e for e in catalog_entries(locations=published_local.locations)}
    assert entries.keys() == DATASETS.keys()

    gfs = entries["noaa-gfs-forecast"]
    assert gfs.status == "published"
    assert gfs.location == published_local.repository.location
    # The newest init is ingested but partial: the newest complete one is the one before.
    assert gfs.newest_complete == INITS[1]
    # The repository's dims (the test's small grid), not the registered spec's 721 x 1440.
    assert (gfs.dims["latitude"], gfs.dims["longitude"]) == SPEC.grid.shape
    assert gfs.dims["init_time"] == SPEC.append_dimension.index_of(INITS[-1]) + 1
    assert gfs.variables == len(SPEC.variables)

    # The same partition the currency check calls newest complete.
    session = published_local.repository.readonly_session()
    position = newest_complete(
        zarr.open_group(session.store, mode="r"), len(expected_files(SPEC, INITS[0]))
    )
    assert position is not None
    assert SPEC.append_dimension.value_at(position) == gfs.newest_complete

    root = Path(published_local.locations.repository.local_root)
    for dataset_id, entry in entries.items():
        if dataset_id == "noaa-gfs-forecast":
            continue
        assert entry.status == "absent"
        assert entry.newest_complete is None
        assert entry.location == str(root / dataset_id)
        assert entry.variables == len(DATASETS[dataset_id].variables)
        assert entry.dims[DATASETS[dataset_id].append_dimension.name] == 0
        assert not (root / dataset_id).exists(), "listing created a repository"


def test_list_prints_every_dataset(
    published_local: Published,
    local_s3: LocalS3,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in published_local.env(local_s3).items():
        monkeypatch.setenv(key, value)
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    blocks = {block.split()[0]: block for block in text.split("\n") if block and block[0] != " "}
    assert blocks.keys() == DATASETS.keys()
    assert "(no repository yet)" not in blocks["noaa-gfs-forecast"]
    assert all("(no repository yet)" in blocks[d] for d in DATASETS if d != "noaa-gfs-forecast")
    assert "newest complete partition: 2023-03-07T06:00Z" in text
    assert f"variables: {len(SPEC.variables)}" in text
    assert f"latitude={SPEC.grid.shape[0]}, longitude={SPEC.grid.shape[1]}" in text

    assert main(["list", "--json"]) == 0
    listed = {e["dataset_id"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed.keys() == DATASETS.keys()
    gfs = listed["noaa-gfs-forecast"]
    assert gfs["status"] == "published"
    assert gfs["newest_complete"] == "2023-03-07T06:00:00Z"
    assert gfs["location"] == published_local.repository.location
    assert {listed[d]["status"] for d in DATASETS if d != "noaa-gfs-forecast"} == {"absent"}
