"""Conversational evaluation: two models continue the same unfinished dialogues; the judge picks.

A task is a Kazakh dialogue in OpenAI message format that ends on a user turn
(the ``conversation_tasks`` table, or JSONL ``{id, topic, messages}``). Each
model writes the next assistant turn at temperature 0; the judge compares the
two turns with the dialogue in view (the arena's content prompt, both orders)
and the results are reported per topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.jsonl import iter_jsonl
from db.models import ConversationTask
from eval.generation import chat_answers
from eval.judge import DIMENSION_TEMPLATES, PairItem
from eval.preference import PairJudge, Preference, preference_by_topic

JUDGE_DIMENSION = "content"


@dataclass(frozen=True)
class Dialogue:
    id: str
    topic: str | None
    messages: tuple[dict[str, str], ...]  # ends with the user turn to answer


def make_dialogue(task_id: str, topic: str | None, messages: Any, where: str) -> Dialogue:
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where}: 'messages' must be a non-empty list")
    clean = []
    for k, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in {"system", "user", "assistant"}:
            raise ValueError(f"{where}: message {k} needs a role of system, user or assistant")
        if not isinstance(m.get("content"), str):
            raise ValueError(f"{where}: message {k} needs text content")
        clean.append({"role": m["role"], "content": m["content"]})
    if clean[-1]["role"] != "user":
        raise ValueError(f"{where}: the dialogue must end on a user turn for the models to continue")
    return Dialogue(str(task_id), topic, tuple(clean))


def load_dialogues(path: Path | str, *, limit: int | None = None) -> list[Dialogue]:
    """Tasks from JSONL ``{id, topic, messages}``."""
    out = []
    for lineno, row in iter_jsonl(path):
        if "id" not in row:
            raise ValueError(f"{path}:{lineno}: missing field 'id'")
        out.append(make_dialogue(row["id"], row.get("topic"), row.get("messages"), f"{path}:{lineno}"))
    if not out:
        raise ValueError(f"{path}: no dialogues")
    return out[:limit] if limit is not None else out


def load_dialogues_from_db(session: Session, *, limit: int | None = None) -> list[Dialogue]:
    """Tasks from the ``conversation_tasks`` table, in id order."""
    query = select(ConversationTask).order_by(ConversationTask.id)
    if limit is not None:
        query = query.limit(limit)
    rows = session.scalars(query).all()
    return [make_dialogue(r.id, r.topic, r.messages, f"conversation_tasks {r.id}") for r in rows]


def continue_dialogues(client: Any, model: str, dialogues: Sequence[Dialogue], **kwargs: Any) -> list[str]:
    """``model``'s next turn in each dialogue (``chat_answers`` options apply)."""
    return chat_answers(client, model, [list(d.messages) for d in dialogues], **kwargs)


def judge_dialogues(
    dialogues: Sequence[Dialogue],
    answers_a: Sequence[str],
    answers_b: Sequence[str],
    model_a: str,
    model_b: str,
    judge: PairJudge,
    *,
    level: float = 0.95,
) -> tuple[list[Preference], list[str]]:
    """Judge preference of ``model_a``'s continuations over ``model_b``'s: (overall + per topic, verdicts)."""
    if not len(dialogues) == len(answers_a) == len(answers_b):
        raise ValueError("need one answer of each model per dialogue")
    pairs = [
        PairItem(
            id=d.id, template=DIMENSION_TEMPLATES[JUDGE_DIMENSION],
            context={"conversation": [m for m in d.messages if m["role"] != "system"]},
            answer_a=a, answer_b=b, model_a=model_a, model_b=model_b, dimension=JUDGE_DIMENSION, topic=d.topic,
        )
        for d, a, b in zip(dialogues, answers_a, answers_b, strict=True)
    ]
    verdicts = judge(pairs)
    if len(verdicts) != len(pairs):
        raise RuntimeError(f"the judge returned {len(verdicts)} verdicts for {len(pairs)} pairs")
    return preference_by_topic(verdicts, [d.topic for d in dialogues], model_a, model_b, level=level), verdicts
