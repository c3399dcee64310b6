"""The API against a real vLLM server on the packaged model (httpx and the openai client)."""

import json
import re

import httpx
import openai
import pytest
from sqlalchemy import select

from app.crud import create_api_key
from app.main import create_app
from db.models import Generation
from db.session import session_scope
from tests.conftest import TEST_MODEL, TEST_RAG_MODEL, make_settings
from tests.utils.servers import AppServer, requests_running
from tests.utils.wait import wait_until

pytestmark = pytest.mark.vllm
QUESTION = "Қазақстанның астанасы қай қала?"


@pytest.fixture(scope="module")
def live(vllm, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'kazarena.db'}"
    app = create_app(make_settings(url, auth_enabled=True), manager=vllm.manager)
    with AppServer(app) as server:
        with session_scope(url) as s:
            _, key = create_api_key(session=s, name="tests")
        server.key, server.db = key, url
        yield server


def _headers(live):
    return {"Authorization": f"Bearer {live.key}"}


def _all_generations(live):
    with session_scope(live.db) as s:
        return s.scalars(select(Generation).order_by(Generation.created_at)).all()


def _generations(live, more_than: int):
    """The records, once more than `more_than` are written (records are written off the request path)."""
    def written():
        rows = _all_generations(live)
        return rows if len(rows) > more_than else None
    return wait_until(written, message=f"more than {more_than} generation records")


def _sse(lines):
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[6:])


def test_generate_answers_and_is_recorded(live):
    before = len(_all_generations(live))
    resp = httpx.post(f"{live.url}/v1/generate", headers=_headers(live), timeout=120,
                      json={"model": TEST_MODEL, "prompt": QUESTION, "max_tokens": 12, "temperature": 0})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == TEST_MODEL and body["text"].strip()
    assert body["finish_reason"] in {"stop", "length"}
    assert body["usage"]["prompt_tokens"] > 5 and 0 < body["usage"]["completion_tokens"] <= 12
    assert body["latency_ms"] > 0 and body["id"].startswith("gen-")
    row = _generations(live, more_than=before)[-1]
    assert (row.endpoint, row.model, row.status) == ("generate", TEST_MODEL, "ok")
    assert row.output == body["text"] and row.completion_tokens == body["usage"]["completion_tokens"]
    assert row.messages == [{"role": "user", "content": QUESTION}] and row.api_key_id is not None
    assert row.params["temperature"] == 0 and row.params["top_p"] == 0.95  # configured default kept


def test_generate_streams_server_sent_events(live):
    with httpx.stream("POST", f"{live.url}/v1/generate", headers=_headers(live), timeout=120,
                      json={"model": TEST_MODEL, "messages": [{"role": "user", "content": QUESTION}],
                            "max_tokens": 10, "temperature": 0, "stream": True}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    events = list(_sse(lines))
    deltas = [e["delta"] for e in events if "delta" in e]
    final = events[-1]
    assert len(deltas) >= 2 and "".join(deltas) == final["text"]
    assert final["usage"]["completion_tokens"] == 10 and final["finish_reason"] == "length"
    assert lines[-1] == "data: [DONE]"


def test_seed_makes_sampling_reproducible(live):
    def ask():
        return httpx.post(f"{live.url}/v1/generate", headers=_headers(live), timeout=120, json={
            "model": TEST_MODEL, "prompt": QUESTION, "max_tokens": 8, "temperature": 1.0, "seed": 1234}).json()["text"]

    assert ask() == ask()


def test_official_openai_client_chat_and_stream(live):
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=live.key, max_retries=0)
    assert TEST_MODEL in [m.id for m in client.models.list().data]
    chat = client.chat.completions.create(model=TEST_MODEL, messages=[{"role": "user", "content": QUESTION}],
                                          max_tokens=8, temperature=0)
    assert chat.model == TEST_MODEL and chat.choices[0].message.content and chat.usage.completion_tokens <= 8
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=TEST_MODEL, messages=[{"role": "user", "content": QUESTION}], max_tokens=8, temperature=0,
        stream=True) if c.choices]
    assert "".join(pieces) == chat.choices[0].message.content  # greedy: same text both ways
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live.url}/v1", api_key="kza_nope", max_retries=0).models.list()


def test_completions_pass_logprobs_and_echo_through(live):
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=live.key, max_retries=0)
    out = client.completions.create(model=TEST_MODEL, prompt="Астана - Қазақстанның астанасы", max_tokens=1,
                                    logprobs=1, echo=True, temperature=0)
    lp = out.choices[0].logprobs
    assert out.choices[0].text.startswith("Астана")
    assert len(lp.tokens) == len(lp.token_logprobs) >= 4
    assert lp.token_logprobs[0] is None and all(x <= 0 for x in lp.token_logprobs[1:])
    streamed = list(client.completions.create(model=TEST_MODEL, prompt="Алматы", max_tokens=4, temperature=0, stream=True))
    assert streamed and all(c.model == TEST_MODEL for c in streamed)


def test_prompt_longer_than_the_model_context_is_a_400_from_upstream(live):
    long_prompt = "сөз " * 1500  # under our character limit, over the 1024-token context
    resp = httpx.post(f"{live.url}/v1/generate", headers=_headers(live), timeout=120,
                      json={"model": TEST_MODEL, "prompt": long_prompt, "max_tokens": 4})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "upstream_rejected"


def _running(vllm):
    return requests_running(next(iter(vllm.manager.servers.values())))


def test_client_disconnect_cancels_the_upstream_request(live, vllm):
    before = len(_all_generations(live))
    with httpx.stream("POST", f"{live.url}/v1/chat/completions", headers=_headers(live), timeout=120,
                      json={"model": TEST_MODEL, "messages": [{"role": "user", "content": QUESTION}],
                            "max_tokens": 900, "temperature": 0.9, "stream": True,
                            "stop": ["never-appears-xyz"]}) as resp:
        for line in resp.iter_lines():
            if '"content"' in line:
                break  # the first token arrived: hang up
    # 900 tokens would take over a minute on this CPU: 15 s is enough to tell a cancel
    wait_until(lambda: _running(vllm) == 0, timeout=15, interval=0.5, message="vLLM to drop the request")
    assert _running(vllm) == 0
    row = _generations(live, more_than=before)[-1]
    assert row.status == "cancelled" and row.endpoint == "chat.completions"


def test_metrics_count_requests_and_tokens(live):
    text = httpx.get(f"{live.url}/metrics").text
    ok = re.search(rf'kazarena_requests_total{{endpoint="generate",model="{TEST_MODEL}",status="ok"}} ([0-9.]+)', text)
    assert ok and float(ok.group(1)) >= 2
    assert re.search(rf'kazarena_tokens_total{{kind="completion",model="{TEST_MODEL}"}} [1-9]', text)
    assert "kazarena_time_to_first_token_seconds_bucket" in text


def test_rag_contestant_answers_with_numbered_sources(live):
    resp = httpx.post(f"{live.url}/v1/generate", headers=_headers(live), timeout=120, json={
        "model": TEST_RAG_MODEL, "prompt": "Жаңа туған баланы қалай тіркеуге болады?", "max_tokens": 8})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == TEST_RAG_MODEL and body["sources"]
    assert [s["number"] for s in body["sources"]] == list(range(1, len(body["sources"]) + 1))
    assert all(s["source_url"].startswith("https://") for s in body["sources"])
    # the grounded prompt is longer than the question alone: the chunks reached the model
    assert body["usage"]["prompt_tokens"] > 100
