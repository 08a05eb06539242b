"""Dataset specs: the coming producers' layouts are expressible and derive the right files,
progress flags and chunks; bad specs are refused."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from vidx_pipeline.datasets import DATASETS, get_dataset
from vidx_pipeline.providers.noaa import Wgrib2Match
from vidx_pipeline.refs import ChunkLocator, expected_slots
from vidx_pipeline.source_files import expected_files
from vidx_pipeline.spec import (
    GRID_COORDINATE_NAMES,
    AppendDimension,
    DatasetSpec,
    EnsembleSpec,
    LambertConformalGrid,
    LeadTimeSchedule,
    LeadTimeSegment,
    LevelDimension,
    ObjectStoreSpec,
    SourceFileKind,
    SourceLayout,
    VariableAttrs,
    VariableSpec,
)

GFS = get_dataset("noaa-gfs-forecast")
T2M = VariableAttrs(long_name="2 metre temperature", units="K", short_name="2t")
WHEN = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)


def _variable(name: str, source_file: str | None = None) -> VariableSpec:
    return VariableSpec(
        name=name,
        attrs=T2M,
        match=Wgrib2Match(element="TMP", level="2 m above ground"),
        source_file=source_file,
    )


def _gefs():
    prefix = "gefs.{init:%Y%m%d}/{init:%H}/atmos/"
    a = prefix + "pgrb2ap5/ge{member}.t{init:%H}z.pgrb2a.0p50.f{lead_hours:03d}"
    b = prefix + "pgrb2bp5/ge{member}.t{init:%H}z.pgrb2b.0p50.f{lead_hours:03d}"
    return GFS.model_copy(
        update={
            "dataset_id": "noaa-gefs-forecast",
            "ensemble": EnsembleSpec(members=(0, 1, 2), member_labels=("c00", "p01", "p02")),
            "levels": (),
            "variables": (_variable("temperature_2m", "a"), _variable("soil_x", "b")),
            "source": SourceLayout(
                store=ObjectStoreSpec(bucket="noaa-gefs-pds"),
                files=(
                    SourceFileKind(
                        name="a", data_key=a, index_format="wgrib2_idx", index_key=a + ".idx"
                    ),
                    SourceFileKind(
                        name="b", data_key=b, index_format="wgrib2_idx", index_key=b + ".idx"
                    ),
                ),
                centre=7,
            ),
        }
    )


def test_gefs_two_file_kinds_per_member_and_lead() -> None:
    gefs = _gefs()
    files = expected_files(gefs, WHEN)
    assert len(files) == len(gefs.lead_hours) * 3 * 2
    assert gefs.progress_dims == ("init_time", "lead_time", "ensemble_member", "source_file")
    assert len({f.progress_index for f in files}) == len(files)
    first = files[:6]
    assert [f.data_key.rsplit("/", 1)[1] for f in first] == [
        "gec00.t00z.pgrb2a.0p50.f000",
        "gec00.t00z.pgrb2b.0p50.f000",
        "gep01.t00z.pgrb2a.0p50.f000",
        "gep01.t00z.pgrb2b.0p50.f000",
        "gep02.t00z.pgrb2a.0p50.f000",
        "gep02.t00z.pgrb2b.0p50.f000",
    ]
    locator = ChunkLocator(gefs)
    # A member's "a" file fills its own member's chunk of the "a" variable, nothing else.
    assert set(expected_slots(gefs, locator, files[2])) == {("temperature_2m", (0, 1))}
    assert set(expected_slots(gefs, locator, files[3])) == {("soil_x", (0, 1))}
    assert gefs.variable_dims(gefs.variables[0]) == (
        "init_time",
        "lead_time",
        "ensemble_member",
        "latitude",
        "longitude",
    )


def test_ecmwf_one_file_fills_every_member() -> None:
    key = "{init:%Y%m%d}/{init:%H}z/ifs/0p25/enfo/{init:%Y%m%d%H}0000-{lead_hours}h-enfo-ef"
    ens = GFS.model_copy(
        update={
            "dataset_id": "ecmwf-ifs-ens-forecast",
            "ensemble": EnsembleSpec(
                members=tuple(range(51)), member_labels=tuple(map(str, range(51)))
            ),
            "levels": (),
            "variables": (_variable("temperature_2m"),),
            "source": SourceLayout(
                store=ObjectStoreSpec(bucket="ecmwf-forecasts"),
                files=(
                    SourceFileKind(
                        name="enfo",
                        data_key=key + ".grib2",
                        index_format="ecmwf_index",
                        index_key=key + ".index",
                    ),
                ),
                centre=98,
            ),
        }
    )
    files = expected_files(ens, WHEN)
    assert len(files) == len(ens.lead_hours)
    assert ens.progress_dims == ("init_time", "lead_time")
    assert files[1].data_key == "20250801/00z/ifs/0p25/enfo/20250801000000-1h-enfo-ef.grib2"
    slots = expected_slots(ens, ChunkLocator(ens), files[1])
    assert {index for _, index in slots} == {(1, member) for member in range(51)}


def test_icon_whole_bz2_objects_without_index() -> None:
    kind = SourceFileKind(
        name="t_2m",
        data_key="weather/nwp/icon-eu/grib/{init:%H}/t_2m/icon-eu_europe_regular-lat-lon_"
        "single-level_{init:%Y%m%d%H}_{lead_hours:03d}_T_2M.grib2.bz2",
        index_format="none",
        compression="bz2",
    )
    assert kind.index_key is None
    with pytest.raises(ValidationError, match="disagree"):
        SourceFileKind(name="x", data_key="k", index_format="none", index_key="k.idx")


def test_analysis_partitions_by_valid_time() -> None:
    analysis = GFS.model_copy(
        update={
            "append_dimension": AppendDimension(
                name="time", start=dt.datetime(2021, 5, 1), frequency=dt.timedelta(hours=1)
            ),
            "lead_times": None,
        }
    )
    assert analysis.partitioning == "valid_time"
    assert analysis.lead_hours == (0,)
    assert analysis.progress_dims == ("time",)
    assert len(expected_files(analysis, WHEN)) == 1


def test_lambert_grid_owns_y_x_dims_and_2d_coordinates() -> None:
    grid = LambertConformalGrid(
        nx=4,
        ny=3,
        first_latitude=21.138,
        first_longitude=237.28,
        lov=262.5,
        latin1=38.5,
        latin2=38.5,
        dx_metres=3000.0,
        dy_metres=3000.0,
    )
    coords = grid.coordinates()
    assert grid.dims == ("y", "x")
    assert coords["latitude"][0] == ("y", "x")
    assert coords["latitude"][1].shape == (3, 4)
    assert abs(coords["latitude"][1][0, 0] - 21.138) < 1e-6


def _refused(update: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        type(GFS).model_validate({**dict(GFS), **update})


def test_bad_specs_are_refused() -> None:
    _refused({"variables": (_variable("a"), _variable("a"))}, "duplicate variable names")
    _refused({"variables": (_variable("latitude"),)}, "reserved")
    _refused({"variables": (_variable("a", "nope"),)}, "names no source file kind 'nope'")
    level = LevelDimension(
        name="isobaric_level", values=(500.0,), source_labels=("500",), units="hPa", long_name="p"
    )
    off_level = VariableSpec(
        name="t",
        attrs=T2M,
        match=Wgrib2Match(element="TMP", level="{} mb"),
        level_dimension="isobaric_level",
        levels=(850.0,),
    )
    _refused({"levels": (level,), "variables": (off_level,)}, "expects levels")
    undeclared = off_level.model_copy(update={"level_dimension": "height"})
    _refused({"levels": (level,), "variables": (undeclared,)}, "undeclared level dimension")
    per_member = GFS.source.files[0].model_copy(update={"data_key": "ge{member}.f{lead_hours}"})
    _refused(
        {"source": GFS.source.model_copy(update={"files": (per_member,)})},
        "uses {member} but the dataset has no ensemble",
    )


def test_a_spec_round_trips_through_json_with_its_providers_matches() -> None:
    again = type(GFS).model_validate_json(GFS.model_dump_json())
    assert again == GFS
    assert isinstance(again.variable("temperature_isobaric").match, Wgrib2Match)
    bad = GFS.variables[0].model_dump()
    bad["match"] = {"kind": "grib1", "element": "TMP"}
    with pytest.raises(ValidationError, match="unknown match kind 'grib1'"):
        VariableSpec.model_validate(bad)


def _split_temperature(level_source_files: dict[str, tuple[float, ...]]) -> VariableSpec:
    return VariableSpec(
        name="temperature_isobaric",
        attrs=T2M,
        match=Wgrib2Match(element="TMP", level="{} mb"),
        level_dimension="isobaric_level",
        levels=(1000.0, 975.0, 500.0),
        level_source_files=level_source_files,
    )


def test_a_variable_can_draw_its_levels_from_several_file_kinds() -> None:
    """GEFS writes TMP at 500 hPa in pgrb2a and at 975 hPa in pgrb2b: one variable, each level
    expected in the file kind that holds it."""
    level = LevelDimension(
        name="isobaric_level",
        values=(1000.0, 975.0, 500.0),
        source_labels=("1000", "975", "500"),
        units="hPa",
        long_name="p",
    )
    split = _split_temperature({"a": (1000.0, 500.0), "b": (975.0,)})
    gefs = _gefs().model_copy(update={"levels": (level,), "variables": (split,)})
    assert gefs.variables_in("a") == gefs.variables_in("b") == (split,)
    assert gefs.expected_levels_in(split, "a", 3) == (1000.0, 500.0)
    assert gefs.expected_levels_in(split, "b", 3) == (975.0,)
    files = expected_files(gefs, WHEN)
    a_file = next(f for f in files if f.kind.name == "a" and f.lead_hours == 3)
    b_file = next(f for f in files if f.kind.name == "b" and f.lead_hours == 3)
    locator = ChunkLocator(gefs)
    a_levels = {locator.labels(slot)["isobaric_level"] for slot in locator.expected_slots(a_file)}
    b_levels = {locator.labels(slot)["isobaric_level"] for slot in locator.expected_slots(b_file)}
    assert (a_levels, b_levels) == ({1000.0, 500.0}, {975.0})


@pytest.mark.parametrize(
    ("split", "problem"),
    [
        ({"a": (1000.0, 500.0)}, "exactly once"),
        ({"a": (1000.0, 500.0), "b": (975.0, 500.0)}, "exactly once"),
        ({"a": (1000.0, 975.0, 500.0, 250.0)}, "exactly once"),
    ],
)
def test_a_split_that_loses_or_repeats_a_level_is_refused(
    split: dict[str, tuple[float, ...]], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        _split_temperature(split)


def test_a_copied_spec_counts_its_own_refs() -> None:
    """Tests and benchmarks derive small specs with ``model_copy``: a count the original had
    already computed must not follow the copy."""
    before = GFS.refs_per_partition
    one_lead = GFS.model_copy(
        update={
            "lead_times": LeadTimeSchedule(
                segments=(LeadTimeSegment(start_hours=7, stop_hours=7, step_hours=1),)
            )
        }
    )
    assert 0 < one_lead.refs_per_partition < before


@pytest.mark.parametrize("spec", list(DATASETS.values()), ids=lambda spec: spec.dataset_id)
def test_every_grid_coordinate_and_mapping_name_is_reserved(spec: DatasetSpec) -> None:
    names = set(spec.grid.coordinates())
    if (mapping := spec.grid.grid_mapping()) is not None:
        names.add(mapping[0])
    assert names <= GRID_COORDINATE_NAMES


def test_an_ended_axis_stops_at_its_end() -> None:
    """An archive the producer stopped publishing: its end is a value of the axis, positions
    after it are refused, and the newest value at any later moment is the end."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 30, 18, tzinfo=dt.UTC)
    axis = AppendDimension(start=start, frequency=dt.timedelta(hours=6), end=end)
    assert axis.index_of(end) == 119
    with pytest.raises(ValueError, match="after the init_time axis ends"):
        axis.index_of(end + dt.timedelta(hours=6))
    assert axis.latest_at_or_before(dt.datetime(2026, 11, 30, 20, tzinfo=dt.UTC)) == end
    assert axis.latest_at_or_before(dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == end
    assert axis.latest_at_or_before(dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)) == end - (
        dt.timedelta(hours=6)
    )
    for off_axis in (end + dt.timedelta(hours=1), start - dt.timedelta(hours=6)):
        with pytest.raises(ValidationError, match="is not a value of the axis"):
            AppendDimension(start=start, frequency=dt.timedelta(hours=6), end=off_axis)
