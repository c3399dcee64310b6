"""Exactly two contestants (say vanilla vs fine-tuned): the statistics that matter.

A two-model Bradley-Terry table says no more than the win rate, so report it directly:
the win rate of ``model_a`` with a Wilson score interval, once with ties excluded and
once with ties counted as half a win; a two-sided sign test on the decisive battles;
and the Elo gap 400 * log10(p / (1 - p)) for the ties-as-half win rate p, which is
exactly the two-model Bradley-Terry maximum-likelihood gap, with the Wilson interval
mapped through the same (monotone) function. A rate of 0 or 1 gives an infinite gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from arena.battle_table import A_WINS, B_WINS, TIE, BattleTable
from arena.ratings.bradley_terry import SCALE

__all__ = ["TwoModelStats", "WinRate", "two_model_stats", "wilson_interval"]


@dataclass(frozen=True)
class WinRate:
    """A proportion ``estimate`` = successes / n with its Wilson interval."""

    estimate: float
    low: float
    high: float
    n: float


@dataclass(frozen=True)
class TwoModelStats:
    """Head-to-head statistics of ``model_a`` against ``model_b`` (counts unweighted)."""

    model_a: str
    model_b: str
    wins_a: int
    wins_b: int
    ties: int
    win_rate_without_ties: WinRate | None  # None when every battle was a tie
    win_rate_ties_half: WinRate
    sign_test_p: float
    elo_gap: float
    elo_gap_low: float
    elo_gap_high: float
    level: float


def wilson_interval(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (successes may be fractional)."""
    if n <= 0:
        raise ValueError("Wilson interval needs n > 0")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, n], got {successes} of {n}")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _elo_gap(p: float) -> float:
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    return float(SCALE * np.log10(p / (1.0 - p)))


def two_model_stats(
    model_a: str, model_b: str, wins_a: int, wins_b: int, ties: int, *, level: float = 0.95
) -> TwoModelStats:
    """Statistics from the head-to-head counts of two models."""
    if min(wins_a, wins_b, ties) < 0:
        raise ValueError("counts must be non-negative")
    total = wins_a + wins_b + ties
    if total == 0:
        raise ValueError(f"no battles between {model_a!r} and {model_b!r}")
    decisive = wins_a + wins_b
    without_ties = None
    if decisive > 0:
        without_ties = WinRate(wins_a / decisive, *wilson_interval(wins_a, decisive, level), n=decisive)
    score = wins_a + ties / 2.0
    half = WinRate(score / total, *wilson_interval(score, total, level), n=total)
    sign_p = float(stats.binomtest(wins_a, decisive, 0.5).pvalue) if decisive > 0 else 1.0
    return TwoModelStats(
        model_a=model_a, model_b=model_b, wins_a=wins_a, wins_b=wins_b, ties=ties,
        win_rate_without_ties=without_ties, win_rate_ties_half=half, sign_test_p=sign_p,
        elo_gap=_elo_gap(half.estimate), elo_gap_low=_elo_gap(half.low), elo_gap_high=_elo_gap(half.high),
        level=level,
    )


def two_model_stats_from_table(table: BattleTable, *, first: str | None = None, level: float = 0.95) -> TwoModelStats:
    """Head-to-head statistics for a table with exactly two models, ``first`` against the other.

    ``first`` defaults to the first model in sorted order.
    """
    if len(table.models) != 2:
        raise ValueError(f"two-model statistics need exactly two models, got {len(table.models)}")
    first = table.models[0] if first is None else first
    if first not in table.models:
        raise ValueError(f"{first!r} is not one of the two models {table.models}")
    k = table.models.index(first)
    first_is_a = table.model_a == k  # where `first` sat in the model_a seat
    wins = int(np.sum((table.outcome == A_WINS) & first_is_a) + np.sum((table.outcome == B_WINS) & ~first_is_a))
    ties = int(np.sum(table.outcome == TIE))
    losses = table.n_battles - wins - ties
    return two_model_stats(first, table.models[1 - k], wins, losses, ties, level=level)
