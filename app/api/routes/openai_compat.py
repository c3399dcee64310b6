"""OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions, POST /v1/completions.

Requests are checked, routed to the contestant's server and passed through, so
that OpenAI clients and evaluation tools (lm-evaluation-harness
`local-completions`, with `logprobs` and `echo`) work against kazarena.
"""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ApiKeyDep, ManagerDep, RuntimeDep
from app.api.schemas import ChatCompletionRequest, CompletionRequest, ModelCard, ModelList
from app.api.streaming import sse_response
from app.runtime import Runtime
from app.services import inputs
from app.serving.calllog import CallLog, logged_proxy, logged_proxy_stream
from app.serving.manager import Route
from app.serving.pipeline import prepare_messages

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", response_model=ModelList)
def read_models(manager: ManagerDep, _key: ApiKeyDep) -> ModelList:
    """Every contestant that is configured and installed, with its honest label and state."""
    status = manager.status()
    cards = [
        ModelCard(id=name, display_name=spec.display_name or name, kind=spec.kind, params=spec.params,
                  note=spec.note, pipeline=spec.pipeline, state=str(status[name]["state"]))
        for name, spec in manager.contestants.items()
    ]
    return ModelList(data=cards)


def _check(runtime: Runtime, chars: int, max_tokens: int | None) -> None:
    inputs.length("prompt", chars, runtime.limits.prompt_chars)
    inputs.at_most("max_tokens", max_tokens, runtime.limits.max_tokens, code="max_tokens_too_large")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


@router.post("/chat/completions")
async def create_chat_completion(req: ChatCompletionRequest, runtime: RuntimeDep, key_id: ApiKeyDep) -> Any:
    """OpenAI chat completions, streaming or not; the contestant's pipeline applies."""
    _check(runtime, sum(len(_text_of(m.get("content"))) for m in req.messages),
           req.max_completion_tokens or req.max_tokens)
    inputs.at_most("messages", len(req.messages), runtime.limits.messages)
    inputs.text("message", _text_of(req.messages[-1].get("content")), runtime.limits.prompt_chars)
    route = runtime.manager.resolve(req.model)
    body = req.model_dump(exclude_none=True, exclude={"model", "stream"})
    body["messages"] = prepare_messages(route.spec, req.messages, runtime.grounder).messages
    call = CallLog(runtime.database_url, "chat.completions", req.model, _params(body, "messages"),
                   messages=req.messages, api_key_id=key_id)
    return await _forward(runtime, route, "chat", body, req.stream, call)


@router.post("/completions")
async def create_completion(req: CompletionRequest, runtime: RuntimeDep, key_id: ApiKeyDep) -> Any:
    """OpenAI (legacy) completions: raw prompt, no chat template; logprobs and echo pass through."""
    prompt = req.prompt
    chars = len(prompt) if isinstance(prompt, str) else sum(len(p) for p in prompt if isinstance(p, str | list))
    _check(runtime, chars, req.max_tokens)
    route = runtime.manager.resolve(req.model)
    body = req.model_dump(exclude_none=True, exclude={"model", "stream"})
    call = CallLog(runtime.database_url, "completions", req.model, _params(body, "prompt"),
                   prompt=prompt if isinstance(prompt, str) else None, api_key_id=key_id)
    return await _forward(runtime, route, "completions", body, req.stream, call)


def _params(body: dict[str, Any], content_key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != content_key}


async def _forward(runtime: Runtime, route: Route, kind: str, body: dict[str, Any], stream: bool, call: CallLog) -> Any:
    if not stream:
        return JSONResponse(await logged_proxy(runtime.manager, route, kind, body, call))
    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for event in logged_proxy_stream(runtime.manager, route, kind, body, call):
            if event.get("usage") and not event.get("choices") and not wants_usage:
                continue  # the usage-only chunk we asked for ourselves
            yield event

    return await sse_response(events())
