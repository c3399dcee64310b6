"""One score per row, the shape of the ``eval_results`` table, and storing/reading them.

``ScoreRow`` is what every evaluation produces, what the report draws and what
the correlation with the arena reads; ``store_rows`` writes them as ``EvalResult``
rows through a session the caller owns (and commits). ``list_runs`` and
``load_rows`` are all the UI's Results tab and the ``/api/eval`` routes read.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import EvalResult

BASELINE_MODEL = "majority-class"  # the MCQ majority-class baseline's row
DIFF_SUFFIX = "_diff"  # paired differences, e.g. rouge_l_diff (eval.comparison)
TASKS = ("mcq", "rag", "generation", "conversation")


@dataclass(frozen=True)
class ScoreRow:
    task: str  # mcq | rag | generation | conversation
    dataset: str
    subset: str | None  # subject / topic; None for the whole dataset
    model: str
    metric: str  # accuracy | rouge_l | chrf_pp | bertscore_f1 | win_rate | loss | echo_rate | kk_share | <metric>_diff
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_baseline(self) -> bool:
        return self.model == BASELINE_MODEL

    @property
    def is_difference(self) -> bool:
        """A fine-tuned model minus its vanilla one (``details["opponent"]``), not a score of one model."""
        return self.metric.endswith(DIFF_SUFFIX)


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


def filter_rows(rows: Sequence[ScoreRow], task: str | None = None) -> list[ScoreRow]:
    """The rows of one task (``None`` or ``""``: all of them), in their order."""
    if not task:
        return list(rows)
    if task not in TASKS:
        raise ValueError(f"Unknown task: {task!r} (expected one of {', '.join(TASKS)})")
    return [r for r in rows if r.task == task]


@dataclass(frozen=True)
class RunSummary:
    """What one evaluation run covered, for picking it from a list."""

    run_id: str
    created_at: datetime  # when its first row was stored, UTC
    tasks: tuple[str, ...]  # in TASKS order
    datasets: tuple[str, ...]
    models: tuple[str, ...]  # real models only: the majority-class baseline is left out
    n_rows: int

    def describe(self) -> str:
        """One line: id, time, tasks, datasets and models."""
        return (f"{self.run_id} · {self.created_at:%Y-%m-%d %H:%M} UTC · {', '.join(self.tasks)} · "
                f"{', '.join(self.datasets)} · {', '.join(self.models)}")


def _utc(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored in UTC
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _task_order(task: str) -> tuple[int, str]:
    return (TASKS.index(task) if task in TASKS else len(TASKS), task)


def _summaries(session: Session, run_id: str | None) -> list[RunSummary]:
    # one row per (run, task, dataset, model): a few dozen per run, so grouping them here stays cheap
    query = (select(EvalResult.run_id, EvalResult.task, EvalResult.dataset, EvalResult.model,
                    func.min(EvalResult.created_at), func.count(EvalResult.id))
             .group_by(EvalResult.run_id, EvalResult.task, EvalResult.dataset, EvalResult.model))
    if run_id is not None:
        query = query.where(EvalResult.run_id == run_id)
    runs: dict[str, dict[str, Any]] = {}
    for rid, task, dataset, model, first, count in session.execute(query):
        run = runs.setdefault(rid, {"first": _utc(first), "tasks": set(), "datasets": set(), "models": set(), "n": 0})
        run["first"] = min(run["first"], _utc(first))
        run["tasks"].add(task)
        run["datasets"].add(dataset)
        if model != BASELINE_MODEL:
            run["models"].add(model)
        run["n"] += count
    summaries = [RunSummary(rid, r["first"], tuple(sorted(r["tasks"], key=_task_order)), tuple(sorted(r["datasets"])),
                            tuple(sorted(r["models"])), r["n"]) for rid, r in runs.items()]
    return sorted(summaries, key=lambda s: (s.created_at, s.run_id), reverse=True)


def list_runs(session: Session, limit: int | None = None) -> list[RunSummary]:
    """Every stored run, newest first (ties broken by run id, which is sortable by time)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return _summaries(session, None)[:limit]


def get_run(session: Session, run_id: str) -> RunSummary | None:
    """The summary of one run; None when no row has that run id."""
    found = _summaries(session, run_id)
    return found[0] if found else None
