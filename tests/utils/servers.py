"""Run the real app with uvicorn in a background thread, on a free port."""

import asyncio
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI

from app.serving.vllm_process import free_port


class AppServer:
    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "AppServer":
        self.thread.start()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("app did not start")

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
