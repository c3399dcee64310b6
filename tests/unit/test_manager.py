"""Health watching of an external OpenAI-compatible server (a tiny real HTTP server here)."""

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.serving.manager import READY, UNHEALTHY, ModelManager, ModelUnavailable
from app.serving.registry import ModelsConfig
from tests.conftest import make_settings
from tests.utils.wait import wait_until_async


class _Models(BaseHTTPRequestHandler):
    healthy = True
    auth_seen: list[str | None] = []
    failed: dict[str | None, int] = {}  # failed health checks answered, by Authorization header

    def do_GET(self):  # noqa: N802 - http.server API
        auth = self.headers.get("Authorization")
        type(self).auth_seen.append(auth)
        if not type(self).healthy:
            type(self).failed[auth] = type(self).failed.get(auth, 0) + 1
        self.send_response(200 if type(self).healthy else 500)
        self.end_headers()
        self.wfile.write(b'{"object": "list", "data": []}')

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Models.healthy, _Models.auth_seen, _Models.failed = True, [], {}
    yield server
    server.shutdown()


def test_external_server_becomes_ready_and_goes_down_only_after_repeated_failures(upstream, monkeypatch):
    monkeypatch.setenv("EXT_KEY", "secret")
    settings = make_settings("sqlite://", health_interval_s=0.05, health_failures=3)
    config = ModelsConfig.model_validate({"models": [
        {"name": "ext", "base_url": f"http://127.0.0.1:{upstream.server_port}/v1"},
        {"name": "ext-keyed", "base_url": f"http://127.0.0.1:{upstream.server_port}/v1", "api_key_env": "EXT_KEY"}]})

    async def scenario():
        manager = ModelManager(config, settings)
        await manager.start()
        assert await manager.wait_ready(5)
        assert manager.resolve("ext").server.state == READY
        _Models.healthy = False
        # one failed check: still ready
        await wait_until_async(lambda: _Models.failed.get(None, 0) >= 1, message="a failed health check")
        assert manager.servers["ext"].state == READY
        # several in a row: down, and requests are refused
        await wait_until_async(lambda: manager.servers["ext"].state == UNHEALTHY, timeout=5,
                               message="'ext' to go down")
        assert manager.servers["ext"].state == UNHEALTHY
        with pytest.raises(ModelUnavailable, match="'ext'"):
            manager.resolve("ext")
        _Models.healthy = True
        assert await manager.wait_ready(5)
        await manager.stop()

    asyncio.run(scenario())
    assert None in _Models.auth_seen and "Bearer secret" in _Models.auth_seen  # no empty Bearer header
