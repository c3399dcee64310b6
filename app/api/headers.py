"""Security headers on every response: the API's strict policy, and one the Gradio UI works under.

The UI needs inline scripts and styles (Gradio writes both), blob/data images and a same-origin
event stream; nothing in it loads from another origin, since the app runs offline. The API
answers JSON, so its policy allows nothing at all. `/docs` loads Swagger UI from jsDelivr.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
UI_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
             "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
             "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self' ws: wss:; "
             "frame-ancestors 'self'; base-uri 'self'; form-action 'self'")
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
               "https://fastapi.tiangolo.com; frame-ancestors 'none'")

_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin"),
           (b"cross-origin-opener-policy", b"same-origin")]


def policy_for(path: str) -> tuple[str, str]:
    """(Content-Security-Policy, X-Frame-Options) for a request path."""
    if path == "/ui" or path.startswith("/ui/"):
        return UI_POLICY, "SAMEORIGIN"
    if path in ("/docs", "/redoc") or path.startswith("/docs/"):
        return DOCS_POLICY, "DENY"
    return API_POLICY, "DENY"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp, frame = policy_for(scope.get("path", ""))
        added = [*_COMMON, (b"content-security-policy", csp.encode()), (b"x-frame-options", frame.encode())]
        if scope.get("scheme") == "https":
            added.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in added if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
