"""Assemble a leaderboard: ratings, intervals, rank (UB), counts, matrices, and a header.

``build_leaderboard`` works on one ``BattleTable`` (one dimension, one topic);
``build_leaderboards`` loops over the dimensions and topics present in the rows.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from arena.battle_table import (
    A_WINS,
    B_WINS,
    DIMENSIONS,
    TIE,
    WINNER_COLUMNS,
    BattleTable,
    NoBattlesError,
    SkipCounts,
    prepare_battles,
    topics,
)
from arena.ratings import intervals, separation
from arena.ratings.bootstrap import bootstrap_bradley_terry
from arena.ratings.bradley_terry import CENTER, DEFAULT_ALPHA, Anchor, fit_bradley_terry
from arena.ratings.length_control import (
    LengthRows,
    bootstrap_length_controlled,
    fit_length_controlled,
    length_controlled_covariance,
)
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import bradley_terry_covariance
from arena.ratings.two_models import TwoModelStats, two_model_stats_from_table

logger = logging.getLogger(__name__)

__all__ = ["Leaderboard", "LeaderboardHeader", "LeaderboardRow", "build_leaderboard", "build_leaderboards"]

CI_METHODS = ("bootstrap", "sandwich")
DEFAULT_MIN_VOTES = 30


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    rating: float
    ci_low: float
    ci_high: float
    rank_ub: int
    votes: int
    wins: int
    losses: int
    ties: int
    provisional: bool
    group: int = 1  # models rated together: they met, directly or through others
    unbounded: str | None = None  # "above", "below" or "apart" when separated from the group's core
    separated_rounds: int | None = None  # bootstrap resamples in which it had no loss or no win


@dataclass(frozen=True)
class LeaderboardHeader:
    method: str
    ci_method: str
    ci_level: float
    rounds: int | None
    seed: int | None
    failed_rounds: int
    scale: str
    anchor: str
    alpha: float
    ipw: bool
    length_coef: float | None
    dimension: str
    topic: str | None
    min_votes: int
    n_battles: int
    n_models: int
    data_hash: str
    skipped: SkipCounts
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leaderboard:
    """Rows sorted by rating; matrices of shape (n_models, n_models) in ``models`` order.

    ``win_rates[i, j]`` is the share of battles of models[i] against models[j] that i
    won (ties half); NaN where the two never met.
    """

    header: LeaderboardHeader
    rows: tuple[LeaderboardRow, ...]
    models: tuple[str, ...]
    battle_counts: np.ndarray
    win_rates: np.ndarray
    two_models: TwoModelStats | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"header": ..., "rows": [...]}`` (+ ``two_models`` when there are two)."""
        out: dict[str, Any] = {"header": _finite(asdict(self.header)), "rows": [_finite(asdict(r)) for r in self.rows]}
        if self.two_models is not None:
            out["two_models"] = _finite(asdict(self.two_models))
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])


def _finite(value: Any) -> Any:
    """Strict JSON: non-finite floats as None, numpy scalars and arrays as Python values, dates as YYYY-MM-DD."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="D"))
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def data_hash(table: BattleTable) -> str:
    """Order-independent hash of the battles that enter the fit (for caching and provenance)."""
    columns: dict[str, Any] = {
        "a": np.asarray(table.models, dtype=object)[table.model_a],
        "b": np.asarray(table.models, dtype=object)[table.model_b],
        "outcome": table.outcome, "weight": table.weight,
    }
    if table.len_a is not None and table.len_b is not None:
        columns["len_a"], columns["len_b"] = table.len_a, table.len_b
    # who voted and when enter the analyses read beside the board (scrutiny), so they are part of the data
    if table.annotator is not None:
        columns["annotator"] = table.annotator
    if table.tstamp is not None:
        columns["tstamp"] = table.tstamp
    row_hashes = np.sort(pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy())
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()[:16]


def _counts(table: BattleTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(table.models)
    a_won = table.outcome == A_WINS
    b_won = table.outcome == B_WINS
    tie = table.outcome == TIE
    wins = np.bincount(table.model_a[a_won], minlength=n) + np.bincount(table.model_b[b_won], minlength=n)
    losses = np.bincount(table.model_b[a_won], minlength=n) + np.bincount(table.model_a[b_won], minlength=n)
    ties = np.bincount(table.model_a[tie], minlength=n) + np.bincount(table.model_b[tie], minlength=n)
    return wins, losses, ties


def _matrices(unweighted: PairCounts) -> tuple[np.ndarray, np.ndarray]:
    battles = unweighted.battle_matrix()
    won = unweighted.win_matrix()
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(battles > 0, won / battles, np.nan)
    return battles, rates


def data_warnings(pairs: PairCounts) -> tuple[str, ...]:
    """Say when the battles cannot give finite, comparable ratings, and what the table does about it."""
    group = separation.groups(pairs.battle_matrix())
    won = pairs.win_matrix()
    notes = []
    n_groups = int(group.max()) + 1
    if n_groups > 1:
        notes.append(f"the models form {n_groups} groups that never met each other: each group is rated and ranked "
                     "on its own (column group), and ratings of different groups are not comparable")
    never_lost = [m for i, m in enumerate(pairs.models) if not (won[:, i] > 0).any()]
    never_won = [m for i, m in enumerate(pairs.models) if not (won[i, :] > 0).any()]
    separated = any(
        side is not None
        for g in range(n_groups)
        for side in separation.separated_sides(won[np.ix_(group == g, group == g)])
    )
    if separated:
        detail = "; ".join(
            part for part in (
                f"never lost: {', '.join(never_lost)}" if never_lost else "",
                f"never won: {', '.join(never_won)}" if never_won else "",
            ) if part
        )
        notes.append(
            "separated data, so the maximum-likelihood ratings are infinite and the regularization alpha sets them"
            + (f" ({detail})" if detail else "")
            + "; those models are marked unbounded and the open side of their interval is infinite"
        )
    return tuple(notes)


def _dropped_rounds_warning(failed: int, rounds: int) -> tuple[str, ...]:
    """Dropped resamples shift the bounds of the models they would have separated: say so, never silently."""
    if not failed:
        return ()
    return (f"{failed} of {rounds} bootstrap rounds had no finite fit (a resample left a model without a loss or a win) "
            f"and were left out, so the intervals of low-count models are too narrow; set a regularization alpha > 0",)


def _alpha_sensitive_warning(models: Sequence[str], separated: np.ndarray, rounds: int, level: float) -> tuple[str, ...]:
    """A model separated in more resamples than the interval's tail holds has a bound the regulariser sets."""
    tail = (1.0 - level) / 2.0
    names = [f"{m} ({k} of {rounds})" for m, k in zip(models, separated, strict=True) if k > tail * rounds]
    if not names:
        return ()
    return (f"no loss or no win in more than the {tail:.1%} tail of the bootstrap resamples: {', '.join(names)}; "
            "their bootstrap bounds move with the regularization alpha, so read them as rough",)


@dataclass(frozen=True)
class _Rated:
    """One connected group's ratings; ``separated`` is None unless the Bradley-Terry bootstrap counted it."""

    result: intervals.RatingIntervals
    failed: int
    separated: np.ndarray | None
    length_coef: float | None


def _rate(table: BattleTable, *, ci: str, rounds: int, seed: int | None, scaling: dict[str, Any],
          alpha: float, length_control: bool) -> _Rated:
    if length_control:
        rows = LengthRows.from_table(table)
        lc_fit = fit_length_controlled(rows, alpha=alpha)
        if ci == "bootstrap":
            samples = bootstrap_length_controlled(rows, lc_fit, rounds=rounds, seed=seed)
            result = intervals.from_samples(lc_fit.theta, samples.theta, table.models, **scaling)
            return _Rated(result, samples.n_failed, None, lc_fit.length_coef)
        cov = length_controlled_covariance(rows, lc_fit)
        return _Rated(intervals.from_covariance(lc_fit.theta, cov, table.models, **scaling), 0, None, lc_fit.length_coef)
    pairs = PairCounts.from_table(table)
    fit = fit_bradley_terry(pairs, alpha=alpha)
    if ci == "bootstrap":
        samples = bootstrap_bradley_terry(pairs, fit, rounds=rounds, seed=seed)
        result = intervals.from_samples(fit.theta, samples.theta, table.models, **scaling)
        return _Rated(result, samples.n_failed, samples.separated, None)
    cov = bradley_terry_covariance(pairs, fit.theta)
    return _Rated(intervals.from_covariance(fit.theta, cov, table.models, **scaling), 0, None, None)


def _group_table(table: BattleTable, members: np.ndarray) -> BattleTable:
    """The battles among ``members`` (sorted model indices), re-indexed; the whole table when that is everyone."""
    if members.size == len(table.models):
        return table
    keep = np.isin(table.model_a, members)
    index = np.full(len(table.models), -1, dtype=np.int64)
    index[members] = np.arange(members.size)
    return replace(
        table, models=tuple(table.models[i] for i in members), model_a=index[table.model_a[keep]],
        model_b=index[table.model_b[keep]], outcome=table.outcome[keep], weight=table.weight[keep],
        len_a=None if table.len_a is None else table.len_a[keep], len_b=None if table.len_b is None else table.len_b[keep],
        annotator=None if table.annotator is None else table.annotator[keep],
        tstamp=None if table.tstamp is None else table.tstamp[keep],
    )


def build_leaderboard(
    table: BattleTable,
    *,
    ci: str = "bootstrap",
    rounds: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
    anchor: Anchor | None = None,
    center: float = CENTER,
    min_votes: int = DEFAULT_MIN_VOTES,
    alpha: float = DEFAULT_ALPHA,
    length_control: bool = False,
) -> Leaderboard:
    """Fit Bradley-Terry (or its length-controlled form) and assemble the table.

    Each group of models that met (directly or through others) is rated and ranked on its
    own, centred at ``center`` (the anchor's group at the anchor); a model separated from
    its group's core is marked unbounded and the open side of its interval is infinite.
    """
    if ci not in CI_METHODS:
        raise ValueError(f"Unknown ci method: {ci!r}; choose one of {', '.join(CI_METHODS)}")
    if anchor is not None and anchor.model not in table.models:
        raise ValueError(f"anchor model {anchor.model!r} is not in the data; models: {', '.join(table.models)}")
    n = len(table.models)
    unweighted = PairCounts.from_arrays(table.models, table.model_a, table.model_b, table.outcome)
    battles, rates = _matrices(unweighted)
    won = unweighted.win_matrix()
    group = separation.groups(battles)
    rating, low, high = np.zeros(n), np.zeros(n), np.zeros(n)
    rank_ub, separated_rounds = np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    unbounded: list[str | None] = [None] * n
    failed, length_coef, warnings = 0, None, data_warnings(unweighted)
    for g in range(int(group.max()) + 1):
        members = np.flatnonzero(group == g)
        part = _group_table(table, members)
        in_group = anchor if anchor is not None and anchor.model in part.models else None
        rated = _rate(part, ci=ci, rounds=rounds, seed=seed, alpha=alpha, length_control=length_control,
                      scaling={"anchor": in_group, "center": center, "level": level})
        g_low, g_high = rated.result.ci_low.copy(), rated.result.ci_high.copy()
        sides = separation.separated_sides(won[np.ix_(members, members)])
        for k, side in enumerate(sides):
            g_high[k] = np.inf if side in (separation.ABOVE, separation.APART) else g_high[k]
            g_low[k] = -np.inf if side in (separation.BELOW, separation.APART) else g_low[k]
            unbounded[members[k]] = side
        rating[members], low[members], high[members] = rated.result.rating, g_low, g_high
        rank_ub[members] = intervals.rank_upper_bound(g_low, g_high)
        failed += rated.failed
        length_coef = rated.length_coef if g == 0 else length_coef
        if rated.separated is not None:
            separated_rounds[members] = rated.separated
            bounded = [k for k, side in enumerate(sides) if side is None]
            warnings += _alpha_sensitive_warning([part.models[k] for k in bounded], rated.separated[bounded], rounds, level)

    wins, losses, ties = _counts(table)
    votes = wins + losses + ties
    order = np.lexsort((-rating, group))
    rows_out = tuple(
        LeaderboardRow(
            model=table.models[i], rating=float(rating[i]), ci_low=float(low[i]), ci_high=float(high[i]),
            rank_ub=int(rank_ub[i]), votes=int(votes[i]), wins=int(wins[i]), losses=int(losses[i]), ties=int(ties[i]),
            provisional=bool(votes[i] < min_votes), group=int(group[i]) + 1, unbounded=unbounded[i],
            separated_rounds=None if separated_rounds[i] < 0 else int(separated_rounds[i]),
        )
        for i in order
    )
    two = None
    if n == 2:
        two = two_model_stats_from_table(table, first=table.models[order[0]], level=level)
    header = LeaderboardHeader(
        method="bradley-terry, length-controlled" if length_control else "bradley-terry",
        ci_method=ci, ci_level=level, rounds=rounds if ci == "bootstrap" else None,
        seed=seed if ci == "bootstrap" else None, failed_rounds=failed,
        scale="400*log10 (Elo) points",
        anchor=anchor.describe() if anchor is not None else f"mean rating {center:g}",
        alpha=alpha, ipw=table.ipw, length_coef=length_coef, dimension=table.dimension, topic=table.topic,
        min_votes=min_votes, n_battles=table.n_battles, n_models=n,
        data_hash=data_hash(table), skipped=table.skipped,
        warnings=warnings + _dropped_rounds_warning(failed, rounds),
    )
    return Leaderboard(header=header, rows=rows_out, models=table.models, battle_counts=battles, win_rates=rates, two_models=two)


def build_leaderboards(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    dimensions: Sequence[str] = DIMENSIONS,
    by_topic: bool = True,
    exclude_annotators: Sequence[str] = (),
    exclude_flagged: bool = False,
    drop_invalid: bool = False,
    ipw: bool = False,
    **options: Any,
) -> dict[tuple[str, str | None], Leaderboard]:
    """One leaderboard per (dimension, topic) with votes; topic None means all topics.

    ``options`` go to ``build_leaderboard``. Dimensions without any vote are skipped.
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    wanted_topics: list[str | None] = [None] + (topics(frame) if by_topic else [])
    boards: dict[tuple[str, str | None], Leaderboard] = {}
    for dimension in dimensions:
        if dimension != "overall" and WINNER_COLUMNS.get(dimension) not in frame.columns:
            logger.info("no %s votes in the data; skipping that dimension", dimension)
            continue
        for topic in wanted_topics:
            try:
                table = prepare_battles(
                    frame, dimension=dimension, topic=topic, exclude_annotators=exclude_annotators,
                    exclude_flagged=exclude_flagged, drop_invalid=drop_invalid, ipw=ipw,
                )
            except NoBattlesError as exc:
                logger.info("skipping %s/%s: %s", dimension, topic, exc)
                continue
            boards[(dimension, topic)] = build_leaderboard(table, **options)
    return boards
