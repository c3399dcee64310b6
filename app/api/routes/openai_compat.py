"""OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions, POST /v1/completions.

Requests are checked, routed to the contestant's server and passed through, so
that OpenAI clients and evaluation tools (lm-evaluation-harness
`local-completions`, with `logprobs` and `echo`) work against kazarena.
"""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import ApiKeyDep, ManagerDep, SettingsDep
from app.api.errors import ApiError, error_body, upstream_error
from app.api.schemas import ChatCompletionRequest, CompletionRequest, ModelCard, ModelList
from app.api.streaming import ClosingStreamingResponse, sse
from app.serving import client
from app.serving.calllog import CallLog
from app.serving.manager import ModelManager
from app.serving.pipeline import prepare_messages
from app.settings import Settings

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


def _limits(settings: Settings, chars: int, max_tokens: int | None) -> None:
    if chars > settings.max_prompt_chars:
        raise ApiError(400, "prompt_too_long", f"prompt has {chars} characters; the limit is {settings.max_prompt_chars}")
    if max_tokens is not None and max_tokens > settings.max_tokens_limit:
        raise ApiError(400, "max_tokens_too_large", f"max_tokens must be at most {settings.max_tokens_limit}")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


@router.post("/chat/completions")
async def create_chat_completion(req: ChatCompletionRequest, request: Request, manager: ManagerDep,
                                 settings: SettingsDep, key_id: ApiKeyDep) -> Any:
    """OpenAI chat completions, streaming or not; the contestant's pipeline applies."""
    _limits(settings, sum(len(_text_of(m.get("content"))) for m in req.messages),
            req.max_completion_tokens or req.max_tokens)
    if len(req.messages) > settings.max_messages:
        raise ApiError(400, "too_many_messages", f"at most {settings.max_messages} messages")
    route = manager.resolve(req.model)
    body = req.model_dump(exclude_none=True, exclude={"model", "stream"})
    body["messages"] = prepare_messages(route.spec, req.messages, getattr(request.app.state, "grounder", None)).messages
    call = CallLog(settings.database_url, "chat.completions", req.model, _params(body, "messages"),
                   messages=req.messages, api_key_id=key_id)
    return await _forward(manager, route, "chat", body, req.stream, call)


@router.post("/completions")
async def create_completion(req: CompletionRequest, manager: ManagerDep, settings: SettingsDep,
                            key_id: ApiKeyDep) -> Any:
    """OpenAI (legacy) completions: raw prompt, no chat template; logprobs and echo pass through."""
    prompt = req.prompt
    chars = len(prompt) if isinstance(prompt, str) else sum(len(p) for p in prompt if isinstance(p, str | list))
    _limits(settings, chars, req.max_tokens)
    route = manager.resolve(req.model)
    body = req.model_dump(exclude_none=True, exclude={"model", "stream"})
    call = CallLog(settings.database_url, "completions", req.model, _params(body, "prompt"),
                   prompt=prompt if isinstance(prompt, str) else None, api_key_id=key_id)
    return await _forward(manager, route, "completions", body, req.stream, call)


def _params(body: dict[str, Any], content_key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != content_key}


async def _forward(manager: ModelManager, route: Any, kind: str, body: dict[str, Any], stream: bool, call: CallLog) -> Any:
    if not stream:
        try:
            data = await client.proxy(manager, route, kind, body)
        except Exception as exc:
            call.finish("error", str(exc))
            raise upstream_error(route.spec.name, exc) from exc
        usage = data.get("usage") or {}
        call.prompt_tokens, call.completion_tokens = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        choices = data.get("choices") or [{}]
        call.token(_choice_text(choices[0]))
        call.finish_reason = choices[0].get("finish_reason")
        call.finish()
        return JSONResponse(data)

    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}

    async def events() -> AsyncIterator[bytes]:
        status, error, started = "cancelled", None, False
        try:
            async for event in client.proxy_stream(manager, route, kind, body):
                started = True
                if event is None:
                    yield b"data: [DONE]\n\n"
                    break
                choices = event.get("choices") or []
                if choices:
                    call.token(_choice_text(choices[0]))
                    call.finish_reason = choices[0].get("finish_reason") or call.finish_reason
                if event.get("usage"):
                    call.prompt_tokens = event["usage"].get("prompt_tokens", 0)
                    call.completion_tokens = event["usage"].get("completion_tokens", 0)
                    if not choices and not wants_usage:
                        continue  # the usage-only chunk we asked for ourselves
                yield sse(event)
            status = "ok"
        except Exception as exc:
            err = upstream_error(route.spec.name, exc)
            status, error = "error", err.message
            if not started:
                raise err from exc
            yield sse(error_body(err.code, err.message))
        finally:
            call.finish(status, error)

    return await ClosingStreamingResponse.start(events())


def _choice_text(choice: dict[str, Any]) -> str:
    if "text" in choice:
        return choice.get("text") or ""
    part = choice.get("delta") or choice.get("message") or {}
    return part.get("content") or ""


