"""Leaderboard figure: ratings with CI whiskers beside the pairwise win-rate heatmap."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from arena.ratings.leaderboard import Leaderboard  # noqa: E402

__all__ = ["plot_leaderboard"]


def plot_leaderboard(board: Leaderboard, path: str | Path) -> Path:
    """Write a PNG with the ratings (and their intervals) and the win-rate matrix."""
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
    ax_r.set_xlabel(f"rating ({board.header.ci_level:.0%} CI, {board.header.ci_method})")
    ax_r.set_title(f"{board.header.dimension}" + (f" / {board.header.topic}" if board.header.topic else ""))
    ax_r.grid(axis="x", alpha=0.3)

    # Heatmap rows/columns follow the leaderboard order, so the top left is the leader.
    index = [board.models.index(r.model) for r in rows]
    rates = board.win_rates[np.ix_(index, index)]
    image = ax_h.imshow(np.ma.masked_invalid(rates), vmin=0.0, vmax=1.0, cmap="RdBu")
    ax_h.set_xticks(range(n), [r.model for r in rows], rotation=60, ha="right")
    ax_h.set_yticks(range(n), [r.model for r in rows])
    ax_h.set_title("win rate of row over column (ties half)")
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
