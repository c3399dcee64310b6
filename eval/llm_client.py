"""One client for every OpenAI-compatible endpoint that eval/ and train/ call out to.

The judge (``eval.judge``) and data generation (``train.generate``) share the endpoint
and its checks, prices and cost, the ``openai`` client, and one chat call that retries
transport errors that may pass (429, 5xx, 408/409, timeouts, refused connections) with
exponential backoff, honouring ``Retry-After``; other errors (400, 401, 404 ...) are
raised at once. The ``openai`` client's own retries are off, so the count here is the
count. It lives in eval/ because train/ may import eval/, not the other way round.

``resolve_endpoint`` is the one rule for which endpoint, model and key a caller gets
(see its docstring); it reads nothing from the process environment itself: the CLI
passes ``os.environ`` (and the settings) in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import openai
from openai import AsyncOpenAI

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_OPENAI_MODEL", "OFFICIAL_OPENAI_URL", "OPENAI_KEY_VAR", "PRICES_PER_MILLION", "EndpointChoice",
           "LLMEndpoint", "Reply", "Tally", "chat", "is_openai_url", "make_client", "resolve_endpoint"]

OFFICIAL_OPENAI_URL = "https://api.openai.com/v1"
OPENAI_HOST = "api.openai.com"
OPENAI_KEY_VAR = "OPENAI_API_KEY"  # the only environment variable the resolver looks up
DEFAULT_OPENAI_MODEL = "gpt-4o"
# USD per million tokens (input, output): OpenAI's list prices for standard requests.
# A dated snapshot not listed here is priced as its family (the longest matching prefix).
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00), "gpt-4o-2024-05-13": (5.00, 15.00), "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00), "gpt-4.1-mini": (0.40, 1.60), "gpt-4.1-nano": (0.10, 0.40),
}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
_RETRY_STATUS = {408, 409, 429}


def is_openai_url(base_url: str) -> bool:
    """True when ``base_url`` is on OpenAI's API host, the one place OPENAI_API_KEY is sent."""
    return (urlparse(base_url).hostname or "").lower() == OPENAI_HOST


@dataclass(frozen=True)
class EndpointChoice:
    """What ``resolve_endpoint`` decided: ``model`` at ``base_url``, called with ``api_key``."""

    base_url: str
    model: str
    api_key: str


def resolve_endpoint(
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    *,
    env: Mapping[str, str],
    server_key: str | None = None,
    local_base_url: str | None = None,
    local_model: Callable[[], str] | None = None,
    model_name: str = "model (--model)",
) -> EndpointChoice:
    """The endpoint, model and key to call: the one rule for the judge and the generators.

    Empty strings count as not given. ``env`` is the environment to read
    OPENAI_API_KEY from (the CLI passes ``os.environ``).

    1. base_url: the given one; else OpenAI's API when ``env`` has OPENAI_API_KEY;
       else ``local_base_url`` (the judge: kazarena's own /v1); else ValueError.
    2. model: the given one; else gpt-4o at OpenAI; else ``local_model()`` at the
       local fallback; else ValueError naming ``model_name``.
    3. api_key: the given one, sent wherever base_url points (an explicit choice,
       e.g. ``--api-key`` or KAZARENA_JUDGE_API_KEY); else, at api.openai.com,
       OPENAI_API_KEY; else, at any other server, ``server_key`` (e.g.
       KAZARENA_GENERATE_API_KEY, never sent to OpenAI); else "EMPTY".
       So OPENAI_API_KEY never leaves for a third party by accident.
    """
    openai_key = env.get(OPENAI_KEY_VAR, "")
    local = False
    if not base_url:
        if openai_key:
            base_url = OFFICIAL_OPENAI_URL
        elif local_base_url:
            base_url, local = local_base_url, True
        else:
            raise ValueError("give --base-url (any OpenAI-compatible server) or set OPENAI_API_KEY for GPT-4o")
    at_openai = is_openai_url(base_url)
    if not model:
        if at_openai:
            model = DEFAULT_OPENAI_MODEL
        elif local and local_model is not None:
            model = local_model()
        else:
            raise ValueError(f"give the {model_name} for {base_url}")
    if not api_key:
        api_key = openai_key if at_openai else server_key
    return EndpointChoice(base_url=base_url, model=model, api_key=api_key or "EMPTY")


@dataclass(frozen=True)
class LLMEndpoint:
    """``model`` at an OpenAI-compatible ``base_url``, and how patiently to call it.

    ``max_retries``: extra tries after a transport error; the n-th retry waits
    ``backoff_s * 2**n`` seconds (or ``Retry-After``), at most ``max_backoff_s``.
    """

    base_url: str
    model: str
    api_key: str = "EMPTY"
    concurrency: int = 4
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 300.0
    max_tokens: int = 4096

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.model.strip():
            raise ValueError("model name is empty")
        for name in ("concurrency", "max_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_retries", "backoff_s", "max_backoff_s", "timeout_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def is_local(self) -> bool:
        return (urlparse(self.base_url).hostname or "") in _LOCAL_HOSTS

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


@dataclass
class Tally:
    """Running totals of calls; ``cost_usd`` turns None once a model has no known price."""

    requests: int = 0  # HTTP requests, failed ones and retries included
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0

    def add_tokens(self, endpoint: LLMEndpoint, prompt: int, completion: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        cost = endpoint.cost_usd(prompt, completion)
        # unknown model price: say so rather than guess
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    requests: int  # HTTP requests it took, retries included


def make_client(endpoint: LLMEndpoint) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key or "EMPTY",
                       timeout=endpoint.timeout_s, max_retries=0)


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


async def chat(client: AsyncOpenAI, endpoint: LLMEndpoint, messages: list[dict[str, str]], *,
               temperature: float, tally: Tally | None = None, **extra: Any) -> Reply:
    """One chat completion, retried on transient errors; ``extra`` goes to ``create`` as is.

    Raises the last ``openai`` error when the retries are used up, and at once on
    errors that a retry cannot fix. ``tally``, when given, counts every request
    (failed ones too) and the tokens of the reply.
    """
    for attempt in range(endpoint.max_retries + 1):
        if tally is not None:
            tally.requests += 1
        try:
            response = await client.chat.completions.create(
                model=endpoint.model, messages=messages, temperature=temperature,  # type: ignore[arg-type]
                max_tokens=endpoint.max_tokens, **extra,
            )
        except openai.OpenAIError as error:
            if not _retryable(error) or attempt == endpoint.max_retries:
                raise
            delay = min(endpoint.backoff_s * 2**attempt, endpoint.max_backoff_s)
            delay = min(max(delay, _retry_after(error) or 0.0), endpoint.max_backoff_s)
            logger.warning("%s call failed (%s); retry %d/%d in %.2fs", endpoint.model, type(error).__name__,
                           attempt + 1, endpoint.max_retries, delay)
            await asyncio.sleep(delay)
            continue
        usage = response.usage
        if tally is not None and usage:
            tally.add_tokens(endpoint, usage.prompt_tokens, usage.completion_tokens)
        text = response.choices[0].message.content if response.choices else ""
        return Reply(text=text or "", prompt_tokens=usage.prompt_tokens if usage else 0,
                     completion_tokens=usage.completion_tokens if usage else 0, requests=attempt + 1)
    raise AssertionError("unreachable")  # the loop returns or raises
