"""Votes written in batches: every ballot answered as if alone, one commit, nothing lost or doubled."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, insert, select, text

from app.errors import ServiceError
from app.services import accounts
from app.services.vote_writer import VoteWriter
from app.services.votes import Ballot, VoteRequest, cast_votes
from db.models import Battle, Vote
from db.session import session_scope
from tests.utils.arena import annotator, ready_battle


def _ballot(key: str | None = None, **over) -> Ballot:
    return Ballot(**({"content": "left", "language": "left", "idempotency_key": key or uuid.uuid4().hex} | over))


def _codes(results) -> list[str]:
    return [r.code if isinstance(r, ServiceError) else "ok" for r in results]


def _stored(url) -> dict[str, int]:
    with session_scope(url) as s:
        return dict(s.execute(select(Vote.battle_id, func.count()).group_by(Vote.battle_id)).all())


def test_one_batch_answers_each_ballot_as_if_it_came_alone(db_url):
    alice, alice_token = annotator(db_url)
    bob_id, bob_token = annotator(db_url)
    banned_id, banned_token = annotator(db_url)
    mine, other, busy, twice, both_bad = (ready_battle(db_url, alice) for _ in range(5))
    with session_scope(db_url) as s:
        s.execute(Battle.__table__.update().where(Battle.id == busy).values(state="answering"))
        accounts.set_ban(session=s, annotator_id=banned_id, banned=True, reason="test")
        outlived = accounts.open_session(session=s, annotator_id=banned_id, ttl_hours=1)  # opened after the ban
    bobs = ready_battle(db_url, bob_id)
    key = uuid.uuid4().hex
    batch = [
        VoteRequest(mine, _ballot(key), token=alice_token),
        VoteRequest(mine, _ballot(key), token=alice_token),          # a retry inside the same batch
        VoteRequest(mine, _ballot(), token=alice_token),             # a second vote on the same battle
        VoteRequest(bobs, _ballot(), token=alice_token),             # not hers
        VoteRequest(busy, _ballot(), token=alice_token),             # answers still streaming
        VoteRequest(other, _ballot(content="left", language="right"), token=alice_token),  # overall missing
        VoteRequest(other, _ballot(), token="ks_not-a-session"),
        VoteRequest(bobs, _ballot(), token=banned_token),            # a ban keeps the session, so the annotator is told why
        VoteRequest(bobs, _ballot(), token=outlived),                # a session opened after it
        VoteRequest(twice, _ballot(comment="x" * 50), token=alice_token),
        VoteRequest(both_bad, _ballot(both_bad=True, content="tie", language="tie"), token=alice_token),
        VoteRequest(bobs, _ballot(), token=bob_token),
    ]
    with session_scope(db_url) as s:
        results = cast_votes(s, batch, max_comment=10, labels={"m1": "Model One"})
    assert _codes(results) == ["ok", "ok", "already_voted", "not_your_battle", "answers_incomplete",
                               "overall_required", "login_required", "banned", "banned", "comment_too_long", "ok", "ok"]
    assert results[0] == results[1] and results[0]["vote_id"] is not None
    assert results[0]["left"] == {"model": "m1", "label": "Model One"} and results[0]["winner"] == "model_a"
    assert results[10]["decided_by"] == "bothbad"
    assert _stored(db_url) == {mine: 1, both_bad: 1, bobs: 1}
    with session_scope(db_url) as s:
        states = dict(s.execute(select(Battle.id, Battle.state)).all())
    assert states[mine] == states[both_bad] == states[bobs] == "voted" and states[other] == "ready"


def test_a_retry_in_a_later_batch_replays_and_a_reused_key_is_refused(db_url):
    alice, token = annotator(db_url)
    first, second = ready_battle(db_url, alice), ready_battle(db_url, alice)
    key = uuid.uuid4().hex
    with session_scope(db_url) as s:
        [answer] = cast_votes(s, [VoteRequest(first, _ballot(key), token=token)], max_comment=10, labels={})
    with session_scope(db_url) as s:
        again = cast_votes(s, [VoteRequest(first, _ballot(key), token=token),
                               VoteRequest(second, _ballot(key), token=token)], max_comment=10, labels={})
    assert again[0] == answer and _codes(again) == ["ok", "idempotency_key_reused"]
    assert _stored(db_url) == {first: 1}


def test_rate_limit_counts_each_ballot_once(db_url):
    alice, token = annotator(db_url)
    battles = [ready_battle(db_url, alice) for _ in range(4)]
    seen: list[tuple[int, str]] = []

    def rate_check(annotator_id: int, ip: str) -> float:
        seen.append((annotator_id, ip))
        return 0.0 if len(seen) <= 2 else 42.0

    with session_scope(db_url) as s:
        results = cast_votes(s, [VoteRequest(b, _ballot(), token=token, ip="10.0.0.7") for b in battles],
                             max_comment=10, labels={}, rate_check=rate_check)
    assert _codes(results) == ["ok", "ok", "rate_limited", "rate_limited"]
    assert "42 s" in results[2].message and seen == [(alice, "10.0.0.7")] * 4
    assert set(_stored(db_url)) == set(battles[:2])


def test_a_twin_written_by_another_process_fails_only_its_own_ballot(db_url):
    """The reads said "ready", but another writer stored a vote for one battle: the insert fails,
    the batch is retried ballot by ballot, and only that ballot is refused."""
    alice, token = annotator(db_url)
    a, b, c = (ready_battle(db_url, alice) for _ in range(3))
    with session_scope(db_url) as s:  # a vote stored while the battle still reads "ready"
        s.execute(insert(Vote).values(battle_id=b, annotator_id=alice, idempotency_key=uuid.uuid4().hex,
                                      winner_content="tie", winner_language="tie", winner="tie"))
    with session_scope(db_url) as s:
        results = cast_votes(s, [VoteRequest(x, _ballot(), token=token) for x in (a, b, c)], max_comment=10, labels={})
    assert _codes(results) == ["ok", "already_voted", "ok"]
    assert _stored(db_url) == {a: 1, b: 1, c: 1}


def test_writer_gathers_concurrent_votes_into_batches_and_loses_none(db_url):
    voters = [annotator(db_url) for _ in range(8)]
    work = [(ready_battle(db_url, who), token) for who, token in voters for _ in range(25)]
    writer = VoteWriter(db_url, max_comment=100, labels=dict)

    async def main():
        keys = [uuid.uuid4().hex for _ in work]
        first = await asyncio.gather(*(writer.submit(VoteRequest(b, _ballot(k), token=t))
                                       for (b, t), k in zip(work, keys, strict=True)))
        again = await asyncio.gather(*(writer.submit(VoteRequest(b, _ballot(k), token=t))
                                       for (b, t), k in zip(work[:20], keys[:20], strict=True)))
        return first, again

    try:
        first, again = asyncio.run(main())
    finally:
        writer.close()
    assert again == first[:20]  # retries answered exactly as the first time
    assert len({r["vote_id"] for r in first}) == len(work)
    assert _stored(db_url) == {b: 1 for b, _ in work}
    assert writer.largest_batch > 1  # 200 votes submitted at once did share transactions


def test_writer_answers_every_waiter_when_the_database_fails(sqlite_url):
    alice, token = annotator(sqlite_url)
    battles = [ready_battle(sqlite_url, alice) for _ in range(3)]
    with session_scope(sqlite_url) as s:
        s.execute(text("DROP TABLE votes"))  # every write now fails
    writer = VoteWriter(sqlite_url, max_comment=100, labels=dict)

    async def main():
        return await asyncio.gather(*(writer.submit(VoteRequest(b, _ballot(), token=token)) for b in battles),
                                    return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        writer.close()
    assert [getattr(r, "code", None) for r in results] == ["vote_not_stored"] * 3
    assert all(r.status == 503 and "same idempotency key" in r.message for r in results)
    with session_scope(sqlite_url) as s:
        assert set(s.scalars(select(Battle.state))) == {"ready"}  # nothing half-written


@pytest.mark.parametrize("batch_size", [1, 40])
def test_close_writes_what_is_queued(sqlite_url, batch_size):
    alice, token = annotator(sqlite_url)
    battles = [ready_battle(sqlite_url, alice) for _ in range(40)]
    writer = VoteWriter(sqlite_url, max_comment=100, labels=dict, max_batch=batch_size)

    async def main():
        tasks = [asyncio.ensure_future(writer.submit(VoteRequest(b, _ballot(), token=token))) for b in battles]
        await asyncio.sleep(0)  # one loop turn, not a wait: each submit() queues before its first await
        await asyncio.to_thread(writer.close)
        return await asyncio.gather(*tasks)

    assert len(asyncio.run(main())) == 40
    assert _stored(sqlite_url) == {b: 1 for b in battles}


def test_app_start_freezes_what_it_built_and_stop_closes_the_writer(sqlite_url):
    """Startup objects leave the collector's reach (full collections paused requests for ~250 ms
    at p99 in bench/votes.py before), and shutdown writes the queued votes and ends the thread."""
    import gc

    from fastapi.testclient import TestClient

    from tests.api.test_arena_votes import _app

    gc.unfreeze()
    alice, token = annotator(sqlite_url)
    battle = ready_battle(sqlite_url, alice)
    app = _app(sqlite_url)
    with TestClient(app) as c:
        assert gc.get_freeze_count() > 10_000
        r = c.post(f"/api/arena/battles/{battle}/vote", json={"content": "tie", "language": "tie",
                                                             "idempotency_key": uuid.uuid4().hex},
                   headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        writer_thread = app.state.runtime.vote_writer._thread
        assert writer_thread.is_alive()
    assert not writer_thread.is_alive() and _stored(sqlite_url) == {battle: 1}
    gc.unfreeze()
