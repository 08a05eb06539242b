"""Completeness, tiered: a partition still inside its publication window is judged against the
files the producer has listed so far; a past partition against everything the spec expects.
Reported as the fraction of expected chunks holding a ref, overall, per variable and per lead.
"""

from __future__ import annotations

from collections import Counter

from vidx_pipeline.checks.base import (
    CheckInputs,
    CheckKind,
    CheckOutcome,
    bullet_list,
    markdown_table,
    partition_label,
)
from vidx_pipeline.refs import locator_for
from vidx_pipeline.source_files import expected_files, list_partition, published_files
from vidx_pipeline.validation import slot_states

WORST_SHOWN = 20


def completeness(inputs: CheckInputs) -> CheckOutcome:
    spec = inputs.repository.spec
    locator = locator_for(spec)
    expected_by: dict[str, Counter[str]] = {"variable": Counter(), "lead": Counter()}
    present_by: dict[str, Counter[str]] = {"variable": Counter(), "lead": Counter()}
    rows = []
    absent: list[str] = []  # chunks an ingested file lacks
    not_ingested: list[str] = []
    files_judged = files_ingested = 0
    for when in inputs.partition_times:
        files = expected_files(spec, when)
        in_window = inputs.now < spec.publication_deadline(when)
        judged = published_files(files, list_partition(inputs.store, files)) if in_window else files
        flagged, states = slot_states(inputs.repository, when, judged)
        files_judged += len(judged)
        files_ingested += flagged
        found = 0
        for state in states:
            variable = state.slot[0]
            lead = f"{locator.labels(state.slot).get('lead_time', '-')}"
            expected_by["variable"][variable] += 1
            expected_by["lead"][lead] += 1
            if state.flagged and state.has_ref:
                found += 1
                present_by["variable"][variable] += 1
                present_by["lead"][lead] += 1
            elif state.flagged:
                absent.append(f"{partition_label(when)}: {state.label}")
        unflagged = dict.fromkeys(s.file.describe() for s in states if not s.flagged)
        not_ingested.extend(f"{partition_label(when)}: {f} not ingested" for f in unflagged)
        tier = "publishing (listed files)" if in_window else "past (every file)"
        rows.append((partition_label(when), tier, len(judged), flagged, len(states), found))
    expected = sum(expected_by["variable"].values())
    present = sum(present_by["variable"].values())
    fraction = present / expected if expected else 1.0
    passed = present == expected and files_ingested == files_judged
    details = [
        markdown_table(
            ("partition", "judged against", "files", "ingested", "chunks expected", "with ref"),
            rows,
        )
    ]
    for dimension in ("variable", "lead"):
        worst = sorted(
            (present_by[dimension][key] / total, key)
            for key, total in expected_by[dimension].items()
            if present_by[dimension][key] < total
        )[:WORST_SHOWN]
        if worst:
            details.append(
                f"**Least complete by {dimension}**\n\n"
                + markdown_table(
                    (dimension, "fraction present"), [(k, f"{f:.3f}") for f, k in worst]
                )
            )
    if not_ingested:
        details.append("**Files not ingested**\n\n" + bullet_list(not_ingested))
    if absent:
        details.append("**Absent from ingested files**\n\n" + bullet_list(absent))
    return CheckOutcome(
        passed=passed,
        severity="warn",
        summary=f"{present}/{expected} expected chunks hold a ref ({fraction:.4f}); "
        f"{files_ingested}/{files_judged} files ingested",
        details="\n\n".join(details),
        numbers={
            "fraction_present": fraction,
            "chunks_expected": expected,
            "chunks_present": present,
            "files_judged": files_judged,
            "files_ingested": files_ingested,
            "variables_incomplete": sum(
                present_by["variable"][k] < n for k, n in expected_by["variable"].items()
            ),
        },
    )


COMPLETENESS = CheckKind(
    "completeness",
    "Every expected chunk holds a ref: partitions still publishing are judged against the "
    "files listed so far, past ones against everything the spec expects; fraction present "
    "per variable and per lead.",
    completeness,
)
