"""CrowdBT: Bradley-Terry with a reliability per annotator, fitted by EM.

Chen, Bennett, Collins-Thompson and Horvitz (2013), "Pairwise ranking aggregation in
a crowdsourced setting", WSDM. Annotator k reports "i beats j" with probability

    q = eta_k * sigma(theta_i - theta_j) + (1 - eta_k) * sigma(theta_j - theta_i),

so eta_k = 1 is a perfectly reliable voter, 1/2 a coin and 0 one who votes the wrong
way round. Ties count as half a win each way, as in the plain fit. The fit maximises

    sum_t [y_t log q_t + (1 - y_t) log(1 - q_t)] - alpha/2 |theta|^2
        + sum_k [(A_k - 1) log eta_k + (B_k - 1) log(1 - eta_k)]

(y_t model a's score). The ridge, with choix.opt_pairwise's convention, fixes the free
constant (theta has mean 0) and keeps ratings finite: with unreliable voters the
likelihood stays bounded while a rating runs off to infinity, so alpha must be > 0.

Beta(A_k, B_k) is the prior on eta_k: Beta(10, 1) by default (the prior of Gavel's
CrowdBT; mean 0.91, mode 1) plus the evidence given. Gold-control results add correct
answers to A_k and wrong ones to B_k; overlap copies add agreements and disagreements
the same way, which is only a proxy (two voters agree with chance eta_k * eta_l +
(1 - eta_k)(1 - eta_l) on a clear-cut battle, not eta_k). The prior matters more than
its size suggests: the votes alone pin each eta's distance from 1 only loosely,
because lowering every eta while widening theta fits almost as well (the two differ
only on lopsided pairs). A prior whose mode is below 1, Beta(5, 2) say, so drifts a
reliable crowd to eta ~ 0.85 and nearly doubles the spread of theta in simulations;
gold controls pin it properly.

Fitting: an ECM variant of EM (Meng and Rubin 1993) on a latent "this vote was
flipped" per vote. Each step takes the posterior of the flips (E), refits theta as a
weighted Bradley-Terry on the expected true scores (damped Newton; convex), then sets
each eta to its exact maximum given theta (a concave 1-D problem) rather than to EM's
eta update, which creeps towards eta = 1. (theta, eta) and (-theta, 1 - eta) fit
equally well; the prior and a start at the plain fit pick the sensible one, which
needs most of the votes to come from reliable voters.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from arena.battle_table import A_WINS, B_WINS, TIE
from arena.ratings.bradley_terry import CENTER, DEFAULT_ALPHA, Anchor, fit_bradley_terry, to_ratings
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import pair_information

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PRIOR", "CrowdBTFit", "fit_crowd_bt"]

DEFAULT_PRIOR = (10.0, 1.0)  # Beta(a0, b0) on each eta before evidence
_MAX_NEWTON = 100
_BISECTIONS = 52  # to float resolution on [0, 1]
Evidence = Mapping[Hashable, tuple[float, float]]  # annotator -> (successes, total)


@dataclass(frozen=True)
class CrowdBTFit:
    """theta (shape (n_models,), mean 0) and ``reliability`` eta per ``annotators`` entry.

    ``log_likelihood`` is the marginal log-likelihood of the votes (no ridge, no prior)
    at the fit; ``n_iter`` counts ECM steps, and ``converged`` is False when they ran out.
    """

    models: tuple[str, ...]
    theta: np.ndarray
    annotators: tuple[Hashable, ...]
    reliability: np.ndarray
    n_iter: int
    converged: bool
    log_likelihood: float
    alpha: float

    def ratings(self, *, anchor: Anchor | None = None, center: float = CENTER) -> np.ndarray:
        return to_ratings(self.theta, self.models, anchor=anchor, center=center)

    def reliability_of(self, annotator: Hashable) -> float:
        return float(self.reliability[self.annotators.index(annotator)])


def _check_battles(
    model_a: np.ndarray, model_b: np.ndarray, outcome: np.ndarray, annotator: np.ndarray, n_models: int
) -> None:
    if not (model_a.ndim == 1 and model_a.shape == model_b.shape == outcome.shape == annotator.shape):
        raise ValueError("model_a, model_b, outcome and annotator must have the same shape (n_battles,)")
    if model_a.size == 0:
        raise ValueError("no battles")
    for name, side in (("model_a", model_a), ("model_b", model_b)):
        if not np.issubdtype(side.dtype, np.integer):
            raise ValueError(f"{name} must hold integer indices into models, got dtype {side.dtype}")
        if side.min() < 0 or side.max() >= n_models:
            raise ValueError(f"{name} has indices outside 0..{n_models - 1}")
    if np.any(model_a == model_b):
        raise ValueError("a model cannot battle itself")
    if not np.isin(outcome, (A_WINS, B_WINS, TIE)).all():
        raise ValueError("outcome codes must be 0 (model_a won), 1 (model_b won) or 2 (tie)")


def _beta_parameters(
    annotators: tuple[Hashable, ...], prior: tuple[float, float], evidence: dict[str, Evidence | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Beta(A_k, B_k) per annotator: the prior plus successes and failures of each evidence."""
    a0, b0 = prior
    # Below 1 the log prior runs to +infinity at eta = 0 or 1 and the objective has no maximum.
    if not (np.isfinite(a0) and np.isfinite(b0) and a0 >= 1.0 and b0 >= 1.0):
        raise ValueError(f"prior must be Beta(a0, b0) with a0, b0 >= 1, got {prior}")
    big_a = np.full(len(annotators), float(a0))
    big_b = np.full(len(annotators), float(b0))
    index = {k: i for i, k in enumerate(annotators)}
    for kind, counts in evidence.items():
        if counts is None:
            continue
        unknown = [k for k in counts if k not in index]
        if unknown:
            raise ValueError(f"{kind} names annotators with no battles: {', '.join(map(repr, unknown[:5]))}")
        for k, pair in counts.items():
            if len(pair) != 2:
                raise ValueError(f"{kind}[{k!r}] must be (successes, total), got {pair!r}")
            good, total = float(pair[0]), float(pair[1])
            if not (np.isfinite(good) and np.isfinite(total) and 0.0 <= good <= total):
                raise ValueError(f"{kind}[{k!r}] must be (successes, total) with 0 <= successes <= total, got {pair!r}")
            big_a[index[k]] += good
            big_b[index[k]] += total - good
    return big_a, big_b


def _fit_weighted_theta(
    n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray, w: np.ndarray, alpha: float, theta: np.ndarray
) -> np.ndarray:
    """Ridge-penalised weighted Bradley-Terry (score s, weight w per row) by damped Newton.

    Not choix: its alpha is a pseudo-count of the LSR chain, not this ridge, and the fit must
    maximise exactly the objective in the module docstring. Convex, and warm-started from the
    previous iterate, so it takes a step or two.
    """

    def objective(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        d = t[a] - t[b]
        loss = np.sum(w * (s * np.logaddexp(0.0, -d) + (1.0 - s) * np.logaddexp(0.0, d)))
        p = 1.0 / (1.0 + np.exp(-d))
        resid = w * (p - s)
        grad = np.bincount(a, resid, n) - np.bincount(b, resid, n) + alpha * t
        hess = pair_information(n, a, b, w * p * (1.0 - p)) + alpha * np.eye(n)
        return float(loss + 0.5 * alpha * t @ t), grad, hess

    loss, grad, hess = objective(theta)
    for _ in range(_MAX_NEWTON):
        step = np.linalg.solve(hess, grad)  # positive definite thanks to the ridge
        decrement = float(grad @ step)  # twice the predicted decrease
        if decrement <= 1e-14 * (1.0 + abs(loss)):
            return theta
        t = 1.0
        while True:
            new = theta - t * step
            new_loss, new_grad, new_hess = objective(new)
            if new_loss <= loss - 0.25 * t * decrement:
                break
            t /= 2.0
            if t < 1e-10:  # no decrease left to find at float precision: this is the optimum
                return theta
        theta, loss, grad, hess = new, new_loss, new_grad, new_hess
    raise ValueError("CrowdBT theta step did not converge; try a larger alpha")


@dataclass(frozen=True)
class _Rows:
    """Unique (a, b, outcome, annotator) rows: ``y`` a's score, ``w`` the row's count."""

    n_models: int
    a: np.ndarray
    b: np.ndarray
    k: np.ndarray
    y: np.ndarray
    w: np.ndarray
    big_a: np.ndarray  # Beta(A_k, B_k) prior of each eta
    big_b: np.ndarray
    alpha: float


def _report_probability(rows: _Rows, theta: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigma(theta_a - theta_b) and q = P(the annotator reports "a beats b"), per row."""
    p = 1.0 / (1.0 + np.exp(theta[rows.b] - theta[rows.a]))
    e = eta[rows.k]
    return p, e * p + (1.0 - e) * (1.0 - p)


def _log_likelihood(rows: _Rows, theta: np.ndarray, eta: np.ndarray) -> float:
    _, q = _report_probability(rows, theta, eta)
    # q lies between p and 1 - p, so it reaches 0 or 1 only when p does (float overflow).
    tiny = np.finfo(float).tiny
    return float(np.sum(rows.w * (xlogy(rows.y, np.maximum(q, tiny)) + xlogy(1.0 - rows.y, np.maximum(1.0 - q, tiny)))))


def _best_eta(rows: _Rows, theta: np.ndarray) -> np.ndarray:
    """Each annotator's eta maximising the objective at fixed theta, by bisection.

    q is linear in eta and the Beta prior log-concave, so each annotator's problem is
    concave in eta and its derivative falls monotonically. Solving it exactly, rather than
    taking EM's eta step, matters at eta = 1, the usual answer for a reliable voter with
    the default prior: there EM's step shrinks as fast as the distance and creeps.
    """
    p = 1.0 / (1.0 + np.exp(theta[rows.b] - theta[rows.a]))
    slope = 2.0 * p - 1.0  # q = (1 - p) + eta * slope
    n_k = rows.big_a.shape[0]
    low, high = np.zeros(n_k), np.ones(n_k)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (low + high)
        q = (1.0 - p) + mid[rows.k] * slope
        d_like = rows.w * slope * (rows.y / q - (1.0 - rows.y) / (1.0 - q))
        derivative = np.bincount(rows.k, d_like, n_k) + (rows.big_a - 1.0) / mid - (rows.big_b - 1.0) / (1.0 - mid)
        rising = derivative > 0
        low, high = np.where(rising, mid, low), np.where(rising, high, mid)
    return 0.5 * (low + high)


def _step(rows: _Rows, theta: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One ECM step: an EM update of theta, then the exact best eta for it. Never lowers the objective."""
    # E step: posterior that the vote was not flipped, for each half of a (tied) vote.
    p, q = _report_probability(rows, theta, eta)
    e = eta[rows.k]
    # q is 0 or 1 only where p is and eta is 0 or 1 too; then the flip is certain and eta says which.
    honest_a = np.divide(e * p, q, out=e.copy(), where=q > 0)  # the "a wins" half
    honest_b = np.divide(e * (1.0 - p), 1.0 - q, out=e.copy(), where=q < 1)  # the "b wins" half
    # M step for theta: weighted Bradley-Terry on the expected true scores.
    score = rows.y * honest_a + (1.0 - rows.y) * (1.0 - honest_b)
    new_theta = _fit_weighted_theta(rows.n_models, rows.a, rows.b, score, rows.w, rows.alpha, theta)
    return new_theta, _best_eta(rows, new_theta)


def fit_crowd_bt(
    model_a: np.ndarray,
    model_b: np.ndarray,
    outcome: np.ndarray,
    annotator: np.ndarray,
    models: tuple[str, ...],
    *,
    gold: Evidence | None = None,
    overlap: Evidence | None = None,
    prior: tuple[float, float] = DEFAULT_PRIOR,
    alpha: float = DEFAULT_ALPHA,
    max_iter: int = 1000,
    tol: float = 1e-8,
) -> CrowdBTFit:
    """Fit theta and one reliability per annotator to the battles (arrays of shape (n_battles,)).

    ``model_a``/``model_b`` index into ``models``; ``outcome`` is A_WINS/B_WINS/TIE;
    ``annotator`` holds one id (str or int) per battle. ``gold`` maps an annotator id to
    (correct, total) gold-control answers, ``overlap`` to (agreeing, total) comparisons
    with other voters on copied battles. The fit stops when a step moves no theta or eta
    by more than ``tol``, or after ``max_iter`` steps.
    """
    model_a, model_b = np.asarray(model_a), np.asarray(model_b)
    outcome, annotator = np.asarray(outcome), np.asarray(annotator)
    models = tuple(models)
    n = len(models)
    if n < 2:
        raise ValueError("need at least two models")
    _check_battles(model_a, model_b, outcome, annotator, n)
    if not alpha > 0:
        raise ValueError(f"CrowdBT needs a ridge alpha > 0 (unreliable voters leave ratings unbounded), got {alpha}")
    if max_iter < 1 or not tol > 0:
        raise ValueError(f"need max_iter >= 1 and tol > 0, got {max_iter} and {tol}")
    ids, k_of_battle = np.unique(annotator, return_inverse=True)
    annotators = tuple(ids.tolist())
    n_k = len(annotators)
    big_a, big_b = _beta_parameters(annotators, prior, {"gold": gold, "overlap": overlap})

    # Collapse to unique (a, b, outcome, annotator) rows: EM then costs O(rows), not O(battles).
    key = ((model_a.astype(np.int64) * n + model_b) * 3 + outcome) * n_k + k_of_battle
    keys, count = np.unique(key, return_counts=True)
    code, pair = keys // n_k % 3, keys // n_k // 3
    k = keys % n_k
    rows = _Rows(
        n_models=n, a=pair // n, b=pair % n, k=k,
        y=np.select([code == A_WINS, code == B_WINS], [1.0, 0.0], 0.5), w=count.astype(float),
        big_a=big_a, big_b=big_b, alpha=alpha,
    )

    # Start at the plain fit (everyone reliable), which picks the right one of the two mirror
    # solutions when most votes come from reliable voters, and at the best eta for it.
    theta = fit_bradley_terry(PairCounts.from_arrays(models, model_a, model_b, outcome), alpha=alpha).theta
    eta = _best_eta(rows, theta)
    converged, n_iter = False, 0
    while n_iter < max_iter:
        new_theta, new_eta = _step(rows, theta, eta)
        n_iter += 1
        change = max(np.max(np.abs(new_theta - theta)), np.max(np.abs(new_eta - eta)))
        theta, eta = new_theta, new_eta
        if change < tol:
            converged = True
            break
    if not converged:
        logger.warning("CrowdBT fit stopped after %d steps without converging (tol %g)", n_iter, tol)
    return CrowdBTFit(
        models=models,
        theta=theta - theta.mean(),  # mean 0 at the optimum already; this removes rounding
        annotators=annotators,
        reliability=eta,
        n_iter=n_iter,
        converged=converged,
        log_likelihood=_log_likelihood(rows, theta, eta),
        alpha=alpha,
    )
