"""Bradley-Terry by maximum likelihood with choix, on the Elo scale.

Model: P(i beats j) = 1 / (1 + exp(-(theta_i - theta_j))), ties counted as half a win
each way. choix's iterative Luce spectral ranking (ILSR) solves the likelihood
equations on the fractional comparison matrix W (W[i, j] = weighted wins of i over j),
which is all the data the model needs.

``alpha`` is choix's regularization: it seeds every transition rate of the LSR Markov
chain, which acts roughly like a weak Beta prior on each pair's outcome (choix docs,
"Notes on Regularization"). With alpha = 0 the maximum-likelihood ratings are infinite
when a model never loses or the battle graph is not connected; a small alpha keeps
them finite (and very uncertain) without moving well-supported ratings.

Ratings: 400 * log10 units, i.e. rating = theta * 400 / ln(10); centred so that the
mean over models is 1000, or shifted so an anchor model has a given rating.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import choix
import numpy as np

from arena.ratings.pairs import PairCounts

logger = logging.getLogger(__name__)

__all__ = ["Anchor", "BradleyTerryFit", "fit_bradley_terry", "to_ratings"]

SCALE = 400.0
BASE = 10.0
CENTER = 1000.0
ELO_PER_NAT = SCALE / np.log(BASE)  # rating points per unit of theta
DEFAULT_ALPHA = 1e-3


@dataclass(frozen=True)
class Anchor:
    """Pin ``model`` at ``rating``; without an anchor the mean rating is the centre."""

    model: str
    rating: float

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """Parse ``MODEL=RATING`` (the model name may itself contain '=')."""
        name, sep, value = text.rpartition("=")
        if not sep or not name.strip():
            raise ValueError(f"anchor must look like MODEL=RATING, e.g. gpt-4o=1200; got {text!r}")
        try:
            rating = float(value)
        except ValueError:
            raise ValueError(f"anchor rating must be a number, got {value!r} in {text!r}") from None
        if not np.isfinite(rating):
            raise ValueError(f"anchor rating must be finite, got {value!r}")
        return cls(model=name.strip(), rating=rating)

    def describe(self) -> str:
        return f"{self.model} fixed at {self.rating:g}"


def to_ratings(
    theta: np.ndarray,
    models: tuple[str, ...],
    *,
    anchor: Anchor | None = None,
    center: float = CENTER,
) -> np.ndarray:
    """Map log-strengths of shape (..., n_models) to ratings of the same shape."""
    elo = np.asarray(theta, dtype=float) * ELO_PER_NAT
    if anchor is None:
        return elo - elo.mean(axis=-1, keepdims=True) + center
    if anchor.model not in models:
        raise ValueError(f"anchor model {anchor.model!r} is not in the data; models: {', '.join(models)}")
    k = models.index(anchor.model)
    return elo - elo[..., k : k + 1] + anchor.rating


def fit_theta(
    win_matrix: np.ndarray,
    *,
    alpha: float = DEFAULT_ALPHA,
    initial: np.ndarray | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-10,
) -> np.ndarray:
    """Log-strengths (mean 0) from a (n, n) fractional win matrix via choix ILSR.

    Raises ValueError when there is no finite solution (alpha = 0 with separated or
    disconnected data) or the iteration does not settle.
    """
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    try:
        # choix takes log(0) on its way to failing for separated data; the failure is handled below.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            theta = choix.ilsr_pairwise_dense(win_matrix, alpha=alpha, initial_params=initial, max_iter=max_iter, tol=tol)
    except ValueError as exc:  # choix: the Markov chain has several absorbing classes
        raise ValueError(
            "Bradley-Terry has no finite maximum-likelihood solution for these battles "
            "(a model never loses or never wins, or the models are not all connected by battles); "
            "set a regularization alpha > 0"
        ) from exc
    except RuntimeError as exc:
        raise ValueError(f"Bradley-Terry fit did not converge ({exc}); try a larger alpha") from exc
    if not np.all(np.isfinite(theta)):
        raise ValueError("Bradley-Terry fit gave non-finite ratings; set a regularization alpha > 0")
    return theta - theta.mean()


@dataclass(frozen=True)
class BradleyTerryFit:
    """Fitted log-strengths ``theta`` (shape (n_models,), mean 0) for ``models``."""

    models: tuple[str, ...]
    theta: np.ndarray
    alpha: float

    def ratings(self, *, anchor: Anchor | None = None, center: float = CENTER) -> np.ndarray:
        return to_ratings(self.theta, self.models, anchor=anchor, center=center)

    def win_probability(self, i: int, j: int) -> float:
        """P(models[i] beats models[j]) under the fit."""
        return float(1.0 / (1.0 + np.exp(self.theta[j] - self.theta[i])))


def fit_bradley_terry(pairs: PairCounts, *, alpha: float = DEFAULT_ALPHA) -> BradleyTerryFit:
    """Maximum-likelihood Bradley-Terry fit of the (weighted) battles in ``pairs``."""
    theta = fit_theta(pairs.win_matrix(), alpha=alpha)
    return BradleyTerryFit(models=pairs.models, theta=theta, alpha=alpha)
