"""Ratings over time (one Bradley-Terry fit per period) and a change alarm per model and period.

**Ratings per period.** The battles are cut into periods (ISO weeks, Monday 00:00 UTC,
by default; any pandas period alias works) and each period gets its own Bradley-Terry
fit with sandwich-covariance (Wald) intervals, as the leaderboard's ``ci="sandwich"``.

A Bradley-Terry fit only identifies differences, so each period needs a level. Centring
every period at 1000 would move every rating whenever the set of models changes (a
strong newcomer would push everyone else down that week). Instead each period is
shifted so that the mean of its *reference* models equals the mean of their all-time
ratings (one fit of all battles, centred at 1000): models that stay the same keep, on
average, their all-time ratings whoever else played that week, and the line of a model
that moved moves. The reference models are those with at least ``min_votes`` votes in
the period and a finite rating there (not separated): a newcomer with eight votes, or
one that never lost that week, would otherwise move everyone's level by its own large
error and widen everyone's interval. A moved model in the reference still drags the
others of its period by its move / n_reference (the level is a mean); the change alarm
below does not have that problem. Each connected group of the period's battle graph is
placed this way on its own. The interval is the Wald interval of each model's
difference to the reference mean (sandwich covariance of that contrast); the all-time
mean it is shifted to comes from all periods together and is taken as known, so the
interval leaves out its (much smaller) uncertainty.

**Change alarm** (a model redeployed or silently changed, FastChat issue #3004). For
model m and period t: one joint Bradley-Terry fit of all battles in which m is split
into two pseudo-models, m in t and m in every other period, while every other model
keeps one strength over the whole time. The Wald statistic is z = d / se(d) for
d = theta(m in t) - theta(m elsewhere), se from the sandwich covariance of the split
fit. The family is every model x period test of the first round, controlled by
Bonferroni: a test fires when |z| exceeds the normal quantile at (1 - level) / (2 n_tests),
which is exactly when the simultaneous interval of the shift (level
1 - (1 - level) / n_tests) leaves out 0. (Holm would be slightly more powerful but would
lose that match between the alarm and its interval.)

A model that moved biases the other models' tests: the battles against it are read as
the others having moved the other way (in the tests, one of five models up by 150 from
week 3 of 5 shows every other model about 30 higher in weeks 1-2, enough for a false
alarm). So the tests go in rounds: the model with the largest |z| over its periods, if
it fires, is settled with the tests of that round, and the remaining models are
re-tested with it given one strength per period (``per_period_models``), at the same
threshold, until the strongest remaining model does not fire. With no change anywhere
the first round alone decides, so the family-wise error is at most 1 - level; once a
model has moved the later rounds are step-wise and the control is approximate.

The test names the model, not the moment: after a step change every period of the
model differs from its pooled "elsewhere", the periods before the step too (with the
opposite sign), and the periods on the majority side of the step differ least. Read
the sign of the shift, or the plot, to place the step. A model and period with fewer
than ``min_votes`` votes on either side, or with no finite split fit (the model never
lost or never won in the period), is not tested and does not count in n_tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from arena.ratings import intervals, separation
from arena.ratings.bradley_terry import (
    DEFAULT_ALPHA,
    ELO_PER_NAT,
    BradleyTerryFit,
    fit_bradley_terry,
    to_ratings,
)
from arena.ratings.leaderboard import DEFAULT_MIN_VOTES
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import bradley_terry_covariance

__all__ = ["ChangeAlarm", "PeriodRating", "RatingsOverTime", "change_alarms", "change_tests", "ratings_over_time"]

DEFAULT_PERIOD = "W"  # pandas' W-SUN: weeks ending on Sunday, i.e. ISO weeks starting on Monday
MATRIX_FIELDS = ("rating", "ci_low", "ci_high", "votes")


@dataclass(frozen=True)
class PeriodRating:
    """One model in one period, on the all-time scale."""

    period_start: np.datetime64
    model: str
    rating: float
    ci_low: float
    ci_high: float
    votes: int  # battles it took part in during the period
    provisional: bool  # fewer than min_votes votes in the period
    unbounded: str | None = None  # separation.ABOVE/BELOW/APART within the period: that side is infinite


@dataclass(frozen=True)
class RatingsOverTime:
    """Rows sorted by period, then by ``models`` order; a model without battles in a period has no row.

    ``period_starts`` has shape (n_periods,) (only periods with battles); ``all_time`` shape
    (n_models,), the all-time ratings that set the scale of every period.
    """

    models: tuple[str, ...]
    period: str
    period_starts: np.ndarray
    rows: tuple[PeriodRating, ...]
    all_time: np.ndarray
    level: float
    alpha: float
    min_votes: int

    def matrix(self, field: str) -> np.ndarray:
        """``field`` of every row as an (n_periods, n_models) array; NaN where the model did not play."""
        if field not in MATRIX_FIELDS:
            raise ValueError(f"Unknown field: {field!r}; choose one of {', '.join(MATRIX_FIELDS)}")
        out = np.full((self.period_starts.size, len(self.models)), np.nan)
        period = {start: t for t, start in enumerate(self.period_starts)}
        for row in self.rows:
            out[period[row.period_start], self.models.index(row.model)] = getattr(row, field)
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])


@dataclass(frozen=True)
class ChangeAlarm:
    """One model x period Wald test; ``alarm`` says whether it fired after Bonferroni.

    ``shift`` is the model's rating in the period minus its rating in all other periods
    (Elo points); ``ci_low``/``ci_high`` its simultaneous interval over all ``n_tests``.
    """

    model: str
    period_start: np.datetime64
    shift: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    p_adjusted: float  # min(1, p * n_tests)
    votes: int  # the model's battles in the period
    votes_elsewhere: int
    n_tests: int
    level: float  # family-wise confidence: with no change anywhere, P(any alarm) <= 1 - level
    alarm: bool
    per_period_models: tuple[str, ...] = ()  # alarmed earlier: fitted with one strength per period here


@dataclass(frozen=True)
class _Battles:
    """Battles collapsed to unique (period, a, b, outcome) rows: ``pairs`` and the ``period`` of each row."""

    pairs: PairCounts
    period: np.ndarray
    starts: np.ndarray

    def in_period(self, t: int) -> PairCounts:
        keep = self.period == t
        p = self.pairs
        return PairCounts(p.models, p.a[keep], p.b[keep], p.outcome[keep], p.weight[keep], p.count[keep])

    def votes(self) -> np.ndarray:
        """(n_periods, n_models) battles each model took part in, per period."""
        n = self.pairs.n_models
        shape = (self.starts.size, n)
        return (np.bincount(self.period * n + self.pairs.a, self.pairs.count, shape[0] * n)
                + np.bincount(self.period * n + self.pairs.b, self.pairs.count, shape[0] * n)).reshape(shape)


def _collapse(model_a: Any, model_b: Any, outcome: Any, timestamp: Any, models: tuple[str, ...], period: str) -> _Battles:
    model_a, model_b, outcome = (np.asarray(x, dtype=np.int64) for x in (model_a, model_b, outcome))
    PairCounts.from_arrays(models, model_a, model_b, outcome)  # the shape, self-battle and outcome checks
    if min(model_a.min(), model_b.min()) < 0 or max(model_a.max(), model_b.max()) >= len(models):
        raise ValueError(f"model_a and model_b must be indices into the {len(models)} models")
    stamps = pd.DatetimeIndex(pd.to_datetime(np.asarray(timestamp), utc=True))
    if stamps.shape != model_a.shape:
        raise ValueError("timestamp must have the same shape (n_battles,) as model_a, model_b and outcome")
    if stamps.isna().any():
        raise ValueError("every battle needs a timestamp (found NaT)")
    # Periods in UTC: naive timestamps are read as UTC, aware ones converted to it.
    code, uniques = pd.factorize(stamps.tz_convert(None).to_period(period), sort=True)
    n = len(models)
    key = (code.astype(np.int64) * n * n + model_a * n + model_b) * 3 + outcome
    keys, count = np.unique(key, return_counts=True)
    cell = keys // 3
    pairs = PairCounts(tuple(models), cell % (n * n) // n, cell % n, keys % 3, np.ones(keys.size), count.astype(np.int64))
    return _Battles(pairs=pairs, period=cell // (n * n), starts=pd.PeriodIndex(uniques).start_time.to_numpy())


def _subset(pairs: PairCounts, members: np.ndarray) -> PairCounts:
    """The rows among ``members`` (sorted model indices, a whole connected group), re-indexed."""
    keep = np.isin(pairs.a, members)
    index = np.full(pairs.n_models, -1, dtype=np.int64)
    index[members] = np.arange(members.size)
    return PairCounts(tuple(pairs.models[i] for i in members), index[pairs.a[keep]], index[pairs.b[keep]],
                      pairs.outcome[keep], pairs.weight[keep], pairs.count[keep])


def _group_fits(pairs: PairCounts, alpha: float) -> Iterator[tuple[np.ndarray, PairCounts, BradleyTerryFit]]:
    """One fit per connected group of models that played; models without battles are left out."""
    battles = pairs.battle_matrix()
    group = separation.groups(battles)
    played = battles.sum(axis=1) > 0
    for g in np.unique(group[played]):
        members = np.flatnonzero(group == g)
        sub = _subset(pairs, members)
        yield members, sub, fit_bradley_terry(sub, alpha=alpha)


def _all_time(pairs: PairCounts, alpha: float) -> np.ndarray:
    rating = np.full(pairs.n_models, np.nan)
    for members, sub, fit in _group_fits(pairs, alpha):
        rating[members] = to_ratings(fit.theta, sub.models)
    return rating


def _on_reference(fit: BradleyTerryFit, cov: np.ndarray, reference: np.ndarray, center: float,
                  level: float) -> intervals.RatingIntervals:
    """Ratings whose mean over the ``reference`` models (a boolean mask) is ``center``, with Wald intervals."""
    # Row k of the contrast is e_k minus the reference mean, so the covariance below is that of
    # the ratings actually reported, the reference's own uncertainty included.
    contrast = np.eye(reference.size) - reference[None, :] / reference.sum()
    theta, cov = contrast @ fit.theta, contrast @ cov @ contrast.T
    ci = intervals.from_covariance(theta, cov, fit.models, center=0.0, level=level)
    # from_covariance takes its variances as they are but re-centres the point on all models: undo that.
    offset = center + float(theta.mean()) * ELO_PER_NAT
    return replace(ci, rating=ci.rating + offset, ci_low=ci.ci_low + offset, ci_high=ci.ci_high + offset)


def ratings_over_time(
    model_a: Any,
    model_b: Any,
    outcome: Any,
    timestamp: Any,
    models: tuple[str, ...],
    *,
    period: str = DEFAULT_PERIOD,
    alpha: float = DEFAULT_ALPHA,
    level: float = 0.95,
    min_votes: int = DEFAULT_MIN_VOTES,
) -> RatingsOverTime:
    """One Bradley-Terry fit per period, on the all-time scale, with sandwich intervals.

    ``model_a``/``model_b``: shape (n_battles,), indices into ``models``; ``outcome``:
    0 model_a won, 1 model_b won, 2 tie; ``timestamp``: shape (n_battles,), datetime64 or
    anything pandas parses. A model with fewer than ``min_votes`` votes in a period is
    marked provisional; one that never lost (won) there has an infinite upper (lower) bound.
    """
    models = tuple(models)
    data = _collapse(model_a, model_b, outcome, timestamp, models, period)
    all_time = _all_time(data.pairs, alpha)
    votes = data.votes()
    rows: list[PeriodRating] = []
    for t, start in enumerate(data.starts):
        found: dict[int, PeriodRating] = {}
        for members, sub, fit in _group_fits(data.in_period(t), alpha):
            sides = separation.separated_sides(sub.win_matrix())
            core = np.array([side is None for side in sides])
            reference = core & (votes[t, members] >= min_votes)
            # Fall back to the core, then (separated data without a single core) to everyone.
            reference = next(r for r in (reference, core, np.ones_like(core)) if r.any())
            cov = bradley_terry_covariance(sub, fit.theta)
            ci = _on_reference(fit, cov, reference, float(all_time[members[reference]].mean()), level)
            for k, i in enumerate(members):
                open_high = sides[k] in (separation.ABOVE, separation.APART)
                open_low = sides[k] in (separation.BELOW, separation.APART)
                found[int(i)] = PeriodRating(
                    period_start=start, model=models[i], rating=float(ci.rating[k]),
                    ci_low=-np.inf if open_low else float(ci.ci_low[k]),
                    ci_high=np.inf if open_high else float(ci.ci_high[k]),
                    votes=int(votes[t, i]), provisional=bool(votes[t, i] < min_votes), unbounded=sides[k],
                )
        rows += [found[i] for i in sorted(found)]
    return RatingsOverTime(models=models, period=period, period_starts=data.starts, rows=tuple(rows),
                           all_time=all_time, level=level, alpha=alpha, min_votes=min_votes)


def _split_shift(data: _Battles, m: int, t: int, free: tuple[int, ...], alpha: float) -> tuple[float, float] | None:
    """(d, se) for theta(m in t) - theta(m elsewhere) in one joint fit; None when d has no finite estimate.

    Models in ``free`` (already alarmed) get one strength per period; everyone else one overall.
    """
    p = data.pairs
    n, n_periods = p.n_models, data.starts.size
    here = data.period == t
    names = [*p.models, f"{p.models[m]} @ {data.starts[t]}"]
    a, b = p.a.copy(), p.b.copy()
    a[here & (p.a == m)], b[here & (p.b == m)] = n, n  # m's battles in period t: the pseudo-model n
    for k, f in enumerate(free):
        # f's original index is left without battles, so the group below drops it, as it does
        # the periods f did not play in.
        first = n + 1 + k * n_periods
        a = np.where(p.a == f, first + data.period, a)
        b = np.where(p.b == f, first + data.period, b)
        names += [f"{p.models[f]} @ {start}" for start in data.starts]
    split = PairCounts(tuple(names), a, b, p.outcome, p.weight, p.count)
    group = separation.groups(split.battle_matrix())
    if group[m] != group[n]:  # the two halves never meet, even through others: no common scale
        return None
    members = np.flatnonzero(group == group[m])
    sub = _subset(split, members)
    rest, now = (int(i) for i in np.searchsorted(members, [m, n]))
    sides = separation.separated_sides(sub.win_matrix())
    if sides[rest] is not None or sides[now] is not None:  # an infinite MLE: the regulariser would set d
        return None
    fit = fit_bradley_terry(sub, alpha=alpha)
    cov = bradley_terry_covariance(sub, fit.theta)
    var = cov[now, now] + cov[rest, rest] - 2.0 * cov[now, rest]
    return float(fit.theta[now] - fit.theta[rest]), float(np.sqrt(max(var, 0.0)))


def change_tests(
    model_a: Any,
    model_b: Any,
    outcome: Any,
    timestamp: Any,
    models: tuple[str, ...],
    *,
    period: str = DEFAULT_PERIOD,
    level: float = 0.95,
    alpha: float = DEFAULT_ALPHA,
    min_votes: int = DEFAULT_MIN_VOTES,
) -> tuple[ChangeAlarm, ...]:
    """Every model x period split test that could be run (arrays as in ``ratings_over_time``).

    ``level`` is family-wise: with no change anywhere, the chance of any alarm is at most
    1 - level (Bonferroni over the round-one tests). Each model's tests come from the
    round that settled it (see the module docstring). Sorted by model, then period.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    models = tuple(models)
    data = _collapse(model_a, model_b, outcome, timestamp, models, period)
    votes = data.votes()
    total = votes.sum(axis=0)
    eligible = {
        m: [t for t in range(data.starts.size) if votes[t, m] >= min_votes and total[m] - votes[t, m] >= min_votes]
        for m in range(len(models))
    }
    def run(pending: list[int], free: tuple[int, ...]) -> dict[int, tuple[tuple[int, tuple[float, float]], ...]]:
        runs = {m: [(t, _split_shift(data, m, t, free, alpha)) for t in eligible[m]] for m in pending}
        return {m: tuple((t, s) for t, s in v if s is not None) for m, v in runs.items()}

    pending = [m for m in eligible if eligible[m]]
    found = run(pending, ())
    n_tests = sum(len(v) for v in found.values())  # the family: later rounds re-test at the same threshold
    if not n_tests:
        return ()
    z_crit = float(stats.norm.ppf(1.0 - (1.0 - level) / (2.0 * n_tests)))
    free: tuple[int, ...] = ()
    settled, settled_free = {}, {}
    while True:
        strongest = {m: max((_z(*s) for _, s in v), default=0.0) for m, v in found.items()}
        best = max(strongest, key=lambda m: strongest[m])
        if strongest[best] <= z_crit:  # nobody left moved: every pending model is settled without an alarm
            settled |= found
            settled_free |= dict.fromkeys(found, free)
            break
        # Only the strongest model is taken per round: a moved model biases the others' tests
        # through the battles against it, so they are re-tested with it given per-period strengths.
        settled[best], settled_free[best] = found[best], free
        free += (best,)
        pending.remove(best)
        if not pending:
            break
        found = run(pending, free)
    out = []
    for m in sorted(settled):
        for t, (d, se) in settled[m]:
            z = _z(d, se, signed=True)
            p = float(2.0 * stats.norm.sf(abs(z)))
            out.append(ChangeAlarm(
                model=models[m], period_start=data.starts[t], shift=float(d * ELO_PER_NAT),
                ci_low=float((d - z_crit * se) * ELO_PER_NAT), ci_high=float((d + z_crit * se) * ELO_PER_NAT), z=z, p=p,
                p_adjusted=min(1.0, p * n_tests), votes=int(votes[t, m]), votes_elsewhere=int(total[m] - votes[t, m]),
                n_tests=n_tests, level=level, alarm=bool(abs(z) > z_crit),
                per_period_models=tuple(models[f] for f in settled_free[m]),
            ))
    return tuple(out)


def _z(d: float, se: float, *, signed: bool = False) -> float:
    # se = 0 only with nothing but ties on both sides, where d = 0 too: no evidence of a shift.
    z = d / se if se > 0 else 0.0
    return float(z if signed else abs(z))


def change_alarms(
    model_a: Any,
    model_b: Any,
    outcome: Any,
    timestamp: Any,
    models: tuple[str, ...],
    *,
    period: str = DEFAULT_PERIOD,
    level: float = 0.95,
    alpha: float = DEFAULT_ALPHA,
    min_votes: int = DEFAULT_MIN_VOTES,
) -> tuple[ChangeAlarm, ...]:
    """The tests of ``change_tests`` that fired: model and period whose strength moved beyond its interval."""
    tests = change_tests(model_a, model_b, outcome, timestamp, models, period=period, level=level, alpha=alpha,
                         min_votes=min_votes)
    return tuple(test for test in tests if test.alarm)
