"""Two failures of small models on Kazakh instructions, per answer: echoing the question, answering in another language.

Both are yes/no per answer; a model's rate over the items gets a Wilson interval
(``share``), and a fine-tuned model's change against its vanilla model goes
through the same paired bootstrap as the text metrics (``eval.paired``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from arena.ratings.two_models import wilson_interval
from eval.langid import detect_language
from eval.text import tokenize

ECHO_OVERLAP = 0.6  # share of the answer's word 3-grams found in the question
KAZAKH = ("kk-cyrl", "kk-latn")  # eval.langid tags of Kazakh in either script


def _trigrams(tokens: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]


def is_echo(question: str, answer: str, *, threshold: float = ECHO_OVERLAP) -> bool:
    """Whether ``answer`` mostly repeats ``question`` instead of answering it.

    Both texts are split into words by ``eval.text.tokenize`` (lower-cased, punctuation dropped). The answer
    is an echo when either

    1. it has at least one word 3-gram and at least ``threshold`` (0.6) of its 3-grams, counted with
       repetition, also occur in the question; or
    2. it is at least one word long and its words begin with all of the question's words (the question
       repeated, whatever follows).

    An empty answer (no words) is not an echo: it is a failure of its own kind.
    """
    q, a = tokenize(question), tokenize(answer)
    if not a:
        return False
    if q and a[: len(q)] == q:
        return True
    grams = _trigrams(a)
    if not grams:
        return False
    seen = set(_trigrams(q))
    return sum(g in seen for g in grams) / len(grams) >= threshold


def is_kazakh(answer: str) -> bool:
    """Whether ``eval.langid.detect_language`` tags the answer as Kazakh (Cyrillic or Latin script)."""
    return detect_language(answer) in KAZAKH


@dataclass(frozen=True)
class Share:
    """The share of items with a property and its Wilson interval."""

    value: float
    ci_low: float
    ci_high: float
    count: int
    n: int
    level: float


def share(flags: Sequence[bool], *, level: float = 0.95) -> Share:
    """Share of True among ``flags`` (shape (n,)) with the Wilson score interval."""
    if not flags:
        raise ValueError("a share of zero items is undefined")
    count, n = int(sum(bool(f) for f in flags)), len(flags)
    low, high = wilson_interval(count, n, level)
    return Share(count / n, low, high, count, n, level)
