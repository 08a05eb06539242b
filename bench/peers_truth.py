"""The peers benchmark's ground truth and its ref-for-ref comparison (:mod:`bench.peers`).

Ground truth comes from the encoded bytes, never from an index parser: every data object is
walked with ecCodes (each message's offset and ``totalLength``), the walk must agree with the
renderer's layout, and each message carries the field the renderer encoded (its inventory
line: element, level, window) and the digest of its bytes.

A built dataset is judged from its :class:`PlacedRef` s: where each ref sits (array, and the
labels its coordinates give the chunk: init, lead or valid time, level) and what it points to
(object key, offset and length; or, where the store does not expose them, the digest of the
bytes it reads). A ref is **wrong** if it points to no message, or if its labels denote
another field than the message it points to: another lead or init; an array holding another
family (element, kind of level, statistic) than its other refs; a statistical window of
another rule (running since init or the 6-hour bucket) than its array's; or a level label that
elsewhere in the dataset names another level of that kind. A message no right ref points to is
**missing**; refs beyond one per message are **extra**.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidx_offline.reference_decode import eccodes_message_ranges

BUCKET_HOURS = 6
"""GFS resets its statistical buckets every 6 hours."""
_WINDOW = re.compile(r"^(?P<start>\d+)-(?P<end>\d+) (?P<unit>hour|day) (?P<stat>\w+) fcst$")
_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
ROLES = ("init", "lead", "valid", "level")
"""What a non-spatial dimension's label says: hours since init (``init``: 0), the lead in
hours (``lead``, and ``valid``: valid time minus init), or a level (compared by consistency)."""
EXAMPLES = 4


def digest(data: bytes) -> bytes:
    """The identity of a message's bytes (what a store that hides offsets is checked by)."""
    return hashlib.blake2b(data, digest_size=16).digest()


@dataclass(frozen=True)
class TruthMessage:
    """One GRIB message of the archive: where it is, what it is."""

    key: str
    offset: int
    length: int
    digest: bytes
    lead: int
    element: str
    level: str
    window: str

    def describe(self) -> str:
        return f"{self.element}:{self.level}:{self.window} (f{self.lead:03d} @{self.offset})"

    @property
    def statistic(self) -> str:
        match = _WINDOW.match(self.window)
        return match["stat"] if match else "instant"

    @property
    def family(self) -> tuple[str, str, str]:
        """Element, kind of level (numbers blanked) and statistic: what one array holds."""
        return (self.element, _NUMBER.sub("#", self.level), self.statistic)

    @property
    def window_rules(self) -> frozenset[str]:
        """The rules the window satisfies: ``instant``; ``run`` (since init) and/or
        ``bucket`` (since the last 6-hour reset; both at leads 1-6)."""
        match = _WINDOW.match(self.window)
        if match is None:
            return frozenset({"instant"})
        scale = 24 if match["unit"] == "day" else 1
        start, end = int(match["start"]) * scale, int(match["end"]) * scale
        rules = set()
        if start == 0:
            rules.add("run")
        if end > 0 and start == ((end - 1) // BUCKET_HOURS) * BUCKET_HOURS:
            rules.add("bucket")
        return frozenset(rules or {self.window})


def file_truth(key: str, lead: int, data: bytes, layout: Sequence[object]) -> list[TruthMessage]:
    """Every message of one data object, from an ecCodes walk of its bytes, with the field the
    renderer encoded there (``layout``: its ``MessageInfo`` s, in order). Raises if the walk
    and the renderer disagree on any message's place."""
    with tempfile.NamedTemporaryFile(suffix=".grib2") as handle:
        handle.write(data)
        handle.flush()
        ranges = eccodes_message_ranges(Path(handle.name))
    rendered = [(m.offset, m.length) for m in layout]  # type: ignore[attr-defined]
    if ranges != rendered:
        raise ValueError(f"ecCodes walks {key} as {len(ranges)} messages unlike its renderer")
    return [
        TruthMessage(
            key=key,
            offset=offset,
            length=length,
            digest=digest(data[offset : offset + length]),
            lead=lead,
            element=info.line.element,  # type: ignore[attr-defined]
            level=info.line.level,  # type: ignore[attr-defined]
            window=info.line.window,  # type: ignore[attr-defined]
        )
        for (offset, length), info in zip(ranges, layout, strict=True)
    ]


@dataclass(frozen=True)
class PlacedRef:
    """One ref of a built dataset: where it sits and what it points to. ``labels`` are
    (dimension, role, value) of the chunk's non-spatial dimensions (see :data:`ROLES`)."""

    array: str
    labels: tuple[tuple[str, str, float | str], ...]
    length: int
    key: str | None = None
    offset: int | None = None
    digest: bytes | None = None


@dataclass
class Verdict:
    """The comparison of a dataset's refs with the ground truth."""

    refs: int = 0
    right: int = 0
    wrong: int = 0
    missing: int = 0
    extra: int = 0
    wrong_reasons: Counter[str] = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    missing_examples: list[str] = field(default_factory=list)
    missing_families: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "refs": self.refs,
            "right": self.right,
            "wrong": self.wrong,
            "missing": self.missing,
            "extra": self.extra,
            "wrong_reasons": dict(self.wrong_reasons.most_common()),
            "wrong_examples": self.wrong_examples,
            "missing_examples": self.missing_examples,
            "missing_by_family": dict(self.missing_families.most_common(8)),
        }


class Truth:
    """The messages of the files a dataset was built from."""

    def __init__(self, messages: Iterable[TruthMessage]) -> None:
        self.messages = list(messages)
        self.by_range = {(m.key, m.offset, m.length): m for m in self.messages}
        self.by_digest: dict[bytes, list[TruthMessage]] = defaultdict(list)
        for message in self.messages:
            self.by_digest[message.digest].append(message)

    def subset(self, keys: Iterable[str]) -> Truth:
        wanted = set(keys)
        return Truth(m for m in self.messages if m.key in wanted)

    def judge(self, refs: Sequence[PlacedRef]) -> Verdict:
        verdict = Verdict(refs=len(refs))
        resolved = self._resolve(refs)
        bad: dict[int, str] = {}
        for number, (ref, message) in enumerate(zip(refs, resolved, strict=True)):
            if message is None:
                bad[number] = "points to no message"
            elif reason := _label_mismatch(ref, message):
                bad[number] = reason
        bad.update(self._inconsistent(refs, resolved, bad))
        covered: Counter[TruthMessage] = Counter()
        for number, (ref, message) in enumerate(zip(refs, resolved, strict=True)):
            if number in bad:
                verdict.wrong += 1
                verdict.wrong_reasons[bad[number]] += 1
                if len(verdict.wrong_examples) < EXAMPLES:
                    what = message.describe() if message else f"{ref.key}@{ref.offset}"
                    verdict.wrong_examples.append(f"{ref.array} {ref.labels}: {what}")
            else:
                assert message is not None
                covered[message] += 1
        for message in self.messages:
            count = covered[message]
            if count == 0:
                verdict.missing += 1
                verdict.missing_families[":".join(message.family)] += 1
                if len(verdict.missing_examples) < EXAMPLES:
                    verdict.missing_examples.append(message.describe())
            else:
                verdict.right += 1
                verdict.extra += count - 1
        return verdict

    def _resolve(self, refs: Sequence[PlacedRef]) -> list[TruthMessage | None]:
        """The message each ref points to: by exact range, or by the digest of its bytes
        (identical messages, e.g. GFS's two ``0-h acc`` APCP lines at leads 1-6, are handed
        out in turn)."""
        handed: Counter[bytes] = Counter()
        resolved: list[TruthMessage | None] = []
        for ref in refs:
            if ref.key is not None and ref.offset is not None:
                resolved.append(self.by_range.get((ref.key, ref.offset, ref.length)))
            elif ref.digest is not None and (candidates := self.by_digest.get(ref.digest)):
                resolved.append(candidates[handed[ref.digest] % len(candidates)])
                handed[ref.digest] += 1
            else:
                resolved.append(None)
        return resolved

    @staticmethod
    def _inconsistent(
        refs: Sequence[PlacedRef], resolved: Sequence[TruthMessage | None], bad: dict[int, str]
    ) -> dict[int, str]:
        """Refs whose array or level label disagrees with the rest of the dataset."""
        families: dict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
        rules: dict[str, Counter[str]] = defaultdict(Counter)
        levels: dict[tuple[str, float | str, str], Counter[str]] = defaultdict(Counter)
        good = [
            (n, ref, message)
            for n, (ref, message) in enumerate(zip(refs, resolved, strict=True))
            if message is not None and n not in bad
        ]
        for _, ref, message in good:
            families[ref.array][message.family] += 1
            rules[ref.array].update(message.window_rules)
            for dim, role, value in ref.labels:
                if role == "level":
                    levels[(dim, value, message.family[1])][message.level] += 1
        found: dict[int, str] = {}
        for n, ref, message in good:
            if message.family != families[ref.array].most_common(1)[0][0]:
                found[n] = "array holds another field"
            elif rules[ref.array].most_common(1)[0][0] not in message.window_rules:
                found[n] = "another statistical window"
            elif any(
                role == "level"
                and message.level != levels[(dim, value, message.family[1])].most_common(1)[0][0]
                for dim, role, value in ref.labels
            ):
                found[n] = "level label names another level"
        return found


def _label_mismatch(ref: PlacedRef, message: TruthMessage) -> str | None:
    for _, role, value in ref.labels:
        if role == "init" and (not isinstance(value, float) or abs(value) > 1e-6):
            return "another init"
        if role in ("lead", "valid") and (
            not isinstance(value, float) or abs(value - message.lead) > 1e-6
        ):
            return "another lead"
    return None
