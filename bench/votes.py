"""Sustained vote submissions through the REST API, on SQLite and on PostgreSQL.

Starts the real app (uvicorn, one process) on each database, prepares battles
that are ready for a vote, then submits votes with --concurrency requests in
flight for --seconds; one request in ten repeats an earlier ballot with its
idempotency key (a client retry). At the end every acknowledged vote must be in
the database exactly once. The reference, in the same run: the same load on
SQLite with the vote writer limited to one vote per transaction. The client is
aiohttp in this process; the server's and the client's CPU time per request are
reported apart, since both share the machine. Prints one JSON line.

    .venv/bin/python bench/votes.py [--quick]
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from app.services import accounts  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Battle, Vote  # noqa: E402
from db.session import get_engine, session_scope  # noqa: E402
from tests.utils.postgres import TempPostgres  # noqa: E402
from tests.utils.servers import AppProcess  # noqa: E402


def prepare(url: str, annotators: int, battles: int) -> list[tuple[str, str]]:
    """(battle id, session token) pairs, each battle owned by its annotator."""
    upgrade(url)
    tokens = []
    for i in range(annotators):
        with session_scope(url) as s:
            a = accounts.register(session=s, reg=accounts.Registration(
                username=f"bench_{i}", password="bench-password", proficiency="native", consent=True, age_confirmed=True))
            _, token = accounts.login(session=s, username=a.username, password="bench-password", ttl_hours=2)
            tokens.append((a.id, token))
    now = datetime.now(UTC).timestamp()
    rows, out = [], []
    for i in range(battles):
        owner, token = tokens[i % annotators]
        bid = uuid.uuid4().hex
        rows.append(dict(id=bid, annotator_id=owner, model_a="m1", model_b="m2", position="a", state="ready", turn=1,
                         mode="prompt", sampling_prob=0.5, conversation_a=[], conversation_b=[], params_a={}, params_b={},
                         revision_a="", revision_b="", gold=False, flagged=False, timings={"answers_done": now},
                         identity_leak=False, events=[], created_at=datetime.now(UTC)))
        out.append((bid, token))
    with get_engine(url).begin() as conn:
        conn.execute(insert(Battle), rows)
    return out


async def load(base: str, work: list[tuple[str, str]], concurrency: int, seconds: float) -> dict[str, object]:
    queue = list(work)
    random.Random(0).shuffle(queue)
    sent: list[tuple[str, str, str]] = []  # (battle, token, key) acknowledged
    attempted: list[tuple[str, str, str]] = []  # every ballot sent, answered or not
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    rng = random.Random(1)

    async def worker(client: aiohttp.ClientSession) -> None:
        while queue and time.perf_counter() < deadline:
            if sent and rng.random() < 0.1:
                battle, token, key = rng.choice(sent)  # a retry of an acknowledged ballot
            else:
                battle, token = queue.pop()
                key = uuid.uuid4().hex
            attempted.append((battle, token, key))
            t0 = time.perf_counter()
            try:
                async with client.post(f"{base}/api/arena/battles/{battle}/vote",
                                       headers={"Authorization": f"Bearer {token}"},
                                       json={"content": "left", "language": "tie", "idempotency_key": key}) as r:
                    await r.read()
            except aiohttp.ClientError:  # the server is gone (a fault test kills it): this worker is done
                errors[0] = errors.get(0, 0) + 1
                return
            latencies.append(time.perf_counter() - t0)
            if r.status == 200:
                sent.append((battle, token, key))
            else:
                errors[r.status] = errors.get(r.status, 0) + 1

    # aiohttp rather than httpx: the load generator shares the machine's two cores with the
    # server, and httpx spent about twice the server's CPU time per request.
    t0 = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {"requests": len(lat), "wall_s": wall, "acknowledged": {b for b, _, _ in sent}, "attempted": attempted,
            "errors": errors,
            "p50_ms": statistics.median(lat) * 1000, "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1000}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to tell the server's cost from the client's."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, args: argparse.Namespace, batch_max: int = 256) -> dict[str, object]:
    work = prepare(url, args.annotators, args.battles)
    tmp = Path(tempfile.mkdtemp(prefix="kazarena-votes-"))
    with AppProcess(url, tmp, votes_per_minute=100_000_000, vote_batch_max=batch_max) as app:
        assert app.process is not None
        server_cpu, client_cpu = cpu_seconds(app.process.pid), time.process_time()
        res = asyncio.run(load(app.url, work, args.concurrency, args.seconds))
        server_cpu, client_cpu = cpu_seconds(app.process.pid) - server_cpu, time.process_time() - client_cpu
    with session_scope(url) as s:
        stored = dict(s.execute(select(Vote.battle_id, func.count()).group_by(Vote.battle_id)).all())
    acked = res.pop("acknowledged")
    res.pop("attempted")
    return {"votes_per_s": round(len(acked) / res["wall_s"], 1), "requests_per_s": round(res["requests"] / res["wall_s"], 1),
            "p50_ms": round(res["p50_ms"], 1), "p99_ms": round(res["p99_ms"], 1), "acknowledged": len(acked),
            "lost": sum(1 for b in acked if b not in stored), "duplicated": sum(1 for n in stored.values() if n > 1),
            "unacknowledged_but_stored": sum(1 for b in stored if b not in acked), "errors": res["errors"],
            "server_cpu_ms_per_request": round(server_cpu / res["requests"] * 1000, 3),
            "client_cpu_ms_per_request": round(client_cpu / res["requests"] * 1000, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20.0, help="load duration per database")
    ap.add_argument("--battles", type=int, default=40000, help="battles ready for a vote (the run stops early if all are voted)")
    ap.add_argument("--annotators", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="5 s per database, 3000 battles")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the reference run on SQLite with one vote per transaction (KAZARENA_VOTE_BATCH_MAX=1)")
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both", help="which databases to load")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.battles, args.annotators = 5.0, 3000, 40
    out: dict[str, object] = {"bench": "votes", "concurrency": args.concurrency, "seconds": args.seconds}
    tmp = Path(tempfile.mkdtemp(prefix="kazarena-votes-db-"))
    if args.db in ("sqlite", "both"):
        out["sqlite"] = run(f"sqlite:///{tmp / 'votes.db'}", args)
        if not args.no_reference:  # the same load with one vote per transaction
            ref = run(f"sqlite:///{tmp / 'votes-unbatched.db'}", args, batch_max=1)
            out["sqlite_one_vote_per_transaction"] = ref
            out["sqlite_batching_speedup"] = round(out["sqlite"]["votes_per_s"] / ref["votes_per_s"], 2)
    if args.db in ("postgres", "both"):
        pg = TempPostgres()
        try:
            out["postgres"] = run(pg.start(), args)
        finally:
            pg.stop()
    out["target"] = {"sqlite_votes_per_s": 500, "sqlite_p99_ms": 100}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
