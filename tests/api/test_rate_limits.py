"""Rate limits count per person first and per IP much looser; X-Forwarded-For only from trusted proxies.

Two annotators behind one NAT (the TestClient is one IP) both get their full allowance; one machine
flooding still meets the per-IP limit; /api/chat is limited per conversation and /v1 per API key.
"""

import pytest
from fastapi.testclient import TestClient

from app.crud import create_api_key
from app.main import create_app
from app.services.admission import client_ip, trusted_networks
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, auth, ready_battle


def _client(url, **overrides):
    settings = make_settings(url, **overrides)
    config = ModelsConfig.model_validate({"models": [{"name": "m1", "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    return TestClient(create_app(settings, ModelManager(config, settings)))


def _vote(c, battle, token, **headers):
    import uuid
    body = {"content": "left", "language": "left", "idempotency_key": uuid.uuid4().hex}
    return c.post(f"/api/arena/battles/{battle}/vote", json=body, headers=auth(token) | headers).status_code


def test_two_annotators_behind_one_ip_each_get_their_own_allowance(sqlite_url):
    people = [annotator(sqlite_url) for _ in range(3)]
    with _client(sqlite_url, votes_per_minute=3, ip_limit_factor=2) as c:
        first = [_vote(c, ready_battle(sqlite_url, a), token) for a, token in people[:1] for _ in range(4)]
        second = [_vote(c, ready_battle(sqlite_url, a), token) for a, token in people[1:2] for _ in range(3)]
        third = _vote(c, ready_battle(sqlite_url, people[2][0]), people[2][1])
    assert first == [200, 200, 200, 429]      # the person's own limit
    assert second == [200, 200, 200]          # a neighbour on the same IP is not punished for it
    assert third == 429                       # but 6 votes from one IP is the (looser) IP limit


def test_forwarded_for_counts_only_from_a_trusted_proxy(sqlite_url):
    a, token = annotator(sqlite_url)
    b, token_b = annotator(sqlite_url)
    # the TestClient's peer is "testclient": not an IP, so never a trusted proxy; the header is ignored
    with _client(sqlite_url, votes_per_minute=1, ip_limit_factor=1) as c:
        assert _vote(c, ready_battle(sqlite_url, a), token, **{"X-Forwarded-For": "203.0.113.1"}) == 200
        assert _vote(c, ready_battle(sqlite_url, b), token_b, **{"X-Forwarded-For": "203.0.113.2"}) == 429


def test_client_ip_believes_only_our_own_proxies():
    trusted = trusted_networks("10.0.0.0/8, 192.0.2.7")
    assert client_ip("198.51.100.9", "203.0.113.1", trusted) == "198.51.100.9"          # not a proxy: header ignored
    assert client_ip("10.1.2.3", "203.0.113.1", trusted) == "203.0.113.1"               # our proxy names the client
    assert client_ip("10.1.2.3", "1.1.1.1, 203.0.113.1, 192.0.2.7", trusted) == "203.0.113.1"  # nearest non-proxy hop
    assert client_ip("10.1.2.3", "not-an-ip", trusted) == "10.1.2.3"                     # malformed: the proxy only
    assert client_ip("10.1.2.3", None, trusted) == "10.1.2.3"
    assert client_ip(None, None, ()) == "unknown"
    with pytest.raises(ValueError, match="KAZARENA_TRUSTED_PROXIES"):
        trusted_networks("10.0.0.0/33")


def test_chat_is_limited_per_conversation_and_loosely_per_ip(sqlite_url):
    cid = "c" * 32
    with _client(sqlite_url, chat_per_minute=2, ip_limit_factor=2) as c:
        ask = lambda conversation: c.post("/api/chat", json={"model": "m1", "message": "Сәлем",  # noqa: E731
                                                             "conversation_id": conversation})
        codes = [ask(cid).status_code for _ in range(3)]
        other = [ask("d" * 32).status_code for _ in range(2)]
        refused = ask("d" * 32)
    assert codes == [503, 503, 429]       # 503: the model is down, but the question was admitted
    assert other == [503, 503]            # a new conversation has its own allowance...
    assert refused.status_code == 429     # ...until the IP limit (2 x 2 = 4 admitted questions)
    body = refused.json()["error"]
    assert body["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1


def test_v1_is_limited_per_api_key(sqlite_url):
    with session_scope(sqlite_url) as s:
        key_a, key_b = create_api_key(session=s, name="a")[1], create_api_key(session=s, name="b")[1]
    with _client(sqlite_url, auth_enabled=True, api_per_minute=2, ip_limit_factor=3) as c:
        models = lambda key: c.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code  # noqa: E731
        assert [models(key_a) for _ in range(3)] == [200, 200, 429]
        assert [models(key_b) for _ in range(2)] == [200, 200]
        assert models(key_b) == 429


def test_without_keys_only_the_ip_limit_counts(sqlite_url):
    with _client(sqlite_url, auth_enabled=False, api_per_minute=2, ip_limit_factor=2) as c:
        assert [c.get("/v1/models").status_code for _ in range(5)] == [200, 200, 200, 200, 429]
