"""The model registry at run time: which contestants exist, which servers answer.

Locally configured models get a supervised `vllm serve` each (started, waited
for, health-checked, restarted with backoff when they crash, stopped on
shutdown). External `base_url` servers are health-checked the same way.
"""

import asyncio
import logging
import os
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from openai import AsyncOpenAI

from app.errors import ServiceError
from app.serving import vllm_process
from app.serving.registry import (
    ModelsConfig,
    ModelSpec,
    available,
    lora_rank,
    resolve_lora_path,
    resolve_model_path,
)
from app.settings import Settings

log = logging.getLogger(__name__)

STARTING, READY, UNHEALTHY, RESTARTING, STOPPED = (
    "starting",
    "ready",
    "unhealthy",
    "restarting",
    "stopped",
)


class ModelNotFound(ServiceError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__("not_found", "model_not_found",
                         f"unknown model {name!r}; available: {', '.join(known) or 'none'}")
        self.name = name


class ModelUnavailable(ServiceError):
    def __init__(self, name: str, state: str, detail: str = "") -> None:
        super().__init__("unavailable", "model_unavailable",
                         f"model {name!r} is not available ({state}){': ' + detail if detail else ''}")
        self.name, self.state = name, state


@dataclass
class Server:
    spec: ModelSpec
    base_url: str  # ends with /v1
    api_key: str
    timeout: httpx.Timeout
    state: str = STARTING
    detail: str = ""
    restarts: int = 0
    process: vllm_process.VllmProcess | None = None
    _clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI]" = field(
        default_factory=weakref.WeakKeyDictionary)

    @property
    def root_url(self) -> str:
        return self.base_url.removesuffix("/v1")

    @property
    def client(self) -> AsyncOpenAI:
        """The OpenAI client for the running event loop (connection pools are loop-bound)."""
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            # retries are ours to decide: a replayed streaming request could answer twice
            self._clients[loop] = AsyncOpenAI(base_url=self.base_url, api_key=self.api_key or "none",
                                              max_retries=0, timeout=self.timeout)
        return self._clients[loop]

    async def close(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()


@dataclass(frozen=True)
class Route:
    """Where a request for one contestant goes."""

    spec: ModelSpec
    server: Server


class ModelManager:
    def __init__(self, config: ModelsConfig, settings: Settings) -> None:
        self.settings = settings
        self.config = config
        self.servers: dict[str, Server] = {}
        self.contestants: dict[str, ModelSpec] = {}
        self.skipped: dict[str, str] = {}  # name -> why it is not served
        self._tasks: list[asyncio.Task[None]] = []
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.health_timeout_s, connect=settings.connect_timeout_s)
        )
        self._plan()

    # ---------------------------------------------------------------- planning
    def _plan(self) -> None:
        models_dir = self.settings.models_dir
        for spec in self.config.models:
            ok, why = available(spec, models_dir)
            parent = self.config.server_of(spec)
            if ok and spec.server:
                ok, why = available(parent, models_dir)
            if not ok:
                self.skipped[spec.name] = why
                if not spec.optional:
                    log.warning("model %s is not served: %s", spec.name, why)
                continue
            self.contestants[spec.name] = spec
        for spec in self.contestants.values():
            parent = self.config.server_of(spec)
            if parent.name not in self.servers:
                self.servers[parent.name] = self._make_server(parent)

    def _make_server(self, spec: ModelSpec) -> Server:
        timeout = httpx.Timeout(self.settings.request_timeout_s, connect=self.settings.connect_timeout_s)
        if spec.base_url:
            key = os.environ.get(spec.api_key_env, "") if spec.api_key_env else ""
            return Server(spec=spec, base_url=spec.base_url.rstrip("/"), api_key=key, timeout=timeout)
        port = spec.port or vllm_process.free_port()
        return Server(spec=spec, base_url=f"http://127.0.0.1:{port}/v1", api_key="", timeout=timeout)

    # ----------------------------------------------------------------- routing
    def resolve(self, name: str) -> Route:
        spec = self.contestants.get(name)
        if spec is None:
            if name in self.skipped:
                raise ModelUnavailable(name, "not installed", self.skipped[name])
            raise ModelNotFound(name, list(self.contestants))
        server = self.servers[self.config.server_of(spec).name]
        if server.state != READY:
            raise ModelUnavailable(name, server.state, server.detail)
        return Route(spec, server)

    def upstream_model(self, route: Route) -> str:
        # LoRA adapters are served under their own name, everything else under the server's
        return route.spec.name if route.spec.lora else route.server.spec.upstream_name()

    def status(self) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for name, spec in self.contestants.items():
            srv = self.servers[self.config.server_of(spec).name]
            out[name] = {
                "state": srv.state,
                "detail": srv.detail,
                "restarts": srv.restarts,
                "server": srv.spec.name,
                "label": spec.label(),
            }
        for name, why in self.skipped.items():
            out[name] = {
                "state": "not installed",
                "detail": why,
                "restarts": 0,
                "server": None,
                "label": name,
            }
        return out

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        for srv in self.servers.values():
            job = self._supervise(srv) if srv.spec.managed else self._watch_external(srv)
            self._tasks.append(asyncio.create_task(job, name=f"serve:{srv.spec.name}"))

    async def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.state == READY for s in self.servers.values()):
                return True
            await asyncio.sleep(0.5)
        return False

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        procs = [s.process for s in self.servers.values() if s.process]
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in procs))
        for srv in self.servers.values():
            srv.state = STOPPED
            await srv.close()
        await self._http.aclose()

    async def _healthy(self, srv: Server) -> bool:
        try:
            if srv.spec.managed:
                resp = await self._http.get(f"{srv.root_url}/health")
            else:
                headers = {"Authorization": f"Bearer {srv.api_key}"} if srv.api_key else {}
                resp = await self._http.get(f"{srv.base_url}/models", headers=headers)
            return resp.status_code == 200
        except httpx.HTTPError:
            return False

    def _command(self, srv: Server) -> list[str]:
        spec = srv.spec
        loras = {
            m.name: resolve_lora_path(m, self.settings.models_dir)
            for m in self.contestants.values() if m.lora and m.server == spec.name
        }
        cpu = not vllm_process.has_cuda()
        dtype = "float32" if cpu and spec.dtype == "auto" else spec.dtype
        return vllm_process.vllm_command(
            python=vllm_process.default_python(self.settings.vllm_python),
            model=str(resolve_model_path(spec, self.settings.models_dir)),
            served_names=[spec.upstream_name()],
            port=int(srv.root_url.rsplit(":", 1)[1]),
            dtype=dtype,
            max_model_len=spec.max_model_len,
            lora_modules={k: str(v) for k, v in loras.items()},
            max_lora_rank=max((lora_rank(p) for p in loras.values()), default=0),
            extra_args=spec.vllm_args,
            cpu=cpu,
        )

    async def _supervise(self, srv: Server) -> None:
        """Start, wait for readiness, watch; on a crash restart with exponential backoff."""
        s = self.settings
        backoff = s.restart_backoff_s
        env = vllm_process.vllm_env(s.cache_dir, s.vllm_kvcache_gib)
        log_path = Path(s.cache_dir) / "logs" / f"{srv.spec.name}.log"
        while True:
            srv.state = STARTING if srv.restarts == 0 else RESTARTING
            srv.process = vllm_process.VllmProcess(self._command(srv), env, log_path)
            started = time.monotonic()
            if await self._wait_started(srv, started + s.vllm_start_timeout_s):
                srv.state, srv.detail = READY, ""
                log.info(
                    "model server %s ready in %.0f s", srv.spec.name, time.monotonic() - started
                )
                await self._watch(srv)
                if time.monotonic() - started > 300:
                    backoff = s.restart_backoff_s  # it ran fine for a while: start over
            srv.state = UNHEALTHY
            await asyncio.to_thread(srv.process.stop, 10.0)
            srv.restarts += 1
            log.warning(
                "model server %s down (%s); restart %d in %.0f s",
                srv.spec.name,
                srv.detail,
                srv.restarts,
                backoff,
            )
            srv.state = RESTARTING
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, s.restart_backoff_max_s)

    async def _wait_started(self, srv: Server, deadline: float) -> bool:
        assert srv.process
        while time.monotonic() < deadline:
            if not srv.process.alive():
                srv.detail = f"exited with code {srv.process.proc.returncode} during start-up; log: {srv.process.log_path}"
                log.error("%s\n%s", srv.detail, srv.process.tail())
                return False
            if await self._healthy(srv):
                return True
            await asyncio.sleep(0.5)
        srv.detail = f"not ready after {self.settings.vllm_start_timeout_s:.0f} s; log: {srv.process.log_path}"
        return False

    async def _watch(self, srv: Server) -> None:
        """Return when the process died or failed `health_failures` health checks in a row."""
        assert srv.process
        failures, next_check = 0, time.monotonic() + self.settings.health_interval_s
        while True:
            await asyncio.sleep(0.2)
            if not srv.process.alive():
                srv.detail = f"process exited with code {srv.process.proc.returncode}"
                return
            if time.monotonic() >= next_check:
                failures = 0 if await self._healthy(srv) else failures + 1
                if failures >= self.settings.health_failures:
                    srv.detail = f"failed {failures} health checks in a row"
                    return
                next_check = time.monotonic() + self.settings.health_interval_s

    async def _watch_external(self, srv: Server) -> None:
        """Ready on the first good check; down only after several failures in a row,
        since a busy server can be slow to answer one health check."""
        failures = 0
        while True:
            if await self._healthy(srv):
                failures, srv.state, srv.detail = 0, READY, ""
            else:
                failures += 1
                if srv.state != READY or failures >= self.settings.health_failures:
                    srv.state, srv.detail = UNHEALTHY, f"{srv.base_url} does not answer"
            await asyncio.sleep(self.settings.health_interval_s)
