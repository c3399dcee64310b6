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
    language_preference,
    length_preference,
    pair_agreement,
    position_preference,
    rank_agreement,
    self_preference,
)
from arena.battle_table import prepare_battles
from arena.ratings.bradley_terry import fit_bradley_terry
from arena.ratings.composite import fit_composite
from arena.ratings.pairs import PairCounts
from eval.judge.items import split_conversations
from eval.langid import detect_language

__all__ = ["judge_human_report", "majority_label"]

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


def _ratings(votes: list[Mapping[str, Any]], rows: list[dict[str, Any]], dimension: str,
             judge_weight: float) -> dict[str, Any]:
    column = f"winner_{dimension}"
    judge_rows = [{"model_a": r["model_a"], "model_b": r["model_b"], column: r["verdict"]}
                  for r in rows if r["verdict"] != "invalid" and r.get("model_a")]
    try:
        human_table = prepare_battles(votes, dimension=dimension, drop_invalid=True)
        judge_table = prepare_battles(judge_rows, dimension=dimension, drop_invalid=True)
    except ValueError as error:
        return {"note": f"no ratings: {error}"}
    fits = {"human": fit_bradley_terry(PairCounts.from_table(human_table)),
            "judge": fit_bradley_terry(PairCounts.from_table(judge_table))}
    ratings = {name: dict(zip(f.models, (float(x) for x in f.ratings()), strict=True)) for name, f in fits.items()}
    composite = fit_composite(human_table, judge_table, judge_weight=judge_weight)
    out: dict[str, Any] = {"human": ratings["human"], "judge": ratings["judge"],
                           "composite": composite.ratings(), "judge_weight": judge_weight,
                           "judge_share_of_weight": composite.judge_share}
    try:
        rank = rank_agreement(ratings["human"], ratings["judge"])
    except ValueError as error:
        out["rank"] = {"note": str(error)}
    else:
        out["rank"] = {k: _num(v) if isinstance(v, float) else v for k, v in asdict(rank).items()}
    return out


def judge_human_report(
    votes: Sequence[Mapping[str, Any]],
    verdicts: Sequence[Mapping[str, Any]],
    battles: Sequence[Mapping[str, Any]],
    *,
    judge: str,
    dimensions: Sequence[str] = ("content", "language"),
    self_model: str | None = None,
    judge_weight: float = 1.0,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Agreement of the judge with people, per dimension and per topic, with the bias table.

    judge: how to name the judge in the report (model, endpoint, "not GPT-4o");
    self_model: the contestant name of the judge's own model, for self-preference
    (default: the judge model name in the verdicts).
    """
    by_battle = {str(b["battle_id"]): b for b in battles}
    report: dict[str, Any] = {"judge": judge, "dimensions": {}}
    for dimension in dimensions:
        rows = [dict(r) for r in verdicts if r["dimension"] == dimension]
        for r in rows:
            battle = by_battle.get(str(r["battle_id"]), {})
            r["model_a"], r["model_b"], r["topic"] = battle.get("model_a"), battle.get("model_b"), battle.get("topic")
        if not rows:
            report["dimensions"][dimension] = {"n_judged": 0, "note": f"no judge verdicts on {dimension!r}"}
            continue
        final = {str(r["battle_id"]): r for r in rows}
        column = f"winner_{dimension}"
        matched = [(final[str(v["battle_id"])], _LABEL[str(v[column]).strip().lower()]) for v in votes
                   if str(v["battle_id"]) in final and v.get(column) and str(v[column]).strip().lower() in _LABEL]
        valid = [(r, h) for r, h in matched if r["verdict"] != "invalid"]
        judged = [r for r in rows if r["consistent"] is not None]
        section: dict[str, Any] = {
            "n_judged": len(rows),
            "verdicts": dict(Counter(r["verdict"] for r in rows)),
            "n_invalid": sum(r["verdict"] == "invalid" for r in rows),
            "n_inconsistent": sum(r["consistent"] is False for r in rows),
            "inconsistency_rate": _num(sum(r["consistent"] is False for r in judged) / len(judged) if judged else None),
            "n_votes_matched": len(matched),
            "n_votes_invalid_verdict": len(matched) - len(valid),
            "prompt_hashes": sorted({r["prompt_hash"] for r in rows}),
        }
        if valid:
            j, h = [_LABEL[r["verdict"]] for r, _ in valid], [h for _, h in valid]
            section["overall"] = _both_scales(j, h, rounds, seed, level)
            topics: dict[str, tuple[list[str], list[str]]] = {}
            for (r, hl), jl in zip(valid, j, strict=True):
                pair = topics.setdefault(str(r["topic"]) if r["topic"] else "(none)", ([], []))
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
        section["ratings"] = _ratings([v for v in votes if v.get(column)], rows, dimension, judge_weight)
        report["dimensions"][dimension] = section
    return report
