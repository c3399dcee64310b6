"""Figures: the leaderboard (ratings with CI whiskers beside the win-rate heatmap), ratings over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from arena.ratings.leaderboard import Leaderboard  # noqa: E402
from arena.ratings.over_time import ChangeAlarm, RatingsOverTime  # noqa: E402

__all__ = ["plot_leaderboard", "plot_ratings_over_time"]


def plot_leaderboard(
    board: Leaderboard,
    path: str | Path,
    *,
    title: str | None = None,
    rating_label: str = "rating ({level:.0%} CI, {method})",
    heatmap_title: str = "win rate of row over column (ties half)",
) -> Path:
    """Write a PNG with the ratings (and their intervals) and the win-rate matrix.

    ``title`` (default: the dimension and topic) and the two texts let a UI draw it in its language.
    """
    path = Path(path)
    rows = board.rows
    names = [r.model + (" *" if r.provisional else "") for r in rows]
    rating = np.array([r.rating for r in rows])
    low = np.array([r.ci_low for r in rows])
    high = np.array([r.ci_high for r in rows])
    n = len(rows)
    height = max(3.0, 0.35 * n + 1.5)
    fig, (ax_r, ax_h) = plt.subplots(1, 2, figsize=(7 + 0.45 * n, height), gridspec_kw={"width_ratios": [1, 1.2]})

    y = np.arange(n)[::-1]
    # An unbounded side (a separated model) is drawn to the plot's edge with an arrow, not to infinity.
    bounded = np.concatenate([rating, low[np.isfinite(low)], high[np.isfinite(high)]])
    margin = 0.1 * max(1.0, float(bounded.max() - bounded.min()))
    low_shown = np.where(np.isfinite(low), low, bounded.min() - margin)
    high_shown = np.where(np.isfinite(high), high, bounded.max() + margin)
    ax_r.errorbar(rating, y, xerr=[rating - low_shown, high_shown - rating], fmt="o", capsize=3, color="tab:blue")
    for side, shown, marker in ((high, high_shown, ">"), (low, low_shown, "<")):
        open_side = ~np.isfinite(side)
        ax_r.plot(shown[open_side], y[open_side], marker, color="tab:blue", linestyle="none")
    ax_r.set_yticks(y, names)
    ax_r.set_xlabel(rating_label.format(level=board.header.ci_level, method=board.header.ci_method))
    h = board.header
    ax_r.set_title(title if title is not None else h.dimension + (f" / {h.topic}" if h.topic else ""))
    ax_r.grid(axis="x", alpha=0.3)

    # Heatmap rows/columns follow the leaderboard order, so the top left is the leader.
    index = [board.models.index(r.model) for r in rows]
    rates = board.win_rates[np.ix_(index, index)]
    image = ax_h.imshow(np.ma.masked_invalid(rates), vmin=0.0, vmax=1.0, cmap="RdBu")
    ax_h.set_xticks(range(n), [r.model for r in rows], rotation=60, ha="right")
    ax_h.set_yticks(range(n), [r.model for r in rows])
    ax_h.set_title(heatmap_title, wrap=True)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if np.isfinite(rates[i, j]):
                    ax_h.text(j, i, f"{rates[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax_h, fraction=0.046)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_ratings_over_time(
    result: RatingsOverTime,
    alarms: Sequence[ChangeAlarm] = (),
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "Ratings over time",
    xlabel: str = "period start",
    ylabel: str = "rating",
    interval_label: str = "{level:.0%} CI",
    few_votes_label: str = "fewer than {n} votes",
    alarm_label: str = "change alarm",
) -> Figure:
    """One line per model that played (its interval as a band), few-vote periods hollow, alarms ringed.

    ``labels`` maps model names to the names shown (as ``app.runtime.model_labels``); the
    texts default to English and take ``{level}`` / ``{n}`` so the UI can pass translations.
    The figure is not registered with pyplot: nothing to close, safe to build per request.
    """
    labels = labels or {}
    x = result.period_starts
    rating, low, high, votes = (result.matrix(f) for f in ("rating", "ci_low", "ci_high", "votes"))
    fig = Figure(figsize=(8.0, 4.5), layout="constrained")
    ax = fig.subplots()
    # As in the leaderboard, an unbounded side (a model separated in its period) reaches the plot's edge.
    bounded = np.concatenate([a[np.isfinite(a)] for a in (rating, low, high)])
    margin = 0.1 * max(1.0, float(np.ptp(bounded))) if bounded.size else 1.0
    low = np.where(np.isneginf(low), bounded.min(initial=np.inf) - margin, low)
    high = np.where(np.isposinf(high), bounded.max(initial=-np.inf) + margin, high)
    few = votes < result.min_votes  # NaN (did not play) compares False
    few_text = few_votes_label.format(n=result.min_votes)
    for k, model in enumerate(result.models):
        if np.isnan(rating[:, k]).all():
            continue
        # NaN periods (the model did not play) break the line and the band rather than bridging them.
        (line,) = ax.plot(x, rating[:, k], marker="o", markersize=3, label=labels.get(model, model))
        ax.fill_between(x, low[:, k], high[:, k], color=line.get_color(), alpha=0.15, linewidth=0)
        if few[:, k].any():
            ax.scatter(x[few[:, k]], rating[few[:, k], k], s=30, facecolors="white", edgecolors=line.get_color(),
                       zorder=3, label=few_text)
            few_text = "_nolegend_"  # one legend entry for all models
    if alarms:
        period = {start: t for t, start in enumerate(x)}
        points = []
        for alarm in alarms:
            t = period.get(alarm.period_start)
            known = t is not None and alarm.model in result.models
            value = rating[t, result.models.index(alarm.model)] if known else np.nan
            if np.isnan(value):
                raise ValueError(f"alarm for {alarm.model} in the period from {alarm.period_start} has no rating in "
                                 "the result; compute both from the same battles and period")
            points.append((alarm.period_start, value))
        xs, ys = zip(*points, strict=True)
        ax.scatter(np.array(xs), np.array(ys), s=140, facecolors="none", edgecolors="red", linewidths=1.5, zorder=4,
                   label=alarm_label)
    if x.size <= 12:  # a tick on each period start (a Monday for weeks), not on matplotlib's round dates
        ax.set_xticks(x, [str(start.astype("datetime64[D]")) for start in x], rotation=30, ha="right")
    else:
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} ({interval_label.format(level=result.level)})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig
