"""Battle rows in the public LMArena/FastChat schema, read and checked for the statistics.

A battle row has ``model_a, model_b, winner`` with ``winner`` one of ``model_a``,
``model_b``, ``tie``, ``tie (bothbad)``. Optional columns used here: ``winner_content``,
``winner_language``, ``winner_overall`` (our per-dimension votes), ``topic``,
``annotator`` (falls back to FastChat's ``judge``, which names the voter there),
``sampling_prob``, ``len_a``/``len_b`` or ``conversation_a``/``conversation_b`` (to
derive answer lengths), ``flagged``.

Rows come in as a DataFrame or a list of dicts, so the database loader and the file
loader feed the same code. ``prepare_battles`` turns them into a ``BattleTable`` of
plain integer/float arrays for the rating models.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["BattleTable", "DIMENSIONS", "NoBattlesError", "prepare_battles", "read_battles", "to_frame"]

DIMENSIONS = ("content", "language", "overall")
WINNER_COLUMNS = {"content": "winner_content", "language": "winner_language", "overall": "winner_overall"}
# Outcome codes used everywhere in arena.ratings: 0 = model_a won, 1 = model_b won, 2 = tie.
A_WINS, B_WINS, TIE = 0, 1, 2
WINNER_LABELS = {"model_a": A_WINS, "model_b": B_WINS, "tie": TIE, "tie (bothbad)": TIE}


class NoBattlesError(ValueError):
    """The selection (dimension, topic, exclusions) leaves no battle to rate."""


@dataclass(frozen=True)
class SkipCounts:
    """Rows left out of a ``BattleTable``, by reason (all counts of input rows)."""

    no_vote: int = 0  # no label on the chosen dimension
    invalid: int = 0  # unknown label or a model against itself, dropped on request
    other_topic: int = 0
    excluded_annotator: int = 0
    flagged: int = 0


@dataclass(frozen=True)
class BattleTable:
    """Battles as arrays. ``models`` is sorted; arrays have shape (n_battles,).

    ``model_a``/``model_b`` index into ``models``; ``outcome`` uses A_WINS/B_WINS/TIE;
    ``weight`` is 1 unless inverse-propensity weights were asked for (then they are
    1/sampling_prob scaled to mean 1); ``len_a``/``len_b`` are answer lengths in
    characters, or None when the rows carry none.
    """

    models: tuple[str, ...]
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    weight: np.ndarray
    len_a: np.ndarray | None
    len_b: np.ndarray | None
    dimension: str
    topic: str | None
    n_rows: int
    skipped: SkipCounts
    ipw: bool = False
    annotator: np.ndarray | None = None  # who voted each battle (str), when the rows say
    tstamp: np.ndarray | None = None  # when each vote was cast (seconds since the epoch), when the rows say

    @property
    def n_battles(self) -> int:
        return int(self.outcome.shape[0])


def read_battles(path: str | Path) -> pd.DataFrame:
    """Read battle rows from a .jsonl, .json (a list of rows) or .parquet file."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"battles file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        try:
            frame = pd.read_json(path, lines=True, dtype=False)
        except ValueError as exc:
            raise ValueError(f"{path} is not valid JSON Lines: {exc}") from exc
    elif suffix == ".json":
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of battle rows")
        frame = pd.DataFrame(data)
    elif suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a readable parquet file: {exc}") from exc
    else:
        raise ValueError(f"{path}: unsupported battles format {suffix!r}; use .jsonl, .json or .parquet")
    if frame.empty:
        raise ValueError(f"{path} holds no battle rows")
    return frame


def to_frame(rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Accept a DataFrame or a list of dicts; check the required columns."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty:
        raise ValueError("no battle rows given")
    missing = [c for c in ("model_a", "model_b") if c not in frame.columns]
    if not any(c in frame.columns for c in ("winner", *WINNER_COLUMNS.values())):
        missing.append("winner")
    if missing:
        raise ValueError(f"battle rows lack required column(s) {missing}; found {sorted(frame.columns)}")
    return frame.reset_index(drop=True)


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float):
        return bool(np.isnan(value))
    return isinstance(value, str) and value.strip() == ""


def winner_labels(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """The vote on ``dimension`` per row (None where there is none).

    ``overall`` reads ``winner_overall`` and falls back to ``winner`` row by row, so
    plain FastChat files work unchanged.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    column = WINNER_COLUMNS[dimension]
    if dimension == "overall":
        if "winner" not in frame.columns:
            return frame[column].astype(object) if column in frame.columns else pd.Series([None] * len(frame), dtype=object)
        labels = frame["winner"].astype(object)
        if column in frame.columns:
            own = frame[column].astype(object)
            labels = own.where(~missing_mask(own), labels)
        return labels
    if column not in frame.columns:
        present = [d for d in DIMENSIONS if d == "overall" or WINNER_COLUMNS[d] in frame.columns]
        raise ValueError(
            f"no {column!r} column, so no votes on dimension {dimension!r}; "
            f"dimensions in this data: {', '.join(present)}"
        )
    return frame[column].astype(object)


def missing_mask(series: pd.Series) -> np.ndarray:
    """Vectorised ``is_missing``: None, NaN, NA or blank text."""
    na = series.isna().to_numpy()
    # str() of a non-missing non-text value (a number) is never blank, so this is safe.
    return na | series.where(~na, "").astype(str).str.strip().eq("").to_numpy()


def _row_name(frame: pd.DataFrame, i: int) -> str:
    for key in ("battle_id", "question_id"):
        if key in frame.columns and not is_missing(frame.at[i, key]):
            return f"row {i} ({key}={frame.at[i, key]})"
    return f"row {i}"


def _text_length(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, (list, tuple, np.ndarray)):  # OpenAI content parts
        return sum(len(str(p.get("text", ""))) for p in content if isinstance(p, Mapping))
    return 0


def conversation_length(conversation: Any) -> float:
    """Characters in the assistant turns of an OpenAI-format message list."""
    if isinstance(conversation, str):
        try:
            conversation = json.loads(conversation)
        except ValueError:
            return float("nan")
    if not isinstance(conversation, (list, tuple, np.ndarray)):
        return float("nan")
    return float(
        sum(
            _text_length(m.get("content"))
            for m in conversation
            if isinstance(m, Mapping) and m.get("role") == "assistant"
        )
    )


def answer_lengths(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Answer lengths (characters) from ``len_a``/``len_b`` or the conversations; None if absent."""
    if "len_a" in frame.columns and "len_b" in frame.columns:
        return (pd.to_numeric(frame["len_a"], errors="coerce").to_numpy(float),
                pd.to_numeric(frame["len_b"], errors="coerce").to_numpy(float))
    if "conversation_a" in frame.columns and "conversation_b" in frame.columns:
        return (frame["conversation_a"].map(conversation_length).to_numpy(float),
                frame["conversation_b"].map(conversation_length).to_numpy(float))
    return None


def annotator_column(frame: pd.DataFrame) -> str | None:
    """Who voted: ``annotator``, else FastChat's ``judge`` (the voter's id there)."""
    for column in ("annotator", "judge"):
        if column in frame.columns:
            return column
    return None


def _truthy(series: pd.Series) -> np.ndarray:
    text = series.where(~missing_mask(series), "").astype(str).str.strip().str.lower()
    return ~missing_mask(series) & ~text.isin(("0", "false", "no")).to_numpy()


def encode_outcomes(
    frame: pd.DataFrame, labels: pd.Series, *, drop_invalid: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Outcome codes per row, a keep mask, an invalid mask, and the no-vote count.

    Raises ValueError naming the first bad row unless ``drop_invalid``.
    """
    missing = missing_mask(labels)
    codes = labels.where(~missing, "").astype(str).str.strip().str.lower().map(WINNER_LABELS)
    unknown = codes.isna().to_numpy() & ~missing
    no_name = (missing_mask(frame["model_a"]) | missing_mask(frame["model_b"])) & ~missing
    itself = (frame["model_a"].astype(str) == frame["model_b"].astype(str)).to_numpy() & ~missing
    invalid = unknown | no_name | itself
    if invalid.any() and not drop_invalid:
        i = int(np.flatnonzero(invalid)[0])
        if no_name[i]:
            problem = "a model name is missing"
        elif unknown[i]:
            problem = f"unknown winner label {labels.iat[i]!r} (expected one of {sorted(WINNER_LABELS)})"
        else:
            problem = f"model {frame['model_a'].iat[i]!r} battles itself"
        raise ValueError(
            f"{_row_name(frame, i)}: {problem}; {int(invalid.sum())} such row(s) in all. "
            "Fix the data or drop them (drop_invalid=True / --drop-invalid)"
        )
    outcome = codes.fillna(-1).to_numpy().astype(np.int8)
    return outcome, ~missing & ~invalid, invalid, int(missing.sum())


def prepare_battles(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    dimension: str = "overall",
    topic: str | None = None,
    exclude_annotators: Collection[str] = (),
    exclude_flagged: bool = False,
    drop_invalid: bool = False,
    ipw: bool = False,
) -> BattleTable:
    """Select the battles for one leaderboard and encode them as arrays.

    Rows without a vote on ``dimension`` are skipped (counted in ``skipped.no_vote``);
    unknown labels and self-battles raise ValueError unless ``drop_invalid``. With
    ``ipw`` each battle is weighted by 1/sampling_prob (scaled to mean 1).
    """
    frame = to_frame(rows)
    n_rows = len(frame)
    labels = winner_labels(frame, dimension)
    keep = np.ones(n_rows, dtype=bool)

    n_topic = 0
    if topic is not None:
        if "topic" not in frame.columns:
            raise ValueError(f"topic {topic!r} asked for, but the battles have no 'topic' column")
        in_topic = (frame["topic"].astype(str) == topic).to_numpy()
        if not in_topic.any():
            known = sorted({str(t) for t in frame["topic"] if not is_missing(t)})
            raise ValueError(f"no battles with topic {topic!r}; topics present: {known}")
        n_topic = int((~in_topic).sum())
        keep &= in_topic

    n_excluded = 0
    if exclude_annotators:
        column = annotator_column(frame)
        if column is not None:
            excluded = frame[column].astype(str).isin({str(a) for a in exclude_annotators}).to_numpy() & keep
            n_excluded = int(excluded.sum())
            keep &= ~excluded

    n_flagged = 0
    if exclude_flagged and "flagged" in frame.columns:
        flagged = _truthy(frame["flagged"]) & keep
        n_flagged = int(flagged.sum())
        keep &= ~flagged

    selected = frame[keep].reset_index(drop=True)
    outcome, valid, invalid, n_no_vote = encode_outcomes(selected, labels[keep].reset_index(drop=True), drop_invalid=drop_invalid)
    if invalid.any():
        logger.warning("dropped %d battle rows with an unknown label or a self-battle", int(invalid.sum()))
    selected = selected[valid].reset_index(drop=True)
    outcome = outcome[valid]
    if len(selected) == 0:
        where = f" on topic {topic!r}" if topic else ""
        raise NoBattlesError(f"no battles with a vote on dimension {dimension!r}{where} ({n_rows} rows read)")

    n = len(selected)
    # factorize hashes the names (np.unique would sort a million strings); sort the few
    # distinct names afterwards so model indices follow alphabetical order.
    first_seen, names = pd.factorize(pd.concat([selected["model_a"], selected["model_b"]], ignore_index=True).astype(str))
    order = np.argsort(np.asarray(names, dtype=str))
    models = np.asarray(names, dtype=str)[order]
    codes = np.argsort(order)[first_seen]

    weight = np.ones(n)
    if ipw:
        if "sampling_prob" not in selected.columns:
            raise ValueError("inverse-propensity weighting needs a 'sampling_prob' column")
        prob = pd.to_numeric(selected["sampling_prob"], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(prob) | (prob <= 0) | (prob > 1)
        if bad.any():
            raise ValueError(f"{_row_name(selected, int(np.flatnonzero(bad)[0]))}: sampling_prob must be in (0, 1], got {prob[bad][0]!r}")
        weight = (1.0 / prob) / np.mean(1.0 / prob)

    lengths = answer_lengths(selected)
    who = annotator_column(selected)
    when = pd.to_numeric(selected["tstamp"], errors="coerce").to_numpy(float) if "tstamp" in selected.columns else None
    return BattleTable(
        models=tuple(str(m) for m in models),
        model_a=codes[:n].astype(np.int64),
        model_b=codes[n:].astype(np.int64),
        outcome=outcome.astype(np.int8),
        weight=weight,
        len_a=None if lengths is None else lengths[0],
        len_b=None if lengths is None else lengths[1],
        dimension=dimension,
        topic=topic,
        n_rows=n_rows,
        skipped=SkipCounts(
            no_vote=n_no_vote, invalid=int(invalid.sum()), other_topic=n_topic,
            excluded_annotator=n_excluded, flagged=n_flagged,
        ),
        ipw=ipw,
        annotator=None if who is None else selected[who].astype(str).to_numpy(),
        tstamp=None if when is None or not np.isfinite(when).all() else when,
    )


def topics(rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[str]:
    """The distinct topics in the rows (empty when there is no topic column)."""
    frame = to_frame(rows)
    if "topic" not in frame.columns:
        return []
    return sorted({str(t) for t in frame["topic"] if not is_missing(t)})
