"""Kill the vLLM server mid-request and mid-battle: a clean 503, a battle stored as failed and said so,
a restart, and the next request and the next round succeed.

It kills the session's shared server; it may run in any order, because the test ends
only once the restarted server answers, and the `_vllm_ready` fixture in tests/conftest.py
makes every later test that uses the server wait until it is ready again.
"""

import asyncio
import os
import signal
import threading
import time

import gradio as gr
import httpx
import pytest
from sqlalchemy import select

from app.main import create_app
from app.ui.arena import ArenaTab
from app.ui.i18n import t
from db.models import Battle, Generation
from db.session import session_scope
from tests.conftest import TEST_MODEL, make_settings
from tests.ui.arena_helpers import small_arena
from tests.utils.arena import annotator
from tests.utils.servers import AppServer, requests_running
from tests.utils.wait import wait_until

pytestmark = pytest.mark.vllm


def test_a_killed_server_gives_503_ends_the_battle_clearly_then_restarts_for_the_next_round(vllm, sqlite_url):
    # one kill for both checks: a restart of the shared server costs a minute of the suite
    srv = next(iter(vllm.manager.servers.values()))
    if not srv.spec.managed:
        pytest.skip("KAZARENA_TEST_VLLM_BASE_URL is set: this test needs the server the tests start (as CI does)")
    old = srv.process
    assert old is not None and old.alive()
    with (AppServer(create_app(make_settings(sqlite_url), manager=vllm.manager)) as app,
          small_arena(vllm, sqlite_url, max_tokens=400, min_tokens=400) as arena_app):
        with gr.Blocks():
            tab = ArenaTab(arena_app.state.runtime, "kk")
        annotator(sqlite_url, "saule")
        state = asyncio.run(tab.account.login("saule", "құпия-сөз-123", "kk"))[tab.state]
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

        async def battle_with_a_crash() -> list[dict]:
            outputs, killed = [], False
            async for out in tab.start("prompt", "Қазақстан туралы ұзақ әңгіме жаз.", state, "kk"):
                outputs.append(dict(out))
                if not killed and any((out.get(side) or [{}])[-1].get("content") for side in (tab.left, tab.right)):
                    os.kill(old.pid, signal.SIGKILL)  # the server dies mid-answer, under both contestants
                    killed = True
            return outputs

        outputs = asyncio.run(asyncio.wait_for(battle_with_a_crash(), 120))
        worker.join(60)
        assert not worker.is_alive(), "the request hung after its server died"
        resp = results["r"]
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "model_unavailable" and TEST_MODEL in resp.json()["error"]["message"]

        # the annotator is told the round cannot be voted on and may start another; the battle is stored failed
        last = outputs[-1]
        assert last[tab.status] == t("answers_failed", "kk")
        assert last[tab.vote_btn]["interactive"] is False and last[tab.start_btn]["interactive"] is True
        assert t("model_failed", "kk") in last[tab.left][-1]["content"] + last[tab.right][-1]["content"]
        with session_scope(sqlite_url) as s:
            b = s.scalars(select(Battle)).one()
            assert b.state == "error" and any(e["type"] == "error" for e in b.events)

        def arena_calls() -> set[str]:  # the call log is written in the background
            with session_scope(sqlite_url) as s:
                return set(s.scalars(select(Generation.status).where(Generation.endpoint == "arena")))
        wait_until(lambda: "error" in arena_calls(), timeout=30, interval=0.2, message="the failed call is logged")

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
        fresh = asyncio.run(_collect(tab.start("prompt", "Сәлем!", state, "kk")))
        assert fresh[-1][tab.status] == t("answers_ready", "kk") and fresh[-1][tab.vote_btn]["interactive"] is True


async def _collect(gen) -> list[dict]:
    return [dict(o) async for o in gen]
