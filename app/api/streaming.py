"""Server-sent events that stop the upstream request when the client goes away."""

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Send

from app.api.errors import ApiError


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

    @classmethod
    async def start(cls, gen: AsyncIterator[bytes]) -> "ClosingStreamingResponse":
        """Pull the first event before answering, so errors that happen before any
        token (model down, request rejected) still get a proper HTTP status."""
        try:
            first = await anext(gen)
        except StopAsyncIteration:
            first = b""
        except ApiError:
            await gen.aclose()  # type: ignore[attr-defined]
            raise

        async def chained() -> AsyncIterator[bytes]:
            try:
                if first:
                    yield first
                async for chunk in gen:
                    yield chunk
            finally:
                await gen.aclose()  # type: ignore[attr-defined]

        return cls(chained(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
