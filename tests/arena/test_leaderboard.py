"""Leaderboard assembly, degenerate inputs (never a crash or NaN), two-model statistics."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from arena.battle_table import prepare_battles
from arena.ratings import Anchor, build_leaderboard, build_leaderboards
from arena.ratings.simulate import simulate_battles
from arena.ratings.two_models import two_model_stats, two_model_stats_from_table, wilson_interval


def _finite_table(board):
    """Finite wherever the data bound it: only the open side of an unbounded model is infinite."""
    for row in board.rows:
        assert math.isfinite(row.rating), row
        assert math.isfinite(row.ci_low) == (row.unbounded not in ("below", "apart")), row
        assert math.isfinite(row.ci_high) == (row.unbounded not in ("above", "apart")), row
        assert row.ci_low <= row.ci_high
    json.dumps(board.to_dict(), allow_nan=False)  # strict JSON: no NaN or inf anywhere


@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
def test_single_battle(ci):
    table = prepare_battles([{"model_a": "x", "model_b": "y", "winner": "model_a"}])
    board = build_leaderboard(table, ci=ci, rounds=50)
    _finite_table(board)
    assert [r.model for r in board.rows] == ["x", "y"]
    assert board.rows[0].rating > board.rows[1].rating
    assert all(r.provisional and r.votes == 1 for r in board.rows)
    assert (board.rows[0].wins, board.rows[1].losses) == (1, 1)
    assert "never lost: x; never won: y" in board.header.warnings[0]


@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
def test_a_model_that_never_loses(ci):
    sim = simulate_battles(np.array([0.0, 0.3, -0.2]), 300, seed=1)
    rows = sim.rows() + [{"model_a": "champ", "model_b": m, "winner": "model_a"} for m in sim.models] * 5
    board = build_leaderboard(prepare_battles(rows), ci=ci, rounds=100)
    _finite_table(board)
    top = board.rows[0]
    assert top.model == "champ" and top.losses == 0 and top.rank_ub == 1
    # Its interval is honest about the missing losses: wider than anybody else's.
    width = {r.model: r.ci_high - r.ci_low for r in board.rows}
    assert width["champ"] > max(w for m, w in width.items() if m != "champ")
    assert len(board.header.warnings) == 1 and "never lost: champ" in board.header.warnings[0]


def test_never_losing_without_regularization_is_a_clear_error():
    rows = [{"model_a": "a", "model_b": "b", "winner": "model_a"}] * 3
    with pytest.raises(ValueError, match="alpha > 0"):
        build_leaderboard(prepare_battles(rows), alpha=0.0, ci="sandwich")


@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
def test_only_ties_gives_equal_ratings(ci):
    rows = [{"model_a": "a", "model_b": "b", "winner": "tie"}, {"model_a": "b", "model_b": "c", "winner": "tie (bothbad)"}] * 4
    board = build_leaderboard(prepare_battles(rows), ci=ci, rounds=50)
    _finite_table(board)
    for row in board.rows:
        assert row.rating == pytest.approx(1000.0, abs=1e-6)
        assert row.rank_ub == 1
    assert board.rows[0].ties + board.rows[1].ties + board.rows[2].ties == 16
    assert board.header.warnings == ()  # ties connect both ways: the MLE exists


def test_disconnected_models_stay_finite():
    rows = [{"model_a": "a", "model_b": "b", "winner": "model_a"}, {"model_a": "c", "model_b": "d", "winner": "tie"}] * 10
    board = build_leaderboard(prepare_battles(rows), ci="sandwich")
    _finite_table(board)
    _finite_table(build_leaderboard(prepare_battles(rows), rounds=50))
    assert "2 groups that never met" in board.header.warnings[0]
    assert "never lost: a; never won: b" in board.header.warnings[1]


def test_rows_counts_header_and_matrices():
    sim = simulate_battles(np.array([-0.5, 0.0, 0.5]), 600, seed=2)
    rows = sim.rows()
    board = build_leaderboard(prepare_battles(rows), rounds=100, seed=5, anchor=Anchor("model-00", 900.0), min_votes=390)
    h = board.header
    assert (h.ci_method, h.rounds, h.seed, h.n_battles, h.n_models) == ("bootstrap", 100, 5, 600, 3)
    assert h.anchor == "model-00 fixed at 900" and len(h.data_hash) == 16 and h.warnings == ()
    by_model = {r.model: r for r in board.rows}
    assert by_model["model-00"].rating == pytest.approx(900.0)
    assert [r.model for r in board.rows] == ["model-02", "model-01", "model-00"]
    for i, name in enumerate(board.models):
        r = by_model[name]
        mine = (sim.model_a == i) | (sim.model_b == i)
        assert r.votes == mine.sum() == r.wins + r.losses + r.ties
        assert r.provisional == (r.votes < 390)
    assert board.battle_counts.sum() == 2 * 600
    np.testing.assert_allclose(board.win_rates + board.win_rates.T, np.where(np.eye(3) == 1, np.nan, 1.0))
    # Same battles in another order: same hash. One battle changed: another hash.
    assert build_leaderboard(prepare_battles(rows[::-1]), ci="sandwich").header.data_hash == h.data_hash
    changed = [dict(rows[0], winner="tie" if rows[0]["winner"] != "tie" else "model_a")] + rows[1:]
    assert build_leaderboard(prepare_battles(changed), ci="sandwich").header.data_hash != h.data_hash


def test_boards_per_dimension_and_topic():
    sim = simulate_battles(np.array([-0.5, 0.0, 0.5]), 300, seed=3)
    rows = [dict(r, topic=("gov" if i % 2 else "culture"), winner_content=r["winner"] if i % 3 else None)
            for i, r in enumerate(sim.rows())]
    boards = build_leaderboards(rows, ci="sandwich")
    assert set(boards) == {(d, t) for d in ("content", "overall") for t in (None, "gov", "culture")}
    assert boards[("overall", "gov")].header.n_battles == 150
    assert boards[("content", None)].header.n_battles == 200
    assert boards[("content", None)].header.skipped.no_vote == 100


def test_wilson_interval_matches_the_textbook_value():
    # 8 successes in 10, 95%: (0.4902, 0.9433) (Wilson 1927; e.g. Newcombe 1998, Table I).
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    # Written out: z = 1.959964; centre (p + z^2/2n)/(1 + z^2/n), half-width z/(1 + z^2/n) sqrt(p(1-p)/n + z^2/4n^2)
    z = 1.959964
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z / (1 + z * z / 10) * math.sqrt(0.8 * 0.2 / 10 + z * z / 400)
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-6)


def test_two_model_statistics_by_hand():
    s = two_model_stats("ft", "base", wins_a=8, wins_b=2, ties=4)
    # Sign test: P(X >= 8 | n=10, 1/2) = (45 + 10 + 1) / 1024, doubled.
    assert s.sign_test_p == pytest.approx(112 / 1024)
    assert s.win_rate_without_ties.estimate == pytest.approx(0.8)
    assert (s.win_rate_without_ties.low, s.win_rate_without_ties.high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    # Ties as half: (8 + 2) / 14; Elo gap 400 log10(p / (1 - p)) = 400 log10(2.5).
    assert s.win_rate_ties_half.estimate == pytest.approx(10 / 14)
    assert s.elo_gap == pytest.approx(400 * math.log10(2.5))
    lo, hi = wilson_interval(10, 14)
    assert s.elo_gap_low == pytest.approx(400 * math.log10(lo / (1 - lo)))
    assert s.elo_gap_high == pytest.approx(400 * math.log10(hi / (1 - hi)))
    assert s.sign_test_p == pytest.approx(stats.binomtest(8, 10).pvalue)


def test_two_model_degenerate_counts():
    only_ties = two_model_stats("a", "b", 0, 0, 5)
    assert only_ties.win_rate_without_ties is None and only_ties.sign_test_p == 1.0 and only_ties.elo_gap == 0.0
    sweep = two_model_stats("a", "b", 5, 0, 0)
    assert sweep.elo_gap == math.inf and sweep.elo_gap_low > 0
    with pytest.raises(ValueError, match="no battles"):
        two_model_stats("a", "b", 0, 0, 0)


def test_two_model_leaderboard_reports_head_to_head_from_the_leader():
    rows = ([{"model_a": "base", "model_b": "ft", "winner": "model_b"}] * 6
            + [{"model_a": "ft", "model_b": "base", "winner": "model_b"}] * 2
            + [{"model_a": "ft", "model_b": "base", "winner": "tie"}] * 2)
    table = prepare_battles(rows)
    board = build_leaderboard(table, ci="sandwich")
    two = board.two_models
    assert (two.model_a, two.model_b, two.wins_a, two.wins_b, two.ties) == ("ft", "base", 6, 2, 2)
    gap = board.rows[0].rating - board.rows[1].rating
    assert gap == pytest.approx(two.elo_gap, abs=1.0)  # BT with a small alpha vs the exact MLE
    assert two_model_stats_from_table(table, first="base").wins_a == 2
    assert "two_models" in board.to_dict()


def test_bootstrap_rounds_dropped_without_regularization_are_counted_and_said():
    # a low-count model with 2 wins and 1 loss: the full fit is finite at alpha 0, but resamples often lose its loss
    sim = simulate_battles(np.array([0.0, 0.3, -0.2]), 300, seed=1)
    rare = [{"model_a": "rare", "model_b": sim.models[0], "winner": w} for w in ("model_a", "model_a", "model_b")]
    board = build_leaderboard(prepare_battles(sim.rows() + rare), ci="bootstrap", rounds=200, alpha=0.0)
    assert board.header.failed_rounds > 0
    said = [w for w in board.header.warnings if "bootstrap rounds" in w]
    assert len(said) == 1 and said[0].startswith(f"{board.header.failed_rounds} of 200 bootstrap rounds")
    # with the default regularization no round is dropped and nothing is said
    regularised = build_leaderboard(prepare_battles(sim.rows() + rare), ci="bootstrap", rounds=200)
    assert regularised.header.failed_rounds == 0 and not any("bootstrap rounds" in w for w in regularised.header.warnings)
