"""The judge against people: kappa per dimension and topic, the bias table, and rank agreement.

Plain rows in, one JSON-ready dict out (the CLI prints it as tables or JSON):

- ``votes``: human votes as ``arena.records.voted_battle_rows`` gives them
  (``battle_id, model_a, model_b, winner_content, winner_language, topic``);
- ``verdicts``: the judge's pairs as ``eval.judge.store.verdict_rows`` gives them
  (``battle_id, dimension, verdict_ab, verdict_ba, verdict, consistent``);
- ``battles``: ``battle_id, model_a, model_b, conversation_a, conversation_b`` of the
  judged battles (for lengths and languages in the bias table).

Agreement pairs are one per human vote on a battle the judge decided (a battle
with two votes gives two pairs); ``invalid`` verdicts are counted and left out.
Confusion matrices have the judge in rows and people in columns.

The judge abstains where it has not earned trust (``eval.judge.trust``): its kappa
is measured per (dimension, topic, language of the battle's question) and its
verdicts in cells below the threshold, or with too few pairs, or never measured,
are left out of the composite ratings. The judge-only ratings still use every
verdict: they describe the judge, they do not rate the models.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from arena.agreement import (
    PairAgreement,
    PreferenceResult,
    json_number,
    language_preference,
    length_preference,
    pair_agreement,
    position_preference,
    rank_agreement,
    self_preference,
)
from arena.battle_table import BattleTable, prepare_battles
from arena.ratings.bradley_terry import fit_bradley_terry
from arena.ratings.composite import fit_composite
from arena.ratings.pairs import PairCounts
from eval.judge.items import split_conversations
from eval.judge.trust import (
    DEFAULT_MIN_PAIRS,
    DEFAULT_THRESHOLD,
    NO_TOPIC,
    UNKNOWN_LANGUAGE,
    JudgeTrust,
    cell_of,
    gate_verdicts,
    human_first,
    judge_trust,
)
from eval.langid import detect_language

__all__ = ["battle_language", "judge_human_report", "majority_label", "trust_pairs"]

_LABEL = {"model_a": "A", "model_b": "B", "tie": "tie", "tie (bothbad)": "tie"}


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _agreement_dict(result: PairAgreement) -> dict[str, Any]:
    k = result.kappa
    return {
        "n": k.n, "kappa": _num(k.kappa), "ci_low": _num(result.ci.low), "ci_high": _num(result.ci.high),
        "ci_level": result.ci.level, "raw_agreement": k.observed_agreement, "chance_agreement": k.expected_agreement,
        "weighted_kappa_linear": _num(result.linear.kappa), "weighted_kappa_quadratic": _num(result.quadratic.kappa),
        "excluded_ties": result.n_excluded, "note": k.note,
        "confusion": {"labels": list(k.categories), "rows": "judge", "columns": "people",
                      "matrix": [list(r) for r in k.confusion]},
    }


def _both_scales(judge: list[str], human: list[str], rounds: int, seed: int, level: float) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(judge)}
    out["three_class"] = _agreement_dict(pair_agreement(judge, human, rounds=rounds, seed=seed, level=level))
    if all("tie" in pair for pair in zip(judge, human, strict=True)):
        out["ties_excluded"] = {"n": 0, "note": "every pair has a tie on one side"}
    else:
        result = pair_agreement(judge, human, exclude_ties=True, rounds=rounds, seed=seed, level=level)
        out["ties_excluded"] = _agreement_dict(result)
    return out


def majority_label(labels: Sequence[str]) -> str:
    """The most common of A/B/tie; a draw between the most common ones is a tie."""
    counts = Counter(labels).most_common()
    if not counts:
        raise ValueError("no labels")
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "tie"
    return counts[0][0]


def _language(text: str) -> str:
    tag = detect_language(text)
    return "kk" if tag.startswith("kk") else tag


def _bias(rows: list[dict[str, Any]], battles: Mapping[str, Mapping[str, Any]],
          human: Mapping[str, str], self_model: str) -> list[dict[str, Any]]:
    """Position (both orders, all judged battles), length, language, self (final verdicts)."""
    shown = []
    for r in rows:
        for order, verdict in (("ab", r["verdict_ab"]), ("ba", r["verdict_ba"])):
            if verdict != "invalid":
                label = _LABEL[verdict]
                shown.append(label if order == "ab" or label == "tie" else {"A": "B", "B": "A"}[label])
    results: list[PreferenceResult] = []
    if shown:
        results.append(position_preference(shown))
    decided = [r for r in rows if r["verdict"] != "invalid" and r["battle_id"] in battles]
    if decided:
        labels = [_LABEL[r["verdict"]] for r in decided]
        answers = [split_conversations(battles[r["battle_id"]]["conversation_a"],
                                       battles[r["battle_id"]]["conversation_b"])[1:] for r in decided]
        model_a = [str(battles[r["battle_id"]]["model_a"]) for r in decided]
        model_b = [str(battles[r["battle_id"]]["model_b"]) for r in decided]
        columns = {
            "length": ([len(a) for a, _ in answers], [len(b) for _, b in answers]),
            "language": ([_language(a) for a, _ in answers], [_language(b) for _, b in answers]),
            "self": (model_a, model_b),
        }
        voted = [i for i, r in enumerate(decided) if r["battle_id"] in human]

        def run(name: str, idx: list[int], labels_: list[str]) -> PreferenceResult:
            a, b = ([col[i] for i in idx] for col in columns[name])
            if name == "length":
                return length_preference(labels_, a, b)
            if name == "language":
                return language_preference(labels_, a, b)
            return self_preference(labels_, a, b, self_model)

        everyone = list(range(len(decided)))
        for name in ("length", "language", "self"):
            result = run(name, everyone, labels)
            if voted:  # the same share under people's (majority) votes, on the battles they voted
                reference = run(name, voted, [human[decided[i]["battle_id"]] for i in voted])
                result = replace(result, reference_share=reference.share)
            results.append(result)
    return [{k: _num(v) if isinstance(v, float) else v for k, v in asdict(r).items()} for r in results]


def _table(rows: Sequence[Mapping[str, Any]], dimension: str) -> BattleTable:
    """The decided judge verdicts as battles; ValueError when none is left to rate."""
    return prepare_battles([{"model_a": r["model_a"], "model_b": r["model_b"], f"winner_{dimension}": r["verdict"]}
                            for r in rows], dimension=dimension, drop_invalid=True)


def _ratings(votes: list[Mapping[str, Any]], decided: list[dict[str, Any]], kept: Sequence[dict[str, Any]],
             dimension: str, judge_weight: float) -> dict[str, Any]:
    """People, judge (every decided verdict) and composite (people + the verdicts ``kept`` by the gate)."""
    try:
        human_table = prepare_battles(votes, dimension=dimension, drop_invalid=True)
        judge_table = _table(decided, dimension)
    except ValueError as error:
        return {"note": f"no ratings: {error}"}
    try:
        gated: BattleTable | None = _table(kept, dimension)
    except ValueError:  # the judge abstained everywhere: the composite is the people's fit
        gated = None
    fits = {"human": fit_bradley_terry(PairCounts.from_table(human_table)),
            "judge": fit_bradley_terry(PairCounts.from_table(judge_table))}
    ratings = {name: dict(zip(f.models, (float(x) for x in f.ratings()), strict=True)) for name, f in fits.items()}
    composite = fit_composite(human_table, gated, judge_weight=judge_weight)
    out: dict[str, Any] = {"human": ratings["human"], "judge": ratings["judge"],
                           "composite": composite.ratings(), "judge_weight": judge_weight,
                           "judge_share_of_weight": composite.judge_share,
                           "judge_verdicts_used": len(kept), "judge_verdicts_abstained": len(decided) - len(kept)}
    try:
        rank = rank_agreement(ratings["human"], ratings["judge"])
    except ValueError as error:
        out["rank"] = {"note": str(error)}
    else:
        out["rank"] = {k: _num(v) if isinstance(v, float) else v for k, v in asdict(rank).items()}
    return out


def battle_language(battle: Mapping[str, Any]) -> str:
    """The language of the battle's question (its last shared user message), tagged as chat questions are.

    Battles store no language; ``Message.language`` of the chat is ``detect_language`` of the
    question, so the same tag (kk-cyrl | kk-latn | ru | other) is derived here; "unknown"
    when the battle or its question is missing.
    """
    try:
        context = split_conversations(battle["conversation_a"], battle["conversation_b"])[0]
    except (KeyError, ValueError):
        return UNKNOWN_LANGUAGE
    questions = [m["content"] for m in context if m["role"] == "user" and m["content"].strip()]
    return detect_language(questions[-1]) if questions else UNKNOWN_LANGUAGE


def _judged(verdicts: Sequence[Mapping[str, Any]], by_battle: Mapping[str, Mapping[str, Any]],
            languages: dict[str, str], dimension: str) -> list[dict[str, Any]]:
    """The verdicts on ``dimension`` with the battle's models, topic and language added."""
    rows = [dict(r) for r in verdicts if r["dimension"] == dimension]
    for r in rows:
        key = str(r["battle_id"])
        battle = by_battle.get(key, {})
        r["model_a"], r["model_b"], r["topic"] = battle.get("model_a"), battle.get("model_b"), battle.get("topic")
        if key not in languages:  # one detection per battle, shared by its dimensions
            languages[key] = battle_language(battle) if battle else UNKNOWN_LANGUAGE
        r["language"] = languages[key]
    return rows


def _matched(votes: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]],
             dimension: str) -> list[tuple[dict[str, Any], str]]:
    """(verdict row, human label) for every human vote on a battle the judge saw on ``dimension``."""
    final = {str(r["battle_id"]): r for r in rows}
    column = f"winner_{dimension}"
    return [(final[str(v["battle_id"])], _LABEL[str(v[column]).strip().lower()]) for v in votes
            if str(v["battle_id"]) in final and v.get(column) and str(v[column]).strip().lower() in _LABEL]


def _pairs(matched: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    return [{"battle_id": r["battle_id"], "dimension": r["dimension"], "topic": r["topic"], "language": r["language"],
             "judge": _LABEL[r["verdict"]], "human": human} for r, human in matched if r["verdict"] != "invalid"]


def trust_pairs(
    votes: Sequence[Mapping[str, Any]],
    verdicts: Sequence[Mapping[str, Any]],
    battles: Sequence[Mapping[str, Any]],
    *,
    dimensions: Sequence[str] = ("content", "language"),
) -> list[dict[str, Any]]:
    """The report's agreement pairs as ``eval.judge.trust.judge_trust`` takes them.

    One row ``{battle_id, dimension, topic, language, judge, human}`` per human vote on a
    battle the judge decided (invalid verdicts left out): the pairs of the report's kappas.
    """
    by_battle = {str(b["battle_id"]): b for b in battles}
    languages: dict[str, str] = {}
    return [p for d in dimensions for p in _pairs(_matched(votes, _judged(verdicts, by_battle, languages, d), d))]


def _trust_section(trust: JudgeTrust, decided: Sequence[Mapping[str, Any]], n_abstained: int) -> dict[str, Any]:
    verdicts = Counter(cell_of(r) for r in decided)
    measured = {c.cell for c in trust.cells}
    return {
        "threshold": trust.threshold, "min_pairs": trust.min_pairs, "scale": "three_class", "ci_level": trust.level,
        "rule": "the judge's verdicts count in the composite only in cells (dimension, topic, language) where its "
                "kappa against people is >= threshold on >= min_pairs pairs; cells never measured do not count",
        "n_verdicts_kept": len(decided) - n_abstained, "n_verdicts_abstained": n_abstained,
        "n_verdicts_unmeasured": sum(n for cell, n in verdicts.items() if cell not in measured),
        "cells": [{"dimension": c.dimension, "topic": c.topic, "language": c.language, "n": c.n,
                   "kappa": json_number(c.kappa), "ci_low": json_number(c.ci_low), "ci_high": json_number(c.ci_high),
                   "trusted": c.trusted, "reason": c.reason, "n_verdicts": verdicts.get(c.cell, 0)}
                  for c in trust.cells],
        "human_first": [list(cell) for cell in sorted(human_first(trust))],
    }


def judge_human_report(
    votes: Sequence[Mapping[str, Any]],
    verdicts: Sequence[Mapping[str, Any]],
    battles: Sequence[Mapping[str, Any]],
    *,
    judge: str,
    dimensions: Sequence[str] = ("content", "language"),
    self_model: str | None = None,
    judge_weight: float = 1.0,
    trust_threshold: float = DEFAULT_THRESHOLD,
    trust_min_pairs: int = DEFAULT_MIN_PAIRS,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Agreement of the judge with people, per dimension and per topic, with the bias table.

    judge: how to name the judge in the report (model, endpoint, "not GPT-4o");
    self_model: the contestant name of the judge's own model, for self-preference
    (default: the judge model name in the verdicts); trust_threshold, trust_min_pairs:
    where the judge's verdicts enter the composite (``eval.judge.trust``).
    """
    by_battle = {str(b["battle_id"]): b for b in battles}
    languages: dict[str, str] = {}
    judged_rows = {d: _judged(verdicts, by_battle, languages, d) for d in dimensions}
    matched_votes = {d: _matched(votes, judged_rows[d], d) for d in dimensions}
    # trust first: it decides which verdicts the composite of each dimension may use
    trust = judge_trust([p for d in dimensions for p in _pairs(matched_votes[d])], threshold=trust_threshold,
                        min_pairs=trust_min_pairs, rounds=rounds, seed=seed, level=level)
    report: dict[str, Any] = {"judge": judge, "dimensions": {}}
    all_decided: list[dict[str, Any]] = []
    n_abstained = 0
    for dimension in dimensions:
        rows, matched = judged_rows[dimension], matched_votes[dimension]
        if not rows:
            report["dimensions"][dimension] = {"n_judged": 0, "note": f"no judge verdicts on {dimension!r}"}
            continue
        column = f"winner_{dimension}"
        valid = [(r, h) for r, h in matched if r["verdict"] != "invalid"]
        judged = [r for r in rows if r["consistent"] is not None]
        decided = [r for r in rows if r["verdict"] != "invalid" and r.get("model_a")]
        kept, abstained = gate_verdicts(decided, trust)
        all_decided += decided
        n_abstained += len(abstained)
        section: dict[str, Any] = {
            "n_judged": len(rows),
            "verdicts": dict(Counter(r["verdict"] for r in rows)),
            "n_invalid": sum(r["verdict"] == "invalid" for r in rows),
            "n_inconsistent": sum(r["consistent"] is False for r in rows),
            "inconsistency_rate": _num(sum(r["consistent"] is False for r in judged) / len(judged) if judged else None),
            "n_votes_matched": len(matched),
            "n_votes_invalid_verdict": len(matched) - len(valid),
            "n_verdicts_abstained": len(abstained),
            "prompt_hashes": sorted({r["prompt_hash"] for r in rows}),
        }
        if valid:
            j, h = [_LABEL[r["verdict"]] for r, _ in valid], [h for _, h in valid]
            section["overall"] = _both_scales(j, h, rounds, seed, level)
            topics: dict[str, tuple[list[str], list[str]]] = {}
            for (r, hl), jl in zip(valid, j, strict=True):
                pair = topics.setdefault(str(r["topic"]) if r["topic"] else NO_TOPIC, ([], []))
                pair[0].append(jl)
                pair[1].append(hl)
            section["by_topic"] = {t: _both_scales(a, b, rounds, seed, level) for t, (a, b) in sorted(topics.items())}
        else:
            section["note"] = "no human vote on a battle the judge decided"
        human_votes: dict[str, list[str]] = {}
        for r, hl in matched:
            human_votes.setdefault(str(r["battle_id"]), []).append(hl)
        majority = {b: majority_label(labels) for b, labels in human_votes.items()}
        models = {str(r["judge_model"]) for r in rows}
        section["bias"] = _bias(rows, by_battle, majority, self_model or sorted(models)[0])
        section["ratings"] = _ratings([v for v in votes if v.get(column)], decided, kept, dimension, judge_weight)
        report["dimensions"][dimension] = section
    report["judge_trust"] = _trust_section(trust, all_decided, n_abstained)
    return report
