"""The contestant ledger on SQLite and PostgreSQL: successive start-ups append added, changed, weight
and retired events and nothing when the models stay the same; revisions follow the served files and
settings; vote counts equal a count made here; the app records its contestants before it serves."""

import json
import shutil
from datetime import UTC, datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from app.main import create_app
from app.services.ledger import ledger, record_contestants, served
from app.serving.manager import ModelManager
from app.serving.packaged import MANIFEST
from app.serving.registry import ModelsConfig, ModelSpec
from db.migrate import downgrade, upgrade
from db.models import Annotator, Battle, ContestantEvent, Vote
from db.session import get_engine, session_scope
from tests.conftest import make_settings

MIB = 1 << 20


def day(n: int, hour: int = 9) -> datetime:
    return datetime(2026, 5, n, hour, tzinfo=UTC)


def model_dir(root, name, weights=b"w" * 64):
    path = root / name
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "qwen2"}')
    (path / "model.safetensors").write_bytes(weights)
    (path / "README.md").write_text("notes")
    return path


def specs(*entries):
    return ModelsConfig.model_validate({"models": list(entries)}).models


def start(url, models, n, models_dir):
    """One start-up on day `n`: the (model, event) pairs it appended."""
    with session_scope(url) as s:
        rows = record_contestants(session=s, specs=models, models_dir=models_dir, now=day(n))
        return [(r.model, r.event) for r in rows]


def test_successive_start_ups_append_what_changed_and_nothing_else(db_url, tmp_path):
    base = model_dir(tmp_path / "models", "kk-base")
    adapter = tmp_path / "adapters" / "kk-lora"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    (adapter / "adapter_model.safetensors").write_bytes(b"a" * 3 * MIB)
    gpt = {"name": "gpt", "base_url": "https://api.example.com/v1", "served_model_name": "gpt-4o"}
    kk = {"name": "kk-base", "path": str(base), "kind": "base"}
    rag = {"name": "kk-base-rag", "server": "kk-base", "pipeline": "rag"}
    ft = {"name": "kk-ft", "server": "kk-base", "lora": str(adapter), "kind": "fine-tuned"}
    where = tmp_path / "cache"

    assert start(db_url, specs(gpt, kk, rag, ft), 1, where) == [
        ("gpt", "added"), ("kk-base", "added"), ("kk-base-rag", "added"), ("kk-ft", "added")]
    (base / "README.md").write_text("edited notes")  # not read by vLLM: not a change
    assert start(db_url, specs(gpt, kk, rag, ft), 1, where) == []
    assert start(db_url, specs(gpt, kk, rag, ft), 2, where) == []  # idempotent on a later day too

    retrained = bytearray((adapter / "adapter_model.safetensors").read_bytes())
    retrained[-1:] = b"b"  # same size, a new last tensor
    (adapter / "adapter_model.safetensors").write_bytes(bytes(retrained))
    assert start(db_url, specs({**gpt, "arena_weight": 3}, kk, rag, ft), 3, where) == [
        ("gpt", "weight"), ("kk-ft", "changed")]
    new_prompt = {**rag, "system_prompt": "Қазақша жауап бер."}
    assert start(db_url, specs(kk, new_prompt, ft), 4, where) == [("gpt", "retired"), ("kk-base-rag", "changed")]
    back = {**gpt, "arena_weight": 3, "served_model_name": "gpt-4o-mini"}
    assert start(db_url, specs(back, kk, new_prompt, ft), 5, where) == [("gpt", "added")]  # not "changed"
    moved = tmp_path / "elsewhere" / "kk-base"
    shutil.copytree(base, moved)  # the same files under another parent: same source, same revision
    assert start(db_url, specs(back, {**kk, "path": str(moved)}, {**new_prompt}, ft), 6, where) == []

    with session_scope(db_url) as s:
        events = s.scalars(select(ContestantEvent).order_by(ContestantEvent.id)).all()
        by = {(e.model, e.event, e.created_at.day): e for e in events}
        summary = {c.model: c for c in ledger(session=s)}
    assert len(events) == 9
    assert by[("kk-ft", "added", 1)].source == "path:kk-base + lora:kk-lora"
    assert by[("kk-ft", "changed", 3)].description.endswith("(weights)")
    assert by[("kk-base-rag", "changed", 4)].description.endswith("(system_prompt)")
    assert by[("gpt", "weight", 3)].description == "arena_weight 1 → 3"
    retired = by[("gpt", "retired", 4)]
    assert (retired.arena_weight, retired.revision) == (0.0, by[("gpt", "added", 1)].revision)
    assert by[("gpt", "added", 5)].source == "external:api.example.com model:gpt-4o-mini"
    assert by[("gpt", "added", 5)].revision != retired.revision

    g = summary["gpt"]
    assert (g.served, g.added_at, g.changed_at, g.retired_at, g.revision_since) == (True, day(1), None, None, day(5))
    assert g.weights == ((day(1), 1.0), (day(3), 3.0), (day(4), 0.0), (day(5), 3.0))
    assert (g.n_revisions, g.arena_weight, g.n_battles, g.n_votes) == (2, 3.0, 0, 0)
    f = summary["kk-ft"]
    assert (f.kind, f.changed_at, f.revision_since, f.n_revisions) == ("fine-tuned", day(3), day(3), 2)
    assert f.revision == by[("kk-ft", "changed", 3)].revision != by[("kk-ft", "added", 1)].revision
    assert summary["kk-base"].weights == ((day(1), 1.0),) and summary["kk-base"].changed_at is None
    assert sorted(summary) == ["gpt", "kk-base", "kk-base-rag", "kk-ft"]


def _revision(spec_entry, models_dir):
    (spec,) = specs(spec_entry)
    return served(spec, server=spec, models_dir=models_dir)


@pytest.mark.parametrize(("edit", "same"), [
    (lambda d: (d / "README.md").write_text("other notes"), True),
    (lambda d: (d / "LICENSE.html").write_text("<p>terms</p>"), True),
    (lambda d: (d / "model.safetensors").write_bytes(b"x" + b"w" * (3 * MIB - 1)), False),
    (lambda d: (d / "model.safetensors").write_bytes(b"w" * (3 * MIB - 1) + b"x"), False),
    (lambda d: (d / "model.safetensors").write_bytes(b"w" * (3 * MIB + 1)), False),
    (lambda d: (d / "config.json").write_text('{"model_type": "llama"}'), False),
    (lambda d: (d / "tokenizer.json").write_text("{}"), False),
])
def test_the_revision_follows_the_files_vllm_reads(tmp_path, edit, same):
    path = model_dir(tmp_path, "m", weights=b"w" * 3 * MIB)
    before = _revision({"name": "m", "path": str(path)}, tmp_path)
    edit(path)
    after = _revision({"name": "m", "path": str(path)}, tmp_path)
    assert (after.revision == before.revision) is same
    assert after.source == "path:m"


def test_the_revision_covers_answer_shaping_settings_but_not_weight_or_kind(tmp_path):
    entry = {"name": "m", "base_url": "http://10.0.0.7:8000/v1"}
    first = _revision(entry, tmp_path)
    assert first.source == "external:10.0.0.7 model:m"  # no port, no path of the host
    assert _revision({**entry, "arena_weight": 5, "kind": "base"}, tmp_path).revision == first.revision
    for change in ({"sampling": {"temperature": 0.7}}, {"system_prompt": "Сәлем"}, {"pipeline": "rag"},
                   {"served_model_name": "other"}):
        assert _revision({**entry, **change}, tmp_path).revision != first.revision, change
    packaged = tmp_path / "models" / "gemma-3-270m"
    packaged.mkdir(parents=True)
    (packaged / MANIFEST).write_text(json.dumps({"gguf_sha256": "ab" * 32}))
    p = _revision({"name": "g", "packaged": "gemma-3-270m"}, tmp_path / "models")
    assert (p.source, p.settings["weights"]) == ("packaged:gemma-3-270m", "ab" * 6)
    assert p.settings["serving"] == {"dtype": "auto", "max_model_len": 2048, "vllm_args": []}


def test_vote_counts_equal_an_independent_count(db_url, tmp_path):
    names = ["m1", "m2", "m3", "m4"]
    external = [{"name": n, "base_url": f"http://{n}.example/v1"} for n in names]
    start(db_url, specs(*external), 1, tmp_path)
    start(db_url, specs(*external[:1], {**external[1], "system_prompt": "new"}, *external[2:]), 10, tmp_path)
    rng = np.random.default_rng(7)
    with session_scope(db_url) as s:
        people = [Annotator(username=f"a{i}", password_hash="x") for i in range(3)]
        s.add_all(people)
        s.flush()
        for i in range(60):
            a, b = rng.choice(3, size=2, replace=False)  # m4 is never drawn
            battle = Battle(model_a=names[a], model_b=names[b], created_at=day(1 + i % 20),
                            state="voted" if i % 4 else "abandoned", gold=i % 7 == 0, flagged=i % 9 == 0)
            s.add(battle)
            s.flush()
            if battle.state == "voted":
                for j in range(int(rng.integers(1, 4))):
                    s.add(Vote(battle_id=battle.id, annotator_id=people[j].id, idempotency_key=f"k{i}-{j}",
                               winner="model_a", winner_content="model_a", winner_language="tie",
                               created_at=day(1 + i % 20, hour=12)))
    with session_scope(db_url) as s:
        battles = {b.id: b for b in s.scalars(select(Battle))}
        votes = list(s.scalars(select(Vote)))
        summary = {c.model: c for c in ledger(session=s)}

    def utc(t):
        return t if t.tzinfo else t.replace(tzinfo=UTC)

    for name in names:
        mine = [v for v in votes if name in (battles[v.battle_id].model_a, battles[v.battle_id].model_b)]
        since = day(10) if name == "m2" else day(1)
        expected = (sum(name in (b.model_a, b.model_b) for b in battles.values()), len(mine),
                    sum(utc(v.created_at) >= since for v in mine))
        got = summary[name]
        assert (got.n_battles, got.n_votes, got.n_votes_current_revision) == expected, name
    assert summary["m2"].n_votes_current_revision < summary["m2"].n_votes  # the change split its votes
    assert summary["m4"].n_votes == summary["m4"].n_battles == 0


def test_the_app_records_its_contestants_before_it_serves(sqlite_url):
    settings = make_settings(sqlite_url)

    def app(*names):
        config = ModelsConfig.model_validate({"models": [{"name": n, "base_url": f"http://{n}.example/v1"}
                                                         for n in names]})
        return create_app(settings, ModelManager(config, settings), grounder=None)

    def events():
        with session_scope(sqlite_url) as s:
            return [(e.model, e.event) for e in s.scalars(select(ContestantEvent).order_by(ContestantEvent.id))]

    with TestClient(app("alpha", "beta")):
        assert events() == [("alpha", "added"), ("beta", "added")]  # before any request
    with TestClient(app("alpha", "beta")):
        assert len(events()) == 2
    with TestClient(app("alpha")):
        assert events()[2:] == [("beta", "retired")]


def test_migration_0008_adds_and_drops_the_table(sqlite_url):
    downgrade(sqlite_url, "0007")
    assert "contestant_events" not in inspect(get_engine(sqlite_url)).get_table_names()
    upgrade(sqlite_url)
    assert "contestant_events" in inspect(get_engine(sqlite_url)).get_table_names()


def test_a_contestant_whose_server_is_not_served_is_refused(tmp_path):
    rag = ModelSpec(name="rag", server="base", pipeline="rag")
    with pytest.raises(ValueError, match="not among those served"), session_scope(
            f"sqlite:///{tmp_path / 'x.db'}") as s:
        record_contestants(session=s, specs=[rag], models_dir=tmp_path)
