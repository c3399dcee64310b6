"""One score per row, the shape of the ``eval_results`` table, and storing/reading them.

``ScoreRow`` is what every evaluation produces, what the report draws and what
the correlation with the arena reads; ``store_rows`` writes them as ``EvalResult``
rows through a session the caller owns (and commits).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import EvalResult

BASELINE_MODEL = "majority-class"  # the MCQ majority-class baseline's row


@dataclass(frozen=True)
class ScoreRow:
    task: str  # mcq | rag | generation | conversation
    dataset: str
    subset: str | None  # subject / topic; None for the whole dataset
    model: str
    metric: str  # accuracy | rouge_l | chrf_pp | bertscore_f1 | win_rate
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_baseline(self) -> bool:
        return self.model == BASELINE_MODEL


def new_run_id() -> str:
    """Sortable and unique: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def store_rows(session: Session, run_id: str, rows: Iterable[ScoreRow]) -> int:
    """Add the rows to the session as ``EvalResult``s (the caller commits); returns how many.

    Values must be finite (SQLite has no NaN); intervals that are not finite become NULL.
    """
    count = 0
    for r in rows:
        if not math.isfinite(r.value):
            raise ValueError(f"{r.task}/{r.dataset}/{r.model}/{r.metric}: value {r.value} is not finite")
        session.add(
            EvalResult(
                run_id=run_id, task=r.task, dataset=r.dataset, subset=r.subset, model=r.model,
                metric=r.metric, value=float(r.value), ci_low=_finite(r.ci_low), ci_high=_finite(r.ci_high),
                n=r.n, details=r.details,
            )
        )
        count += 1
    session.flush()
    return count


def load_rows(session: Session, run_id: str) -> list[ScoreRow]:
    """The rows of one run, in insertion order."""
    found = session.scalars(select(EvalResult).where(EvalResult.run_id == run_id).order_by(EvalResult.id)).all()
    return [
        ScoreRow(task=e.task, dataset=e.dataset, subset=e.subset, model=e.model, metric=e.metric, value=e.value,
                 ci_low=e.ci_low, ci_high=e.ci_high, n=e.n, details=dict(e.details or {}))
        for e in found
    ]


def overall(rows: Sequence[ScoreRow]) -> list[ScoreRow]:
    """Whole-dataset rows of real models (no subsets, no baseline)."""
    return [r for r in rows if r.subset is None and not r.is_baseline]
