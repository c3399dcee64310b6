"""Cohen's kappa between two raters (e.g. the LLM judge and a person).

Plain label lists in, frozen dataclasses out. All kappas here use one formula,

    kappa = 1 - sum(w * observed) / sum(w * expected)

with disagreement weights ``w``: ``1 - identity`` (Cohen 1960), ``|i-j| / (k-1)``
(linear) or ``(i-j)^2 / (k-1)^2`` (quadratic, Cohen 1968). With identity
weights this is the familiar ``(p_o - p_e) / (1 - p_e)``. Kappa is undefined
when the expected disagreement is zero (both raters used one and the same
category only); it is then NaN and ``note`` says why.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from arena.agreement.labels import (
    DECISIVE_LABELS,
    LABELS,
    normalize_label,
    normalize_labels,
    prepare_pairs,
)

WEIGHTS = (None, "linear", "quadratic")
# Resamples are drawn in blocks so memory stays near this many label pairs.
_BOOTSTRAP_BLOCK_PAIRS = 4_000_000


def json_number(x: float | None) -> float | None:
    """JSON has no NaN: an undefined statistic is written as null (its `note` says why)."""
    return None if x is None or math.isnan(x) else float(x)


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa (or weighted kappa) with what it was computed from.

    ``confusion[i][j]`` counts items rater a put in ``categories[i]`` and rater b
    in ``categories[j]``. ``observed_agreement`` is the raw share of identical
    labels and ``expected_agreement`` its chance value from the marginals (both
    unweighted, also for weighted kappa).
    """

    kappa: float
    observed_agreement: float
    expected_agreement: float
    n: int
    categories: tuple[object, ...]
    confusion: tuple[tuple[int, ...], ...]
    weights: str | None
    note: str = ""


@dataclass(frozen=True)
class KappaCI:
    """Percentile bootstrap interval for kappa (items resampled with replacement).

    Resamples where kappa is undefined are left out and counted in
    ``n_undefined``; ``low``/``high`` are NaN if every resample was undefined.
    """

    low: float
    high: float
    level: float
    rounds: int
    seed: int
    n_undefined: int


@dataclass(frozen=True)
class PairAgreement:
    """Everything reported for one set of paired labels on the A < tie < B scale.

    With ``exclude_ties`` every pair where either rater said tie is dropped
    first (``n_excluded`` of ``n_pairs``) and the scale becomes A < B, where
    linear and quadratic kappa equal the unweighted one.
    """

    kappa: KappaResult
    ci: KappaCI
    linear: KappaResult
    quadratic: KappaResult
    n_pairs: int
    n_excluded: int
    exclude_ties: bool


@dataclass(frozen=True)
class GroupAgreement:
    """Agreement within one group (e.g. one dimension, one topic).

    ``agreement`` is None when the group has nothing to compute on (``note`` says
    why, e.g. only ties once ties are excluded).
    """

    group: tuple[tuple[str, object], ...]
    n: int
    agreement: PairAgreement | None
    note: str = ""


def disagreement_weights(k: int, weights: str | None) -> np.ndarray:
    """The k x k disagreement weight matrix (0 on the diagonal)."""
    if weights not in WEIGHTS:
        raise ValueError(f"Unknown weights: {weights!r} (expected None, 'linear' or 'quadratic')")
    i, j = np.indices((k, k))
    if weights is None:
        return (i != j).astype(float)
    if weights == "linear":
        return np.abs(i - j) / (k - 1)
    return (i - j) ** 2 / (k - 1) ** 2


def _kappa_from_counts(counts: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kappa, raw and chance agreement for confusion counts of shape (..., k, k)."""
    p = counts / counts.sum(axis=(-2, -1), keepdims=True)
    expected = p.sum(axis=-1)[..., :, None] * p.sum(axis=-2)[..., None, :]
    observed_dis = (w * p).sum(axis=(-2, -1))
    expected_dis = (w * expected).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(expected_dis > 0, 1.0 - observed_dis / expected_dis, np.nan)
    po = np.trace(p, axis1=-2, axis2=-1)
    pe = np.trace(expected, axis1=-2, axis2=-1)
    return kappa, po, pe


def _confusion(codes_a: np.ndarray, codes_b: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(codes_a * k + codes_b, minlength=k * k).reshape(k, k)


def _result(
    codes_a: np.ndarray, codes_b: np.ndarray, cats: tuple[object, ...], weights: str | None
) -> KappaResult:
    k = len(cats)
    counts = _confusion(codes_a, codes_b, k)
    kappa, po, pe = _kappa_from_counts(counts.astype(float), disagreement_weights(k, weights))
    note = ""
    if np.isnan(kappa):
        note = "kappa undefined: expected agreement is 1 (both raters used one and the same category only)"
    return KappaResult(
        kappa=float(kappa),
        observed_agreement=float(po),
        expected_agreement=float(pe),
        n=int(len(codes_a)),
        categories=cats,
        confusion=tuple(tuple(int(x) for x in row) for row in counts),
        weights=weights,
        note=note,
    )


def cohen_kappa(
    labels_a: Sequence[object],
    labels_b: Sequence[object],
    *,
    categories: Sequence[object] | None = None,
    weights: str | None = None,
) -> KappaResult:
    """Cohen's kappa between two raters on the same items.

    labels_a, labels_b: one label per item, same length. With ``categories=None``
    they are arena verdicts (A|B|tie and the model_a/model_b spellings) on the
    ordinal scale A < tie < B; otherwise they must be members of ``categories``,
    listed in ordinal order when ``weights`` is "linear" or "quadratic".
    """
    codes_a, codes_b, cats = prepare_pairs(labels_a, labels_b, categories)
    return _result(codes_a, codes_b, cats, weights)


def _bootstrap(
    codes_a: np.ndarray,
    codes_b: np.ndarray,
    k: int,
    weights: str | None,
    rounds: int,
    seed: int,
    level: float,
) -> KappaCI:
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    n = len(codes_a)
    w = disagreement_weights(k, weights)
    pair_codes = codes_a * k + codes_b
    rng = np.random.default_rng(seed)
    block = max(1, _BOOTSTRAP_BLOCK_PAIRS // n)
    kappas = []
    for start in range(0, rounds, block):
        m = min(block, rounds - start)
        sample = pair_codes[rng.integers(0, n, size=(m, n))]
        # One bincount for the whole block: offset each resample into its own k*k slot.
        offsets = (np.arange(m) * k * k)[:, None]
        counts = np.bincount((sample + offsets).ravel(), minlength=m * k * k).reshape(m, k, k)
        kappas.append(_kappa_from_counts(counts.astype(float), w)[0])
    values = np.concatenate(kappas)
    defined = values[~np.isnan(values)]
    alpha = (1.0 - level) / 2.0
    if len(defined) == 0:
        low = high = float("nan")
    else:
        low, high = (float(x) for x in np.quantile(defined, [alpha, 1.0 - alpha]))
    return KappaCI(
        low=low,
        high=high,
        level=level,
        rounds=rounds,
        seed=seed,
        n_undefined=int(len(values) - len(defined)),
    )


def bootstrap_kappa_ci(
    labels_a: Sequence[object],
    labels_b: Sequence[object],
    *,
    categories: Sequence[object] | None = None,
    weights: str | None = None,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> KappaCI:
    """Percentile bootstrap CI for (weighted) Cohen's kappa, resampling items."""
    codes_a, codes_b, cats = prepare_pairs(labels_a, labels_b, categories)
    return _bootstrap(codes_a, codes_b, len(cats), weights, rounds, seed, level)


def pair_agreement(
    labels_a: Sequence[object],
    labels_b: Sequence[object],
    *,
    exclude_ties: bool = False,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairAgreement:
    """Kappa with bootstrap CI, raw agreement, weighted kappas and the confusion matrix.

    Labels are arena verdicts (A|B|tie or model_a|model_b|tie|tie (bothbad)).
    """
    a, b = normalize_labels(labels_a), normalize_labels(labels_b)
    n_pairs = len(a)
    cats: tuple[object, ...] = LABELS
    if exclude_ties:
        kept = [(x, y) for x, y in zip(a, b, strict=True) if x != "tie" and y != "tie"]
        if not kept and n_pairs:
            raise ValueError(f"no pairs left after excluding ties (all {n_pairs} had a tie)")
        a, b = [x for x, _ in kept], [y for _, y in kept]
        cats = DECISIVE_LABELS
    codes_a, codes_b, cats = prepare_pairs(a, b, cats)
    return PairAgreement(
        kappa=_result(codes_a, codes_b, cats, None),
        ci=_bootstrap(codes_a, codes_b, len(cats), None, rounds, seed, level),
        linear=_result(codes_a, codes_b, cats, "linear"),
        quadratic=_result(codes_a, codes_b, cats, "quadratic"),
        n_pairs=n_pairs,
        n_excluded=n_pairs - len(a),
        exclude_ties=exclude_ties,
    )


def agreement_by_group(
    rows: Iterable[Mapping[str, object]],
    group_by: str | Sequence[str],
    *,
    label_a: str = "label_a",
    label_b: str = "label_b",
    exclude_ties: bool = False,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[GroupAgreement, ...]:
    """``pair_agreement`` per group of rows such as ``{id, dimension, topic, label_a, label_b}``.

    group_by: one key or several (e.g. ``("dimension", "topic")``). Groups come
    back sorted by their values; every group uses the same ``seed``, so a
    group's CI does not depend on which other groups exist.
    """
    keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    if not keys:
        raise ValueError("group_by needs at least one key")
    groups: dict[tuple[object, ...], tuple[list[str], list[str]]] = {}
    for i, row in enumerate(rows):
        missing = [key for key in (*keys, label_a, label_b) if key not in row]
        if missing:
            raise ValueError(f"row #{i} lacks the key(s) {missing}")
        try:
            a, b = normalize_label(row[label_a]), normalize_label(row[label_b])
        except ValueError as err:
            raise ValueError(f"row #{i}: {err}") from None
        pair = groups.setdefault(tuple(row[key] for key in keys), ([], []))
        pair[0].append(a)
        pair[1].append(b)
    if not groups:
        raise ValueError("no rows: agreement needs at least one item rated by both")
    out = []
    for value in sorted(groups, key=lambda v: tuple(str(x) for x in v)):
        a, b = groups[value]
        group = tuple(zip(keys, value, strict=True))
        if exclude_ties and all("tie" in pair for pair in zip(a, b, strict=True)):
            note = f"no pairs left after excluding ties (all {len(a)} had a tie)"
            out.append(GroupAgreement(group=group, n=len(a), agreement=None, note=note))
            continue
        result = pair_agreement(a, b, exclude_ties=exclude_ties, rounds=rounds, seed=seed, level=level)
        out.append(GroupAgreement(group=group, n=len(a), agreement=result))
    return tuple(out)
