"""Fine-tuned vs vanilla on the same held-out items: per-item scores, paired differences, their rows.

Per item and model: ROUGE-L F1 (0-1), sentence chrF++ (0-100, sacrebleu's
``CHRF(word_order=2)`` as the corpus figure), echo (0/1, ``eval.answer_checks.is_echo``),
Kazakh (0/1, ``is_kazakh``) and, when a tokenizer was given, the held-out loss
per response token (``eval.heldout_loss``). Each pair's differences (fine-tuned
minus vanilla) get the paired bootstrap of ``eval.paired``, overall, by set and
by topic. Rows: ``<metric>_diff`` with the fine-tuned model as ``model`` and the
vanilla one as ``details["opponent"]``; per model, ``loss`` (bootstrap interval),
``echo_rate`` and ``kk_share`` (Wilson intervals).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.answer_checks import is_echo, is_kazakh, share
from eval.generation import GenerationItem, bootstrap_mean
from eval.heldout_loss import ItemLoss
from eval.metrics import chrf_pp, corpus_rouge_l
from eval.paired import PairedDiff, paired_by_group
from eval.results import ScoreRow

# compared per pair; higher is better except for loss and echo_rate
PAIR_METRICS = ("rouge_l", "chrf_pp", "loss", "echo_rate", "kk_share")
SAMPLES = 3  # answers per model kept in the report


@dataclass(frozen=True)
class ItemScores:
    """One model's per-item scores on the items, each of shape (n,); ``loss`` None without a tokenizer."""

    model: str
    rouge_l: tuple[float, ...]
    chrf_pp: tuple[float, ...]
    echo: tuple[bool, ...]
    kazakh: tuple[bool, ...]
    loss: tuple[ItemLoss | None, ...] | None = None

    def values(self, metric: str) -> np.ndarray:
        """Per-item values of a ``PAIR_METRICS`` metric; NaN where an item has no loss."""
        if metric == "rouge_l":
            return np.array(self.rouge_l, dtype=float)
        if metric == "chrf_pp":
            return np.array(self.chrf_pp, dtype=float)
        if metric == "echo_rate":
            return np.array(self.echo, dtype=float)
        if metric == "kk_share":
            return np.array(self.kazakh, dtype=float)
        if metric == "loss":
            if self.loss is None:
                raise ValueError(f"{self.model}: no held-out loss (give a tokenizer)")
            return np.array([math.nan if x is None else x.per_token for x in self.loss], dtype=float)
        raise ValueError(f"Unknown metric: {metric!r} (expected one of {', '.join(PAIR_METRICS)})")


def item_scores(model: str, items: Sequence[GenerationItem], answers: Sequence[str],
                losses: Sequence[ItemLoss | None] | None = None) -> ItemScores:
    """Score every answer of ``model`` against its item's reference and question."""
    if len(items) != len(answers) or (losses is not None and len(losses) != len(items)):
        raise ValueError(f"{len(items)} items but {len(answers)} answers"
                         + ("" if losses is None else f" and {len(losses)} losses"))
    references = [i.reference for i in items]
    return ItemScores(
        model=model,
        rouge_l=tuple(s.f1 for s in corpus_rouge_l(answers, references).items),
        chrf_pp=tuple(chrf_pp(a, r) for a, r in zip(answers, references, strict=True)),
        echo=tuple(is_echo(i.instruction, a) for i, a in zip(items, answers, strict=True)),
        kazakh=tuple(is_kazakh(a) for a in answers),
        loss=None if losses is None else tuple(losses),
    )


@dataclass(frozen=True)
class PairComparison:
    """A fine-tuned model against its vanilla model: per metric, overall then by set and topic."""

    tuned: str
    vanilla: str
    diffs: tuple[tuple[str, tuple[PairedDiff, ...]], ...]  # (metric, results) in PAIR_METRICS order


def compare_pair(tuned: ItemScores, vanilla: ItemScores, items: Sequence[GenerationItem], *, rounds: int = 2000,
                 level: float = 0.95, seed: int = 0) -> PairComparison:
    """Paired bootstrap of tuned minus vanilla for each metric; items without a loss on either side drop out."""
    metrics = [m for m in PAIR_METRICS if m != "loss" or (tuned.loss is not None and vanilla.loss is not None)]
    out = []
    for metric in metrics:
        a, b = tuned.values(metric), vanilla.values(metric)
        keep = np.isfinite(a) & np.isfinite(b)
        if not keep.any():
            continue
        kept = [i for i, k in zip(items, keep, strict=True) if k]
        groups = {"set": [i.set_name for i in kept], "topic": [i.topic for i in kept]}
        out.append((metric, paired_by_group(a[keep], b[keep], groups, rounds=rounds, level=level, seed=seed)))
    return PairComparison(tuned.model, vanilla.model, tuple(out))


def pair_rows(dataset: str, comparison: PairComparison, details: dict[str, Any]) -> list[ScoreRow]:
    """``<metric>_diff`` rows of one pair: value tuned minus vanilla, its interval, the two means."""
    rows = []
    for metric, diffs in comparison.diffs:
        for d in diffs:
            rows.append(ScoreRow("generation", dataset, d.subset, comparison.tuned, f"{metric}_diff", d.diff,
                                 d.ci_low, d.ci_high, d.n,
                                 {**details, "opponent": comparison.vanilla, "mean_tuned": d.mean_a,
                                  "mean_vanilla": d.mean_b, "excludes_zero": d.excludes_zero, "level": d.level,
                                  "interval": "paired percentile bootstrap over items"}))
    return rows


def model_rows(dataset: str, items: Sequence[GenerationItem], answers: Sequence[str], scores: ItemScores,
               details: dict[str, Any], *, rounds: int = 2000, level: float = 0.95, seed: int = 0) -> list[ScoreRow]:
    """Whole-dataset ``echo_rate`` and ``kk_share`` (Wilson) and ``loss`` (bootstrap) of one model.

    The ``echo_rate`` row's details keep ``SAMPLES`` answers (the same items for every model, chosen by ``seed``).
    """
    rows = []
    if scores.loss is not None:
        known = [x for x in scores.loss if x is not None]
        if known:
            m = bootstrap_mean([x.per_token for x in known], rounds=rounds, level=level, seed=seed)
            rows.append(ScoreRow("generation", dataset, None, scores.model, "loss", m.value, m.ci_low, m.ci_high,
                                 m.n, {**details, "unit": "nats per response token, mean over items",
                                       "token_weighted": sum(x.nll for x in known) / sum(x.tokens for x in known),
                                       "response_tokens": sum(x.tokens for x in known),
                                       "unaligned": len(scores.loss) - len(known)}))
    picks = sorted(np.random.default_rng(seed).choice(len(items), size=min(SAMPLES, len(items)), replace=False))
    samples = [{"id": items[k].id, "instruction": items[k].instruction, "reference": items[k].reference,
                "answer": answers[k]} for k in picks]
    for metric, flags, extra in (("echo_rate", scores.echo, {"samples": samples}), ("kk_share", scores.kazakh, {})):
        s = share(flags, level=level)
        rows.append(ScoreRow("generation", dataset, None, scores.model, metric, s.value, s.ci_low, s.ci_high, s.n,
                             {**details, "count": s.count, "level": s.level, "interval": "wilson", **extra}))
    return rows
