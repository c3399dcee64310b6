"""kill -9 of the app process under 32 votes in flight, on SQLite and PostgreSQL: after a restart, every
vote that was acknowledged is stored exactly once, and a client that retries what went unanswered (with
the same idempotency key, as it should) ends with exactly one vote per battle, never two."""

import asyncio
import uuid
from collections import Counter

import httpx
from sqlalchemy import select

from bench.votes import load, prepare
from db.models import Vote
from db.session import session_scope
from tests.utils.servers import AppProcess

CONCURRENCY = 32


def test_votes_acknowledged_before_a_kill_9_are_kept_once_and_retries_never_double_them(db_url, tmp_path):
    work = prepare(db_url, annotators=16, battles=20_000)  # more than any machine votes in the 1.5 s before the kill
    app = AppProcess(db_url, tmp_path, votes_per_minute=100_000_000)
    with app:
        async def load_then_kill() -> dict:
            loading = asyncio.create_task(load(app.url, work, CONCURRENCY, seconds=60))
            await asyncio.sleep(1.5)  # 32 requests in flight, hundreds already answered
            await asyncio.to_thread(app.kill)
            return await loading

        res = asyncio.run(load_then_kill())
        acknowledged, attempted = res["acknowledged"], res["attempted"]
        assert len(acknowledged) > 50 and res["errors"].get(0, 0) > 0  # votes landed, and the kill cut some off
        with session_scope(db_url) as s:
            stored = Counter(s.scalars(select(Vote.battle_id)))
        assert acknowledged <= set(stored), f"{len(acknowledged - set(stored))} acknowledged votes were lost"
        assert max(stored.values()) == 1

        app.start()  # the same database, a new process: the client retries everything it sent
        codes = asyncio.run(_retry(app.url, list(dict.fromkeys(attempted))))
        assert set(codes) == {200}, codes  # the replay of a stored vote, or the first store of a lost one
        battle, token, _ = attempted[0]
        again = httpx.post(f"{app.url}/api/arena/battles/{battle}/vote", headers={"Authorization": f"Bearer {token}"},
                           json={"content": "left", "language": "tie", "idempotency_key": uuid.uuid4().hex})
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_voted"
    with session_scope(db_url) as s:
        stored = Counter(s.scalars(select(Vote.battle_id)))
    assert set(stored) == {b for b, _, _ in attempted} and set(stored.values()) == {1}


async def _retry(base: str, ballots: list[tuple[str, str, str]]) -> Counter:
    """Send every ballot again with its own key, 32 at a time, as a client that never got its answer would."""
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=60) as h:
        async def one(battle: str, token: str, key: str) -> int:
            async with gate:
                r = await h.post(f"{base}/api/arena/battles/{battle}/vote", headers={"Authorization": f"Bearer {token}"},
                                 json={"content": "left", "language": "tie", "idempotency_key": key})
                return r.status_code
        return Counter(await asyncio.gather(*(one(*b) for b in ballots)))
