"""The evaluation report: one Markdown file with tables and PNG plots beside it.

Reads ``ScoreRow``s only (fresh from a run or read back from the database), so
any stored run can be re-reported. Plots: accuracy bars with their intervals and
the majority-class baseline per MCQ/RAG dataset; per-topic judge win rates with
their intervals and the 50% line per pairwise comparison. The UI's Results tab
draws the same figures and tables with the public functions here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # plain Figures (no pyplot): nothing global to close, no display needed

from eval.correlation import ArenaCorrelation
from eval.results import ScoreRow

REPORT_NAME = "report.md"
METRIC_LABELS = {"accuracy": "accuracy", "rouge_l": "ROUGE-L F1", "chrf_pp": "chrF++", "bertscore_f1": "BERTScore F1",
                 "win_rate": "win rate", "loss": "loss / response token", "echo_rate": "echo rate",
                 "kk_share": "Kazakh share", "rouge_l_diff": "Δ ROUGE-L F1", "chrf_pp_diff": "Δ chrF++ (sentence)",
                 "loss_diff": "Δ loss / response token", "echo_rate_diff": "Δ echo rate",
                 "kk_share_diff": "Δ Kazakh share"}
TEXT_METRICS = ("rouge_l", "chrf_pp", "bertscore_f1", "loss", "echo_rate", "kk_share")  # one model's scores
PAIR_METRICS = ("rouge_l_diff", "chrf_pp_diff", "loss_diff", "echo_rate_diff", "kk_share_diff")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def score_text(value: float | None, ci_low: float | None = None, ci_high: float | None = None, *,
               pct: bool = False, digits: int = 2) -> str:
    """'0.41 [0.37, 0.46]' (``digits`` decimals) or, with ``pct``, '41.2% [37.1%, 45.5%]'; '–' when missing.

    The interval is shown only when both ends are known and finite.
    """
    def one(x: float | None) -> str:
        if x is None or not math.isfinite(x):
            return "–"
        return f"{x:.1%}" if pct else f"{x:.{digits}f}"

    text = one(value)
    if ci_low is not None and ci_high is not None and math.isfinite(ci_low) and math.isfinite(ci_high):
        text += f" [{one(ci_low)}, {one(ci_high)}]"
    return text


def _cell(r: ScoreRow, pct: bool = True, digits: int = 2) -> str:
    return score_text(r.value, r.ci_low, r.ci_high, pct=pct, digits=digits)


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table as lines, with a blank line after it; '|' inside a cell is escaped."""
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return [row(header), "|" + "---|" * len(header), *[row(cells) for cells in body], ""]


def subset_table(rows: Sequence[ScoreRow], *, first: str = "subject", pct: bool = True,
                 digits: int = 2) -> tuple[list[str], list[list[str]]]:
    """Subject/topic by model for one metric: (header, body); whole-dataset rows are left out.

    Models are columns in the order they first appear, subsets are sorted; '–' where a model has no score.
    """
    parts = [r for r in rows if r.subset is not None]
    models = list(dict.fromkeys(r.model for r in parts))
    by = {(r.subset, r.model): r for r in parts}
    body = [[s] + [_cell(by[(s, m)], pct, digits) if (s, m) in by else "–" for m in models]
            for s in sorted({r.subset for r in parts if r.subset is not None})]
    return [first, *models], body


PREFERENCE_HEADER = ("topic", "win", "tie", "loss", "invalid", "win rate [CI]")


def preference_table(rows: Sequence[ScoreRow], *, header: Sequence[str] = PREFERENCE_HEADER, pct: bool = True,
                     digits: int = 2) -> tuple[list[str], list[list[str]]]:
    """One challenger's win rates (overall first, then per topic) with its judged counts: (header, body)."""
    body = [["all" if r.subset is None else r.subset, str(r.details.get("wins")), str(r.details.get("ties")),
             str(r.details.get("losses")), str(r.details.get("invalid")), _cell(r, pct, digits)]
            for r in sorted(rows, key=lambda r: (r.subset is not None, r.subset or ""))]
    return list(header), body


def diff_text(r: ScoreRow, digits: int = 3) -> str:
    """'+0.041 [+0.012, +0.070] *': the difference, its interval, and * when the interval excludes 0."""
    text = f"{r.value:+.{digits}f}"
    if r.ci_low is not None and r.ci_high is not None:
        text += f" [{r.ci_low:+.{digits}f}, {r.ci_high:+.{digits}f}]"
        if r.ci_low > 0 or r.ci_high < 0:
            text += " *"
    return text


PAIR_GROUP_HEADER = ("by", "group", "n")


def pair_panels(rows: Sequence[ScoreRow]) -> list[tuple[str, str, str, list[ScoreRow]]]:
    """(dataset, fine-tuned, vanilla, rows) per pair, from the ``<metric>_diff`` rows."""
    groups: dict[tuple[str, str, str], list[ScoreRow]] = {}
    for r in rows:
        if r.is_difference:
            groups.setdefault((r.dataset, r.model, str(r.details.get("opponent", "?"))), []).append(r)
    return [(dataset, tuned, vanilla, group) for (dataset, tuned, vanilla), group in groups.items()]


def pair_table(rows: Sequence[ScoreRow], *, header: Sequence[str] = PAIR_GROUP_HEADER,
               labels: dict[str, str] | None = None, everything: str = "all",
               digits: int = 3) -> tuple[list[str], list[list[str]]]:
    """One pair's differences as the paper's Tables 5-6: rows all, each set, each topic; a column per metric.

    Cells are 'difference [interval]' with ' *' when the interval excludes 0; ``labels`` names the metrics;
    the first two columns are the kind of group (set, topic; empty for all items) and its label.
    """
    names = labels or METRIC_LABELS
    metrics = [m for m in PAIR_METRICS if any(r.metric == m for r in rows)]
    by = {(r.subset, r.metric): r for r in rows}
    subsets = sorted({r.subset for r in rows}, key=lambda s: (s is not None, not (s or "").startswith("set:"), s or ""))
    body = []
    for subset in subsets:
        cells = [by.get((subset, m)) for m in metrics]
        n = max((c.n for c in cells if c is not None), default=0)
        kind, _, label = ("", "", everything) if subset is None else subset.partition(":")
        body.append([kind, label, str(n), *[diff_text(c, digits) if c is not None else "–" for c in cells]])
    return [*header, *[names.get(m, m) for m in metrics]], body


def pair_means_table(rows: Sequence[ScoreRow], tuned: str, vanilla: str, *, metric_header: str = "metric",
                     labels: dict[str, str] | None = None, digits: int = 3) -> tuple[list[str], list[list[str]]]:
    """All items: the fine-tuned and vanilla means of each metric beside their difference."""
    names = labels or METRIC_LABELS
    whole = {r.metric: r for r in rows if r.subset is None}
    body = [[names.get(m, m).removeprefix("Δ "), f"{r.details.get('mean_tuned', math.nan):.{digits}f}",
             f"{r.details.get('mean_vanilla', math.nan):.{digits}f}", diff_text(r, digits)]
            for m in PAIR_METRICS if (r := whole.get(m)) is not None]
    return [metric_header, tuned, vanilla, "Δ [CI]"], body


Panel = tuple[str, list[ScoreRow]]  # a plot's title and the rows it draws


def accuracy_panels(rows: Sequence[ScoreRow]) -> list[Panel]:
    """Whole-dataset accuracy per (task, dataset) of the MCQ and RAG tasks, baseline included."""
    groups: dict[tuple[str, str], list[ScoreRow]] = {}
    for r in rows:
        if r.task in ("mcq", "rag") and r.metric == "accuracy" and r.subset is None:
            groups.setdefault((r.task, r.dataset), []).append(r)
    return [(f"{task}: {dataset}", group) for (task, dataset), group in groups.items()
            if any(not r.is_baseline for r in group)]


def win_rate_panels(rows: Sequence[ScoreRow]) -> list[Panel]:
    """Win rates per (task, dataset, challenger): overall and per topic against the challenger's opponent."""
    groups: dict[tuple[str, str, str], list[ScoreRow]] = {}
    for r in rows:
        if r.metric == "win_rate":
            groups.setdefault((r.task, r.dataset, r.model), []).append(r)
    return [(f"{model} vs {group[0].details.get('opponent', '?')} ({task}: {dataset})", group)
            for (task, dataset, model), group in groups.items()]


def _accuracy_width(rows: Sequence[ScoreRow]) -> float:
    return max(4.0, 1.2 * sum(not r.is_baseline for r in rows) + 2)


def draw_accuracy(ax: Axes, rows: Sequence[ScoreRow], title: str) -> None:
    """Bars of whole-dataset accuracy per model with CI whiskers; the baseline as a dashed line."""
    models = [r for r in rows if not r.is_baseline]
    baseline = next((r for r in rows if r.is_baseline), None)
    x = np.arange(len(models))
    value = np.array([r.value for r in models])
    low = np.array([r.ci_low if r.ci_low is not None else r.value for r in models])
    high = np.array([r.ci_high if r.ci_high is not None else r.value for r in models])
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


def _win_rate_height(rows: Sequence[ScoreRow]) -> float:
    return max(2.5, 0.4 * len(rows) + 1.2)


def draw_win_rates(ax: Axes, rows: Sequence[ScoreRow], title: str) -> None:
    """Horizontal bars of the win rate per topic (overall first) with Wilson whiskers and the 50% line."""
    ordered = sorted(rows, key=lambda r: (r.subset is not None, r.subset or ""))
    labels = ["all" if r.subset is None else r.subset for r in ordered]
    value = np.array([r.value for r in ordered])
    low = np.array([r.ci_low if r.ci_low is not None else r.value for r in ordered])
    high = np.array([r.ci_high if r.ci_high is not None else r.value for r in ordered])
    y = np.arange(len(ordered))[::-1]
    colors = ["tab:green" if v > 0.5 else "tab:orange" if v < 0.5 else "tab:gray" for v in value]
    ax.barh(y, value, color=colors, alpha=0.8)
    ax.errorbar(value, y, xerr=np.vstack([value - low, high - value]), fmt="none", capsize=3, color="black")
    ax.axvline(0.5, ls="--", color="black", lw=1)
    ax.set_yticks(y, [f"{label} (n={r.n})" for label, r in zip(labels, ordered, strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("win rate, ties as half (Wilson CI)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)


def accuracy_figure(panels: Sequence[Panel]) -> Figure:
    """The accuracy panels side by side in one figure (a plain Figure: nothing global to close)."""
    if not panels:
        raise ValueError("no accuracy rows to plot")
    widths = [_accuracy_width(rows) for _, rows in panels]
    fig = Figure(figsize=(sum(widths), 3.6))
    axes = fig.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, (title, rows) in zip(axes, panels, strict=True):
        draw_accuracy(ax, rows, title)
    fig.tight_layout()
    return fig


def win_rate_figure(panels: Sequence[Panel]) -> Figure:
    """The win-rate panels stacked in one figure, each as tall as its topics need."""
    if not panels:
        raise ValueError("no win-rate rows to plot")
    heights = [_win_rate_height(rows) for _, rows in panels]
    fig = Figure(figsize=(6.5, sum(heights)))
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (title, rows) in zip(axes, panels, strict=True):
        draw_win_rates(ax, rows, title)
    fig.tight_layout()
    return fig


def plot_accuracy(rows: Sequence[ScoreRow], path: Path, title: str) -> Path:
    """One dataset's accuracy figure as a PNG."""
    accuracy_figure([(title, list(rows))]).savefig(path, dpi=110)
    return path


def plot_win_rates(rows: Sequence[ScoreRow], path: Path, title: str) -> Path:
    """One challenger's per-topic win-rate figure as a PNG."""
    win_rate_figure([(title, list(rows))]).savefig(path, dpi=110)
    return path


def _mcq_section(task: str, dataset: str, rows: list[ScoreRow], out_dir: Path) -> list[str]:
    whole = [r for r in rows if r.subset is None]
    png = plot_accuracy(whole, out_dir / f"accuracy_{_slug(task)}_{_slug(dataset)}.png", f"{task}: {dataset}")
    lines = [f"### {task.upper()}: {dataset}", "", f"![accuracy]({png.name})", ""]
    lines += markdown_table(["model", "accuracy [CI]", "n"], [[r.model, _cell(r), str(r.n)] for r in whole])
    if len({r.subset for r in rows if r.subset is not None}) > 1:
        lines += ["Per subject:", ""] + markdown_table(*subset_table(rows))
    return lines


def _text_section(dataset: str, rows: list[ScoreRow]) -> list[str]:
    metrics = [m for m in TEXT_METRICS if any(r.metric == m for r in rows)]
    models = list(dict.fromkeys(r.model for r in rows))
    by = {(r.model, r.metric): r for r in rows if r.subset is None}
    body = [[m] + [_cell(by[(m, k)], pct=False, digits=3 if k in ("loss", "echo_rate", "kk_share") else 2)
                   if (m, k) in by else "–" for k in metrics] for m in models]
    lines = [f"### Generation: {dataset} (text metrics vs the reference)", ""]
    lines += markdown_table(["model", *[METRIC_LABELS[k] for k in metrics]], body)
    rouge = [r for r in rows if r.metric == "rouge_l"]
    if any(r.subset is not None for r in rouge):
        lines += ["ROUGE-L F1 per topic:", ""] + markdown_table(*subset_table(rouge, first="topic", pct=False))
    return lines


def _pair_section(dataset: str, rows: list[ScoreRow]) -> list[str]:
    lines = []
    for _, tuned, vanilla, mine in pair_panels(rows):
        first = mine[0].details
        level = int(round(100 * first.get("level", 0.95)))
        lines += [f"### Fine-tuned vs vanilla: {tuned} − {vanilla} ({dataset})", "",
                  f"Paired bootstrap {level}% intervals over the same items ({first.get('rounds', '?')} rounds, seed "
                  f"{first.get('seed', '?')}); * marks an interval that excludes 0. Higher is better except for the "
                  "loss and the echo rate, where a negative difference is the improvement.", ""]
        lines += markdown_table(*pair_means_table(mine, tuned, vanilla))
        lines += ["By set and topic:", ""] + markdown_table(*pair_table(mine))
    return lines


def _samples_section(dataset: str, rows: list[ScoreRow], limit: int = 400) -> list[str]:
    """The sample answers each model's ``echo_rate`` row keeps, item by item."""
    def clip(text: str) -> str:
        text = " ".join(str(text).split())
        return text if len(text) <= limit else text[:limit] + " …"

    items: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[str, str]] = {}
    for r in rows:
        if r.metric == "echo_rate" and r.subset is None:
            for sample in r.details.get("samples", []):
                items.setdefault(sample["id"], sample)
                answers.setdefault(sample["id"], {})[r.model] = sample["answer"]
    if not items:
        return []
    lines = [f"### Sample answers: {dataset}", ""]
    for item_id, sample in items.items():
        lines += [f"**{item_id}.** {clip(sample['instruction'])}", "", f"- *reference*: {clip(sample['reference'])}"]
        lines += [f"- *{model}*: {clip(answer) or '(empty)'}" for model, answer in answers[item_id].items()]
        lines.append("")
    return lines


def _preference_section(task: str, dataset: str, rows: list[ScoreRow], out_dir: Path) -> list[str]:
    lines = []
    for title, mine in win_rate_panels(rows):
        challenger, opponent = mine[0].model, mine[0].details.get("opponent", "?")
        png = plot_win_rates(mine, out_dir / f"winrate_{_slug(task)}_{_slug(dataset)}_{_slug(challenger)}.png", title)
        judge = mine[0].details.get("judge", {})
        lines += [f"### {task.capitalize()}: {challenger} vs {opponent} on {dataset}", "",
                  f"Judge: {judge.get('judge', '?') if isinstance(judge, dict) else judge}.", "",
                  f"![win rate per topic]({png.name})", ""]
        lines += markdown_table(*preference_table(mine))
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
        text = [r for r in group if r.metric in TEXT_METRICS]
        if text:
            lines += _text_section(dataset, text)
        if any(r.is_difference for r in group):
            lines += _pair_section(dataset, group)
        lines += _samples_section(dataset, group)
        prefs = [r for r in group if r.metric == "win_rate"]
        if prefs:
            lines += _preference_section(task, dataset, prefs, out_dir)
    if correlations:
        lines += ["### Benchmark-to-arena correlation", ""]
        body = [[c.task, c.dataset, METRIC_LABELS.get(c.metric, c.metric), f"{c.spearman_rho:+.2f}",
                 f"{c.spearman_p:.3g}", str(c.n_models), c.note or ""] for c in correlations]
        lines += markdown_table(["task", "dataset", "metric", "Spearman rho", "p", "models", "note"], body)
    path = out_dir / REPORT_NAME
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
