"""Arena battles end to end on the real vLLM server: both answers stream, votes are checked."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from db.models import Battle
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, auth
from tests.utils.servers import AppServer, ManagerThread

pytestmark = pytest.mark.vllm


class _Broken(BaseHTTPRequestHandler):
    """Healthy on /v1/models, fails every generation: a model that errors on its first turn."""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"object":"list","data":[]}')

    def do_POST(self):  # noqa: N802
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b'{"error":{"message":"boom"}}')

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def broken_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def _arena_app(vllm, url, extra_models=(), **overrides):
    srv = next(iter(vllm.manager.servers.values()))
    small = {"base_url": srv.base_url, "served_model_name": srv.spec.upstream_name(), "params": "0.5B",
             "sampling": {"max_tokens": 10}}
    models = [{"name": "kk-a", "system_prompt": "Қазақ тілінде қысқа жауап бер.", **small},
              {"name": "kk-b", "system_prompt": "Answer briefly.", **small}, *extra_models]
    settings = make_settings(url, battles_per_minute=100, votes_per_minute=100, **overrides)
    runner = ManagerThread(ModelManager(ModelsConfig.model_validate({"models": models}), settings))
    assert runner.start(timeout=30)
    return runner, create_app(settings, runner.manager)


def _events(resp):
    for line in resp.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[6:])


def _vote(**over):
    return {"content": "left", "language": "tie", "idempotency_key": uuid.uuid4().hex} | over


def test_prompt_battle_streams_both_sides_refuses_early_votes_and_reveals(vllm, sqlite_url):
    runner, app = _arena_app(vllm, sqlite_url)
    me, token = annotator(sqlite_url)
    try:
        with AppServer(app) as live, httpx.Client(timeout=120) as h:
            sides: dict[str, str] = {"left": "", "right": ""}
            early = None
            with h.stream("POST", f"{live.url}/api/arena/battles", headers=auth(token),
                          json={"mode": "prompt", "prompt": "Астана туралы бір сөйлем жаз."}) as resp:
                assert resp.status_code == 200
                for event in _events(resp):
                    if "prompt" in event:
                        battle_id = event["battle_id"]
                        early = httpx.post(f"{live.url}/api/arena/battles/{battle_id}/vote", json=_vote(), headers=auth(token))
                    elif "delta" in event:
                        sides[event["side"]] += event["delta"]
                    elif "state" in event:
                        final = event
            assert early is not None and early.status_code == 409 and early.json()["error"]["code"] == "answers_incomplete"
            assert sides["left"] and sides["right"] and final["state"] == "ready"
            seen = h.get(f"{live.url}/api/arena/battles/{battle_id}", headers=auth(token)).json()
            assert seen["left"][-1]["content"] == sides["left"] and "models" not in seen  # still anonymous

            turn = h.post(f"{live.url}/api/arena/battles/{battle_id}/turns", headers=auth(token),
                          json={"prompt": "Тағы бір сөйлем."})
            assert turn.status_code == 200 and list(_events(turn))[-1]["turn"] == 2
            reveal = h.post(f"{live.url}/api/arena/battles/{battle_id}/vote", json=_vote(), headers=auth(token)).json()
            assert {reveal["left"]["model"], reveal["right"]["model"]} == {"kk-a", "kk-b"}
        with session_scope(sqlite_url) as s:
            b = s.get(Battle, battle_id)
            assert b.state == "voted" and b.turn == 2 and len(b.conversation_a) == 4 and b.sampling_prob == 1.0
            assert b.params_a["temperature"] == 0.9 and b.params_a["top_p"] == 0.95 and b.revision_a
            left_model = b.model_a if b.position == "a" else b.model_b
            assert reveal["left"]["model"] == left_model
            assert reveal["winner"] == ("model_a" if b.position == "a" else "model_b")  # "left" won on content
    finally:
        runner.stop()


def test_continuation_tasks_gold_controls_and_abandoned_battles(vllm, sqlite_url):
    runner, app = _arena_app(vllm, sqlite_url, gold_rate=0.0)
    me, token = annotator(sqlite_url)
    try:
        with AppServer(app) as live, httpx.Client(timeout=120) as h:
            task = list(_events(h.post(f"{live.url}/api/arena/battles", headers=auth(token), json={"mode": "continuation"})))
            assert "2-адам" in task[0]["prompt"] and task[-1]["state"] == "ready"
            app.state.runtime.settings.__dict__["gold_rate"] = 1.0  # every further task is a control
            gold = list(_events(h.post(f"{live.url}/api/arena/battles", headers=auth(token), json={"mode": "continuation"})))
        with session_scope(sqlite_url) as s:
            first, second = s.get(Battle, task[0]["battle_id"]), s.get(Battle, gold[0]["battle_id"])
            assert first.task_id and first.state == "abandoned"  # a new round leaves the old one stored
            assert second.gold and second.gold_better == "model_a" and second.model_a == "gold:reference"
            answer_a = second.conversation_a[-1]["content"]
            assert answer_a == second.events[0]["good"] and second.conversation_b[-1]["content"] == second.events[0]["bad"]
    finally:
        runner.stop()


def test_a_model_failing_on_the_first_turn_is_replaced_once_and_logged(vllm, sqlite_url, broken_url):
    broken = {"name": "broken", "base_url": broken_url, "arena_weight": 100}
    runner, app = _arena_app(vllm, sqlite_url, extra_models=[broken])
    # make the pair (broken, kk-a) near-certain, leaving kk-b as the only replacement
    for name, w in (("kk-a", 100.0), ("kk-b", 0.0001)):
        runner.manager.contestants[name] = runner.manager.contestants[name].model_copy(update={"arena_weight": w})
    me, token = annotator(sqlite_url)
    try:
        with AppServer(app) as live:
            events = list(_events(httpx.post(f"{live.url}/api/arena/battles", headers=auth(token), timeout=120,
                                             json={"mode": "prompt", "prompt": "Сәлем!"})))
        assert any(e.get("restart") for e in events) and events[-1]["state"] == "ready"
        with session_scope(sqlite_url) as s:
            b = s.get(Battle, events[0]["battle_id"])
            replaced = [e for e in b.events if e["type"] == "replaced"]
            assert len(replaced) == 1 and replaced[0]["from"] == "broken" and replaced[0]["to"] == "kk-b"
            assert {b.model_a, b.model_b} == {"kk-a", "kk-b"}
    finally:
        runner.stop()


def _long_arena(vllm, url, tokens=96):
    """Answers long enough to be interrupted: `tokens` each, none ending early."""
    runner, app = _arena_app(vllm, url)
    for name in ("kk-a", "kk-b"):
        spec = runner.manager.contestants[name]
        runner.manager.contestants[name] = spec.model_copy(
            update={"sampling": spec.sampling.model_copy(update={"max_tokens": tokens, "min_tokens": tokens})})
    return runner, app


def test_a_client_that_leaves_mid_stream_loses_nothing_and_a_second_tab_follows_the_same_turn(vllm, sqlite_url):
    # long enough that the second tab comes while the answers are still being written, even on a fast machine
    runner, app = _long_arena(vllm, sqlite_url, tokens=320)
    me, token = annotator(sqlite_url)
    other = annotator(sqlite_url, "someone-else")[1]
    try:
        with AppServer(app) as live, httpx.Client(timeout=180) as h:
            with h.stream("POST", f"{live.url}/api/arena/battles", headers=auth(token),
                          json={"mode": "prompt", "prompt": "Қазақстанның тарихы туралы ұзақ әңгімелеп бер."}) as resp:
                first = []
                for event in _events(resp):
                    first.append(event)
                    if sum("delta" in e for e in first) >= 3:
                        break  # the tab is closed here, three pieces in
            battle_id = first[0]["battle_id"]
            waiting = h.get(f"{live.url}/api/arena/battles/waiting", headers=auth(token)).json()
            assert waiting["battle_id"] == battle_id and waiting["streaming"] is True and waiting["state"] == "open"
            assert h.get(f"{live.url}/api/arena/battles/{battle_id}/stream", headers=auth(other)).status_code == 404
            with h.stream("GET", f"{live.url}/api/arena/battles/{battle_id}/stream", headers=auth(token)) as resp:
                assert resp.status_code == 200, resp.read()
                followed = list(_events(resp))  # the second tab: the turn from its first event to its end
            assert [e for e in followed if "delta" in e][:3] == [e for e in first if "delta" in e]  # the same turn
            assert followed[-1]["state"] == "ready" and followed[-1]["stopped"] is False
            done = {e["side"]: e for e in followed if e.get("done")}
            assert set(done) == {"left", "right"} and all(d["tokens"] > 3 for d in done.values())
            again = h.get(f"{live.url}/api/arena/battles/{battle_id}/stream", headers=auth(token))
            assert again.status_code == 409 and again.json()["error"]["code"] == "not_streaming"
            seen = h.get(f"{live.url}/api/arena/battles/waiting", headers=auth(token)).json()
            assert seen["streaming"] is False and seen["state"] == "ready"
            for side in ("left", "right"):  # every piece streamed is what was stored
                assert seen[side][-1]["content"] == "".join(e["delta"] for e in followed if e.get("side") == side and "delta" in e)
            assert h.post(f"{live.url}/api/arena/battles/{battle_id}/vote", json=_vote(), headers=auth(token)).status_code == 200
    finally:
        runner.stop()


def test_stop_ends_both_answers_where_they_are_and_the_shortened_turn_can_be_voted(vllm, sqlite_url):
    runner, app = _long_arena(vllm, sqlite_url, tokens=256)  # stopped long before the end
    me, token = annotator(sqlite_url)
    try:
        with AppServer(app) as live, httpx.Client(timeout=120) as h:
            events, stopped = [], None
            with h.stream("POST", f"{live.url}/api/arena/battles", headers=auth(token),
                          json={"mode": "prompt", "prompt": "Абай Құнанбайұлы туралы ұзақ әңгімелеп бер."}) as resp:
                for event in _events(resp):
                    events.append(event)
                    if stopped is None and {"left", "right"} <= {e["side"] for e in events if "delta" in e}:
                        stopped = httpx.post(f"{live.url}/api/arena/battles/{events[0]['battle_id']}/stop",
                                             headers=auth(token), timeout=60)
            battle_id = events[0]["battle_id"]
            # answered once the shortened turn is stored: its answers are complete and can be read and voted on
            assert stopped.status_code == 200 and stopped.json()["state"] == "ready", stopped.text
            assert events[-1]["state"] == "ready" and events[-1]["stopped"] is True
            assert any(e.get("stopped") for e in events if e.get("done"))
            cut = {side: "".join(e["delta"] for e in events if e.get("side") == side and "delta" in e) for side in ("left", "right")}
            assert stopped.json()["left"][-1]["content"] == cut["left"] and stopped.json()["right"][-1]["content"] == cut["right"]
            late = h.post(f"{live.url}/api/arena/battles/{battle_id}/stop", headers=auth(token))
            assert late.status_code == 409 and late.json()["error"]["code"] == "not_streaming"
            assert h.post(f"{live.url}/api/arena/battles/{battle_id}/vote", json=_vote(), headers=auth(token)).status_code == 200
        with session_scope(sqlite_url) as s:
            b = s.get(Battle, battle_id)
            assert b.state == "voted" and [e["type"] for e in b.events if e["type"] == "stopped"] == ["stopped"]
            assert sum(len(c["content"]) for c in (b.conversation_a[-1], b.conversation_b[-1])) > 0
    finally:
        runner.stop()
