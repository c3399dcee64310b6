"""Run the real app with uvicorn on a free port: in a background thread, or as a process of its own
(`AppProcess`, which a test can kill -9)."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

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


class AppProcess:
    """`uvicorn app.main:create_app` in its own process on `url`'s database, with `settings` as KAZARENA_*
    variables. Its one contestant points at a port nobody serves: for what needs no model (votes, accounts)."""

    def __init__(self, url: str, workdir: Path, **settings: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "models.yaml").write_text(f"models:\n  - name: m1\n    base_url: http://127.0.0.1:{free_port()}/v1\n")
        self.env = dict(os.environ, KAZARENA_DATABASE_URL=url, KAZARENA_MODELS_CONFIG=str(workdir / "models.yaml"),
                        KAZARENA_CACHE_DIR=str(workdir), **{f"KAZARENA_{k.upper()}": str(v) for k, v in settings.items()})
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "AppProcess":
        self.start()
        return self

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(self.port),
             "--log-level", "warning", "--no-access-log"], cwd=Path(__file__).resolve().parents[2], env=self.env)
        wait_until(self._healthy, timeout=90, interval=0.2, message=f"the app process to start on {self.url}")

    def _healthy(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "the app process exited at start-up"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """kill -9: no shutdown handler, no flush, nothing the app could finish."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


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
