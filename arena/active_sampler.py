"""Active pair selection: send the next vote where it most reduces the uncertainty of the ranking.

The score of a candidate pair (i, j) is the expected shrinkage, from one more battle
of that pair, of the variances of the rating differences between models adjacent in
the current ranking, each neighbour pair weighted by how unresolved it is. This is
the A-optimal (weighted) sequential design for a logistic model (Chaloner & Verdinelli
1995, "Bayesian experimental design: a review", Section 2.2; for pairwise ranking
Chen, Bennett, Collins-Thompson & Horvitz 2013, "Pairwise ranking aggregation in a
crowdsourced setting"), computed from the current Bradley-Terry fit:

- information I = sum over battles of p(1 - p) x x^T with x = e_a - e_b (the
  Hessian of the negative log-likelihood), plus PRIOR_PRECISION on the diagonal so
  that it is invertible (the rating scale's free shift, and models without battles);
  covariance S = I^-1;
- one battle of (i, j) adds h = p_ij (1 - p_ij) along x = e_i - e_j; by
  Sherman-Morrison the variance of a contrast d drops by h (d^T S x)^2 / (1 + h x^T S x);
- the neighbours k (consecutive models when sorted by fitted strength) with gap g_k
  and standard deviation s_k get the weight phi(g_k / s_k), the normal density, so
  neighbours already far apart in units of their uncertainty hardly count.

The probabilities mix a uniform floor with the scores: P = floor / n_pairs + (1 - floor)
* score / sum(score). Every pair keeps at least floor / n_pairs, which keeps the
inverse-propensity weights (``prepare_battles(ipw=True)``) bounded by n_pairs / floor.
The result has the format of ``arena.sampler.pair_probabilities`` and drops into
``arena.sampler.draw_pair``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from arena.ratings.bradley_terry import DEFAULT_ALPHA, fit_bradley_terry
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import pair_information

__all__ = ["DEFAULT_FLOOR", "PRIOR_PRECISION", "ActiveDesign", "active_design", "active_pair_probabilities"]

DEFAULT_FLOOR = 0.2
# A N(0, 1/PRIOR_PRECISION) prior on each log-strength: an unseen model has a standard
# deviation of 10 (about 1,700 rating points), far wider than any real gap, while one
# battle (information about 0.25) already dominates it.
PRIOR_PRECISION = 1e-2


@dataclass(frozen=True)
class ActiveDesign:
    """The quantities behind the active probabilities, for ``models`` (sorted names).

    ``theta`` (n,) fitted log-strengths, 0 for models without data; ``covariance`` (n, n)
    the inverse regularised information restricted to ``models``; ``neighbours`` (n - 1, 2)
    indices (stronger, weaker) of models adjacent in the fitted order, with ``neighbour_weight``
    (n - 1,); ``pairs`` the candidate pairs in ``pair_probabilities`` order, with
    ``increment`` (n_pairs,) the information p(1 - p) one battle adds and ``score``
    (n_pairs,) the weighted variance reduction it buys.
    """

    models: tuple[str, ...]
    theta: np.ndarray
    covariance: np.ndarray
    neighbours: np.ndarray
    neighbour_weight: np.ndarray
    pairs: tuple[tuple[str, str], ...]
    increment: np.ndarray
    score: np.ndarray


def _contestants(models: Sequence[str]) -> list[str]:
    names = sorted(set(models))
    if len(names) < 2:
        raise ValueError(f"need at least two models to choose a pair, have {len(names)}")
    return names


def _has_data(names: Sequence[str], pairs: PairCounts | None) -> bool:
    if pairs is None:
        return False
    played = np.bincount(np.concatenate([pairs.a, pairs.b]), weights=np.tile(pairs.count, 2), minlength=pairs.n_models)
    contestants = set(names)
    return any(played[k] > 0 for k, m in enumerate(pairs.models) if m in contestants)


def active_design(models: Sequence[str], pairs: PairCounts, *, alpha: float = DEFAULT_ALPHA) -> ActiveDesign:
    """Score every pair of ``models`` by the weighted variance reduction one more battle buys.

    ``pairs`` may hold models that are not contestants now (their battles still inform
    the others) and may lack some contestants (new models: strength 0, prior variance).
    """
    names = _contestants(models)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0 (early battles often leave a model without a loss), got {alpha}")
    fit = fit_bradley_terry(pairs, alpha=alpha)
    newcomers = [m for m in names if m not in pairs.models]
    space = pairs.models + tuple(newcomers)
    theta_all = np.concatenate([fit.theta, np.zeros(len(newcomers))])

    # Information from the number of battles, not their weights: inverse-propensity
    # weights re-balance the estimate, they do not make a vote more informative.
    p = 1.0 / (1.0 + np.exp(theta_all[pairs.b] - theta_all[pairs.a]))
    information = pair_information(len(space), pairs.a, pairs.b, pairs.count * p * (1.0 - p))
    information += PRIOR_PRECISION * np.eye(len(space))
    index = np.array([space.index(m) for m in names])
    # The marginal covariance of the contestants is all the update needs: every contrast
    # involved (candidate battles, neighbour differences) lives on them.
    covariance = np.linalg.inv(information)[np.ix_(index, index)]
    covariance = (covariance + covariance.T) / 2.0
    theta = theta_all[index]

    n = len(names)
    order = np.lexsort((np.arange(n), -theta))  # strongest first; ties broken by name
    neighbours = np.column_stack([order[:-1], order[1:]])
    contrast = np.zeros((n - 1, n))
    contrast[np.arange(n - 1), neighbours[:, 0]] = 1.0
    contrast[np.arange(n - 1), neighbours[:, 1]] = -1.0
    gap = theta[neighbours[:, 0]] - theta[neighbours[:, 1]]
    sd = np.sqrt(np.einsum("kn,nm,km->k", contrast, covariance, contrast))
    neighbour_weight = np.exp(-0.5 * (gap / sd) ** 2) / np.sqrt(2.0 * np.pi)

    first, second = (np.array(side) for side in zip(*combinations(range(n), 2), strict=True))
    candidate = np.zeros((first.size, n))
    candidate[np.arange(first.size), first] = 1.0
    candidate[np.arange(first.size), second] = -1.0
    q = 1.0 / (1.0 + np.exp(theta[second] - theta[first]))
    increment = q * (1.0 - q)
    cross = contrast @ covariance @ candidate.T  # (n - 1, n_pairs): d_k^T S x
    spread = np.einsum("pn,nm,pm->p", candidate, covariance, candidate)  # x^T S x
    score = increment * (neighbour_weight @ cross**2) / (1.0 + increment * spread)
    return ActiveDesign(
        models=tuple(names),
        theta=theta,
        covariance=covariance,
        neighbours=neighbours,
        neighbour_weight=neighbour_weight,
        pairs=tuple((names[i], names[j]) for i, j in zip(first, second, strict=True)),
        increment=increment,
        score=score,
    )


def active_pair_probabilities(
    models: Sequence[str],
    pairs: PairCounts | None,
    *,
    floor: float = DEFAULT_FLOOR,
    alpha: float = DEFAULT_ALPHA,
) -> dict[tuple[str, str], float]:
    """Probabilities of every unordered pair (sorted names) of distinct ``models``.

    At least ``floor / n_pairs`` each; uniform while none of ``models`` has a battle in
    ``pairs`` (or ``pairs`` is None), and for ``floor`` = 1. Deterministic.
    """
    names = _contestants(models)
    if not 0.0 < floor <= 1.0:
        raise ValueError(f"floor must be in (0, 1], got {floor}")
    candidates = list(combinations(names, 2))
    uniform = np.full(len(candidates), 1.0 / len(candidates))
    if floor == 1.0 or not _has_data(names, pairs):
        return dict(zip(candidates, uniform.tolist(), strict=True))
    score = active_design(names, pairs, alpha=alpha).score
    total = score.sum()
    # Every neighbour resolved beyond float precision (weights underflow): nothing to prefer.
    active = score / total if total > 0 and np.isfinite(total) else uniform
    probability = floor * uniform + (1.0 - floor) * active
    return dict(zip(candidates, probability.tolist(), strict=True))
