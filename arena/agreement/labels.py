"""Verdict labels shared by every agreement statistic.

A verdict on a pair of answers is one of ``A`` (the first model wins), ``tie`` or
``B``. The LMArena/FastChat spellings (``model_a``, ``model_b``, ``tie``,
``tie (bothbad)``) map onto the same three labels: for agreement both kinds of
tie mean "neither answer is better". The order ``A < tie < B`` is the ordinal
scale used by weighted kappa and ordinal Krippendorff's alpha.
"""

from collections.abc import Iterable, Sequence

import numpy as np

LABELS: tuple[str, str, str] = ("A", "tie", "B")
DECISIVE_LABELS: tuple[str, str] = ("A", "B")

_ALIASES = {
    "a": "A",
    "model_a": "A",
    "b": "B",
    "model_b": "B",
    "tie": "tie",
    "tie (bothbad)": "tie",
}


def normalize_label(label: object) -> str:
    """Map one verdict spelling to ``A``, ``tie`` or ``B``; ValueError if unknown."""
    if not isinstance(label, str):
        raise ValueError(f"Unknown label {label!r}: expected one of A, B, tie (a string)")
    key = " ".join(label.strip().lower().split())
    if key not in _ALIASES:
        raise ValueError(f"Unknown label {label!r}: expected A|B|tie (or model_a|model_b|tie|tie (bothbad))")
    return _ALIASES[key]


def normalize_labels(labels: Iterable[object]) -> list[str]:
    """Normalize every label; the error names the position of the first bad one."""
    out = []
    for i, label in enumerate(labels):
        try:
            out.append(normalize_label(label))
        except ValueError as err:
            raise ValueError(f"label #{i}: {err}") from None
    return out


def encode(labels: Sequence[object], categories: Sequence[object]) -> np.ndarray:
    """Category indices (0..k-1, in the order of ``categories``) of each label.

    Labels must be members of ``categories`` exactly; nothing is normalized here.
    """
    index = {c: i for i, c in enumerate(categories)}
    if len(index) != len(categories):
        raise ValueError(f"categories must be distinct, got {list(categories)!r}")
    codes = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        try:
            codes[i] = index[label]
        except (KeyError, TypeError):
            raise ValueError(
                f"label #{i} {label!r} is not one of the categories {list(categories)!r}"
            ) from None
    return codes


def prepare_pairs(
    labels_a: Sequence[object],
    labels_b: Sequence[object],
    categories: Sequence[object] | None,
) -> tuple[np.ndarray, np.ndarray, tuple[object, ...]]:
    """Check two parallel label lists and encode them.

    With ``categories=None`` the labels are arena verdicts, normalized to
    ``A | tie | B``; otherwise they must be members of ``categories``, whose
    order is the ordinal order.
    """
    if len(labels_a) != len(labels_b):
        raise ValueError(
            f"labels_a and labels_b must have the same length, got {len(labels_a)} and {len(labels_b)}"
        )
    if len(labels_a) == 0:
        raise ValueError("no label pairs: agreement needs at least one item rated by both")
    if categories is None:
        cats: tuple[object, ...] = LABELS
        labels_a, labels_b = normalize_labels(labels_a), normalize_labels(labels_b)
    else:
        cats = tuple(categories)
        if len(cats) < 2:
            raise ValueError(f"need at least two categories, got {list(cats)!r}")
    return encode(labels_a, cats), encode(labels_b, cats), cats
