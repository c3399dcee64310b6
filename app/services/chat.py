"""Citizen chat: the one conversation flow behind the Gradio Chat tab and `/api/chat`.

A turn is opened (input checked, model resolved, history loaded from the
database, grounding applied, the question stored), then streamed; the answer
is stored with its language tag and sources only when the model finished it.
A turn whose answer failed keeps its question in the database (what citizens
asked is worth knowing) but is left out of the history the model sees next.
"""

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from app import crud
from app.errors import ServiceError
from app.runtime import Runtime
from app.services import admission, inputs
from app.serving import client
from app.serving.calllog import CallLog, logged_chat_stream
from app.serving.manager import Route
from app.serving.pipeline import Grounder, Prepared, prepare_messages
from app.serving.registry import ModelSpec
from db.models import Message
from db.session import session_scope
from eval.langid import detect_language

log = logging.getLogger(__name__)

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
_CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)
Rating = Literal["up", "down"]


@dataclass(frozen=True)
class Turn:
    conversation_id: str
    turn: int
    model: str
    route: Route
    prepared: Prepared
    params: dict[str, Any]
    user_message_id: int


@dataclass(frozen=True)
class Answer:
    conversation_id: str
    message_id: int
    model: str
    text: str
    language: str
    finish_reason: str | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    grounding_unavailable: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


def new_conversation_id() -> str:
    """A random anonymous id: nothing about the citizen is needed or stored."""
    return uuid.uuid4().hex


def validate_conversation_id(conversation_id: str) -> str:
    if not _CONVERSATION_ID.match(conversation_id):
        raise ServiceError("invalid", "invalid_conversation_id", "conversation_id must be 8-64 letters, digits, '-' or '_'")
    return conversation_id


def _with_grounding(spec: ModelSpec, grounding: bool | None) -> ModelSpec:
    """The toggle overrides the contestant's pipeline; None keeps what is configured."""
    if grounding is None:
        return spec
    return spec.model_copy(update={"pipeline": "rag" if grounding else "plain"})


def model_history(rows: list[Message], budget_chars: int, max_messages: int) -> list[dict[str, str]]:
    """Answered turns, oldest dropped first so the history fits the character budget."""
    turns: dict[int, dict[str, str]] = {}
    for row in rows:
        turns.setdefault(row.turn, {})[row.role] = row.content
    pairs = [(t["user"], t["assistant"]) for t in turns.values() if "user" in t and "assistant" in t]
    kept: list[tuple[str, str]] = []
    used = 0
    for question, answer in reversed(pairs):
        used += len(question) + len(answer)
        if used > budget_chars or 2 * (len(kept) + 1) >= max_messages:
            break
        kept.append((question, answer))
    out: list[dict[str, str]] = []
    for question, answer in reversed(kept):
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return out


def _prepare(spec: ModelSpec, messages: list[dict[str, Any]], grounder: Grounder | None) -> Prepared:
    try:
        return prepare_messages(spec, messages, grounder)
    except Exception:  # noqa: BLE001 - a broken index must not stop the answer
        log.exception("grounding failed; answering without it")
        return prepare_messages(spec, messages, None)


def _store_question(database_url: str, conversation_id: str, text: str, budget: int,
                    max_messages: int) -> tuple[int, int, list[dict[str, str]]]:
    with session_scope(database_url) as s:
        rows = crud.chat_messages(session=s, conversation_id=conversation_id)
        history = model_history(rows, budget, max_messages)
        turn = crud.next_chat_turn(session=s, conversation_id=conversation_id)
        row = crud.add_chat_message(session=s, conversation_id=conversation_id, turn=turn, role="user",
                                    content=text, language=detect_language(text))
        return row.id, turn, history


async def open_turn(runtime: Runtime, *, conversation_id: str | None, model: str, message: str | None,
                    ip: str, grounding: bool | None = None) -> Turn:
    """Check the input and the rate limit, resolve the model, store the question; raises ServiceError
    before anything is stored when the input is bad, the caller over the limit or the model unknown or down.

    Citizens are anonymous, so the per-person limit counts per conversation; starting a new conversation
    for every question only meets the (looser) per-IP limit sooner.
    """
    limits = runtime.limits
    text = inputs.text("message", message, limits.prompt_chars, strip=True)
    cid = validate_conversation_id(conversation_id) if conversation_id else new_conversation_id()
    admission.count(runtime.rate_limits.chat, f"conversation:{cid}", ip)
    route = runtime.manager.resolve(model)
    budget = limits.prompt_chars - len(text)
    user_id, turn, history = await asyncio.to_thread(
        _store_question, runtime.database_url, cid, text, budget, limits.messages)
    spec = _with_grounding(route.spec, grounding)
    prepared = await asyncio.to_thread(_prepare, spec, [*history, {"role": "user", "content": text}], runtime.grounder)
    return Turn(cid, turn, model, route, prepared, client.sampling_params(route, {}), user_id)


def _store_answer(database_url: str, turn: Turn, text: str, language: str) -> int:
    with session_scope(database_url) as s:
        row = crud.add_chat_message(session=s, conversation_id=turn.conversation_id, turn=turn.turn,
                                    role="assistant", content=text, model=turn.model, language=language,
                                    sources=turn.prepared.sources)
        return row.id


async def stream_answer(runtime: Runtime, turn: Turn) -> AsyncIterator[str | Answer]:
    """Yield the answer's text deltas, then the stored Answer. Model failures are raised as ServiceError."""
    call = CallLog(runtime.database_url, "chat", turn.model, turn.params, messages=turn.prepared.messages)
    async for d in logged_chat_stream(runtime.manager, turn.route, turn.prepared.messages, turn.params, call):
        if d.text:
            yield d.text
    text = "".join(call.text_parts)
    language = detect_language(text)
    message_id = await asyncio.to_thread(_store_answer, runtime.database_url, turn, text, language)
    yield Answer(turn.conversation_id, message_id, turn.model, text, language, call.finish_reason,
                 turn.prepared.sources, turn.prepared.grounding_unavailable,
                 call.prompt_tokens, call.completion_tokens)


def rate_answer(*, session: Session, conversation_id: str, message_id: int, rating: Rating,
                reason: str | None = None, max_reason: int) -> Message:
    """Store thumbs up/down (and an optional reason) on one answer of the caller's conversation."""
    if rating not in ("up", "down"):
        raise ServiceError("invalid", "invalid_rating", "rating must be 'up' or 'down'")
    reason = inputs.text("reason", reason, max_reason, required=False, strip=True) or None
    row = crud.chat_message(session=session, message_id=message_id, conversation_id=conversation_id)
    if row is None:
        raise ServiceError("not_found", "not_found", f"no message {message_id} in conversation {conversation_id!r}")
    if row.role != "assistant":
        raise ServiceError("invalid", "not_an_answer", "only the model's answers can be rated")
    row.feedback = 1 if rating == "up" else -1
    if reason is not None:
        row.feedback_reason = reason
    return row


def conversation(*, session: Session, conversation_id: str) -> list[Message]:
    rows = crud.chat_messages(session=session, conversation_id=conversation_id)
    if not rows:
        raise ServiceError("not_found", "not_found", f"no conversation {conversation_id!r}")
    return rows
