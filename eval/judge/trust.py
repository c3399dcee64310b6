"""When the judge abstains: its kappa against people per (dimension, topic, language) cell, and a gate.

The rule: a cell is *trusted* when the judge's Cohen's kappa against people there
is at least ``threshold`` (0.6 by default) on at least ``min_pairs`` pairs (50).
Outside trusted cells the judge abstains: ``gate_verdicts`` leaves its verdicts
out of the composite ratings, and ``human_first`` names the cells so the arena
can send such battles to people first.

Why 0.6: on Landis & Koch's (1977) scale 0.61-0.80 is "substantial" agreement,
the lowest band at which a second rater is commonly taken to stand in for the
first; the Kazakh judge paper reports judge-human kappa of 0.63 (CultSet) and
0.68 (GovSet), so the default asks of every cell what the published judge
reaches on average, and no more.

Choices, and why:

- Trust is earned. A cell with fewer than ``min_pairs`` pairs, an undefined
  kappa (both sides used one and the same label only) or no pairs at all is not
  trusted. For a judge that agrees three times in four, the 95% bootstrap CI
  of kappa spans about +-0.25 at 30 pairs and +-0.17 at 50: below 50 a cell's
  kappa cannot tell "moderate" (0.41-0.60) from "substantial".
- The point estimate decides, not the CI's lower bound: a judge as good as the
  published one (0.63-0.68) would need from a few hundred to over a thousand
  pairs in every cell before its lower bound cleared 0.6, so the arena would
  almost never use it. The CI is reported next to it so a reader sees how near
  the threshold a cell is.
- The three-class scale (A, tie, B): the judge's ties enter the composite too,
  so agreement on them counts.
- A cell is (dimension, topic, language): a judge can be fine on content and
  poor on language quality, fine on Kazakh Cyrillic and poor on Kazakh Latin.
  A missing topic is ``(none)`` (as in the report's ``by_topic``) and a missing
  language ``unknown``; those are cells like any other.
- A kappa that equals the threshold in exact arithmetic reaches it despite
  float rounding (tolerance 1e-9, far below any real difference).

Rows are plain mappings: pairs ``{dimension, topic, language, judge, human}``
(labels A|B|tie or model_a|model_b|tie|tie (bothbad); filter out ``invalid``
verdicts first), verdicts anything with ``dimension, topic, language``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from arena.agreement import GroupAgreement, agreement_by_group

__all__ = [
    "DEFAULT_MIN_PAIRS",
    "DEFAULT_THRESHOLD",
    "NO_TOPIC",
    "UNKNOWN_LANGUAGE",
    "Cell",
    "JudgeTrust",
    "TrustCell",
    "cell_of",
    "gate_verdicts",
    "human_first",
    "judge_trust",
]

DEFAULT_THRESHOLD = 0.6
DEFAULT_MIN_PAIRS = 50
NO_TOPIC = "(none)"
UNKNOWN_LANGUAGE = "unknown"
_TOLERANCE = 1e-9

Cell = tuple[str, str, str]  # (dimension, topic, language)
Row = TypeVar("Row", bound=Mapping[str, object])


def cell_of(row: Mapping[str, object]) -> Cell:
    """(dimension, topic, language) of a pair or verdict row; missing topic "(none)", language "unknown"."""
    topic, language = row.get("topic"), row.get("language")
    return (str(row["dimension"]), str(topic) if topic else NO_TOPIC, str(language) if language else UNKNOWN_LANGUAGE)


@dataclass(frozen=True)
class TrustCell:
    """The judge against people in one cell. ``kappa`` and the CI bounds are NaN when undefined."""

    dimension: str
    topic: str
    language: str
    n: int
    kappa: float
    ci_low: float
    ci_high: float
    trusted: bool
    reason: str

    @property
    def cell(self) -> Cell:
        return (self.dimension, self.topic, self.language)


@dataclass(frozen=True)
class JudgeTrust:
    """Every measured cell, sorted, with the rule that decided them (``level``: of the kappa CIs)."""

    cells: tuple[TrustCell, ...]
    threshold: float
    min_pairs: int
    level: float

    def trusts(self, cell: Cell) -> bool:
        """Whether the judge's verdicts count in ``cell``; a cell never measured is not trusted."""
        return any(c.trusted and c.cell == cell for c in self.cells)


def _decide(group: GroupAgreement, threshold: float, min_pairs: int) -> TrustCell:
    dimension, topic, language = (str(value) for _, value in group.group)
    result = group.agreement
    kappa = math.nan if result is None else result.kappa.kappa
    low, high = (math.nan, math.nan) if result is None else (result.ci.low, result.ci.high)
    if result is None or math.isnan(kappa):
        trusted, reason = False, group.note if result is None else result.kappa.note
    elif group.n < min_pairs:  # before the kappa: on few pairs a high kappa is too uncertain to earn trust
        trusted, reason = False, f"only {group.n} pairs (fewer than {min_pairs})"
    elif kappa >= threshold - _TOLERANCE:
        trusted, reason = True, f"kappa {kappa:.3f} >= {threshold:g} on {group.n} pairs"
    else:
        trusted, reason = False, f"kappa {kappa:.3f} < {threshold:g}"
    return TrustCell(dimension=dimension, topic=topic, language=language, n=group.n, kappa=kappa,
                     ci_low=low, ci_high=high, trusted=trusted, reason=reason)


def judge_trust(
    pairs: Iterable[Mapping[str, object]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_pairs: int = DEFAULT_MIN_PAIRS,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> JudgeTrust:
    """Kappa with bootstrap CI per (dimension, topic, language) and whether the judge is trusted there.

    pairs: one row per (judge verdict, human vote) on the same battle and dimension,
    ``{dimension, topic, language, judge, human}``. No pairs: no cell is trusted.
    """
    if not math.isfinite(threshold) or not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a kappa between -1 and 1, got {threshold!r}")
    if min_pairs < 1:
        raise ValueError(f"min_pairs must be at least 1, got {min_pairs!r}")
    rows = [dict(zip(("dimension", "topic", "language"), cell_of(p), strict=True), judge=p["judge"], human=p["human"])
            for p in pairs]
    groups = agreement_by_group(rows, ("dimension", "topic", "language"), label_a="judge", label_b="human",
                                rounds=rounds, seed=seed, level=level) if rows else ()
    return JudgeTrust(cells=tuple(_decide(g, threshold, min_pairs) for g in groups), threshold=float(threshold),
                      min_pairs=int(min_pairs), level=level)


def gate_verdicts(verdicts: Iterable[Row], trust: JudgeTrust) -> tuple[tuple[Row, ...], tuple[Row, ...]]:
    """(kept, abstained): verdict rows in trusted cells, and the rest (cells never measured included)."""
    trusted = {c.cell for c in trust.cells if c.trusted}
    kept: list[Row] = []
    abstained: list[Row] = []
    for row in verdicts:
        (kept if cell_of(row) in trusted else abstained).append(row)
    return tuple(kept), tuple(abstained)


def human_first(trust: JudgeTrust) -> frozenset[Cell]:
    """The measured cells where the judge is not trusted: battles there go to people first.

    Cells never measured are not trusted either, but cannot be listed: a battle whose
    cell is not ``trust.trusts(cell)`` needs people too.
    """
    return frozenset(c.cell for c in trust.cells if not c.trusted)
