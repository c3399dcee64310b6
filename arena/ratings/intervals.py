"""Confidence intervals for ratings, from bootstrap samples or a covariance, and rank (UB)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from arena.ratings.bradley_terry import CENTER, ELO_PER_NAT, Anchor, to_ratings

__all__ = ["RatingIntervals", "from_covariance", "from_samples", "rank_upper_bound"]


@dataclass(frozen=True)
class RatingIntervals:
    """Point ratings and two-sided intervals; arrays of shape (n_models,)."""

    models: tuple[str, ...]
    rating: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    level: float


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"CI level must be between 0 and 1, got {level}")


def from_samples(
    theta: np.ndarray,
    samples: np.ndarray,
    models: tuple[str, ...],
    *,
    anchor: Anchor | None = None,
    center: float = CENTER,
    level: float = 0.95,
) -> RatingIntervals:
    """Percentile intervals from bootstrap samples of shape (rounds, n_models).

    Every resample is centred (or anchored) the same way as the point estimate, so the
    interval describes the reported quantity. The point is the full-data fit.
    """
    _check_level(level)
    point = to_ratings(theta, models, anchor=anchor, center=center)
    sampled = to_ratings(samples[:, : len(models)], models, anchor=anchor, center=center)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(sampled, [tail, 1.0 - tail], axis=0)
    return RatingIntervals(models=models, rating=point, ci_low=low, ci_high=high, level=level)


def from_covariance(
    theta: np.ndarray,
    cov: np.ndarray,
    models: tuple[str, ...],
    *,
    anchor: Anchor | None = None,
    center: float = CENTER,
    level: float = 0.95,
) -> RatingIntervals:
    """Normal (Wald) intervals from the covariance of the centred theta.

    Centred ratings use the variances directly; anchored ones the variance of the
    difference to the anchor (so the anchor itself has a zero-width interval).
    """
    _check_level(level)
    n = len(models)
    cov = cov[:n, :n]
    point = to_ratings(theta[:n], models, anchor=anchor, center=center)
    if anchor is None:
        var = np.diag(cov)
    else:
        k = models.index(anchor.model)
        var = np.diag(cov) + cov[k, k] - 2.0 * cov[:, k]
    sd = np.sqrt(np.clip(var, 0.0, None)) * ELO_PER_NAT
    z = stats.norm.ppf(0.5 + level / 2.0)
    return RatingIntervals(models=models, rating=point, ci_low=point - z * sd, ci_high=point + z * sd, level=level)


# Bounds closer than this (in rating points) are equal: with zero-width intervals (only ties) float
# noise of 1e-13 would otherwise decide the ranks.
RANK_TOLERANCE = 1e-6


def rank_upper_bound(ci_low: np.ndarray, ci_high: np.ndarray, tol: float = RANK_TOLERANCE) -> np.ndarray:
    """Rank (UB): 1 + the number of models whose lower bound exceeds this one's upper bound (by more than `tol`)."""
    return 1 + (ci_low[None, :] > ci_high[:, None] + tol).sum(axis=1)
