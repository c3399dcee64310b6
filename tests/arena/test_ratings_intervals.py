"""Confidence intervals: bootstrap coverage, bootstrap mechanics, the sandwich, rank (UB)."""

import numpy as np
import pytest

from arena.ratings import intervals
from arena.ratings.bootstrap import bootstrap_bradley_terry
from arena.ratings.bradley_terry import ELO_PER_NAT, fit_bradley_terry, fit_theta, to_ratings
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import bradley_terry_covariance
from arena.ratings.simulate import simulate_battles

THETA = np.array([-0.8, -0.3, 0.0, 0.4, 0.7])


def _pairs(sim, weight=None):
    return PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome, weight)


def test_bootstrap_and_sandwich_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time():
    truth = to_ratings(THETA, tuple("abcde"))
    covered = {"bootstrap": [], "sandwich": []}
    for rep in range(50):
        sim = simulate_battles(THETA, 800, tie_rate=0.3, seed=100 + rep)
        pairs = _pairs(sim)
        fit = fit_bradley_terry(pairs)
        boot = bootstrap_bradley_terry(pairs, fit, rounds=200, seed=rep)
        for name, ci in (
            ("bootstrap", intervals.from_samples(fit.theta, boot.theta, sim.models)),
            ("sandwich", intervals.from_covariance(fit.theta, bradley_terry_covariance(pairs, fit.theta), sim.models)),
        ):
            covered[name].extend((ci.ci_low <= truth) & (truth <= ci.ci_high))
    for name, hits in covered.items():
        rate = np.mean(hits)  # 250 intervals; binomial SD at 95% is 1.4 points
        assert 0.90 <= rate <= 0.99, f"{name} coverage {rate:.3f}"


def test_unique_row_resampling_matches_resampling_individual_battles():
    # The multinomial draw over unique rows must be the same bootstrap as drawing battles.
    sim = simulate_battles(THETA, 2_000, seed=7)
    pairs = _pairs(sim)
    fit = fit_bradley_terry(pairs)
    fast = bootstrap_bradley_terry(pairs, fit, rounds=400, seed=1).theta
    rng = np.random.default_rng(2)
    naive = []
    for _ in range(400):
        pick = rng.integers(0, sim.outcome.size, sim.outcome.size)
        resampled = PairCounts.from_arrays(sim.models, sim.model_a[pick], sim.model_b[pick], sim.outcome[pick])
        naive.append(fit_theta(resampled.win_matrix(), alpha=fit.alpha))
    ratio = fast.std(axis=0) / np.std(naive, axis=0)
    assert np.all((ratio > 0.85) & (ratio < 1.15)), ratio


def test_bootstrap_is_seeded_and_the_point_estimate_is_the_full_data_fit():
    sim = simulate_battles(THETA, 300, seed=8)
    pairs = _pairs(sim)
    fit = fit_bradley_terry(pairs)
    one = bootstrap_bradley_terry(pairs, fit, rounds=50, seed=3)
    again = bootstrap_bradley_terry(pairs, fit, rounds=50, seed=3)
    other = bootstrap_bradley_terry(pairs, fit, rounds=50, seed=4)
    np.testing.assert_array_equal(one.theta, again.theta)
    assert not np.array_equal(one.theta, other.theta)
    ci = intervals.from_samples(fit.theta, one.theta, sim.models)
    np.testing.assert_allclose(ci.rating, fit.ratings())
    assert not np.allclose(ci.rating, to_ratings(one.theta.mean(axis=0), sim.models))


def test_bootstrap_drops_separated_resamples_instead_of_returning_nan():
    # Sparse data with alpha = 0: the full data can be fitted but many resamples leave a
    # model without a loss or a win, where the MLE does not exist.
    a = np.array([0, 0, 0, 1, 1, 1, 0, 2])
    b = np.array([1, 1, 1, 2, 2, 2, 2, 0])
    outcome = np.array([0, 0, 1, 0, 0, 1, 0, 0])
    pairs = PairCounts.from_arrays(("a", "b", "c"), a, b, outcome)
    fit = fit_bradley_terry(pairs, alpha=0.0)
    boot = bootstrap_bradley_terry(pairs, fit, rounds=200, seed=0)
    assert boot.n_failed > 0
    assert boot.theta.shape == (200 - boot.n_failed, 3)
    ci = intervals.from_samples(fit.theta, boot.theta, pairs.models)
    assert np.all(np.isfinite(ci.ci_low)) and np.all(np.isfinite(ci.ci_high))


def test_sandwich_matches_a_battle_by_battle_computation():
    # Independent formula: per-battle design rows x_i = e_a - e_b, weights w_i, score y_i;
    # H = sum w p(1-p) x x^T, M = sum w^2 (y - p)^2 x x^T, cov = H^+ M H^+ (pseudo-inverse).
    sim = simulate_battles(THETA, 400, seed=9)
    weight = np.random.default_rng(0).choice([0.5, 1.0, 2.0], size=400)
    pairs = _pairs(sim, weight)
    fit = fit_bradley_terry(pairs)
    x = np.zeros((400, 5))
    x[np.arange(400), sim.model_a] += 1.0
    x[np.arange(400), sim.model_b] -= 1.0
    y = np.select([sim.outcome == 0, sim.outcome == 1], [1.0, 0.0], 0.5)
    p = 1.0 / (1.0 + np.exp(-(x @ fit.theta)))
    bread = (x * (weight * p * (1 - p))[:, None]).T @ x
    meat = (x * (weight**2 * (y - p) ** 2)[:, None]).T @ x
    expected = np.linalg.pinv(bread) @ meat @ np.linalg.pinv(bread)
    np.testing.assert_allclose(bradley_terry_covariance(pairs, fit.theta), expected, rtol=1e-8, atol=1e-12)


def test_sandwich_and_bootstrap_agree_on_the_width_of_the_intervals():
    sim = simulate_battles(THETA, 5_000, seed=10)
    pairs = _pairs(sim)
    fit = fit_bradley_terry(pairs)
    boot_sd = bootstrap_bradley_terry(pairs, fit, rounds=500, seed=0).theta.std(axis=0)
    sandwich_sd = np.sqrt(np.diag(bradley_terry_covariance(pairs, fit.theta)))
    np.testing.assert_allclose(boot_sd, sandwich_sd, rtol=0.15)


def test_anchored_covariance_intervals_use_the_difference_to_the_anchor():
    from arena.ratings.bradley_terry import Anchor

    theta = np.array([0.2, -0.1, -0.1])
    cov = np.array([[0.04, -0.01, -0.03], [-0.01, 0.02, -0.01], [-0.03, -0.01, 0.04]])
    ci = intervals.from_covariance(theta, cov, ("a", "b", "c"), anchor=Anchor("b", 1000.0), level=0.95)
    var_a = 0.04 + 0.02 - 2 * (-0.01)
    assert ci.ci_high[0] - ci.rating[0] == pytest.approx(1.959964 * np.sqrt(var_a) * ELO_PER_NAT, rel=1e-5)
    assert ci.ci_low[1] == ci.rating[1] == ci.ci_high[1] == pytest.approx(1000.0)


def test_rank_upper_bound_counts_models_clearly_above():
    low = np.array([1100.0, 1090.0, 1000.0, 900.0])
    high = np.array([1200.0, 1150.0, 1095.0, 990.0])
    # model 2's upper bound 1095 is below model 0's lower bound 1100 only; model 3 is
    # below everyone's lower bound.
    assert intervals.rank_upper_bound(low, high).tolist() == [1, 1, 2, 4]


def test_rank_upper_bound_ignores_float_noise_in_zero_width_intervals():
    # only ties: every interval is zero-width at 1000, up to float noise; nobody is clearly above anybody
    low = np.array([1000.0, 1000.0 + 1e-13, 1000.0 - 1e-13])
    assert intervals.rank_upper_bound(low, low.copy()).tolist() == [1, 1, 1]
    # a real gap still counts
    assert intervals.rank_upper_bound(np.array([1000.0, 1000.01]), np.array([1000.0, 1000.01])).tolist() == [2, 1]
