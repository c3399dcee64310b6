from itertools import combinations

import numpy as np
import pytest

from arena.active_sampler import PRIOR_PRECISION, active_design, active_pair_probabilities
from arena.ratings.bradley_terry import fit_bradley_terry
from arena.ratings.pairs import PairCounts
from arena.ratings.sandwich import pair_information
from arena.ratings.simulate import simulate_battles
from arena.sampler import draw_pair

MODELS = ("m0", "m1", "m2", "m3")


def simulated_pairs(theta, n_battles=3000, seed=1, models=MODELS):
    sim = simulate_battles(np.asarray(theta, dtype=float), n_battles, seed=seed, models=models)
    return PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome)


@pytest.fixture(scope="module")
def pairs():
    # m0 and m1 are 0.05 nats (~9 Elo) apart: unresolved; m2, m3 are far from everyone.
    return simulated_pairs([0.0, 0.05, 1.0, 2.0])


def test_sums_to_one_with_floor_and_format(pairs):
    floor = 0.3
    probs = active_pair_probabilities(MODELS, pairs, floor=floor)
    assert set(probs) == set(combinations(sorted(MODELS), 2))
    assert sum(probs.values()) == pytest.approx(1.0)
    assert min(probs.values()) >= floor / len(probs) - 1e-12
    draw = draw_pair(probs, np.random.default_rng(0))  # the output plugs into the existing sampler
    assert draw.probability == pytest.approx(probs[tuple(sorted((draw.model_a, draw.model_b)))])


def test_sherman_morrison_matches_direct_inversion(pairs):
    design = active_design(MODELS, pairs)
    cov = design.covariance
    information = np.linalg.inv(cov)
    names = design.models
    n = len(names)
    contrast = np.zeros((n - 1, n))
    contrast[np.arange(n - 1), design.neighbours[:, 0]] = 1.0
    contrast[np.arange(n - 1), design.neighbours[:, 1]] = -1.0
    before = np.einsum("kn,nm,km->k", contrast, cov, contrast)
    for k, (a, b) in enumerate(design.pairs):
        x = np.zeros(n)
        x[names.index(a)], x[names.index(b)] = 1.0, -1.0
        updated = np.linalg.inv(information + design.increment[k] * np.outer(x, x))
        after = np.einsum("kn,nm,km->k", contrast, updated, contrast)
        assert design.score[k] == pytest.approx(design.neighbour_weight @ (before - after), rel=1e-7)


def test_covariance_is_inverse_regularised_fisher_information(pairs):
    design = active_design(MODELS, pairs)
    theta = fit_bradley_terry(pairs).theta
    p = 1.0 / (1.0 + np.exp(theta[pairs.b] - theta[pairs.a]))
    information = pair_information(4, pairs.a, pairs.b, pairs.count * p * (1 - p)) + PRIOR_PRECISION * np.eye(4)
    assert np.allclose(design.covariance, np.linalg.inv(information), rtol=1e-9, atol=1e-12)
    assert np.allclose(design.theta, theta)


def test_close_adjacent_pair_beats_far_pair(pairs):
    probs = active_pair_probabilities(MODELS, pairs, floor=0.2)
    assert probs[("m0", "m1")] > 2 * probs[("m2", "m3")]
    assert probs[("m0", "m1")] == max(probs.values())


def test_floor_one_is_uniform(pairs):
    probs = active_pair_probabilities(MODELS, pairs, floor=1.0)
    assert np.allclose(list(probs.values()), 1.0 / 6)


def test_no_data_is_uniform():
    probs = active_pair_probabilities(["c", "a", "b", "d"], None)
    assert np.allclose(list(probs.values()), 1.0 / 6)


def test_newcomer_gets_high_probability(pairs):
    probs = active_pair_probabilities((*MODELS, "new"), pairs, floor=0.2)
    share = sum(p for pair, p in probs.items() if "new" in pair)
    assert share > 0.6  # 4 of 10 pairs, so uniform would give 0.4
    assert min(p for pair, p in probs.items() if "new" in pair) > max(p for pair, p in probs.items() if "new" not in pair)


def test_unhealthy_model_informs_fit_but_is_not_drawn(pairs):
    probs = active_pair_probabilities(("m0", "m1", "m2"), pairs)
    assert set(probs) == {("m0", "m1"), ("m0", "m2"), ("m1", "m2")}
    assert sum(probs.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("floor", [0.0, -0.1, 1.5])
def test_bad_floor(floor, pairs):
    with pytest.raises(ValueError, match="floor"):
        active_pair_probabilities(MODELS, pairs, floor=floor)


def test_needs_two_models():
    with pytest.raises(ValueError, match="at least two"):
        active_pair_probabilities(["a", "a"], None)


def test_deterministic_and_uniform_when_no_contestant_has_played(pairs):
    assert active_pair_probabilities(MODELS, pairs) == active_pair_probabilities(list(reversed(MODELS)), pairs)
    # Battles only among models that are not contestants: nothing is known about x and y.
    probs = active_pair_probabilities(["x", "y", "z"], pairs)
    assert np.allclose(list(probs.values()), 1.0 / 3)


def test_inverse_propensity_weights_undo_the_adaptive_design():
    """Horvitz-Thompson: with the policy recomputed from past votes before each batch, the
    1/sampling_prob weighted number of battles of every pair has expectation n_votes (one per
    vote, whichever pair it went to), and its weighted score sum n_votes * P(i beats j): the
    weighted data look like a uniform design. The raw counts do not."""
    theta = np.array([0.0, 0.05, 1.0, 2.0])
    pair_list = list(combinations(range(4), 2))
    runs, batches, batch = 60, 12, 10
    rng = np.random.default_rng(7)
    weighted_count = np.zeros((runs, len(pair_list)))
    weighted_score = np.zeros((runs, len(pair_list)))
    raw_count = np.zeros((runs, len(pair_list)))
    for run in range(runs):
        a, b, outcome = [], [], []
        for _ in range(batches):
            pairs_so_far = PairCounts.from_arrays(MODELS, np.concatenate(a), np.concatenate(b), np.concatenate(outcome)) if a else None
            probs = active_pair_probabilities(MODELS, pairs_so_far, floor=0.2)
            matrix = np.zeros((4, 4))
            for i, j in pair_list:
                matrix[i, j] = matrix[j, i] = probs[(MODELS[i], MODELS[j])] / 2.0
            sim = simulate_battles(theta, batch, pair_prob=matrix, seed=int(rng.integers(2**62)), models=MODELS)
            a.append(sim.model_a), b.append(sim.model_b), outcome.append(sim.outcome)
            low, high = np.minimum(sim.model_a, sim.model_b), np.maximum(sim.model_a, sim.model_b)
            score_a = np.select([sim.outcome == 0, sim.outcome == 1], [1.0, 0.0], 0.5)
            score_low = np.where(sim.model_a == low, score_a, 1.0 - score_a)
            for k, (i, j) in enumerate(pair_list):
                hit = (low == i) & (high == j)
                weighted_count[run, k] += hit.sum() / (2.0 * matrix[i, j])
                weighted_score[run, k] += score_low[hit].sum() / (2.0 * matrix[i, j])
                raw_count[run, k] += hit.sum()
    n_votes = batches * batch
    win = np.array([1.0 / (1.0 + np.exp(theta[j] - theta[i])) for i, j in pair_list])
    se = weighted_count.std(axis=0, ddof=1) / np.sqrt(runs)
    assert np.all(np.abs(weighted_count.mean(axis=0) - n_votes) < 4 * se)
    se = weighted_score.std(axis=0, ddof=1) / np.sqrt(runs)
    assert np.all(np.abs(weighted_score.mean(axis=0) - n_votes * win) < 4 * se)
    # The test has teeth: the policy itself is far from uniform (m0-m1 gets ~1.8 times its share).
    assert raw_count.mean(axis=0)[0] > 1.5 * n_votes / len(pair_list)
