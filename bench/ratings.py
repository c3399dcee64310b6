"""Benchmark: Bradley-Terry fit and bootstrap on 1M battles over 20 models, 1,000 rounds.

    .venv/bin/python bench/ratings.py            # full run (target: bootstrap < 20 s)
    .venv/bin/python bench/ratings.py --quick    # 50k battles, 100 rounds
    .venv/bin/python bench/ratings.py --fastchat ~/src/FastChat   # also FastChat's compute_bootstrap_bt

Also times the whole path from a DataFrame of rows to the leaderboard table.

Ours: choix ILSR on the fractional comparison matrix; bootstrap by multinomial
resampling of the unique (model_a, model_b, outcome) rows. Reference: the naive
bootstrap, resampling individual battles and refitting a battle-level logistic
regression with scipy (L-BFGS), timed on a few rounds; the ratio compares the time
per round. With ``--fastchat`` (a checkout of github.com/lm-sys/FastChat; its code is
loaded from there, not copied here), the peer: FastChat's ``compute_bootstrap_bt`` from
``fastchat/serve/monitor/rating_systems.py``, which also resamples unique rows by a
multinomial and fits each with scipy L-BFGS on a process pool, timed on the same battles
and rounds. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from arena.battle_table import prepare_battles  # noqa: E402
from arena.ratings.bootstrap import bootstrap_bradley_terry  # noqa: E402
from arena.ratings.bradley_terry import ELO_PER_NAT, fit_bradley_terry  # noqa: E402
from arena.ratings.leaderboard import build_leaderboard  # noqa: E402
from arena.ratings.pairs import PairCounts  # noqa: E402
from arena.ratings.simulate import LABELS, simulate_battles  # noqa: E402


def scipy_fit(a: np.ndarray, b: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    """Battle-level logistic regression (last model fixed at 0), as a naive pipeline would do."""

    def loss(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.append(free, 0.0)
        eta = theta[a] - theta[b]
        value = np.sum(score * np.logaddexp(0.0, -eta) + (1.0 - score) * np.logaddexp(0.0, eta))
        resid = 1.0 / (1.0 + np.exp(-eta)) - score
        grad = np.bincount(a, resid, n) - np.bincount(b, resid, n)
        return float(value), grad[:-1]

    result = optimize.minimize(loss, np.zeros(n - 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-6})
    theta = np.append(result.x, 0.0)
    return theta - theta.mean()


def load_fastchat(root: Path):
    """FastChat's rating module from a checkout (it needs only numpy, scipy, pandas and tqdm)."""
    path = root.expanduser() / "fastchat" / "serve" / "monitor" / "rating_systems.py"
    if not path.is_file():
        raise SystemExit(f"--fastchat: {path} not found; give the root of a FastChat checkout")
    spec = importlib.util.spec_from_file_location("fastchat_rating_systems", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its process pool pickles fit_bt by module name
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small run: 50k battles, 100 rounds, 2 naive rounds")
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--naive-rounds", type=int, default=3, help="rounds of the naive reference to time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fastchat", type=Path, default=None,
                        help="root of a FastChat checkout: also time its compute_bootstrap_bt on the same battles")
    args = parser.parse_args()
    if args.quick:
        args.battles, args.rounds, args.naive_rounds = 50_000, 100, 2

    theta = np.random.default_rng(args.seed).normal(0.0, 0.6, args.models)
    sim = simulate_battles(theta, args.battles, tie_rate=0.3, seed=args.seed)

    start = time.perf_counter()
    pairs = PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome)
    prepare_s = time.perf_counter() - start
    start = time.perf_counter()
    fit = fit_bradley_terry(pairs)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    boot = bootstrap_bradley_terry(pairs, fit, rounds=args.rounds, seed=args.seed)
    bootstrap_s = time.perf_counter() - start

    score = np.select([sim.outcome == 0, sim.outcome == 1], [1.0, 0.0], 0.5)
    start = time.perf_counter()
    naive_theta = scipy_fit(sim.model_a, sim.model_b, score, args.models)
    naive_fit_s = time.perf_counter() - start
    rng = np.random.default_rng(args.seed + 1)
    start = time.perf_counter()
    for _ in range(args.naive_rounds):
        pick = rng.integers(0, args.battles, args.battles)
        scipy_fit(sim.model_a[pick], sim.model_b[pick], score[pick], args.models)
    naive_round_s = (time.perf_counter() - start) / args.naive_rounds

    # The whole path the CLI takes: rows (a DataFrame of names and labels) to a leaderboard.
    names = np.asarray(sim.models, dtype=object)
    frame = pd.DataFrame({
        "model_a": names[sim.model_a], "model_b": names[sim.model_b],
        "winner": np.asarray([LABELS[k] for k in range(3)], dtype=object)[sim.outcome],
    })
    start = time.perf_counter()
    build_leaderboard(prepare_battles(frame), rounds=args.rounds, seed=args.seed)
    end_to_end_s = time.perf_counter() - start

    peer: dict[str, object] = {}
    if args.fastchat is not None:
        fastchat = load_fastchat(args.fastchat)
        start = time.perf_counter()
        theirs = fastchat.compute_bootstrap_bt(frame, num_round=args.rounds)
        fastchat_s = time.perf_counter() - start
        their_fit = fastchat.compute_bt(frame)
        ours = pd.Series(fit.theta * ELO_PER_NAT, index=list(sim.models))
        peer = {
            "fastchat_bootstrap_s": round(fastchat_s, 3),
            "fastchat_processes": os.cpu_count(),
            "speedup_vs_fastchat": round(fastchat_s / bootstrap_s, 1),
            "fit_vs_fastchat_max_abs_elo": round(float((ours - (their_fit - their_fit.mean())[ours.index]).abs().max()), 4),
            "fastchat_rounds": len(theirs),
        }

    ours_round_s = bootstrap_s / args.rounds
    print(json.dumps({
        "benchmark": "ratings",
        "battles": args.battles,
        "models": args.models,
        "unique_rows": int(pairs.count.size),
        "rounds": args.rounds,
        "prepare_s": round(prepare_s, 3),
        "fit_s": round(fit_s, 4),
        "bootstrap_s": round(bootstrap_s, 3),
        "bootstrap_failed_rounds": boot.n_failed,
        "leaderboard_from_rows_s": round(end_to_end_s, 3),
        "naive_fit_s": round(naive_fit_s, 3),
        "naive_rounds_timed": args.naive_rounds,
        "naive_round_s": round(naive_round_s, 3),
        "naive_bootstrap_estimate_s": round(naive_round_s * args.rounds, 1),
        "speedup_per_round": round(naive_round_s / ours_round_s, 1),
        "fit_vs_naive_max_abs_elo": round(float(np.max(np.abs(fit.theta - naive_theta)) * ELO_PER_NAT), 4),
        "target_bootstrap_s": 20.0,
        "meets_target": bool(prepare_s + fit_s + bootstrap_s < 20.0),
        **peer,
    }))


if __name__ == "__main__":
    main()
