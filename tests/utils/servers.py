"""Run the real app with uvicorn in a background thread, on a free port."""

import asyncio
import re
import threading

import httpx
import uvicorn
from fastapi import FastAPI

from app.serving.vllm_process import free_port
from tests.utils.wait import wait_until


class AppServer:
    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "AppServer":
        self.thread.start()
        wait_until(self._healthy, timeout=60, interval=0.1, message=f"the app to start on {self.url}")
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class ManagerThread:
    """A ModelManager running on its own event loop, shared by many test apps."""

    def __init__(self, manager) -> None:  # type: ignore[no-untyped-def]
        self.manager = manager
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self, timeout: float) -> bool:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.manager.start(), self.loop).result(30)
        return asyncio.run_coroutine_threadsafe(self.manager.wait_ready(timeout), self.loop).result(timeout + 10)

    def wait_ready(self, timeout: float) -> bool:
        return asyncio.run_coroutine_threadsafe(self.manager.wait_ready(timeout), self.loop).result(timeout + 10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.manager.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def requests_running(srv) -> float:  # type: ignore[no-untyped-def]
    """Requests a managed vLLM server (a manager's `Server`) is generating now, from its /metrics."""
    text = httpx.get(f"{srv.root_url}/metrics", timeout=10).text
    m = re.search(r'^vllm:num_requests_running\{[^}]*\} ([0-9.]+)', text, re.M)
    return float(m.group(1)) if m else 0.0
