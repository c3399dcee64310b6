"""Cohen's kappa and weighted kappa against hand-computed textbook numbers."""

import math
from fractions import Fraction

import numpy as np
import pytest

from arena.agreement import (
    LABELS,
    agreement_by_group,
    bootstrap_kappa_ci,
    cohen_kappa,
    normalize_label,
    pair_agreement,
)


def labels_from_table(table: list[list[int]], categories: list[str]) -> tuple[list[str], list[str]]:
    """Expand a confusion table (rows: rater a, columns: rater b) into two label lists."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [categories[i]] * count
            b += [categories[j]] * count
    return a, b


def test_wikipedia_two_by_two_example_gives_0_4():
    # Wikipedia "Cohen's kappa", simple example: 50 grant proposals, both yes 20,
    # A yes/B no 5, A no/B yes 10, both no 15. p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5.
    a, b = labels_from_table([[20, 5], [10, 15]], ["yes", "no"])
    result = cohen_kappa(a, b, categories=["yes", "no"])
    assert result.kappa == pytest.approx(0.4, abs=1e-12)
    assert result.observed_agreement == pytest.approx(0.7, abs=1e-12)
    assert result.expected_agreement == pytest.approx(0.5, abs=1e-12)
    assert result.confusion == ((20, 5), (10, 15))
    assert result.n == 50


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # Wikipedia's "same percentage, different numbers" pair: p_o = 0.60 in both.
        # 45/15/25/15: p_e = .6*.7 + .4*.3 = .54 -> (.60-.54)/.46 = 0.1304
        ([[45, 15], [25, 15]], Fraction(6, 46)),
        # 25/35/5/35: p_e = .6*.3 + .4*.7 = .46 -> (.60-.46)/.54 = 0.2593
        ([[25, 35], [5, 35]], Fraction(14, 54)),
    ],
)
def test_wikipedia_same_agreement_different_kappa(table, expected):
    a, b = labels_from_table(table, ["yes", "no"])
    assert cohen_kappa(a, b, categories=["yes", "no"]).kappa == pytest.approx(float(expected), abs=1e-12)


# Three-class table on the ordinal scale A < tie < B (rows: rater a), n = 40.
# Row sums 15, 12, 13; column sums 16, 11, 13.
TABLE = [[10, 3, 2], [5, 6, 1], [1, 2, 10]]


# Unweighted: p_o = 26/40; p_e = (15*16 + 12*11 + 13*13)/1600 = 541/1600
#   kappa = (1040 - 541) / (1600 - 541) = 499/1059
# Linear agreement weights 1, 1/2, 0: one-step-off cells 3+5+1+2 = 11,
#   p_o = (26 + 11/2)/40 = 1260/1600; expected one-step-off mass
#   15*11 + 12*16 + 12*13 + 13*11 = 656, p_e = (541 + 656/2)/1600 = 869/1600
#   kappa = (1260 - 869) / (1600 - 869) = 391/731
# Quadratic agreement weights 1, 3/4, 0: p_o = (26 + 33/4)/40 = 1370/1600,
#   p_e = (541 + 3*656/4)/1600 = 1033/1600, kappa = (1370 - 1033)/(1600 - 1033) = 337/567
@pytest.mark.parametrize(
    ("weights", "expected"),
    [(None, Fraction(499, 1059)), ("linear", Fraction(391, 731)), ("quadratic", Fraction(337, 567))],
)
def test_three_class_and_weighted_kappa_match_hand_computation(weights, expected):
    a, b = labels_from_table(TABLE, list(LABELS))
    result = cohen_kappa(a, b, weights=weights)
    assert result.kappa == pytest.approx(float(expected), abs=1e-12)
    assert result.confusion == tuple(tuple(row) for row in TABLE)
    assert result.observed_agreement == pytest.approx(26 / 40, abs=1e-12)


def test_weighted_kappa_penalises_far_disagreements_more():
    # Same raw agreement, but in `far` the disagreements are A vs B instead of A vs tie.
    near_a, near_b = ["A", "tie", "B", "A", "B", "tie"], ["tie", "tie", "B", "A", "B", "A"]
    far_a, far_b = ["A", "tie", "B", "A", "B", "tie"], ["B", "tie", "B", "A", "B", "A"]
    assert (
        cohen_kappa(near_a, near_b, weights="linear").kappa
        > cohen_kappa(far_a, far_b, weights="linear").kappa
    )


def test_arena_spellings_are_normalized():
    a = ["model_a", "model_b", "tie", "tie (bothbad)", "a", " B "]
    assert [normalize_label(x) for x in a] == ["A", "B", "tie", "tie", "A", "B"]
    result = cohen_kappa(a, ["A", "B", "tie", "tie", "A", "B"])
    assert result.kappa == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Unknown label 'C'"):
        cohen_kappa(["A", "C"], ["A", "B"])
    with pytest.raises(ValueError, match="label #1"):
        cohen_kappa(["A", None], ["A", "B"])


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="no label pairs"):
        cohen_kappa([], [])
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa(["A"], ["A", "B"])
    with pytest.raises(ValueError, match="Unknown weights"):
        cohen_kappa(["A", "B"], ["A", "B"], weights="cubic")
    with pytest.raises(ValueError, match="not one of the categories"):
        cohen_kappa(["yes", "maybe"], ["yes", "no"], categories=["yes", "no"])


def test_kappa_undefined_when_chance_agreement_is_one():
    result = cohen_kappa(["A"] * 5, ["A"] * 5)
    assert math.isnan(result.kappa)
    assert "expected agreement is 1" in result.note
    assert result.observed_agreement == 1.0
    ci = bootstrap_kappa_ci(["A"] * 5, ["A"] * 5, rounds=20, seed=1)
    assert math.isnan(ci.low) and math.isnan(ci.high)
    assert ci.n_undefined == 20


def test_exclude_ties_drops_pairs_with_any_tie():
    a = ["A", "B", "tie", "A", "B", "A", "tie"]
    b = ["A", "B", "A", "tie", "A", "B", "tie"]
    result = pair_agreement(a, b, exclude_ties=True, rounds=50, seed=0)
    assert result.n_pairs == 7 and result.n_excluded == 3
    assert result.kappa.categories == ("A", "B")
    assert result.kappa.confusion == ((1, 1), (1, 1))
    # Two-class scale: linear and quadratic weights equal the unweighted kappa.
    assert result.kappa.kappa == pytest.approx(0.0, abs=1e-12)
    assert result.linear.kappa == pytest.approx(result.kappa.kappa)
    assert result.quadratic.kappa == pytest.approx(result.kappa.kappa)
    with pytest.raises(ValueError, match="excluding ties"):
        pair_agreement(["tie", "A"], ["A", "tie"], exclude_ties=True)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    a, b = labels_from_table(TABLE, list(LABELS))
    first = bootstrap_kappa_ci(a, b, rounds=400, seed=7)
    again = bootstrap_kappa_ci(a, b, rounds=400, seed=7)
    other = bootstrap_kappa_ci(a, b, rounds=400, seed=8)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)
    assert first.low < 499 / 1059 < first.high


def _simulate(joint: np.ndarray, n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    cells = rng.choice(9, size=n, p=joint.ravel())
    return [LABELS[c // 3] for c in cells], [LABELS[c % 3] for c in cells]


def test_bootstrap_ci_covers_true_kappa_near_nominal_rate():
    # Population joint distribution of (rater a, rater b) over A, tie, B.
    joint = np.array([[0.30, 0.06, 0.04], [0.05, 0.12, 0.03], [0.03, 0.05, 0.32]])
    row, col = joint.sum(axis=1), joint.sum(axis=0)
    p_o, p_e = np.trace(joint), float(row @ col)
    true_kappa = (p_o - p_e) / (1 - p_e)
    rng = np.random.default_rng(2024)
    covered95 = covered50 = 0
    repetitions = 80
    for rep in range(repetitions):
        a, b = _simulate(joint, 300, rng)
        ci95 = bootstrap_kappa_ci(a, b, rounds=300, seed=rep, level=0.95)
        ci50 = bootstrap_kappa_ci(a, b, rounds=300, seed=rep, level=0.50)
        covered95 += ci95.low <= true_kappa <= ci95.high
        covered50 += ci50.low <= true_kappa <= ci50.high
        assert ci95.high - ci95.low < 0.3
    assert 0.85 <= covered95 / repetitions <= 1.0
    assert 0.3 <= covered50 / repetitions <= 0.7


def test_per_group_results_equal_kappa_on_each_subset():
    rows = [
        {"id": 1, "dimension": "content", "topic": "law", "label_a": "A", "label_b": "A"},
        {"id": 2, "dimension": "content", "topic": "law", "label_a": "B", "label_b": "A"},
        {"id": 3, "dimension": "content", "topic": "health", "label_a": "B", "label_b": "B"},
        {"id": 4, "dimension": "content", "topic": "health", "label_a": "tie", "label_b": "B"},
        {"id": 1, "dimension": "language", "topic": "law", "label_a": "tie", "label_b": "tie"},
        {"id": 2, "dimension": "language", "topic": "law", "label_a": "tie", "label_b": "A"},
    ]
    groups = agreement_by_group(rows, "dimension", rounds=30, seed=3)
    assert [g.group for g in groups] == [(("dimension", "content"),), (("dimension", "language"),)]
    content = cohen_kappa(["A", "B", "B", "tie"], ["A", "A", "B", "B"])
    assert groups[0].n == 4
    assert groups[0].agreement.kappa == content
    no_ties = agreement_by_group(rows, ["dimension", "topic"], exclude_ties=True, rounds=30)
    by_group = {g.group: g for g in no_ties}
    language_law = by_group[(("dimension", "language"), ("topic", "law"))]
    assert language_law.agreement is None and "excluding ties" in language_law.note
    content_law = by_group[(("dimension", "content"), ("topic", "law"))]
    assert content_law.agreement.kappa.confusion == ((1, 0), (1, 0))
    with pytest.raises(ValueError, match="row #0 lacks"):
        agreement_by_group([{"label_a": "A", "label_b": "B"}], "topic")
    with pytest.raises(ValueError, match="row #1: Unknown label 'Q'"):
        agreement_by_group(rows[:1] + [{**rows[1], "label_a": "Q"}], "topic")
