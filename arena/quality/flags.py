"""Flags on annotators, each with its evidence, and the exclusion set for a leaderboard.

Flags are suggestions for an admin, who bans or clears them; ``annotators_to_exclude``
turns flags plus those decisions into the ids a leaderboard should leave out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from arena.quality.sequential import SequentialResult, sequential_outlier_test
from arena.quality.stats import AnnotatorStats, annotator_stats
from arena.quality.votes import prepare_votes

__all__ = ["Flag", "QualityReport", "QualityThresholds", "annotators_to_exclude", "assess_annotators"]

FLAG_KINDS = ("sequential_outlier", "gold_accuracy", "too_fast", "side_bias")


@dataclass(frozen=True)
class QualityThresholds:
    """When a statistic becomes a flag. Defaults are deliberately conservative."""

    alpha: float = 0.01  # sequential test level: flag when the e-value reaches 1/alpha
    min_pair_votes: int = 10  # others' votes a pair needs before it enters the test
    min_gold_accuracy: float = 0.6
    min_gold_votes: int = 5
    # About 1,000 characters of Kazakh prose take a careful reader 40-60 s; under 5 s
    # per 1,000 characters, at the median, nobody is reading both answers.
    min_seconds_per_kchar: float = 5.0
    min_timed_votes: int = 10
    max_side_bias_p: float = 1e-3
    min_decisive_votes: int = 20


@dataclass(frozen=True)
class Flag:
    annotator: str
    kind: str  # one of FLAG_KINDS
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    stats: tuple[AnnotatorStats, ...]
    sequential: tuple[SequentialResult, ...]
    flags: tuple[Flag, ...]
    thresholds: QualityThresholds

    def flagged(self) -> frozenset[str]:
        return frozenset(f.annotator for f in self.flags)


def _flags_for(s: AnnotatorStats, t: QualityThresholds) -> list[Flag]:
    flags = []
    if s.gold_accuracy is not None and s.gold_votes >= t.min_gold_votes and s.gold_accuracy < t.min_gold_accuracy:
        flags.append(Flag(
            s.annotator, "gold_accuracy",
            f"{s.gold_accuracy:.0%} correct on {s.gold_votes} gold battles (threshold {t.min_gold_accuracy:.0%})",
            {"gold_accuracy": s.gold_accuracy, "gold_votes": s.gold_votes},
        ))
    if (s.median_seconds_per_kchar is not None and s.timed_votes >= t.min_timed_votes
            and s.median_seconds_per_kchar < t.min_seconds_per_kchar):
        flags.append(Flag(
            s.annotator, "too_fast",
            f"median {s.median_seconds_per_kchar:.1f} s per 1,000 characters over {s.timed_votes} votes "
            f"(threshold {t.min_seconds_per_kchar:g} s)",
            {"median_seconds_per_kchar": s.median_seconds_per_kchar, "timed_votes": s.timed_votes},
        ))
    if (s.left_p_value is not None and s.decisive_votes >= t.min_decisive_votes
            and s.left_p_value < t.max_side_bias_p):
        flags.append(Flag(
            s.annotator, "side_bias",
            f"picked the left answer in {s.left_share:.0%} of {s.decisive_votes} decisive votes (p = {s.left_p_value:.2g})",
            {"left_share": s.left_share, "decisive_votes": s.decisive_votes, "p_value": s.left_p_value},
        ))
    return flags


def assess_annotators(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    dimension: str = "overall",
    thresholds: QualityThresholds | None = None,
    judge_column: str = "judge_winner",
) -> QualityReport:
    """Statistics, the sequential test and the flags for every annotator in ``rows``."""
    t = thresholds or QualityThresholds()
    votes = prepare_votes(rows, dimension=dimension, judge_column=judge_column)
    per_annotator = annotator_stats(votes)
    sequential = sequential_outlier_test(votes, alpha=t.alpha, min_pair_votes=t.min_pair_votes)
    flags: list[Flag] = []
    for result in sequential:
        if result.flagged:
            flags.append(Flag(
                result.annotator, "sequential_outlier",
                f"votes improbable under the pairs' outcome distributions: e-value reached {1 / t.alpha:g} "
                f"at vote {result.crossed_at} of {result.votes_tested} (max {result.max_e_value:.3g})",
                {"max_e_value": result.max_e_value, "crossed_at": result.crossed_at,
                 "votes_tested": result.votes_tested, "alpha": t.alpha},
            ))
    for s in per_annotator:
        flags.extend(_flags_for(s, t))
    flags.sort(key=lambda f: (f.annotator, FLAG_KINDS.index(f.kind)))
    return QualityReport(stats=per_annotator, sequential=sequential, flags=tuple(flags), thresholds=t)


def annotators_to_exclude(
    flags: Collection[Flag],
    *,
    banned: Collection[str] = (),
    cleared: Collection[str] = (),
    exclude_flagged: bool = True,
) -> frozenset[str]:
    """Annotator ids to leave out of a leaderboard.

    Banned annotators are always out; annotators with an open flag (not cleared by an
    admin) are out unless ``exclude_flagged`` is False.
    """
    out = set(banned)
    if exclude_flagged:
        out |= {f.annotator for f in flags if f.annotator not in set(cleared)}
    return frozenset(out)
