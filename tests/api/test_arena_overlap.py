"""A share of task battles goes to more annotators, so their agreement can be measured."""

import json
import uuid

from fastapi.testclient import TestClient

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from arena.agreement import fleiss_kappa_from_ratings, pairwise_cohen_kappa
from arena.records import voted_battle_rows
from db.models import Battle
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, auth, ready_battle


def _app(url, **overrides):
    settings = make_settings(url, ui_enabled=False, **overrides)
    config = ModelsConfig.model_validate({"models": [{"name": "m1", "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    return create_app(settings, ModelManager(config, settings))


def _vote(client, token, battle_id, choice):
    r = client.post(f"/api/arena/battles/{battle_id}/vote", headers=auth(token),
                    json={"content": choice, "language": choice, "idempotency_key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    return r.json()


def test_voted_task_battles_are_replayed_to_other_annotators_and_agreement_is_computable(sqlite_url):
    people = [annotator(sqlite_url) for _ in range(3)]
    first_id, first_token = people[0]
    originals = [ready_battle(sqlite_url, first_id, mode="continuation", topic="pension") for _ in range(2)]
    with TestClient(_app(sqlite_url, overlap_rate=1.0, overlap_annotators=3, gold_rate=0.0)) as c:
        for b in originals:
            _vote(c, first_token, b, "left")  # position a: model_a wins
        copies = []
        for _, token in people[1:]:
            for _ in originals:
                events = [json.loads(line[6:]) for line in c.post("/api/arena/battles", headers=auth(token),
                          json={"mode": "continuation"}).text.splitlines()
                          if line.startswith("data: ") and line != "data: [DONE]"]
                assert events[-1]["state"] == "ready"
                bid = events[0]["battle_id"]
                copies.append(bid)
                with session_scope(sqlite_url) as s:
                    left_is_a = s.get(Battle, bid).position == "a"
                _vote(c, token, bid, "left" if left_is_a else "right")  # everyone prefers model_a
        # each of the two others got both originals once (never their own, never twice)
        with session_scope(sqlite_url) as s:
            rows = [s.get(Battle, bid) for bid in copies]
            assert sorted(r.task_id for r in rows) == sorted(f"overlap:{b}" for b in originals for _ in range(2))
            original = s.get(Battle, originals[0])
            copy = next(r for r in rows if r.task_id == f"overlap:{originals[0]}")
            assert copy.conversation_a == original.conversation_a  # the same answers, replayed
        # a third request finds nothing left to overlap and falls back to a normal task
        assert c.post("/api/arena/battles", headers=auth(people[1][1]), json={"mode": "continuation"}).status_code in (200, 503)
    with session_scope(sqlite_url) as s:
        rows = list(voted_battle_rows(session=s))
    ratings = [(r["question_id"], r["annotator"], r["winner_content"]) for r in rows]
    assert {q for q, _, _ in ratings} == set(originals) and len(ratings) == 6
    pairs = pairwise_cohen_kappa(ratings)
    assert len(pairs) == 3 and all(p.n_items == 2 and p.result.observed_agreement == 1.0 for p in pairs)
    assert fleiss_kappa_from_ratings(ratings).n_items == 2


def test_kazarena_agreement_annotators_reports_on_the_overlaps(sqlite_url, monkeypatch):
    from typer.testing import CliRunner

    from app.cli.main import app as cli
    from app.settings import get_settings
    from arena.agreement.annotators import annotator_agreement

    people = [annotator(sqlite_url) for _ in range(2)]
    items = [ready_battle(sqlite_url, people[0][0], mode="continuation") for _ in range(4)]
    with TestClient(_app(sqlite_url, overlap_rate=1.0, gold_rate=0.0)) as c:
        choices = ["left", "right", "left", "tie"]
        for b, choice in zip(items, choices, strict=True):
            _vote(c, people[0][1], b, choice)
        for _ in choices:
            events = [json.loads(line[6:]) for line in c.post("/api/arena/battles", headers=auth(people[1][1]),
                      json={"mode": "continuation"}).text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]
            bid = events[0]["battle_id"]
            with session_scope(sqlite_url) as s:
                copy = s.get(Battle, bid)
                original = s.get(Battle, copy.task_id.removeprefix("overlap:"))
                first_choice = choices[items.index(original.id)]
            _vote(c, people[1][1], bid, "tie" if first_choice == "tie" else "left" if copy.position == "a" else "right")
    with session_scope(sqlite_url) as s:
        report = annotator_agreement(list(voted_battle_rows(session=s)), "content")
    # first: A, B, A, tie; second: A, A, A, tie -> observed 3/4; chance .5*.75 + .25*0 + .25*.25 = 7/16;
    # kappa = (3/4 - 7/16) / (1 - 7/16) = 5/9
    assert report["items"] == 4 and report["ratings"] == 8 and len(report["pairwise_cohen"]) == 1
    pair = report["pairwise_cohen"][0]
    assert pair["observed"] == 0.75 and abs(pair["kappa"] - 5 / 9) < 1e-12
    monkeypatch.setenv("KAZARENA_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["agreement", "--annotators", "--format", "json"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)[0]
    assert shown["pairwise_cohen"][0]["kappa"] == report["pairwise_cohen"][0]["kappa"]
    assert shown["fleiss_kappa"] == report["fleiss_kappa"]
