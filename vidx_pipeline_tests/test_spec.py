"""Dataset specs: the other producers' layouts are expressible, and bad specs are refused."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.spec import (
    AppendDimension,
    DatasetSpec,
    EnsembleSpec,
    MarsKeysMatch,
    ObjectStoreSpec,
    SourceLayout,
    VariableAttrs,
    VariableSpec,
    WholeObjectMatch,
)

GFS = get_dataset("noaa-gfs-forecast")
T2M = VariableAttrs(long_name="2 metre temperature", units="K", short_name="2t")


def test_gefs_adds_an_ensemble_dimension_one_file_per_member() -> None:
    gefs = GFS.model_copy(
        update={
            "dataset_id": "noaa-gefs-forecast",
            "ensemble": EnsembleSpec(members=(0, 1, 2), member_labels=("c00", "p01", "p02")),
            "source": SourceLayout(
                store=ObjectStoreSpec(bucket="noaa-gefs-pds"),
                data_key="gefs.{init:%Y%m%d}/{init:%H}/atmos/pgrb2sp25/"
                "ge{member}.t{init:%H}z.pgrb2s.0p25.f{lead_hours:03d}",
                index_format="wgrib2_idx",
                index_key="gefs.{init:%Y%m%d}/{init:%H}/atmos/pgrb2sp25/"
                "ge{member}.t{init:%H}z.pgrb2s.0p25.f{lead_hours:03d}.idx",
            ),
        }
    )
    gefs = DatasetSpec.model_validate(gefs.model_dump())
    assert gefs.dims == ("init_time", "lead_time", "ensemble_member", "latitude", "longitude")
    assert gefs.chunk_shape == (1, 1, 1, 721, 1440)


def test_ecmwf_ens_all_members_in_one_file_with_json_index() -> None:
    ens = DatasetSpec.model_validate(
        {
            **GFS.model_dump(),
            "dataset_id": "ecmwf-ifs-ens-forecast",
            "ensemble": {"members": list(range(51)), "member_labels": [str(m) for m in range(51)]},
            "variables": [
                VariableSpec(
                    name="temperature_2m", attrs=T2M, match=MarsKeysMatch(param="2t", levtype="sfc")
                ).model_dump()
            ],
            "source": {
                "store": {"bucket": "ecmwf-forecasts"},
                "data_key": "{init:%Y%m%d}/{init:%H}z/ifs/0p25/enfo/"
                "{init:%Y%m%d%H}0000-{lead_hours}h-enfo-ef.grib2",
                "index_format": "ecmwf_index",
                "index_key": "{init:%Y%m%d}/{init:%H}z/ifs/0p25/enfo/"
                "{init:%Y%m%d%H}0000-{lead_hours}h-enfo-ef.index",
            },
        }
    )
    assert "{member}" not in ens.source.data_key
    assert ens.dims[2] == "ensemble_member"


def test_icon_eu_whole_bz2_object_per_variable_and_analyses_by_valid_time() -> None:
    icon = DatasetSpec.model_validate(
        {
            **GFS.model_dump(),
            "dataset_id": "dwd-icon-eu-analysis",
            "append_dimension": {
                "name": "time",
                "start": dt.datetime(2020, 6, 23),
                "frequency": dt.timedelta(hours=3),
            },
            "partitioning": "valid_time",
            "lead_times": None,
            "variables": [
                VariableSpec(
                    name="temperature_2m",
                    attrs=T2M,
                    match=WholeObjectMatch(
                        data_key="{init:%H}/t_2m/icon-eu_europe_regular-lat-lon_single-level_"
                        "{init:%Y%m%d%H}_000_T_2M.grib2.bz2"
                    ),
                ).model_dump()
            ],
            "source": {
                "store": {"bucket": "dwd-icon-eu"},
                "data_key": "{init:%H}/",
                "index_format": "none",
                "object_compression": "bz2",
            },
        }
    )
    assert icon.dims == ("time", "latitude", "longitude")
    assert icon.lead_hours == (0,)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValidationError, match="disagree"):
        SourceLayout(store=ObjectStoreSpec(bucket="b"), data_key="k", index_format="wgrib2_idx")
    with pytest.raises(ValidationError, match="valid-time partitioning"):
        DatasetSpec.model_validate({**GFS.model_dump(), "partitioning": "valid_time"})
    with pytest.raises(ValidationError, match="duplicate variable"):
        DatasetSpec.model_validate(
            {**GFS.model_dump(), "variables": [GFS.variables[0].model_dump()] * 2}
        )
    with pytest.raises(ValidationError):
        DatasetSpec.model_validate({**GFS.model_dump(), "surprise": 1})


def test_append_dimension_positions() -> None:
    axis = AppendDimension(start=dt.datetime(2021, 5, 1), frequency=dt.timedelta(hours=6))
    when = dt.datetime(2021, 5, 2, 6, tzinfo=dt.UTC)
    assert axis.index_of(when) == 5
    assert axis.value_at(5) == when
    assert axis.latest_at_or_before(when + dt.timedelta(hours=5)) == when
    with pytest.raises(ValueError, match="not on the init_time axis"):
        axis.index_of(when + dt.timedelta(hours=1))
    with pytest.raises(ValueError, match="not on the init_time axis"):
        axis.index_of(dt.datetime(2021, 4, 30, 18, tzinfo=dt.UTC))
