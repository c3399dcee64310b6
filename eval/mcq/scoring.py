"""Zero-shot multiple choice by log-likelihood, as lm-evaluation-harness does it.

The prompt is the MMLU one::

    <question>
    A. <option 1>
    B. <option 2>
    ...
    Answer:

and the continuations are `` A``, `` B``, ...; the prediction is the letter
whose continuation has the highest log-likelihood (the first on a tie, like
``numpy.argmax``).

Log-likelihoods come from an OpenAI-compatible ``/v1/completions`` with
``echo=True, logprobs=1, max_tokens=0``: the server returns the log-probability
of every prompt token, and the continuation's tokens are those that start at or
after the end of the context, located by the ``text_offset`` the server returns
(so no local tokenizer is needed). The whole string is tokenized once, as in
lm-eval, so both give the same tokens whenever the context ends on a token
boundary, which ``Answer:`` + `` A`` does. Many prompts go in one request (vLLM
batches a list prompt) and several requests run at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import openai
from tqdm import tqdm

from eval.mcq.items import LETTERS, MCQItem

logger = logging.getLogger(__name__)

ANSWER_CUE = "Answer:"


def format_prompt(question: str, choices: Sequence[str]) -> str:
    """The MMLU-style zero-shot prompt that ends just before the answer letter."""
    if not 2 <= len(choices) <= len(LETTERS):
        raise ValueError(f"need 2 to {len(LETTERS)} options, got {len(choices)}")
    lines = [question.strip()] + [f"{LETTERS[i]}. {c}" for i, c in enumerate(choices)]
    return "\n".join(lines) + "\n" + ANSWER_CUE


def continuations(n_choices: int) -> list[str]:
    """`` A``, `` B``, ... (the space belongs to the continuation, as in lm-eval)."""
    return [f" {LETTERS[i]}" for i in range(n_choices)]


def predict(loglikelihoods: Sequence[float]) -> int:
    """Index of the highest log-likelihood; the first one on a tie."""
    if len(loglikelihoods) == 0:
        raise ValueError("no log-likelihoods to choose from")
    values = np.asarray(loglikelihoods, dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"NaN log-likelihood in {list(loglikelihoods)}")
    return int(np.argmax(values))


def continuation_logprob(
    token_logprobs: Sequence[float | None], text_offset: Sequence[int], context_chars: int, prompt_chars: int
) -> float:
    """Sum of the log-probabilities of the tokens that make up the continuation.

    A token belongs to the continuation when it is the one that covers the
    first continuation character or any later prompt character; tokens at or
    past ``prompt_chars`` were generated (when ``max_tokens`` > 0) and are left out.
    """
    if len(token_logprobs) != len(text_offset):
        raise ValueError("token_logprobs and text_offset differ in length")
    if not 0 < context_chars < prompt_chars:
        raise ValueError("the context and the continuation must both be non-empty")
    if any(b < a for a, b in zip(text_offset, text_offset[1:], strict=False)):
        raise ValueError("text_offset is not monotone: the server's offsets cannot be used")
    starts_before = [i for i, off in enumerate(text_offset) if off <= context_chars]
    first = starts_before[-1] if starts_before else 0
    if first == 0:
        raise ValueError("the continuation would include the first token, which has no log-probability")
    picked = [lp for lp, off in zip(token_logprobs[first:], text_offset[first:], strict=True) if off < prompt_chars]
    if not picked or any(lp is None for lp in picked):
        raise ValueError("the server returned no log-probability for the continuation")
    return float(sum(picked))  # type: ignore[arg-type]


@dataclass(frozen=True)
class EchoedPrompt:
    """One prompt as the server echoed it: its tokens, their log-probabilities and character offsets.

    ``token_logprobs[0]`` is None (the first token has no context). ``text_offset`` counts characters of
    ``"".join(tokens)``: vLLM starts it with the special tokens it added itself (a ``<bos>``), if any.
    """

    text: str  # the prompt followed by whatever was generated
    tokens: tuple[str, ...]
    token_logprobs: tuple[float | None, ...]
    text_offset: tuple[int, ...]


def echo_prompts(client: Any, model: str, prompts: Sequence[str], *, logprobs: int = 1,
                 max_tokens: int = 0) -> list[EchoedPrompt]:
    """Prompt-token log-probabilities of each prompt from one ``/v1/completions`` request (``echo=True``), in order."""
    try:
        response = client.completions.create(
            model=model, prompt=list(prompts), max_tokens=max_tokens, echo=True, logprobs=logprobs, temperature=0
        )
    except openai.BadRequestError as e:
        longest = max(len(p) for p in prompts)
        raise RuntimeError(
            f"model {model!r} refused a batch of {len(prompts)} prompts (longest {longest} characters); "
            f"a prompt may not fit the model's context: {e}"
        ) from e
    choices = sorted(response.choices, key=lambda c: c.index)
    if len(choices) != len(prompts):
        raise RuntimeError(f"asked for {len(prompts)} prompts, got {len(choices)} choices")
    out = []
    for prompt, choice in zip(prompts, choices, strict=True):
        lp = choice.logprobs
        if lp is None or lp.text_offset is None or lp.token_logprobs is None:
            raise RuntimeError(f"model {model!r}: the server returned no prompt logprobs (echo unsupported?)")
        if not (choice.text or "").startswith(prompt):
            raise RuntimeError(f"model {model!r}: the echoed text differs from the prompt")
        out.append(EchoedPrompt(choice.text, tuple(getattr(lp, "tokens", None) or ()), tuple(lp.token_logprobs),
                                tuple(lp.text_offset)))
    return out


class LoglikelihoodScorer(Protocol):
    """Log-likelihood of each ``(context, continuation)`` pair, in order."""

    def __call__(self, requests: Sequence[tuple[str, str]], *, progress: bool = False) -> list[float]: ...


class CompletionsScorer:
    """Log-likelihoods from an OpenAI-compatible completions endpoint (vLLM, or kazarena's /v1).

    client: an ``openai.OpenAI`` client; batch_size: prompts per request;
    concurrency: requests in flight at once.
    """

    def __init__(self, client: Any, model: str, *, batch_size: int = 32, concurrency: int = 4) -> None:
        if batch_size < 1 or concurrency < 1:
            raise ValueError("batch_size and concurrency must be >= 1")
        self.client = client
        self.model = model
        self.batch_size = batch_size
        self.concurrency = concurrency

    def _score_batch(self, batch: Sequence[tuple[str, str]]) -> list[float]:
        prompts = [context + continuation for context, continuation in batch]
        echoed = echo_prompts(self.client, self.model, prompts, logprobs=1, max_tokens=0)
        return [continuation_logprob(e.token_logprobs, e.text_offset, len(context), len(prompt))
                for (context, _), prompt, e in zip(batch, prompts, echoed, strict=True)]

    def __call__(self, requests: Sequence[tuple[str, str]], *, progress: bool = False) -> list[float]:
        batches = [requests[i : i + self.batch_size] for i in range(0, len(requests), self.batch_size)]
        results: list[list[float]] = []
        with (
            ThreadPoolExecutor(self.concurrency) as pool,
            tqdm(total=len(requests), desc=f"scoring {self.model}", unit="prompt", disable=not progress) as bar,
        ):
            for scores in pool.map(self._score_batch, batches):  # map keeps the order
                results.append(scores)
                bar.update(len(scores))
        return [s for batch in results for s in batch]


@dataclass(frozen=True)
class MCQPrediction:
    item_id: str
    subject: str | None
    answer: int
    predicted: int
    loglikelihoods: tuple[float, ...]

    @property
    def correct(self) -> bool:
        return self.answer == self.predicted


def evaluate_items(
    items: Sequence[MCQItem],
    scorer: LoglikelihoodScorer,
    *,
    prefix: Callable[[MCQItem], str] | None = None,
    progress: bool = False,
) -> list[MCQPrediction]:
    """Score every option of every item in one call to ``scorer`` and pick the argmax.

    prefix: text put before each item's prompt (the RAG baseline's retrieved chunks).
    """
    requests: list[tuple[str, str]] = []
    for item in items:
        context = (prefix(item) if prefix else "") + format_prompt(item.question, item.choices)
        requests.extend((context, c) for c in continuations(len(item.choices)))
    scores = scorer(requests, progress=progress)
    if len(scores) != len(requests):
        raise RuntimeError(f"scorer returned {len(scores)} log-likelihoods for {len(requests)} requests")
    predictions, start = [], 0
    for item in items:
        lls = tuple(scores[start : start + len(item.choices)])
        start += len(item.choices)
        predictions.append(MCQPrediction(item.id, item.subject, item.answer, predict(lls), lls))
    return predictions
