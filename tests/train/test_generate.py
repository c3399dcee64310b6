"""IFT and conversation generation: the parser on real-looking replies, and whole runs
against a tiny OpenAI-compatible server that returns canned replies (deterministic)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eval.retrieval.documents import Document
from train.generate import Endpoint, Usage, generate_conversations, generate_ift, parse_dialogue, parse_pairs

GOOD = [{"category": "factual", "instruction": "Қазақстанда жеке куәлік неше жасқа толғанда беріледі?",
         "output": "Жеке куәлік он алты жасқа толған азаматқа беріледі."},
        {"category": "Is it true that", "instruction": "Рас па: жеке куәлік он жылға беріледі?",
         "output": "Иә, жеке куәлік он жыл мерзімге беріледі."}]
BAD = [{"category": "factual", "instruction": "", "output": "Иә, бұл дұрыс."},  # empty instruction
       {"category": "factual", "instruction": "When is the ID card issued?", "output": "At sixteen."},  # English
       {"category": "poem", "instruction": "Өлең жазыңыз: куәлік туралы.", "output": "Куәлік - біздің құжат."}]


def test_parser_good_reply() -> None:
    parsed = parse_pairs(json.dumps(GOOD, ensure_ascii=False))
    assert parsed.invalid == 0
    assert [p["category"] for p in parsed.pairs] == ["factual", "true_false"]  # alias normalised


def test_parser_messy_reply() -> None:
    reply = ("Міне, жұптар:\n```json\n" + json.dumps(GOOD + BAD, ensure_ascii=False, indent=1)
             + "\n```\nҚосымша сұрақтарыңыз болса, жазыңыз {not json}.")
    parsed = parse_pairs(reply)
    assert len(parsed.pairs) == 2 and parsed.invalid == 3
    assert parsed.reasons == {"empty_instruction": 1, "instruction_not_kazakh": 1, "unknown_category": 1}
    wrapped = parse_pairs(json.dumps({"pairs": GOOD}, ensure_ascii=False))  # an object holding the array
    assert len(wrapped.pairs) == 2


@pytest.mark.parametrize("reply", ["", "Кешіріңіз, мен көмектесе алмаймын.", "[{\"category\": \"factual\", \"instr",
                                   "```json\n[1, 2]\n```"])
def test_parser_invalid_replies(reply: str) -> None:
    parsed = parse_pairs(reply)
    assert parsed.pairs == [] and parsed.invalid >= 1


def test_dialogue_parser() -> None:
    text = ("Диалог:\n1-адам: Сәлем! Жеке куәлікті қашан алуға болады?\n2-адам: Он алты жаста.\n"
            "1-адам: Ол қанша жылға беріледі?\n2-адам: ...\n1-адам: артық жол")
    turns = parse_dialogue(text)
    assert turns is not None and turns[-1] == (2, "...") and len(turns) == 4
    assert parse_dialogue("1-адам: Сәлем, қалың қалай?\n2-адам: Жақсы.") is None  # finished: not a task
    assert parse_dialogue("Person 1: hello\n2-адам: ...") is None


class FakeServer:
    """A chat-completions endpoint replying with canned texts in order; can fail first with a status."""

    def __init__(self, replies: list[str], fail_first: list[int] | None = None) -> None:
        self.replies, self.fail_first, self.calls = list(replies), list(fail_first or []), 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                server.calls += 1
                if server.fail_first:
                    status, body = server.fail_first.pop(0), b'{"error": {"message": "busy"}}'
                else:
                    text = server.replies.pop(0) if server.replies else "[]"
                    status = 200
                    body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                                       "choices": [{"index": 0, "finish_reason": "stop",
                                                    "message": {"role": "assistant", "content": text}}],
                                       "usage": {"prompt_tokens": 100, "completion_tokens": 50,
                                                 "total_tokens": 150}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer([])
    yield server
    server.httpd.shutdown()


DOCS = [Document(id=f"govset-doc{i}", set="govset", topic="identity_documents", title="Жеке куәлік",
                 source_url=f"https://example.kz/{i}", text="Жеке куәлік он алты жасқа толған азаматқа беріледі.")
        for i in range(3)]


def test_generate_ift_end_to_end_and_resume(fake: FakeServer, tmp_path: Path) -> None:
    reply = "```json\n" + json.dumps(GOOD + BAD[:1], ensure_ascii=False) + "\n```"
    fake.replies = [reply, reply, "no JSON at all"]
    endpoint = Endpoint(base_url=fake.base_url, model="fake", concurrency=1, backoff_s=0.01)
    out = tmp_path / "pairs.jsonl"
    usage = generate_ift(DOCS, out, endpoint)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert (usage.items_done, usage.valid, usage.invalid, usage.requests) == (3, 4, 3, 3)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cost_usd) == (300, 150, 0.0)  # local: free
    assert len(rows) == 4 and len({r["id"] for r in rows}) == 4
    assert {r["source"] for r in rows} <= {d.source_url for d in DOCS}
    assert all(r["topic"] == "identity_documents" and r["set"] == "govset" for r in rows)
    # A second run finds every document done (the one with no valid pair too) and calls nothing.
    again = generate_ift(DOCS, out, endpoint)
    assert (again.items_skipped, again.requests, fake.calls) == (3, 0, 3)
    assert out.read_text(encoding="utf-8").count("\n") == 4


def test_retries_on_429_and_5xx_then_succeeds(tmp_path: Path) -> None:
    server = FakeServer([json.dumps(GOOD, ensure_ascii=False)], fail_first=[429, 503])
    try:
        endpoint = Endpoint(base_url=server.base_url, model="fake", backoff_s=0.01)
        usage = generate_ift(DOCS[:1], tmp_path / "o.jsonl", endpoint)
        assert (usage.requests, usage.valid, usage.items_done) == (3, 2, 1)
    finally:
        server.httpd.shutdown()


def test_failed_document_is_retried_by_the_next_run(tmp_path: Path) -> None:
    server = FakeServer([json.dumps(GOOD, ensure_ascii=False)], fail_first=[500, 500])
    try:
        endpoint = Endpoint(base_url=server.base_url, model="fake", backoff_s=0.01, max_retries=1)
        first = generate_ift(DOCS[:1], tmp_path / "o.jsonl", endpoint)
        assert (first.items_failed, first.items_done) == (1, 0)
        second = generate_ift(DOCS[:1], tmp_path / "o.jsonl", endpoint)
        assert (second.items_done, second.valid) == (1, 2)
    finally:
        server.httpd.shutdown()


def test_cost_uses_the_price_table() -> None:
    usage = Usage()
    usage.add_tokens(Endpoint(base_url="https://api.openai.com/v1", model="gpt-4o-2024-08-06"), 1_000_000, 100_000)
    assert usage.cost_usd == pytest.approx(2.50 + 1.00)
    unknown = Usage()
    unknown.add_tokens(Endpoint(base_url="https://example.com/v1", model="mystery"), 10, 10)
    assert unknown.cost_usd is None


def test_endpoint_defaults() -> None:
    env: dict[str, str] = {}
    with pytest.raises(ValueError, match="base-url"):
        Endpoint.resolve(env=env)
    env["OPENAI_API_KEY"] = "sk-test"
    endpoint = Endpoint.resolve(env=env)
    assert (endpoint.base_url, endpoint.model, endpoint.api_key) == ("https://api.openai.com/v1", "gpt-4o", "sk-test")
    # the OpenAI key is not sent to another server
    assert Endpoint.resolve("https://llm.example.org/v1", "m", env=env).api_key == "EMPTY"
    other = "other-key"  # KAZARENA_GENERATE_API_KEY, which the CLI passes as server_key
    assert Endpoint.resolve("https://llm.example.org/v1", "m", env=env, server_key=other).api_key == "other-key"
    assert Endpoint.resolve(env=env, server_key=other).api_key == "sk-test"
    assert Endpoint.resolve("http://127.0.0.1:8000/v1", env=env).model == "gpt-4o"  # the generators' model default


def test_cli_takes_the_generation_key_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli.data import generation_endpoint
    from app.settings import Settings

    monkeypatch.setenv("KAZARENA_GENERATE_API_KEY", "other-key")
    settings = Settings(database_url="sqlite://")
    env = {"OPENAI_API_KEY": "sk-test"}
    endpoint = generation_endpoint(settings, env, "https://llm.example.org/v1", "m", concurrency=2)
    assert (endpoint.api_key, endpoint.concurrency) == ("other-key", 2)
    assert generation_endpoint(settings, env, None, None).api_key == "sk-test"


def test_generate_conversations(fake: FakeServer, tmp_path: Path) -> None:
    fake.replies = ["1-адам: Сәлеметсіз бе! Жеке куәлікті қай жаста алады?\n2-адам: ...",
                    "Sorry, I cannot."]
    pairs = [{"id": f"p{i}", "set": "cultset", "topic": "music", **GOOD[0]} for i in range(2)]
    out = tmp_path / "conv.jsonl"
    usage = generate_conversations(pairs, out, Endpoint(base_url=fake.base_url, model="fake", concurrency=1))
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert (usage.valid, usage.invalid) == (1, 1) and len(rows) == 1
    row = rows[0]
    assert row["origin"] == "generated" and row["source_id"] in {"p0", "p1"} and row["set"] == "cultset"
    content = row["messages"][-1]["content"]
    assert row["messages"][-1]["role"] == "user" and content.endswith("2-адам: ...")
    assert content.startswith("Төмендегі диалогты 2-адамның атынан жалғастырыңыз.")
    assert row["id"] == f"conv:{row['source_id']}"


def test_to_db_inserts_generated_tasks_once(sqlite_url: str) -> None:
    from sqlalchemy import select

    from app.cli.data import insert_tasks
    from db.models import ConversationTask
    from db.session import session_scope

    row = {"id": "conv:p0", "set": "cultset", "topic": "music", "source_id": "p0", "origin": "generated",
           "messages": [{"role": "user", "content": "Төмендегі диалогты...\n\n1-адам: Сәлем?\n2-адам: ..."}]}
    assert insert_tasks([row], sqlite_url) == 1
    assert insert_tasks([row], sqlite_url) == 0  # rerun: nothing twice
    with session_scope(sqlite_url) as s:
        task = s.scalars(select(ConversationTask)).one()
        assert (task.origin, task.set, task.source_id, task.messages) == ("generated", "cultset", "p0", row["messages"])


def test_cli_generate_ift(fake: FakeServer, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from app.cli import data

    app = typer.Typer()
    data.register(app)
    fake.replies = [json.dumps(GOOD, ensure_ascii=False)]
    docs = Path(__file__).parents[2] / "data" / "govset" / "govset.jsonl"
    out = tmp_path / "o.jsonl"
    args = ["generate-ift", str(docs), "--out", str(out), "--base-url", fake.base_url, "--model", "fake", "--limit", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("\n") == 2 and fake.calls == 1
