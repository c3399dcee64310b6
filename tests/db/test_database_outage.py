"""PostgreSQL restarted in the middle of a vote load: clean 503s while it is down, recovery without
restarting the app, and every acknowledged vote stored exactly once.

Eight clients vote as fast as they can, each retrying a refused vote with the same idempotency key
(what the UI and any careful client do). The database server is stopped abruptly (`pg_ctl -m
immediate`, open connections cut) for a few seconds, then started again on the same data.
"""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from db.migrate import upgrade
from db.models import Vote
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, auth, ready_battle
from tests.utils.postgres import TempPostgres
from tests.utils.servers import AppServer

pytestmark = pytest.mark.postgres

CLIENTS, BATTLES_EACH, DOWN_S, PAUSE_S = 8, 40, 3.0, 0.02


@pytest.fixture
def own_postgres():
    pg = TempPostgres()  # not the session's shared server: this test stops it
    try:
        url = pg.start()
        upgrade(url)
        yield pg, url
    finally:
        pg.stop()


def test_votes_survive_a_postgres_restart_and_the_outage_is_a_clean_503(own_postgres):
    pg, url = own_postgres
    voters = []
    for _ in range(CLIENTS):
        annotator_id, token = annotator(url)
        voters.append((token, [ready_battle(url, annotator_id) for _ in range(BATTLES_EACH)]))
    settings = make_settings(url, votes_per_minute=100_000)
    acknowledged, refusals, unexpected = [], [], []
    lock = threading.Lock()

    def vote_all(token, battles):
        with httpx.Client(timeout=30) as client:
            for battle_id in battles:
                key = uuid.uuid4().hex
                while True:  # retry with the same key until the vote is stored
                    r = client.post(f"{server.url}/api/arena/battles/{battle_id}/vote", headers=auth(token),
                                    json={"content": "left", "language": "left", "idempotency_key": key})
                    if r.status_code == 200:
                        with lock:
                            acknowledged.append((battle_id, time.monotonic()))
                        time.sleep(PAUSE_S)  # spread the load over the outage
                        break
                    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
                    with lock:
                        (refusals if r.status_code == 503 and body and body["error"]["code"] else unexpected).append(
                            (r.status_code, r.text[:200]))
                    time.sleep(0.2)

    with AppServer(create_app(settings, ModelManager(ModelsConfig(models=[]), settings))) as server:
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(vote_all, token, battles) for token, battles in voters]
            time.sleep(1.0)  # the load is running
            pg.stop_server()
            stopped = time.monotonic()
            time.sleep(DOWN_S)
            during = httpx.get(f"{server.url}/readyz", timeout=10)
            me = httpx.get(f"{server.url}/api/arena/me", headers=auth(voters[0][0]), timeout=10)
            pg.start_server()
            restarted = time.monotonic()
            for f in futures:
                f.result(timeout=300)
        after = httpx.get(f"{server.url}/readyz", timeout=10)

    assert unexpected == []  # never a 500 or a plain-text body
    assert refusals, "the outage was not noticed: no vote was refused while the database was down"
    assert during.status_code == 503 and during.json()["database"] == "unavailable"
    assert me.status_code == 503 and me.json()["error"]["code"] == "database_unavailable", me.text
    assert me.headers["Retry-After"] == "2"
    assert after.json()["database"] == "ok"
    assert any(t < stopped for _, t in acknowledged) and any(t > restarted for _, t in acknowledged)
    assert sorted(b for b, _ in acknowledged) == sorted(b for _, battles in voters for b in battles)  # all, once
    with session_scope(url) as s:
        stored = dict(s.execute(select(Vote.battle_id, func.count()).group_by(Vote.battle_id)).all())
    assert stored == {b: 1 for _, battles in voters for b in battles}
