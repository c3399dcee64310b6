"""Pairwise judging in both orders, concurrently, with a cache and a progress bar.

Each pair is shown twice: answer a as response 1 (order ``ab``), then answer b as
response 1 (order ``ba``). The judge's digit is mapped back to the models, so both
orders speak of ``model_a``/``model_b``. When the two orders agree the verdict
stands; when they disagree the pair is a tie flagged inconsistent (a judge that
just prefers the first position lands here); when either order has no verdict the
pair is ``invalid``, never a tie or a loss.

An order's verdict is read only as ``eval.judge.parse`` says: the exact structured
reply, or the final ``Verdict: N`` line of a free-text reply. A reply without one is
asked again (``parse_retries``), then recorded ``invalid``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import openai
from openai import AsyncOpenAI
from tqdm.auto import tqdm

from eval.judge.cache import CachedReply, JudgeCache, cache_key
from eval.judge.client import JudgeConfig, chat
from eval.judge.parse import VERDICT_FORMAT, parse_verdict
from eval.judge.templates import PromptTemplate, load_template
from eval.llm_client import make_client

logger = logging.getLogger(__name__)

__all__ = ["ORDERS", "VERDICTS", "JudgeRun", "JudgeSummary", "OrderVerdict", "PairItem", "PairVerdict",
           "combine", "judge_pairs", "judge_pairs_async", "summarize"]

ORDERS = ("ab", "ba")
VERDICTS = ("model_a", "model_b", "tie", "invalid")
_DIGIT_TO_VERDICT = {
    "ab": {"1": "model_a", "2": "model_b", "0": "tie"},
    "ba": {"1": "model_b", "2": "model_a", "0": "tie"},
}
REPAIR_MESSAGE = ("Your reply did not end with a verdict line. Reply with one of these lines only:\n"
                  "Verdict: 1\nVerdict: 2\nVerdict: 0")


@dataclass(frozen=True)
class PairItem:
    """One pair of answers to judge with the prompt ``template``.

    ``context`` holds the template's other fields (``instruction`` and ``reference``,
    or ``conversation``); the answers fill ``response_1``/``response_2``.
    """

    id: str
    template: str
    context: dict[str, Any]
    answer_a: str
    answer_b: str
    model_a: str = ""
    model_b: str = ""
    dimension: str = "overall"
    topic: str | None = None
    battle_id: str | None = None

    def values(self, order: str) -> dict[str, Any]:
        first, second = (self.answer_a, self.answer_b) if order == "ab" else (self.answer_b, self.answer_a)
        return {**self.context, "response_1": first, "response_2": second}


@dataclass(frozen=True)
class OrderVerdict:
    """The judge on one order. ``verdict`` names the model (``model_a``/``model_b``/``tie``) or ``invalid``."""

    order: str
    verdict: str
    raw_text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    requests: int = 0  # HTTP requests made for it in this run (0 when cached)

    @property
    def shown_first_won(self) -> bool | None:
        """True if the answer shown as response 1 won, None for a tie or no verdict."""
        if self.verdict not in ("model_a", "model_b"):
            return None
        return (self.verdict == "model_a") == (self.order == "ab")


@dataclass(frozen=True)
class PairVerdict:
    item: PairItem
    judge_model: str
    prompt_hash: str
    ab: OrderVerdict
    ba: OrderVerdict
    verdict: str  # model_a | model_b | tie | invalid
    consistent: bool | None  # None when an order has no verdict

    def to_row(self) -> dict[str, Any]:
        """A flat record (e.g. for a results table): the pair, both orders and the verdict."""
        i = self.item
        return {"id": i.id, "dimension": i.dimension, "topic": i.topic, "model_a": i.model_a, "model_b": i.model_b,
                "verdict": self.verdict, "consistent": self.consistent, "verdict_ab": self.ab.verdict,
                "verdict_ba": self.ba.verdict, "judge_model": self.judge_model, "template": i.template,
                "prompt_hash": self.prompt_hash}


def combine(ab: str, ba: str) -> tuple[str, bool | None]:
    """The pair's verdict from its two orders (both already in model terms)."""
    for v in (ab, ba):
        if v not in VERDICTS:
            raise ValueError(f"unknown verdict {v!r}; expected one of {VERDICTS}")
    if "invalid" in (ab, ba):
        return "invalid", None
    if ab == ba:
        return ab, True
    return "tie", False


@dataclass(frozen=True)
class JudgeSummary:
    """Counts and costs of a judging run. ``inconsistency_rate`` is over pairs with two verdicts."""

    judge: str
    judge_model: str
    base_url: str
    is_gpt4o: bool
    n_pairs: int
    counts: dict[str, int]
    n_consistent: int
    n_inconsistent: int
    inconsistency_rate: float
    n_invalid_orders: int
    requests: int
    cached_orders: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    prompt_hashes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if math.isnan(self.inconsistency_rate):
            data["inconsistency_rate"] = None
        return data


@dataclass(frozen=True)
class JudgeRun:
    verdicts: tuple[PairVerdict, ...]
    summary: JudgeSummary


def summarize(verdicts: Sequence[PairVerdict], config: JudgeConfig) -> JudgeSummary:
    """Counts, inconsistency rate, tokens spent in this run (cached replies cost nothing) and cost."""
    counts = Counter({v: 0 for v in VERDICTS})
    counts.update(v.verdict for v in verdicts)
    orders = [o for v in verdicts for o in (v.ab, v.ba)]
    spent = [o for o in orders if not o.cached]
    prompt_tokens = sum(o.prompt_tokens for o in spent)
    completion_tokens = sum(o.completion_tokens for o in spent)
    consistent = sum(v.consistent is True for v in verdicts)
    inconsistent = sum(v.consistent is False for v in verdicts)
    judged = consistent + inconsistent
    return JudgeSummary(
        judge=config.describe(), judge_model=config.model, base_url=config.base_url, is_gpt4o=config.is_gpt4o,
        n_pairs=len(verdicts), counts=dict(counts), n_consistent=consistent, n_inconsistent=inconsistent,
        inconsistency_rate=inconsistent / judged if judged else float("nan"),
        n_invalid_orders=sum(o.verdict == "invalid" for o in orders),
        requests=sum(o.requests for o in orders), cached_orders=len(orders) - len(spent),
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        cost_usd=config.cost_usd(prompt_tokens, completion_tokens),
        prompt_hashes={v.item.template: v.prompt_hash for v in verdicts},
    )


class _Judge:
    """The shared state of one run: client, semaphore, cache."""

    def __init__(self, config: JudgeConfig, client: AsyncOpenAI, cache: JudgeCache | None) -> None:
        self.config, self.client, self.cache = config, client, cache
        self.semaphore = asyncio.Semaphore(config.concurrency)

    async def order(self, template: PromptTemplate, item: PairItem, order: str) -> OrderVerdict:
        values = item.values(order)
        settings = {**self.config.generation_settings(), "verdict_format": VERDICT_FORMAT}
        key = cache_key(self.config.model, template.sha256, values, settings)
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            return OrderVerdict(order, _DIGIT_TO_VERDICT[order][hit.digit], hit.raw_text,
                                hit.prompt_tokens, hit.completion_tokens, cached=True)
        messages = template.render(values)
        texts: list[str] = []
        prompt_tokens = completion_tokens = requests = 0
        for attempt in range(self.config.parse_retries + 1):
            try:
                async with self.semaphore:
                    reply = await chat(self.client, self.config, messages)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
                # this item cannot be judged as sent (e.g. longer than the judge's context)
                texts.append(f"error: {error}")
                requests += 1
                break
            texts.append(reply.text)
            prompt_tokens += reply.prompt_tokens
            completion_tokens += reply.completion_tokens
            requests += reply.requests
            digit = parse_verdict(reply.text, self.config.output_format)
            if digit is not None:
                raw = "\n---\n".join(texts)
                if self.cache is not None:
                    self.cache.put(key, self.config.model, template.sha256,
                                   CachedReply(digit, raw, prompt_tokens, completion_tokens))
                return OrderVerdict(order, _DIGIT_TO_VERDICT[order][digit], raw, prompt_tokens,
                                    completion_tokens, requests=requests)
            if attempt < self.config.parse_retries:
                logger.info("no verdict in the judge's reply to %s (%s); asking again", item.id, order)
                messages = [*messages, {"role": "assistant", "content": reply.text},
                            {"role": "user", "content": REPAIR_MESSAGE}]
        return OrderVerdict(order, "invalid", "\n---\n".join(texts), prompt_tokens, completion_tokens,
                            requests=requests)

    async def pair(self, item: PairItem) -> PairVerdict:
        template = load_template(item.template)
        ab, ba = await asyncio.gather(self.order(template, item, "ab"), self.order(template, item, "ba"))
        verdict, consistent = combine(ab.verdict, ba.verdict)
        return PairVerdict(item, self.config.model, template.sha256, ab, ba, verdict, consistent)


async def judge_pairs_async(
    items: Sequence[PairItem],
    config: JudgeConfig,
    *,
    cache: JudgeCache | None = None,
    progress: bool = True,
    on_result: Callable[[PairVerdict], None] | None = None,
    client: AsyncOpenAI | None = None,
) -> JudgeRun:
    """Judge every pair in both orders; verdicts come back in the order of ``items``.

    ``on_result`` is called (in the event loop) as each pair finishes, so a caller
    can store results as they come. A transport error that outlives the retries
    stops the run; what finished is in the cache, so running again resumes.
    """
    seen = Counter((item.id, item.template) for item in items)
    duplicates = [key for key, n in seen.items() if n > 1]
    if duplicates:
        raise ValueError(f"pair ids must be unique per prompt; repeated: {sorted(duplicates)[:5]}")
    for template in {item.template for item in items}:
        load_template(template)  # fail before any call on a bad name
    own_client = client is None
    judge = _Judge(config, client or make_client(config), cache)
    tasks = [asyncio.ensure_future(judge.pair(item)) for item in items]
    results: dict[int, PairVerdict] = {}
    index = {id(t): i for i, t in enumerate(tasks)}
    try:
        with tqdm(total=len(tasks), desc=f"judging with {config.model}", unit="pair", disable=not progress) as bar:
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    result = task.result()  # re-raises a failed call; `finally` cancels the rest
                    results[index[id(task)]] = result
                    if on_result is not None:
                        on_result(result)
                    bar.update(1)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if own_client:
            await judge.client.close()
    verdicts = tuple(results[i] for i in range(len(tasks)))
    return JudgeRun(verdicts=verdicts, summary=summarize(verdicts, config))


def judge_pairs(items: Sequence[PairItem], config: JudgeConfig, **kwargs: Any) -> JudgeRun:
    """``judge_pairs_async`` from synchronous code."""
    return asyncio.run(judge_pairs_async(items, config, **kwargs))
