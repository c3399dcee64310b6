"""Judge bias diagnostics and rank agreement between leaderboards."""

import math

import pytest

from arena.agreement import (
    language_preference,
    length_preference,
    position_preference,
    rank_agreement,
    self_preference,
)


def two_sided_binomial_p(k: int, n: int) -> float:
    """Exact two-sided p-value against 1/2, written out (the distribution is symmetric)."""
    extreme = max(k, n - k)
    tail = sum(math.comb(n, i) for i in range(extreme, n + 1)) / 2**n
    return min(1.0, 2 * tail)


def test_position_preference_share_and_exact_p_value():
    verdicts = ["A"] * 30 + ["B"] * 10 + ["tie"] * 5
    result = position_preference(verdicts)
    assert result.share == pytest.approx(0.75)
    assert (result.n_preferred, result.n_decisive, result.n_ties) == (30, 40, 5)
    assert result.p_value == pytest.approx(two_sided_binomial_p(30, 40), rel=1e-9)
    assert result.ci_low < 0.75 < result.ci_high
    balanced = position_preference(["A", "B"] * 10)
    assert balanced.share == 0.5 and balanced.p_value == pytest.approx(1.0)


def test_position_preference_only_ties_is_nan_with_note():
    result = position_preference(["tie", "tie"])
    assert math.isnan(result.share) and math.isnan(result.p_value)
    assert "no decisive verdict" in result.note
    with pytest.raises(ValueError, match="no verdicts"):
        position_preference([])


def test_length_preference_counts_longer_answer_wins():
    labels = ["A", "B", "A", "tie", "B", "A"]
    length_a = [120, 50, 10, 300, 80, 40]
    length_b = [60, 90, 20, 100, 80, 40]
    # Qualifying rows (lengths differ): 0 longer=A won A (hit), 1 longer=B won B (hit),
    # 2 longer=B won A (miss), 3 tie. Rows 4, 5 have equal lengths.
    result = length_preference(labels, length_a, length_b, reference_labels=["A", "A", "B", "B", "B", "A"])
    assert (result.n_preferred, result.n_decisive, result.n_ties, result.n_skipped) == (2, 3, 1, 2)
    assert result.share == pytest.approx(2 / 3)
    # People on the same qualifying rows (longer: A, B, B, A) said A, A, B, B:
    # hit, miss, hit, miss -> 2/4.
    assert result.reference_share == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="one entry per verdict"):
        length_preference(["A"], [1, 2], [3])


def test_language_preference_only_kazakh_vs_russian_rows():
    labels = ["A", "B", "B", "A", "A"]
    lang_a = ["kk", "kk", "ru", "kk", "ru"]
    lang_b = ["ru", "ru", "kk", "kk", "en"]
    result = language_preference(labels, lang_a, lang_b)
    # Rows 0-2 qualify: Kazakh won in 0 and 2, Russian in 1.
    assert (result.n_preferred, result.n_decisive, result.n_skipped) == (2, 3, 2)
    assert result.preferred == "Kazakh answer"


def test_self_preference_when_judge_is_a_contestant():
    labels = ["A", "B", "A", "B", "A"]
    model_a = ["judge-7b", "judge-7b", "kaz-1", "kaz-2", "judge-7b"]
    model_b = ["kaz-1", "kaz-2", "judge-7b", "kaz-1", "judge-7b"]
    result = self_preference(labels, model_a, model_b, "judge-7b")
    # Qualifying rows 0-2 (row 3 lacks the judge, row 4 is judge vs itself):
    # the judge's model won in row 0 only.
    assert (result.n_preferred, result.n_decisive, result.n_skipped) == (1, 3, 2)
    assert result.share == pytest.approx(1 / 3)


def test_rank_agreement_hand_computed():
    x = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "only_x": 9.0}
    y = {"a": 10.0, "b": 30.0, "c": 20.0, "d": 40.0, "only_y": 0.0}
    result = rank_agreement(x, y)
    # 6 pairs, one discordant (b, c): tau = (5 - 1)/6; rank differences 0,1,1,0:
    # rho = 1 - 6*2/(4*(16-1)) = 0.8.
    assert result.kendall_tau == pytest.approx(2 / 3)
    assert result.spearman_rho == pytest.approx(0.8)
    assert result.models == ("a", "b", "c", "d")
    assert result.only_in_x == ("only_x",) and result.only_in_y == ("only_y",)
    reversed_y = {m: -v for m, v in x.items()}
    assert rank_agreement(x, reversed_y).kendall_tau == pytest.approx(-1.0)


def test_rank_agreement_undefined_cases():
    with pytest.raises(ValueError, match="at least 2 models"):
        rank_agreement({"a": 1.0, "b": 2.0}, {"a": 1.0, "c": 2.0})
    flat = rank_agreement({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 5.0, "b": 5.0, "c": 5.0})
    assert math.isnan(flat.kendall_tau) and "same" in flat.note
