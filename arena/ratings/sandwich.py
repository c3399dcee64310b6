"""Analytic robust (sandwich) covariance for pairwise logistic models.

For the Bradley-Terry likelihood (optionally with extra covariates, as in the
length-controlled fit) the covariance of the estimate is H^-1 M H^-1, with
H = sum_k sw_k p_k (1 - p_k) x_k x_k^T (the "bread", the observed information) and
M = sum_k sw2_k (y_k - p_k)^2 x_k x_k^T (the "meat", the spread of per-battle scores),
x_k = e_a - e_b (+ covariates), y_k the score of model a (1, 0 or 1/2 for a tie),
sw_k the summed weights and sw2_k the summed squared weights of the battles in row k.
The meat uses squared weights because each battle's score is scaled by its weight;
with unit weights and a correct model M ~= H and the sandwich is the usual inverse
information.

Only rating differences are identified (adding a constant to every theta changes
nothing), so H is singular along the all-ones direction of the model block; we add
that direction to H before inverting and project it out afterwards, which gives the
covariance of the mean-centred theta.
"""

from __future__ import annotations

import numpy as np

from arena.ratings.pairs import PairCounts

__all__ = ["bradley_terry_covariance", "pair_information", "sandwich_covariance"]


def _linear_predictor(params: np.ndarray, n_models: int, a: np.ndarray, b: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    eta = params[a] - params[b]
    if z is not None:
        eta = eta + z @ params[n_models:]
    return eta


def pair_information(n_models: int, a: np.ndarray, b: np.ndarray, h: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """sum_k h_k x_k x_k^T for x_k = (e_a - e_b, z_k); shape (n_models + q, n_models + q).

    Built with bincount so it costs O(n_rows), not O(n_rows * n_models^2).
    """
    n = n_models
    q = 0 if z is None else z.shape[1]
    info = np.zeros((n + q, n + q))
    block = np.bincount(a * n + a, h, n * n) + np.bincount(b * n + b, h, n * n)
    block -= np.bincount(a * n + b, h, n * n) + np.bincount(b * n + a, h, n * n)
    info[:n, :n] = block.reshape(n, n)
    if z is not None:
        hz = h[:, None] * z
        cross = np.zeros((n, q))
        for col in range(q):
            cross[:, col] = np.bincount(a, hz[:, col], n) - np.bincount(b, hz[:, col], n)
        info[:n, n:] = cross
        info[n:, :n] = cross.T
        info[n:, n:] = z.T @ hz
    return info


def sandwich_covariance(
    params: np.ndarray,
    n_models: int,
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    sw2: np.ndarray,
    z: np.ndarray | None = None,
) -> np.ndarray:
    """Robust covariance of (theta centred, beta) at ``params``; shape (n + q, n + q).

    Rows: ``a``, ``b`` model indices, ``y`` model a's score, ``sw`` summed weights,
    ``sw2`` summed squared weights, ``z`` optional covariates of shape (n_rows, q).
    """
    p = 1.0 / (1.0 + np.exp(-_linear_predictor(params, n_models, a, b, z)))
    bread = pair_information(n_models, a, b, sw * p * (1.0 - p), z)
    meat = pair_information(n_models, a, b, sw2 * (y - p) ** 2, z)
    dim = bread.shape[0]
    v = np.zeros(dim)
    v[:n_models] = 1.0 / np.sqrt(n_models)
    vv = np.outer(v, v)
    # The pseudo-inverse of a near-singular H would silently drop the poorly determined
    # directions (a model that never loses) and report them as certain; a true inverse
    # with the one known null direction filled in keeps them wide instead.
    try:
        inverse = np.linalg.inv(bread + vv)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(bread + vv)
    project = np.eye(dim) - vv
    cov = project @ inverse @ meat @ inverse @ project
    return (cov + cov.T) / 2.0


def bradley_terry_covariance(pairs: PairCounts, theta: np.ndarray) -> np.ndarray:
    """Sandwich covariance of the centred Bradley-Terry theta; shape (n_models, n_models)."""
    sw = pairs.count * pairs.weight
    sw2 = pairs.count * pairs.weight**2
    return sandwich_covariance(theta, pairs.n_models, pairs.a, pairs.b, pairs.score, sw, sw2)
