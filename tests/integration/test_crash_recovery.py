"""Kill the vLLM server mid-request: a clean 503, a restart, and the next request succeeds.

It kills the session's shared server; it may run in any order, because the test ends
only once the restarted server answers, and the `_vllm_ready` fixture in tests/conftest.py
makes every later test that uses the server wait until it is ready again.
"""

import os
import signal
import threading
import time

import httpx
import pytest

from app.main import create_app
from tests.conftest import TEST_MODEL, make_settings
from tests.utils.servers import AppServer, requests_running
from tests.utils.wait import wait_until

pytestmark = pytest.mark.vllm


def test_crashed_server_gives_503_then_restarts(vllm, sqlite_url):
    srv = next(iter(vllm.manager.servers.values()))
    if not srv.spec.managed:
        pytest.skip("KAZARENA_TEST_VLLM_BASE_URL is set: this test needs the server the tests start (as CI does)")
    old = srv.process
    assert old is not None and old.alive()
    with AppServer(create_app(make_settings(sqlite_url), manager=vllm.manager)) as app:
        results: dict[str, httpx.Response] = {}

        def slow_request() -> None:
            # ignore_eos (passed through to vLLM) keeps it generating until we kill the server
            results["r"] = httpx.post(f"{app.url}/v1/chat/completions", timeout=60, json={
                "model": TEST_MODEL, "messages": [{"role": "user", "content": "Қазақстан туралы әңгіме жаз."}],
                "max_tokens": 900, "ignore_eos": True})

        worker = threading.Thread(target=slow_request)
        worker.start()
        wait_until(lambda: requests_running(srv) > 0, timeout=60, interval=0.1,
                   message="the request is being generated")
        os.kill(old.pid, signal.SIGKILL)
        worker.join(60)
        assert not worker.is_alive(), "the request hung after its server died"
        resp = results["r"]
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "model_unavailable" and TEST_MODEL in resp.json()["error"]["message"]

        # while the server restarts, requests are refused at once, not left hanging
        t0 = time.monotonic()
        during = httpx.post(f"{app.url}/v1/generate", timeout=30, json={"model": TEST_MODEL, "prompt": "Сәлем"})
        assert during.status_code == 503 and time.monotonic() - t0 < 5
        # the supervisor notices the dead process (it polls it every 0.2 s; allow a loaded machine 10 s)
        wait_until(lambda: httpx.get(f"{app.url}/readyz").json()["models"][TEST_MODEL]["state"] != "ready",
                   timeout=10, interval=0.2, message="the supervisor did not notice the crashed server")

        assert vllm.wait_ready(600), srv.detail
        assert srv.restarts >= 1 and srv.process is not old
        with pytest.raises(ProcessLookupError):  # no orphan left from the killed server's group
            os.killpg(old.pid, 0)
        after = httpx.post(f"{app.url}/v1/generate", timeout=120, json={
            "model": TEST_MODEL, "prompt": "Сәлем", "max_tokens": 4})
        assert after.status_code == 200 and after.json()["text"]
