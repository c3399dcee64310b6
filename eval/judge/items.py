"""What gets judged: IFT test items with a reference answer, and arena battles.

``judge_items`` is the entry point for generation evaluation: rows
``{id, instruction, reference, answer_a, answer_b, model_a, model_b, topic}`` are
judged with the seed paper's reference-guided prompt. Arena battles (LMArena rows
with ``conversation_a``/``conversation_b``) become one pair per dimension, judged
with the reference-free prompts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eval.judge.cache import JudgeCache
from eval.judge.client import JudgeConfig
from eval.judge.pairwise import JudgeRun, PairItem, judge_pairs

logger = logging.getLogger(__name__)

__all__ = ["DIMENSION_TEMPLATES", "REFERENCE_TEMPLATE", "items_from_battles", "items_from_ift", "judge_items",
           "split_conversations"]

REFERENCE_TEMPLATE = "reference_v2"
DIMENSION_TEMPLATES = {"content": "arena_content_v2", "language": "arena_language_v2"}
IFT_KEYS = ("id", "instruction", "reference", "answer_a", "answer_b", "model_a", "model_b")


def items_from_ift(rows: Iterable[Mapping[str, Any]], *, template: str = REFERENCE_TEMPLATE) -> list[PairItem]:
    """One reference-guided pair per row; ValueError names the first row that lacks a key."""
    items = []
    for i, row in enumerate(rows):
        missing = [k for k in IFT_KEYS if k not in row or row[k] is None]
        if missing:
            raise ValueError(f"item #{i} ({row.get('id', '?')}) lacks {missing}; rows need {list(IFT_KEYS)}")
        items.append(PairItem(
            id=str(row["id"]), template=template,
            context={"instruction": str(row["instruction"]), "reference": str(row["reference"])},
            answer_a=str(row["answer_a"]), answer_b=str(row["answer_b"]),
            model_a=str(row["model_a"]), model_b=str(row["model_b"]),
            dimension="reference", topic=row.get("topic"),
        ))
    if not items:
        raise ValueError("no items to judge")
    return items


def judge_items(
    rows: Iterable[Mapping[str, Any]],
    config: JudgeConfig,
    *,
    cache: JudgeCache | None = None,
    template: str = REFERENCE_TEMPLATE,
    progress: bool = True,
) -> JudgeRun:
    """Judge IFT test items against their references, each in both orders.

    rows: ``{id, instruction, reference, answer_a, answer_b, model_a, model_b, topic}``
    (topic optional). Returns the verdicts in row order and the run's summary.
    """
    return judge_pairs(items_from_ift(rows, template=template), config, cache=cache, progress=progress)


def _messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    if value is None or isinstance(value, Mapping) or not hasattr(value, "__iter__"):
        raise ValueError("a conversation must be a list of {role, content} messages")
    out = []
    for m in value:
        if not isinstance(m, Mapping) or "role" not in m:
            raise ValueError("a conversation must be a list of {role, content} messages")
        content = m.get("content")
        if not isinstance(content, str):  # OpenAI content parts
            content = "".join(str(p.get("text", "")) for p in (content or []) if isinstance(p, Mapping))
        out.append({"role": str(m["role"]), "content": content})
    return out


def split_conversations(conversation_a: Any, conversation_b: Any) -> tuple[list[dict[str, Any]], str, str]:
    """(shared context, answer a, answer b) from the two sides of a battle.

    The context is the messages both sides share from the start (system prompts
    left out: they may differ per contestant and are not the user's question); each
    answer is what follows on its side: the assistant's text when it is one message,
    otherwise the turns written out as ``role: text``.
    """
    a = [m for m in _messages(conversation_a) if m["role"] != "system"]
    b = [m for m in _messages(conversation_b) if m["role"] != "system"]
    shared = 0
    while shared < min(len(a), len(b)) and a[shared] == b[shared]:
        shared += 1
    # an identical final answer on both sides is still an answer, not context
    while shared and (shared == len(a) or shared == len(b)) and a[shared - 1]["role"] == "assistant":
        shared -= 1

    def answer(rest: list[dict[str, Any]]) -> str:
        if len(rest) == 1 and rest[0]["role"] == "assistant":
            return str(rest[0]["content"])
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in rest)

    rest_a, rest_b = a[shared:], b[shared:]
    if not any(m["role"] == "assistant" for m in rest_a) or not any(m["role"] == "assistant" for m in rest_b):
        raise ValueError("a side has no assistant answer to judge")
    return a[:shared], answer(rest_a), answer(rest_b)


def _row_id(row: Mapping[str, Any]) -> str:
    for key in ("battle_id", "question_id", "id"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    raise ValueError("a battle row needs a battle_id, question_id or id")


def items_from_battles(
    rows: Iterable[Mapping[str, Any]], dimensions: Sequence[str] = ("content", "language")
) -> tuple[list[PairItem], list[str]]:
    """Pairs to judge (one per battle and dimension) and the reasons rows were skipped."""
    unknown = [d for d in dimensions if d not in DIMENSION_TEMPLATES]
    if unknown or not dimensions:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {', '.join(DIMENSION_TEMPLATES)}")
    items: list[PairItem] = []
    skipped: list[str] = []
    for i, row in enumerate(rows):
        try:
            row_id = _row_id(row)
            context, answer_a, answer_b = split_conversations(row.get("conversation_a"), row.get("conversation_b"))
        except (ValueError, TypeError) as error:
            skipped.append(f"row {i}: {error}")
            continue
        topic = row.get("topic")
        for dimension in dimensions:
            items.append(PairItem(
                id=row_id, template=DIMENSION_TEMPLATES[dimension], context={"conversation": context},
                answer_a=answer_a, answer_b=answer_b, model_a=str(row.get("model_a", "")),
                model_b=str(row.get("model_b", "")), dimension=dimension,
                topic=None if topic is None or topic != topic else str(topic),  # NaN from pandas
                battle_id=str(row["battle_id"]) if row.get("battle_id") not in (None, "") else None,
            ))
    if skipped:
        logger.warning("skipped %d battle rows that cannot be judged, e.g. %s", len(skipped), skipped[0])
    return items, skipped
