"""Rank agreement between two leaderboards (e.g. human votes vs the judge's)."""

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau, spearmanr


@dataclass(frozen=True)
class RankAgreement:
    """Kendall's tau-b and Spearman's rho over the models both leaderboards rate.

    p-values are scipy's (exact or asymptotic as scipy chooses); statistics are
    NaN when one leaderboard gives every shared model the same rating (``note``).
    """

    kendall_tau: float
    kendall_p: float
    spearman_rho: float
    spearman_p: float
    n_models: int
    models: tuple[str, ...]
    only_in_x: tuple[str, ...]
    only_in_y: tuple[str, ...]
    note: str = ""


def rank_agreement(ratings_x: Mapping[str, float], ratings_y: Mapping[str, float]) -> RankAgreement:
    """Compare two ``{model: rating}`` leaderboards on the models they share (at least 2)."""
    shared = sorted(set(ratings_x) & set(ratings_y))
    if len(shared) < 2:
        raise ValueError(
            f"rank agreement needs at least 2 models rated on both leaderboards, got {len(shared)}"
        )
    x = np.array([float(ratings_x[m]) for m in shared])
    y = np.array([float(ratings_y[m]) for m in shared])
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("ratings must be finite numbers")
    note = ""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        note = "undefined: one leaderboard rates every shared model the same"
    with warnings.catch_warnings():
        # scipy warns on constant input; the note above carries the reason instead.
        warnings.simplefilter("ignore")
        tau = kendalltau(x, y)
        rho = spearmanr(x, y)
    return RankAgreement(
        kendall_tau=float(tau.statistic),
        kendall_p=float(tau.pvalue),
        spearman_rho=float(rho.statistic),
        spearman_p=float(rho.pvalue),
        n_models=len(shared),
        models=tuple(shared),
        only_in_x=tuple(sorted(set(ratings_x) - set(ratings_y))),
        only_in_y=tuple(sorted(set(ratings_y) - set(ratings_x))),
        note=note,
    )
