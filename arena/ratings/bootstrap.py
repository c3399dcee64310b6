"""Bootstrap of pairwise ratings by multinomial resampling of unique battle rows.

Resampling N battles with replacement is the same as drawing the counts of the
unique rows from Multinomial(N, count / N). So one round costs one multinomial draw
over a few hundred rows plus a fit on a 20x20 matrix, whatever N is. Rounds in which
the fit has no finite solution (possible only with alpha = 0, when a resample leaves a
model without a loss) are dropped and counted, never turned into NaN ratings. For the
Bradley-Terry bootstrap the rounds in which each model had no loss or no win are counted
too: where they exceed a tail of the interval, that bound is the regulariser's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from arena.ratings.bradley_terry import BradleyTerryFit, fit_theta
from arena.ratings.pairs import PairCounts
from arena.ratings.separation import separated_in_resamples

logger = logging.getLogger(__name__)

__all__ = ["BootstrapSamples", "bootstrap_bradley_terry", "bootstrap_counts"]

# Bound on the number of multinomial cells drawn at once (rounds x rows), to cap memory.
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class BootstrapSamples:
    """Parameter vectors refitted on each resample; ``theta`` has shape (n_ok, n_params)."""

    theta: np.ndarray
    rounds: int
    n_failed: int
    seed: int | None
    separated: np.ndarray | None = None  # per model: rounds in which it had no loss or no win


def bootstrap_counts(
    count: np.ndarray,
    fit_batch: Callable[[np.ndarray], list[np.ndarray | None]],
    *,
    rounds: int,
    seed: int | None,
) -> BootstrapSamples:
    """Resample row ``count`` (shape (n_rows,)) ``rounds`` times and refit each draw.

    ``fit_batch`` takes resampled counts of shape (m, n_rows) and returns one parameter
    vector per round, or None for a round with no finite fit.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    count = np.asarray(count, dtype=np.int64)
    total = int(count.sum())
    if total <= 0:
        raise ValueError("nothing to resample: no battles")
    rng = np.random.default_rng(seed)
    prob = count / total
    chunk = max(1, min(rounds, _CHUNK_CELLS // max(1, count.shape[0])))
    fits: list[np.ndarray] = []
    failed = 0
    done = 0
    while done < rounds:
        m = min(chunk, rounds - done)
        draws = rng.multinomial(total, prob, size=m)
        for params in fit_batch(draws):
            if params is None or not np.all(np.isfinite(params)):
                failed += 1
            else:
                fits.append(params)
        done += m
    if not fits:
        raise ValueError(
            f"all {rounds} bootstrap rounds failed to fit (separated resamples); set a regularization alpha > 0"
        )
    if failed:
        logger.warning("%d of %d bootstrap rounds had no finite fit and were dropped", failed, rounds)
    return BootstrapSamples(theta=np.vstack(fits), rounds=rounds, n_failed=failed, seed=seed)


def bootstrap_bradley_terry(
    pairs: PairCounts,
    fit: BradleyTerryFit,
    *,
    rounds: int = 1000,
    seed: int | None = 0,
) -> BootstrapSamples:
    """Bootstrap the Bradley-Terry log-strengths; each refit starts from the full-data fit."""
    cells = pairs.cell_matrix().T.tocsr()  # (n_models**2, n_rows)
    n = pairs.n_models
    separated = np.zeros(n, dtype=np.int64)

    def fit_batch(draws: np.ndarray) -> list[np.ndarray | None]:
        matrices = np.asarray(cells @ draws.T.astype(float)).T.reshape(-1, n, n)
        separated[:] += separated_in_resamples(matrices)
        out: list[np.ndarray | None] = []
        for matrix in matrices:
            try:
                out.append(fit_theta(matrix, alpha=fit.alpha, initial=fit.theta, max_iter=1000, tol=1e-8))
            except ValueError:
                out.append(None)
        return out

    samples = bootstrap_counts(pairs.count, fit_batch, rounds=rounds, seed=seed)
    return replace(samples, separated=separated)
