"""The citizens' chat over REST: the same service the Gradio Chat tab calls.

`POST /api/chat` streams server-sent events: `{"delta": "..."}` pieces, then
one final event with the stored message id, sources and language tag, then
`[DONE]`. Errors before the first token are HTTP errors (400/404/503); a
model that fails mid-stream sends an in-band `{"error": {...}}` event.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CallerDep, RuntimeDep, SessionDep
from app.api.streaming import sse_response
from app.services import chat
from app.services.chat import CONVERSATION_ID_PATTERN, Rating

router = APIRouter(prefix="/api/chat", tags=["chat"])


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str | None = Field(None, description="continue this conversation; omit to start one")
    model: str = Field(min_length=1, max_length=128)
    message: str = Field(description="the question; at most KAZARENA_MAX_PROMPT_CHARS characters")
    grounding: bool | None = Field(None, description="override the contestant's pipeline: true = BM25 grounding")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str = Field(pattern=CONVERSATION_ID_PATTERN)
    message_id: int = Field(ge=1, le=2**63 - 1)
    rating: Rating
    reason: str | None = Field(None, description="at most KAZARENA_MAX_REASON_CHARS characters")


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


@router.post("")
async def create_chat_message(req: ChatRequest, runtime: RuntimeDep, caller: CallerDep) -> Response:
    """Ask a question (starting or continuing a conversation); the answer streams as SSE.
    Limited per conversation and, looser, per IP (KAZARENA_CHAT_PER_MINUTE)."""
    turn = await chat.open_turn(runtime, conversation_id=req.conversation_id, model=req.model,
                                message=req.message, ip=caller.ip, grounding=req.grounding)

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for item in chat.stream_answer(runtime, turn):
            if isinstance(item, str):
                yield {"delta": item}
                continue
            yield {"done": True, "conversation_id": item.conversation_id, "message_id": item.message_id,
                   "model": item.model, "text": item.text, "language": item.language,
                   "finish_reason": item.finish_reason, "sources": item.sources,
                   "grounding_unavailable": item.grounding_unavailable,
                   "usage": {"prompt_tokens": item.prompt_tokens, "completion_tokens": item.completion_tokens}}

    return await sse_response(events(), headers={"X-Conversation-Id": turn.conversation_id})


@router.post("/feedback", response_model=FeedbackPublic)
def create_chat_feedback(req: FeedbackRequest, runtime: RuntimeDep, session: SessionDep) -> FeedbackPublic:
    """Thumbs up or down on one answer, with an optional reason; rating again replaces it."""
    row = chat.rate_answer(session=session, conversation_id=req.conversation_id, message_id=req.message_id,
                           rating=req.rating, reason=req.reason, max_reason=runtime.limits.reason_chars)
    return FeedbackPublic(message_id=row.id, feedback=row.feedback or 0, feedback_reason=row.feedback_reason)


@router.get("/{conversation_id}", response_model=ConversationPublic)
def read_chat_conversation(session: SessionDep,
                           conversation_id: str = Path(pattern=CONVERSATION_ID_PATTERN)) -> ConversationPublic:
    """A conversation's messages in order, with feedback, sources and language tags."""
    rows = chat.conversation(session=session, conversation_id=conversation_id)
    data = [MessagePublic.model_validate(r, from_attributes=True) for r in rows]
    return ConversationPublic(conversation_id=conversation_id, data=data, count=len(data))
