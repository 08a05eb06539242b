"""Structural tests over every registered dataset: a new dataset is tested for free."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import tomllib
from pathlib import Path

import pytest
import setuptools
import zarr
from gribberish.zarr import GribberishCodec

from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.placement import build_table, table_for
from vidx_pipeline.providers import get_provider
from vidx_pipeline.refs import ChunkLocator, expected_slots
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.template import epoch_seconds, grow_append_dimension, write_template

SPECS = list(DATASETS.values())
IDS = list(DATASETS)
PACKAGE = Path(__file__).parents[2] / "vidx_pipeline"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_provider_accepts_the_spec(spec: DatasetSpec) -> None:
    get_provider(spec.provider).check_spec(spec)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_template_arrays_follow_the_spec(spec: DatasetSpec) -> None:
    store = zarr.storage.MemoryStore()
    write_template(spec, store)
    group = zarr.open_group(store, mode="r")
    for variable in spec.variables:
        array = group[variable.name]
        assert isinstance(array, zarr.Array)
        assert array.metadata.dimension_names == spec.variable_dims(variable)  # type: ignore[union-attr]
        assert array.chunks == spec.chunk_shape(variable)
        assert array.shape[0] == 0  # the append dimension starts empty
        serializer = array.serializer
        assert isinstance(serializer, GribberishCodec)
        assert serializer.var == variable.name
        compression = spec.compression_of(variable)
        assert [type(c).__name__ for c in array.compressors] == (
            ["BZ2"] if compression == "bz2" else []
        )
        assert array.attrs["units"] == variable.attrs.units
        if variable.level_dimension is not None:
            coordinate = group[variable.level_dimension]
            assert isinstance(coordinate, zarr.Array)
            assert set(variable.levels) <= set(coordinate[:].tolist())
    progress = group["ingested"]
    assert isinstance(progress, zarr.Array)
    assert progress.metadata.dimension_names == spec.progress_dims  # type: ignore[union-attr]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_file_expects_distinct_chunks_and_every_chunk_has_one_file(spec: DatasetSpec) -> None:
    """Over a partition, the files' expected chunks never overlap, and each file has a distinct
    progress flag."""
    when = spec.append_dimension.start
    locator = ChunkLocator(spec)
    files = expected_files(spec, when)
    assert len({f.progress_index for f in files}) == len(files)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    for file in files:
        slots = set(expected_slots(spec, locator, file))
        assert not slots & seen, file.describe()
        seen |= slots
    assert seen  # something is expected


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_partitions_and_keys_follow_the_append_dimension(spec: DatasetSpec) -> None:
    axis = spec.append_dimension
    second = axis.value_at(1)
    assert axis.index_of(second) == 1
    keys = {f.data_key for f in expected_files(spec, second)}
    dates = (f"{second:%Y%m%d}", f"{second:%Y-%m-%d}")  # as producers write them in keys
    assert all(any(date in key for date in dates) for key in keys)
    assert dt.timedelta(0) < spec.publication.first_file_after <= spec.publication.last_file_after


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_core_never_imports_a_provider_module() -> None:
    """Only the registries (providers/__init__, index_formats/__init__) and dataset modules
    name providers; the core reaches them through the registries."""
    core = [
        p
        for p in PACKAGE.rglob("*.py")
        if not {"providers", "datasets"} & set(p.relative_to(PACKAGE).parts)
    ]
    assert core
    for path in core:
        provider_modules = {
            name
            for name in _imports(path)
            if name.startswith("vidx_pipeline.providers.")
            or name.startswith("vidx_pipeline.datasets.")
        }
        assert not provider_modules, f"{path.relative_to(PACKAGE)} imports {provider_modules}"


def test_the_wheel_holds_the_pipeline_only() -> None:
    """The packages setuptools puts in the wheel, found with the project's own configuration."""
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    packages = setuptools.find_packages(where=str(PACKAGE.parent), include=find["include"])
    assert "vidx_pipeline" in packages
    assert "vidx_pipeline.orchestration" in packages
    assert not [p for p in packages if not p.startswith("vidx_pipeline.") and p != "vidx_pipeline"]
    assert not [p for p in packages if "offline" in p or "tests" in p]


SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_SNAPSHOTS = "VIDX_UPDATE_SNAPSHOTS"


def _template_metadata(spec: DatasetSpec) -> dict[str, object]:
    """Every array's Zarr metadata (dims, shape, chunks, dtype, codecs, CF attributes) and the
    group's attributes, as the template writes them."""
    store = zarr.storage.MemoryStore()
    write_template(spec, store)
    group = zarr.open_group(store, mode="r")
    arrays = {name: array.metadata.to_dict() for name, array in group.arrays()}
    return json.loads(
        json.dumps({"attributes": dict(group.attrs), "arrays": arrays}, sort_keys=True, default=str)
    )


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_template_metadata_matches_its_reviewed_snapshot(spec: DatasetSpec) -> None:
    """A change of any variable, name, attribute, dim or codec shows up here as a diff to
    review. Regenerate with ``VIDX_UPDATE_SNAPSHOTS=1 pytest -k snapshot`` and check it in."""
    path = SNAPSHOTS / f"{spec.dataset_id}.json"
    current = _template_metadata(spec)
    if os.environ.get(UPDATE_SNAPSHOTS):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot for {spec.dataset_id}: run with {UPDATE_SNAPSHOTS}=1"
    assert current == json.loads(path.read_text())


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_growing_the_append_dimension_is_zarrs_resize(spec: DatasetSpec) -> None:
    """The grower rewrites metadata documents itself (for speed): every array must end as
    zarr's own resize leaves it, and the append coordinate must hold the spec's values."""
    append = spec.append_dimension.name
    grown, resized = zarr.storage.MemoryStore(), zarr.storage.MemoryStore()
    for store in (grown, resized):
        write_template(spec, store)
    assert grow_append_dimension(spec, grown, 3)
    assert not grow_append_dimension(spec, grown, 2)  # never shrinks
    for _, array in zarr.open_group(resized, mode="r+").arrays():
        if (array.metadata.dimension_names or (None,))[0] == append:  # type: ignore[union-attr]
            array.resize((3, *array.shape[1:]))

    def metadata(store: zarr.storage.MemoryStore) -> dict[str, object]:
        group = zarr.open_group(store, mode="r")
        return {name: array.metadata.to_dict() for name, array in group.arrays()}

    after_grow, after_resize = metadata(grown), metadata(resized)
    assert after_grow == after_resize
    assert any(a["shape"][0] == 3 for a in after_grow.values())  # type: ignore[index]
    times = zarr.open_array(grown, path=append, mode="r")[:]
    assert times.tolist() == [epoch_seconds(spec.append_dimension.value_at(i)) for i in range(3)]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_member_file_table_is_the_first_members_moved_to_it(spec: DatasetSpec) -> None:
    """The placement core builds one table per (kind, lead) and moves it to each member: that
    must be what the provider would have said for that member itself."""
    locator = ChunkLocator(spec)
    provider = get_provider(spec.provider)
    per_member = [f for f in expected_files(spec, spec.append_dimension.start) if f.member]
    if not per_member:
        pytest.skip("no per-member file kind")
    for file in (per_member[0], per_member[len(per_member) // 2], per_member[-1]):
        moved = table_for(provider, locator, file)
        built = build_table(provider, ChunkLocator(spec), file)
        assert dict(moved.by_key) == dict(built.by_key), file.describe()
        assert moved.optional == built.optional
        members = {locator.labels(s)["ensemble_member"] for ss in moved.by_key.values() for s in ss}
        assert members == {file.member}
