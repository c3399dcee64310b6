"""Judge preference between two models: win/tie/loss overall and per topic, with intervals.

The judging itself is ``eval.judge`` (each pair in both orders; ``invalid`` when
the judge gave no verdict). Here verdicts become counts and a win rate of
``model_a`` with ties counted as half a win and a Wilson interval, the same
statistic the arena reports for two contestants. Invalid pairs are counted and
left out of the rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from arena.ratings.two_models import two_model_stats
from eval.judge import JudgeCache, JudgeConfig, PairItem, judge_pairs

VERDICTS = ("model_a", "model_b", "tie", "invalid")


class PairJudge(Protocol):
    """Verdicts (``model_a``/``model_b``/``tie``/``invalid``) for pairs, in order."""

    def __call__(self, pairs: Sequence[PairItem]) -> list[str]: ...


class LLMJudge:
    """``eval.judge`` behind the ``PairJudge`` interface; keeps the last run's summary."""

    def __init__(self, config: JudgeConfig, *, cache: JudgeCache | None = None, progress: bool = False) -> None:
        self.config = config
        self.cache = cache
        self.progress = progress
        self.last_summary: dict[str, object] | None = None

    def __call__(self, pairs: Sequence[PairItem]) -> list[str]:
        run = judge_pairs(pairs, self.config, cache=self.cache, progress=self.progress)
        self.last_summary = run.summary.to_dict()
        return [v.verdict for v in run.verdicts]


@dataclass(frozen=True)
class Preference:
    """``model_a`` against ``model_b`` on one topic (``None``: all items)."""

    model_a: str
    model_b: str
    topic: str | None
    wins: int
    losses: int
    ties: int
    invalid: int
    win_rate: float  # (wins + ties / 2) / (wins + losses + ties); NaN when nothing was judged
    ci_low: float
    ci_high: float
    level: float

    @property
    def n(self) -> int:
        return self.wins + self.losses + self.ties


def preference(
    verdicts: Sequence[str], model_a: str, model_b: str, *, topic: str | None = None, level: float = 0.95
) -> Preference:
    unknown = sorted(set(verdicts) - set(VERDICTS))
    if unknown:
        raise ValueError(f"unknown verdict(s) {unknown}; expected {VERDICTS}")
    wins, losses = verdicts.count("model_a"), verdicts.count("model_b")
    ties, invalid = verdicts.count("tie"), verdicts.count("invalid")
    if wins + losses + ties == 0:
        nan = math.nan
        return Preference(model_a, model_b, topic, 0, 0, 0, invalid, nan, nan, nan, level)
    rate = two_model_stats(model_a, model_b, wins, losses, ties, level=level).win_rate_ties_half
    return Preference(model_a, model_b, topic, wins, losses, ties, invalid, rate.estimate, rate.low, rate.high, level)


def preference_by_topic(
    verdicts: Sequence[str],
    topics: Sequence[str | None],
    model_a: str,
    model_b: str,
    *,
    level: float = 0.95,
) -> list[Preference]:
    """The overall preference first, then one per topic (sorted)."""
    if len(verdicts) != len(topics):
        raise ValueError(f"{len(verdicts)} verdicts but {len(topics)} topics")
    out = [preference(verdicts, model_a, model_b, level=level)]
    for topic in sorted({t for t in topics if t is not None}):
        picked = [v for v, t in zip(verdicts, topics, strict=True) if t == topic]
        out.append(preference(picked, model_a, model_b, topic=topic, level=level))
    return out
