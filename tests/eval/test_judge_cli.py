"""`kazarena judge --from-db|--battles` and `kazarena agreement` (database mode) on SQLite and PostgreSQL.

The judge here is the hand-written responder of judge_server.py with fixed rules,
so every stored verdict and every agreement figure is known in advance; the real
model is judged in tests/integration/test_judge_live.py.
"""

import json
from contextlib import contextmanager

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import agreement as agreement_cli
from app.cli import judge as judge_cli
from app.settings import Settings, get_settings
from arena.agreement import pair_agreement
from db.models import Annotator, Battle, JudgeVerdict, Vote
from db.session import session_scope
from eval.judge import OFFICIAL_OPENAI_URL, load_template
from tests.eval.judge_server import JudgeServer, completion, responses

runner = CliRunner()
Q = {"role": "user", "content": "Қазақстанның астанасы қай қала?"}


def fair_judge(body, n):
    """'Астана' wins; 'ПОЗИЦИЯ' makes it say 1 whatever the order; '???' gets no verdict."""
    first, second = responses(body)
    if "???" in first + second:
        return 200, completion("Hmm, hard to say.")
    if "ПОЗИЦИЯ" in first + second:
        return 200, completion("1")
    digit = "1" if "Астана" in first and "Астана" not in second else "2" if "Астана" in second and "Астана" not in first else "0"
    return 200, completion(f"Verdict: {digit}")


# battle: (model_a, model_b, topic, answer_a, answer_b, state, human content votes, human language votes)
BATTLES = {
    "b1": ("good", "bad", "pension", "Астана.", "Алматы.", "voted", ["model_a", "tie"], ["model_a", "tie"]),
    "b2": ("bad", "good", "pension", "Алматы.", "Елорда — Астана.", "voted", ["model_b"], ["tie"]),
    "b3": ("mid", "bad", "tax", "Білмеймін.", "Алматы.", "voted", ["model_a"], ["tie"]),
    "b4": ("good", "mid", "tax", "Астана", "Шымкент", "voted", ["model_b"], ["tie"]),
    "b5": ("mid", "good", "tax", "ПОЗИЦИЯ", "Астана!", "voted", ["tie"], ["tie"]),
    "b6": ("bad", "mid", "pension", "???", "Қарағанды", "voted", ["model_a"], ["tie"]),
    "b7": ("good", "bad", "pension", "Астана.", "Алматы.", "ready", [], []),
}
JUDGE_CONTENT = {"b1": "A", "b2": "B", "b3": "tie", "b4": "A", "b5": "tie", "b6": "invalid", "b7": "A"}


def fill(url):
    with session_scope(url) as s:
        people = [Annotator(username=f"h{i}", password_hash="x") for i in range(2)]
        s.add_all(people)
        s.flush()
        for bid, (ma, mb, topic, a, b, state, content, language) in BATTLES.items():
            s.add(Battle(id=bid, model_a=ma, model_b=mb, topic=topic, state=state,
                         conversation_a=[Q, {"role": "assistant", "content": a}],
                         conversation_b=[Q, {"role": "assistant", "content": b}]))
            s.flush()
            for i, (c, lang) in enumerate(zip(content, language, strict=True)):
                s.add(Vote(battle_id=bid, annotator_id=people[i].id, idempotency_key=f"{bid}-{i}", winner_content=c,
                           winner_language=lang, winner=c))
        s.add(Battle(id="open", model_a="good", model_b="bad", state="open"))


@contextmanager
def cli_env(url, tmp_path, judge_url):
    env = {"KAZARENA_DATABASE_URL": url, "KAZARENA_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": "",
           "KAZARENA_JUDGE_BASE_URL": judge_url, "KAZARENA_JUDGE_MODEL": "fake-judge"}
    get_settings.cache_clear()
    try:
        yield env
    finally:
        get_settings.cache_clear()


@pytest.fixture
def cli():
    app = typer.Typer()
    judge_cli.register(app)
    agreement_cli.register(app)
    return app


def run_judge(cli, env, *args):
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        get_settings.cache_clear()
        result = runner.invoke(cli, ["judge", *args, "--no-progress", "--format", "json"])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return json.loads(result.stdout)


def test_judge_from_db_stores_both_orders_and_resumes(cli, db_url, tmp_path):
    fill(db_url)
    with JudgeServer(fair_judge) as server, cli_env(db_url, tmp_path, server.base_url) as env:
        report = run_judge(cli, env, "--from-db")
        assert server.calls == 7 * 2 * 2 + 4  # battles x dimensions x orders, plus a re-ask for each "???" order
        total = report["total"]
        assert report["battles_read"] == 7 and report["stored"] == 28 and report["already_judged"] == 0
        assert total["counts"] == {"model_a": 6, "model_b": 2, "tie": 4, "invalid": 2}
        assert (total["n_inconsistent"], total["inconsistency_rate"]) == (2, pytest.approx(2 / 12))
        assert "not GPT-4o" in report["judge"] and total["cost_usd"] == 0.0
        with session_scope(db_url) as s:
            rows = s.scalars(select(JudgeVerdict).where(JudgeVerdict.battle_id == "b2",
                                                        JudgeVerdict.dimension == "content")).all()
            assert sorted((r.order, r.verdict, r.raw_text) for r in rows) == [
                ("ab", "model_b", "Verdict: 2"), ("ba", "model_b", "Verdict: 1")]
            r = rows[0]
            assert (r.judge_model, r.consistent, r.prompt_tokens, r.completion_tokens) == ("fake-judge", True, 100, 1)
            assert r.prompt_hash == load_template("arena_content_v2").sha256 and r.item_id == "b2"
            lang = s.scalars(select(JudgeVerdict).where(JudgeVerdict.dimension == "language")).first()
            assert lang.prompt_hash == load_template("arena_language_v2").sha256
            b5 = s.scalars(select(JudgeVerdict).where(JudgeVerdict.battle_id == "b5")).all()
            assert {(r.verdict, r.consistent) for r in b5} == {("model_a", False), ("model_b", False)}
            b6 = s.scalars(select(JudgeVerdict).where(JudgeVerdict.battle_id == "b6")).all()
            assert {r.verdict for r in b6} == {"invalid"} and all(r.consistent is None for r in b6)
            assert all("Hmm" in r.raw_text for r in b6)
            assert not s.scalars(select(JudgeVerdict).where(JudgeVerdict.battle_id == "open")).all()

        # a second run asks only about the pairs that had no verdict
        calls = server.calls
        again = run_judge(cli, env, "--from-db")
        assert again["already_judged"] == 12 and again["total"]["n_pairs"] == 2 and server.calls == calls + 8
        # --redo judges everything again, but the cache answers every pair that had a verdict
        calls = server.calls
        redo = run_judge(cli, env, "--from-db", "--redo", "--dimension", "content")
        assert redo["total"]["n_pairs"] == 7 and redo["total"]["cached_orders"] == 12 and server.calls == calls + 4
        limited = run_judge(cli, env, "--from-db", "--redo", "--dimension", "language", "--limit", "2")
        assert limited["total"]["n_pairs"] == 2 and limited["total"]["requests"] == 0


def test_agreement_reads_judge_and_people_from_the_database(cli, db_url, tmp_path):
    fill(db_url)
    with JudgeServer(fair_judge) as server, cli_env(db_url, tmp_path, server.base_url) as env:
        run_judge(cli, env, "--from-db")
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            get_settings.cache_clear()
            result = runner.invoke(cli, ["agreement", "--format", "json", "--rounds", "200", "--seed", "3"])
            table = runner.invoke(cli, ["agreement", "--rounds", "50", "--dimension", "content"])
            get_settings.cache_clear()
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads(result.stdout)
    assert report["judge_model"] == "fake-judge" and "not GPT-4o" in report["judge"]
    content = report["dimensions"]["content"]
    assert (content["n_judged"], content["n_invalid"], content["n_inconsistent"]) == (7, 1, 1)
    assert content["n_votes_matched"] == 7 and content["n_votes_invalid_verdict"] == 1
    # one pair per human vote on a battle the judge decided (b6 invalid, b7 has no votes)
    judge = [JUDGE_CONTENT[b] for b in ("b1", "b1", "b2", "b3", "b4", "b5")]
    people = ["A", "tie", "B", "A", "B", "tie"]
    expected = pair_agreement(judge, people, rounds=200, seed=3)
    three = content["overall"]["three_class"]
    assert three["kappa"] == pytest.approx(expected.kappa.kappa)
    assert (three["ci_low"], three["ci_high"]) == (pytest.approx(expected.ci.low), pytest.approx(expected.ci.high))
    assert three["confusion"]["matrix"] == [list(r) for r in expected.kappa.confusion]
    assert three["confusion"]["rows"] == "judge" and three["raw_agreement"] == pytest.approx(3 / 6)
    no_ties = content["overall"]["ties_excluded"]
    assert no_ties["n"] == 3 and no_ties["kappa"] == pytest.approx(pair_agreement(judge, people, exclude_ties=True).kappa.kappa)
    assert set(content["by_topic"]) == {"pension", "tax"} and content["by_topic"]["pension"]["n"] == 3
    bias = {b["name"]: b for b in content["bias"]}
    # orders: b1 b2 b4 b7 decisive and consistent (one first-shown win each way), b5 first-shown twice
    assert (bias["position"]["n_decisive"], bias["position"]["n_preferred"], bias["position"]["n_ties"]) == (10, 6, 2)
    assert bias["length"]["n_decisive"] == 2 and bias["self"]["n_skipped"] == 6  # fake-judge is no contestant
    assert content["ratings"]["rank"]["n_models"] == 3 and content["ratings"]["judge"]["good"] > content["ratings"]["judge"]["bad"]
    assert table.exit_code == 0, table.output + table.stderr
    assert "Cohen's kappa" in table.stdout and "Judge bias" in table.stdout and "not GPT-4o" in table.stdout


def test_agreement_without_verdicts_says_what_to_do(cli, sqlite_url, tmp_path):
    with cli_env(sqlite_url, tmp_path, "http://127.0.0.1:9/v1") as env:
        result = runner.invoke(cli, ["agreement"], env=env)
    assert result.exit_code == 1 and "kazarena judge --from-db" in result.stderr


def test_judge_battles_file_stores_item_ids(cli, sqlite_url, tmp_path):
    path = tmp_path / "battles.jsonl"
    rows = [{"question_id": f"q{i}", "model_a": "good", "model_b": "bad", "winner": "model_a",
             "conversation_a": [Q, {"role": "assistant", "content": "Астана"}],
             "conversation_b": [Q, {"role": "assistant", "content": "Алматы"}]} for i in range(3)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    with JudgeServer(fair_judge) as server, cli_env(sqlite_url, tmp_path, server.base_url) as env:
        report = run_judge(cli, env, "--battles", str(path), "--dimension", "content")
    assert report["total"]["counts"]["model_a"] == 3 and report["stored"] == 6
    with session_scope(sqlite_url) as s:
        stored = s.scalars(select(JudgeVerdict)).all()
    assert {r.item_id for r in stored} == {"q0", "q1", "q2"} and all(r.battle_id is None for r in stored)


def test_judge_needs_exactly_one_source(cli):
    assert runner.invoke(cli, ["judge"]).exit_code == 2
    assert runner.invoke(cli, ["judge", "--from-db", "--battles", "x.jsonl"]).exit_code == 2


def test_judge_config_defaults(monkeypatch, tmp_path):
    base = dict(database_url="sqlite://", cache_dir=tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    gpt = judge_cli.judge_config(Settings(**base))
    assert (gpt.base_url, gpt.model, gpt.api_key, gpt.structured) == (OFFICIAL_OPENAI_URL, "gpt-4o", "sk-test", False)
    monkeypatch.delenv("OPENAI_API_KEY")
    local = judge_cli.judge_config(Settings(**base, port=8123))
    assert local.base_url == "http://127.0.0.1:8123/v1" and local.structured and "not GPT-4o" in local.describe()
    assert local.model == "qwen2.5-0.5b-instruct"  # the first model of configs/models.yaml
    chosen = judge_cli.judge_config(Settings(**base, judge_base_url="http://10.0.0.5:8000/v1", judge_model="kk-judge"))
    assert (chosen.base_url, chosen.model) == ("http://10.0.0.5:8000/v1", "kk-judge")
    with pytest.raises(ValueError, match="give the judge model"):
        judge_cli.judge_config(Settings(**base, judge_base_url="http://10.0.0.5:8000/v1"))


def test_judge_description_names_the_configured_judge_fully(tmp_path):
    from app.serving.judge import judge_description
    from eval.judge import describe_judge

    not_gpt4o = "not GPT-4o: its verdicts are not comparable with GPT-4o's"
    base = dict(database_url="sqlite://", cache_dir=tmp_path)
    chosen = Settings(**base, judge_base_url="http://10.0.0.5:8000/v1", judge_model="kk-judge")
    assert judge_description("kk-judge", chosen, {}) == f"kk-judge at http://10.0.0.5:8000/v1 (this judge, {not_gpt4o})"
    assert judge_description("gpt-4o-2024-08-06", chosen, {}) == "gpt-4o-2024-08-06"  # another judge: its name
    assert judge_description("gpt-4o", Settings(**base), {"OPENAI_API_KEY": "sk"}) == f"gpt-4o at {OFFICIAL_OPENAI_URL}"
    no_model = Settings(**base, judge_base_url="http://10.0.0.5:8000/v1")  # names no judge: the name alone
    assert judge_description("qwen-judge", no_model, {}) == describe_judge("qwen-judge") == f"qwen-judge ({not_gpt4o})"
    assert describe_judge("gpt-4o-mini") == f"gpt-4o-mini ({not_gpt4o})"
