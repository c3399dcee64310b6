"""Every error leaves the API as JSON `{"error": {"code", "message", "type"}}` (OpenAI-shaped)."""

import logging
import math

import openai
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.services.arena import ArenaError
from app.serving.manager import ModelNotFound, ModelUnavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message, "type": code}}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


def upstream_error(model: str, exc: Exception) -> ApiError:
    """Map what the model server said (or failed to say) to our API error."""
    if isinstance(exc, openai.APITimeoutError):
        return ApiError(503, "model_timeout", f"model {model!r} did not answer in time; try again later")
    if isinstance(exc, openai.APIConnectionError):
        return ApiError(503, "model_unavailable", f"model {model!r} is not reachable (its server is down or restarting)")
    if isinstance(exc, openai.APIStatusError):
        detail = _upstream_message(exc)
        if 400 <= exc.status_code < 500:
            return ApiError(400, "upstream_rejected", f"model {model!r} rejected the request: {detail}")
        return ApiError(503, "model_unavailable", f"model {model!r} failed ({exc.status_code}): {detail}")
    return ApiError(503, "model_unavailable", f"model {model!r} failed: {exc}")


def _upstream_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
    return str(exc.message)[:500]


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
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

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

    @app.exception_handler(ArenaError)
    async def _arena(_: Request, exc: ArenaError) -> JSONResponse:
        response = error_response(exc.status, exc.code, exc.message)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response

    @app.exception_handler(ModelNotFound)
    async def _not_found(_: Request, exc: ModelNotFound) -> JSONResponse:
        return error_response(404, "model_not_found", str(exc))

    @app.exception_handler(ModelUnavailable)
    async def _unavailable(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return error_response(503, "model_unavailable", str(exc))
