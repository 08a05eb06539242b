"""Decode health: a sample of committed chunks per partition (every variable at least once, plus
``decode_samples`` more) read the way a reader reads them, and each message's own metadata
compared with what its chunk claims.

For each sampled chunk: the bytes come from the repository's store (the virtual ref, checksum
verified, exactly what a reader gets) and the values through the array's codec chain (Zarr,
``gribberish``). A decode error, an all-NaN field, or a disagreement between the message's own
metadata (read from those bytes: :mod:`vidx_pipeline.message_facts`) and the chunk fails the
check: reference time, forecast time or statistical window, ensemble member, grid (template,
shape, first/last points), and the parameter and level, which the dataset's provider judges.
"""

from __future__ import annotations

import bz2
import datetime as dt
import random
from collections.abc import Mapping

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from vidx_pipeline.checks.base import (
    CheckInputs,
    CheckKind,
    CheckOutcome,
    bullet_list,
    partition_label,
)
from vidx_pipeline.message_facts import MessageFacts, MessageFactsError, read_message_facts
from vidx_pipeline.providers import get_provider
from vidx_pipeline.refs import locator_for
from vidx_pipeline.spec import (
    ENSEMBLE_MEMBER,
    LEAD_TIME,
    DatasetSpec,
    InstantWindow,
    Label,
    StatisticalWindow,
    VariableSpec,
)
from vidx_pipeline.validation import SlotState, slot_states


def _sample(states: list[SlotState], extra: int, seed: int) -> list[SlotState]:
    """One committed chunk of every variable, then ``extra`` more, reproducibly per partition."""
    rng = random.Random(seed)
    present = [s for s in states if s.flagged and s.has_ref]
    by_variable: dict[str, list[SlotState]] = {}
    for state in present:
        by_variable.setdefault(state.slot[0], []).append(state)
    chosen = [rng.choice(group) for group in by_variable.values()]
    taken = {state.slot for state in chosen}
    rest = [s for s in present if s.slot not in taken]
    return chosen + rng.sample(rest, min(extra, len(rest)))


def time_problems(
    spec: DatasetSpec,
    variable: VariableSpec,
    labels: Mapping[str, Label],
    when: dt.datetime,
    facts: MessageFacts,
) -> list[str]:
    """Reference time, forecast time or window, and member of the message against the chunk
    (whose reference time is the partition's source cycle, and lead its ``lead_time`` label or,
    in an analysis, the partition's source lead)."""
    problems = []
    cycle = spec.source_cycle(when)
    if facts.reference_time != cycle:
        problems.append(f"reference time {facts.reference_time:%Y-%m-%dT%H:%M}")
    lead = labels.get(LEAD_TIME) if spec.lead_times is not None else spec.source_leads(when)[0]
    if isinstance(lead, int):
        valid = cycle + dt.timedelta(hours=lead)
        match variable.window:
            case InstantWindow():
                if facts.forecast_time != valid:
                    problems.append(f"valid time {facts.forecast_time:%Y-%m-%dT%H:%M}")
            case StatisticalWindow():
                start = cycle + dt.timedelta(hours=variable.window.window_start(lead))
                if (facts.forecast_time, facts.forecast_end) != (start, valid):
                    end = f"{facts.forecast_end:%Y-%m-%dT%H:%M}" if facts.forecast_end else "none"
                    problems.append(
                        f"window {facts.forecast_time:%Y-%m-%dT%H:%M} to {end}, expected "
                        f"{start:%Y-%m-%dT%H:%M} to {valid:%Y-%m-%dT%H:%M}"
                    )
    member = labels.get(ENSEMBLE_MEMBER)
    if member is not None and facts.perturbation_number != member:
        problems.append(f"ensemble member {facts.perturbation_number}")
    problems += [f"grid: {p}" for p in spec.grid.header_problems(facts.header.grid)]
    return problems


def decode_health(inputs: CheckInputs) -> CheckOutcome:
    spec = inputs.repository.spec
    locator = locator_for(spec)
    provider = get_provider(spec.provider)
    store = inputs.repository.readonly_session().store
    group = zarr.open_group(store, mode="r")
    prototype = default_buffer_prototype()
    grid = [0] * len(spec.grid.dims)
    problems: list[str] = []
    decoded = 0
    for when in inputs.partition_times:
        position = spec.append_dimension.index_of(when)
        seed = int(when.timestamp())
        for state in _sample(slot_states(inputs.repository, when)[1], inputs.decode_samples, seed):
            variable_name, index = state.slot
            variable = spec.variable(variable_name)
            labels = locator.labels(state.slot)
            coords = [position, *index, *grid]
            source = spec.source.store.url_prefix + state.file.data_key
            where = f"{partition_label(when)} {state.label} (chunk {coords}, from {source})"
            key = f"{variable_name}/c/" + "/".join(map(str, coords))
            try:
                raw = sync(store.get(key, prototype))
                array = group[variable_name]
                assert isinstance(array, zarr.Array)
                values = np.asarray(array[(position, *index)])
            except Exception as error:  # any decode or read failure is the finding itself
                problems.append(f"{where}: unreadable: {type(error).__name__}: {error}")
                continue
            decoded += 1
            if raw is None:
                problems.append(f"{where}: no bytes behind the ref")
                continue
            if np.isnan(values).all():
                problems.append(f"{where}: every value is NaN")
            message = raw.to_bytes()
            if spec.compression_of(variable) == "bz2":
                message = bz2.decompress(message)
            try:
                facts = read_message_facts(message, source=where)
            except MessageFactsError as error:
                problems.append(f"{where}: {error}")
                continue
            disagreements = time_problems(spec, variable, labels, when, facts)
            disagreements += provider.message_problems(spec, variable, labels, facts)
            if disagreements:
                problems.append(f"{where}: the message says " + "; ".join(disagreements))
    return CheckOutcome(
        passed=not problems,
        severity="error",
        summary=f"{decoded} chunks decoded, {len(problems)} problems",
        details=bullet_list(problems)
        if problems
        else f"{decoded} sampled chunks decode, and their messages say what their chunks claim.",
        numbers={"chunks_decoded": decoded, "problems": len(problems)},
    )


DECODE_HEALTH = CheckKind(
    "decode_health",
    "A sample of committed chunks (every variable at least once) decodes through the reader's "
    "path to values that are not all NaN, and each message's own metadata (parameter, level, "
    "times, member, grid) agrees with its chunk.",
    decode_health,
)
