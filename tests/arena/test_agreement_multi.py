"""Fleiss' kappa, Krippendorff's alpha and pairwise kappa among several annotators."""

import math
from fractions import Fraction

import krippendorff
import numpy as np
import pytest

from arena.agreement import (
    LABELS,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_ratings,
    krippendorff_alpha,
    krippendorff_alpha_from_ratings,
    pairwise_cohen_kappa,
    reliability_matrix,
)

# Wikipedia "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
FLEISS_1971 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_wikipedia_example_gives_0_210():
    result = fleiss_kappa(FLEISS_1971)
    # By hand: sum of squared counts per row = 196+60+70+94+74+98+58+46+66+66 = 828,
    # P-bar = (828 - 10*14) / (10*14*13) = 688/1820; column totals 20, 28, 39, 21, 32
    # of 140, P_e = (20^2+28^2+39^2+21^2+32^2)/140^2 = 4170/19600.
    p_bar, p_e = Fraction(688, 1820), Fraction(4170, 19600)
    exact = (p_bar - p_e) / (1 - p_e)
    assert result.kappa == pytest.approx(float(exact), abs=1e-12)
    assert round(result.kappa, 3) == 0.210
    assert round(result.mean_agreement, 3) == 0.378
    assert round(result.expected_agreement, 3) == 0.213
    assert [round(s, 3) for s in result.category_shares] == [0.143, 0.200, 0.279, 0.150, 0.229]
    assert (result.n_items, result.n_raters) == (10, 14)


def test_fleiss_with_two_raters_is_scotts_pi():
    # Wikipedia's Cohen example (20/5/10/15): pooled "yes" share (25+30)/100 = 0.55,
    # Scott's pi = (0.7 - (0.55^2 + 0.45^2)) / (1 - 0.505) = 0.195/0.495.
    counts = [[2, 0]] * 20 + [[1, 1]] * 15 + [[0, 2]] * 15
    assert fleiss_kappa(counts).kappa == pytest.approx(0.195 / 0.495, abs=1e-12)


def test_fleiss_refuses_varying_rater_counts_and_bad_counts():
    with pytest.raises(ValueError, match="same number of raters.*krippendorff_alpha"):
        fleiss_kappa([[2, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="at least 2 raters"):
        fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="non-negative"):
        fleiss_kappa([[3, -1], [1, 1]])
    with pytest.raises(ValueError, match="shape"):
        fleiss_kappa([])
    undefined = fleiss_kappa([[3, 0], [3, 0]])
    assert math.isnan(undefined.kappa) and "expected agreement is 1" in undefined.note


def test_fleiss_from_long_rows_matches_count_matrix():
    ratings = [
        ("b1", "ann", "A"), ("b1", "bek", "model_a"), ("b1", "cui", "tie"),
        ("b2", "ann", "B"), ("b2", "bek", "B"), ("b2", "cui", "B"),
        ("b3", "ann", "tie"), ("b3", "bek", "A"), ("b3", "cui", "B"),
        ("b4", "ann", "A"),  # single rating: not an overlap, left out
    ]  # fmt: skip
    expected = fleiss_kappa([[2, 1, 0], [0, 0, 3], [1, 1, 1]])
    assert fleiss_kappa_from_ratings(ratings) == expected
    with pytest.raises(ValueError, match="rated item 'b1' twice"):
        fleiss_kappa_from_ratings([("b1", "ann", "A"), ("b1", "ann", "B")])


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C:
# 4 observers, 12 units, values 1-5, None = missing. Published: nominal .743, ordinal .815.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_krippendorff_published_example():
    nominal = krippendorff_alpha(KRIPPENDORFF_2011, level="nominal")
    ordinal = krippendorff_alpha(KRIPPENDORFF_2011, level="ordinal")
    assert round(nominal.alpha, 3) == 0.743
    assert round(ordinal.alpha, 3) == 0.815
    # Pairable values: units 1 and 10 have 3, unit 11 has 2, units 2-9 have 4, unit 12
    # only 1 (left out): n = 3 + 8*4 + 3 + 2 = 40.
    assert nominal.n_pairable == 40
    # Krippendorff's coincidence matrix: diagonal 7, 10, 8, 4, 3 (= 32 agreeing of 40),
    # marginals n_c = 9, 13, 10, 5, 3 (sum of squares 384), so
    # alpha = 1 - (n - 1) * (40 - 32) / (40^2 - 384) = 1 - 39*8/1216.
    o = np.array(nominal.coincidence)
    assert np.diag(o).tolist() == pytest.approx([7, 10, 8, 4, 3])
    assert o.sum(axis=1).tolist() == pytest.approx([9, 13, 10, 5, 3])
    assert nominal.alpha == pytest.approx(1 - 39 * 8 / 1216, abs=1e-12)


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_krippendorff_matches_reference_package_on_random_data(level):
    rng = np.random.default_rng(11)
    for _ in range(5):
        data = rng.integers(1, 5, size=(4, 30)).astype(float)
        data[rng.random(data.shape) < 0.3] = np.nan
        ours = krippendorff_alpha(data.tolist(), level=level)
        theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert ours.alpha == pytest.approx(theirs, abs=1e-10)


def test_krippendorff_on_arena_rows_uses_a_tie_b_order():
    ratings = [
        ("b1", "ann", "A"), ("b1", "bek", "tie"),
        ("b2", "ann", "B"), ("b2", "bek", "B"), ("b2", "cui", "tie"),
        ("b3", "ann", "A"), ("b3", "cui", "A"),
        ("b4", "bek", "B"), ("b4", "cui", "A"),
    ]  # fmt: skip
    annotators, items, data = reliability_matrix(ratings)
    assert annotators == ("ann", "bek", "cui") and items == ("b1", "b2", "b3", "b4")
    assert data[0] == ["A", "B", "A", None]
    numeric = [[None if v is None else LABELS.index(v) for v in row] for row in data]
    for level in ("nominal", "ordinal"):
        ours = krippendorff_alpha_from_ratings(ratings, level=level)
        ref = krippendorff.alpha(reliability_data=np.array(numeric, dtype=float), level_of_measurement=level)
        assert ours.alpha == pytest.approx(ref, abs=1e-10)


def test_krippendorff_edge_cases():
    with pytest.raises(ValueError, match="no unit has two or more ratings"):
        krippendorff_alpha([[1, None], [None, 2]])
    with pytest.raises(ValueError, match="Unknown level"):
        krippendorff_alpha([[1, 2], [1, 2]], level="interval")
    with pytest.raises(ValueError, match="not in categories"):
        krippendorff_alpha([["A", "x"], ["A", "B"]], categories=LABELS)
    constant = krippendorff_alpha([[1, 1], [1, 1]])
    assert math.isnan(constant.alpha) and "expected disagreement is 0" in constant.note


def test_pairwise_kappa_on_overlaps():
    ratings = [
        ("b1", "ann", "A"), ("b2", "ann", "B"), ("b3", "ann", "tie"), ("b4", "ann", "A"),
        ("b1", "bek", "A"), ("b2", "bek", "A"), ("b3", "bek", "tie"),
        ("b3", "cui", "B"), ("b4", "cui", "A"),
        ("b9", "dan", "A"),
    ]  # fmt: skip
    pairs = pairwise_cohen_kappa(ratings)
    assert [(p.annotator_a, p.annotator_b, p.n_items) for p in pairs] == [
        ("ann", "bek", 3),
        ("ann", "cui", 2),
        ("bek", "cui", 1),
    ]
    assert pairs[0].result == cohen_kappa(["A", "B", "tie"], ["A", "A", "tie"])
    assert pairs[1].result == cohen_kappa(["tie", "A"], ["B", "A"])
    assert len(pairwise_cohen_kappa(ratings, min_overlap=2)) == 2
