"""Annotator votes as plain arrays, read from battle rows.

Columns used (all optional except the FastChat three and an annotator column):
``annotator`` (else ``judge``, the voter in FastChat files), ``tstamp`` (vote time),
``answers_tstamp`` (when both answers had finished), ``position`` (which seat was
shown on the left: ``a``/``model_a``, ``b``/``model_b`` or the model's name; FastChat
always shows model_a on the left, which is the default), ``gold`` (the correct label
of a control battle), ``judge_winner`` (an LLM judge's label for the same battle),
``question_id``/``battle_id`` (the item several annotators may have voted on),
``len_a``/``len_b`` or the conversations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arena.battle_table import (
    A_WINS,
    B_WINS,
    TIE,
    WINNER_LABELS,
    annotator_column,
    answer_lengths,
    encode_outcomes,
    is_missing,
    to_frame,
    winner_labels,
)

__all__ = ["VoteTable", "prepare_votes"]


@dataclass(frozen=True)
class VoteTable:
    """One entry per vote, arrays of shape (n_votes,), sorted by vote time when known.

    ``outcome`` is A_WINS/B_WINS/TIE; ``left_is_a`` whether model_a was shown on the
    left; ``gold``/``judge`` are outcome codes or -1 where absent; ``time`` is the vote
    time in seconds (NaN if unknown); ``delay`` seconds from answers complete to vote;
    ``chars`` the two answers' length; ``item`` the shared-item key or None.
    """

    annotator: np.ndarray
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    left_is_a: np.ndarray
    gold: np.ndarray
    judge: np.ndarray
    time: np.ndarray
    delay: np.ndarray
    chars: np.ndarray
    item: np.ndarray | None

    @property
    def n_votes(self) -> int:
        return int(self.outcome.shape[0])


def _seconds(series: pd.Series) -> np.ndarray:
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().sum() >= series.notna().sum():
        return numeric.to_numpy(float)
    stamps = pd.to_datetime(series, errors="coerce", utc=True)
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(float)


def _codes(series: pd.Series) -> np.ndarray:
    return series.map(lambda v: -1 if is_missing(v) else WINNER_LABELS.get(str(v).strip().lower(), -1)).to_numpy(np.int64)


def _left_is_a(frame: pd.DataFrame) -> np.ndarray:
    if "position" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    out = np.ones(len(frame), dtype=bool)
    for i, (pos, b) in enumerate(zip(frame["position"], frame["model_b"].astype(str), strict=True)):
        if is_missing(pos):
            continue
        text = str(pos).strip().lower()
        out[i] = not (text in ("b", "model_b") or str(pos) == b)
    return out


def prepare_votes(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    dimension: str = "overall",
    judge_column: str = "judge_winner",
    item_columns: Sequence[str] = ("question_id", "battle_id"),
) -> VoteTable:
    """Votes with an annotator and a valid label on ``dimension`` (others are skipped)."""
    frame = to_frame(rows)
    who = annotator_column(frame)
    if who is None:
        raise ValueError("annotator statistics need an 'annotator' (or FastChat 'judge') column")
    labels = winner_labels(frame, dimension)
    outcome, keep, _, _ = encode_outcomes(frame, labels, drop_invalid=True)
    keep &= ~frame[who].map(is_missing).to_numpy(bool)
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"no votes with an annotator and a label on dimension {dimension!r}")
    outcome = outcome[keep]

    time = _seconds(frame["tstamp"]) if "tstamp" in frame.columns else np.full(len(frame), np.nan)
    done = _seconds(frame["answers_tstamp"]) if "answers_tstamp" in frame.columns else np.full(len(frame), np.nan)
    lengths = answer_lengths(frame)
    chars = lengths[0] + lengths[1] if lengths is not None else np.full(len(frame), np.nan)
    item_col = next((c for c in item_columns if c in frame.columns), None)
    item = None
    if item_col is not None:
        item = frame[item_col].map(lambda v: None if is_missing(v) else str(v)).to_numpy(object)

    order = np.argsort(np.where(np.isnan(time), np.inf, time), kind="stable")
    return VoteTable(
        annotator=frame[who].astype(str).to_numpy(object)[order],
        model_a=frame["model_a"].astype(str).to_numpy(object)[order],
        model_b=frame["model_b"].astype(str).to_numpy(object)[order],
        outcome=outcome.astype(np.int64)[order],
        left_is_a=_left_is_a(frame)[order],
        gold=(_codes(frame["gold"]) if "gold" in frame.columns else np.full(len(frame), -1))[order],
        judge=(_codes(frame[judge_column]) if judge_column in frame.columns else np.full(len(frame), -1))[order],
        time=time[order],
        delay=(time - done)[order],
        chars=chars[order],
        item=None if item is None else item[order],
    )


def canonical_pairs(votes: VoteTable) -> tuple[np.ndarray, np.ndarray]:
    """Pair key (sorted model names) and the outcome seen from the sorted pair.

    Outcome 0 = the alphabetically first model won, 1 = the second won, 2 = tie; so
    votes on (x, y) and (y, x) describe the same distribution.
    """
    swapped = votes.model_a > votes.model_b
    first = np.where(swapped, votes.model_b, votes.model_a)
    second = np.where(swapped, votes.model_a, votes.model_b)
    key = np.array([f"{x}\x1f{y}" for x, y in zip(first, second, strict=True)], dtype=object)
    flip = np.array([B_WINS, A_WINS, TIE])
    outcome = np.where(swapped, flip[votes.outcome], votes.outcome)
    return key, outcome


def winner_names(votes: VoteTable) -> np.ndarray:
    """The vote as the winning model's name, or 'tie'."""
    return np.select([votes.outcome == A_WINS, votes.outcome == B_WINS], [votes.model_a, votes.model_b], "tie")
