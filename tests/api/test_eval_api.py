"""`GET /api/eval/runs[/{run_id}]` on the real app and a real SQLite database with two stored runs."""

import pytest
from fastapi.testclient import TestClient

from tests.ui.arena_helpers import offline_app
from tests.utils.eval_results import NEW_ROWS, NEW_RUN, OLD_RUN, store_both_runs


@pytest.fixture
def client(sqlite_url):
    with TestClient(offline_app(sqlite_url, ui_enabled=False)) as c:
        yield c, sqlite_url


def test_runs_are_listed_newest_first(client):
    c, url = client
    assert c.get("/api/eval/runs").json() == {"data": [], "count": 0}
    store_both_runs(url)
    body = c.get("/api/eval/runs").json()
    assert body["count"] == 2 and [r["run_id"] for r in body["data"]] == [NEW_RUN, OLD_RUN]
    new = body["data"][0]
    assert new["tasks"] == ["mcq", "rag", "generation"] and new["models"] == ["tuned", "vanilla"]
    assert new["datasets"] == ["ift-test", "unt-hsr"] and new["n_rows"] == 13
    assert new["created_at"].startswith("2025-03-02T10:30:00")


def test_one_run_has_every_score_and_filters_by_task(client):
    c, url = client
    store_both_runs(url)
    body = c.get(f"/api/eval/runs/{NEW_RUN}").json()
    assert body["run"]["run_id"] == NEW_RUN and body["count"] == len(NEW_ROWS) == len(body["data"])
    first = body["data"][0]
    assert (first["task"], first["model"], first["value"], first["ci_low"], first["ci_high"], first["n"]) == (
        "mcq", "vanilla", 0.4123, 0.3712, 0.4551, 500)
    assert [r["model"] for r in body["data"] if r["is_baseline"]] == ["majority-class", "majority-class"]
    generation = c.get(f"/api/eval/runs/{NEW_RUN}", params={"task": "generation"}).json()
    assert {r["task"] for r in generation["data"]} == {"generation"} and generation["count"] == 5
    win = next(r for r in generation["data"] if r["metric"] == "win_rate" and r["subset"] is None)
    assert win["details"]["wins"] == 20 and win["details"]["opponent"] == "vanilla"


def test_unknown_run_and_unknown_task_are_refused_clearly(client):
    c, url = client
    store_both_runs(url)
    resp = c.get("/api/eval/runs/no-such-run")
    assert resp.status_code == 404
    assert resp.json()["error"] == {"code": "run_not_found", "type": "run_not_found",
                                    "message": "no evaluation run 'no-such-run'; GET /api/eval/runs lists the stored runs"}
    resp = c.get(f"/api/eval/runs/{NEW_RUN}", params={"task": "essay"})
    assert resp.status_code == 400 and "task" in resp.json()["error"]["message"]
