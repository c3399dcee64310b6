"""The citizens' chat over REST: the same service the Gradio Chat tab calls.

`POST /api/chat` streams server-sent events: `{"delta": "..."}` pieces, then
one final event with the stored message id, sources and language tag, then
`[DONE]`. Errors before the first token are HTTP errors (400/404/503); a
model that fails mid-stream sends an in-band `{"error": {...}}` event.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ManagerDep, SettingsDep
from app.api.errors import ApiError, error_body, upstream_error
from app.api.streaming import ClosingStreamingResponse, sse
from app.services import chat
from app.services.chat import CONVERSATION_ID_PATTERN, MAX_REASON_CHARS, Rating

router = APIRouter(prefix="/api/chat", tags=["chat"])


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str | None = Field(None, description="continue this conversation; omit to start one")
    model: str = Field(min_length=1, max_length=128)
    message: str = Field(max_length=200_000)  # the real limit is settings.max_prompt_chars
    grounding: bool | None = Field(None, description="override the contestant's pipeline: true = BM25 grounding")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str = Field(pattern=CONVERSATION_ID_PATTERN)
    message_id: int = Field(ge=1)
    rating: Rating
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS)


class FeedbackPublic(BaseModel):
    message_id: int
    feedback: int
    feedback_reason: str | None


class MessagePublic(BaseModel):
    id: int
    turn: int
    role: str
    content: str
    model: str | None
    language: str | None
    feedback: int | None
    feedback_reason: str | None
    sources: list[dict[str, Any]] | None
    created_at: datetime


class ConversationPublic(BaseModel):
    conversation_id: str
    data: list[MessagePublic]
    count: int


def _input_error(exc: chat.ChatInputError) -> ApiError:
    return ApiError(400, exc.code, exc.message)


@router.post("")
async def create_chat_message(req: ChatRequest, request: Request, manager: ManagerDep,
                              settings: SettingsDep) -> Response:
    """Ask a question (starting or continuing a conversation); the answer streams as SSE."""
    try:
        turn = await chat.open_turn(manager=manager, settings=settings, grounder=request.app.state.grounder,
                                    conversation_id=req.conversation_id, model=req.model,
                                    message=req.message, grounding=req.grounding)
    except chat.ChatInputError as exc:
        raise _input_error(exc) from exc

    async def events() -> AsyncIterator[bytes]:
        started = False
        try:
            async for item in chat.stream_answer(manager=manager, settings=settings, turn=turn):
                started = True
                if isinstance(item, str):
                    yield sse({"delta": item})
                    continue
                yield sse({"done": True, "conversation_id": item.conversation_id, "message_id": item.message_id,
                           "model": item.model, "text": item.text, "language": item.language,
                           "finish_reason": item.finish_reason, "sources": item.sources,
                           "grounding_unavailable": item.grounding_unavailable,
                           "usage": {"prompt_tokens": item.prompt_tokens,
                                     "completion_tokens": item.completion_tokens}})
            yield b"data: [DONE]\n\n"
        except Exception as exc:
            err = upstream_error(req.model, exc)
            if not started:
                raise err from exc  # nothing sent yet: a real HTTP error status
            yield sse(error_body(err.code, err.message))

    response = await ClosingStreamingResponse.start(events())
    response.headers["X-Conversation-Id"] = turn.conversation_id
    return response


@router.post("/feedback", response_model=FeedbackPublic)
def create_chat_feedback(req: FeedbackRequest, settings: SettingsDep) -> FeedbackPublic:
    """Thumbs up or down on one answer, with an optional reason; rating again replaces it."""
    try:
        row = chat.rate_answer(database_url=settings.database_url, conversation_id=req.conversation_id,
                               message_id=req.message_id, rating=req.rating, reason=req.reason)
    except chat.ChatInputError as exc:
        raise _input_error(exc) from exc
    except chat.ChatNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    return FeedbackPublic(message_id=row.id, feedback=row.feedback or 0, feedback_reason=row.feedback_reason)


@router.get("/{conversation_id}", response_model=ConversationPublic)
def read_chat_conversation(settings: SettingsDep,
                           conversation_id: str = Path(pattern=CONVERSATION_ID_PATTERN)) -> ConversationPublic:
    """A conversation's messages in order, with feedback, sources and language tags."""
    try:
        rows = chat.conversation(database_url=settings.database_url, conversation_id=conversation_id)
    except chat.ChatNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    data = [MessagePublic.model_validate(r, from_attributes=True) for r in rows]
    return ConversationPublic(conversation_id=conversation_id, data=data, count=len(data))

