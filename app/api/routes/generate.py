"""POST /v1/generate: kazarena's own generation endpoint."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import ApiKeyDep, RuntimeDep
from app.api.schemas import GenerateRequest, GenerateResponse, Usage
from app.api.streaming import sse_response
from app.runtime import Runtime
from app.services import inputs
from app.serving import client
from app.serving.calllog import CallLog, logged_chat, logged_chat_stream
from app.serving.pipeline import prepare_messages

router = APIRouter(prefix="/v1", tags=["generate"])


def check_limits(req: GenerateRequest, runtime: Runtime) -> None:
    limits = runtime.limits
    inputs.text("prompt", "".join(m["content"] for m in req.as_messages()), limits.prompt_chars)
    inputs.at_most("messages", len(req.messages) if req.messages is not None else None, limits.messages)
    inputs.at_most("max_tokens", req.max_tokens, limits.max_tokens, code="max_tokens_too_large")


@router.post("/generate", response_model=GenerateResponse)
async def create_generation(req: GenerateRequest, runtime: RuntimeDep, key_id: ApiKeyDep) -> Response:
    """Generate an answer from one contestant; `stream: true` answers with server-sent events."""
    check_limits(req, runtime)
    route = runtime.manager.resolve(req.model)
    prepared = prepare_messages(route.spec, req.as_messages(), runtime.grounder)
    params = client.sampling_params(route, req.model_dump(include={"max_tokens", "temperature", "top_p", "stop", "seed"}))
    call = CallLog(runtime.database_url, "generate", req.model, params, messages=req.as_messages(), api_key_id=key_id)
    gen_id = f"gen-{uuid.uuid4().hex}"

    def response(text: str) -> GenerateResponse:
        return GenerateResponse(id=gen_id, model=req.model, text=text, finish_reason=call.finish_reason,
                                usage=Usage(prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens),
                                latency_ms=round(call.latency_ms, 1), sources=prepared.sources)

    if not req.stream:
        out = await logged_chat(runtime.manager, route, prepared.messages, params, call)
        return Response(response(out.text).model_dump_json(), media_type="application/json")

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for d in logged_chat_stream(runtime.manager, route, prepared.messages, params, call):
            if d.text:
                yield {"id": gen_id, "model": req.model, "delta": d.text}
        yield json.loads(response("".join(call.text_parts)).model_dump_json())

    return await sse_response(events())
