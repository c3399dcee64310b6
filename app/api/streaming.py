"""The one SSE responder: events as server-sent events, errors as HTTP statuses or in-band.

An error before the first event is a real HTTP error (the status line is not
sent yet); after it, the error is sent in-band as `{"error": {...}}`, as OpenAI
does, and the stream ends. A client that goes away closes the generator, which
cancels the model call behind it at once.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Send

from app.api.errors import error_body
from app.errors import ServiceError

DONE = b"data: [DONE]\n\n"


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


class ClosingStreamingResponse(StreamingResponse):
    """Always closes its generator, so a disconnect cancels the upstream call at once."""

    body_iterator: AsyncIterator[bytes]

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


async def sse_response(events: AsyncIterator[dict[str, Any]], *, headers: dict[str, str] | None = None,
                       done: bool = True) -> ClosingStreamingResponse:
    """Answer with `events` as SSE (then `[DONE]` when `done`). The first event is pulled before answering,
    so a refusal that comes before any output (model down, request rejected) keeps its HTTP status."""

    async def body() -> AsyncIterator[bytes]:
        sent = False
        try:
            async for event in events:
                sent = True
                yield sse(event)
        except ServiceError as exc:
            if not sent:
                raise
            yield sse(error_body(exc.code, exc.message))
            return
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        if done:
            yield DONE

    stream = body()
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = b""
    except ServiceError:
        await stream.aclose()
        raise

    async def chained() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()

    return ClosingStreamingResponse(chained(), media_type="text/event-stream",
                                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})
