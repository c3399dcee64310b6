"""Arena accounts and votes on real SQLite and PostgreSQL: integrity under concurrency."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from arena.records import voted_battle_rows
from db.models import Battle, Vote
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, auth, ready_battle
from tests.utils.servers import AppServer


def _app(url, **overrides):
    settings = make_settings(url, **overrides)
    config = ModelsConfig.model_validate({"models": [{"name": "m1", "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    return create_app(settings, ModelManager(config, settings))


def _vote(**over):
    return {"content": "left", "language": "left", "idempotency_key": uuid.uuid4().hex} | over


def test_registration_requires_consent_and_valid_profile(sqlite_url):
    with TestClient(_app(sqlite_url)) as c:
        base = {"username": "aigerim", "password": "jaksy-soz-1", "proficiency": "native", "consent": True,
                "age_confirmed": True}
        assert c.get("/api/arena/consent?lang=ru").json()["text"].startswith("Уведомление")
        for bad, code in [({"consent": False}, "consent_required"), ({"age_confirmed": False}, "consent_required"),
                          ({"proficiency": "fluent"}, "invalid_proficiency"), ({"password": "short"}, "invalid_password"),
                          ({"username": "a b"}, "invalid_username"), ({"consent_version": "old"}, "stale_consent")]:
            r = c.post("/api/arena/register", json=base | bad)
            assert r.status_code == 400 and r.json()["error"]["code"] == code
        assert c.post("/api/arena/register", json=base).status_code == 201
        assert c.post("/api/arena/register", json=base).json()["error"]["code"] == "username_taken"
        assert c.post("/api/arena/login", json={"username": "aigerim", "password": "wrong-pass"}).status_code == 401
        login = c.post("/api/arena/login", json={"username": "aigerim", "password": "jaksy-soz-1"})
        assert login.status_code == 200 and c.get("/api/arena/me").json()["username"] == "aigerim"  # cookie session
        c.post("/api/arena/logout")
        assert c.get("/api/arena/me").status_code == 401


def test_sessions_expire(sqlite_url):
    _, token = annotator(sqlite_url)
    with session_scope(sqlite_url) as s:
        from db.models import AnnotatorSession
        s.execute(AnnotatorSession.__table__.update().values(expires_at=AnnotatorSession.created_at))
    with TestClient(_app(sqlite_url)) as c:
        r = c.get("/api/arena/me", headers=auth(token))
        assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"


def test_vote_rules_and_idempotency(db_url):
    me, token = annotator(db_url)
    other, other_token = annotator(db_url)
    battle = ready_battle(db_url, me, position="b")
    with TestClient(_app(db_url)) as c:
        url = f"/api/arena/battles/{battle}/vote"
        assert c.post(url, json=_vote()).status_code == 401
        bad = [({"content": "A"}, 400), ({"content": "left", "language": "right"}, 400),
               ({"comment": "ж" * 2001}, 400), ({"idempotency_key": "short"}, 400)]
        for over, status in bad:
            assert c.post(url, json=_vote(**over), headers=auth(token)).status_code == status
        assert c.post(url, json=_vote(), headers=auth(other_token)).json()["error"]["code"] == "not_your_battle"
        assert c.post("/api/arena/battles/nope/vote", json=_vote(), headers=auth(token)).status_code == 404
        body = _vote(content="left", language="right", overall="right", comment="<script>alert(1)</script> жақсы")
        first = c.post(url, json=body, headers=auth(token))
        assert first.status_code == 200, first.text
        reveal = first.json()
        # position b: model_b was shown on the left, so "right" means model_a
        assert reveal["left"]["model"] == "m2" and reveal["winner"] == "model_a" and reveal["decided_by"] == "overall"
        again = c.post(url, json=body, headers=auth(token))
        assert again.status_code == 200 and again.json() == reveal  # same key: same answer, one vote
        assert c.post(url, json=_vote(), headers=auth(token)).json()["error"]["code"] == "already_voted"
        other_battle = ready_battle(db_url, me)
        reused = c.post(f"/api/arena/battles/{other_battle}/vote", json=body, headers=auth(token))
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
    with session_scope(db_url) as s:
        votes = s.scalars(select(Vote)).all()
        assert len(votes) == 1 and votes[0].comment == "<script>alert(1)</script> жақсы"  # stored as text, inert
        assert votes[0].consent_version and votes[0].seconds_to_vote is not None
        assert s.get(Battle, battle).state == "voted"


def test_voting_is_refused_until_answers_are_complete(sqlite_url):
    me, token = annotator(sqlite_url)
    battle = ready_battle(sqlite_url, me, state="open")
    with TestClient(_app(sqlite_url)) as c:
        r = c.post(f"/api/arena/battles/{battle}/vote", json=_vote(), headers=auth(token))
        assert r.status_code == 409 and r.json()["error"]["code"] == "answers_incomplete"


def test_bans_stop_voting_and_remove_votes_from_statistics(db_url):
    admin, admin_token = annotator(db_url, role="admin")
    me, token = annotator(db_url)
    voted, pending = ready_battle(db_url, me), ready_battle(db_url, me)
    with TestClient(_app(db_url)) as c:
        assert c.post(f"/api/arena/battles/{voted}/vote", json=_vote(), headers=auth(token)).status_code == 200
        assert c.post(f"/api/arena/admin/annotators/{me}/ban", json={"reason": ""}, headers=auth(admin_token)).status_code == 400
        assert c.post(f"/api/arena/admin/annotators/{me}/ban", json={"reason": "x"}, headers=auth(token)).status_code == 403
        assert c.post(f"/api/arena/admin/annotators/{me}/ban", json={"reason": "random clicking"},
                      headers=auth(admin_token)).json()["banned"] is True
        banned = c.post(f"/api/arena/battles/{pending}/vote", json=_vote(), headers=auth(token))
        assert banned.status_code == 403 and banned.json()["error"]["code"] == "banned"  # told why (issue 15)
        assert "random clicking" in banned.json()["error"]["message"]
        assert c.get("/api/arena/me", headers=auth(token)).status_code == 403
        login = c.post("/api/arena/login", json={"username": c.get(
            "/api/arena/admin/annotators", headers=auth(admin_token)).json()[1]["username"], "password": "құпия-сөз-123"})
        assert login.status_code == 403 and "random clicking" in login.json()["error"]["message"]
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == 1  # kept in the database
        assert list(voted_battle_rows(session=s)) == []  # but out of the statistics
        assert len(list(voted_battle_rows(session=s, include_banned=True))) == 1


def test_rate_limit_answers_429_with_a_wait(sqlite_url):
    me, token = annotator(sqlite_url)
    battles = [ready_battle(sqlite_url, me) for _ in range(3)]
    with TestClient(_app(sqlite_url, votes_per_minute=2)) as c:
        answers = [c.post(f"/api/arena/battles/{b}/vote", json=_vote(), headers=auth(token)) for b in battles]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert 0 < int(answers[2].headers["Retry-After"]) <= 60 and "try again in" in answers[2].json()["error"]["message"]


def test_fifty_annotators_voting_at_once_lose_and_double_nothing(db_url):
    people = [annotator(db_url) for _ in range(50)]
    battles = [ready_battle(db_url, a) for a, _ in people]
    banned_id, banned_token = annotator(db_url)
    banned_battle = ready_battle(db_url, banned_id)
    with session_scope(db_url) as s:
        from app.services.accounts import set_ban
        set_ban(session=s, annotator_id=banned_id, banned=True, reason="test")
    with AppServer(_app(db_url, votes_per_minute=1000)) as app:
        def submit(i):
            _, token = people[i]
            key = uuid.uuid4().hex
            url = f"{app.url}/api/arena/battles/{battles[i]}/vote"
            with httpx.Client(timeout=60) as h:
                # the same ballot sent twice (a retry) and a second, different ballot
                r1 = h.post(url, json=_vote(idempotency_key=key), headers=auth(token))
                r2 = h.post(url, json=_vote(idempotency_key=key), headers=auth(token))
                r3 = h.post(url, json=_vote(idempotency_key=uuid.uuid4().hex, content="right", language="right"),
                            headers=auth(token))
            return r1.status_code, r2.status_code, r2.json() == r1.json(), r3.status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(submit, range(50)))
        refused = httpx.post(f"{app.url}/api/arena/battles/{banned_battle}/vote", json=_vote(), headers=auth(banned_token))
    assert all(r == (200, 200, True, 409) for r in results), results
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"
    with session_scope(db_url) as s:
        rows = s.execute(select(Vote.battle_id, func.count()).group_by(Vote.battle_id)).all()
        assert sorted(b for b, _ in rows) == sorted(battles) and all(n == 1 for _, n in rows)
        assert all(v.winner == "model_a" for v in s.scalars(select(Vote)))  # the first ballot, not the second


def test_the_waiting_battle_comes_back_over_rest_until_it_is_voted(sqlite_url):
    me, token = annotator(sqlite_url, "dana")
    _, other = annotator(sqlite_url, "someone-else")
    waiting = ready_battle(sqlite_url, me, position="b")
    with TestClient(_app(sqlite_url)) as c:
        r = c.get("/api/arena/battles/waiting", headers=auth(token))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["battle_id"] == waiting and body["state"] == "ready" and "models" not in body
        assert body["left"][-1]["content"] == "Жауап Б" and body["right"][-1]["content"] == "Жауап А"
        nobody = c.get("/api/arena/battles/waiting", headers=auth(other))
        assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "battle_not_found"
        assert c.get("/api/arena/battles/waiting").status_code == 401
        assert c.post(f"/api/arena/battles/{waiting}/vote", json=_vote(), headers=auth(token)).status_code == 200
        assert c.get("/api/arena/battles/waiting", headers=auth(token)).status_code == 404


def test_reason_tags_are_stored_per_model_and_exported_and_bad_tags_are_refused_with_the_choices(db_url, tmp_path):
    import pyarrow.parquet as pq

    from arena.export import ExportOptions, export_dataset

    me, token = annotator(db_url)
    shown_b_left = ready_battle(db_url, me, position="b")  # model_b is on the left
    with TestClient(_app(db_url)) as c:
        url = f"/api/arena/battles/{shown_b_left}/vote"
        for reasons, needle in [({"left": ["correct", "factual_error"]}, "both 'correct' and 'factual_error'"),
                                ({"left": ["nice"]}, "unknown reason 'nice'; choose from correct, complete")]:
            r = c.post(url, json=_vote(reasons=reasons), headers=auth(token))
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_reasons", r.text
            assert needle in r.json()["error"]["message"]
        r = c.post(url, json=_vote(reasons={"middle": ["correct"]}), headers=auth(token))
        assert r.status_code == 400 and "reasons" in r.json()["error"]["message"]
        ok = c.post(url, json=_vote(reasons={"left": ["natural_kazakh", "correct"], "right": ["wrong_script"]}),
                    headers=auth(token))
        assert ok.status_code == 200, ok.text
        plain = ready_battle(db_url, me)
        assert c.post(f"/api/arena/battles/{plain}/vote", json=_vote(), headers=auth(token)).status_code == 200
    with session_scope(db_url) as s:
        stored = dict(s.execute(select(Vote.battle_id, Vote.reasons)).all())
    assert stored == {shown_b_left: {"model_a": ["wrong_script"], "model_b": ["correct", "natural_kazakh"]}, plain: None}
    with session_scope(db_url) as s:
        export_dataset(session=s, out_dir=tmp_path / "out", options=ExportOptions(), salt="test-salt-7f3a-91c2-e5d0")
    rows = {r["question_id"]: r for r in pq.read_table(tmp_path / "out/votes/train.parquet").to_pylist()}
    assert (rows[shown_b_left]["reasons_a"], rows[shown_b_left]["reasons_b"]) == (["wrong_script"], ["correct", "natural_kazakh"])
    assert (rows[plain]["reasons_a"], rows[plain]["reasons_b"]) == ([], [])
