"""Nothing is acknowledged before it is committed: a write's effect is visible to the very next request.

A real uvicorn server on SQLite and PostgreSQL, 200 rounds of each pair, strictly one after the other,
each on a fresh connection: register then log in, log in then `/me`, log out then `/me` (401), ban
then `/me` (403 banned) and unban then `/me` (200). Every write is made 30 ms slower to commit (as
on a busy disk or a remote PostgreSQL): when the commit ran after the response was sent, the next
request overtook it and most rounds failed; committed inside the route, none can.
"""

import time

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.main import create_app
from app.services import accounts
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, auth
from tests.utils.servers import AppServer

ROUNDS = 200
PASSWORD = "құпия-сөз-123"
SLOW_WRITE_S = 0.03


def _wrote(session, context=None):  # ORM inserts and updates flush
    session.info["wrote"] = True


def _wrote_statement(state):  # bulk DELETE/UPDATE statements (logout) do not
    if state.is_delete or state.is_update or state.is_insert:
        state.session.info["wrote"] = True


def _slow_commit(session):
    if session.info.pop("wrote", False) or session.new or session.dirty or session.deleted:
        time.sleep(SLOW_WRITE_S)


HOOKS = [("after_flush", _wrote), ("do_orm_execute", _wrote_statement), ("before_commit", _slow_commit)]


@pytest.fixture
def live(db_url, monkeypatch):
    # 800 password hashes at argon2's defaults take minutes; the cost is not what is tested here
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    settings = make_settings(db_url)
    for name, hook in HOOKS:
        event.listen(Session, name, hook)
    try:
        with AppServer(create_app(settings, ModelManager(ModelsConfig(models=[]), settings))) as server:
            yield server, db_url
    finally:
        for name, hook in HOOKS:
            event.remove(Session, name, hook)


# A new TCP connection for every request, as separate clients make (no keep-alive), without paying
# for a new httpx client (and its TLS context) each time.
_CLIENT = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


def _post(url, path, **kw):
    return _CLIENT.post(url + path, **kw)


def _me(url, token):
    return _CLIENT.get(url + "/api/arena/me", headers=auth(token))


def test_register_then_login_and_login_then_me(live):
    server, _ = live
    failures = []
    for i in range(ROUNDS):
        name = f"round_{i}"
        reg = _post(server.url, "/api/arena/register", json={
            "username": name, "password": PASSWORD, "proficiency": "native", "consent": True, "age_confirmed": True})
        login = _post(server.url, "/api/arena/login", json={"username": name, "password": PASSWORD})
        me = _me(server.url, login.json().get("token", "")) if login.status_code == 200 else None
        if (reg.status_code, login.status_code, me.status_code if me else None) != (201, 200, 200):
            failures.append((i, reg.status_code, login.status_code, me and me.text))
    assert failures == []


def test_logout_then_me_and_ban_then_me(live):
    server, db = live
    admin_id, admin = annotator(db, "chief", role="admin")
    someone, token = annotator(db, "someone")
    with session_scope(db) as s:
        tokens = [accounts.open_session(session=s, annotator_id=someone, ttl_hours=1) for _ in range(ROUNDS)]
    failures = []
    for i, t in enumerate(tokens):
        if (code := _post(server.url, "/api/arena/logout", headers=auth(t)).status_code) != 200:
            failures.append((i, "logout", code))
        if (me := _me(server.url, t)).status_code != 401:
            failures.append((i, "me after logout", me.status_code))
    for i in range(ROUNDS):
        ban = _post(server.url, f"/api/arena/admin/annotators/{someone}/ban", headers=auth(admin),
                    json={"reason": f"round {i}"})
        me = _me(server.url, token)
        if ban.status_code != 200 or me.status_code != 403 or me.json()["error"]["code"] != "banned":
            failures.append((i, "me after ban", ban.status_code, me.text))
        unban = _post(server.url, f"/api/arena/admin/annotators/{someone}/unban", headers=auth(admin))
        if unban.status_code != 200 or (me := _me(server.url, token)).status_code != 200:
            failures.append((i, "me after unban", unban.status_code, me.status_code))
    assert failures == []
