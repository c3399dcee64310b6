"""Run the evaluations on models behind an OpenAI-compatible endpoint and turn them into rows.

Each ``run_*`` function does the work and returns a run object holding the
per-item outputs (to audit) and ``rows`` (``ScoreRow``s for the database and the
report). Nothing here knows about the app: the caller passes an ``openai.OpenAI``
client (kazarena's own /v1, or a vLLM server directly), a judge and, to store
results, a SQLAlchemy session (``save_rows``).

Pairwise preferences compare every model with the first one (the baseline, e.g.
the vanilla model): the judge's ``model_a`` is the challenger, so a row's
``win_rate`` is that challenger's rate against the baseline.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from eval.comparison import PairComparison, compare_pair, item_scores, model_rows, pair_rows
from eval.conversation import Dialogue, continue_dialogues, judge_dialogues
from eval.generation import GenerationItem, TextScores, generate, judge_generation, text_scores
from eval.heldout_loss import ItemLoss, chat_prompt, heldout_losses
from eval.mcq import (
    CompletionsScorer,
    MCQDataset,
    MCQItem,
    MCQPrediction,
    MCQScores,
    evaluate_items,
    score_predictions,
)
from eval.mcq.scoring import ANSWER_CUE
from eval.preference import PairJudge, Preference
from eval.results import BASELINE_MODEL, ScoreRow, store_rows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MCQRun:
    task: str  # mcq | rag
    dataset: str
    model: str
    predictions: tuple[MCQPrediction, ...]
    scores: MCQScores
    rows: tuple[ScoreRow, ...]


def mcq_rows(task: str, dataset: str, model: str, scores: MCQScores, details: dict[str, Any]) -> list[ScoreRow]:
    """Overall and per-subject accuracy of one model, plus the dataset's majority-class baseline."""
    a = scores.overall
    rows = [ScoreRow(task, dataset, None, model, "accuracy", a.value, a.ci_low, a.ci_high, a.n,
                     {**details, "correct": a.correct, "level": a.level,
                      "majority_baseline": scores.majority.accuracy})]
    for subject, s in scores.by_subject.items():
        rows.append(ScoreRow(task, dataset, subject, model, "accuracy", s.value, s.ci_low, s.ci_high, s.n,
                             {**details, "correct": s.correct, "level": s.level}))
    m = scores.majority
    rows.append(ScoreRow(task, dataset, None, BASELINE_MODEL, "accuracy", m.accuracy, None, None, m.n,
                         {"answer_index": m.answer}))
    return rows


def run_mcq(
    client: Any,
    models: Sequence[str],
    datasets: Sequence[MCQDataset],
    *,
    task: str = "mcq",
    prefix: Callable[[MCQItem], str] | None = None,
    batch_size: int = 32,
    concurrency: int = 4,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = False,
) -> list[MCQRun]:
    """Zero-shot MCQ (``task="mcq"``) or its RAG baseline (``task="rag"``, with ``prefix``) per model and dataset."""
    if task == "rag" and prefix is None:
        raise ValueError("the rag task needs a prefix (the retrieved chunks)")
    runs = []
    for dataset in datasets:
        baseline_done = False
        for model in models:
            scorer = CompletionsScorer(client, model, batch_size=batch_size, concurrency=concurrency)
            predictions = evaluate_items(dataset.items, scorer, prefix=prefix, progress=progress)
            scores = score_predictions(predictions, rounds=rounds, level=level, seed=seed)
            details = {"seed": seed, "rounds": rounds, "prompt": f"question, lettered options, {ANSWER_CUE!r}"}
            rows = mcq_rows(task, dataset.name, model, scores, details)
            if baseline_done:
                rows = [r for r in rows if not r.is_baseline]
            baseline_done = True
            logger.info("%s %s %s: accuracy %.3f (n=%d)", task, dataset.name, model, scores.overall.value,
                        scores.overall.n)
            runs.append(MCQRun(task, dataset.name, model, tuple(predictions), scores, tuple(rows)))
    return runs


def preference_rows(task: str, dataset: str, prefs: Iterable[Preference], judge: dict[str, Any]) -> list[ScoreRow]:
    """``win_rate`` rows of each challenger against the baseline; topics with nothing judged are left out."""
    rows = []
    for p in prefs:
        if p.n == 0 or not math.isfinite(p.win_rate):
            continue
        rows.append(ScoreRow(task, dataset, p.topic, p.model_a, "win_rate", p.win_rate, p.ci_low, p.ci_high, p.n,
                             {"opponent": p.model_b, "wins": p.wins, "losses": p.losses, "ties": p.ties,
                              "invalid": p.invalid, "level": p.level, "interval": "wilson, ties as half",
                              "judge": judge}))
    return rows


def _judge_info(judge: PairJudge) -> dict[str, Any]:
    config = getattr(judge, "config", None)
    info: dict[str, Any] = {"judge": getattr(config, "model", type(judge).__name__)}
    summary = getattr(judge, "last_summary", None)
    if summary:
        info["inconsistency_rate"] = summary.get("inconsistency_rate")
        info["prompt_hashes"] = summary.get("prompt_hashes")
    return info


@dataclass(frozen=True)
class PairwiseRun:
    """Answers of each model, their text scores (generation only) and the judge's verdicts."""

    task: str  # generation | conversation
    dataset: str
    item_ids: tuple[str, ...]
    answers: dict[str, list[str]]
    text_scores: tuple[TextScores, ...]
    verdicts: dict[str, list[str]]  # challenger -> verdicts against the baseline
    preferences: tuple[Preference, ...]
    rows: tuple[ScoreRow, ...]
    comparisons: tuple[PairComparison, ...] = ()  # generation with pairs: fine-tuned vs vanilla
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # model -> per-item echo/kazakh/loss


def text_rows(dataset: str, scores: Iterable[TextScores], details: dict[str, Any]) -> list[ScoreRow]:
    rows = []
    for s in scores:
        rows.append(ScoreRow("generation", dataset, s.topic, s.model, "rouge_l", s.rouge_l.value, s.rouge_l.ci_low,
                             s.rouge_l.ci_high, s.n, details))
        rows.append(ScoreRow("generation", dataset, s.topic, s.model, "chrf_pp", s.chrf, None, None, s.n, details))
        if s.bertscore_f1 is not None:
            b = s.bertscore_f1
            rows.append(ScoreRow("generation", dataset, s.topic, s.model, "bertscore_f1", b.value, b.ci_low,
                                 b.ci_high, s.n, details))
    return rows


def check_pairs(models: Sequence[str], pairs: Sequence[tuple[str, str]]) -> None:
    """Refuse a pair naming a model that is not evaluated, or one model twice."""
    for tuned, vanilla in pairs:
        missing = [m for m in (tuned, vanilla) if m not in models]
        if missing:
            raise ValueError(f"pair {tuned}:{vanilla} names {', '.join(missing)}, not among the models "
                             f"evaluated ({', '.join(models)})")
        if tuned == vanilla:
            raise ValueError(f"pair {tuned}:{vanilla} compares a model with itself")


def run_generation(
    client: Any,
    models: Sequence[str],
    items: Sequence[GenerationItem],
    *,
    dataset: str = "ift-test",
    judge: PairJudge | None = None,
    bert_scorer: Any | None = None,
    pairs: Sequence[tuple[str, str]] = (),
    tokenizer: Any | None = None,
    max_tokens: int = 512,
    concurrency: int = 4,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = False,
) -> PairwiseRun:
    """Answers of every model; ROUGE-L, chrF++, BERTScore, echo rate, Kazakh share and, with a ``tokenizer``
    (its chat template), the held-out loss; judge preference of each model vs ``models[0]``; for each
    ``(fine-tuned, vanilla)`` pair, paired differences overall, by set and by topic."""
    if not models:
        raise ValueError("no models to evaluate")
    check_pairs(models, pairs)
    answers = {m: generate(client, m, items, max_tokens=max_tokens, concurrency=concurrency, progress=progress)
               for m in models}
    scores = [s for m in models for s in text_scores(m, items, answers[m], bert_scorer=bert_scorer, rounds=rounds,
                                                     level=level, seed=seed)]
    details = {"seed": seed, "rounds": rounds, "max_tokens": max_tokens,
               "bertscore_encoder": getattr(bert_scorer, "encoder", None)}
    rows = text_rows(dataset, scores, details)
    losses: dict[str, list[ItemLoss | None]] = {}
    if tokenizer is not None:
        prompts = [chat_prompt(tokenizer, i.instruction, i.reference) for i in items]
        losses = {m: heldout_losses(client, m, prompts, concurrency=concurrency, progress=progress) for m in models}
    per_item = {m: item_scores(m, items, answers[m], losses.get(m)) for m in models}
    for m in models:
        rows += model_rows(dataset, items, answers[m], per_item[m], details, rounds=rounds, level=level, seed=seed)
    comparisons = tuple(compare_pair(per_item[t], per_item[v], items, rounds=rounds, level=level, seed=seed)
                        for t, v in pairs)
    for c in comparisons:
        rows += pair_rows(dataset, c, details)
    verdicts, prefs = {}, []
    if judge is not None:
        baseline = models[0]
        for challenger in models[1:]:
            p, v = judge_generation(items, answers[challenger], answers[baseline], challenger, baseline, judge,
                                    level=level)
            verdicts[challenger], prefs = v, prefs + p
            rows += preference_rows("generation", dataset, p, _judge_info(judge))
    checks = {m: [{"echo": e, "kazakh": k, "loss_per_token": None if x is None else x.per_token}
                  for e, k, x in zip(s.echo, s.kazakh, s.loss or [None] * len(items), strict=True)]
              for m, s in per_item.items()}
    return PairwiseRun("generation", dataset, tuple(i.id for i in items), answers, tuple(scores), verdicts,
                       tuple(prefs), tuple(rows), comparisons, checks)


def run_conversation(
    client: Any,
    models: Sequence[str],
    dialogues: Sequence[Dialogue],
    judge: PairJudge,
    *,
    dataset: str = "conversation-tasks",
    max_tokens: int = 512,
    concurrency: int = 4,
    level: float = 0.95,
    progress: bool = False,
) -> PairwiseRun:
    """Each model continues each dialogue; judge preference of each model vs ``models[0]``, per topic."""
    if len(models) < 2:
        raise ValueError("conversational evaluation compares at least 2 models")
    answers = {m: continue_dialogues(client, m, dialogues, max_tokens=max_tokens, concurrency=concurrency,
                                     progress=progress) for m in models}
    baseline, verdicts, prefs, rows = models[0], {}, [], []
    for challenger in models[1:]:
        p, v = judge_dialogues(dialogues, answers[challenger], answers[baseline], challenger, baseline, judge,
                               level=level)
        verdicts[challenger], prefs = v, prefs + p
        rows += preference_rows("conversation", dataset, p, _judge_info(judge))
    return PairwiseRun("conversation", dataset, tuple(d.id for d in dialogues), answers, (), verdicts,
                       tuple(prefs), tuple(rows))


def save_rows(session: Session, run_id: str, rows: Iterable[ScoreRow]) -> int:
    """Store the rows as ``EvalResult``s in the caller's session (the caller commits)."""
    return store_rows(session, run_id, rows)


def write_outputs(out_dir: Path, runs: Iterable[MCQRun | PairwiseRun]) -> list[Path]:
    """Per-item outputs as JSONL beside the report, one file per run, so every score can be audited."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for run in runs:
        if isinstance(run, MCQRun):
            path = out_dir / f"items_{run.task}_{_slug(run.dataset)}_{_slug(run.model)}.jsonl"
            lines = [asdict(p) | {"correct": p.correct} for p in run.predictions]
        else:
            path = out_dir / f"items_{run.task}_{_slug(run.dataset)}.jsonl"
            lines = [{"id": item_id, "answers": {m: a[k] for m, a in run.answers.items()},
                      "verdicts": {m: v[k] for m, v in run.verdicts.items()}}
                     | ({"checks": {m: c[k] for m, c in run.checks.items()}} if run.checks else {})
                     for k, item_id in enumerate(run.item_ids)]
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        paths.append(path)
    return paths


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
