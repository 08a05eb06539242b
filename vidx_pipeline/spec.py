"""Dataset specs: frozen, typed declarations of a virtual dataset. The core reads only these.

A :class:`DatasetSpec` says what the cube looks like (append dimension and cadence, lead-time
schedule, ensemble, vertical level dimensions, grid), which variables it holds with their CF
attributes, where and at which lead/level each is expected, and where the producer publishes
(object store, one or more kinds of source file per step, each with its index format and
compression). Everything else — the Zarr template, growing the append dimension, turning a
provider's refs (in *label space*) into chunk indices, progress flags and commits, Dagster
partitions — is derived from it.

What a spec does **not** hold is how a message is recognised in a producer's index: each
variable's ``match`` is a provider's own model (a subclass of :class:`IndexMatch` defined in a
``vidx_pipeline.providers`` module), read only by that provider, which the spec names in
``provider``. The core never imports a provider module; it looks providers and index formats up
in their registries (:mod:`vidx_pipeline.providers`, :mod:`vidx_pipeline.index_formats`).

Key templates are Python format strings with these fields: ``{init:%Y%m%d}`` / ``{init:%H}`` etc.
(the partition's datetime, UTC), ``{lead_hours}`` (int), ``{member}`` (the ensemble member's label
in the producer's file names; a file kind whose key uses it is one file per member).

How the coming datasets map onto these models:

- **NOAA GEFS**: two file kinds per member and lead (``pgrb2a``, ``pgrb2b``), each keyed with
  ``{member}``; ``ensemble`` lists members 0..30 with labels ``c00``, ``p01``...; each variable
  names the kind it is found in (``source_file``), or, where NCEP splits one field's pressure
  levels between the two kinds, which levels each kind holds (``level_source_files``). Progress
  is per (lead, member, file kind).
- **ECMWF IFS ENS**: one file kind without ``{member}``: every file fills all 51 members (the
  provider reads the member from each ``.index`` line); ``index_format="ecmwf_index"``.
- **DWD ICON-EU**: ``index_format="none"`` (the whole object is the chunk) and
  ``compression="bz2"``: the array's codec chain is bz2 then ``gribberish``. One file kind per
  parameter (per parameter and pressure level: ``level_source_files``); the store is an
  :class:`HttpStoreSpec` listed through its directory index pages, and ``mirror`` says each
  object is copied to the project's mirror, which the refs point at.
- **HRRR**: a :class:`LambertConformalGrid` (dims ``y``, ``x``; 2-D latitude/longitude).
- **Analyses**: the append dimension is ``time``, no ``lead_times``; partitions are valid
  times. Drawn from forecast cycles (GFS analysis), ``source_cycles`` says which cycle and lead
  feed each step, and key templates receive that cycle as ``init`` and that lead as
  ``lead_hours``; without it, the partition time at lead 0.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator, model_validator

from vidx_pipeline.grib_header import GridHeader


class FrozenModel(BaseModel):
    """Immutable, strict-field base for every spec and config model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Label = int | float | str
"""A coordinate label of a non-grid dimension: lead hours, member number, level value."""

LEAD_TIME = "lead_time"
ENSEMBLE_MEMBER = "ensemble_member"
SOURCE_FILE = "source_file"


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


class HttpStoreSpec(FrozenModel):
    """A plain HTTP(S) file server (DWD's ``opendata.dwd.de``): objects are read with GETs and
    discovered from the server's directory index pages (Apache/nginx autoindex), as it has no
    object-store listing API. ``base_url`` ends with ``/``; keys are paths below it. The S3
    endpoint override does not apply to it (tests serve the archive under another base URL)."""

    kind: Literal["http"] = "http"
    base_url: str = Field(pattern=r"^https?://[^/]+/(.*/)?$")

    @property
    def url_prefix(self) -> str:
        """Virtual chunk container prefix: the base URL itself."""
        return self.base_url


class LocalStoreSpec(FrozenModel):
    """A directory of the local filesystem (the default mirror of a short-lived producer
    archive): ``root`` is absolute; keys are paths below it."""

    kind: Literal["local"] = "local"
    root: str = Field(pattern=r"^/")

    @property
    def url_prefix(self) -> str:
        """Virtual chunk container prefix, e.g. ``file:///srv/mirror/``."""
        return f"file://{self.root.rstrip('/')}/"


StoreSpec = Annotated[ObjectStoreSpec | HttpStoreSpec | LocalStoreSpec, Field(discriminator="kind")]
"""Where source objects are read from: an S3 bucket, an HTTP server, or a local directory."""


class MirrorSpec(FrozenModel):
    """The producer keeps its files only briefly (DWD: about a day): each published object is
    copied unchanged into the project's mirror store (configured at run time), under
    ``key_prefix`` (a template like the file kinds' keys, e.g. ``{init:%Y%m%d%H}/``) followed by
    the producer's key, and the dataset's refs point at the mirror."""

    key_prefix: str = Field(min_length=1, pattern=r"/$")


class SourceFileKind(FrozenModel):
    """One kind of file the producer writes per step (e.g. GEFS ``pgrb2a`` and ``pgrb2b``)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    data_key: str
    index_format: str = Field(
        description="Name of the index format in vidx_pipeline.index_formats: 'wgrib2_idx', "
        "'ecmwf_index', or 'none' (no index: the whole object is one chunk)."
    )
    index_key: str | None = Field(
        None, description="Template of the index object; None when the data has no index."
    )
    compression: Literal["none", "bz2"] = "none"

    @model_validator(mode="after")
    def _index_key_matches_format(self) -> SourceFileKind:
        if (self.index_format == "none") != (self.index_key is None):
            raise ValueError(
                f"file kind {self.name!r}: index_format={self.index_format!r} and "
                f"index_key={self.index_key!r} disagree"
            )
        return self

    @property
    def per_member(self) -> bool:
        """Whether there is one file per ensemble member (its keys name the member)."""
        return "{member}" in self.data_key


class SourceLayout(FrozenModel):
    """The producer's store, the kinds of file it writes for each step, and its GRIB centre."""

    store: StoreSpec
    files: tuple[SourceFileKind, ...] = Field(min_length=1)
    centre: int = Field(description="GRIB originating centre of every message (7 = NCEP).")
    mirror: MirrorSpec | None = Field(
        None,
        description="Copy each published object into the project's mirror and reference the "
        "copy (a producer that keeps its files briefly); None: reference the producer's store.",
    )

    @model_validator(mode="after")
    def _unique_kinds(self) -> SourceLayout:
        names = [kind.name for kind in self.files]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate source file kinds: {names}")
        return self

    @property
    def s3(self) -> ObjectStoreSpec:
        """The store, which must be an S3 bucket (for code that creates or names buckets)."""
        if not isinstance(self.store, ObjectStoreSpec):
            raise TypeError(f"the source store is {self.store.kind!r}, not an S3 bucket")
        return self.store

    def kind(self, name: str | None) -> SourceFileKind:
        """The file kind called ``name`` (None: the first)."""
        if name is None:
            return self.files[0]
        for kind in self.files:
            if kind.name == name:
                return kind
        raise KeyError(f"no source file kind {name!r}; known: {[k.name for k in self.files]}")


# --------------------------------------------------------------------------------------------
# Dimensions


class AppendDimension(FrozenModel):
    """The dimension that grows as the producer publishes (init_time or, for analyses, time)."""

    name: Literal["init_time", "time"] = "init_time"
    start: dt.datetime = Field(description="First value of the archive (UTC).")
    frequency: dt.timedelta
    end: dt.datetime | None = Field(
        None,
        description="Last value of the archive (UTC) where the producer has stopped publishing "
        "it (DWD's regular ICON-EU tree); None: the archive goes on.",
    )

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _end_on_the_axis(self) -> AppendDimension:
        if self.end is not None:
            offset = self.end - self.start
            if offset < dt.timedelta(0) or offset % self.frequency:
                raise ValueError(
                    f"{self.name} axis end {self.end.isoformat()} is not a value of the axis "
                    f"(start {self.start.isoformat()}, every {self.frequency})"
                )
        return self

    def index_of(self, value: dt.datetime) -> int:
        """Position of ``value`` on the axis; errors if it is before start, after the end or
        off-cadence."""
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        offset = value - self.start
        position, remainder = divmod(offset, self.frequency)
        if offset < dt.timedelta(0) or remainder:
            raise ValueError(
                f"{value.isoformat()} is not on the {self.name} axis "
                f"(start {self.start.isoformat()}, every {self.frequency})"
            )
        if self.end is not None and value > self.end:
            raise ValueError(
                f"{value.isoformat()} is after the {self.name} axis ends ({self.end.isoformat()}"
                ": the producer stopped publishing it)"
            )
        return int(position)

    def index_of_at_or_before(self, value: dt.datetime) -> int:
        """Position of the last axis value at or before ``value`` (the end, past the end)."""
        offset = value.astimezone(dt.UTC) - self.start
        if offset < dt.timedelta(0):
            raise ValueError(f"{value.isoformat()} is before the {self.name} axis starts")
        position = int(offset // self.frequency)
        if self.end is not None:
            position = min(position, int((self.end - self.start) // self.frequency))
        return position

    def latest_at_or_before(self, value: dt.datetime) -> dt.datetime:
        """The last axis value at or before ``value``: the newest cycle at a given moment (the
        end, once the archive has ended)."""
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


class EnsembleSpec(FrozenModel):
    """Ensemble members: their coordinate values and their labels in key templates."""

    members: tuple[int, ...]
    member_labels: tuple[str, ...]

    @model_validator(mode="after")
    def _same_length(self) -> EnsembleSpec:
        if len(self.members) != len(self.member_labels):
            raise ValueError("members and member_labels must have the same length")
        return self


class LevelDimension(FrozenModel):
    """A vertical dimension shared by the variables of one level type (isobaric, sigma, ...).

    ``values`` is the coordinate (numbers, or text labels for layers such as ``"0.44-1"``);
    ``source_labels`` is how the producer writes each value in its index, in the same order.
    A variable on this dimension expects only its own levels; the others read as NaN.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    values: tuple[float, ...] | tuple[str, ...] = Field(min_length=1)
    source_labels: tuple[str, ...]
    units: str
    long_name: str
    standard_name: str | None = None
    positive: Literal["up", "down"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LevelDimension:
        if len(self.values) != len(self.source_labels):
            raise ValueError(f"{self.name}: values and source_labels differ in length")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"{self.name}: duplicate level values")
        return self

    def attrs(self) -> dict[str, str]:
        attrs = {"units": self.units, "long_name": self.long_name}
        if self.standard_name:
            attrs["standard_name"] = self.standard_name
        if self.positive:
            attrs["positive"] = self.positive
        return attrs

    def value_of(self, source_label: str) -> float | str:
        return self.values[self.source_labels.index(source_label)]


# --------------------------------------------------------------------------------------------
# Grids: each owns its dimensions, coordinates and how a message's grid is checked against it


LAMBERT_GRID_MAPPING = "lambert_conformal"
"""The name of a Lambert conformal grid's CF grid mapping variable."""
GRID_COORDINATE_NAMES = frozenset({"latitude", "longitude", "y", "x", "cell", LAMBERT_GRID_MAPPING})
"""Every name a grid's coordinates or grid mapping may take (no variable may)."""


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
    def dims(self) -> tuple[str, str]:
        return ("latitude", "longitude")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.nlat, self.nlon)

    def latitudes(self) -> np.ndarray:
        return np.linspace(self.lat_first, self.lat_last, self.nlat)

    def longitudes(self) -> np.ndarray:
        return np.linspace(self.lon_first, self.lon_last, self.nlon)

    def coordinates(self) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]]:
        """Coordinate name -> (dims, values, CF attrs)."""
        return {
            "latitude": (("latitude",), self.latitudes(), _LATITUDE_ATTRS),
            "longitude": (("longitude",), self.longitudes(), _LONGITUDE_ATTRS),
        }

    def grid_mapping(self) -> None:
        """None: latitude and longitude are the dims (CF's default, no grid mapping)."""
        return None

    def attributes(self) -> dict[str, object]:
        """Dataset attributes naming the grid: none, its coordinates say it all."""
        return {}

    def header_problems(self, grid: GridHeader) -> list[str]:
        """How a message's grid (section 3) differs from this one; empty when it is this one."""
        return _grid_problems(
            grid,
            template=(0, "regular lat/lon"),
            size=(self.nlon, self.nlat),
            points=(
                ("lat1", grid.first_latitude, self.lat_first),
                ("lon1", grid.first_longitude, self.lon_first % 360),
                ("lat2", grid.last_latitude, self.lat_last),
            ),
        )


class LambertConformalGrid(FrozenModel):
    """A Lambert conformal grid (GRIB template 3.30) in storage order: dims ``y``, ``x`` and
    2-D ``latitude``/``longitude`` computed from the projection parameters."""

    kind: Literal["lambert_conformal"] = "lambert_conformal"
    nx: int = Field(gt=0)
    ny: int = Field(gt=0)
    first_latitude: float
    first_longitude: float
    lov: float
    latin1: float
    latin2: float
    dx_metres: float
    dy_metres: float
    earth_radius_metres: float = 6371229.0
    scanning_mode: int = 64

    @property
    def dims(self) -> tuple[str, str]:
        return ("y", "x")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    def coordinates(self) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]]:
        """2-D ``latitude``/``longitude`` and the projection's 1-D ``y``/``x`` in metres (on
        :meth:`grid_mapping`'s projection)."""
        from vidx_pipeline.projections import (
            lambert_conformal_coordinates,
            lambert_conformal_projection_xy,
        )

        parameters = self.model_dump(exclude={"kind"})
        latitude, longitude = lambert_conformal_coordinates(**parameters)
        x, y = lambert_conformal_projection_xy(**parameters)
        return {
            "latitude": (("y", "x"), latitude, _LATITUDE_ATTRS),
            "longitude": (("y", "x"), longitude, _LONGITUDE_ATTRS),
            "y": (("y",), y, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "x": (("x",), x, {"standard_name": "projection_x_coordinate", "units": "m"}),
        }

    def grid_mapping(self) -> tuple[str, dict[str, object]]:
        """The CF grid mapping variable's name and attributes: the Lambert conformal conic
        projection of the spherical earth that ``y``/``x`` are on."""
        return LAMBERT_GRID_MAPPING, {
            "grid_mapping_name": "lambert_conformal_conic",
            "standard_parallel": [self.latin1, self.latin2],
            "longitude_of_central_meridian": self.lov,
            "latitude_of_projection_origin": self.latin1,
            "false_easting": 0.0,
            "false_northing": 0.0,
            "earth_radius": self.earth_radius_metres,
        }

    def attributes(self) -> dict[str, object]:
        """Dataset attributes naming the grid: none, its grid mapping says it all."""
        return {}

    def header_problems(self, grid: GridHeader) -> list[str]:
        return _grid_problems(
            grid,
            template=(30, "Lambert conformal"),
            size=(self.nx, self.ny),
            points=(
                ("lat1", grid.first_latitude, self.first_latitude),
                ("lon1", grid.first_longitude, self.first_longitude % 360),
                ("LoV", grid.lov, self.lov % 360),
            ),
        )


class UnstructuredGrid(FrozenModel):
    """An unstructured grid (GRIB template 3.101; ICON's icosahedral triangles): one dim,
    ``cell``, in the producer's cell order. A message names its grid (``numberOfGridUsed`` and
    ``uuidOfHGrid``) but holds no coordinates: those are in the grid file the UUID names
    (DWD's and MPI-M's grid files, named ``grid_file``). The template carries the number, UUID
    and file name as attributes and no latitude/longitude; where grid files are configured,
    :mod:`vidx_pipeline.grid_files` attaches the cells' positions from that file."""

    kind: Literal["unstructured"] = "unstructured"
    cells: int = Field(gt=0)
    grid_number: int = Field(ge=0, description="GRIB numberOfGridUsed (ICON-EU: 27).")
    grid_uuid: str = Field(
        pattern=r"^[0-9a-f]{32}$", description="GRIB uuidOfHGrid, 32 lowercase hex digits."
    )
    grid_file: str | None = Field(
        default=None,
        pattern=r"^[\w.-]+\.nc$",
        description="The grid file holding the cells' positions, as its producer names it "
        "(ICON-EU: icon_grid_0027_R03B08_N02.nc); found, plain or .bz2, where grid files are "
        "configured.",
    )

    @property
    def dims(self) -> tuple[str]:
        return ("cell",)

    @property
    def shape(self) -> tuple[int]:
        return (self.cells,)

    def coordinates(self) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]]:
        """No coordinates: the cells' positions are in the grid file, not in the messages."""
        return {}

    def grid_mapping(self) -> None:
        return None

    def attributes(self) -> dict[str, object]:
        attrs: dict[str, object] = {"grid_number": self.grid_number, "grid_uuid": self.grid_uuid}
        if self.grid_file is not None:
            attrs["grid_file"] = self.grid_file
        return attrs

    def header_problems(self, grid: GridHeader) -> list[str]:
        if grid.template != 101:
            return [f"grid template 3.{grid.template}, expected 3.101 (unstructured)"]
        problems = []
        if grid.number_of_points != self.cells:
            problems.append(f"{grid.number_of_points} grid points, expected {self.cells}")
        if (grid.grid_number, grid.grid_uuid) != (self.grid_number, self.grid_uuid):
            problems.append(
                f"grid number {grid.grid_number} UUID {grid.grid_uuid}, expected "
                f"{self.grid_number} {self.grid_uuid}"
            )
        return problems


def _grid_problems(
    grid: GridHeader,
    *,
    template: tuple[int, str],
    size: tuple[int, int],
    points: tuple[tuple[str, float | None, float], ...],
) -> list[str]:
    """How a message's grid differs from a spec grid of ``template`` (number, name), ``size``
    (points along x, along y) and reference ``points`` (name, the message's, the spec's), each
    to 1e-3 degrees; empty when it is that grid."""
    number, name = template
    if grid.template != number:
        return [f"grid template 3.{grid.template}, expected 3.{number} ({name})"]
    problems = []
    if (grid.ni, grid.nj) != size:
        problems.append(f"grid {grid.ni} x {grid.nj}, expected {size[0]} x {size[1]}")
    got = tuple(value for _, value, _ in points)
    expected = tuple(value for _, _, value in points)
    if any(g is None or abs(g - e) > 1e-3 for g, e in zip(got, expected, strict=True)):
        names = ", ".join(point for point, _, _ in points)
        problems.append(f"points {got}, expected {expected} ({names})")
    return problems


_LATITUDE_ATTRS = {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"}
_LONGITUDE_ATTRS = {
    "units": "degrees_east",
    "standard_name": "longitude",
    "long_name": "longitude",
}

Grid = Annotated[
    RegularLatLonGrid | LambertConformalGrid | UnstructuredGrid, Field(discriminator="kind")
]


# --------------------------------------------------------------------------------------------
# Variables


class InstantWindow(FrozenModel):
    """An instantaneous field."""

    kind: Literal["instant"] = "instant"


class StatisticalWindow(FrozenModel):
    """A field over a time window ending at the lead.

    ``start="reset"``: the window starts at the last bucket reset before the lead (every
    ``reset_hours``; GFS resets its buckets every 6 h, HRRR every hour). ``start="init"``: it
    runs from the initialization. At lead 0 the window is empty: most producers write no message
    there (the field is expected absent); ``at_lead_zero`` says this one writes a zero-length
    window (HRRR's ``0-0 day max fcst``).
    """

    kind: Literal["statistical"] = "statistical"
    statistic: Literal["acc", "ave", "max", "min"]
    start: Literal["reset", "init"] = "reset"
    reset_hours: int = Field(6, gt=0)
    at_lead_zero: bool = False

    def window_start(self, lead_hours: int) -> int:
        if self.start == "init" or lead_hours == 0:
            return 0
        return ((lead_hours - 1) // self.reset_hours) * self.reset_hours


WindowRule = Annotated[InstantWindow | StatisticalWindow, Field(discriminator="kind")]


class IndexMatch(FrozenModel):
    """Base of a provider's rule for finding a variable's messages in an index. Providers
    subclass it (e.g. ``vidx_pipeline.providers.noaa.Wgrib2Match``); only they read it."""

    kind: str


def _subclasses(base: type[IndexMatch]) -> list[type[IndexMatch]]:
    found = []
    for subclass in base.__subclasses__():
        found.append(subclass)
        found.extend(_subclasses(subclass))
    return found


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
    """One variable: one GRIB message per chunk, at every expected (lead, [member], [level]).

    Expected presence: nothing at lead 0 where ``expected_at_lead_zero`` is false or for a
    statistical window the producer leaves empty there (``StatisticalWindow.at_lead_zero``);
    on a level dimension, ``levels`` (coordinate values) at leads > 0 and
    ``levels_at_lead_zero`` (default: the same) at lead 0.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    attrs: VariableAttrs
    match: SerializeAsAny[IndexMatch]
    window: WindowRule = InstantWindow()
    expected_at_lead_zero: bool = True
    level_dimension: str | None = None
    levels: tuple[float, ...] | tuple[str, ...] = ()
    levels_at_lead_zero: tuple[float, ...] | tuple[str, ...] | None = None
    source_file: str | None = Field(
        None, description="Name of the source file kind holding it (None: the first)."
    )
    level_source_files: dict[str, tuple[float, ...] | tuple[str, ...]] | None = Field(
        None,
        description="Where the producer splits the variable's levels between file kinds: kind "
        "-> the levels that kind holds (every level in exactly one kind). Excludes "
        "source_file.",
    )
    only_at_leads: tuple[int, ...] | None = Field(
        None,
        description="The only source leads at which the dataset takes the variable (None: "
        "every lead the producer writes it). At other leads the producer's message is known "
        "and left out: neither missing nor new output (an analysis takes a windowed field only "
        "where its window is the hour before).",
    )
    dtype: Literal["float32", "float64"] = "float32"

    @field_validator("match", mode="before")
    @classmethod
    def _provider_match(cls, value: object) -> object:
        """A dumped spec validates back: a dict becomes the provider's own model of its kind."""
        if isinstance(value, dict):
            kinds = {c.model_fields["kind"].default: c for c in _subclasses(IndexMatch)}
            match_class = kinds.get(value.get("kind"))
            if match_class is None:
                raise ValueError(
                    f"unknown match kind {value.get('kind')!r}; known: {sorted(kinds)}"
                )
            return match_class.model_validate(value)
        return value

    @model_validator(mode="after")
    def _levels_with_dimension(self) -> VariableSpec:
        if (self.level_dimension is None) != (not self.levels):
            raise ValueError(f"{self.name}: levels go with a level_dimension, and only then")
        if self.level_source_files is not None:
            if self.source_file is not None or self.level_dimension is None:
                raise ValueError(
                    f"{self.name}: level_source_files splits the levels of a level dimension "
                    "and replaces source_file"
                )
            placed = [level for levels in self.level_source_files.values() for level in levels]
            every = {*self.levels, *(self.levels_at_lead_zero or ())}
            if len(placed) != len(set(placed)) or set(placed) != every:
                raise ValueError(
                    f"{self.name}: level_source_files must hold each of its levels exactly once"
                )
        return self

    def source_files(self, default: str) -> tuple[str, ...]:
        """Names of the file kinds holding the variable (``default``: the dataset's first)."""
        if self.level_source_files is not None:
            return tuple(self.level_source_files)
        return (self.source_file or default,)

    def expected_levels_in(
        self, file_kind: str, default: str, lead_hours: int, *, written: bool = False
    ) -> tuple[Label | None, ...]:
        """:meth:`expected_levels` (``written``: :meth:`written_levels`) found in files of kind
        ``file_kind`` (``default``: the dataset's first kind, which holds variables that name
        none)."""
        if file_kind not in self.source_files(default):
            return ()
        levels = self.written_levels(lead_hours) if written else self.expected_levels(lead_hours)
        if self.level_source_files is None:
            return levels
        here = set(self.level_source_files[file_kind])
        return tuple(level for level in levels if level in here)

    def expected_levels(self, lead_hours: int) -> tuple[Label | None, ...]:
        """Level values the dataset takes at ``lead_hours`` (``(None,)``: expected, no level
        dimension; ``()``: not expected at this lead)."""
        if self.only_at_leads is not None and lead_hours not in self.only_at_leads:
            return ()
        return self.written_levels(lead_hours)

    def written_levels(self, lead_hours: int) -> tuple[Label | None, ...]:
        """Level values the producer writes at ``lead_hours``, whether or not the dataset takes
        them (:attr:`only_at_leads`)."""
        if lead_hours == 0 and (
            not self.expected_at_lead_zero
            or (isinstance(self.window, StatisticalWindow) and not self.window.at_lead_zero)
        ):
            return ()
        if self.level_dimension is None:
            return (None,)
        if lead_hours == 0 and self.levels_at_lead_zero is not None:
            return self.levels_at_lead_zero
        return self.levels


# --------------------------------------------------------------------------------------------
# Operations


class SourceCycles(FrozenModel):
    """Where an analysis (a dataset by valid time) takes each step: from the producer's newest
    forecast cycle at or before it (cycles every ``frequency`` from ``start``), at lead =
    step - cycle, so leads 0 .. ``frequency`` - 1 step (GFS: f000 then f001-f005).

    One source per step: a newer cycle's leads start at its own time, so it never covers a step
    already taken from an older one, and a committed step is never replaced by another cycle
    (a re-published file of the same cycle is repaired as for every dataset).
    """

    start: dt.datetime
    frequency: dt.timedelta

    @field_validator("start")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def cycle_of(self, valid_time: dt.datetime) -> dt.datetime:
        """The newest cycle at or before ``valid_time``."""
        offset = valid_time.astimezone(dt.UTC) - self.start
        if offset < dt.timedelta(0):
            raise ValueError(f"{valid_time.isoformat()} is before the first source cycle")
        return self.start + (offset // self.frequency) * self.frequency


class PublicationSchedule(FrozenModel):
    """When the producer's files for a cycle appear, relative to the cycle (the partition time
    of a forecast; the source cycle of an analysis step: :meth:`DatasetSpec.source_cycle`)."""

    first_file_after: dt.timedelta = Field(description="Typical delay to the first file.")
    last_file_after: dt.timedelta = Field(description="Latest delay to the last file.")
    poll_ahead: dt.timedelta = Field(
        dt.timedelta(minutes=2),
        description="How long before the first file is due an operational run starts polling, "
        "so that the first file of a cycle is as quick to read as the others.",
    )


class DatasetSpec(FrozenModel):
    """The whole declaration of one virtual dataset."""

    dataset_id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str
    description: str
    attribution: str
    provider: str = Field(description="Name of the provider in vidx_pipeline.providers.")
    append_dimension: AppendDimension
    lead_times: LeadTimeSchedule | None
    grid: Grid
    ensemble: EnsembleSpec | None = None
    levels: tuple[LevelDimension, ...] = ()
    variables: tuple[VariableSpec, ...]
    source: SourceLayout
    publication: PublicationSchedule
    manifest_split_size: int = Field(
        1, gt=0, description="Append-dimension steps per manifest split of each variable."
    )
    source_cycles: SourceCycles | None = Field(
        None,
        description="An analysis drawn from forecast cycles: which cycle and lead feed each "
        "step. None: each partition is its own cycle (forecasts; analyses written at lead 0).",
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
            duplicates = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"{self.dataset_id}: duplicate variable names {duplicates}")
        reserved = {*self.grid.dims, *GRID_COORDINATE_NAMES, *self.non_grid_dims}
        reserved |= {"valid_time", "ingested"}
        if clash := reserved & set(names):
            raise ValueError(f"{self.dataset_id}: variable names {sorted(clash)} are reserved")
        if self.source_cycles is not None:
            self._check_source_cycles(self.source_cycles)
        level_names = {level.name for level in self.levels}
        for kind in self.source.files:
            if kind.per_member and self.ensemble is None:
                raise ValueError(
                    f"{self.dataset_id}: file kind {kind.name!r} uses {{member}} but the "
                    "dataset has no ensemble"
                )
        kinds = {kind.name: kind for kind in self.source.files}
        for variable in self.variables:
            named = variable.source_files(self.source.files[0].name)
            if unknown_kinds := set(named) - set(kinds):
                raise ValueError(
                    f"{self.dataset_id}: {variable.name} names no source file kind "
                    f"{', '.join(map(repr, sorted(unknown_kinds)))}; known: {sorted(kinds)}"
                )
            if len({kinds[name].compression for name in named}) > 1:
                raise ValueError(
                    f"{self.dataset_id}: {variable.name} comes from file kinds {named} with "
                    "different compressions; one array has one codec chain"
                )
            if variable.level_dimension is None:
                continue
            if variable.level_dimension not in level_names:
                raise ValueError(
                    f"{self.dataset_id}: {variable.name} is on undeclared level dimension "
                    f"{variable.level_dimension!r}"
                )
            values = set(self.level(variable.level_dimension).values)
            wanted = {*variable.levels, *(variable.levels_at_lead_zero or ())}
            if unknown := wanted - values:
                raise ValueError(
                    f"{self.dataset_id}: {variable.name} expects levels {sorted(map(str, unknown))}"
                    f" not on {variable.level_dimension}"
                )
        return self

    def _check_source_cycles(self, cycles: SourceCycles) -> None:
        """An analysis from forecast cycles steps along ``time``, reads each cycle at leads
        shorter than its cadence, and takes a windowed field only where one message covers
        exactly the step before (refs only: no arithmetic on values)."""
        append = self.append_dimension
        if append.name != "time" or self.lead_times is not None:
            raise ValueError(
                f"{self.dataset_id}: source_cycles is for an analysis (append dimension 'time', "
                "no lead_times)"
            )
        if cycles.frequency % append.frequency or (cycles.start - append.start) % (
            append.frequency
        ):
            raise ValueError(
                f"{self.dataset_id}: source cycles every {cycles.frequency} from "
                f"{cycles.start.isoformat()} are not on the {append.frequency} time axis"
            )
        step_hours = append.frequency / dt.timedelta(hours=1)
        for variable in self.variables:
            if not isinstance(variable.window, StatisticalWindow):
                continue
            leads = variable.only_at_leads
            if not leads or any(
                lead - variable.window.window_start(lead) != step_hours for lead in leads
            ):
                raise ValueError(
                    f"{self.dataset_id}: windowed {variable.name} must be taken only at leads "
                    f"where its window is the {append.frequency} before the step "
                    f"(only_at_leads={leads})"
                )

    def source_cycle(self, partition_time: dt.datetime) -> dt.datetime:
        """The producer's cycle whose files fill the partition (and whose publication schedule
        it follows): the partition itself, or an analysis step's newest source cycle."""
        if self.source_cycles is None:
            return partition_time
        return self.source_cycles.cycle_of(partition_time)

    def source_leads(self, partition_time: dt.datetime) -> tuple[int, ...]:
        """The leads of the source cycle's files that fill the partition: every lead of a
        forecast; the one lead of an analysis step (0 without source cycles)."""
        if self.source_cycles is None:
            return self.lead_hours
        cycle = self.source_cycles.cycle_of(partition_time)
        return (int((partition_time - cycle) / dt.timedelta(hours=1)),)

    @property
    def source_lead_hours(self) -> tuple[int, ...]:
        """Every lead at which files are read, over all partitions."""
        if self.source_cycles is None:
            return self.lead_hours
        step = self.append_dimension.frequency
        steps = self.source_cycles.frequency // step
        return tuple(int(k * step / dt.timedelta(hours=1)) for k in range(steps))

    def publication_deadline(self, partition_time: dt.datetime) -> dt.datetime:
        """When the producer's last file of the partition is due at the latest."""
        return self.source_cycle(partition_time) + self.publication.last_file_after

    def publication_due(self, partition_time: dt.datetime) -> dt.datetime:
        """When an operational run of the partition should start polling."""
        publication = self.publication
        return (
            self.source_cycle(partition_time)
            + publication.first_file_after
            - publication.poll_ahead
        )

    @property
    def partitioning(self) -> Literal["init_time", "valid_time"]:
        """Partitions are init times, or valid times for an analysis (append dim ``time``)."""
        return "valid_time" if self.append_dimension.name == "time" else "init_time"

    @property
    def lead_hours(self) -> tuple[int, ...]:
        return self.lead_times.hours if self.lead_times is not None else (0,)

    @property
    def non_grid_dims(self) -> tuple[str, ...]:
        """Append, lead and ensemble dims: those every variable has before its level and grid."""
        dims: list[str] = [self.append_dimension.name]
        if self.lead_times is not None:
            dims.append(LEAD_TIME)
        if self.ensemble is not None:
            dims.append(ENSEMBLE_MEMBER)
        return tuple(dims)

    def variable_dims(self, variable: VariableSpec) -> tuple[str, ...]:
        level = (variable.level_dimension,) if variable.level_dimension else ()
        return (*self.non_grid_dims, *level, *self.grid.dims)

    def chunk_shape(self, variable: VariableSpec) -> tuple[int, ...]:
        """One chunk is one GRIB message: a single step of every non-grid dimension."""
        grid_dims = len(self.grid.dims)
        return (*(1 for _ in self.variable_dims(variable)[:-grid_dims]), *self.grid.shape)

    @property
    def progress_dims(self) -> tuple[str, ...]:
        """Dims of the ``ingested`` progress flags: one flag per expected source file."""
        dims = list(self.non_grid_dims)
        if ENSEMBLE_MEMBER in dims and not any(k.per_member for k in self.source.files):
            dims.remove(ENSEMBLE_MEMBER)  # one file holds every member
        if len(self.source.files) > 1:
            dims.append(SOURCE_FILE)
        return tuple(dims)

    @property
    def refs_per_partition(self) -> int:  # not cached: model_copy would copy a stale value
        """How many chunks (messages) a complete partition holds (the most, for an analysis
        whose steps draw on different leads)."""
        members = len(self.ensemble.members) if self.ensemble is not None else 1
        per_lead = [
            sum(len(variable.expected_levels(lead)) for variable in self.variables)
            for lead in self.source_lead_hours
        ]
        total = max(per_lead) if self.source_cycles is not None else sum(per_lead)
        return members * total

    def level(self, name: str) -> LevelDimension:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(f"{self.dataset_id} has no level dimension {name!r}")

    def variable(self, name: str) -> VariableSpec:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(f"{self.dataset_id} has no variable {name!r}")

    def variables_in(self, file_kind: str) -> tuple[VariableSpec, ...]:
        """The variables found (at some level) in files of kind ``file_kind``."""
        default = self.source.files[0].name
        return tuple(v for v in self.variables if file_kind in v.source_files(default))

    def expected_levels_in(
        self, variable: VariableSpec, file_kind: str, lead_hours: int, *, written: bool = False
    ) -> tuple[Label | None, ...]:
        """The levels of ``variable`` the dataset takes from a file of kind ``file_kind`` at
        ``lead_hours`` (``written``: the levels the file holds, taken or not; ``(None,)``: the
        variable has no level dimension and the file holds it)."""
        return variable.expected_levels_in(
            file_kind, self.source.files[0].name, lead_hours, written=written
        )

    def compression_of(self, variable: VariableSpec) -> Literal["none", "bz2"]:
        """The object compression of the files holding ``variable`` (one for all of them)."""
        return self.source.kind(variable.source_files(self.source.files[0].name)[0]).compression
