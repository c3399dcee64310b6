"""chrF++ (Popović 2017) through sacrebleu: character 6-grams plus word 1-2-grams, beta 2.

Character n-grams make it forgiving of Kazakh's rich suffixing morphology,
where a word-level metric counts ``кітаптарымызда`` and ``кітаптарда`` as a
plain miss. Scores are on sacrebleu's 0-100 scale.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sacrebleu.metrics import CHRF


@dataclass(frozen=True)
class ChrfResult:
    """Corpus chrF++ (statistics pooled over all items, as sacrebleu does) and per-item scores."""

    score: float
    sentence_scores: tuple[float, ...]
    n: int
    signature: str


def _metric() -> CHRF:
    return CHRF(word_order=2)


def chrf_pp(candidate: str, reference: str) -> float:
    """Sentence-level chrF++ of one candidate against one reference (0-100)."""
    return float(_metric().sentence_score(candidate, [reference]).score)


def corpus_chrf_pp(candidates: Sequence[str], references: Sequence[str]) -> ChrfResult:
    """Corpus-level chrF++ (one reference per candidate), with sentence scores and signature."""
    if len(candidates) != len(references):
        raise ValueError(f"need one reference per candidate, got {len(candidates)} and {len(references)}")
    if not candidates:
        raise ValueError("no candidates to score")
    metric = _metric()
    corpus = metric.corpus_score(list(candidates), [list(references)])
    sentences = tuple(
        float(metric.sentence_score(c, [r]).score) for c, r in zip(candidates, references, strict=True)
    )
    return ChrfResult(
        score=float(corpus.score),
        sentence_scores=sentences,
        n=len(candidates),
        signature=str(metric.get_signature()),
    )
