"""Per-annotator statistics from plain vote arrays."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import stats

from arena.battle_table import TIE
from arena.quality.votes import VoteTable, winner_names

__all__ = ["AnnotatorStats", "annotator_stats"]


@dataclass(frozen=True)
class AnnotatorStats:
    """What one annotator did. Fields are None where the data cannot say (no gold
    battles, no timestamps, no shared items, no judge labels)."""

    annotator: str
    votes: int
    tie_share: float
    gold_votes: int
    gold_accuracy: float | None
    decisive_votes: int
    left_share: float | None  # share of decisive votes that went to the left-hand answer
    left_p_value: float | None  # two-sided binomial test of left_share = 1/2
    timed_votes: int
    median_seconds_per_kchar: float | None  # answers-complete -> vote, per 1000 characters
    votes_per_day: float | None  # votes per calendar day (UTC) with at least one vote
    majority_votes: int
    majority_agreement: float | None  # agreement with the others' majority on shared items
    judge_votes: int
    judge_agreement: float | None


def _majority_agreement(votes: VoteTable) -> dict[str, tuple[int, int]]:
    """Per annotator: (agreements, comparisons) with the leave-one-out majority per item."""
    if votes.item is None:
        return {}
    names = winner_names(votes)
    by_item: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k in range(votes.n_votes):
        if votes.item[k] is None:
            continue
        pair = "\x1f".join(sorted((votes.model_a[k], votes.model_b[k])))
        by_item[(votes.item[k], pair)].append(k)
    result: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for members in by_item.values():
        if len(members) < 2:
            continue
        for k in members:
            others = Counter(names[j] for j in members if votes.annotator[j] != votes.annotator[k])
            ranked = others.most_common(2)
            if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
                continue  # nobody else, or no clear majority
            counts = result[votes.annotator[k]]
            counts[0] += int(names[k] == ranked[0][0])
            counts[1] += 1
    return {a: (c[0], c[1]) for a, c in result.items()}


def annotator_stats(votes: VoteTable) -> tuple[AnnotatorStats, ...]:
    """Statistics for every annotator in ``votes``, sorted by annotator id."""
    majority = _majority_agreement(votes)
    annotators, index = np.unique(votes.annotator.astype(str), return_inverse=True)
    grouped = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[grouped], np.arange(annotators.size + 1))
    out = []
    for k, annotator in enumerate(annotators.tolist()):
        mine = grouped[bounds[k] : bounds[k + 1]]  # this annotator's votes, in time order
        outcome = votes.outcome[mine]
        n = int(mine.size)

        gold = votes.gold[mine]
        has_gold = gold >= 0
        n_gold = int(has_gold.sum())
        gold_acc = float(np.mean(gold[has_gold] == outcome[has_gold])) if n_gold else None

        decisive = outcome != TIE
        n_dec = int(decisive.sum())
        # The left answer won when (a won and a was on the left) or (b won and b was on the left).
        left_won = (outcome == 0) == votes.left_is_a[mine]
        n_left = int(np.sum(left_won & decisive))
        left_share = n_left / n_dec if n_dec else None
        left_p = float(stats.binomtest(n_left, n_dec, 0.5).pvalue) if n_dec else None

        delay = votes.delay[mine]
        chars = votes.chars[mine]
        timed = np.isfinite(delay) & (delay >= 0) & np.isfinite(chars) & (chars > 0)
        per_kchar = float(np.median(delay[timed] / chars[timed] * 1000.0)) if timed.any() else None

        time = votes.time[mine]
        known = np.isfinite(time)
        per_day = None
        if known.any():
            days = np.unique(np.floor(time[known] / 86400.0))
            per_day = float(known.sum() / days.size)

        judge = votes.judge[mine]
        has_judge = judge >= 0
        n_judge = int(has_judge.sum())
        agree_n, compared = majority.get(annotator, (0, 0))
        out.append(
            AnnotatorStats(
                annotator=annotator, votes=n, tie_share=float(np.mean(outcome == TIE)),
                gold_votes=n_gold, gold_accuracy=gold_acc, decisive_votes=n_dec,
                left_share=left_share, left_p_value=left_p, timed_votes=int(timed.sum()),
                median_seconds_per_kchar=per_kchar, votes_per_day=per_day,
                majority_votes=compared, majority_agreement=agree_n / compared if compared else None,
                judge_votes=n_judge,
                judge_agreement=float(np.mean(judge[has_judge] == outcome[has_judge])) if n_judge else None,
            )
        )
    return tuple(out)
