"""Dataset specs: frozen, typed declarations of a virtual dataset. The core reads only these.

A :class:`DatasetSpec` says what the cube looks like (dimensions, append dimension and cadence,
lead-time schedule, grid, ensemble), which variables it holds with their CF attributes and how
each is found in a producer's index, and where the producer publishes (object store and key
templates). Everything else — building the Zarr template, growing ``init_time``, matching index
entries, committing refs, Dagster partitions — is derived from it.

Key templates are Python format strings with these fields:
``{init:%Y%m%d}`` / ``{init:%H}`` etc. (the partition's datetime, UTC), ``{lead_hours}`` (int),
``{member}`` (the ensemble member's label in the producer's file names).

How the other datasets map onto these models, without changing the core:

- **NOAA GEFS** (one file per member): ``ensemble=EnsembleSpec(member_labels=("c00", "p01", ...))``
  and ``data_key="gefs.{init:%Y%m%d}/{init:%H}/atmos/pgrb2sp25/"
  "ge{member}.t{init:%H}z.pgrb2s.0p25.f{lead_hours:03d}"``;
  the index is the same wgrib2 ``.idx`` (``index_key=data_key + ".idx"``), so
  :class:`Wgrib2Match` applies unchanged (the ``ENS=+1`` extra is the member the file already
  fixes). Dimensions become (init_time, lead_time, ensemble_member, latitude, longitude).
- **ECMWF IFS ENS** (all 51 members in one file, JSON-lines ``.index``):
  ``index_format="ecmwf_index"``, ``index_key`` replaces the ``.grib2`` extension by ``.index``,
  variables use :class:`MarsKeysMatch` (``param``/``levtype``/``levelist``; the member comes from
  the ``number`` key and ``type`` cf/pf), and ``ensemble`` lists members ``0..50`` without
  ``{member}`` in the key template.
- **DWD ICON-EU** (one bz2-compressed message per file, no index): ``index_format="none"``,
  ``object_compression="bz2"``, variables use :class:`WholeObjectMatch` whose ``data_key``
  names the per-variable file; the chunk is the whole object (offset 0, its listed size) and the
  array gets a bz2 bytes-to-bytes codec before the ``gribberish`` serializer.
- **Analyses** (partitioned by valid time): ``append_dimension.name="time"``, no
  ``lead_times`` (a single implicit lead 0), and ``partitioning="valid_time"``; key templates
  still receive the partition time as ``init``.

Only the GFS forecast is implemented end to end; matching for :class:`MarsKeysMatch` and
:class:`WholeObjectMatch` is declared here so specs can be written, and raises a clear error in
the matcher until those datasets land.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class FrozenModel(BaseModel):
    """Immutable, strict-field base for every spec and config model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------
# Where the producer publishes


class ObjectStoreSpec(FrozenModel):
    """An S3 bucket as the producer publishes it. The endpoint is not part of the spec: it is the
    cloud's by default and overridden at run time (``VIDX_S3_ENDPOINT``) for a local S3 API."""

    kind: Literal["s3"] = "s3"
    bucket: str
    region: str = "us-east-1"
    anonymous: bool = Field(True, description="Public open-data bucket: requests are unsigned.")

    @property
    def url_prefix(self) -> str:
        """Virtual chunk container prefix, e.g. ``s3://noaa-gfs-bdp-pds/``."""
        return f"s3://{self.bucket}/"


class SourceLayout(FrozenModel):
    """Key templates of the producer's data and index objects."""

    store: ObjectStoreSpec
    data_key: str
    index_format: Literal["wgrib2_idx", "ecmwf_index", "none"]
    index_key: str | None = Field(
        None, description="Template of the index object; None when the data has no index."
    )
    object_compression: Literal["none", "bz2"] = "none"

    @model_validator(mode="after")
    def _index_key_matches_format(self) -> SourceLayout:
        if (self.index_format == "none") != (self.index_key is None):
            raise ValueError(
                f"index_format={self.index_format!r} and index_key={self.index_key!r} disagree"
            )
        return self


# --------------------------------------------------------------------------------------------
# Dimensions


class AppendDimension(FrozenModel):
    """The dimension that grows as the producer publishes (init_time or, for analyses, time)."""

    name: Literal["init_time", "time"] = "init_time"
    start: dt.datetime = Field(description="First value of the archive (UTC).")
    frequency: dt.timedelta

    @field_validator("start")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def index_of(self, value: dt.datetime) -> int:
        """Position of ``value`` on the axis; errors if it is before start or off-cadence."""
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        offset = value - self.start
        position, remainder = divmod(offset, self.frequency)
        if offset < dt.timedelta(0) or remainder:
            raise ValueError(
                f"{value.isoformat()} is not on the {self.name} axis "
                f"(start {self.start.isoformat()}, every {self.frequency})"
            )
        return int(position)

    def index_of_at_or_before(self, value: dt.datetime) -> int:
        """Position of the last axis value at or before ``value``."""
        offset = value.astimezone(dt.UTC) - self.start
        if offset < dt.timedelta(0):
            raise ValueError(f"{value.isoformat()} is before the {self.name} axis starts")
        return int(offset // self.frequency)

    def latest_at_or_before(self, value: dt.datetime) -> dt.datetime:
        """The last axis value at or before ``value``: the newest cycle at a given moment."""
        return self.value_at(self.index_of_at_or_before(value))

    def value_at(self, position: int) -> dt.datetime:
        return self.start + position * self.frequency


class LeadTimeSegment(FrozenModel):
    """Leads ``start_hours, start_hours+step_hours, ... <= stop_hours``."""

    start_hours: int = Field(ge=0)
    stop_hours: int = Field(ge=0)
    step_hours: int = Field(gt=0)


class LeadTimeSchedule(FrozenModel):
    segments: tuple[LeadTimeSegment, ...]

    @cached_property
    def hours(self) -> tuple[int, ...]:
        hours: list[int] = []
        for segment in self.segments:
            hours.extend(range(segment.start_hours, segment.stop_hours + 1, segment.step_hours))
        if hours != sorted(set(hours)):
            raise ValueError(f"lead-time segments overlap or are unordered: {self.segments}")
        return tuple(hours)

    def index_of(self, lead_hours: int) -> int:
        try:
            return self.hours.index(lead_hours)
        except ValueError:
            raise ValueError(f"lead time {lead_hours} h is not in the schedule") from None


class RegularLatLonGrid(FrozenModel):
    """A regular latitude-longitude grid in the producer's scan order (row 0 = first latitude)."""

    kind: Literal["regular_ll"] = "regular_ll"
    nlat: int = Field(gt=0)
    nlon: int = Field(gt=0)
    lat_first: float
    lat_last: float
    lon_first: float
    lon_last: float

    @property
    def shape(self) -> tuple[int, int]:
        return (self.nlat, self.nlon)

    def latitudes(self) -> np.ndarray:
        return np.linspace(self.lat_first, self.lat_last, self.nlat)

    def longitudes(self) -> np.ndarray:
        return np.linspace(self.lon_first, self.lon_last, self.nlon)


class EnsembleSpec(FrozenModel):
    """Ensemble members: their coordinate values and their labels in key templates."""

    members: tuple[int, ...]
    member_labels: tuple[str, ...]

    @model_validator(mode="after")
    def _same_length(self) -> EnsembleSpec:
        if len(self.members) != len(self.member_labels):
            raise ValueError("members and member_labels must have the same length")
        return self


# --------------------------------------------------------------------------------------------
# Variables and how each is found in an index


class InstantWindow(FrozenModel):
    """An instantaneous field: present at every lead, the analysis at lead 0."""

    kind: Literal["instant"] = "instant"


class StatisticalWindow(FrozenModel):
    """A field over a time window ending at the lead.

    ``start="reset"``: the window starts at the last bucket reset before the lead (every
    ``reset_hours``; GFS resets its buckets every 6 h). ``start="init"``: it runs from the
    initialization. Lead 0 has no window, so the field is expected absent there.
    """

    kind: Literal["statistical"] = "statistical"
    statistic: Literal["acc", "ave", "max", "min"]
    start: Literal["reset", "init"] = "reset"
    reset_hours: int = Field(6, gt=0)

    def window_start(self, lead_hours: int) -> int:
        if self.start == "init":
            return 0
        return ((lead_hours - 1) // self.reset_hours) * self.reset_hours


WindowRule = Annotated[InstantWindow | StatisticalWindow, Field(discriminator="kind")]


class Wgrib2Match(FrozenModel):
    """Find a message in a wgrib2 ``.idx`` by element, level text and the lead's window text."""

    kind: Literal["wgrib2"] = "wgrib2"
    element: str
    level: str
    window: WindowRule = InstantWindow()


class MarsKeysMatch(FrozenModel):
    """Find a message in an ECMWF ``.index`` by MARS keys (param, levtype, levelist)."""

    kind: Literal["mars"] = "mars"
    param: str
    levtype: str
    levelist: str | None = None


class WholeObjectMatch(FrozenModel):
    """No index: the variable's own object (``data_key`` template) is the chunk."""

    kind: Literal["whole_object"] = "whole_object"
    data_key: str


IndexMatch = Annotated[Wgrib2Match | MarsKeysMatch | WholeObjectMatch, Field(discriminator="kind")]


class VariableAttrs(FrozenModel):
    """CF attributes written on the variable."""

    long_name: str
    units: str
    short_name: str
    standard_name: str | None = None
    step_type: Literal["instant", "accum", "avg", "max", "min"] = "instant"
    comment: str | None = None

    def cf(self) -> dict[str, str]:
        attrs = self.model_dump(exclude_none=True)
        return {key: str(value) for key, value in attrs.items()}


class VariableSpec(FrozenModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    attrs: VariableAttrs
    match: IndexMatch
    dtype: Literal["float32", "float64"] = "float32"


# --------------------------------------------------------------------------------------------
# Operations


class PublicationSchedule(FrozenModel):
    """When the producer's files for a cycle appear, relative to the partition time."""

    first_file_after: dt.timedelta = Field(description="Typical delay to the first file.")
    last_file_after: dt.timedelta = Field(description="Latest delay to the last file.")


class DatasetSpec(FrozenModel):
    """The whole declaration of one virtual dataset."""

    dataset_id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str
    description: str
    attribution: str
    append_dimension: AppendDimension
    lead_times: LeadTimeSchedule | None
    grid: RegularLatLonGrid
    ensemble: EnsembleSpec | None = None
    variables: tuple[VariableSpec, ...]
    source: SourceLayout
    partitioning: Literal["init_time", "valid_time"] = "init_time"
    publication: PublicationSchedule
    manifest_split_size: int = Field(
        1, gt=0, description="Append-dimension steps per manifest split of each variable."
    )
    checksum: Literal["last_modified", "etag"] = Field(
        "last_modified",
        description="What each ref carries to detect a changed source object. Last-modified "
        "(rounded up to the second) costs a few bytes per ref; an ETag about 25.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        names = [v.name for v in self.variables]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.dataset_id}: duplicate variable names")
        if (self.partitioning == "valid_time") != (self.append_dimension.name == "time"):
            raise ValueError(
                f"{self.dataset_id}: valid-time partitioning goes with a 'time' append dimension"
            )
        if self.ensemble is None and "{member}" in self.source.data_key:
            raise ValueError(f"{self.dataset_id}: data_key uses {{member}} but has no ensemble")
        return self

    @property
    def lead_hours(self) -> tuple[int, ...]:
        return self.lead_times.hours if self.lead_times is not None else (0,)

    @property
    def dims(self) -> tuple[str, ...]:
        dims: list[str] = [self.append_dimension.name]
        if self.lead_times is not None:
            dims.append("lead_time")
        if self.ensemble is not None:
            dims.append("ensemble_member")
        return (*dims, "latitude", "longitude")

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """One chunk is one GRIB message: a single step of every non-grid dimension."""
        return (*(1 for _ in self.dims[:-2]), *self.grid.shape)

    def variable(self, name: str) -> VariableSpec:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(f"{self.dataset_id} has no variable {name!r}")
