"""The core's placement engine: the provider's table is checked against the spec when built,
and one pass over a file's entries gives its refs, what it lacked and what it added."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pytest

from vidx_pipeline.datasets import get_dataset
from vidx_pipeline.index_formats import get_format
from vidx_pipeline.index_formats.base import BadIndexError, IndexEntry, SourceObject
from vidx_pipeline.placement import build_table, place_entries, table_for
from vidx_pipeline.provider import Placement, Refused
from vidx_pipeline.providers import get_provider
from vidx_pipeline.refs import ChunkLocator
from vidx_pipeline.source_files import ExpectedFile, expected_files
from vidx_pipeline.spec import DatasetSpec

SPEC = get_dataset("noaa-gfs-forecast")
INIT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
NOAA = get_provider("noaa")
(F007,) = [f for f in expected_files(SPEC, INIT) if f.lead_hours == 7]


class _Edited:
    """The NOAA provider with its table for a file edited, as a buggy provider would give it."""

    name = "edited"
    lead_free_keys = False

    def __init__(self, edit: dict[str, list[Placement] | None]) -> None:
        self.edit = edit

    def check_spec(self, spec: DatasetSpec) -> None:
        NOAA.check_spec(spec)

    def expected_messages(
        self, spec: DatasetSpec, file: ExpectedFile
    ) -> Mapping[str, Sequence[Placement]]:
        table = dict(NOAA.expected_messages(spec, file))
        for key, placements in self.edit.items():
            if placements is None:
                del table[key]
            else:
                table[key] = placements
        return table

    def message_key(self, entry: IndexEntry, file: ExpectedFile) -> str | Refused:
        if entry.var == "BAD":
            raise ValueError("BAD is not a field of this file")
        return NOAA.message_key(entry, file)


DATA = SourceObject(F007.data_key, 100_000, INIT, None)


def _entries(lines: list[str]) -> Sequence[IndexEntry]:
    text = "".join(
        f"{n}:{1000 * n}:d={INIT:%Y%m%d%H}:{line}:\n" for n, line in enumerate(lines, start=1)
    )
    return get_format("wgrib2_idx").parse(text, index_url="i", data=DATA, data_url="d", init=INIT)


def test_a_table_that_fills_one_chunk_twice_is_a_provider_bug() -> None:
    twice = [("temperature_2m", {"lead_time": 7})]
    provider = _Edited({"TMP:2 m above ground:7 hour fcst": twice, "XTMP:2 m:7 hour fcst": twice})
    with pytest.raises(ValueError, match="both fill temperature_2m f007"):
        build_table(provider, ChunkLocator(SPEC), F007)


def test_a_table_without_a_place_for_an_expected_chunk_is_a_provider_bug() -> None:
    provider = _Edited({"TMP:500 mb:7 hour fcst": None})
    with pytest.raises(ValueError, match=r"no message for 1 chunks .* temperature_isobaric "):
        build_table(provider, ChunkLocator(SPEC), F007)


def test_labels_that_name_no_chunk_are_a_provider_bug() -> None:
    provider = _Edited({"TMP:2 m above ground:7 hour fcst": [("temperature_2m", {"lead": 7})]})
    with pytest.raises(ValueError, match="do not name a chunk"):
        build_table(provider, ChunkLocator(SPEC), F007)


def test_one_pass_places_reports_extra_and_missing_and_names_a_bad_line() -> None:
    locator = ChunkLocator(SPEC)
    table = build_table(NOAA, locator, F007)
    entries = _entries(
        [
            "TMP:2 m above ground:7 hour fcst",
            "TMP:500 mb:7 hour fcst",
            "TMP:2 m above ground:7 hour fcst",  # once more than the file has places for
            "NEWFIELD:surface:7 hour fcst",
        ]
    )
    placed = place_entries(
        NOAA, table, F007, entries, data=DATA, data_url="d", index_url="i", checksum=INIT
    )
    refs = placed.refs(locator)
    assert [(r.variable, dict(r.labels), r.offset) for r in refs] == [
        ("temperature_2m", {"lead_time": 7}, 1000),
        ("temperature_isobaric", {"lead_time": 7, "isobaric_level": 500.0}, 2000),
    ]
    assert placed.unplaced == [
        "TMP:2 m above ground:7 hour fcst (i line 3)",
        "NEWFIELD:surface:7 hour fcst (i line 4)",
    ]
    missing = {m.slot for m in placed.missing}
    assert len(missing) == table.expected_count - 2
    assert "temperature_isobaric isobaric_level=1000.0 f007" in missing
    assert "temperature_2m f007" not in missing

    bad = _entries(["TMP:2 m above ground:7 hour fcst", "BAD:surface:7 hour fcst"])
    with pytest.raises(BadIndexError, match="bad index i line 2: BAD is not a field"):
        place_entries(
            _Edited({}), table, F007, bad, data=DATA, data_url="d", index_url="i", checksum=INIT
        )


def test_a_lead_free_providers_table_is_another_leads_moved_to_it() -> None:
    """ECMWF's keys never name the step: one table per set of levels, moved to each lead, must
    be what the provider would have said at that lead itself (step 0 lacks the windowed
    fields, so it has a table of its own)."""
    spec = get_dataset("ecmwf-ifs-ens-forecast-15-day")
    provider = get_provider(spec.provider)
    assert provider.lead_free_keys
    locator = ChunkLocator(spec)
    files = expected_files(spec, INIT)
    for file in [*files[:3], *files[40:42], files[-1]]:
        moved = table_for(provider, locator, file)
        built = build_table(provider, ChunkLocator(spec), file)
        assert dict(moved.by_key) == dict(built.by_key), file.describe()
        assert moved.optional == built.optional
        assert moved.expected_count == built.expected_count
    assert dict(table_for(provider, locator, files[0]).by_key) != dict(
        table_for(provider, locator, files[1]).by_key
    )
