"""The evaluation report: one Markdown file with tables and PNG plots beside it.

Reads ``ScoreRow``s only (fresh from a run or read back from the database), so
any stored run can be re-reported. Plots: accuracy bars with their intervals and
the majority-class baseline per MCQ/RAG dataset; per-topic judge win rates with
their intervals and the 50% line per pairwise comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from eval.correlation import ArenaCorrelation  # noqa: E402
from eval.results import ScoreRow  # noqa: E402

REPORT_NAME = "report.md"
METRIC_LABELS = {"accuracy": "accuracy", "rouge_l": "ROUGE-L F1", "chrf_pp": "chrF++", "bertscore_f1": "BERTScore F1",
                 "win_rate": "win rate"}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _fmt(value: float | None, pct: bool) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.1%}" if pct else f"{value:.2f}"


def _cell(r: ScoreRow, pct: bool = True) -> str:
    text = _fmt(r.value, pct)
    if r.ci_low is not None and r.ci_high is not None:
        text += f" [{_fmt(r.ci_low, pct)}, {_fmt(r.ci_high, pct)}]"
    return text


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines + [""]


def plot_accuracy(rows: Sequence[ScoreRow], path: Path, title: str) -> Path:
    """Bars of whole-dataset accuracy per model with CI whiskers; the baseline as a dashed line."""
    models = [r for r in rows if not r.is_baseline]
    baseline = next((r for r in rows if r.is_baseline), None)
    x = np.arange(len(models))
    value = np.array([r.value for r in models])
    low = np.array([r.ci_low if r.ci_low is not None else r.value for r in models])
    high = np.array([r.ci_high if r.ci_high is not None else r.value for r in models])
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(models) + 2), 3.6))
    ax.bar(x, value, color="tab:blue", alpha=0.8)
    ax.errorbar(x, value, yerr=np.vstack([value - low, high - value]), fmt="none", capsize=4, color="black")
    if baseline is not None:
        ax.axhline(baseline.value, ls="--", color="tab:red", label=f"majority class ({baseline.value:.1%})")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks(x, [r.model for r in models], rotation=20, ha="right")
    ax.set_ylim(0, 1.15)  # headroom for the legend above a bar at 100%
    ax.set_ylabel(f"accuracy ({int(round(100 * models[0].details.get('level', 0.95)))}% CI)" if models else "accuracy")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_win_rates(rows: Sequence[ScoreRow], path: Path, title: str) -> Path:
    """Horizontal bars of the win rate per topic (overall first) with Wilson whiskers and the 50% line."""
    ordered = sorted(rows, key=lambda r: (r.subset is not None, r.subset or ""))
    labels = ["all" if r.subset is None else r.subset for r in ordered]
    value = np.array([r.value for r in ordered])
    low = np.array([r.ci_low if r.ci_low is not None else r.value for r in ordered])
    high = np.array([r.ci_high if r.ci_high is not None else r.value for r in ordered])
    y = np.arange(len(ordered))[::-1]
    fig, ax = plt.subplots(figsize=(6.5, max(2.5, 0.4 * len(ordered) + 1.2)))
    colors = ["tab:green" if v > 0.5 else "tab:orange" if v < 0.5 else "tab:gray" for v in value]
    ax.barh(y, value, color=colors, alpha=0.8)
    ax.errorbar(value, y, xerr=np.vstack([value - low, high - value]), fmt="none", capsize=3, color="black")
    ax.axvline(0.5, ls="--", color="black", lw=1)
    ax.set_yticks(y, [f"{label} (n={r.n})" for label, r in zip(labels, ordered, strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("win rate, ties as half (Wilson CI)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _mcq_section(task: str, dataset: str, rows: list[ScoreRow], out_dir: Path) -> list[str]:
    whole = [r for r in rows if r.subset is None]
    png = plot_accuracy(whole, out_dir / f"accuracy_{_slug(task)}_{_slug(dataset)}.png", f"{task}: {dataset}")
    lines = [f"### {task.upper()}: {dataset}", "", f"![accuracy]({png.name})", ""]
    lines += _table(["model", "accuracy [CI]", "n"], [[r.model, _cell(r), str(r.n)] for r in whole])
    subjects = sorted({r.subset for r in rows if r.subset is not None})
    if len(subjects) > 1:
        models = sorted({r.model for r in rows if r.subset is not None})
        by = {(r.subset, r.model): r for r in rows if r.subset is not None}
        body = [[s] + [_cell(by[(s, m)]) if (s, m) in by else "–" for m in models] for s in subjects]
        lines += ["Per subject:", ""] + _table(["subject", *models], body)
    return lines


def _text_section(dataset: str, rows: list[ScoreRow]) -> list[str]:
    metrics = [m for m in ("rouge_l", "chrf_pp", "bertscore_f1") if any(r.metric == m for r in rows)]
    models = list(dict.fromkeys(r.model for r in rows))
    by = {(r.model, r.metric): r for r in rows if r.subset is None}
    body = [[m] + [_cell(by[(m, k)], pct=False) if (m, k) in by else "–" for k in metrics] for m in models]
    lines = [f"### Generation: {dataset} (text metrics vs the reference)", ""]
    lines += _table(["model", *[METRIC_LABELS[k] for k in metrics]], body)
    topics = sorted({r.subset for r in rows if r.subset is not None})
    if topics:
        per = {(r.subset, r.model): r for r in rows if r.metric == "rouge_l" and r.subset is not None}
        body = [[t] + [_cell(per[(t, m)], pct=False) if (t, m) in per else "–" for m in models] for t in topics]
        lines += ["ROUGE-L F1 per topic:", ""] + _table(["topic", *models], body)
    return lines


def _preference_section(task: str, dataset: str, rows: list[ScoreRow], out_dir: Path) -> list[str]:
    lines = []
    for challenger in dict.fromkeys(r.model for r in rows):
        mine = [r for r in rows if r.model == challenger]
        opponent = mine[0].details.get("opponent", "?")
        png = plot_win_rates(mine, out_dir / f"winrate_{_slug(task)}_{_slug(dataset)}_{_slug(challenger)}.png",
                             f"{challenger} vs {opponent} ({task})")
        judge = mine[0].details.get("judge", {})
        lines += [f"### {task.capitalize()}: {challenger} vs {opponent} on {dataset}", "",
                  f"Judge: {judge.get('judge', '?') if isinstance(judge, dict) else judge}.", "",
                  f"![win rate per topic]({png.name})", ""]
        body = [["all" if r.subset is None else r.subset, str(r.details.get("wins")), str(r.details.get("ties")),
                 str(r.details.get("losses")), str(r.details.get("invalid")), _cell(r)]
                for r in sorted(mine, key=lambda r: (r.subset is not None, r.subset or ""))]
        lines += _table(["topic", "win", "tie", "loss", "invalid", "win rate [CI]"], body)
    return lines


def write_report(
    rows: Sequence[ScoreRow],
    out_dir: Path | str,
    *,
    run_id: str = "",
    correlations: Sequence[ArenaCorrelation] = (),
    title: str = "kazarena evaluation report",
) -> Path:
    """Write ``report.md`` and its PNGs into ``out_dir``; returns the Markdown file's path."""
    if not rows:
        raise ValueError("no results to report")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", f"Run `{run_id or '-'}`, written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", ""]
    groups: dict[tuple[str, str], list[ScoreRow]] = {}
    for r in rows:
        groups.setdefault((r.task, r.dataset), []).append(r)
    for (task, dataset), group in groups.items():
        if task in ("mcq", "rag"):
            lines += _mcq_section(task, dataset, group, out_dir)
        text = [r for r in group if r.metric in ("rouge_l", "chrf_pp", "bertscore_f1")]
        if text:
            lines += _text_section(dataset, text)
        prefs = [r for r in group if r.metric == "win_rate"]
        if prefs:
            lines += _preference_section(task, dataset, prefs, out_dir)
    if correlations:
        lines += ["### Benchmark-to-arena correlation", ""]
        body = [[c.task, c.dataset, METRIC_LABELS.get(c.metric, c.metric), f"{c.spearman_rho:+.2f}",
                 f"{c.spearman_p:.3g}", str(c.n_models), c.note or ""] for c in correlations]
        lines += _table(["task", "dataset", "metric", "Spearman rho", "p", "models", "note"], body)
    path = out_dir / REPORT_NAME
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
