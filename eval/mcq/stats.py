"""Accuracy with a seeded bootstrap interval, per subject, and the majority-class baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from eval.mcq.scoring import MCQPrediction

DEFAULT_ROUNDS = 1000


@dataclass(frozen=True)
class Accuracy:
    """``correct / n`` with a percentile-bootstrap interval at ``level``."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    correct: int
    level: float


def bootstrap_accuracy(
    correct: Sequence[bool], *, rounds: int = DEFAULT_ROUNDS, level: float = 0.95, seed: int = 0
) -> Accuracy:
    """Accuracy of a 0/1 vector and its percentile bootstrap interval.

    Resampling n items with replacement and counting the correct ones is a
    Binomial(n, k/n) draw, so the rounds are drawn as binomials: the same
    distribution as resampling indices, in O(rounds) instead of O(rounds * n).
    """
    if len(correct) == 0:
        raise ValueError("accuracy of zero items is undefined")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n = len(correct)
    k = int(np.sum(np.asarray(correct, dtype=bool)))
    rng = np.random.default_rng(seed)
    means = rng.binomial(n, k / n, size=rounds) / n
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Accuracy(value=k / n, ci_low=float(low), ci_high=float(high), n=n, correct=k, level=level)


@dataclass(frozen=True)
class Majority:
    """Always answering the most frequent correct option (position) of these items."""

    answer: int  # 0-based option index
    accuracy: float
    n: int


def majority_baseline(answers: Sequence[int]) -> Majority:
    """The majority-class baseline, measured on the same items (so slightly optimistic)."""
    if len(answers) == 0:
        raise ValueError("majority baseline of zero items is undefined")
    counts = Counter(int(a) for a in answers)
    top = max(counts.values())
    answer = min(a for a, c in counts.items() if c == top)  # lowest index on a tie: deterministic
    return Majority(answer=answer, accuracy=top / len(answers), n=len(answers))


@dataclass(frozen=True)
class MCQScores:
    overall: Accuracy
    majority: Majority
    by_subject: dict[str, Accuracy] = field(default_factory=dict)


def score_predictions(
    predictions: Sequence[MCQPrediction], *, rounds: int = DEFAULT_ROUNDS, level: float = 0.95, seed: int = 0
) -> MCQScores:
    """Overall and per-subject accuracy (bootstrap CIs, one seed) and the majority baseline."""
    correct = [p.correct for p in predictions]
    overall = bootstrap_accuracy(correct, rounds=rounds, level=level, seed=seed)
    subjects = sorted({p.subject for p in predictions if p.subject is not None})
    by_subject = {
        s: bootstrap_accuracy([p.correct for p in predictions if p.subject == s], rounds=rounds, level=level, seed=seed)
        for s in subjects
    }
    return MCQScores(overall=overall, majority=majority_baseline([p.answer for p in predictions]), by_subject=by_subject)
