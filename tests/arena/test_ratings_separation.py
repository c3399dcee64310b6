"""Groups that never met and separated models: found from the graph, rated apart, reported as unbounded."""

import json
import math

import numpy as np
import pytest

from arena.battle_table import A_WINS, B_WINS, TIE, prepare_battles
from arena.ratings import Anchor, build_leaderboard
from arena.ratings.bootstrap import bootstrap_bradley_terry
from arena.ratings.bradley_terry import ELO_PER_NAT, fit_bradley_terry, fit_theta
from arena.ratings.pairs import PairCounts
from arena.ratings.separation import ABOVE, APART, BELOW, groups, separated_sides
from arena.ratings.simulate import simulate_battles


def _connected_random_wins(rng, n, density):
    """Random win counts among n models that all met, directly or through others."""
    while True:
        won = (rng.poisson(2.0, (n, n)) * (rng.random((n, n)) < density)).astype(float)
        np.fill_diagonal(won, 0)
        if (groups(won + won.T) == 0).all():
            return won


def test_groups_are_the_connected_components_largest_first():
    battles = np.zeros((5, 5))
    for i, j in ((0, 3), (1, 2), (2, 4)):
        battles[i, j] = battles[j, i] = 1
    assert groups(battles).tolist() == [1, 0, 0, 1, 0]


@pytest.mark.parametrize("seed", range(12))
def test_sides_are_where_the_maximum_likelihood_diverges(seed):
    """Independent of the graph: as the regulariser vanishes, a model marked above (below) runs off to
    +inf (-inf) against its group's core, while the core's own differences settle."""
    rng = np.random.default_rng(seed)
    n = 5
    won = _connected_random_wins(rng, n, 0.3)
    sides = separated_sides(won)
    weak = fit_theta(won, alpha=1e-4) * ELO_PER_NAT
    sharp = fit_theta(won, alpha=1e-7) * ELO_PER_NAT
    core = [i for i, s in enumerate(sides) if s is None]
    if not core:
        assert len({s for s in sides}) > 1  # no core: the components are placed by their own edges
        return
    moved = (sharp - sharp[core].mean()) - (weak - weak[core].mean())
    for i, side in enumerate(sides):
        if side == ABOVE:
            assert moved[i] > 300, (sides, moved)
        elif side == BELOW:
            assert moved[i] < -300, (sides, moved)
        elif side is None:
            assert abs(moved[i]) < 5, (sides, moved)


def test_sides_of_small_known_graphs():
    # a > b > c, each beaten only by the one above: no core, the ends are above and below, the middle apart.
    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=float)
    assert separated_sides(chain) == (ABOVE, APART, BELOW)
    # A core {a, b} (they beat each other), c beats a, d loses to b.
    won = np.zeros((4, 4))
    won[0, 1] = won[1, 0] = won[2, 0] = won[1, 3] = 1
    assert separated_sides(won) == (None, None, ABOVE, BELOW)
    # Ties connect both ways: no separation.
    assert separated_sides(np.array([[0, 0.5], [0.5, 0]])) == (None, None)


def test_a_model_that_never_loses_is_unbounded_above_in_both_interval_methods():
    sim = simulate_battles(np.array([0.0, 0.3, -0.2]), 300, seed=1)
    rows = sim.rows() + [{"model_a": "champ", "model_b": m, "winner": "model_a"} for m in sim.models] * 5
    rows += [{"model_a": "dud", "model_b": m, "winner": "model_a"} for m in sim.models] * 3
    rows = [dict(r, model_a=r["model_b"], model_b="dud") if r["model_a"] == "dud" else r for r in rows]
    for ci in ("bootstrap", "sandwich"):
        board = build_leaderboard(prepare_battles(rows), ci=ci, rounds=100)
        by = {r.model: r for r in board.rows}
        assert by["champ"].unbounded == ABOVE and by["champ"].ci_high == math.inf and math.isfinite(by["champ"].ci_low)
        assert by["dud"].unbounded == BELOW and by["dud"].ci_low == -math.inf and math.isfinite(by["dud"].ci_high)
        assert all(by[m].unbounded is None and math.isfinite(by[m].ci_high - by[m].ci_low) for m in sim.models)
        assert by["champ"].rank_ub == 1 and board.rows[0].model == "champ"
        shown = json.loads(json.dumps(board.to_dict(), allow_nan=False))
        top = shown["rows"][0]
        assert (top["model"], top["ci_high"], top["unbounded"]) == ("champ", None, "above")
        assert any("marked unbounded" in w for w in board.header.warnings)


def test_groups_that_never_met_are_rated_and_ranked_apart():
    theta_1 = np.array([0.8, 0.2, -0.1, -0.6, -0.3])
    theta_2 = np.array([-1.5, -2.0, -2.6, -1.8])  # far weaker, but never compared with group 1
    one = simulate_battles(theta_1, 3000, seed=3, models=tuple(f"g1-{i}" for i in range(5)))
    two = simulate_battles(theta_2, 2400, seed=4, models=tuple(f"g2-{i}" for i in range(4)))
    board = build_leaderboard(prepare_battles(one.rows() + two.rows()), rounds=300, seed=1)
    assert [r.group for r in board.rows] == [1] * 5 + [2] * 4
    covered = 0
    for sim, label in ((one, 1), (two, 2)):
        rows = [r for r in board.rows if r.group == label]
        assert np.mean([r.rating for r in rows]) == pytest.approx(1000.0)
        assert min(r.rank_ub for r in rows) == 1  # ranked within its own group
        truth = dict(zip(sim.models, (sim.theta - sim.theta.mean()) * ELO_PER_NAT + 1000.0, strict=True))
        covered += sum(r.ci_low <= truth[r.model] <= r.ci_high for r in rows)
    assert covered >= 8  # of 9 true values, at 95%
    assert "rated and ranked on its own" in board.header.warnings[0]
    # The anchor's group is pinned there; the other keeps the mean centring.
    anchored = build_leaderboard(prepare_battles(one.rows() + two.rows()), ci="sandwich", anchor=Anchor("g2-0", 700.0))
    by = {r.model: r for r in anchored.rows}
    assert by["g2-0"].rating == pytest.approx(700.0)
    assert np.mean([by[m].rating for m in one.models]) == pytest.approx(1000.0)


def test_resamples_that_separate_a_model_are_counted_and_flagged():
    rng = np.random.default_rng(0)
    sim = simulate_battles(np.array([0.0, 0.2, -0.3]), 600, seed=2)
    rows = sim.rows() + [{"model_a": "newcomer", "model_b": m, "winner": "model_a"}
                         for m in rng.choice(sim.models, 7)] + [{"model_a": "newcomer", "model_b": "model-00", "winner": "model_b"}]
    table = prepare_battles(rows)
    pairs = PairCounts.from_table(table)
    rounds = 400
    samples = bootstrap_bradley_terry(pairs, fit_bradley_terry(pairs), rounds=rounds, seed=5)

    # Independent recount: the same multinomial draws, wins and losses tallied row by row.
    draws = np.random.default_rng(5).multinomial(pairs.n_battles, pairs.count / pairs.n_battles, size=rounds)
    expected = np.zeros(pairs.n_models, dtype=int)
    for draw in draws:
        wins, losses = np.zeros(pairs.n_models), np.zeros(pairs.n_models)
        for a, b, outcome, k in zip(pairs.a, pairs.b, pairs.outcome, draw, strict=True):
            wins[a] += k * (outcome in (A_WINS, TIE))
            losses[b] += k * (outcome in (A_WINS, TIE))
            wins[b] += k * (outcome in (B_WINS, TIE))
            losses[a] += k * (outcome in (B_WINS, TIE))
        expected += (wins == 0) | (losses == 0)
    np.testing.assert_array_equal(samples.separated, expected)
    newcomer = table.models.index("newcomer")
    assert expected[newcomer] > 0.025 * rounds  # 1 loss in 8: often resampled away

    board = build_leaderboard(table, rounds=rounds, seed=5)
    by = {r.model: r for r in board.rows}
    assert by["newcomer"].separated_rounds == expected[newcomer] and by["newcomer"].unbounded is None
    assert any("newcomer" in w and "move with the regularization alpha" in w for w in board.header.warnings)
    assert build_leaderboard(table, ci="sandwich").rows[0].separated_rounds is None


def test_the_figure_draws_an_open_bound_to_its_edge(tmp_path):
    from PIL import Image

    from arena.ratings.plot import plot_leaderboard

    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a"}] * 3 + [{"model_a": "y", "model_b": "z", "winner": "tie"}] * 3
    board = build_leaderboard(prepare_battles(rows), rounds=50)
    assert board.rows[0].ci_high == math.inf
    with Image.open(plot_leaderboard(board, tmp_path / "board.png")) as image:
        assert image.size[0] > 500 and len(set(image.convert("L").getdata())) > 10  # a drawn figure, not a blank
