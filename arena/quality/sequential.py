"""Sequential outlier test for annotators, after Chatbot Arena's anomalous-user test.

Null hypothesis for one annotator: each vote on a model pair is drawn from that pair's
outcome distribution q, the one everybody else's votes show (estimated leaving this
annotator out, with a small pseudo-count so no outcome has probability zero).

Each vote gives a likelihood ratio e = r(o) / q(o) against an alternative voter r; its
expectation under the null is sum_o r(o) = 1, so it is an e-value, and the running
product over the annotator's votes (in time order) is a test martingale. Two
alternatives are mixed, half and half, at the level of the running products:
  * the random voter: r uniform over {first wins, second wins, tie};
  * the contrarian: r is q with the two models' win probabilities swapped.
By Ville's inequality an honest annotator's mixture ever reaching 1/alpha has
probability at most alpha (up to the error in the estimate of q), so we flag when
the running e-value reaches 1/alpha, and the vote count at which it first did is
the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arena.quality.votes import VoteTable, canonical_pairs

__all__ = ["SequentialResult", "sequential_outlier_test"]


@dataclass(frozen=True)
class SequentialResult:
    """Outcome of the test for one annotator."""

    annotator: str
    votes_tested: int  # votes on pairs with enough votes from others
    max_e_value: float
    final_e_value: float
    crossed_at: int | None  # 1-based index of the tested vote where 1/alpha was first reached
    flagged: bool
    alpha: float


def sequential_outlier_test(
    votes: VoteTable,
    *,
    alpha: float = 0.01,
    min_pair_votes: int = 10,
    pseudo_count: float = 1.0,
) -> tuple[SequentialResult, ...]:
    """Run the test for every annotator; votes on pairs with fewer than
    ``min_pair_votes`` votes from others are skipped (q is not known well enough)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    pair, outcome = canonical_pairs(votes)
    pairs, pair_idx = np.unique(pair.astype(str), return_inverse=True)
    annotators, ann_idx = np.unique(votes.annotator.astype(str), return_inverse=True)
    totals = np.zeros((pairs.size, 3))
    np.add.at(totals, (pair_idx, outcome), 1.0)
    # The annotator's own counts per pair, stored only for the pairs they voted on.
    cell, cell_idx = np.unique(ann_idx * pairs.size + pair_idx, return_inverse=True)
    own = np.zeros((cell.size, 3))
    np.add.at(own, (cell_idx, outcome), 1.0)
    others_all = totals[pair_idx] - own[cell_idx]  # (n_votes, 3), leave-the-annotator-out

    threshold = np.log(1.0 / alpha)
    by_annotator = np.argsort(ann_idx, kind="stable")  # stable: keeps each one's time order
    starts = np.searchsorted(ann_idx[by_annotator], np.arange(annotators.size + 1))
    results = []
    for k, annotator in enumerate(annotators):
        mine = by_annotator[starts[k] : starts[k + 1]]
        others = others_all[mine]
        enough = others.sum(axis=1) >= min_pair_votes
        mine, others = mine[enough], others[enough]
        if mine.size == 0:
            results.append(SequentialResult(str(annotator), 0, 1.0, 1.0, None, False, alpha))
            continue
        q = (others + pseudo_count) / (others.sum(axis=1, keepdims=True) + 3.0 * pseudo_count)
        o = outcome[mine]
        q_vote = q[np.arange(o.size), o]
        swapped = q[np.arange(o.size), np.array([1, 0, 2])[o]]
        log_uniform = np.cumsum(np.log(1.0 / 3.0) - np.log(q_vote))
        log_contrarian = np.cumsum(np.log(swapped) - np.log(q_vote))
        log_e = np.logaddexp(log_uniform, log_contrarian) - np.log(2.0)
        crossed = np.flatnonzero(log_e >= threshold)
        results.append(
            SequentialResult(
                annotator=str(annotator), votes_tested=int(mine.size),
                max_e_value=float(np.exp(min(log_e.max(), 700.0))), final_e_value=float(np.exp(min(log_e[-1], 700.0))),
                crossed_at=int(crossed[0]) + 1 if crossed.size else None, flagged=bool(crossed.size), alpha=alpha,
            )
        )
    return tuple(results)
