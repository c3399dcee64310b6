"""ROUGE-L (Lin 2004): the longest common subsequence of words.

Tokens come from ``eval.text.tokenize`` (lower-case, Kazakh letters kept,
punctuation stripped), so ``Қазақстан,`` and ``қазақстан`` match.

    P = LCS / len(candidate),  R = LCS / len(reference),
    F = (1 + beta^2) P R / (R + beta^2 P)        (beta = 1: the usual F1)

An empty candidate or reference scores 0, as in Google's ``rouge-score``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from eval.text import tokenize


@dataclass(frozen=True)
class RougeL:
    """ROUGE-L of one candidate against one reference."""

    precision: float
    recall: float
    f1: float
    lcs: int
    n_candidate: int
    n_reference: int


@dataclass(frozen=True)
class CorpusRougeL:
    """Mean of the per-item ROUGE-L scores (the usual corpus figure), with the items."""

    precision: float
    recall: float
    f1: float
    n: int
    items: tuple[RougeL, ...]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, two rows)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(
    candidate: str,
    reference: str,
    *,
    beta: float = 1.0,
    tokenizer: Callable[[str], list[str]] = tokenize,
) -> RougeL:
    """ROUGE-L precision, recall and F-measure of ``candidate`` against ``reference``."""
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    cand, ref = tokenizer(candidate), tokenizer(reference)
    lcs = lcs_length(cand, ref)
    if lcs == 0:
        return RougeL(0.0, 0.0, 0.0, 0, len(cand), len(ref))
    p, r = lcs / len(cand), lcs / len(ref)
    f = (1 + beta**2) * p * r / (r + beta**2 * p)
    return RougeL(p, r, f, lcs, len(cand), len(ref))


def corpus_rouge_l(
    candidates: Sequence[str],
    references: Sequence[str],
    *,
    beta: float = 1.0,
    tokenizer: Callable[[str], list[str]] = tokenize,
) -> CorpusRougeL:
    """Per-item ROUGE-L averaged over the corpus (one reference per candidate)."""
    if len(candidates) != len(references):
        raise ValueError(f"need one reference per candidate, got {len(candidates)} and {len(references)}")
    if not candidates:
        raise ValueError("no candidates to score")
    items = tuple(
        rouge_l(c, r, beta=beta, tokenizer=tokenizer) for c, r in zip(candidates, references, strict=True)
    )
    return CorpusRougeL(
        precision=float(np.mean([s.precision for s in items])),
        recall=float(np.mean([s.recall for s in items])),
        f1=float(np.mean([s.f1 for s in items])),
        n=len(items),
        items=items,
    )
