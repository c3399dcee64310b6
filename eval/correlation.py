"""Benchmark-to-arena correlation: Spearman's rho between each eval score and the arena ratings.

Each (task, dataset, metric) on whole datasets is one benchmark; its scores are
compared with the arena's Bradley-Terry ratings over the models that have both
(the arena's own rank-agreement code). With few models rho is coarse: with 3
models it can only be -1, -0.5, 0.5 or 1, and its p-value means little.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from arena.agreement.rank import rank_agreement
from eval.results import ScoreRow, overall


@dataclass(frozen=True)
class ArenaCorrelation:
    task: str
    dataset: str
    metric: str
    spearman_rho: float
    spearman_p: float
    kendall_tau: float
    n_models: int
    models: tuple[str, ...]
    note: str = ""


def load_ratings(path: Path | str) -> dict[str, float]:
    """``{model: rating}`` from ``kazarena leaderboard --format json`` output or a plain JSON object."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        return {str(r["model"]): float(r["rating"]) for r in data["rows"] if r.get("rating") is not None}
    if isinstance(data, dict) and all(isinstance(v, int | float) for v in data.values()):
        return {str(k): float(v) for k, v in data.items()}
    raise ValueError(f"{path}: expected leaderboard JSON ({{'rows': [{{'model', 'rating'}}]}}) or {{model: rating}}")


def arena_correlations(rows: Sequence[ScoreRow], ratings: Mapping[str, float]) -> list[ArenaCorrelation]:
    """One correlation per benchmark that shares at least 2 models with the arena."""
    groups: dict[tuple[str, str, str], dict[str, float]] = {}
    for r in overall(rows):
        if r.is_difference:  # a pair's difference ranks no models
            continue
        groups.setdefault((r.task, r.dataset, r.metric), {})[r.model] = r.value
    out = []
    for (task, dataset, metric), scores in sorted(groups.items()):
        if len(set(scores) & set(ratings)) < 2:
            continue
        agreement = rank_agreement(scores, ratings)
        out.append(
            ArenaCorrelation(
                task=task, dataset=dataset, metric=metric, spearman_rho=agreement.spearman_rho,
                spearman_p=agreement.spearman_p, kendall_tau=agreement.kendall_tau,
                n_models=agreement.n_models, models=agreement.models, note=agreement.note,
            )
        )
    return out
