"""Timing, metrics and the database record of one model call."""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from app import metrics
from app.crud import record_generation

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
