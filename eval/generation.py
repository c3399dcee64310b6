"""Generation on the IFT test split: each model answers each instruction; text metrics and the judge.

Answers come from chat completions at temperature 0 (the server's chat template
and, through kazarena's /v1, the contestant's system prompt apply). Each answer
is scored against the reference with ROUGE-L (Kazakh-aware tokens), chrF++ and,
when an encoder is given, BERTScore; per-item means get a seeded bootstrap
interval. chrF++ is the corpus score (statistics pooled over items, as sacrebleu
defines it), so it has no per-item interval. Then the judge compares two models'
answers with the reference in view, per topic.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from db.jsonl import iter_jsonl
from db.paths import IFT_TEST
from eval.judge.items import items_from_ift
from eval.metrics import corpus_chrf_pp, corpus_rouge_l
from eval.preference import PairJudge, Preference, preference_by_topic
from eval.sample import seeded_sample

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 512


@dataclass(frozen=True)
class GenerationItem:
    id: str
    instruction: str
    reference: str
    topic: str | None = None
    set_name: str | None = None  # the row's "set": govset | cultset


def load_generation_items(path: Path | str = IFT_TEST, *, limit: int | None = None,
                          seed: int = 0) -> list[GenerationItem]:
    """IFT pairs ``{id, instruction, output, topic, set}`` (the test split by default).

    ``limit`` takes a seeded random sample kept in file order: the split is sorted by document,
    so its first rows would all be one topic.
    """
    items = []
    for lineno, row in iter_jsonl(path):
        missing = [k for k in ("id", "instruction", "output") if not row.get(k)]
        if missing:
            raise ValueError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
        items.append(GenerationItem(str(row["id"]), row["instruction"], row["output"], row.get("topic"),
                                    row.get("set")))
    if not items:
        raise ValueError(f"{path}: no items")
    return seeded_sample(items, limit, seed)


def chat_answers(
    client: Any,
    model: str,
    conversations: Sequence[list[dict[str, str]]],
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    concurrency: int = 4,
    progress: bool = False,
) -> list[str]:
    """Greedy (temperature 0) chat answers of ``model`` to each conversation, in order."""
    if max_tokens < 1 or concurrency < 1:
        raise ValueError("max_tokens and concurrency must be >= 1")

    def answer(messages: list[dict[str, str]]) -> str:
        reply = client.chat.completions.create(
            model=model, messages=messages, temperature=0, max_tokens=max_tokens
        )
        return reply.choices[0].message.content or ""

    with (
        ThreadPoolExecutor(concurrency) as pool,
        tqdm(total=len(conversations), desc=f"answering with {model}", unit="item", disable=not progress) as bar,
    ):
        answers = []
        for text in pool.map(answer, conversations):
            answers.append(text)
            bar.update(1)
    return answers


def generate(client: Any, model: str, items: Sequence[GenerationItem], **kwargs: Any) -> list[str]:
    """Each item's instruction as one user message."""
    return chat_answers(client, model, [[{"role": "user", "content": i.instruction}] for i in items], **kwargs)


@dataclass(frozen=True)
class MeanScore:
    value: float
    ci_low: float
    ci_high: float
    n: int


def bootstrap_mean(values: Sequence[float], *, rounds: int = 1000, level: float = 0.95, seed: int = 0) -> MeanScore:
    """Mean of per-item scores with a percentile bootstrap interval (items resampled)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("mean of zero items is undefined")
    if rounds < 1 or not 0 < level < 1:
        raise ValueError("rounds must be >= 1 and level in (0, 1)")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(rounds, x.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return MeanScore(float(x.mean()), float(low), float(high), int(x.size))


@dataclass(frozen=True)
class TextScores:
    """One model's text metrics on one topic (``None``: all items)."""

    model: str
    topic: str | None
    rouge_l: MeanScore  # F1, 0-1
    chrf: float  # corpus chrF++, 0-100
    bertscore_f1: MeanScore | None  # None when no encoder was given
    n: int


def text_scores(
    model: str,
    items: Sequence[GenerationItem],
    answers: Sequence[str],
    *,
    bert_scorer: Any | None = None,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> list[TextScores]:
    """Overall scores first, then per topic. ``bert_scorer``: an ``eval.metrics.bertscore.BertScorer``."""
    if len(items) != len(answers):
        raise ValueError(f"{len(items)} items but {len(answers)} answers")
    references = [i.reference for i in items]
    rouge = [s.f1 for s in corpus_rouge_l(answers, references).items]
    bert = list(bert_scorer.score(answers, references).f1) if bert_scorer is not None else None
    groups: list[tuple[str | None, list[int]]] = [(None, list(range(len(items))))]
    for topic in sorted({i.topic for i in items if i.topic is not None}):
        groups.append((topic, [k for k, i in enumerate(items) if i.topic == topic]))
    out = []
    for topic, idx in groups:
        out.append(
            TextScores(
                model=model,
                topic=topic,
                rouge_l=bootstrap_mean([rouge[k] for k in idx], rounds=rounds, level=level, seed=seed),
                chrf=corpus_chrf_pp([answers[k] for k in idx], [references[k] for k in idx]).score,
                bertscore_f1=None
                if bert is None
                else bootstrap_mean([bert[k] for k in idx], rounds=rounds, level=level, seed=seed),
                n=len(idx),
            )
        )
    return out


def judge_generation(
    items: Sequence[GenerationItem],
    answers_a: Sequence[str],
    answers_b: Sequence[str],
    model_a: str,
    model_b: str,
    judge: PairJudge,
    *,
    level: float = 0.95,
) -> tuple[list[Preference], list[str]]:
    """Reference-guided judge preference of ``model_a`` over ``model_b``: (overall + per topic, verdicts)."""
    if not len(items) == len(answers_a) == len(answers_b):
        raise ValueError("need one answer of each model per item")
    pairs = items_from_ift(
        {"id": i.id, "instruction": i.instruction, "reference": i.reference, "answer_a": a, "answer_b": b,
         "model_a": model_a, "model_b": model_b, "topic": i.topic}
        for i, a, b in zip(items, answers_a, answers_b, strict=True)
    )
    verdicts = judge(pairs)
    if len(verdicts) != len(pairs):
        raise RuntimeError(f"the judge returned {len(verdicts)} verdicts for {len(pairs)} pairs")
    return preference_by_topic(verdicts, [i.topic for i in items], model_a, model_b, level=level), verdicts
