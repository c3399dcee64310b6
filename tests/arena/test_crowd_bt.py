"""CrowdBT: the fit is the maximum of its objective (checked against scipy), it reduces to the
plain fit for a reliable crowd, it beats the plain fit when a fifth of the voters are bad, and
gold / overlap evidence moves the reliabilities the right way."""

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit, xlogy

from arena.battle_table import A_WINS, B_WINS, TIE
from arena.ratings.bradley_terry import ELO_PER_NAT, Anchor, fit_bradley_terry
from arena.ratings.crowd_bt import fit_crowd_bt
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import bradley_terry_covariance
from arena.ratings.simulate import simulate_battles

STRENGTHS = np.array([1.0, 0.6, 0.3, 0.0, -0.3, -0.6, -1.0])


def crowd(theta, n_battles, eta, seed):
    """Battles from true strengths, each reported by a random annotator who flips it with chance
    1 - eta. A flipped win is the other side's win and a tie stays a tie, which is a draw from
    the same simulator at -theta: exactly the CrowdBT model with ties as half wins."""
    sim = simulate_battles(np.asarray(theta), n_battles, tie_rate=0.2, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    who = rng.integers(0, len(eta), n_battles)
    flip = rng.random(n_battles) > np.asarray(eta)[who]
    outcome = sim.outcome.copy()
    outcome[flip & (sim.outcome == A_WINS)] = B_WINS
    outcome[flip & (sim.outcome == B_WINS)] = A_WINS
    return sim, outcome, np.array([f"ann-{k:02d}" for k in who])


def plain_fit(sim, outcome):
    return fit_bradley_terry(PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, outcome))


def rmse(theta, truth):
    return float(np.sqrt(np.mean(((theta - theta.mean()) - (truth - truth.mean())) ** 2)))


def test_the_fit_is_the_maximum_of_the_penalised_marginal_likelihood():
    truth = np.array([0.6, 0.1, -0.2, -0.5])
    sim, outcome, who = crowd(truth, 600, [1.0, 0.9, 0.8, 0.5, 0.1], seed=3)
    gold = {"ann-02": (6, 10)}
    alpha = 0.05
    fit = fit_crowd_bt(sim.model_a, sim.model_b, outcome, who, sim.models, gold=gold,
                       prior=(10.0, 1.0), alpha=alpha, tol=1e-12)
    assert fit.converged and fit.annotators == ("ann-00", "ann-01", "ann-02", "ann-03", "ann-04")

    # The objective written out from the definition, on the raw battles: Beta(10 + correct, 1 + wrong).
    _, k = np.unique(who, return_inverse=True)
    y = np.select([outcome == A_WINS, outcome == B_WINS], [1.0, 0.0], 0.5)
    big_a = np.array([10.0, 10.0, 16.0, 10.0, 10.0])
    big_b = np.array([1.0, 1.0, 5.0, 1.0, 1.0])

    def log_likelihood(theta, eta):
        p = expit(theta[sim.model_a] - theta[sim.model_b])
        q = eta[k] * p + (1 - eta[k]) * (1 - p)
        return np.sum(y * np.log(q) + (1 - y) * np.log(1 - q))

    def negative(x):
        theta, eta = x[:4], x[4:]
        log_prior = np.sum(xlogy(big_a - 1, eta) + xlogy(big_b - 1, 1 - eta))
        return -(log_likelihood(theta, eta) + log_prior - 0.5 * alpha * theta @ theta)

    start = np.concatenate([np.zeros(4), np.full(5, 0.9)])
    bounds = [(None, None)] * 4 + [(1e-9, 1.0)] * 5
    best = optimize.minimize(negative, start, method="L-BFGS-B", bounds=bounds,
                             options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000})
    x_fit = np.concatenate([fit.theta, fit.reliability])
    assert negative(x_fit) <= best.fun + 1e-7  # at least as high as scipy's maximum
    np.testing.assert_allclose(fit.theta, best.x[:4], atol=1e-5)
    np.testing.assert_allclose(fit.reliability, best.x[4:], atol=1e-5)
    assert fit.log_likelihood == pytest.approx(log_likelihood(fit.theta, fit.reliability), abs=1e-9)

    # Stationary (KKT): zero gradient in theta and in interior etas; an eta at 1 has the gradient pointing out.
    grad = optimize.approx_fprime(x_fit, negative, 1e-7)
    assert np.max(np.abs(grad[:4])) < 1e-3
    interior = fit.reliability < 1 - 1e-6
    assert np.max(np.abs(grad[4:][interior])) < 1e-3
    assert np.all(grad[4:][~interior] <= 1e-3)
    assert fit.reliability[3] < 0.8 and fit.reliability[4] < 0.5  # the coin and the contrarian are seen


def test_a_reliable_crowd_gives_the_plain_ratings():
    # Without gold the default prior pins the crowd's overall reliability only loosely (an eta a
    # little below 1 and a slightly wider spread of theta fit almost as well), so the ratings agree
    # within the plain fit's own standard error; passed gold controls pin it, and they agree exactly.
    ratio = []
    for seed in range(4):
        sim, outcome, who = crowd(STRENGTHS, 3000, [1.0] * 10, seed=seed)
        pairs = PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, outcome)
        plain = fit_bradley_terry(pairs)
        se = np.sqrt(np.diag(bradley_terry_covariance(pairs, plain.theta))) * ELO_PER_NAT
        fit = fit_crowd_bt(sim.model_a, sim.model_b, outcome, who, sim.models)
        assert fit.converged and fit.reliability.min() > 0.9
        assert np.argsort(fit.theta).tolist() == np.argsort(plain.theta).tolist()
        ratio.append(np.max(np.abs(fit.ratings() - plain.ratings()) / se))
        passed = {f"ann-{k:02d}": (20, 20) for k in range(10)}
        gold = fit_crowd_bt(sim.model_a, sim.model_b, outcome, who, sim.models, gold=passed)
        assert np.max(np.abs(gold.ratings() - plain.ratings())) < 2.0  # Elo points
    assert max(ratio) < 1.0 and np.mean(ratio) < 0.6


@pytest.mark.parametrize("bad_eta", [0.5, 0.0], ids=["random", "inverted"])
def test_bad_voters_are_found_and_the_truth_recovered_better_than_by_the_plain_fit(bad_eta):
    eta = [bad_eta] * 4 + [1.0] * 16  # a fifth of the voters, and of the votes, are bad
    crowd_err, plain_err, crowd_tau, plain_tau = [], [], [], []
    for seed in range(5):
        sim, outcome, who = crowd(STRENGTHS, 2500, eta, seed=seed)
        fit = fit_crowd_bt(sim.model_a, sim.model_b, outcome, who, sim.models)
        plain = plain_fit(sim, outcome)
        assert fit.converged
        crowd_err.append(rmse(fit.theta, STRENGTHS))
        plain_err.append(rmse(plain.theta, STRENGTHS))
        crowd_tau.append(stats.kendalltau(fit.theta, STRENGTHS).statistic)
        plain_tau.append(stats.kendalltau(plain.theta, STRENGTHS).statistic)
        bad = [fit.reliability_of(f"ann-{k:02d}") for k in range(4)]
        good = [fit.reliability_of(f"ann-{k:02d}") for k in range(4, 20)]
        assert max(bad) < min(good) and np.mean(good) - np.mean(bad) > 0.25
    assert all(c < p for c, p in zip(crowd_err, plain_err, strict=True))  # every seed, not a lucky one
    assert np.mean(crowd_err) < 0.6 * np.mean(plain_err)
    assert np.mean(crowd_tau) >= np.mean(plain_tau)


def test_gold_and_overlap_evidence_move_the_reliability_the_right_way():
    sim, outcome, who = crowd(STRENGTHS, 1200, [0.9] * 4, seed=7)
    args = (sim.model_a, sim.model_b, outcome, who, sim.models)
    base = fit_crowd_bt(*args).reliability
    failed_gold = fit_crowd_bt(*args, gold={"ann-00": (2, 20)}).reliability
    passed_gold = fit_crowd_bt(*args, gold={"ann-00": (20, 20)}).reliability
    disagreed = fit_crowd_bt(*args, overlap={"ann-00": (5, 20)}).reliability
    assert failed_gold[0] < base[0] - 0.1 and disagreed[0] < base[0] - 0.1
    assert passed_gold[0] >= base[0]
    np.testing.assert_allclose(failed_gold[1:], base[1:], atol=0.03)  # the others move only through theta


def test_integer_annotator_ids_and_an_anchor():
    sim, outcome, _ = crowd(STRENGTHS, 400, [1.0], seed=5)
    ids = np.arange(400) % 3 + 10
    fit = fit_crowd_bt(sim.model_a, sim.model_b, outcome, ids, sim.models)
    assert fit.annotators == (10, 11, 12) and fit.reliability_of(11) == fit.reliability[1]
    assert abs(fit.theta.mean()) < 1e-12
    assert fit.ratings(anchor=Anchor(sim.models[0], 1200.0))[0] == pytest.approx(1200.0)


def test_bad_input_is_a_clear_error():
    a, b = np.array([0, 1]), np.array([1, 0])
    outcome, who, models = np.array([A_WINS, TIE]), np.array(["x", "y"]), ("m0", "m1")
    with pytest.raises(ValueError, match="same shape"):
        fit_crowd_bt(a, b[:1], outcome, who, models)
    with pytest.raises(ValueError, match="same shape"):
        fit_crowd_bt(a, b, outcome, who[:1], models)
    with pytest.raises(ValueError, match="no battles"):
        fit_crowd_bt(a[:0], b[:0], outcome[:0], who[:0], models)
    with pytest.raises(ValueError, match="outcome codes"):
        fit_crowd_bt(a, b, np.array([0, 7]), who, models)
    with pytest.raises(ValueError, match="indices outside"):
        fit_crowd_bt(a, np.array([2, 0]), outcome, who, models)
    with pytest.raises(ValueError, match="itself"):
        fit_crowd_bt(a, a, outcome, who, models)
    with pytest.raises(ValueError, match="alpha > 0"):
        fit_crowd_bt(a, b, outcome, who, models, alpha=0.0)
    with pytest.raises(ValueError, match="successes <= total"):
        fit_crowd_bt(a, b, outcome, who, models, gold={"x": (5, 3)})
    with pytest.raises(ValueError, match="no battles: 'z'"):
        fit_crowd_bt(a, b, outcome, who, models, overlap={"z": (1, 2)})
    with pytest.raises(ValueError, match="a0, b0 >= 1"):
        fit_crowd_bt(a, b, outcome, who, models, prior=(0.5, 1.0))
