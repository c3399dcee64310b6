"""Length-controlled Bradley-Terry: answer length as a covariate (style control).

logit P(a beats b) = theta_a - theta_b + beta * z, with z the standardised normalised
length difference (len_a - len_b) / (len_a + len_b), as in Chatbot Arena's style
control. theta then rates a model as if both answers had been equally long, and beta
says how much longer answers sway the voters. Ties count as half a win each way.

choix has no covariates, so this is a weighted logistic regression solved with
Newton's method (the problem is convex). ``alpha`` here is an L2 penalty on theta
(alpha/2 * |theta|^2, a Gaussian prior with variance 1/alpha, the same convention as
choix.opt_pairwise); it fixes the free constant (the solution has mean-zero theta)
and keeps separated data finite. beta is not penalised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from arena.battle_table import A_WINS, B_WINS, BattleTable
from arena.ratings.bootstrap import BootstrapSamples, bootstrap_counts
from arena.ratings.bradley_terry import DEFAULT_ALPHA, Anchor, to_ratings
from arena.ratings.sandwich import pair_information, sandwich_covariance

logger = logging.getLogger(__name__)

__all__ = ["LengthControlledFit", "LengthRows", "fit_length_controlled"]

_MAX_NEWTON = 200


@dataclass(frozen=True)
class LengthRows:
    """Unique (a, b, outcome, weight, z) rows with counts; arrays of shape (n_rows,)."""

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray  # model a's score: 1, 0 or 1/2
    weight: np.ndarray
    z: np.ndarray  # standardised length difference
    count: np.ndarray
    z_mean: float
    z_std: float

    @classmethod
    def from_table(cls, table: BattleTable) -> LengthRows:
        if table.len_a is None or table.len_b is None:
            raise ValueError("length control needs answer lengths: len_a/len_b or conversation_a/conversation_b columns")
        len_a, len_b = table.len_a, table.len_b
        bad = ~np.isfinite(len_a) | ~np.isfinite(len_b) | (len_a < 0) | (len_b < 0)
        if bad.any():
            raise ValueError(f"length control needs answer lengths for every battle; {int(bad.sum())} battle(s) have none")
        total = len_a + len_b
        diff = np.divide(len_a - len_b, total, out=np.zeros_like(total), where=total > 0)
        mean, std = float(diff.mean()), float(diff.std())
        z = (diff - mean) / std if std > 0 else np.zeros_like(diff)
        y = np.select([table.outcome == A_WINS, table.outcome == B_WINS], [1.0, 0.0], 0.5)
        stacked = np.column_stack([table.model_a, table.model_b, y, table.weight, z])
        rows, count = np.unique(stacked, axis=0, return_counts=True)
        return cls(
            models=table.models, a=rows[:, 0].astype(np.int64), b=rows[:, 1].astype(np.int64),
            y=rows[:, 2], weight=rows[:, 3], z=rows[:, 4], count=count.astype(np.int64),
            z_mean=mean, z_std=std,
        )


@dataclass(frozen=True)
class LengthControlledFit:
    """theta (shape (n_models,), mean 0) and the length coefficient beta (per SD of z)."""

    models: tuple[str, ...]
    theta: np.ndarray
    length_coef: float
    alpha: float

    @property
    def params(self) -> np.ndarray:
        return np.append(self.theta, self.length_coef)

    def ratings(self, *, anchor: Anchor | None = None, center: float = 1000.0) -> np.ndarray:
        return to_ratings(self.theta, self.models, anchor=anchor, center=center)


def _solve(rows: LengthRows, sw: np.ndarray, alpha: float, initial: np.ndarray | None) -> np.ndarray:
    """Damped Newton on the penalised negative log-likelihood (convex, so this is safe)."""
    n = len(rows.models)
    z = rows.z[:, None]
    penalty = np.append(np.full(n, alpha), 0.0)

    def objective(params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = params[rows.a] - params[rows.b] + rows.z * params[n]
        loss = np.sum(sw * (rows.y * np.logaddexp(0.0, -eta) + (1.0 - rows.y) * np.logaddexp(0.0, eta)))
        p = 1.0 / (1.0 + np.exp(-eta))
        resid = sw * (p - rows.y)  # d loss / d eta
        grad = np.append(np.bincount(rows.a, resid, n) - np.bincount(rows.b, resid, n), resid @ rows.z)
        hess = pair_information(n, rows.a, rows.b, sw * p * (1.0 - p), z) + np.diag(penalty)
        return loss + 0.5 * np.sum(penalty * params**2), grad + penalty * params, hess

    params = np.zeros(n + 1) if initial is None else np.array(initial, dtype=float)
    loss, grad, hess = objective(params)
    for _ in range(_MAX_NEWTON):
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        decrement = float(grad @ step)  # Newton decrement squared: predicted decrease x 2
        if decrement <= 1e-14 * (1.0 + abs(loss)):
            break
        t = 1.0
        while True:
            new = params - t * step
            new_loss, new_grad, new_hess = objective(new)
            if new_loss <= loss - 0.25 * t * decrement or t < 1e-10:
                break
            t /= 2.0
        params, loss, grad, hess = new, new_loss, new_grad, new_hess
    else:
        raise ValueError("length-controlled fit did not converge; try a larger alpha")
    if not np.all(np.isfinite(params)):
        raise ValueError("length-controlled fit gave non-finite ratings; try a larger alpha")
    params[:n] -= params[:n].mean()
    return params


def fit_length_controlled(rows: LengthRows, *, alpha: float = DEFAULT_ALPHA) -> LengthControlledFit:
    """Fit theta and the length coefficient to the weighted battles in ``rows``."""
    if alpha <= 0 and len(rows.models) > 1:
        # Without a penalty the free constant leaves the Hessian singular.
        alpha = 1e-9
    params = _solve(rows, rows.count * rows.weight, alpha, None)
    n = len(rows.models)
    return LengthControlledFit(models=rows.models, theta=params[:n], length_coef=float(params[n]), alpha=alpha)


def length_controlled_covariance(rows: LengthRows, fit: LengthControlledFit) -> np.ndarray:
    """Sandwich covariance of (theta centred, beta); shape (n_models + 1, n_models + 1)."""
    return sandwich_covariance(
        fit.params, len(rows.models), rows.a, rows.b, rows.y,
        rows.count * rows.weight, rows.count * rows.weight**2, rows.z[:, None],
    )


def bootstrap_length_controlled(
    rows: LengthRows, fit: LengthControlledFit, *, rounds: int = 1000, seed: int | None = 0
) -> BootstrapSamples:
    """Bootstrap (theta, beta) by resampling battles; costs a full refit per round."""

    def fit_batch(draws: np.ndarray) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for draw in draws:
            try:
                out.append(_solve(rows, draw * rows.weight, fit.alpha, fit.params))
            except ValueError:
                out.append(None)
        return out

    return bootstrap_counts(rows.count, fit_batch, rounds=rounds, seed=seed)
