"""Annotator quality: the sequential outlier test on simulated voters, per-annotator statistics
against hand-counted values, flags and exclusions."""

import numpy as np
import pytest
from scipy import stats

from arena.quality import (
    Flag,
    QualityThresholds,
    annotator_stats,
    annotators_to_exclude,
    assess_annotators,
    prepare_votes,
    sequential_outlier_test,
)

THETA = np.linspace(-1.2, 1.2, 6)
MODELS = [f"m{i}" for i in range(6)]


def simulated_rows(seed=0, honest=20, votes_each=150):
    """Honest voters follow the Bradley-Terry outcome distribution (with ties); a random
    voter picks uniformly among a/b/tie; a contrarian swaps the two models' chances; a
    left-always voter picks the left answer whatever it is (position varies)."""
    rng = np.random.default_rng(seed)
    kinds = {f"honest{i:02d}": "honest" for i in range(honest)}
    kinds.update(random="random", contrarian="contrarian", lefty="left")
    rows, clock = [], 1_700_000_000.0
    for annotator, kind in kinds.items():
        for _ in range(votes_each):
            a, b = rng.choice(6, size=2, replace=False)
            p = 1.0 / (1.0 + np.exp(-(THETA[a] - THETA[b])))
            tie = 0.3 * 2 * min(p, 1 - p)
            u = rng.random()
            winner = "tie" if u < tie else ("model_a" if u < tie + p - tie / 2 else "model_b")
            position = "a" if rng.random() < 0.5 else "b"
            if kind == "random":
                winner = str(rng.choice(["model_a", "model_b", "tie"]))
            elif kind == "contrarian" and winner != "tie":
                winner = "model_b" if winner == "model_a" else "model_a"
            elif kind == "left":
                winner = "model_a" if position == "a" else "model_b"
            clock += 60.0
            rows.append({"model_a": MODELS[a], "model_b": MODELS[b], "winner": winner, "annotator": annotator,
                         "position": position, "tstamp": clock, "answers_tstamp": clock - 40.0,
                         "len_a": 700, "len_b": 900})
    return rows


@pytest.fixture(scope="module")
def report():
    return assess_annotators(simulated_rows())


def test_sequential_test_flags_random_and_contrarian_voters_but_not_honest_ones(report):
    flagged = {r.annotator for r in report.sequential if r.flagged}
    assert {"random", "contrarian"} <= flagged
    honest_flagged = {a for a in flagged if a.startswith("honest")}
    assert len(honest_flagged) <= 1, honest_flagged  # alpha = 0.01 per annotator, 20 honest ones
    random = next(r for r in report.sequential if r.annotator == "random")
    assert random.max_e_value >= 100 and random.crossed_at <= 100


def test_sequential_test_level_holds_for_honest_voters():
    # 60 honest voters, no cheats: at alpha = 0.05 about 3 may cross by chance, not many more.
    votes = prepare_votes(simulated_rows(seed=1, honest=60, votes_each=80))
    results = [r for r in sequential_outlier_test(votes, alpha=0.05) if r.annotator.startswith("honest")]
    assert sum(r.flagged for r in results) <= 8


def test_left_always_voter_shows_side_bias(report):
    lefty = next(s for s in report.stats if s.annotator == "lefty")
    assert lefty.left_share == 1.0
    assert lefty.left_p_value == pytest.approx(stats.binomtest(lefty.decisive_votes, lefty.decisive_votes).pvalue)
    assert any(f.annotator == "lefty" and f.kind == "side_bias" for f in report.flags)
    honest = [s for s in report.stats if s.annotator.startswith("honest")]
    assert 0.4 < np.mean([s.left_share for s in honest]) < 0.6


def test_statistics_by_hand():
    day = 86_400.0
    rows = [
        # annotator u: 3 votes on day 0, 1 on day 2; two gold battles, one right
        {"model_a": "x", "model_b": "y", "winner": "model_a", "annotator": "u", "tstamp": 10.0, "answers_tstamp": 0.0,
         "len_a": 500, "len_b": 500, "gold": "model_a", "question_id": "q1", "judge_winner": "model_a"},
        {"model_a": "x", "model_b": "y", "winner": "model_b", "annotator": "u", "tstamp": 100.0, "answers_tstamp": 80.0,
         "len_a": 1000, "len_b": 1000, "gold": "model_a", "question_id": "q2", "judge_winner": "tie"},
        {"model_a": "y", "model_b": "x", "winner": "tie", "annotator": "u", "tstamp": 200.0, "answers_tstamp": 170.0,
         "len_a": 1000, "len_b": 2000, "question_id": "q3"},
        {"model_a": "y", "model_b": "x", "winner": "model_a", "annotator": "u", "tstamp": 2 * day + 5, "question_id": "q4"},
        # v and w voted on q1 too (sides swapped for w): majority says x won
        {"model_a": "x", "model_b": "y", "winner": "model_a", "annotator": "v", "tstamp": 11.0, "question_id": "q1"},
        {"model_a": "y", "model_b": "x", "winner": "model_b", "annotator": "w", "tstamp": 12.0, "question_id": "q1"},
        # and on q2 v and w disagree: no majority for u to agree with
        {"model_a": "x", "model_b": "y", "winner": "model_a", "annotator": "v", "tstamp": 13.0, "question_id": "q2"},
        {"model_a": "x", "model_b": "y", "winner": "tie", "annotator": "w", "tstamp": 14.0, "question_id": "q2"},
    ]
    by = {s.annotator: s for s in annotator_stats(prepare_votes(rows))}
    u = by["u"]
    assert (u.votes, u.gold_votes, u.gold_accuracy) == (4, 2, 0.5)
    assert u.tie_share == 0.25
    # seconds per 1000 chars: 10/1000*1000 = 10, 20/2000*1000 = 10, 30/3000*1000 = 10
    assert u.median_seconds_per_kchar == pytest.approx(10.0) and u.timed_votes == 3
    assert u.votes_per_day == pytest.approx(4 / 2)  # two distinct days with votes
    # Left side is model_a by default: left won in votes 1 and 4; decisive votes: 1, 2, 4
    assert u.decisive_votes == 3 and u.left_share == pytest.approx(2 / 3)
    assert (u.majority_votes, u.majority_agreement) == (1, 1.0)
    assert (u.judge_votes, u.judge_agreement) == (2, 0.5)
    # v on q1: others u and w both say x -> agrees; v on q2: others u (y) and w (tie) -> no majority
    assert (by["v"].majority_votes, by["v"].majority_agreement) == (1, 1.0)


def test_gold_and_speed_flags_carry_their_evidence():
    rows = []
    for k in range(12):
        rows.append({"model_a": "x", "model_b": "y", "winner": "model_b", "annotator": "sloppy", "gold": "model_a",
                     "tstamp": 100.0 * k + 2.0, "answers_tstamp": 100.0 * k, "len_a": 1000, "len_b": 1000})
        rows.append({"model_a": "x", "model_b": "y", "winner": "model_a", "annotator": "careful", "gold": "model_a",
                     "tstamp": 100.0 * k + 90.0, "answers_tstamp": 100.0 * k, "len_a": 1000, "len_b": 1000})
    report = assess_annotators(rows, thresholds=QualityThresholds(min_pair_votes=1000))
    kinds = {(f.annotator, f.kind): f for f in report.flags}
    assert set(kinds) == {("sloppy", "gold_accuracy"), ("sloppy", "too_fast")}
    assert kinds[("sloppy", "gold_accuracy")].evidence == {"gold_accuracy": 0.0, "gold_votes": 12}
    assert kinds[("sloppy", "too_fast")].evidence["median_seconds_per_kchar"] == pytest.approx(1.0)
    assert report.flagged() == {"sloppy"}


def test_annotators_to_exclude():
    flags = [Flag("a", "too_fast", "..."), Flag("b", "side_bias", "..."), Flag("b", "gold_accuracy", "...")]
    assert annotators_to_exclude(flags) == {"a", "b"}
    assert annotators_to_exclude(flags, cleared={"b"}) == {"a"}
    assert annotators_to_exclude(flags, banned={"c"}, exclude_flagged=False) == {"c"}
    assert annotators_to_exclude(flags, banned={"b"}, cleared={"b"}) == {"a", "b"}  # a ban wins


def test_votes_need_an_annotator_column():
    with pytest.raises(ValueError, match="annotator"):
        prepare_votes([{"model_a": "x", "model_b": "y", "winner": "tie"}])
