"""The judge abstains where its kappa against people is below the threshold (eval/judge/trust.py).

A simulated arena: the judge follows people on one topic and answers at random on
another; the random topic loses trust, its verdicts leave the composite, and the
composite equals one fitted here by hand from the trusted verdicts only.
"""

import json
import math

import numpy as np
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from app.cli import agreement as agreement_cli
from app.settings import get_settings
from arena.agreement import pair_agreement
from arena.battle_table import prepare_battles
from arena.ratings.composite import fit_composite
from db.models import Annotator, Battle, JudgeVerdict, Vote
from db.session import session_scope
from eval.judge.agreement import battle_language, judge_human_report, trust_pairs
from eval.judge.trust import DEFAULT_MIN_PAIRS, DEFAULT_THRESHOLD, gate_verdicts, human_first, judge_trust

STRENGTHS = {"kk-7b": 1.0, "qwen": 0.3, "gemma": -0.2, "llama": -1.1}
QUESTIONS = {"kk-cyrl": "Қазақстанның астанасы қай қала?", "kk-latn": "Qazaqstannyń astanasy qaı qala jáne nelikten?",
             "ru": "Какая столица у Казахстана и почему?"}
LABELS = ("model_a", "model_b", "tie")
ROUNDS = 200


def faithful(rng, human):
    """The judge says what people said, but for one verdict in twenty drawn at random."""
    return human if rng.random() < 0.95 else str(rng.choice(LABELS))


def at_random(rng, human):
    return str(rng.choice(LABELS))


def simulate(seed=0):
    """(votes, verdicts, battles, truth); truth[battle_id] = (topic, language, human label)."""
    rng = np.random.default_rng(seed)
    names = list(STRENGTHS)
    votes, verdicts, battles, truth = [], [], [], {}

    def add(n, topic, language, judges, *, voted=True, human=None):
        for _ in range(n):
            a, b = (str(x) for x in rng.choice(names, size=2, replace=False))
            p, u = 1 / (1 + math.exp(STRENGTHS[b] - STRENGTHS[a])), rng.random()
            label = human or ("tie" if abs(u - p) < 0.1 else "model_a" if u < p else "model_b")
            bid = f"b{len(battles)}"
            q = {"role": "user", "content": QUESTIONS[language]}
            battles.append({"battle_id": bid, "model_a": a, "model_b": b, "topic": topic,
                            "conversation_a": [q, {"role": "assistant", "content": f"{a}: Астана."}],
                            "conversation_b": [q, {"role": "assistant", "content": f"{b}: Астана қаласы."}]})
            truth[bid] = (topic, language, label)
            if voted:
                votes.append({"battle_id": bid, "model_a": a, "model_b": b, "topic": topic,
                              "winner_content": label, "winner_language": label})
            for dimension, judge in zip(("content", "language"), judges, strict=True):
                v = judge(rng, label) if human is None else human
                verdicts.append({"battle_id": bid, "dimension": dimension, "verdict_ab": v, "verdict_ba": v,
                                 "verdict": v, "consistent": True, "judge_model": "judge-x", "prompt_hash": "h"})

    add(120, "history", "kk-cyrl", (faithful, faithful))
    add(80, "history", "kk-cyrl", (faithful, faithful), voted=False)
    add(120, "sports", "kk-cyrl", (at_random, faithful))  # random on content only
    add(80, "sports", "kk-cyrl", (at_random, faithful), voted=False)
    add(12, "history", "kk-latn", (faithful, faithful))  # too few pairs
    add(10, "history", "ru", (faithful, faithful), human="model_a")  # one label on both sides: kappa undefined
    add(20, "cooking", "kk-cyrl", (faithful, faithful), voted=False)  # never measured
    return votes, verdicts, battles, truth


@pytest.fixture(scope="module")
def arena():
    votes, verdicts, battles, truth = simulate()
    report = judge_human_report(votes, verdicts, battles, judge="judge-x", rounds=ROUNDS, seed=1)
    return votes, verdicts, battles, truth, report


def cells(report):
    return {(c["dimension"], c["topic"], c["language"]): c for c in report["judge_trust"]["cells"]}


def test_language_of_a_battle_is_that_of_its_question():
    *_, battles, truth = simulate()
    for battle in battles[:: 7]:
        assert battle_language(battle) == truth[battle["battle_id"]][1]
    assert battle_language({"battle_id": "x"}) == "unknown"  # no conversations stored


def test_random_topic_is_untrusted_and_kappas_are_those_of_each_cell(arena):
    votes, verdicts, _, truth, report = arena
    found = cells(report)
    assert set(found) == {(d, t, lang) for d in ("content", "language")
                          for t, lang in (("history", "kk-cyrl"), ("sports", "kk-cyrl"), ("history", "kk-latn"),
                                          ("history", "ru"))}
    judged = {(v["battle_id"], v["dimension"]): v["verdict"] for v in verdicts}
    short = {"model_a": "A", "model_b": "B", "tie": "tie"}
    for (dimension, topic, language), cell in found.items():
        ids = [v["battle_id"] for v in votes if truth[v["battle_id"]][:2] == (topic, language)]
        judge = [short[judged[(b, dimension)]] for b in ids]
        people = [short[truth[b][2]] for b in ids]
        expected = pair_agreement(judge, people, rounds=ROUNDS, seed=1)
        assert cell["n"] == len(ids)
        if math.isnan(expected.kappa.kappa):
            assert cell["kappa"] is None and cell["ci_low"] is None and not cell["trusted"]
        else:
            assert cell["kappa"] == pytest.approx(expected.kappa.kappa)
            assert (cell["ci_low"], cell["ci_high"]) == (pytest.approx(expected.ci.low), pytest.approx(expected.ci.high))
    assert found[("content", "history", "kk-cyrl")]["kappa"] > 0.8 and found[("content", "history", "kk-cyrl")]["trusted"]
    assert found[("content", "sports", "kk-cyrl")]["kappa"] < 0.3 and not found[("content", "sports", "kk-cyrl")]["trusted"]
    assert found[("language", "sports", "kk-cyrl")]["trusted"]  # the same battles, another dimension
    few = found[("content", "history", "kk-latn")]
    assert few["kappa"] > 0.6 and not few["trusted"] and "fewer than 50" in few["reason"]  # high, but not earned
    assert report["judge_trust"]["human_first"] == sorted(
        [list(c) for c, x in found.items() if not x["trusted"]])
    assert {tuple(c) for c in report["judge_trust"]["human_first"]} == {
        ("content", "sports", "kk-cyrl"), ("content", "history", "kk-latn"), ("content", "history", "ru"),
        ("language", "history", "kk-latn"), ("language", "history", "ru")}


def test_composite_uses_only_the_trusted_verdicts(arena):
    votes, verdicts, _, truth, report = arena
    trusted = {"content": {("history", "kk-cyrl")}, "language": {("history", "kk-cyrl"), ("sports", "kk-cyrl")}}
    models = {v["battle_id"]: (v["model_a"], v["model_b"]) for v in votes}
    models |= {b["battle_id"]: (b["model_a"], b["model_b"]) for b in simulate()[2]}
    abstained_total = 0
    for dimension, cells_ in trusted.items():
        column = f"winner_{dimension}"
        rows = [{"model_a": models[v["battle_id"]][0], "model_b": models[v["battle_id"]][1], column: v["verdict"]}
                for v in verdicts if v["dimension"] == dimension and truth[v["battle_id"]][:2] in cells_]
        everyone = [{"model_a": models[v["battle_id"]][0], "model_b": models[v["battle_id"]][1], column: v["verdict"]}
                    for v in verdicts if v["dimension"] == dimension]
        human = prepare_battles(votes, dimension=dimension, drop_invalid=True)
        by_hand = fit_composite(human, prepare_battles(rows, dimension=dimension), judge_weight=1.0).ratings()
        ungated = fit_composite(human, prepare_battles(everyone, dimension=dimension), judge_weight=1.0).ratings()
        ratings = report["dimensions"][dimension]["ratings"]
        assert ratings["composite"] == pytest.approx(by_hand, abs=1e-6)
        assert (ratings["judge_verdicts_used"], ratings["judge_verdicts_abstained"]) == (len(rows), len(everyone) - len(rows))
        assert report["dimensions"][dimension]["n_verdicts_abstained"] == len(everyone) - len(rows)
        abstained_total += len(everyone) - len(rows)
        if dimension == "content":  # the random topic would have moved the composite
            assert max(abs(ungated[m] - by_hand[m]) for m in by_hand) > 5
    section = report["judge_trust"]
    assert (section["n_verdicts_abstained"], section["n_verdicts_kept"]) == (abstained_total, len(verdicts) - abstained_total)
    assert section["n_verdicts_unmeasured"] == 40  # cooking, both dimensions
    assert (content := cells(report)[("content", "sports", "kk-cyrl")])["n_verdicts"] == 200 and content["n"] == 120


def test_report_is_strict_json(arena):
    *_, report = arena
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["judge_trust"]["threshold"] == DEFAULT_THRESHOLD
    assert json.loads(text)["judge_trust"]["min_pairs"] == DEFAULT_MIN_PAIRS


def pairs(judge, human, **cell):
    return [{"dimension": "content", "topic": "t", "language": "kk-cyrl", **cell, "judge": j, "human": h}
            for j, h in zip(judge, human, strict=True)]


# Wikipedia's 20/5/10/15 table has kappa 0.4; 20/5/5/20 (p_o 0.8, p_e 0.5) has kappa exactly 0.6
SIXTY = pairs(["A"] * 25 + ["B"] * 25, ["A"] * 20 + ["B"] * 5 + ["A"] * 5 + ["B"] * 20)


def test_threshold_is_respected_at_the_boundary():
    kappa = pair_agreement([p["judge"] for p in SIXTY], [p["human"] for p in SIXTY]).kappa.kappa
    assert kappa == pytest.approx(0.6, abs=1e-12)
    at = judge_trust(SIXTY, threshold=0.6, min_pairs=50, rounds=50)
    (cell,) = at.cells
    assert cell.trusted and cell.n == 50 and at.trusts(("content", "t", "kk-cyrl"))
    above = judge_trust(SIXTY, threshold=0.6 + 1e-6, min_pairs=50, rounds=50)
    assert not above.cells[0].trusted and "< 0.6" in above.cells[0].reason
    assert judge_trust(SIXTY, threshold=0.59, min_pairs=50, rounds=50).cells[0].trusted


def test_too_few_pairs_are_not_trusted_even_in_perfect_agreement():
    labels = ["A", "B", "tie"] * 10
    assert judge_trust(pairs(labels, labels), min_pairs=30, rounds=50).cells[0].trusted
    short = judge_trust(pairs(labels[:29], labels[:29]), min_pairs=30, rounds=50)
    assert short.cells[0].kappa == 1.0 and not short.cells[0].trusted and "only 29 pairs" in short.cells[0].reason
    assert not judge_trust(SIXTY, rounds=50, min_pairs=51).cells[0].trusted
    same = judge_trust(pairs(["A"] * 60, ["A"] * 60), rounds=50)  # undefined kappa: not trusted
    assert math.isnan(same.cells[0].kappa) and not same.cells[0].trusted and "undefined" in same.cells[0].reason


def test_gate_and_human_first_use_cells_and_unmeasured_ones_abstain():
    labels = ["A", "B", "tie"] * 20
    good = pairs(labels, labels, topic=None)  # a missing topic is the cell "(none)"
    bad = pairs(labels, labels[1:] + labels[:1], topic="sports", language="ru")
    trust = judge_trust(good + bad, rounds=50)
    assert [(c.cell, c.trusted) for c in trust.cells] == [(("content", "(none)", "kk-cyrl"), True),
                                                          (("content", "sports", "ru"), False)]
    verdicts = [{"id": 1, "dimension": "content", "topic": "", "language": "kk-cyrl"},
                {"id": 2, "dimension": "content", "topic": "sports", "language": "ru"},
                {"id": 3, "dimension": "language", "topic": None, "language": "kk-cyrl"},  # never measured
                {"id": 4, "dimension": "content", "topic": None}]  # language unknown: never measured
    kept, abstained = gate_verdicts(verdicts, trust)
    assert [v["id"] for v in kept] == [1] and [v["id"] for v in abstained] == [2, 3, 4]
    assert human_first(trust) == frozenset({("content", "sports", "ru")})
    assert not trust.trusts(("language", "(none)", "kk-cyrl"))
    nothing = judge_trust([])
    assert nothing.cells == () and gate_verdicts(verdicts, nothing) == ((), tuple(verdicts))


def test_bad_rule_and_labels_fail_loudly():
    with pytest.raises(ValueError, match="threshold"):
        judge_trust(SIXTY, threshold=1.5)
    with pytest.raises(ValueError, match="min_pairs"):
        judge_trust(SIXTY, min_pairs=0)
    with pytest.raises(ValueError, match="row #0"):
        judge_trust(pairs(["invalid"], ["A"]))


def test_trust_pairs_are_the_report_pairs(arena):
    votes, verdicts, battles, _, report = arena
    rows = trust_pairs(votes, verdicts, battles)
    assert len(rows) == sum(c["n"] for c in report["judge_trust"]["cells"])
    assert human_first(judge_trust(rows, rounds=ROUNDS, seed=1)) == {tuple(c) for c in report["judge_trust"]["human_first"]}


def test_table_renders_the_trust_section(arena):
    *_, report = arena
    console = Console(record=True, width=250)
    agreement_cli.render_db_report(report, console)
    text = console.export_text()
    assert "Judge trust: its verdicts count where kappa >= 0.6 on >= 50 pairs" in text
    line = next(x for x in text.splitlines() if "content" in x and "sports" in x and "kk-cyrl" in x)
    assert " NO " in line and " 200 " in line
    assert f"{report['judge_trust']['n_verdicts_abstained']} judge verdicts abstained" in text
    assert "content/sports/kk-cyrl" in text


# --- the CLI's database mode: --judge-trust-threshold ---

def fill(url, n=60):
    """n voted battles on one cell; the judge agrees with the vote on 2 of 3, calling people's ties A (kappa 0.5)."""
    rng = np.random.default_rng(3)
    q = {"role": "user", "content": QUESTIONS["kk-cyrl"]}
    with session_scope(url) as s:
        person = Annotator(username="h0", password_hash="x")
        s.add(person)
        s.flush()
        for i in range(n):
            a, b = (str(x) for x in rng.choice(list(STRENGTHS), size=2, replace=False))
            human = LABELS[i % 3]
            verdict = human if i % 3 != 2 else "model_a"
            s.add(Battle(id=f"b{i}", model_a=a, model_b=b, topic="tax", state="voted",
                         conversation_a=[q, {"role": "assistant", "content": "Астана."}],
                         conversation_b=[q, {"role": "assistant", "content": "Алматы."}]))
            s.flush()
            s.add(Vote(battle_id=f"b{i}", annotator_id=person.id, idempotency_key=f"k{i}", winner_content=human,
                       winner_language=human, winner=human))
            for order in ("ab", "ba"):
                s.add(JudgeVerdict(battle_id=f"b{i}", item_id=f"b{i}", judge_model="fake-judge", prompt_hash="h",
                                   dimension="content", order=order, verdict=verdict, consistent=True))


def test_cli_threshold_option(sqlite_url, tmp_path, monkeypatch):
    fill(sqlite_url)
    app = typer.Typer()
    agreement_cli.register(app)
    app.command("other")(lambda: None)  # a second command keeps Typer in multi-command mode, as in main.py
    for key, value in {"KAZARENA_DATABASE_URL": sqlite_url, "KAZARENA_CACHE_DIR": str(tmp_path / "cache"),
                       "OPENAI_API_KEY": "", "KAZARENA_JUDGE_BASE_URL": "http://127.0.0.1:9/v1",
                       "KAZARENA_JUDGE_MODEL": "fake-judge"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        common = ["agreement", "--dimension", "content", "--rounds", "50"]
        strict = runner.invoke(app, [*common, "--format", "json"])
        loose = runner.invoke(app, [*common, "--format", "json", "--judge-trust-threshold", "0.3"])
        table = runner.invoke(app, [*common, "--judge-trust-threshold", "0.3"])
    finally:
        get_settings.cache_clear()
    for result in (strict, loose, table):
        assert result.exit_code == 0, result.output
    strict_report, loose_report = json.loads(strict.stdout), json.loads(loose.stdout)
    (cell,) = strict_report["judge_trust"]["cells"]
    assert cell["n"] == 60 and cell["kappa"] == pytest.approx(0.5) and not cell["trusted"]
    assert strict_report["dimensions"]["content"]["ratings"]["judge_verdicts_used"] == 0
    assert loose_report["judge_trust"]["threshold"] == 0.3 and loose_report["judge_trust"]["cells"][0]["trusted"]
    assert loose_report["dimensions"]["content"]["ratings"]["judge_verdicts_used"] == 60
    assert "Judge trust" in table.stdout and "tax" in table.stdout and "kk-cyrl" in table.stdout
