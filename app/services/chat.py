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

from app import crud
from app.serving import client
from app.serving.calllog import CallLog
from app.serving.manager import ModelManager, Route
from app.serving.pipeline import Grounder, Prepared, prepare_messages
from app.serving.registry import ModelSpec
from app.settings import Settings
from db.models import Message
from db.session import session_scope
from eval.langid import detect_language

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 1000
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
_CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)
Rating = Literal["up", "down"]


class ChatInputError(ValueError):
    """Bad input from the citizen; `code` lets the UI say it in the chosen language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class ChatNotFound(LookupError):
    pass


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


def validate_message(text: str | None, max_chars: int) -> str:
    text = (text or "").strip()
    if not text:
        raise ChatInputError("empty_message", "the message is empty; write a question")
    if len(text) > max_chars:
        raise ChatInputError("message_too_long", f"the message has {len(text)} characters; the limit is {max_chars}")
    return text


def validate_conversation_id(conversation_id: str) -> str:
    if not _CONVERSATION_ID.match(conversation_id):
        raise ChatInputError("invalid_conversation_id", "conversation_id must be 8-64 letters, digits, '-' or '_'")
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


async def open_turn(*, manager: ModelManager, settings: Settings, grounder: Grounder | None,
                    conversation_id: str | None, model: str, message: str | None,
                    grounding: bool | None = None) -> Turn:
    """Check the input, resolve the model, store the question; raises before anything is stored
    when the input is bad (ChatInputError) or the model unknown or down (ModelNotFound/Unavailable)."""
    text = validate_message(message, settings.max_prompt_chars)
    cid = validate_conversation_id(conversation_id) if conversation_id else new_conversation_id()
    route = manager.resolve(model)
    budget = settings.max_prompt_chars - len(text)
    user_id, turn, history = await asyncio.to_thread(
        _store_question, settings.database_url, cid, text, budget, settings.max_messages)
    spec = _with_grounding(route.spec, grounding)
    prepared = await asyncio.to_thread(_prepare, spec, [*history, {"role": "user", "content": text}], grounder)
    return Turn(cid, turn, model, route, prepared, client.sampling_params(route, {}), user_id)


def _store_answer(database_url: str, turn: Turn, text: str, language: str) -> int:
    with session_scope(database_url) as s:
        row = crud.add_chat_message(session=s, conversation_id=turn.conversation_id, turn=turn.turn,
                                    role="assistant", content=text, model=turn.model, language=language,
                                    sources=turn.prepared.sources)
        return row.id


async def stream_answer(*, manager: ModelManager, settings: Settings, turn: Turn) -> AsyncIterator[str | Answer]:
    """Yield the answer's text deltas, then the stored Answer. Model errors propagate."""
    call = CallLog(settings.database_url, "chat", turn.model, turn.params, messages=turn.prepared.messages)
    status, error = "cancelled", None
    try:
        async for d in client.stream_chat(manager, turn.route, turn.prepared.messages, turn.params):
            if d.text:
                call.token(d.text)
                yield d.text
            if d.finish_reason or d.completion_tokens:
                call.finish_reason, call.prompt_tokens, call.completion_tokens = (
                    d.finish_reason, d.prompt_tokens, d.completion_tokens)
        text = "".join(call.text_parts)
        language = detect_language(text)
        message_id = await asyncio.to_thread(_store_answer, settings.database_url, turn, text, language)
        status = "ok"
        yield Answer(turn.conversation_id, message_id, turn.model, text, language, call.finish_reason,
                     turn.prepared.sources, turn.prepared.grounding_unavailable,
                     call.prompt_tokens, call.completion_tokens)
    except Exception as exc:
        status, error = "error", str(exc)
        raise
    finally:
        call.finish(status, error)


def rate_answer(*, database_url: str, conversation_id: str, message_id: int, rating: Rating,
                reason: str | None = None) -> Message:
    """Store thumbs up/down (and an optional reason) on one answer of the caller's conversation."""
    if rating not in ("up", "down"):
        raise ChatInputError("invalid_rating", "rating must be 'up' or 'down'")
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_REASON_CHARS:
        raise ChatInputError("reason_too_long", f"the reason has {len(reason)} characters; the limit is {MAX_REASON_CHARS}")
    with session_scope(database_url) as s:
        row = crud.chat_message(session=s, message_id=message_id, conversation_id=conversation_id)
        if row is None:
            raise ChatNotFound(f"no message {message_id} in conversation {conversation_id!r}")
        if row.role != "assistant":
            raise ChatInputError("not_an_answer", "only the model's answers can be rated")
        row.feedback = 1 if rating == "up" else -1
        if reason is not None:
            row.feedback_reason = reason
        return row


def conversation(*, database_url: str, conversation_id: str) -> list[Message]:
    with session_scope(database_url) as s:
        rows = crud.chat_messages(session=s, conversation_id=conversation_id)
    if not rows:
        raise ChatNotFound(f"no conversation {conversation_id!r}")
    return rows
