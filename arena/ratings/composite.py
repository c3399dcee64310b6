"""Composite Bradley-Terry: human votes and judge verdicts in one fit, with explicit weights.

Every human battle counts ``human_weight`` times its own weight (1, or its
inverse-propensity weight) and every judge verdict ``judge_weight`` times its own,
in the same weighted likelihood the plain fit maximises. So ``judge_weight = 0``
is the human-only fit, equal weights are the two sources pooled as one set of
battles, and ``judge_weight = 0.5`` makes two judge verdicts worth one vote.
Battles of weight 0 are left out before the fit, so a model that only the judge
has seen does not enter a human-only fit (where it would move the centring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arena.battle_table import BattleTable
from arena.ratings.bradley_terry import DEFAULT_ALPHA, BradleyTerryFit, fit_bradley_terry
from arena.ratings.pairs import PairCounts

__all__ = ["CompositeFit", "composite_pairs", "fit_composite"]


@dataclass(frozen=True)
class CompositeFit:
    """The combined fit; ``judge_share`` is the judge's part of the total weight (0..1)."""

    fit: BradleyTerryFit
    human_weight: float
    judge_weight: float
    n_human: int
    n_judge: int
    judge_share: float

    @property
    def models(self) -> tuple[str, ...]:
        return self.fit.models

    def ratings(self) -> dict[str, float]:
        return dict(zip(self.fit.models, (float(r) for r in self.fit.ratings()), strict=True))


def _check_weight(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def composite_pairs(
    human: BattleTable, judge: BattleTable | None, *, judge_weight: float, human_weight: float = 1.0
) -> tuple[PairCounts, int, int, float]:
    """Both tables on one model index with scaled weights: (pairs, n_human, n_judge, judge_share).

    The tables must rate the same dimension. Raises ValueError when no battle keeps
    a positive weight.
    """
    human_weight = _check_weight("human_weight", human_weight)
    judge_weight = _check_weight("judge_weight", judge_weight)
    if judge is not None and judge.dimension != human.dimension:
        raise ValueError(
            f"human votes are on {human.dimension!r} but judge verdicts on {judge.dimension!r}; "
            "combine one dimension at a time"
        )
    parts = [(human, human_weight)] + ([(judge, judge_weight)] if judge is not None else [])
    parts = [(table, w) for table, w in parts if w > 0]
    names: list[str] = []
    a_idx, b_idx, outcome, weight = [], [], [], []
    totals = []
    for table, scale in parts:
        w = table.weight * scale
        keep = w > 0
        used = sorted({table.models[i] for i in np.concatenate([table.model_a[keep], table.model_b[keep]])})
        names.extend(m for m in used if m not in names)
        totals.append(float(w[keep].sum()))
    models = tuple(sorted(names))
    position = {m: i for i, m in enumerate(models)}
    for table, scale in parts:
        w = table.weight * scale
        keep = w > 0
        remap = np.array([position.get(m, -1) for m in table.models])
        a_idx.append(remap[table.model_a[keep]])
        b_idx.append(remap[table.model_b[keep]])
        outcome.append(table.outcome[keep])
        weight.append(w[keep])
    if not models or sum(totals) == 0:
        raise ValueError("no battle has a positive weight: give human_weight or judge_weight > 0")
    pairs = PairCounts.from_arrays(models, np.concatenate(a_idx), np.concatenate(b_idx), np.concatenate(outcome),
                                   np.concatenate(weight))
    n_human = human.n_battles if human_weight > 0 else 0
    n_judge = judge.n_battles if judge is not None and judge_weight > 0 else 0
    judge_total = totals[-1] if judge is not None and judge_weight > 0 else 0.0
    return pairs, n_human, n_judge, judge_total / sum(totals)


def fit_composite(
    human: BattleTable,
    judge: BattleTable | None,
    *,
    judge_weight: float,
    human_weight: float = 1.0,
    alpha: float = DEFAULT_ALPHA,
) -> CompositeFit:
    """Bradley-Terry on human battles and judge verdicts together, each source scaled by its weight."""
    pairs, n_human, n_judge, share = composite_pairs(human, judge, judge_weight=judge_weight,
                                                      human_weight=human_weight)
    return CompositeFit(
        fit=fit_bradley_terry(pairs, alpha=alpha), human_weight=human_weight, judge_weight=judge_weight,
        n_human=n_human, n_judge=n_judge, judge_share=share,
    )
