"""Every error leaves the API as JSON `{"error": {"code", "message", "type"}}` (OpenAI-shaped).

Services raise `app.errors.ServiceError`; the one handler here maps its kind to
the HTTP status. Validation and routing errors of the framework get the same shape.
"""

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import ServiceError

log = logging.getLogger(__name__)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message, "type": code}}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


def service_error_response(exc: ServiceError) -> JSONResponse:
    response = error_response(exc.status, exc.code, exc.message)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
    return response


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "request body is not valid JSON: " + "; ".join(
            str(e.get("ctx", {}).get("error", e.get("msg"))) for e in errors)
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {e.get('msg')}")
    return "invalid_request", "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return service_error_response(exc)

    @app.exception_handler(OperationalError)
    async def _database(_: Request, exc: OperationalError) -> JSONResponse:
        # the database is unreachable, restarting or locked: nothing was acknowledged, so a retry is safe
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        response = error_response(503, "database_unavailable", "the database is unavailable; retry in a few seconds")
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = _validation_message(exc)
        return error_response(400, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            return error_response(400, "invalid_body", "request body could not be read: send UTF-8 encoded JSON")
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


# What each part of the API can refuse with, beyond 400 (bad input: every route with a body or a
# parameter) and 413 (a body over KAZARENA_MAX_BODY_BYTES). The first matching prefix wins.
_REFUSALS: list[tuple[str, dict[int, str]]] = [
    ("/v1/", {401: "no API key, or an unknown or revoked one", 404: "no such model",
              429: "over the per-key or per-IP limit (Retry-After says when to retry)",
              503: "the model is not ready, or failed to answer"}),
    ("/api/chat", {404: "no such conversation or message", 429: "over the chat limit (Retry-After)",
                   503: "the model is not ready, or failed to answer"}),
    ("/api/arena/admin/", {401: "not logged in", 403: "not an administrator", 404: "no such annotator",
                           409: "the change is not allowed (e.g. banning yourself)"}),
    ("/api/arena/", {401: "not logged in, or the session expired", 403: "the account is suspended, or not yours",
                     404: "no such battle", 409: "the battle is not in a state for this (already voted, answering)",
                     429: "over the per-annotator or per-IP limit (Retry-After)",
                     503: "a model or the database is unavailable; retry with the same idempotency key"}),
    ("/api/admin/", {401: "not logged in", 403: "not an administrator"}),
    ("/api/eval/", {404: "no such run"}),
]
_COMMON = {400: "invalid input: the message names the field", 413: "request body too large"}
ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "description": "stable, machine-readable (e.g. prompt_too_long, rate_limited)"},
        "message": {"type": "string", "description": "what went wrong and what to do, for a person"},
        "type": {"type": "string", "description": "the code again, where OpenAI clients look for it"}}}}}


def document_errors(app: FastAPI) -> None:
    """Make /openapi.json list the errors the app really answers, in their one JSON shape, instead of
    FastAPI's 422 (validation errors are answered 400 here)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for schema in ("HTTPValidationError", "ValidationError"):
            spec["components"]["schemas"].pop(schema, None)
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in spec.get("paths", {}).items():
            refusals = next((r for prefix, r in _REFUSALS if path.startswith(prefix)), {})
            for op in operations.values():
                takes_input = "requestBody" in op or bool(op.get("parameters"))
                op["responses"].pop("422", None)
                errors = (_COMMON if takes_input else {}) | refusals
                for status, why in sorted(errors.items()):
                    op["responses"].setdefault(str(status), {"description": why, "content": ref})
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
