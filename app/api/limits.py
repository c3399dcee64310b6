"""Refuse oversized bodies before the app reads them, and JSON text no database or model should see.

A JSON body whose strings hold a NUL character or a lone UTF-16 surrogate (`"\\ud800"` is valid
JSON but not text) is refused with 400 `invalid_text` naming the field, on every route, so nothing
like it is stored, exported or sent to a model (where it used to surface as a 503).
"""

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response

_NO_BODY = {"GET", "HEAD", "OPTIONS", "DELETE"}


def bad_text(value: Any, path: str = "body") -> str | None:
    """Where `value` holds text that is not text (NUL, lone surrogate), as "field: what"; None when clean."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"{path}: contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path}: contains an unpaired UTF-16 surrogate (not valid Unicode text)"
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)  # type: ignore[assignment]
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and (problem := bad_text(key, f"{path} key")):
            return problem
        if problem := bad_text(item, f"{key}" if path == "body" else f"{path}.{key}"):
            return problem
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in _NO_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send, 413, "body_too_large",
                               f"request body is larger than {self.max_bytes} bytes")
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send, 413, "body_too_large",
                                   f"request body is larger than {self.max_bytes} bytes")
                return
            more = message.get("more_body", False)
        if b"json" in headers.get(b"content-type", b"") and (b"\\u" in body or b"\x00" in body):
            try:
                problem = bad_text(json.loads(body))
            except ValueError:  # not JSON, or not UTF-8: the app says so in its own words
                problem = None
            if problem:
                await self._refuse(scope, receive, send, 400, "invalid_text", problem)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
        await error_response(status, code, message)(scope, receive, send)
