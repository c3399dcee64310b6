"""Paired bootstrap of a difference in means: did model A beat model B on the same items?

Both models answered the same items, so the item is the unit: each round draws
``n`` item indices with replacement and takes the mean of ``a - b`` over them,
which keeps every item's two scores together (a paired test, far tighter than
two separate intervals when items differ a lot in difficulty). The interval is
the percentile one: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of
the ``rounds`` resampled means.

Groups (``set``, ``topic``) are bootstrapped on their own items with the same
seed, so a result depends only on its own items and the seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDiff", "paired_bootstrap", "paired_by_group"]


@dataclass(frozen=True)
class PairedDiff:
    """Mean of ``a - b`` over paired items with its bootstrap interval; ``subset`` None: all items."""

    subset: str | None  # "set:govset", "topic:pensions", ...
    mean_a: float
    mean_b: float
    diff: float  # mean_a - mean_b
    ci_low: float
    ci_high: float
    n: int
    level: float

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0 (the difference is significant at ``level``)."""
        return self.ci_low > 0 or self.ci_high < 0


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, rounds: int = 2000,
                     level: float = 0.95, seed: int = 0, subset: str | None = None) -> PairedDiff:
    """Paired percentile bootstrap of ``mean(a) - mean(b)``.

    a, b: shape (n,), the per-item scores of the two models on the same items, in the same order.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"a and b must be 1-D and of one length, got shapes {x.shape} and {y.shape}")
    if x.size == 0:
        raise ValueError("a difference over zero items is undefined")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("scores must be finite (drop the items a model has no score for, from both sides)")
    if rounds < 1 or not 0 < level < 1:
        raise ValueError("rounds must be >= 1 and level in (0, 1)")
    d = x - y
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(rounds, d.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return PairedDiff(subset, float(x.mean()), float(y.mean()), float(d.mean()), float(low), float(high),
                      int(d.size), level)


def paired_by_group(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                    groups: Mapping[str, Sequence[str | None]], *, rounds: int = 2000, level: float = 0.95,
                    seed: int = 0) -> tuple[PairedDiff, ...]:
    """All items first, then each group's labels in sorted order: subsets ``"<kind>:<label>"``.

    groups: kind -> labels of shape (n,), e.g. ``{"set": sets, "topic": topics}``; items labelled None
    count only in the overall result.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = [paired_bootstrap(x, y, rounds=rounds, level=level, seed=seed)]
    for kind, labels in groups.items():
        if len(labels) != x.size:
            raise ValueError(f"{len(labels)} {kind} labels for {x.size} items")
        for label in sorted({g for g in labels if g is not None}):
            mask = np.array([g == label for g in labels])
            out.append(paired_bootstrap(x[mask], y[mask], rounds=rounds, level=level, seed=seed,
                                        subset=f"{kind}:{label}"))
    return tuple(out)
