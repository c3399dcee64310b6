"""Benchmark: votes needed to separate every neighbour pair, uniform vs vote-balanced vs active sampling.

    .venv/bin/python bench/sampling.py            # full run: 40 repeats, batches of 50 votes (~1.5 min)
    .venv/bin/python bench/sampling.py --quick    # 8 repeats, batches of 100, smaller budget

Simulator: 9 models whose true ratings have unequal gaps (30 to 150 Elo), votes drawn
with ties by ``simulate_battles``. Votes arrive in batches; before each batch the policy
is recomputed from all votes so far:

- uniform: every pair equally likely;
- balanced: ``arena.sampler.pair_probabilities`` with balance=1 (fewer votes, more likely);
- active: ``arena.active_sampler.active_pair_probabilities`` (default floor).

A run stops when every pair adjacent in the true order is separated by the 95% sandwich
intervals of the (unweighted) Bradley-Terry fit (the stronger model's lower bound above
the weaker one's upper bound, in the true direction), or at the vote budget. The
likelihood fit stays valid under an adaptive design, so the stopping rule uses it; the
inverse-propensity (1/sampling_prob, scaled to mean 1) ratings after the first
BIAS_AT_VOTES votes of each run are compared to the truth as a check on the IPW path (a
fixed budget: ratings read at a data-dependent stop, "when the gaps look resolved", need
not be unbiased under any design). Each repeat uses the same seed for all policies.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena.active_sampler import active_pair_probabilities  # noqa: E402
from arena.ratings.bradley_terry import ELO_PER_NAT, fit_bradley_terry  # noqa: E402
from arena.ratings.intervals import from_covariance  # noqa: E402
from arena.ratings.pairs import PairCounts  # noqa: E402
from arena.ratings.sandwich import bradley_terry_covariance  # noqa: E402
from arena.ratings.simulate import simulate_battles  # noqa: E402
from arena.sampler import pair_probabilities  # noqa: E402

GAPS_ELO = (30.0, 60.0, 120.0, 30.0, 90.0, 45.0, 150.0, 40.0)  # between neighbours, strongest first
POLICIES = ("uniform", "balanced", "active")
CRITERIA = ("intervals", "difference")
Z95 = 1.959963984540054
BIAS_AT_VOTES = 2_000  # below every run's length: the intervals criterion needs several thousand votes


def true_theta() -> np.ndarray:
    elo = -np.concatenate([[0.0], np.cumsum(GAPS_ELO)])
    return (elo - elo.mean()) / ELO_PER_NAT


def policy_probabilities(policy: str, models: tuple[str, ...], a: np.ndarray, b: np.ndarray,
                         pairs: PairCounts | None) -> dict[tuple[str, str], float]:
    if policy == "uniform":
        return pair_probabilities(models, balance=0.0)
    if policy == "balanced":
        votes: dict[frozenset[str], int] = {}
        for i, j in zip(a.tolist(), b.tolist(), strict=True):
            key = frozenset((models[i], models[j]))
            votes[key] = votes.get(key, 0) + 1
        return pair_probabilities(models, votes=votes, balance=1.0)
    if policy == "active":
        return active_pair_probabilities(models, pairs)
    raise ValueError(f"Unknown policy: {policy}")


def separated(pairs: PairCounts, theta_true: np.ndarray) -> dict[str, bool]:
    """Whether every true-order neighbour pair is resolved at 95%, in the true direction, by

    - "intervals": disjoint per-model sandwich intervals (what the leaderboard shows);
    - "difference": the interval of the rating difference excludes 0 (what the active
      criterion aims at: it shrinks the variance of neighbour differences).
    """
    fit = fit_bradley_terry(pairs)
    cov = bradley_terry_covariance(pairs, fit.theta)
    ci = from_covariance(fit.theta, cov, pairs.models)
    order = np.argsort(-theta_true)
    hi, lo = order[:-1], order[1:]
    sd_diff = np.sqrt(np.clip(cov[hi, hi] + cov[lo, lo] - 2.0 * cov[hi, lo], 0.0, None))
    return {
        "intervals": bool(np.all(ci.ci_low[hi] > ci.ci_high[lo])),
        "difference": bool(np.all(fit.theta[hi] - fit.theta[lo] > Z95 * sd_diff)),
    }


def rmse_elo(theta: np.ndarray, theta_true: np.ndarray) -> float:
    diff = (theta - theta.mean()) - (theta_true - theta_true.mean())
    return float(np.sqrt(np.mean(diff**2)) * ELO_PER_NAT)


def run_once(policy: str, theta_true: np.ndarray, *, batch: int, budget: int, seed: int) -> dict[str, Any]:
    n = theta_true.size
    models = tuple(f"m{k}" for k in range(n))
    index = {m: k for k, m in enumerate(models)}
    rng = np.random.default_rng(seed)
    a = np.zeros(0, dtype=np.int64)
    b = np.zeros(0, dtype=np.int64)
    outcome = np.zeros(0, dtype=np.int64)
    prob = np.zeros(0)
    pairs: PairCounts | None = None
    votes_at: dict[str, int] = {}  # first vote count at which each criterion held
    while a.size < budget and len(votes_at) < len(CRITERIA):
        probs = policy_probabilities(policy, models, a, b, pairs)
        matrix = np.zeros((n, n))
        for (x, y), p in probs.items():  # ordered cells: half each way, left/right at random
            matrix[index[x], index[y]] = matrix[index[y], index[x]] = p / 2.0
        sim = simulate_battles(theta_true, batch, seed=int(rng.integers(2**63)), pair_prob=matrix, models=models)
        a = np.concatenate([a, sim.model_a])
        b = np.concatenate([b, sim.model_b])
        outcome = np.concatenate([outcome, sim.outcome.astype(np.int64)])
        prob = np.concatenate([prob, 2.0 * matrix[sim.model_a, sim.model_b]])
        pairs = PairCounts.from_arrays(models, a, b, outcome)
        for criterion, ok in separated(pairs, theta_true).items():
            if ok and criterion not in votes_at:
                votes_at[criterion] = a.size
    # Errors at a fixed number of votes (the votes are a prefix of the run), not at the stop.
    k = min(BIAS_AT_VOTES, a.size)
    weight = 1.0 / prob[:k]
    ipw = fit_bradley_terry(PairCounts.from_arrays(models, a[:k], b[:k], outcome[:k], weight / weight.mean()))
    plain = fit_bradley_terry(PairCounts.from_arrays(models, a[:k], b[:k], outcome[:k]))
    return {
        "votes": {c: float(votes_at.get(c, budget)) for c in CRITERIA},
        "reached": {c: c in votes_at for c in CRITERIA},
        "ipw_signed_elo": ((ipw.theta - ipw.theta.mean()) - (theta_true - theta_true.mean())) * ELO_PER_NAT,
        "ipw_rmse_elo": rmse_elo(ipw.theta, theta_true),
        "rmse_elo": rmse_elo(plain.theta, theta_true),
    }


def summary(values: list[float]) -> dict[str, float]:
    """Mean over repeats and its Monte-Carlo standard error."""
    x = np.asarray(values)
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return {"mean": round(float(x.mean()), 2), "se": round(se, 2)}


def max_bias(signed: list[np.ndarray]) -> dict[str, float]:
    """The model with the largest |mean signed error| over repeats, and that mean's Monte-Carlo SE."""
    x = np.asarray(signed)  # (repeats, n_models)
    mean = x.mean(axis=0)
    k = int(np.argmax(np.abs(mean)))
    se = float(x[:, k].std(ddof=1) / np.sqrt(x.shape[0])) if x.shape[0] > 1 else float("nan")
    return {"mean": round(float(abs(mean[k])), 2), "se": round(se, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small run: defaults become 8 repeats, batches of 100, budget 30,000")
    parser.add_argument("--seed", type=int, default=0, help="base seed; repeat r uses seed + r for every policy")
    parser.add_argument("--repeats", type=int, default=None, help="simulated arenas per policy (default 40)")
    parser.add_argument("--batch", type=int, default=None,
                        help="votes per batch; the policy is recomputed between batches (default 50)")
    parser.add_argument("--budget", type=int, default=None,
                        help="stop a run after this many votes even if unresolved (default 40,000)")
    args = parser.parse_args()
    # Stopping times spread widely (uniform's have a long tail), so 20 repeats leave the saving
    # within about +-11 points; 40 halve the variance.
    defaults = (8, 100, 30_000) if args.quick else (40, 50, 40_000)
    args.repeats, args.batch, args.budget = (
        given if given is not None else default
        for given, default in zip((args.repeats, args.batch, args.budget), defaults, strict=True)
    )
    if args.repeats < 1 or args.batch < 1 or args.budget < args.batch:
        parser.error("need --repeats >= 1, --batch >= 1 and --budget >= --batch")

    theta = true_theta()
    start = time.perf_counter()
    results: dict[str, list[dict[str, float]]] = {p: [] for p in POLICIES}
    for r in range(args.repeats):
        for policy in POLICIES:
            results[policy].append(run_once(policy, theta, batch=args.batch, budget=args.budget, seed=args.seed + r))
    elapsed = time.perf_counter() - start

    report: dict[str, object] = {}
    for policy, runs in results.items():
        report[policy] = {
            "median_votes": {c: float(np.median([run["votes"][c] for run in runs])) for c in CRITERIA},
            "mean_votes": {c: summary([run["votes"][c] for run in runs]) for c in CRITERIA},
            "reached": {c: int(sum(run["reached"][c] for run in runs)) for c in CRITERIA},
            "ipw_rmse_elo": summary([run["ipw_rmse_elo"] for run in runs]),
            "rmse_elo": summary([run["rmse_elo"] for run in runs]),
            "ipw_max_abs_bias_elo": max_bias([run["ipw_signed_elo"] for run in runs]),
        }
    saving = {
        c: round(1.0 - report["active"]["median_votes"][c] / report["uniform"]["median_votes"][c], 3)  # type: ignore[index]
        for c in CRITERIA
    }
    # The stopping time is a noisy first passage (its spread across repeats is ~50%), so the
    # saving is also given on the means, with a delta-method SE (independent runs per policy).
    saving_of_means = {}
    for c in CRITERIA:
        act = np.array([run["votes"][c] for run in results["active"]])
        uni = np.array([run["votes"][c] for run in results["uniform"]])
        ratio = act.mean() / uni.mean()
        rel_var = (act.var(ddof=1) / act.mean() ** 2 + uni.var(ddof=1) / uni.mean() ** 2) / args.repeats
        se = float(ratio * np.sqrt(rel_var)) if args.repeats > 1 else float("nan")
        saving_of_means[c] = {"mean": round(1.0 - float(ratio), 3), "se": round(se, 3)}
    print(json.dumps({
        "benchmark": "sampling",
        "models": int(theta.size),
        "gaps_elo": list(GAPS_ELO),
        "repeats": args.repeats,
        "batch": args.batch,
        "budget": args.budget,
        "bias_at_votes": BIAS_AT_VOTES,
        "criteria": list(CRITERIA),
        **report,
        "active_saving_vs_uniform": saving,
        "active_saving_of_mean_votes": saving_of_means,
        "target_saving": 0.30,
        "meets_target": {c: bool(saving[c] >= 0.30) for c in CRITERIA},
        "elapsed_s": round(elapsed, 2),
    }))


if __name__ == "__main__":
    main()
