"""Structural tests over every registered dataset: a new dataset is tested for free."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
import zarr
from gribberish.zarr import GribberishCodec

from vidx_pipeline.datasets import DATASETS
from vidx_pipeline.providers import get_provider
from vidx_pipeline.refs import ChunkLocator, expected_slots
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.spec import DatasetSpec
from vidx_pipeline.template import write_template

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
        compression = spec.source.kind(variable.source_file).compression
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
    assert all(f"{second:%Y%m%d}" in key for key in keys)
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
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'include = ["vidx_pipeline", "vidx_pipeline.*"]' in text
    assert not (PACKAGE / "offline").exists()
    assert not (PACKAGE / "demo.py").exists()
