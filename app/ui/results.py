"""Results tab: the stored evaluation runs of `kazarena eval`, as tables with intervals and the report's plots.

Reads through eval.results (list_runs, load_rows) and renders with eval.report's
own formatting, table and figure functions, so the tab shows what the Markdown
report shows. Opening the tab reads the list of runs and shows the chosen one
(the newest at first), so visitors who never open it cost nothing; Refresh does
the same while the tab is open.
"""

from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd
from matplotlib.figure import Figure

from app.runtime import Runtime
from app.ui.i18n import normalize_lang, t
from db.session import session_scope
from eval.report import (
    METRIC_LABELS,
    PAIR_METRICS,
    accuracy_figure,
    accuracy_panels,
    markdown_table,
    pair_means_table,
    pair_panels,
    pair_table,
    preference_table,
    score_text,
    subset_table,
    win_rate_figure,
    win_rate_panels,
)
from eval.results import TASKS, RunSummary, ScoreRow, filter_rows, list_runs, load_rows

DIGITS = 3  # "0.412 [0.371, 0.455]": three decimals tell apart models a few points apart
COLUMNS = ("res_col_task", "res_col_dataset", "res_col_model", "res_col_metric", "res_col_score", "res_col_n")
PREFERENCE_COLUMNS = ("res_col_subset", "res_col_win", "res_col_tie", "res_col_loss", "res_col_invalid",
                      "res_col_win_rate")


def task_choices(lg: str) -> list[tuple[str, str]]:
    return [(t("res_all_tasks", lg), ""), *[(t(f"res_task_{task}", lg), task) for task in TASKS]]


def _task_rank(task: str) -> int:
    return TASKS.index(task) if task in TASKS else len(TASKS)


def scores_frame(rows: list[ScoreRow], lg: str) -> pd.DataFrame:
    """Whole-dataset scores, one line per model x dataset x metric, the majority-class baseline included."""
    whole = sorted((r for r in rows if r.subset is None and not r.is_difference),  # differences: pair_markdown
                   key=lambda r: _task_rank(r.task))  # stable: run order kept
    body = [[r.task, r.dataset, f"{r.model} ({t('res_baseline', lg)})" if r.is_baseline else r.model,
             METRIC_LABELS.get(r.metric, r.metric), score_text(r.value, r.ci_low, r.ci_high, digits=DIGITS), r.n]
            for r in whole]
    return pd.DataFrame(body, columns=[t(c, lg) for c in COLUMNS])


def pair_markdown(rows: list[ScoreRow], lg: str) -> list[str]:
    """A "Fine-tuned vs vanilla" section per pair: the means, then the differences by set and topic."""
    labels = {m: t(f"res_m_{m}", lg) for m in PAIR_METRICS}
    kinds = {"set": t("res_kind_set", lg), "topic": t("res_kind_topic", lg)}
    parts = []
    for dataset, tuned, vanilla, mine in pair_panels(rows):
        level = int(round(100 * mine[0].details.get("level", 0.95)))
        means = pair_means_table(mine, tuned, vanilla, metric_header=t("res_col_metric", lg), labels=labels,
                                 digits=DIGITS)
        means[0][-1] = t("res_col_diff", lg)
        header, body = pair_table(mine, header=[t("res_col_by", lg), t("res_col_group", lg), t("res_col_n", lg)],
                                  labels=labels, everything=t("res_all_items", lg), digits=DIGITS)
        body = [[kinds.get(row[0], row[0]), *row[1:]] for row in body]
        parts.append(f"### {t('res_pair', lg, a=tuned, b=vanilla, data=dataset)}\n\n"
                     f"_{t('res_pair_note', lg, level=level)}_\n\n" + "\n".join(markdown_table(*means))
                     + "\n" + "\n".join(markdown_table(header, body)))
    return parts


def breakdown_markdown(rows: list[ScoreRow], lg: str) -> str:
    """Fine-tuned vs vanilla tables; per subject / per topic: a subset-by-model table per metric, and win/tie/loss
    per pairwise comparison."""
    pairs = pair_markdown(rows, lg)
    parts = [f"### {t('res_breakdown', lg)}"]
    groups: dict[tuple[str, str], list[ScoreRow]] = {}
    for r in sorted(rows, key=lambda r: _task_rank(r.task)):
        groups.setdefault((r.task, r.dataset), []).append(r)
    for (task, dataset), group in groups.items():
        for metric in dict.fromkeys(r.metric for r in group
                                    if r.subset is not None and r.metric != "win_rate" and not r.is_difference):
            table = subset_table([r for r in group if r.metric == metric], first=t("res_col_subset", lg), pct=False,
                                 digits=DIGITS)
            parts.append(f"#### {task}: {dataset} — {METRIC_LABELS.get(metric, metric)}\n\n"
                         + "\n".join(markdown_table(*table)))
        for _, mine in win_rate_panels(group):
            judge = mine[0].details.get("judge", {})
            heading = t("res_pairwise", lg, a=mine[0].model, b=mine[0].details.get("opponent", "?"), task=task,
                        data=dataset, judge=judge.get("judge", "?") if isinstance(judge, dict) else judge)
            table = preference_table(mine, header=[t(c, lg) for c in PREFERENCE_COLUMNS], pct=False, digits=DIGITS)
            parts.append(f"#### {heading}\n\n" + "\n".join(markdown_table(*table)))
    if len(parts) == 1:
        parts.append(t("res_breakdown_none", lg))
    return "\n\n".join(pairs + parts)


def summary_markdown(run: RunSummary, rows: list[ScoreRow], lg: str) -> str:
    parts = [t("res_summary", lg, run_id=run.run_id, time=f"{run.created_at:%Y-%m-%d %H:%M}", n=run.n_rows,
               models=", ".join(run.models) or "—", datasets=", ".join(run.datasets) or "—")]
    if any(r.is_baseline for r in rows):
        parts.append(f"_{t('res_baseline_note', lg)}_")
    return "\n\n".join(parts)


@dataclass(frozen=True)
class ResultsView:
    """What the tab shows for one choice of run and task."""

    runs: list[tuple[str, str]]  # dropdown choices, newest first: (description, run id)
    run_id: str | None  # the run shown; None when nothing is stored
    message: str  # the run's summary, or why there is nothing to show
    table: pd.DataFrame | None
    breakdown: str
    accuracy: Figure | None
    win_rates: Figure | None


def results_view(url: str, run_id: str | None, task: str | None, lg: str) -> ResultsView:
    """Read the runs and the chosen one (the newest when `run_id` is unknown) and build what is shown."""
    task = task if task in TASKS else None
    with session_scope(url) as s:
        runs = list_runs(s)
        run = next((r for r in runs if r.run_id == run_id), runs[0] if runs else None)
        rows = load_rows(s, run.run_id) if run else []
    choices = [(r.describe(), r.run_id) for r in runs]
    if run is None:
        return ResultsView(choices, None, t("res_no_runs", lg), None, "", None, None)
    shown = filter_rows(rows, task)
    if not shown:
        return ResultsView(choices, run.run_id, f"{summary_markdown(run, shown, lg)}\n\n{t('res_no_rows', lg)}",
                           None, "", None, None)
    accuracy, win_rates = accuracy_panels(shown), win_rate_panels(shown)
    return ResultsView(choices, run.run_id, summary_markdown(run, shown, lg), scores_frame(shown, lg),
                       breakdown_markdown(shown, lg), accuracy_figure(accuracy) if accuracy else None,
                       win_rate_figure(win_rates) if win_rates else None)


class ResultsTab:
    def __init__(self, runtime: Runtime, lang: str, tab: gr.Tab) -> None:
        self.url = runtime.database_url
        self.intro = gr.Markdown(t("res_intro", lang), elem_id="res-intro")
        with gr.Row(equal_height=True):  # a run's description is long: the list gets the whole width
            self.run = gr.Dropdown([], value=None, label=t("res_run", lang), elem_id="res-run", scale=1)
            self.refresh_btn = gr.Button(t("res_refresh", lang), variant="primary", scale=0, min_width=140,
                                         elem_id="res-refresh")
        self.task = gr.Radio(task_choices(lang), value="", label=t("res_task", lang), elem_id="res-task")
        self.summary = gr.Markdown("", elem_id="res-summary")
        self.table = gr.Dataframe(headers=[t(c, lang) for c in COLUMNS], interactive=False, visible=False,
                                  label=t("res_table", lang), elem_id="res-table")
        self.accuracy = gr.Plot(format="png", visible=False, label=t("res_accuracy_chart", lang),
                                elem_id="res-accuracy")
        self.win_rates = gr.Plot(format="png", visible=False, label=t("res_win_chart", lang), elem_id="res-win-rates")
        self.breakdown = gr.Markdown("", elem_id="res-breakdown")
        self.ui_lang = gr.State(lang)
        inputs = [self.run, self.task, self.ui_lang]
        outputs = [self.run, self.summary, self.table, self.breakdown, self.accuracy, self.win_rates]
        gr.on([tab.select, self.refresh_btn.click, self.run.input, self.task.input, self.ui_lang.change],
              self.refresh, inputs=inputs, outputs=outputs, api_visibility="private")

    def refresh(self, run_id: str | None, task: str | None, lg: str) -> tuple[Any, ...]:
        """Updates for: run dropdown, summary, table, breakdown, accuracy plot, win-rate plot."""
        lg = normalize_lang(lg)
        view = results_view(self.url, run_id, task, lg)

        def shown(value: Any) -> Any:
            return gr.update(value=value, visible=value is not None)

        table = None if view.table is None else gr.update(value=view.table, headers=list(view.table.columns),
                                                          visible=True)
        return (gr.update(choices=view.runs, value=view.run_id), view.message, table or gr.update(visible=False),
                view.breakdown, shown(view.accuracy), shown(view.win_rates))

    def relabel(self) -> list[tuple[Any, Any]]:
        return [
            (self.ui_lang, lambda lg: lg),
            (self.intro, lambda lg: gr.Markdown(t("res_intro", lg))),
            (self.run, lambda lg: gr.Dropdown(label=t("res_run", lg))),
            (self.task, lambda lg: gr.Radio(choices=task_choices(lg), label=t("res_task", lg))),
            (self.refresh_btn, lambda lg: gr.Button(t("res_refresh", lg))),
            (self.table, lambda lg: gr.Dataframe(label=t("res_table", lg))),
            (self.accuracy, lambda lg: gr.Plot(label=t("res_accuracy_chart", lg))),
            (self.win_rates, lambda lg: gr.Plot(label=t("res_win_chart", lg))),
        ]


def build_results_tab(runtime: Runtime, lang: str, tab: gr.Tab) -> list[tuple[Any, Any]]:
    """Render the tab inside `tab` (the current gr.Tab); return (component, relabel(lang)) pairs."""
    return ResultsTab(runtime, lang, tab).relabel()
