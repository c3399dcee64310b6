"""POST /v1/generate: kazarena's own generation endpoint."""

import json
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import ApiKeyDep, ManagerDep, SettingsDep
from app.api.errors import ApiError, error_body, upstream_error
from app.api.schemas import GenerateRequest, GenerateResponse, Usage
from app.api.streaming import ClosingStreamingResponse, sse
from app.serving import client
from app.serving.calllog import CallLog
from app.serving.pipeline import prepare_messages
from app.settings import Settings

router = APIRouter(prefix="/v1", tags=["generate"])


def check_limits(req: GenerateRequest, settings: Settings) -> None:
    chars = sum(len(m["content"]) for m in req.as_messages())
    if chars > settings.max_prompt_chars:
        raise ApiError(400, "prompt_too_long", f"prompt has {chars} characters; the limit is {settings.max_prompt_chars}")
    if req.messages is not None and len(req.messages) > settings.max_messages:
        raise ApiError(400, "too_many_messages", f"at most {settings.max_messages} messages")
    if req.max_tokens is not None and req.max_tokens > settings.max_tokens_limit:
        raise ApiError(400, "max_tokens_too_large", f"max_tokens must be at most {settings.max_tokens_limit}")


@router.post("/generate", response_model=GenerateResponse)
async def create_generation(req: GenerateRequest, request: Request, manager: ManagerDep,
                            settings: SettingsDep, key_id: ApiKeyDep) -> Response:
    """Generate an answer from one contestant; `stream: true` answers with server-sent events."""
    check_limits(req, settings)
    route = manager.resolve(req.model)
    prepared = prepare_messages(route.spec, req.as_messages(), getattr(request.app.state, "grounder", None))
    params = client.sampling_params(route, req.model_dump(include={"max_tokens", "temperature", "top_p", "stop", "seed"}))
    call = CallLog(settings.database_url, "generate", req.model, params, messages=req.as_messages(), api_key_id=key_id)
    gen_id = f"gen-{uuid.uuid4().hex}"
    sources = prepared.sources

    if not req.stream:
        try:
            out = await client.complete_chat(manager, route, prepared.messages, params)
        except Exception as exc:
            call.finish("error", str(exc))
            raise upstream_error(req.model, exc) from exc
        call.token(out.text)
        call.finish_reason, call.prompt_tokens, call.completion_tokens = out.finish_reason, out.prompt_tokens, out.completion_tokens
        call.finish()
        body = GenerateResponse(id=gen_id, model=req.model, text=out.text, finish_reason=out.finish_reason,
                                usage=Usage(prompt_tokens=out.prompt_tokens, completion_tokens=out.completion_tokens),
                                latency_ms=round(call.latency_ms, 1), sources=sources)
        return Response(body.model_dump_json(), media_type="application/json")

    async def events() -> AsyncIterator[bytes]:
        status, error, started = "cancelled", None, False
        try:
            async for d in client.stream_chat(manager, route, prepared.messages, params):
                started = True
                if d.text:
                    call.token(d.text)
                    yield sse({"id": gen_id, "model": req.model, "delta": d.text})
                if d.finish_reason or d.completion_tokens:
                    call.finish_reason = d.finish_reason
                    call.prompt_tokens, call.completion_tokens = d.prompt_tokens, d.completion_tokens
            final = GenerateResponse(id=gen_id, model=req.model, text="".join(call.text_parts),
                                     finish_reason=call.finish_reason,
                                     usage=Usage(prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens),
                                     latency_ms=round(call.latency_ms, 1), sources=sources)
            yield sse(json.loads(final.model_dump_json()))
            yield b"data: [DONE]\n\n"
            status = "ok"
        except Exception as exc:
            err = upstream_error(req.model, exc)
            status, error = "error", err.message
            if not started:
                raise err from exc  # nothing sent yet: a real HTTP error status
            yield sse(error_body(err.code, err.message))  # mid-stream: in-band, as OpenAI does
        finally:
            call.finish(status, error)

    return await ClosingStreamingResponse.start(events())
