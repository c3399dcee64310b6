"""`GET /api/eval/runs[/{run_id}]`: the stored evaluation runs, read-only, as the UI's Results tab shows them.

Public like the Results tab: evaluation scores hold no personal data.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import SessionDep
from app.errors import ServiceError
from eval.results import RunSummary, filter_rows, get_run, list_runs, load_rows

router = APIRouter(prefix="/api/eval", tags=["eval"])


class EvalRunPublic(BaseModel):
    run_id: str
    created_at: datetime
    tasks: list[str]
    datasets: list[str]
    models: list[str]
    n_rows: int

    @classmethod
    def of(cls, run: RunSummary) -> "EvalRunPublic":
        return cls(run_id=run.run_id, created_at=run.created_at, tasks=list(run.tasks), datasets=list(run.datasets),
                   models=list(run.models), n_rows=run.n_rows)


class EvalRunsPublic(BaseModel):
    data: list[EvalRunPublic]
    count: int


class EvalScorePublic(BaseModel):
    task: str
    dataset: str
    subset: str | None
    model: str
    metric: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    is_baseline: bool
    details: dict[str, Any]


class EvalRunResultsPublic(BaseModel):
    run: EvalRunPublic
    data: list[EvalScorePublic]
    count: int


@router.get("/runs", response_model=EvalRunsPublic)
def read_eval_runs(session: SessionDep) -> EvalRunsPublic:
    """Every stored evaluation run, newest first."""
    runs = [EvalRunPublic.of(r) for r in list_runs(session)]
    return EvalRunsPublic(data=runs, count=len(runs))


@router.get("/runs/{run_id}", response_model=EvalRunResultsPublic)
def read_eval_run(
    run_id: str,
    session: SessionDep,
    task: Annotated[Literal["mcq", "rag", "generation", "conversation"] | None,
                    Query(description="only this task's scores")] = None,
) -> EvalRunResultsPublic:
    """One run's scores (whole datasets and subsets, the majority-class baseline included), in stored order."""
    run = get_run(session, run_id)
    if run is None:
        raise ServiceError("not_found", "run_not_found", f"no evaluation run {run_id!r}; GET /api/eval/runs lists the stored runs")
    rows = filter_rows(load_rows(session, run_id), task)
    data = [EvalScorePublic(task=r.task, dataset=r.dataset, subset=r.subset, model=r.model, metric=r.metric,
                            value=r.value, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n, is_baseline=r.is_baseline,
                            details=r.details) for r in rows]
    return EvalRunResultsPublic(run=EvalRunPublic.of(run), data=data, count=len(data))
