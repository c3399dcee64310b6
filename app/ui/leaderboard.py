"""Leaderboard tab: Bradley-Terry ratings with intervals, the rating/heatmap chart, filters.

Recomputed only when asked (Refresh), from the voted battles of annotators who
are not banned (arena.records); the fit is cached by the hash of the battles
that enter it, so a Refresh with no new votes costs a database read and a hash.
With "leave out flagged annotators", annotators with an open quality flag
(arena.quality; not cleared by an admin, app.services.flag_reviews) and battles
flagged one by one are left out, as `kazarena leaderboard` does by default.
The Judge section is the database report of `kazarena agreement` (eval.judge.agreement)
for the judge with the newest verdicts, rendered as Markdown.
"""

import io
import math
import tempfile
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image

from app.runtime import Runtime, model_labels
from app.services import leaderboard as boards
from app.services.leaderboard import ROUNDS, SEED
from app.ui.i18n import normalize_lang, t
from arena.battle_table import DIMENSIONS
from arena.ratings.leaderboard import Leaderboard, data_hash
from arena.ratings.plot import plot_leaderboard, plot_ratings_over_time
from arena.ratings.scrutiny import Scrutiny, scrutinize
from db.session import session_scope

__all__ = ["ROUNDS", "SEED", "LeaderboardTab", "build_leaderboard_tab"]
CACHE_SIZE = 32
COLUMNS = ("lb_col_rank", "lb_col_model", "lb_col_rating", "lb_col_ci", "lb_col_votes", "lb_col_wlt")
Outputs = tuple[Any, Any, Any, Any, Any, Any, Any, Any]


def _num(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "∞" if x > 0 else "−∞" if x < 0 else "—"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def board_frame(board: Leaderboard, labels: dict[str, str], lg: str) -> pd.DataFrame:
    """The table shown: provisional models carry a '*', unbounded ones a '†'; a group column when there are groups."""
    grouped = len({r.group for r in board.rows}) > 1
    rows = []
    for r in board.rows:
        label = labels.get(r.model, r.model)
        name = label if label == r.model else f"{label} ({r.model})"
        rows.append([r.group] * grouped + [r.rank_ub, name + (" *" if r.provisional else "") + (" †" if r.unbounded else ""),
                     _num(r.rating), f"{_num(r.ci_low)} – {_num(r.ci_high)}", r.votes, f"{r.wins} / {r.losses} / {r.ties}"])
    return pd.DataFrame(rows, columns=[t(c, lg) for c in ("lb_col_group",) * grouped + COLUMNS])


def summary_markdown(board: Leaderboard, excluded: int, lg: str, updated: datetime | None = None) -> str:
    h = board.header
    parts = [t("lb_summary", lg, battles=h.n_battles, models=h.n_models, method=h.method, level=f"{h.ci_level:.0%}",
               anchor=h.anchor, hash=h.data_hash), t("lb_explain", lg)]
    left = h.skipped
    parts.append(t("lb_left_out", lg, annotators=left.excluded_annotator, flagged=left.flagged, no_vote=left.no_vote,
                   other_topic=left.other_topic))
    if any(r.provisional for r in board.rows):
        parts.append(t("lb_provisional_note", lg, n=h.min_votes))
    if any(r.unbounded for r in board.rows):
        parts.append(t("lb_unbounded_note", lg))
    if len({r.group for r in board.rows}) > 1:
        parts.append(t("lb_groups_note", lg, n=max(r.group for r in board.rows)))
    if excluded:
        parts.append(t("lb_excluded", lg, n=excluded))
    parts += [f"⚠️ {w}" for w in h.warnings]
    if updated is not None:
        parts.append(t("lb_updated", lg, time=updated.strftime("%Y-%m-%d %H:%M")))
    return "\n\n".join(parts)


def board_csv(board: Leaderboard) -> Path:
    """The table as researchers take it (same columns as `kazarena leaderboard --format csv`)."""
    h = board.header
    name = f"kazarena-leaderboard-{h.dimension}-{h.topic or 'all'}-{h.data_hash}.csv"
    path = Path(tempfile.gettempdir()) / "kazarena-ui" / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path.parent.mkdir(parents=True, exist_ok=True)
    board.to_frame().to_csv(path, index=False)
    return path


def two_models_markdown(board: Leaderboard, lg: str) -> str:
    """With exactly two models: win rate (Wilson), sign test and Elo gap; '' otherwise."""
    s = board.two_models
    if s is None:
        return ""
    no_ties, half = s.win_rate_without_ties, s.win_rate_ties_half
    return f"### {t('lb_two_heading', lg)}\n\n" + t(
        "lb_two_body", lg, a=s.model_a, b=s.model_b,
        rate=_pct(no_ties.estimate) if no_ties else "—", low=_pct(no_ties.low) if no_ties else "—",
        high=_pct(no_ties.high) if no_ties else "—", rate_half=_pct(half.estimate), low_half=_pct(half.low),
        high_half=_pct(half.high), p=f"{s.sign_test_p:.3g}", gap=_num(s.elo_gap), gap_low=_num(s.elo_gap_low),
        gap_high=_num(s.elo_gap_high))


def chart(board: Leaderboard, lg: str) -> Image.Image:
    """arena.ratings.plot's figure (ratings with CI whiskers beside the win-rate heatmap) in the language asked."""
    h = board.header
    title = t(f"dim_{h.dimension}", lg) + (f" / {h.topic}" if h.topic else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = plot_leaderboard(board, Path(tmp) / "leaderboard.png", title=title,
                                rating_label=t("lb_plot_rating", lg), heatmap_title=t("lb_plot_heatmap", lg))
        return Image.open(io.BytesIO(path.read_bytes()))


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def judge_markdown(report: dict[str, Any] | None, lg: str) -> str:
    """Kappa with CI and raw agreement, the confusion matrix and the bias table, per dimension."""
    parts = [f"### {t('lb_judge_heading', lg)}"]
    if report is None:
        return "\n\n".join([*parts, t("lb_judge_none", lg)])
    parts.append(t("lb_judge_model", lg, judge=report["judge"]))
    if report["other_judges"]:
        parts.append(t("lb_judge_others", lg, names=", ".join(report["other_judges"])))
    parts.append(f"_{t('lb_judge_note', lg)}_")
    for dimension, section in report["dimensions"].items():
        parts.append(f"#### {t(f'dim_{dimension}', lg)}")
        if not section.get("n_judged"):
            parts.append(section.get("note", ""))
            continue
        parts.append(t("lb_judge_counts", lg, judged=section["n_judged"], invalid=section["n_invalid"],
                       inconsistent=section["n_inconsistent"], matched=section["n_votes_matched"]))
        if "overall" not in section:
            parts.append(section.get("note", ""))
        else:
            lines = [f"| {t('lb_judge_scale', lg)} | n | {t('lb_judge_kappa', lg)} | {t('lb_judge_raw', lg)} |",
                     "|---|---:|---:|---:|"]
            for scale, key in (("three_class", "lb_judge_three"), ("ties_excluded", "lb_judge_no_ties")):
                x = section["overall"][scale]
                if "kappa" not in x:
                    lines.append(f"| {t(key, lg)} | {x['n']} | {x.get('note', '')} | — |")
                    continue
                lines.append(f"| {t(key, lg)} | {x['n']} | {_fmt(x['kappa'])} [{_fmt(x['ci_low'])}, "
                             f"{_fmt(x['ci_high'])}] | {_fmt(x['raw_agreement'])} |")
            parts.append("\n".join(lines))
            confusion = section["overall"]["three_class"]["confusion"]
            lines = [f"**{t('lb_judge_confusion', lg)}**", "",
                     "| | " + " | ".join(confusion["labels"]) + " |", "|---|" + "---:|" * len(confusion["labels"])]
            lines += [f"| {label} | " + " | ".join(str(v) for v in row) + " |"
                      for label, row in zip(confusion["labels"], confusion["matrix"], strict=True)]
            parts.append("\n".join(lines))
        lines = [f"**{t('lb_judge_bias', lg)}**", "", f"| {t('lb_judge_bias_cols', lg)} |", "|---|---|---:|---:|---:|---:|"]
        for b in section["bias"]:
            share = "—" if b["share"] is None else f"{b['share']:.2f} [{b['ci_low']:.2f}, {b['ci_high']:.2f}]"
            p = "—" if b["p_value"] is None else f"{b['p_value']:.3g}"
            lines.append(f"| {b['name']} | {b['preferred']} | {share} | {b['n_decisive']} | {p} | "
                         f"{_fmt(b.get('reference_share'), 2)} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def scrutiny_markdown(board: Leaderboard, checks: Scrutiny, labels: dict[str, str], lg: str) -> str:
    """How robust the ranking is: flip margins, coordinated groups, CrowdBT ratings, change alarms."""
    name = lambda m: labels.get(m, m)  # noqa: E731
    parts = [f"### {t('lb_scrutiny_heading', lg)}", t("lb_margins_intro", lg)]
    rows = []
    for m in checks.margins:
        if m.votes is None:
            rows.append("- " + t("lb_margin_more", lg, upper=name(m.upper), lower=name(m.lower), cap=m.max_votes))
        else:
            rows.append("- " + t("lb_margin_row", lg, upper=name(m.upper), lower=name(m.lower), votes=m.votes,
                                 share=_pct(m.share_of_votes)))
    parts.append("\n".join(rows))
    if checks.coordination is not None:
        groups = checks.coordination.groups
        parts += [t("lb_group_for" if g.direction > 0 else "lb_group_against", lg, who=", ".join(g.annotators),
                    model=name(g.model)) for g in groups] or [t("lb_groups_none", lg)]
    if checks.crowd is not None:
        weighted = dict(zip(checks.crowd.models, checks.crowd.ratings(), strict=True))
        parts.append(t("lb_crowd_heading", lg) + " " + ", ".join(
            f"{name(r.model)} {_num(weighted[r.model])}" for r in board.rows if r.model in weighted))
    parts += [t("lb_alarm_row", lg, model=name(a.model), week=str(a.period_start.astype("datetime64[D]")),
                shift=f"{a.shift:+.0f}", low=f"{a.ci_low:+.0f}", high=f"{a.ci_high:+.0f}") for a in checks.alarms]
    return "\n\n".join(parts)


def over_time_chart(checks: Scrutiny, labels: dict[str, str], lg: str) -> Image.Image | None:
    if checks.over_time is None or len(checks.over_time.period_starts) < 2:
        return None  # one week is not a line
    figure = plot_ratings_over_time(
        checks.over_time, checks.alarms, labels=labels, title=t("lb_over_time", lg), xlabel=t("lb_over_time_x", lg),
        ylabel=t("lb_over_time_y", lg), interval_label=t("lb_over_time_ci", lg), few_votes_label=t("lb_over_time_few", lg),
        alarm_label=t("lb_over_time_alarm", lg))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


class LeaderboardCache:
    """Fitted boards and their scrutiny by (data hash, dimension, topic), their charts by language too;
    shared by all users, bounded."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.items = OrderedDict[tuple[str, str, str | None], tuple[Leaderboard, Scrutiny, dict[str, Image.Image]]]()
        self.lock = threading.Lock()
        self.fits = 0  # how many boards were really computed (tests check the cache with it)

    def get(self, key: tuple[str, str, str | None], table: Any, lg: str) -> tuple[Leaderboard, Image.Image, Scrutiny]:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
        if hit is None:
            hit = (boards.fit(table), scrutinize(table), {})
            with self.lock:
                self.fits += 1
                self.items[key] = hit
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
        board, checks, charts = hit
        if lg not in charts:
            charts[lg] = chart(board, lg)
        return board, charts[lg], checks


class LeaderboardTab:
    def __init__(self, runtime: Runtime, lang: str, tab: gr.Tab) -> None:
        self.runtime, self.url = runtime, runtime.database_url
        self.cache = LeaderboardCache()
        self.intro = gr.Markdown(t("lb_intro", lang), elem_id="lb-intro")
        with gr.Row(equal_height=True):
            self.dimension = gr.Radio(self._dimensions(lang), value="overall", label=t("lb_dimension", lang),
                                      elem_id="lb-dimension")
            self.topic = gr.Dropdown([(t("lb_all_topics", lang), "")], value="", label=t("lb_topic", lang),
                                     elem_id="lb-topic")
            self.exclude = gr.Checkbox(value=True, label=t("lb_exclude_flagged", lang), elem_id="lb-exclude")
            self.refresh_btn = gr.Button(t("lb_refresh", lang), variant="primary", scale=0, min_width=140,
                                         elem_id="lb-refresh")
        self.summary = gr.Markdown("", elem_id="lb-summary")
        self.table = gr.Dataframe(headers=[t(c, lang) for c in COLUMNS], interactive=False, visible=False,
                                  label=t("lb_table", lang), elem_id="lb-table")
        self.csv = gr.File(label=t("lb_csv", lang), visible=False, interactive=False, elem_id="lb-csv")
        self.two = gr.Markdown("", elem_id="lb-two")
        self.chart = gr.Image(type="pil", interactive=False, visible=False, label=t("lb_chart", lang),
                              elem_id="lb-chart", buttons=["download"])
        self.scrutiny = gr.Markdown("", elem_id="lb-scrutiny")
        self.over_time = gr.Image(type="pil", interactive=False, visible=False, label=t("lb_over_time", lang),
                                  elem_id="lb-over-time", buttons=["download"])
        self.judge = gr.Markdown("", elem_id="lb-judge")
        self.shown = gr.State(False)  # redraw on a language switch only once the board was shown
        self.ui_lang = gr.State(lang)
        inputs = [self.dimension, self.topic, self.exclude, self.ui_lang]
        outputs = [self.summary, self.table, self.two, self.chart, self.topic, self.scrutiny, self.over_time, self.csv]
        # Opening the tab shows the board at once; the button re-reads the votes while it is open.
        shown = gr.on([tab.select, self.refresh_btn.click], self.refresh, inputs=inputs, outputs=outputs,
                      api_visibility="private")
        shown.then(lambda: True, outputs=[self.shown], api_visibility="private", queue=False)
        gr.on([tab.select, self.refresh_btn.click], self.judge_section, inputs=[self.ui_lang],
              outputs=[self.judge], api_visibility="private")
        self.ui_lang.change(self.redraw, inputs=[self.shown, *inputs], outputs=outputs, api_visibility="private")
        self.ui_lang.change(self.redraw_judge, inputs=[self.shown, self.ui_lang], outputs=[self.judge],
                            api_visibility="private")

    @staticmethod
    def _dimensions(lg: str) -> list[tuple[str, str]]:
        return [(t(f"dim_{d}", lg), d) for d in DIMENSIONS]

    def refresh(self, dimension: str, topic: str | None, exclude_flagged: bool, lg: str) -> Outputs:
        """Read the votes, fit (or take from the cache) and render: summary, table, two-model text, chart, topics."""
        lg = normalize_lang(lg)
        with session_scope(self.url) as s:
            chosen = boards.select_battles(session=s, dimension=dimension or "overall", topic=topic or None,
                                           exclude_flagged=exclude_flagged)
        topic_choices = [(t("lb_all_topics", lg), ""), *[(x, x) for x in chosen.topics]]
        topic = topic if topic in {v for _, v in topic_choices} else ""
        topic_update = gr.update(choices=topic_choices, value=topic)
        hidden = gr.update(visible=False)
        if chosen.table is None:
            return t(f"lb_{chosen.empty_reason}", lg), hidden, "", hidden, topic_update, "", hidden, hidden
        table = chosen.table
        board, image, checks = self.cache.get((data_hash(table), table.dimension, table.topic), table, lg)
        labels = model_labels(self.runtime.manager)
        frame = board_frame(board, labels, lg)
        weekly = over_time_chart(checks, labels, lg)
        return (summary_markdown(board, len(chosen.excluded), lg, datetime.now(UTC)),
                gr.update(value=frame, headers=list(frame.columns), visible=True),
                two_models_markdown(board, lg), gr.update(value=image, visible=True), topic_update,
                scrutiny_markdown(board, checks, labels, lg), gr.update(value=weekly, visible=weekly is not None),
                gr.update(value=str(board_csv(board)), visible=True))

    def redraw(self, shown: bool, dimension: str, topic: str | None, exclude_flagged: bool, lg: str) -> Outputs:
        if not shown:
            return (gr.update(),) * 8
        return self.refresh(dimension, topic, exclude_flagged, lg)

    def judge_section(self, lg: str) -> str:
        """The Judge section: the judge's agreement with people, or a message when it has not judged yet."""
        with session_scope(self.url) as s:
            report = boards.judge_report(session=s, describe=self.runtime.describe_judge)
        return judge_markdown(report, normalize_lang(lg))

    def redraw_judge(self, shown: bool, lg: str) -> Any:
        return self.judge_section(lg) if shown else gr.update()

    def relabel(self) -> list[tuple[Any, Any]]:
        return [
            (self.ui_lang, lambda lg: lg),
            (self.intro, lambda lg: gr.Markdown(t("lb_intro", lg))),
            (self.dimension, lambda lg: gr.Radio(choices=self._dimensions(lg), label=t("lb_dimension", lg))),
            (self.topic, lambda lg: gr.Dropdown(label=t("lb_topic", lg))),
            (self.exclude, lambda lg: gr.Checkbox(label=t("lb_exclude_flagged", lg))),
            (self.refresh_btn, lambda lg: gr.Button(t("lb_refresh", lg))),
            (self.table, lambda lg: gr.Dataframe(label=t("lb_table", lg))),
            (self.chart, lambda lg: gr.Image(label=t("lb_chart", lg))),
            (self.over_time, lambda lg: gr.Image(label=t("lb_over_time", lg))),
            (self.csv, lambda lg: gr.File(label=t("lb_csv", lg))),
        ]


def build_leaderboard_tab(runtime: Runtime, lang: str, tab: gr.Tab) -> list[tuple[Any, Any]]:
    """Render the tab inside `tab` (the current gr.Tab); return (component, relabel(lang)) pairs."""
    return LeaderboardTab(runtime, lang, tab).relabel()
