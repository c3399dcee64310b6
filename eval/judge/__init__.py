"""The LLM judge: pairwise verdicts in both orders from any OpenAI-compatible model.

``templates`` (versioned prompt files and their hash, data escaped as JSON),
``parse`` (the verdict in a reply), ``client`` (the judge's config; transport in ``eval.llm_client``),
``cache`` (replies on disk), ``pairwise`` (both orders, concurrency, progress),
``items`` (IFT items and arena battles as pairs), ``store`` (the judge_verdicts
table) and ``agreement`` (the judge against people). Nothing here reads the
app's settings: the caller passes a ``JudgeConfig``.
"""

from eval.judge.cache import JudgeCache
from eval.judge.client import JudgeConfig, describe_judge
from eval.judge.items import DIMENSION_TEMPLATES, REFERENCE_TEMPLATE, items_from_battles, judge_items
from eval.judge.pairwise import (
    JudgeRun,
    JudgeSummary,
    PairItem,
    PairVerdict,
    combine,
    judge_pairs,
    judge_pairs_async,
)
from eval.judge.parse import parse_verdict
from eval.judge.templates import load_template
from eval.llm_client import DEFAULT_OPENAI_MODEL, OFFICIAL_OPENAI_URL

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "DIMENSION_TEMPLATES",
    "OFFICIAL_OPENAI_URL",
    "REFERENCE_TEMPLATE",
    "JudgeCache",
    "JudgeConfig",
    "JudgeRun",
    "JudgeSummary",
    "PairItem",
    "PairVerdict",
    "combine",
    "describe_judge",
    "items_from_battles",
    "judge_items",
    "judge_pairs",
    "judge_pairs_async",
    "load_template",
    "parse_verdict",
]
