"""Agreement among several annotators: Fleiss' kappa, Krippendorff's alpha, pairwise kappa.

Ratings come as long rows ``(item_id, annotator, label)``: the arena sends a
share of battles to two or more annotators, and these statistics are computed
on those overlaps. With ``categories=None`` labels are arena verdicts
(normalized to A|tie|B, ordinal order A < tie < B); otherwise they must be
members of ``categories``, given in ordinal order.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from arena.agreement.kappa import KappaResult, cohen_kappa
from arena.agreement.labels import LABELS, encode, normalize_label

Rating = tuple[Hashable, Hashable, object]  # (item_id, annotator, label)
ALPHA_LEVELS = ("nominal", "ordinal")


@dataclass(frozen=True)
class FleissResult:
    """Fleiss' kappa (1971) for items that each have the same number of raters.

    ``mean_agreement`` is P-bar (mean share of agreeing rater pairs per item),
    ``expected_agreement`` P_e (sum of squared category shares).
    """

    kappa: float
    mean_agreement: float
    expected_agreement: float
    n_items: int
    n_raters: int
    category_shares: tuple[float, ...]
    note: str = ""


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha from the coincidence matrix.

    ``n_pairable`` counts the values in units with two or more ratings (the
    only ones that enter the statistic); ``coincidence[c][k]`` is o_ck.
    """

    alpha: float
    level: str
    observed_disagreement: float
    expected_disagreement: float
    n_units: int
    n_pairable: int
    categories: tuple[object, ...]
    coincidence: tuple[tuple[float, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class PairwiseKappa:
    """Cohen's kappa between two annotators on the items both rated."""

    annotator_a: Hashable
    annotator_b: Hashable
    n_items: int
    result: KappaResult


def _categories(categories: Sequence[object] | None) -> tuple[object, ...]:
    return LABELS if categories is None else tuple(categories)


def _label(label: object, categories: Sequence[object] | None) -> object:
    return normalize_label(label) if categories is None else label


def ratings_by_item(
    ratings: Iterable[Rating], categories: Sequence[object] | None = None
) -> dict[Hashable, dict[Hashable, object]]:
    """``{item: {annotator: label}}``; an annotator rating an item twice is an error."""
    cats = _categories(categories)
    table: dict[Hashable, dict[Hashable, object]] = {}
    for i, row in enumerate(ratings):
        if len(row) != 3:
            raise ValueError(f"rating #{i} must be (item_id, annotator, label), got {row!r}")
        item, annotator, label = row
        try:
            label = _label(label, categories)
        except ValueError as err:
            raise ValueError(f"rating #{i}: {err}") from None
        if label not in cats:
            raise ValueError(f"rating #{i}: label {label!r} is not one of {list(cats)!r}")
        per_item = table.setdefault(item, {})
        if annotator in per_item:
            raise ValueError(f"rating #{i}: annotator {annotator!r} rated item {item!r} twice")
        per_item[annotator] = label
    return table


def fleiss_kappa(counts: Sequence[Sequence[int]] | np.ndarray) -> FleissResult:
    """Fleiss' kappa from a count matrix.

    counts: shape (n_items, n_categories); ``counts[i][j]`` is how many raters put
    item i in category j. Every item must have the same number of raters (at
    least 2): Fleiss' formula assumes it, so a varying number is refused rather
    than silently given a different statistic; use ``krippendorff_alpha`` there.
    """
    x = np.asarray(counts)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] < 2:
        raise ValueError(f"counts must have shape (n_items >= 1, n_categories >= 2), got {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.equal(np.mod(x, 1), 0)):
            raise ValueError("counts must be whole numbers")
        x = x.astype(np.int64)
    if (x < 0).any():
        raise ValueError("counts must be non-negative")
    per_item = x.sum(axis=1)
    if len(set(per_item.tolist())) != 1:
        raise ValueError(
            f"Fleiss' kappa needs the same number of raters on every item, got "
            f"{per_item.min()} to {per_item.max()}; use krippendorff_alpha, which allows "
            "missing ratings, or keep only items with the same number of raters"
        )
    m = int(per_item[0])
    if m < 2:
        raise ValueError(f"Fleiss' kappa needs at least 2 raters per item, got {m}")
    n_items = x.shape[0]
    shares = x.sum(axis=0) / (n_items * m)
    p_i = ((x * (x - 1)).sum(axis=1)) / (m * (m - 1))
    p_bar = float(p_i.mean())
    p_e = float((shares**2).sum())
    kappa, note = float("nan"), ""
    if p_e < 1.0:
        kappa = (p_bar - p_e) / (1.0 - p_e)
    else:
        note = "kappa undefined: expected agreement is 1 (every rating is the same category)"
    return FleissResult(
        kappa=kappa,
        mean_agreement=p_bar,
        expected_agreement=p_e,
        n_items=n_items,
        n_raters=m,
        category_shares=tuple(float(s) for s in shares),
        note=note,
    )


def fleiss_kappa_from_ratings(
    ratings: Iterable[Rating], *, categories: Sequence[object] | None = None
) -> FleissResult:
    """Fleiss' kappa over items rated by two or more annotators (long rows).

    Items with a single rating are not overlaps and are left out; the rest must
    share one number of raters (see ``fleiss_kappa``).
    """
    cats = _categories(categories)
    table = ratings_by_item(ratings, categories)
    rows = []
    for per_item in table.values():
        if len(per_item) >= 2:
            codes = encode(list(per_item.values()), cats)
            rows.append(np.bincount(codes, minlength=len(cats)))
    if not rows:
        raise ValueError("no item was rated by two or more annotators")
    return fleiss_kappa(np.array(rows))


def _delta2(level: str, n_c: np.ndarray) -> np.ndarray:
    k = len(n_c)
    if level == "nominal":
        return 1.0 - np.eye(k)
    # Ordinal metric (Krippendorff 2011): (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2.
    cum = np.concatenate([[0.0], np.cumsum(n_c)])
    c, j = np.indices((k, k))
    lo, hi = np.minimum(c, j), np.maximum(c, j)
    between = cum[hi + 1] - cum[lo]
    return (between - (n_c[c] + n_c[j]) / 2.0) ** 2


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[object]],
    *,
    level: str = "nominal",
    categories: Sequence[object] | None = None,
) -> AlphaResult:
    """Krippendorff's alpha, nominal or ordinal, via the coincidence matrix.

    reliability_data: shape (n_raters, n_units), as in Krippendorff's own
    tables; None or NaN marks a missing rating. ``categories`` lists the values
    in ordinal order; by default the sorted distinct values (right for numbers,
    wrong for A|tie|B: pass ``LABELS`` there, or use ``krippendorff_alpha_from_ratings``).

        alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck)
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"Unknown level: {level!r} (expected 'nominal' or 'ordinal')")
    if len(reliability_data) == 0:
        raise ValueError("reliability_data is empty")
    n_units = len(reliability_data[0])
    if any(len(row) != n_units for row in reliability_data):
        raise ValueError("every rater row must have one entry per unit")
    values = [v for row in reliability_data for v in row if not _is_missing(v)]
    if categories is None:
        try:
            cats = tuple(sorted(set(values)))
        except TypeError:
            raise ValueError("values of mixed types cannot be sorted: pass categories") from None
    else:
        cats = tuple(categories)
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    counts = np.zeros((n_units, k))  # values per unit and category
    for r, row in enumerate(reliability_data):
        for u, value in enumerate(row):
            if _is_missing(value):
                continue
            if value not in index:
                raise ValueError(f"rater {r}, unit {u}: value {value!r} not in categories {list(cats)!r}")
            counts[u, index[value]] += 1
    m_u = counts.sum(axis=1)
    pairable = counts[m_u >= 2]
    if len(pairable) == 0:
        raise ValueError("no unit has two or more ratings: alpha needs pairable values")
    # Coincidences: every ordered pair of values from different raters in a unit,
    # weighted 1 / (m_u - 1) so that each value contributes 1 in total.
    weighted = pairable / (pairable.sum(axis=1, keepdims=True) - 1.0)
    o = weighted.T @ pairable - np.diag(weighted.sum(axis=0))
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    d2 = _delta2(level, n_c)
    d_o = float((o * d2).sum() / n)
    d_e = float((np.outer(n_c, n_c) * d2).sum() / (n * (n - 1.0)))
    alpha, note = float("nan"), ""
    if d_e > 0:
        alpha = 1.0 - d_o / d_e
    else:
        note = "alpha undefined: expected disagreement is 0 (every pairable value is the same)"
    return AlphaResult(
        alpha=alpha,
        level=level,
        observed_disagreement=d_o,
        expected_disagreement=d_e,
        n_units=n_units,
        n_pairable=int(round(n)),
        categories=cats,
        coincidence=tuple(tuple(float(x) for x in row) for row in o),
        note=note,
    )


def reliability_matrix(
    ratings: Iterable[Rating], *, categories: Sequence[object] | None = None
) -> tuple[tuple[Hashable, ...], tuple[Hashable, ...], list[list[object]]]:
    """Long rows to ``(annotators, items, data)``, data[r][u] the label or None."""
    table = ratings_by_item(ratings, categories)
    items = tuple(table)
    annotators = tuple(sorted({a for per in table.values() for a in per}, key=str))
    data = [[table[item].get(a) for item in items] for a in annotators]
    return annotators, items, data


def krippendorff_alpha_from_ratings(
    ratings: Iterable[Rating],
    *,
    level: str = "nominal",
    categories: Sequence[object] | None = None,
) -> AlphaResult:
    """Krippendorff's alpha on long rows; arena labels by default (A < tie < B)."""
    _, _, data = reliability_matrix(ratings, categories=categories)
    return krippendorff_alpha(data, level=level, categories=_categories(categories))


def pairwise_cohen_kappa(
    ratings: Iterable[Rating],
    *,
    categories: Sequence[object] | None = None,
    weights: str | None = None,
    min_overlap: int = 1,
) -> tuple[PairwiseKappa, ...]:
    """Cohen's kappa for every pair of annotators with at least ``min_overlap`` shared items.

    Pairs come sorted by annotator; pairs sharing fewer items are left out.
    """
    cats = _categories(categories)
    table = ratings_by_item(ratings, categories)
    annotators = sorted({a for per in table.values() for a in per}, key=str)
    out = []
    for x, y in combinations(annotators, 2):
        shared = [per for per in table.values() if x in per and y in per]
        if len(shared) < max(1, min_overlap):
            continue
        result = cohen_kappa(
            [per[x] for per in shared], [per[y] for per in shared], categories=cats, weights=weights
        )
        out.append(PairwiseKappa(annotator_a=x, annotator_b=y, n_items=len(shared), result=result))
    return tuple(out)
