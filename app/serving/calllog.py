"""Timing, metrics and the database record of one model call, and the logged ways to make one."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from app import metrics
from app.crud import record_generation
from app.serving import client
from app.serving.manager import ModelManager, Route

log = logging.getLogger(__name__)
_pending: set[asyncio.Task[None]] = set()


@dataclass
class CallLog:
    database_url: str
    endpoint: str
    model: str
    params: dict[str, Any]
    messages: list[Any] | None = None
    prompt: str | None = None
    api_key_id: int | None = None
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    text_parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def token(self, text: str) -> None:
        if self.first_token is None and text:
            self.first_token = time.perf_counter()
        self.text_parts.append(text)

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def finish(self, status: str = "ok", error: str | None = None) -> None:
        """Record metrics now and the database row in a background thread."""
        latency_s = time.perf_counter() - self.started
        ttft = None if self.first_token is None else self.first_token - self.started
        metrics.observe(self.model, self.endpoint, status, latency_s, self.prompt_tokens, self.completion_tokens, ttft)
        row = dict(
            endpoint=self.endpoint, model=self.model, params=self.params, messages=self.messages,
            prompt=self.prompt, output="".join(self.text_parts), finish_reason=self.finish_reason,
            prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
            latency_ms=latency_s * 1000, ttft_ms=None if ttft is None else ttft * 1000,
            status=status, error=error, api_key_id=self.api_key_id,
        )
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(record_generation, self.database_url, row))
        _pending.add(task)  # keep a reference until done, and let shutdown wait for it
        task.add_done_callback(_pending.discard)


async def drain(timeout: float = 10.0) -> None:
    """Wait for database records still being written (called at shutdown)."""
    if _pending:
        await asyncio.wait(set(_pending), timeout=timeout)


# ------------------------------------------------------------------ logged calls
# Every model call our endpoints, the chat and the arena make goes through one of these four, so
# each is timed, counted and stored the same way: status "ok" when the model finished, "error" (with
# the message) when it failed, "cancelled" when the caller went away first.
@contextmanager
def recorded(call: CallLog, model: str) -> Iterator[None]:
    """Finish `call` however the block ends; a model failure leaves it as a ServiceError."""
    status, error = "cancelled", None
    try:
        yield
        status = "ok"
    except Exception as exc:
        failure = client.upstream_error(model, exc)
        status, error = "error", failure.message
        raise failure from exc
    finally:
        call.finish(status, error)


async def logged_chat(manager: ModelManager, route: Route, messages: list[dict[str, Any]], params: dict[str, Any],
                      call: CallLog) -> client.Delta:
    """One non-streamed chat answer."""
    with recorded(call, route.spec.name):
        out = await client.complete_chat(manager, route, messages, params)
        call.token(out.text)
        call.finish_reason, call.prompt_tokens, call.completion_tokens = (
            out.finish_reason, out.prompt_tokens, out.completion_tokens)
    return out


async def logged_chat_stream(manager: ModelManager, route: Route, messages: list[dict[str, Any]],
                             params: dict[str, Any], call: CallLog) -> AsyncIterator[client.Delta]:
    """A streamed chat answer, delta by delta."""
    with recorded(call, route.spec.name):
        async for d in client.stream_chat(manager, route, messages, params):
            if d.text:
                call.token(d.text)
            if d.finish_reason or d.completion_tokens:
                call.finish_reason = d.finish_reason or call.finish_reason
                call.prompt_tokens, call.completion_tokens = d.prompt_tokens, d.completion_tokens
            yield d


async def logged_proxy(manager: ModelManager, route: Route, kind: str, body: dict[str, Any],
                       call: CallLog) -> dict[str, Any]:
    """An OpenAI-compatible request passed through without streaming."""
    with recorded(call, route.spec.name):
        data = await client.proxy(manager, route, kind, body)
        usage = data.get("usage") or {}
        call.prompt_tokens, call.completion_tokens = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        choices = data.get("choices") or [{}]
        call.token(choice_text(choices[0]))
        call.finish_reason = choices[0].get("finish_reason")
    return data


async def logged_proxy_stream(manager: ModelManager, route: Route, kind: str, body: dict[str, Any],
                              call: CallLog) -> AsyncIterator[dict[str, Any]]:
    """An OpenAI-compatible stream passed through event by event, up to the upstream's [DONE]."""
    with recorded(call, route.spec.name):
        async for event in client.proxy_stream(manager, route, kind, body):
            if event is None:
                break
            choices = event.get("choices") or []
            if choices:
                call.token(choice_text(choices[0]))
                call.finish_reason = choices[0].get("finish_reason") or call.finish_reason
            if event.get("usage"):
                call.prompt_tokens = event["usage"].get("prompt_tokens", 0)
                call.completion_tokens = event["usage"].get("completion_tokens", 0)
            yield event


def choice_text(choice: dict[str, Any]) -> str:
    if "text" in choice:
        return choice.get("text") or ""
    part = choice.get("delta") or choice.get("message") or {}
    return part.get("content") or ""
