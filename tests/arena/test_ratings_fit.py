"""Bradley-Terry point estimates: truth recovery, an independent logistic fit, anchors, weights,
length control."""

import numpy as np
import pytest
from scipy import optimize

from arena.battle_table import BattleTable, SkipCounts
from arena.ratings.bradley_terry import ELO_PER_NAT, Anchor, fit_bradley_terry, to_ratings
from arena.ratings.length_control import LengthRows, fit_length_controlled
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import bradley_terry_covariance
from arena.ratings.simulate import simulate_battles

THETA = np.array([-1.0, -0.4, 0.0, 0.3, 0.9, 1.2])


def logistic_reference(a, b, score, weight, n_models, z=None, ridge=0.0):
    """Independent Bradley-Terry fit: weighted logistic regression on the battles,
    one column per model (x = e_a - e_b, last model fixed at 0), with scipy's BFGS."""
    a, b = np.asarray(a), np.asarray(b)
    q = 0 if z is None else 1

    def unpack(free):
        theta = np.append(free[: n_models - 1], 0.0)
        return theta, (free[n_models - 1] if q else 0.0)

    def loss(free):
        theta, beta = unpack(free)
        eta = theta[a] - theta[b] + (beta * z if q else 0.0)
        nll = -np.sum(weight * (score * -np.logaddexp(0, -eta) + (1 - score) * -np.logaddexp(0, eta)))
        return nll + 0.5 * ridge * np.sum((theta - theta.mean()) ** 2)

    result = optimize.minimize(loss, np.zeros(n_models - 1 + q), method="BFGS", options={"gtol": 1e-9})
    theta, beta = unpack(result.x)
    return theta - theta.mean(), beta


def test_fit_recovers_known_strengths_within_four_standard_errors():
    sim = simulate_battles(THETA, 20_000, tie_rate=0.3, seed=1)
    pairs = PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome)
    assert np.mean(sim.outcome == 2) > 0.1  # ties really are in the data
    fit = fit_bradley_terry(pairs)
    truth = THETA - THETA.mean()
    se = np.sqrt(np.diag(bradley_terry_covariance(pairs, fit.theta)))
    assert np.all(np.abs(fit.theta - truth) < 4 * se)
    assert np.max(np.abs(fit.theta - truth)) * ELO_PER_NAT < 30  # Elo points
    assert np.argsort(fit.theta).tolist() == list(range(6))


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_fit_agrees_with_independent_logistic_regression_within_half_an_elo_point(alpha):
    sim = simulate_battles(THETA, 3_000, tie_rate=0.3, seed=2)
    pairs = PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome)
    fit = fit_bradley_terry(pairs, alpha=alpha)
    score = np.select([sim.outcome == 0, sim.outcome == 1], [1.0, 0.0], 0.5)
    reference, _ = logistic_reference(sim.model_a, sim.model_b, score, np.ones(score.size), 6)
    assert np.max(np.abs(fit.theta - reference)) * ELO_PER_NAT < 0.5


def test_two_model_fit_is_the_logit_of_the_ties_as_half_win_rate():
    # 30 wins, 10 losses, 20 ties: p = (30 + 10) / 60 = 2/3, gap = 400 log10(2) = 120.41
    a = np.zeros(60, dtype=int)
    b = np.ones(60, dtype=int)
    outcome = np.array([0] * 30 + [1] * 10 + [2] * 20)
    fit = fit_bradley_terry(PairCounts.from_arrays(("p", "q"), a, b, outcome), alpha=0.0)
    ratings = fit.ratings()
    assert ratings[0] - ratings[1] == pytest.approx(400 * np.log10(2.0), abs=1e-6)
    assert ratings.mean() == pytest.approx(1000.0)


def test_anchor_pins_one_model_and_keeps_differences():
    theta = np.array([0.5, -0.2, -0.3])
    models = ("a", "b", "c")
    centred = to_ratings(theta, models)
    anchored = to_ratings(theta, models, anchor=Anchor("b", 1200.0))
    assert anchored[1] == pytest.approx(1200.0)
    np.testing.assert_allclose(anchored - anchored[1], centred - centred[1])
    assert centred.mean() == pytest.approx(1000.0)
    with pytest.raises(ValueError, match="not in the data"):
        to_ratings(theta, models, anchor=Anchor("zz", 1000.0))


def test_anchor_parsing():
    assert Anchor.parse("gpt-4o=1200") == Anchor("gpt-4o", 1200.0)
    assert Anchor.parse("kaz=llm=950.5") == Anchor("kaz=llm", 950.5)
    for bad in ("gpt-4o", "=1200", "gpt=abc", "gpt=inf"):
        with pytest.raises(ValueError, match="anchor"):
            Anchor.parse(bad)


def test_a_weight_of_two_equals_a_duplicated_battle():
    sim = simulate_battles(THETA[:4], 400, seed=3)
    weight = np.where(np.arange(400) % 3 == 0, 2.0, 1.0)
    weighted = fit_bradley_terry(PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome, weight), alpha=0.0)
    twice = weight == 2.0
    dup = [np.concatenate([x, x[twice]]) for x in (sim.model_a, sim.model_b, sim.outcome)]
    duplicated = fit_bradley_terry(PairCounts.from_arrays(sim.models, *dup), alpha=0.0)
    np.testing.assert_allclose(weighted.theta, duplicated.theta, atol=1e-7)


def test_inverse_propensity_weights_undo_outcome_dependent_sampling():
    # Battles of the strongest model that it won are logged with probability 0.25, the rest
    # with probability 1: the raw fit underrates it, the 1/p-weighted fit does not.
    theta = np.array([-0.5, 0.0, 0.5])
    sim = simulate_battles(theta, 60_000, seed=4, tie_rate=0.0)
    strong_won = ((sim.model_a == 2) & (sim.outcome == 0)) | ((sim.model_b == 2) & (sim.outcome == 1))
    prob = np.where(strong_won, 0.25, 1.0)
    kept = np.random.default_rng(5).random(prob.size) < prob
    arrays = (sim.models, sim.model_a[kept], sim.model_b[kept], sim.outcome[kept])
    raw = fit_bradley_terry(PairCounts.from_arrays(*arrays))
    ipw = fit_bradley_terry(PairCounts.from_arrays(*arrays, weight=1.0 / prob[kept]))
    truth = theta - theta.mean()
    assert raw.theta[2] < truth[2] - 0.3
    assert np.max(np.abs(ipw.theta - truth)) < 0.06


def _table(sim, len_a, len_b):
    n = sim.outcome.size
    return BattleTable(
        models=sim.models, model_a=sim.model_a, model_b=sim.model_b, outcome=sim.outcome, weight=np.ones(n),
        len_a=len_a, len_b=len_b, dimension="overall", topic=None, n_rows=n, skipped=SkipCounts(),
    )


def test_length_control_removes_a_length_bias_and_matches_a_logistic_fit():
    # Model 0 writes long answers and voters like long answers: the plain fit overrates it.
    rng = np.random.default_rng(6)
    theta = np.array([0.0, 0.0, 0.4, -0.4])
    n = 30_000
    sim = simulate_battles(theta, n, seed=7)
    mean_len = np.array([900.0, 300.0, 300.0, 300.0])
    len_a = rng.gamma(8.0, mean_len[sim.model_a] / 8.0)
    len_b = rng.gamma(8.0, mean_len[sim.model_b] / 8.0)
    diff = (len_a - len_b) / (len_a + len_b)
    z = (diff - diff.mean()) / diff.std()
    beta = 0.5
    # Redraw outcomes with the length effect (no ties keeps the check simple).
    p = 1.0 / (1.0 + np.exp(-(theta[sim.model_a] - theta[sim.model_b] + beta * z)))
    outcome = np.where(rng.random(n) < p, 0, 1).astype(np.int8)
    sim = type(sim)(sim.models, theta, sim.model_a, sim.model_b, outcome)
    truth = theta - theta.mean()

    plain = fit_bradley_terry(PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, outcome))
    rows = LengthRows.from_table(_table(sim, len_a, len_b))
    controlled = fit_length_controlled(rows)
    assert plain.theta[0] - truth[0] > 0.25
    assert np.max(np.abs(controlled.theta - truth)) < 0.06
    assert controlled.length_coef == pytest.approx(beta, abs=0.05)

    reference, ref_beta = logistic_reference(sim.model_a, sim.model_b, outcome.astype(float) == 0, np.ones(n), 4, z=z)
    assert np.max(np.abs(controlled.theta - reference)) * ELO_PER_NAT < 0.5
    assert controlled.length_coef == pytest.approx(ref_beta, abs=1e-3)


def test_length_control_needs_lengths():
    sim = simulate_battles(THETA[:3], 30, seed=8)
    with pytest.raises(ValueError, match="needs answer lengths"):
        LengthRows.from_table(_table(sim, None, None))
    with pytest.raises(ValueError, match="2 battle"):
        lens = np.full(30, 100.0)
        lens[:2] = np.nan
        LengthRows.from_table(_table(sim, lens, np.full(30, 100.0)))
