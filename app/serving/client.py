"""The one client layer for model traffic: the `openai` package against vLLM's OpenAI server.

Typed calls (`complete_chat`, `stream_chat`) serve our own endpoints, the UI and
the arena; `proxy_*` forward OpenAI-compatible requests with minimal overhead,
passing unknown fields (logprobs, echo, guided decoding) through untouched.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai

from app.errors import ServiceError
from app.serving.manager import ModelManager, Route


@dataclass(frozen=True)
class Delta:
    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


def sampling_params(route: Route, overrides: dict[str, Any], *, arena: bool = False) -> dict[str, Any]:
    """The contestant's configured sampling, with the request's values on top (an arena answer is capped)."""
    base = route.spec.sampling
    params: dict[str, Any] = {"temperature": base.temperature, "top_p": base.top_p,
                              "max_tokens": min(base.max_tokens, base.arena_max_tokens) if arena else base.max_tokens}
    params.update({k: v for k, v in overrides.items() if v is not None and k != "stop"})
    stops = [*base.stop, *(overrides.get("stop") or [])]
    if stops:
        params["stop"] = stops
    # not OpenAI fields: vLLM reads them from the body's extras
    extras: dict[str, Any] = {"repetition_penalty": base.repetition_penalty}
    if base.min_tokens is not None:  # vLLM refuses a minimum above the maximum
        extras["min_tokens"] = min(base.min_tokens, params["max_tokens"])
    extras = {k: v for k, v in extras.items() if v is not None}
    if extras:
        params["extra_body"] = extras
    return params


async def complete_chat(manager: ModelManager, route: Route, messages: list[dict[str, Any]], params: dict[str, Any]) -> Delta:
    resp = await route.server.client.chat.completions.create(
        model=manager.upstream_model(route), messages=messages, stream=False, **params)  # type: ignore[arg-type, call-overload]
    choice = resp.choices[0]
    usage = resp.usage
    return Delta(choice.message.content or "", choice.finish_reason,
                 usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)


async def stream_chat(manager: ModelManager, route: Route, messages: list[dict[str, Any]], params: dict[str, Any]) -> AsyncIterator[Delta]:
    """Yield text deltas; the last Delta carries finish_reason and token counts."""
    stream = await route.server.client.chat.completions.create(
        model=manager.upstream_model(route), messages=messages, stream=True,  # type: ignore[arg-type, call-overload]
        stream_options={"include_usage": True}, **params)
    finish: str | None = None
    try:
        async for chunk in stream:
            if chunk.choices:
                choice = chunk.choices[0]
                finish = choice.finish_reason or finish
                if choice.delta.content:
                    yield Delta(choice.delta.content)
            if chunk.usage:
                yield Delta("", finish, chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
    finally:
        await stream.close()  # closing the connection makes vLLM abort the request


# ------------------------------------------------------------------ proxying
def _split(body: dict[str, Any], known: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: body[k] for k in known if k in body}, {k: v for k, v in body.items() if k not in known}


async def proxy(manager: ModelManager, route: Route, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Non-streaming pass-through; returns the upstream JSON with our model name."""
    resource = route.server.client.chat.completions if kind == "chat" else route.server.client.completions
    main, extra = _split(body, ("messages",) if kind == "chat" else ("prompt",))
    raw = await resource.with_raw_response.create(  # type: ignore[call-overload]
        model=manager.upstream_model(route), stream=False, extra_body=extra, **main)
    data: dict[str, Any] = json.loads(raw.http_response.content)
    data["model"] = route.spec.name
    return data


async def proxy_stream(manager: ModelManager, route: Route, kind: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any] | None]:
    """Streaming pass-through: yields each upstream SSE event as a dict, then None for [DONE]."""
    resource = route.server.client.chat.completions if kind == "chat" else route.server.client.completions
    main, extra = _split(body, ("messages",) if kind == "chat" else ("prompt",))
    async with resource.with_streaming_response.create(  # type: ignore[call-overload]
        model=manager.upstream_model(route), stream=True, extra_body=extra, **main
    ) as resp:
        async for line in resp.iter_lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                yield None
                return
            event = json.loads(payload)
            event["model"] = route.spec.name
            yield event


# ------------------------------------------------------------------ errors
def upstream_error(model: str, exc: Exception) -> ServiceError:
    """What the model server said (or failed to say), as the refusal our callers see."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ServiceError("unavailable", "model_timeout", f"model {model!r} did not answer in time; try again later")
    if isinstance(exc, openai.APIConnectionError):
        return ServiceError("unavailable", "model_unavailable",
                            f"model {model!r} is not reachable (its server is down or restarting)")
    if isinstance(exc, openai.APIStatusError):
        detail = _upstream_message(exc)
        if 400 <= exc.status_code < 500:
            return ServiceError("invalid", "upstream_rejected", f"model {model!r} rejected the request: {detail}")
        return ServiceError("unavailable", "model_unavailable", f"model {model!r} failed ({exc.status_code}): {detail}")
    return ServiceError("unavailable", "model_unavailable", f"model {model!r} failed: {exc}")


def _upstream_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
    return str(exc.message)[:500]
