"""The citizens' chat over REST: streaming, storage, grounding, feedback and bad input.

The `vllm`-marked tests run against the real packaged model (answers capped at
12 tokens); the others need no model: a closed port stands for a model that is
down, and a tiny responder breaks its stream after two tokens.
"""

import dataclasses
import json

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import crud
from app.main import create_app
from app.services.chat import model_history
from app.serving.manager import READY, ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from db.models import Generation, Message
from db.session import session_scope
from eval.langid import LANGUAGES, detect_language
from tests.conftest import TEST_MODEL, make_settings
from tests.utils.chat import BrokenStreamServer, GovsetGrounder, extra_contestants
from tests.utils.servers import AppServer
from tests.utils.wait import wait_until

QUESTION = "Жеке куәлікті қалай алуға болады?"
SMALL = {"temperature": 0.0, "max_tokens": 12}


def _events(resp: httpx.Response) -> list[dict]:
    lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]" or "error" in lines[-1]
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ") and line != "data: [DONE]"]


def _messages(db: str, conversation_id: str) -> list[Message]:
    with session_scope(db) as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                              .order_by(Message.id)))


# --------------------------------------------------------------- real model
@pytest.fixture(scope="module")
def live(vllm, tmp_path_factory):
    specs = [{"name": "chat-plain", "server": TEST_MODEL, "sampling": SMALL},
             {"name": "chat-rag", "server": TEST_MODEL, "pipeline": "rag", "sampling": SMALL}]
    with extra_contestants(vllm.manager, specs):
        db = f"sqlite:///{tmp_path_factory.mktemp('chat') / 'kazarena.db'}"
        app = create_app(make_settings(db), manager=vllm.manager, grounder=GovsetGrounder())
        with AppServer(app) as server:
            server.db, server.app = db, app
            yield server


def _ask(live, **body) -> tuple[httpx.Response, list[dict]]:
    with httpx.stream("POST", f"{live.url}/api/chat", json=body, timeout=120) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        return resp, _events(resp)


def _chat_call(live, user_message: str) -> Generation:
    """The newest record of a chat model call, once the one that asked `user_message` is written
    (the model call is recorded off the request path)."""
    def newest() -> Generation | None:
        with session_scope(live.db) as s:
            call = s.scalars(select(Generation).where(Generation.endpoint == "chat")
                             .order_by(Generation.created_at.desc())).first()
        return call if call is not None and call.messages[-1] == {"role": "user", "content": user_message} else None
    return wait_until(newest, message=f"the chat call record for {user_message!r}")


@pytest.mark.vllm
def test_chat_streams_the_answer_and_stores_both_messages(live):
    resp, events = _ask(live, model="chat-plain", message=QUESTION, grounding=False)
    deltas = [e["delta"] for e in events if "delta" in e]
    final = events[-1]
    assert final["done"] and len(deltas) >= 2 and "".join(deltas) == final["text"]
    assert final["usage"]["completion_tokens"] == 12 and final["finish_reason"] == "length"
    assert final["sources"] == [] and final["grounding_unavailable"] is False
    assert final["language"] in LANGUAGES and final["language"] == detect_language(final["text"])
    cid = final["conversation_id"]
    assert resp.headers["x-conversation-id"] == cid and len(cid) == 32

    user, answer = _messages(live.db, cid)
    assert (user.role, user.turn, user.content, user.language) == ("user", 1, QUESTION, "kk-cyrl")
    assert (answer.role, answer.turn, answer.model) == ("assistant", 1, "chat-plain")
    assert answer.id == final["message_id"] and answer.content == final["text"]
    assert answer.language == final["language"] and answer.feedback is None


@pytest.mark.vllm
def test_second_turn_sends_the_history_and_is_stored_as_turn_two(live):
    _, first = _ask(live, model="chat-plain", message=QUESTION, grounding=False)
    cid = first[-1]["conversation_id"]
    follow_up = "Құжат неше жылға беріледі?"
    _, second = _ask(live, model="chat-plain", message=follow_up, grounding=False, conversation_id=cid)
    assert second[-1]["conversation_id"] == cid

    history = httpx.get(f"{live.url}/api/chat/{cid}", timeout=10).json()
    assert history["count"] == 4
    assert [(m["turn"], m["role"]) for m in history["data"]] == [(1, "user"), (1, "assistant"),
                                                                 (2, "user"), (2, "assistant")]
    assert history["data"][3]["content"] == second[-1]["text"]
    call = _chat_call(live, follow_up)
    assert call.messages == [{"role": "user", "content": QUESTION},
                             {"role": "assistant", "content": first[-1]["text"]},
                             {"role": "user", "content": follow_up}]
    assert call.params["max_tokens"] == 12 and call.status == "ok"


@pytest.mark.vllm
def test_grounded_answer_lists_numbered_sources_and_stores_them(live):
    question = "Зейнетақы тағайындау үшін қандай құжаттар керек?"
    _, events = _ask(live, model="chat-plain", message=question, grounding=True)
    final = events[-1]
    assert final["sources"] == live.app.state.runtime.grounder.ground(question)[1]  # what retrieval found, unchanged
    assert final["sources"][0]["title"] == "Жасына байланысты зейнетақы тағайындау"
    assert final["sources"][0]["source_url"].startswith("https://")
    assert [s["number"] for s in final["sources"]] == list(range(1, len(final["sources"]) + 1))
    answer = _messages(live.db, final["conversation_id"])[-1]
    assert answer.sources == final["sources"]
    call = _chat_call(live, question)
    assert call.messages[0]["role"] == "system"
    assert "Жасына байланысты зейнетақы тағайындау" in call.messages[0]["content"]
    assert call.messages[-1] == {"role": "user", "content": question}


@pytest.mark.vllm
def test_rag_contestant_without_an_index_says_so_and_still_answers(live):
    runtime = live.app.state.runtime
    live.app.state.runtime = dataclasses.replace(runtime, grounder=None)
    try:
        _, events = _ask(live, model="chat-rag", message=QUESTION)
    finally:
        live.app.state.runtime = runtime
    final = events[-1]
    assert final["grounding_unavailable"] is True and final["sources"] == [] and final["text"]


@pytest.mark.vllm
def test_feedback_is_stored_replaced_and_shown_in_the_history(live):
    _, events = _ask(live, model="chat-plain", message=QUESTION, grounding=False)
    cid, mid = events[-1]["conversation_id"], events[-1]["message_id"]
    up = httpx.post(f"{live.url}/api/chat/feedback", json={"conversation_id": cid, "message_id": mid,
                                                            "rating": "up"}, timeout=10)
    assert up.status_code == 200 and up.json() == {"message_id": mid, "feedback": 1, "feedback_reason": None}
    down = httpx.post(f"{live.url}/api/chat/feedback", timeout=10, json={
        "conversation_id": cid, "message_id": mid, "rating": "down", "reason": "  Жауап орысша  "})
    assert down.json() == {"message_id": mid, "feedback": -1, "feedback_reason": "Жауап орысша"}
    answer = _messages(live.db, cid)[-1]
    assert (answer.feedback, answer.feedback_reason) == (-1, "Жауап орысша")
    shown = httpx.get(f"{live.url}/api/chat/{cid}", timeout=10).json()["data"][-1]
    assert (shown["feedback"], shown["feedback_reason"]) == (-1, "Жауап орысша")


# ------------------------------------------------------------ without a model
@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """An app whose `down` model is on a closed port and whose `broken` model fails mid-stream."""
    db = f"sqlite:///{tmp_path_factory.mktemp('offline') / 'kazarena.db'}"
    with BrokenStreamServer() as broken:
        settings = make_settings(db, max_prompt_chars=100)
        config = ModelsConfig.model_validate({"models": [
            {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
            {"name": "broken", "base_url": f"{broken.url}/v1"}]})
        manager = ModelManager(config, settings)
        manager.servers["broken"].state = READY  # the health loop is not under test here
        with TestClient(create_app(settings, manager)) as client:
            client.db = db
            client.seed = _seed_conversation(db)
            yield client


def _count(db: str) -> int:
    with session_scope(db) as s:
        return len(s.scalars(select(Message)).all())


@pytest.mark.parametrize(("body", "status", "code", "words"), [
    ({"model": "down", "message": ""}, 400, "empty_message", "empty"),
    ({"model": "down", "message": " \n\t "}, 400, "empty_message", "empty"),
    ({"model": "down", "message": "ә" * 101}, 400, "message_too_long", "limit is 100"),
    ({"model": "down"}, 400, "invalid_request", "message"),
    ({"model": "down", "message": "Сәлем", "temperature": 2}, 400, "invalid_request", "temperature"),
    ({"model": "down", "message": "Сәлем", "conversation_id": "../../etc"}, 400, "invalid_conversation_id", "8-64"),
    ({"model": "gpt-5", "message": "Сәлем"}, 404, "model_not_found", "gpt-5"),
    ({"model": "down", "message": "Сәлем"}, 503, "model_unavailable", "'down'"),
])
def test_bad_chat_requests_get_clear_errors_and_store_nothing(offline, body, status, code, words):
    before = _count(offline.db)
    resp = offline.post("/api/chat", json=body)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code and words in err["message"]
    assert _count(offline.db) == before


def test_a_model_failing_mid_stream_sends_an_error_event_and_keeps_the_question(offline):
    with offline.stream("POST", "/api/chat", json={"model": "broken", "message": "Сәлем"}) as resp:
        assert resp.status_code == 200
        events = _events(resp)
    assert [e["delta"] for e in events[:-1]] == list(BrokenStreamServer.TOKENS)
    assert events[-1]["error"]["code"] == "model_unavailable"
    cid = resp.headers["x-conversation-id"]
    rows = _messages(offline.db, cid)
    assert [(r.role, r.content) for r in rows] == [("user", "Сәлем")]  # no half answer stored
    history = offline.get(f"/api/chat/{cid}").json()
    assert history["count"] == 1


def _seed_conversation(db: str) -> tuple[str, int, int]:
    """One answered turn, stored directly, for the feedback checks."""
    with session_scope(db) as s:
        user = crud.add_chat_message(session=s, conversation_id="conv-aaaa-1", turn=1, role="user", content="Сұрақ")
        answer = crud.add_chat_message(session=s, conversation_id="conv-aaaa-1", turn=1, role="assistant",
                                       content="Жауап", model="down", language="kk-cyrl")
        return "conv-aaaa-1", user.id, answer.id


@pytest.mark.parametrize(("change", "status", "code", "words"), [
    ({"rating": "meh"}, 400, "invalid_request", "rating"),
    ({"rating": None}, 400, "invalid_request", "rating"),
    ({"message_id": 0}, 400, "invalid_request", "message_id"),
    ({"reason": "ә" * 1001}, 400, "reason_too_long", "reason"),  # one code per limit (issue 13)
    ({"conversation_id": "x"}, 400, "invalid_request", "conversation_id"),
    ({"conversation_id": "someone-elses-conversation"}, 404, "not_found", "no message"),
    ({"message_id": 999_999}, 404, "not_found", "no message"),
    ({"message_id": "USER"}, 400, "not_an_answer", "answers"),
    ({"extra": 1}, 400, "invalid_request", "extra"),
])
def test_feedback_validation_errors(offline, change, status, code, words):
    cid, user_id, answer_id = offline.seed
    body = {"conversation_id": cid, "message_id": answer_id, "rating": "up", **change}
    if body["message_id"] == "USER":
        body["message_id"] = user_id
    resp = offline.post("/api/chat/feedback", json=body)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code and words in err["message"]
    assert all(m.feedback is None for m in _messages(offline.db, cid))


def test_history_of_an_unknown_or_malformed_conversation(offline):
    assert offline.get("/api/chat/abcdefgh12").json()["error"]["code"] == "not_found"
    assert offline.get("/api/chat/abc").status_code == 400


def test_model_history_skips_unanswered_turns_and_drops_the_oldest_first():
    rows = [Message(turn=1, role="user", content="q1"), Message(turn=1, role="assistant", content="a1"),
            Message(turn=2, role="user", content="q2 (its answer failed)"),
            Message(turn=3, role="user", content="q3"), Message(turn=3, role="assistant", content="a3")]
    pair = lambda q, a: [{"role": "user", "content": q}, {"role": "assistant", "content": a}]  # noqa: E731
    assert model_history(rows, budget_chars=1000, max_messages=200) == pair("q1", "a1") + pair("q3", "a3")
    assert model_history(rows, budget_chars=7, max_messages=200) == pair("q3", "a3")  # 8 chars do not fit
    assert model_history(rows, budget_chars=1000, max_messages=4) == pair("q3", "a3")  # + the new question
    assert model_history(rows, budget_chars=1000, max_messages=5) == pair("q1", "a1") + pair("q3", "a3")
    assert model_history(rows, budget_chars=3, max_messages=200) == []
