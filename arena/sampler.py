"""Which two models meet: configurable weights, balanced toward pairs with few votes.

P(pair i,j) is proportional to w_i * w_j / (1 + votes_ij) ** balance over the
models that are healthy now. The probability is returned with the draw so it can
be stored with the battle (for inverse-propensity weighting later).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class Draw:
    model_a: str
    model_b: str
    probability: float  # of this unordered pair under the distribution it was drawn from
    left_is_a: bool


def pair_probabilities(models: Sequence[str], weights: Mapping[str, float] | None = None,
                       votes: Mapping[frozenset[str], int] | None = None, balance: float = 1.0) -> dict[tuple[str, str], float]:
    """Probabilities of every unordered pair (sorted names) of distinct healthy models."""
    names = sorted(set(models))
    if len(names) < 2:
        raise ValueError(f"need at least two healthy models to start a battle, have {len(names)}")
    if balance < 0:
        raise ValueError("balance must be >= 0")
    weights = weights or {}
    votes = votes or {}
    raw = {}
    for a, b in combinations(names, 2):
        w = weights.get(a, 1.0) * weights.get(b, 1.0)
        if w < 0:
            raise ValueError(f"weights must be >= 0 (pair {a}, {b})")
        raw[(a, b)] = w / (1.0 + votes.get(frozenset((a, b)), 0)) ** balance
    total = sum(raw.values())
    if total <= 0:
        raise ValueError("all pair weights are zero")
    return {pair: p / total for pair, p in raw.items()}


def draw_pair(probabilities: Mapping[tuple[str, str], float], rng: np.random.Generator,
              exclude: frozenset[str] = frozenset()) -> Draw:
    """Draw a pair (renormalised without `exclude`) and a random left/right order."""
    pairs = [(p, pr) for p, pr in probabilities.items() if not (set(p) & exclude) and pr > 0]
    if not pairs:
        raise ValueError("no pair of models is available")
    total = sum(pr for _, pr in pairs)
    idx = rng.choice(len(pairs), p=[pr / total for _, pr in pairs])
    (a, b), pr = pairs[idx]
    return Draw(a, b, pr / total, bool(rng.integers(2)))
