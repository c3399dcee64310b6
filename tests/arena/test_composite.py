"""Composite Bradley-Terry: weight 0 is the human-only fit, equal weights pool the battles."""

import numpy as np
import pytest

from arena.battle_table import prepare_battles
from arena.ratings.bradley_terry import fit_bradley_terry
from arena.ratings.composite import composite_pairs, fit_composite
from arena.ratings.pairs import PairCounts


def battles(n, strengths, seed, extra_model=None):
    """``n`` battles among the models of ``strengths`` (log-strengths), outcomes drawn from BT."""
    rng = np.random.default_rng(seed)
    names = list(strengths)
    rows = []
    for _ in range(n):
        a, b = rng.choice(len(names), size=2, replace=False)
        p = 1 / (1 + np.exp(strengths[names[b]] - strengths[names[a]]))
        u = rng.random()
        winner = "tie" if abs(u - p) < 0.05 else ("model_a" if u < p else "model_b")
        rows.append({"model_a": names[a], "model_b": names[b], "winner_content": winner})
    if extra_model:
        rows.append({"model_a": extra_model, "model_b": names[0], "winner_content": "model_a"})
    return rows


HUMAN = battles(300, {"kk-7b": 0.8, "qwen": 0.0, "gemma": -0.6}, seed=1)
JUDGE = battles(200, {"kk-7b": 0.2, "qwen": 0.5, "gemma": -0.4}, seed=2)


def test_judge_weight_zero_is_the_human_only_fit():
    human, judge = prepare_battles(HUMAN, dimension="content"), prepare_battles(JUDGE, dimension="content")
    alone = fit_bradley_terry(PairCounts.from_table(human))
    combined = fit_composite(human, judge, judge_weight=0.0)
    assert combined.models == alone.models
    np.testing.assert_allclose(combined.fit.theta, alone.theta, atol=1e-9)
    assert (combined.n_human, combined.n_judge, combined.judge_share) == (300, 0, 0.0)


def test_a_model_only_the_judge_saw_stays_out_at_weight_zero():
    human = prepare_battles(HUMAN, dimension="content")
    judge = prepare_battles(battles(200, {"kk-7b": 0.2, "qwen": 0.5, "gemma": -0.4}, seed=2, extra_model="new"),
                            dimension="content")
    combined = fit_composite(human, judge, judge_weight=0.0)
    assert "new" not in combined.models
    np.testing.assert_allclose(combined.fit.theta, fit_bradley_terry(PairCounts.from_table(human)).theta, atol=1e-9)
    assert "new" in fit_composite(human, judge, judge_weight=0.5).models


def test_equal_weights_are_the_pooled_battles():
    human, judge = prepare_battles(HUMAN, dimension="content"), prepare_battles(JUDGE, dimension="content")
    pooled_pairs = PairCounts.from_table(prepare_battles(HUMAN + JUDGE, dimension="content"))
    pooled = fit_bradley_terry(pooled_pairs)
    np.testing.assert_allclose(fit_composite(human, judge, judge_weight=1.0).fit.theta, pooled.theta, atol=1e-9)
    # scaling every weight leaves the maximum-likelihood fit where it was (without the alpha prior,
    # which does not scale with the data)
    unregularised = fit_bradley_terry(pooled_pairs, alpha=0.0)
    scaled = fit_composite(human, judge, judge_weight=2.5, human_weight=2.5, alpha=0.0)
    np.testing.assert_allclose(scaled.fit.theta, unregularised.theta, atol=1e-6)
    assert fit_composite(human, judge, judge_weight=1.0).judge_share == pytest.approx(200 / 500)


def test_weight_two_is_the_judge_battles_counted_twice():
    human, judge = prepare_battles(HUMAN, dimension="content"), prepare_battles(JUDGE, dimension="content")
    doubled = fit_bradley_terry(PairCounts.from_table(prepare_battles(HUMAN + JUDGE + JUDGE, dimension="content")))
    combined = fit_composite(human, judge, judge_weight=2.0)
    np.testing.assert_allclose(combined.fit.theta, doubled.theta, atol=1e-6)
    # and the ratings move from the human ones towards the judge's as its weight grows
    q = combined.models.index("qwen")
    thetas = [fit_composite(human, judge, judge_weight=w).fit.theta[q] for w in (0.0, 0.5, 2.0, 20.0)]
    assert thetas == sorted(thetas)


def test_ipw_weights_are_kept_and_scaled():
    rows = [dict(r, sampling_prob=0.25 if i % 3 else 1.0) for i, r in enumerate(HUMAN)]
    human = prepare_battles(rows, dimension="content", ipw=True)
    judge = prepare_battles(JUDGE, dimension="content")
    pairs, *_ = composite_pairs(human, judge, judge_weight=0.0)
    np.testing.assert_allclose(pairs.win_matrix(), PairCounts.from_table(human).win_matrix())


def test_bad_weights_and_dimensions_are_refused():
    human = prepare_battles(HUMAN, dimension="content")
    judge = prepare_battles([dict(r, winner_language=r["winner_content"]) for r in JUDGE], dimension="language")
    with pytest.raises(ValueError, match="combine one dimension at a time"):
        fit_composite(human, judge, judge_weight=1.0)
    with pytest.raises(ValueError, match="judge_weight must be a finite number >= 0"):
        fit_composite(human, None, judge_weight=-1.0)
    with pytest.raises(ValueError, match="no battle has a positive weight"):
        fit_composite(human, None, judge_weight=1.0, human_weight=0.0)
