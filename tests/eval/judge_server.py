"""A tiny OpenAI-compatible chat server on a real socket, for the judge's client tests.

``JudgeServer(reply)`` answers POST /v1/chat/completions with whatever
``reply(body, n)`` returns (``n`` counts requests from 0): a status and a JSON
body. ``forward_to(url)`` makes it a proxy to a real server (vLLM), so a test can
fail the first call and pass the rest through. Requests are recorded, and the
most requests in flight at once is tracked (to check the concurrency limit).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Reply = tuple[int, dict[str, Any]]
_BLOCK = re.compile(r"<(response_[12])>\n(.*?)\n</\1>", re.S)


def completion(text: str, prompt_tokens: int = 100, completion_tokens: int = 1) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "fake-judge",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def error(status: int, message: str = "try later") -> Reply:
    return status, {"error": {"message": message, "type": "server_error", "code": status}}


def responses(body: dict[str, Any]) -> tuple[str, str]:
    """The two answers as the judge saw them (decoded from their JSON blocks)."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    blocks = dict((name, json.loads(text)) for name, text in _BLOCK.findall(user))
    return blocks["response_1"], blocks["response_2"]


def prefers(word: str) -> Callable[[dict[str, Any], int], Reply]:
    """A fair judge: the response containing ``word`` wins, else a tie."""

    def reply(body: dict[str, Any], n: int) -> Reply:
        first, second = responses(body)
        digit = "1" if word in first and word not in second else "2" if word in second and word not in first else "0"
        return 200, completion(digit)

    return reply


def forward_to(base_url: str, fail_first: int = 0, status: int = 503) -> Callable[[dict[str, Any], int], Reply]:
    """Fail the first ``fail_first`` requests with ``status``, pass the rest to ``base_url``."""

    def reply(body: dict[str, Any], n: int) -> Reply:
        if n < fail_first:
            return error(status)
        resp = httpx.post(f"{base_url.rstrip('/')}/chat/completions", json=body, timeout=300)
        return resp.status_code, resp.json()

    return reply


class JudgeServer:
    def __init__(self, reply: Callable[[dict[str, Any], int], Reply], delay_s: float = 0.0,
                 headers: dict[str, str] | None = None) -> None:
        self.reply, self.delay_s, self.extra_headers = reply, delay_s, headers or {}
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    n = len(server.bodies)
                    server.bodies.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay_s)  # a slow judge on purpose (concurrency, timeouts)
                    status, payload = server.reply(body, n)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in server.extra_headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def calls(self) -> int:
        return len(self.bodies)

    def __enter__(self) -> JudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
