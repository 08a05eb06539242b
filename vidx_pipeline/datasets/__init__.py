"""The datasets this code location publishes, by id."""

from __future__ import annotations

from vidx_pipeline.datasets.dwd_icon_eu_forecast_5_day import DWD_ICON_EU_FORECAST_5_DAY
from vidx_pipeline.datasets.dwd_icon_eu_icosahedral_forecast_5_day import (
    DWD_ICON_EU_ICOSAHEDRAL_FORECAST_5_DAY,
)
from vidx_pipeline.datasets.ecmwf_ifs_ens_forecast_15_day import ECMWF_IFS_ENS_FORECAST_15_DAY
from vidx_pipeline.datasets.noaa_gefs_forecast import NOAA_GEFS_FORECAST_35_DAY
from vidx_pipeline.datasets.noaa_gfs_analysis import NOAA_GFS_ANALYSIS
from vidx_pipeline.datasets.noaa_gfs_forecast import NOAA_GFS_FORECAST
from vidx_pipeline.datasets.noaa_hrrr_forecast_48_hour import NOAA_HRRR_FORECAST_48_HOUR
from vidx_pipeline.spec import DatasetSpec

DATASETS: dict[str, DatasetSpec] = {
    spec.dataset_id: spec
    for spec in (
        NOAA_GFS_FORECAST,
        NOAA_GEFS_FORECAST_35_DAY,
        NOAA_HRRR_FORECAST_48_HOUR,
        NOAA_GFS_ANALYSIS,
        ECMWF_IFS_ENS_FORECAST_15_DAY,
        DWD_ICON_EU_FORECAST_5_DAY,
        DWD_ICON_EU_ICOSAHEDRAL_FORECAST_5_DAY,
    )
}


def get_dataset(dataset_id: str) -> DatasetSpec:
    try:
        return DATASETS[dataset_id]
    except KeyError:
        raise KeyError(f"unknown dataset {dataset_id!r}; known: {sorted(DATASETS)}") from None
