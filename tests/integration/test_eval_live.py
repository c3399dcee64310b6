"""The evaluation suite against the real packaged model: through kazarena's /v1 and vLLM directly.

Real data: the 10 UNT "human society and rights" items, KazQAD's Wikipedia
passages as a RAG corpus, the IFT test split. The tiny model's scores mean
nothing; what is checked is that the plumbing gives the same numbers every way.
"""

import json
import math

import openai
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli.main import app as cli
from app.main import create_app
from app.settings import get_settings
from db.models import ConversationTask, EvalResult
from db.paths import SHARED_DATA
from db.session import session_scope
from eval.generation import load_generation_items
from eval.judge import JudgeConfig
from eval.mcq import CompletionsScorer, RagPrefix, evaluate_items, load_mcq
from eval.preference import VERDICTS, LLMJudge
from eval.results import load_rows
from eval.retrieval import BM25Index, Document
from eval.runner import run_generation, save_rows
from tests.conftest import TEST_MODEL, TEST_RAG_MODEL, make_settings
from tests.utils.servers import AppServer

pytestmark = pytest.mark.vllm

UNT10 = SHARED_DATA / "unt_mcq" / "human_society_rights_10.jsonl"
KAZQAD = SHARED_DATA / "kazqad" / "wiki_passages.jsonl"


@pytest.fixture(scope="module")
def live(vllm, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('evallive') / 'kazarena.db'}"
    with AppServer(create_app(make_settings(url, request_timeout_s=300.0), manager=vllm.manager)) as server:
        server.db = url
        server.client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="EMPTY", max_retries=0, timeout=600)
        yield server


@pytest.fixture(scope="module")
def direct(vllm):
    """vLLM itself, bypassing kazarena: (client, the model's name on that server, base URL)."""
    manager = vllm.manager
    route = manager.resolve(TEST_MODEL)
    client = openai.OpenAI(base_url=route.server.base_url, api_key=route.server.api_key or "EMPTY", max_retries=0,
                           timeout=600)
    return client, manager.upstream_model(route), route.server.base_url


def test_cli_mcq_stores_results_and_matches_vllm_directly(live, direct, tmp_path, monkeypatch):
    monkeypatch.setenv("KAZARENA_DATABASE_URL", live.db)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["eval", "mcq", "-m", TEST_MODEL, "-d", str(UNT10), "--limit", "4",
                                          "--base-url", f"{live.url}/v1", "--out", str(tmp_path), "--rounds", "200",
                                          "--batch-size", "20"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    items_file = tmp_path / f"items_mcq_human_society_rights_10_{TEST_MODEL}.jsonl"
    per_item = [json.loads(line) for line in items_file.read_text(encoding="utf-8").splitlines()]
    assert len(per_item) == 4
    for p in per_item:  # four one-token options at the same position: probabilities sum to at most 1
        assert all(x < 0 for x in p["loglikelihoods"])
        assert math.fsum(math.exp(x) for x in p["loglikelihoods"]) <= 1.0 + 1e-6
    accuracy = sum(p["correct"] for p in per_item) / 4

    with session_scope(live.db) as s:
        (run_id,) = s.scalars(select(EvalResult.run_id).distinct()).all()
        rows = load_rows(s, run_id)
    main = next(r for r in rows if r.model == TEST_MODEL and r.subset is None)
    assert (main.task, main.metric, main.n, main.value) == ("mcq", "accuracy", 4, pytest.approx(accuracy))
    assert main.ci_low <= main.value <= main.ci_high
    assert any(r.model == "majority-class" for r in rows)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert TEST_MODEL in report and (tmp_path / "accuracy_mcq_human_society_rights_10.png").is_file()

    # the same 2 sampled items straight from vLLM, one prompt per request: same log-likelihoods
    client, name, _ = direct
    by_id = {i.id: i for i in load_mcq(str(UNT10)).items}
    items = [by_id[p["item_id"]] for p in per_item[:2]]
    single = evaluate_items(items, CompletionsScorer(client, name, batch_size=1, concurrency=4))
    for p, q in zip(per_item[:2], single, strict=True):
        assert p["loglikelihoods"] == pytest.approx(list(q.loglikelihoods), abs=2e-3)
        assert p["predicted"] == q.predicted


def kazqad_documents():
    docs = []
    for line in KAZQAD.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        docs.append(Document(id=row["passage_id"], set="kazqad", topic=row["domain"], title=row["title"],
                             source_url="", text=row["text"]))
    return docs


def test_rag_prefix_from_kazqad_passages_reaches_the_model(live):
    prefix = RagPrefix(BM25Index.build(kazqad_documents()))
    items = load_mcq(str(UNT10)).items
    grounded = [i for i in items if prefix(i)]
    assert grounded, "no UNT question retrieved any KazQAD passage"
    item = grounded[0]
    block = prefix(item)
    assert block.startswith("Context:\n") and block.count("\n") <= 4  # heading, 2 chunks, blank line
    with_rag = evaluate_items([item], CompletionsScorer(live.client, TEST_MODEL), prefix=prefix)[0]
    without = evaluate_items([item], CompletionsScorer(live.client, TEST_MODEL))[0]
    assert with_rag.loglikelihoods != pytest.approx(without.loglikelihoods, abs=1e-4)  # the context was seen


@pytest.fixture(scope="module")
def judge(direct):
    _, name, base_url = direct
    return LLMJudge(JudgeConfig(base_url=base_url, model=name, max_tokens=4, parse_retries=0, concurrency=4))


def test_generation_on_the_ift_test_split(live, judge, sqlite_url):
    items = load_generation_items(limit=2)
    run = run_generation(live.client, [TEST_MODEL, TEST_RAG_MODEL], items, judge=judge, max_tokens=24, rounds=200)
    assert all(a.strip() for answers in run.answers.values() for a in answers)
    metrics = {(r.model, r.metric) for r in run.rows if r.subset is None}
    assert {(TEST_MODEL, "rouge_l"), (TEST_MODEL, "chrf_pp"), (TEST_RAG_MODEL, "rouge_l")} <= metrics
    assert set(run.verdicts[TEST_RAG_MODEL]) <= set(VERDICTS) and len(run.verdicts[TEST_RAG_MODEL]) == 2
    for r in run.rows:
        assert 0 <= r.value <= (100 if r.metric == "chrf_pp" else 1)
    judged = sum(v != "invalid" for v in run.verdicts[TEST_RAG_MODEL])
    wins = [r for r in run.rows if r.metric == "win_rate" and r.subset is None]
    assert len(wins) == (1 if judged else 0)  # a judge with no verdict at all yields no win-rate row
    with session_scope(sqlite_url) as s:
        assert save_rows(s, "gen-run", run.rows) == len(run.rows)
    with session_scope(sqlite_url) as s:
        assert load_rows(s, "gen-run") == list(run.rows)


def test_cli_conversation_on_tasks_from_the_database(live, direct, sqlite_url, tmp_path, monkeypatch):
    with session_scope(sqlite_url) as s:
        s.add(ConversationTask(id="conv-1", topic="identity_documents", messages=[
            {"role": "user", "content": "Сәлеметсіз бе! Маған жеке куәлік керек."},
            {"role": "assistant", "content": "Сәлеметсіз бе! Қалай көмектесе аламын?"},
            {"role": "user", "content": "Жеке куәлікті қайдан аламын?"}]))
        s.add(ConversationTask(id="conv-2", topic="kazakh_history", messages=[
            {"role": "user", "content": "Абай Құнанбайұлы туралы қысқаша айтып берші."}]))
    _, judge_model, judge_url = direct
    monkeypatch.setenv("KAZARENA_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["eval", "conversation", "-m", f"{TEST_MODEL},{TEST_RAG_MODEL}",
                                          "--base-url", f"{live.url}/v1", "--max-tokens", "16", "--out",
                                          str(tmp_path), "--judge-base-url", judge_url, "--judge-model", judge_model])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (tmp_path / "items_conversation_conversation-tasks.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert [x["id"] for x in lines] == ["conv-1", "conv-2"]
    assert all(x["answers"][TEST_MODEL] and x["answers"][TEST_RAG_MODEL] for x in lines)
    assert all(x["verdicts"][TEST_RAG_MODEL] in VERDICTS for x in lines)
    judged = [x["verdicts"][TEST_RAG_MODEL] for x in lines if x["verdicts"][TEST_RAG_MODEL] != "invalid"]
    with session_scope(sqlite_url) as s:
        rows = [r for run_id in s.scalars(select(EvalResult.run_id).distinct()).all() for r in load_rows(s, run_id)]
    overall = [r for r in rows if r.subset is None]
    assert len(overall) == (1 if judged else 0)  # a judge with no verdict at all yields no win-rate row
    for r in rows:
        assert (r.task, r.metric, r.model, r.details["opponent"]) == ("conversation", "win_rate", TEST_RAG_MODEL,
                                                                       TEST_MODEL)
        assert r.details["wins"] + r.details["losses"] + r.details["ties"] == r.n
    if judged:
        assert overall[0].n == len(judged)
