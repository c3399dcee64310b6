"""Accuracy intervals (coverage, agreement with index resampling), majority baseline, per-subject scores."""

import numpy as np
import pytest

from eval.mcq import MCQPrediction, bootstrap_accuracy, majority_baseline, score_predictions


def test_accuracy_and_seeded_interval():
    correct = [True] * 7 + [False] * 3
    a = bootstrap_accuracy(correct, seed=3)
    assert (a.value, a.n, a.correct, a.level) == (0.7, 10, 7, 0.95)
    assert a.ci_low < 0.7 < a.ci_high
    assert a == bootstrap_accuracy(correct, seed=3)  # same seed, same interval
    with pytest.raises(ValueError, match="zero items"):
        bootstrap_accuracy([])
    with pytest.raises(ValueError, match="level"):
        bootstrap_accuracy(correct, level=1.0)


def test_binomial_draws_match_resampling_items():
    """The shortcut equals the textbook bootstrap: resample items with replacement, take the mean."""
    correct = np.array([1] * 18 + [0] * 32, dtype=bool)
    rng = np.random.default_rng(123)
    textbook = correct[rng.integers(0, correct.size, size=(20000, correct.size))].mean(axis=1)
    low, high = np.quantile(textbook, [0.025, 0.975])
    ours = bootstrap_accuracy(correct, rounds=20000, seed=7)
    assert ours.ci_low == pytest.approx(low, abs=0.021) and ours.ci_high == pytest.approx(high, abs=0.021)


@pytest.mark.parametrize("p", [0.3, 0.75])
def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time(p):
    rng = np.random.default_rng(2024)
    n, reps = 120, 400
    hits = 0
    for rep in range(reps):
        sample = rng.random(n) < p
        a = bootstrap_accuracy(sample, rounds=1000, seed=rep)
        hits += a.ci_low <= p <= a.ci_high
    assert 0.90 <= hits / reps <= 0.985  # nominal 0.95; a broken interval lands far outside


def test_majority_baseline_worked_example():
    m = majority_baseline([3, 2, 0, 3, 1, 3, 0, 2, 3, 0])
    assert (m.answer, m.accuracy, m.n) == (3, 0.4, 10)
    tie = majority_baseline([1, 2, 2, 1])
    assert (tie.answer, tie.accuracy) == (1, 0.5)  # a tie goes to the lower index
    with pytest.raises(ValueError):
        majority_baseline([])


def test_scores_per_subject():
    preds = [
        MCQPrediction("1", "history", 0, 0, (-1.0, -2.0)),
        MCQPrediction("2", "history", 1, 0, (-1.0, -2.0)),
        MCQPrediction("3", "law", 2, 2, (-3.0, -2.0, -1.0)),
        MCQPrediction("4", "law", 2, 2, (-3.0, -2.0, -1.0)),
        MCQPrediction("5", None, 1, 1, (-2.0, -1.0)),
    ]
    s = score_predictions(preds, rounds=500, seed=1)
    assert (s.overall.correct, s.overall.n, s.overall.value) == (4, 5, 0.8)
    assert set(s.by_subject) == {"history", "law"}
    assert s.by_subject["history"].value == 0.5 and s.by_subject["law"].value == 1.0
    assert (s.majority.answer, s.majority.accuracy) == (1, 0.4)  # answers 0,1,2,2,1: a 1-2 tie
