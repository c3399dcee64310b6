"""Flip margins against exhaustive search; the coordinated-voting detector on planted crowds."""

from itertools import combinations_with_replacement

import numpy as np
import pytest
from scipy import stats

from arena.battle_table import A_WINS, B_WINS
from arena.ratings.bradley_terry import ELO_PER_NAT, fit_bradley_terry, fit_theta
from arena.ratings.pairs import PairCounts
from arena.ratings.robustness import FLIP_TOL, _score_p_value, coordinated_voters, flip_margins
from arena.ratings.simulate import simulate_battles

# --- flip margins ------------------------------------------------------------------


def _battles(seed: int, n: int, n_battles: int, tie_rate: float = 0.3) -> PairCounts:
    """Few battles among n models with random strengths and uneven pairings (ties included)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.6, n)
    pair_prob = rng.random((n, n)) ** 3  # some pairs rarely meet, which is where mixed attacks pay
    np.fill_diagonal(pair_prob, 0.0)
    sim = simulate_battles(theta, n_battles, seed=seed, tie_rate=tie_rate, pair_prob=pair_prob / pair_prob.sum())
    return PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome)


def _flips_with_at_most(win_matrix: np.ndarray, upper: int, lower: int, k: int) -> bool:
    """Exhaustive: does some multiset of at most k votes "w beats v" (any w != v) flip the pair?"""
    n = win_matrix.shape[0]
    types = [(w, v) for w in range(n) for v in range(n) if w != v]
    theta0 = fit_theta(win_matrix)
    for size in range(k + 1):
        for combo in combinations_with_replacement(types, size):
            added = np.zeros((n, n))
            for vote in combo:
                added[vote] += 1
            theta = fit_theta(win_matrix + added, initial=theta0)
            if (theta[upper] - theta[lower]) * ELO_PER_NAT <= FLIP_TOL:
                return True
    return False


def _ratings_with_attack(pairs: PairCounts, attack: tuple[tuple[str, str, int], ...]) -> dict[str, float]:
    """Refit through the public path with the attack appended as real battles."""
    a = np.repeat(pairs.a, pairs.count)
    b = np.repeat(pairs.b, pairs.count)
    outcome = np.repeat(pairs.outcome, pairs.count)
    for winner, loser, count in attack:
        a = np.append(a, [pairs.models.index(winner)] * count)
        b = np.append(b, [pairs.models.index(loser)] * count)
        outcome = np.append(outcome, [A_WINS] * count)
    ratings = fit_bradley_terry(PairCounts.from_arrays(pairs.models, a, b, outcome)).ratings()
    return dict(zip(pairs.models, ratings, strict=True))


def test_two_models_worked_example():
    # A beat B three times, B beat A once: two more B wins make the record 3-3, an exact tie.
    pairs = PairCounts.from_arrays(("A", "B"), np.array([0, 0, 0, 1]), np.array([1, 1, 1, 0]), np.zeros(4))
    (margin,) = flip_margins(pairs)
    assert (margin.upper, margin.lower, margin.votes, margin.exact) == ("A", "B", 2, True)
    assert margin.attack == (("B", "A", 2),)
    assert margin.pair_battles == 4
    assert margin.votes_per_pair_battle == pytest.approx(0.5)
    assert margin.share_of_votes == pytest.approx(0.5)
    assert margin.rating_gap == pytest.approx(400 * np.log10(3), rel=5e-3)  # alpha shrinks it a little
    assert abs(margin.gap_after) < 1e-6
    assert margin.describe() == "B -> A: 2 votes"


@pytest.mark.parametrize(
    ("seed", "n", "n_battles"),
    [(10, 4, 24), (14, 4, 24), (43, 4, 12), (49, 4, 24), (13, 3, 14), (17, 3, 14), (42, 3, 14)],
)
def test_flip_count_matches_brute_force(seed, n, n_battles):
    pairs = _battles(seed, n, n_battles)
    win_matrix = pairs.win_matrix()
    margins = flip_margins(pairs, verify_budget=0)  # the heuristic alone, no exhaustive fallback
    assert len(margins) == n - 1
    for m in margins:
        upper, lower = pairs.models.index(m.upper), pairs.models.index(m.lower)
        assert m.votes is not None and 1 <= m.votes <= (5 if n == 3 else 4)  # keeps brute force cheap
        assert sum(count for _, _, count in m.attack) == m.votes
        assert m.gap_after <= FLIP_TOL < m.rating_gap
        ratings = _ratings_with_attack(pairs, m.attack)
        assert ratings[m.lower] >= ratings[m.upper] - 1e-6  # the reported votes really swap the order
        assert not _flips_with_at_most(win_matrix, upper, lower, m.votes - 1)  # and no smaller multiset does


def test_some_case_needs_a_mixed_attack():
    # Guards the brute-force cases above from all being "one vote type, k times": here
    # no single type repeated k times flips the pair, only a mix does.
    pairs = _battles(42, 3, 14)
    (_, margin) = flip_margins(pairs, verify_budget=0)
    assert len(margin.attack) == 2
    upper, lower = pairs.models.index(margin.upper), pairs.models.index(margin.lower)
    for w, v in [(w, v) for w in range(3) for v in range(3) if w != v]:
        added = np.zeros((3, 3))
        added[w, v] = margin.votes
        theta = fit_theta(pairs.win_matrix() + added)
        assert (theta[upper] - theta[lower]) * ELO_PER_NAT > FLIP_TOL


def test_exhaustive_check_marks_exact():
    margins = flip_margins(_battles(13, 3, 14))
    assert all(m.exact for m in margins)
    assert all("not proven" not in m.describe() for m in margins)


def test_wide_gap_needs_more_votes_than_narrow():
    sim = simulate_battles(np.array([0.5, 0.4, -0.4]), 600, seed=3)
    pairs = PairCounts.from_arrays(sim.models, sim.model_a, sim.model_b, sim.outcome)
    narrow, wide = flip_margins(pairs, verify_budget=0)
    assert (narrow.upper, narrow.lower, wide.lower) == ("model-00", "model-01", "model-02")
    assert wide.rating_gap > 4 * narrow.rating_gap
    assert wide.votes > 4 * narrow.votes
    assert 0 < narrow.share_of_votes < wide.share_of_votes < 1


def test_cap_reports_more_than_n():
    pairs = _battles(10, 4, 24)  # its top pair needs 4 votes
    top = flip_margins(pairs, max_votes=2)[0]
    assert top.votes is None and top.exact
    assert top.describe().endswith("more than 2 votes")
    assert np.isnan(top.share_of_votes)
    unchecked = flip_margins(pairs, max_votes=2, verify_budget=0)[0]
    assert unchecked.votes is None and not unchecked.exact
    assert unchecked.describe().endswith("no attack found within 2 votes")


# --- coordinated voting ------------------------------------------------------------

THETA = np.array([0.8, 0.4, 0.0, -0.3, -0.6, -1.0])


def _crowd(seed: int, colluders: tuple[int, ...] = (), target: int = 4, n_annotators: int = 40):
    """2,400 battles by 40 annotators; ``colluders`` vote for ``target`` whenever it appears."""
    sim = simulate_battles(THETA, 2_400, seed=seed)
    annotator = np.random.default_rng(seed + 1_000).integers(0, n_annotators, sim.outcome.size)
    outcome = sim.outcome.copy()
    rigged = np.isin(annotator, colluders)
    outcome[rigged & (sim.model_a == target)] = A_WINS
    outcome[rigged & (sim.model_b == target)] = B_WINS
    names = np.array([f"ann-{g:02d}" for g in annotator])
    return coordinated_voters(sim.model_a, sim.model_b, outcome, names, sim.models)


def test_detector_finds_planted_group():
    colluders = (3, 11, 19, 27, 35)
    report = _crowd(0, colluders)
    expected = tuple(f"ann-{g:02d}" for g in colluders)
    assert report.flagged_annotators == expected  # full recall, no honest annotator flagged
    assert {(f.annotator, f.model, f.direction) for f in report.flags} == {(a, "model-04", 1) for a in expected}
    (group,) = report.groups
    assert (group.model, group.direction, group.annotators) == ("model-04", 1, expected)
    assert all(f.z > 3 and f.observed > f.expected for f in report.flags)


def test_honest_crowd_false_positive_rate_within_nominal():
    reports = [_crowd(seed) for seed in range(5)]
    assert reports[0].n_tests == 40 * 6
    # BH at 1% over a true null: at most 1% of such crowds should show any flag at all.
    assert sum(r.flagged.any() for r in reports) <= 1
    p = np.concatenate([r.p_value[np.isfinite(r.p_value)] for r in reports])
    assert np.mean(p <= 0.05) <= 0.05  # raw per-test level, before any correction
    assert np.mean(p <= 0.2) <= 0.2
    assert all(r.groups == () for r in reports)


def test_p_value_is_exact_binomial_without_ties():
    prob = np.full(12, 0.3)
    for observed in (0.0, 3.0, 7.0, 12.0):
        tail = min(stats.binom.sf(observed - 1, 12, 0.3), stats.binom.cdf(observed, 12, 0.3))
        assert _score_p_value(prob, observed) == pytest.approx(min(1.0, 4 * tail))
    # A tie counts as half a win: 7.5 lies between 7 and 8 wins, and the bound takes the safer side.
    assert _score_p_value(prob, 7.5) == pytest.approx(4 * stats.binom.sf(7, 12, 0.3))


def test_detector_rejects_bad_input():
    a, b, o, ann = np.array([0, 1]), np.array([1, 0]), np.array([0, 1]), np.array(["x", "y"])
    with pytest.raises(ValueError, match="correction"):
        coordinated_voters(a, b, o, ann, ("m0", "m1"), correction="holm")
    with pytest.raises(ValueError, match="same shape"):
        coordinated_voters(a, b, o, ann[:1], ("m0", "m1"))
    with pytest.raises(ValueError, match="alpha"):
        coordinated_voters(a, b, o, ann, ("m0", "m1"), alpha=0.0)
