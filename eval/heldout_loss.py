"""Held-out loss per response token, through the served model itself (so a LoRA adapter on vLLM counts).

Each pair becomes the chat the model was tuned on: the instruction as the user
message and the reference as the assistant message, rendered by the model's own
chat template (a local tokenizer folder). The text goes to ``/v1/completions``
with ``echo=True, logprobs=0, max_tokens=1``; the server returns the
log-probability of every prompt token with its ``text_offset``, and the loss of
the pair is the mean of ``-logprob`` over the reference's tokens::

    loss = -(1 / k) * sum(logprob(t) for the k tokens t of the reference)

The reference's tokens are found as ``eval.mcq.continuation_logprob`` finds a
continuation: from the token that covers the reference's first character to the
last one that starts before its end, so the template's closing
``<end_of_turn>`` is left out. Lower is better; a fine-tuned model's difference
against its vanilla model is negative when tuning helped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.mcq.scoring import EchoedPrompt, echo_prompts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatPrompt:
    """A rendered user + assistant chat and where the assistant's text (the reference) lies in it."""

    text: str
    ref_start: int  # character offsets of the reference in ``text``
    ref_end: int


def chat_prompt(tokenizer: Any, instruction: str, reference: str) -> ChatPrompt:
    """Render the pair with ``tokenizer``'s chat template and locate the reference in it.

    A leading BOS the template writes is dropped when the tokenizer adds one itself on encoding, as the
    server does with a text prompt (otherwise the model would see two).
    """
    user = [{"role": "user", "content": instruction}]
    head = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": reference}], tokenize=False)
    if not full.startswith(head):
        raise ValueError("the chat template renders the assistant turn differently from its generation prompt")
    answer = reference.strip()  # templates trim the content (Gemma's does)
    start = full.find(answer, len(head))
    if not answer or start < 0:
        raise ValueError("the reference is not found verbatim in the rendered chat")
    bos = getattr(tokenizer, "bos_token", None)
    if bos and full.startswith(bos) and _adds_bos(tokenizer):
        full, start = full[len(bos):], start - len(bos)
    return ChatPrompt(full, start, start + len(answer))


def _adds_bos(tokenizer: Any) -> bool:
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and ids[0] == getattr(tokenizer, "bos_token_id", None)


def load_tokenizer(path: Path | str) -> Any:
    """A local tokenizer folder with a chat template (e.g. ~/.cache/kazarena/models/gemma-3-270m)."""
    from transformers import AutoTokenizer  # heavy: only when the loss is asked for

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ValueError(f"--tokenizer {path}: no such folder")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"--tokenizer {path}: the tokenizer has no chat template")
    return tokenizer


@dataclass(frozen=True)
class ItemLoss:
    """Summed ``-logprob`` of one reference's tokens and how many there were."""

    nll: float
    tokens: int

    @property
    def per_token(self) -> float:
        return self.nll / self.tokens


def response_loss(echoed: EchoedPrompt, prompt: ChatPrompt) -> ItemLoss:
    """The reference's tokens in one echoed prompt and their summed negative log-probability.

    ``text_offset`` counts characters of the joined returned tokens, which may start with special tokens
    the server added (a ``<bos>``); that lead is measured by finding the prompt in the joined tokens.
    Without ``tokens`` (some servers) the offsets are taken as offsets into the prompt.
    """
    lps, offsets = echoed.token_logprobs, echoed.text_offset
    if len(lps) != len(offsets):
        raise ValueError("token_logprobs and text_offset differ in length")
    if any(b < a for a, b in zip(offsets, offsets[1:], strict=False)):
        raise ValueError("text_offset is not monotone: the server's offsets cannot be used")
    lead = 0
    if echoed.tokens:
        joined = "".join(echoed.tokens)
        lead = joined.find(prompt.text[:32])
        if lead < 0:
            raise ValueError("the returned tokens do not spell the prompt")
        if joined[lead + prompt.ref_start : lead + prompt.ref_end] != prompt.text[prompt.ref_start : prompt.ref_end]:
            raise ValueError("the returned tokens do not spell the reference where expected (undecodable bytes?)")
    start, end = prompt.ref_start + lead, prompt.ref_end + lead
    first = max((i for i, off in enumerate(offsets) if off <= start), default=0)
    if first == 0:
        raise ValueError("the reference would include the first token, which has no log-probability")
    picked = [lp for lp, off in zip(lps[first:], offsets[first:], strict=True) if off < end]
    if not picked or any(lp is None for lp in picked):
        raise ValueError("the server returned no log-probability for the reference")
    return ItemLoss(-float(sum(picked)), len(picked))  # type: ignore[arg-type]


def heldout_losses(client: Any, model: str, prompts: Sequence[ChatPrompt], *, batch_size: int = 8,
                   concurrency: int = 4, progress: bool = False) -> list[ItemLoss | None]:
    """Each prompt's reference loss under ``model``, in order; None for an item whose tokens cannot be aligned."""
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be >= 1")

    def batch_losses(batch: Sequence[ChatPrompt]) -> list[ItemLoss | None]:
        echoed = echo_prompts(client, model, [p.text for p in batch], logprobs=0, max_tokens=1)
        out: list[ItemLoss | None] = []
        for e, p in zip(echoed, batch, strict=True):
            try:
                out.append(response_loss(e, p))
            except ValueError as exc:
                logger.warning("%s: one item's loss is left out: %s", model, exc)
                out.append(None)
        return out

    batches = [prompts[i : i + batch_size] for i in range(0, len(prompts), batch_size)]
    losses: list[ItemLoss | None] = []
    with (
        ThreadPoolExecutor(concurrency) as pool,
        tqdm(total=len(prompts), desc=f"held-out loss of {model}", unit="item", disable=not progress) as bar,
    ):
        for part in pool.map(batch_losses, batches):
            losses.extend(part)
            bar.update(len(part))
    return losses
