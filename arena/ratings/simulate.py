"""Battles simulated from known strengths, for tests and benchmarks.

Ties are drawn so that model a's expected score (win 1, tie 1/2, loss 0) is exactly
the Bradley-Terry probability sigma(theta_a - theta_b): a tie has probability
tie_rate * 2 * min(p, 1 - p) and the rest of the mass goes to the two wins. That is
the model the ties-as-half-a-win fit assumes, so the fit is consistent for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.battle_table import A_WINS, B_WINS, TIE

__all__ = ["SimulatedBattles", "simulate_battles"]

LABELS = {A_WINS: "model_a", B_WINS: "model_b", TIE: "tie"}


@dataclass(frozen=True)
class SimulatedBattles:
    """Arrays of shape (n_battles,); ``theta`` the true strengths, shape (n_models,)."""

    models: tuple[str, ...]
    theta: np.ndarray
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        """FastChat-schema rows (model names and winner labels)."""
        return [
            {"model_a": self.models[a], "model_b": self.models[b], "winner": LABELS[int(o)]}
            for a, b, o in zip(self.model_a, self.model_b, self.outcome, strict=True)
        ]


def simulate_battles(
    theta: np.ndarray,
    n_battles: int,
    *,
    tie_rate: float = 0.3,
    seed: int | None = 0,
    pair_prob: np.ndarray | None = None,
    models: tuple[str, ...] | None = None,
) -> SimulatedBattles:
    """Draw ``n_battles`` battles among ``len(theta)`` models.

    Pairs are uniform over ordered pairs of distinct models unless ``pair_prob`` (shape
    (n_models, n_models), zero diagonal, summing to 1) is given.
    """
    theta = np.asarray(theta, dtype=float)
    n = theta.size
    if n < 2:
        raise ValueError("need at least two models")
    if not 0.0 <= tie_rate <= 1.0:
        raise ValueError(f"tie_rate must be in [0, 1], got {tie_rate}")
    rng = np.random.default_rng(seed)
    if pair_prob is None:
        a = rng.integers(0, n, n_battles)
        b = (a + rng.integers(1, n, n_battles)) % n
    else:
        flat = np.asarray(pair_prob, dtype=float).ravel()
        if flat.size != n * n or np.any(flat < 0) or not np.isclose(flat.sum(), 1.0) or np.any(np.diag(pair_prob) > 0):
            raise ValueError("pair_prob must be an (n, n) probability matrix with a zero diagonal")
        cell = rng.choice(n * n, size=n_battles, p=flat)
        a, b = cell // n, cell % n
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    tie = tie_rate * 2.0 * np.minimum(p, 1.0 - p)
    u = rng.random(n_battles)
    outcome = np.where(u < tie, TIE, np.where(u < tie + (p - tie / 2.0), A_WINS, B_WINS)).astype(np.int8)
    names = models if models is not None else tuple(f"model-{i:02d}" for i in range(n))
    return SimulatedBattles(models=names, theta=theta, model_a=a.astype(np.int64), model_b=b.astype(np.int64), outcome=outcome)
