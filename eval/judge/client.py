"""The judge's connection: which model at which endpoint, retries, and what it costs.

The judge speaks the OpenAI API through the ``openai`` package, to GPT-4o or to any
OpenAI-compatible server (vLLM). Everything is passed in explicitly (``JudgeConfig``);
the app builds the config from its settings, this package never reads them.

Transport errors that may pass (429, 5xx, 408/409, timeouts, refused connections)
are retried with exponential backoff, honouring ``Retry-After``; other errors are not.
The ``openai`` client's own retries are switched off so the count here is the count.

Structured output: vLLM 0.32 constrains the reply with
``extra_body={"structured_outputs": {"choice": [...]}}``; the older ``guided_choice``
field is accepted but silently ignored there (both tried against the dev server).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

import openai
from openai import AsyncOpenAI

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "OFFICIAL_OPENAI_URL",
    "PRICES_PER_MILLION",
    "JudgeConfig",
    "Reply",
    "chat",
    "make_client",
]

OFFICIAL_OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o"
VERDICT_CHOICES = ("0", "1", "2")
# USD per million tokens (input, output): OpenAI's list prices for standard requests.
# A dated snapshot not listed here is priced as its family (the longest matching prefix).
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
_RETRY_STATUS = {408, 409, 429}


@dataclass(frozen=True)
class JudgeConfig:
    """One judge: ``model`` at ``base_url``, and how to talk to it.

    ``max_retries``: extra tries after a transport error (429/5xx/timeouts);
    ``parse_retries``: extra asks when a reply holds no verdict; ``structured``:
    ask a vLLM server to answer with exactly one of 0/1/2 (its ``structured_outputs``
    choice), which official OpenAI endpoints do not accept.
    """

    base_url: str
    model: str
    api_key: str = "EMPTY"
    concurrency: int = 4
    max_retries: int = 5
    parse_retries: int = 1
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 120.0
    max_tokens: int = 64
    structured: bool = False

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"judge base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.model.strip():
            raise ValueError("judge model name is empty")
        for name in ("concurrency", "max_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_retries", "parse_retries", "backoff_s", "max_backoff_s", "timeout_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def is_official_openai(self) -> bool:
        return (urlparse(self.base_url).hostname or "") == "api.openai.com"

    @property
    def is_local(self) -> bool:
        return (urlparse(self.base_url).hostname or "") in _LOCAL_HOSTS

    @property
    def is_gpt4o(self) -> bool:
        return self.model == "gpt-4o" or (self.model.startswith("gpt-4o-") and "mini" not in self.model)

    def describe(self) -> str:
        """Which judge this is, in words; says so when it is not GPT-4o."""
        text = f"{self.model} at {self.base_url}"
        if not self.is_gpt4o:
            kind = "a small local judge" if self.is_local else "this judge"
            text += f" ({kind}, not GPT-4o: its verdicts are not comparable with GPT-4o's)"
        return text

    def price(self) -> tuple[float, float] | None:
        """(input, output) USD per million tokens; zero for a local server, None if unknown."""
        if self.is_local:
            return (0.0, 0.0)
        names = [n for n in PRICES_PER_MILLION if self.model == n or self.model.startswith(n + "-")]
        return PRICES_PER_MILLION[max(names, key=len)] if names else None

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.price()
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000

    def generation_settings(self) -> dict[str, Any]:
        """What besides the prompt decides the reply (part of the cache key)."""
        return {"temperature": 0, "max_tokens": self.max_tokens, "structured": self.structured}

    def public(self) -> dict[str, Any]:
        """The config without the API key, for reports."""
        data = asdict(self)
        data.pop("api_key")
        return data


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    requests: int  # HTTP requests it took, retries included


def make_client(config: JudgeConfig) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=config.base_url, api_key=config.api_key or "EMPTY",
                       timeout=config.timeout_s, max_retries=0)


def _retryable(error: Exception) -> bool:
    if isinstance(error, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
        return True  # APITimeoutError is an APIConnectionError
    return isinstance(error, openai.APIStatusError) and (error.status_code in _RETRY_STATUS or error.status_code >= 500)


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the exponential delay is good enough


async def chat(client: AsyncOpenAI, config: JudgeConfig, messages: list[dict[str, str]]) -> Reply:
    """One chat completion at temperature 0, retried on transient errors.

    Raises the last ``openai`` error when the retries are used up, and at once on
    errors that a retry cannot fix (400, 401, 404 ...).
    """
    extra: dict[str, Any] = {}
    if config.structured:
        extra["extra_body"] = {"structured_outputs": {"choice": list(VERDICT_CHOICES)}}
    for attempt in range(config.max_retries + 1):
        try:
            response = await client.chat.completions.create(
                model=config.model, messages=messages, temperature=0, max_tokens=config.max_tokens,  # type: ignore[arg-type]
                **extra,
            )
        except openai.OpenAIError as error:
            if not _retryable(error) or attempt == config.max_retries:
                raise
            delay = min(config.backoff_s * 2**attempt, config.max_backoff_s)
            delay = min(max(delay, _retry_after(error) or 0.0), config.max_backoff_s)
            logger.warning("judge call failed (%s); retry %d/%d in %.2fs", type(error).__name__,
                           attempt + 1, config.max_retries, delay)
            await asyncio.sleep(delay)
            continue
        usage = response.usage
        text = response.choices[0].message.content if response.choices else ""
        return Reply(text=text or "", prompt_tokens=usage.prompt_tokens if usage else 0,
                     completion_tokens=usage.completion_tokens if usage else 0, requests=attempt + 1)
    raise AssertionError("unreachable")  # the loop returns or raises
