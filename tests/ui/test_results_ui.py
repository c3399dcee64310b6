"""The Results tab on a real SQLite database with two stored evaluation runs: what its handlers return."""

from types import SimpleNamespace

import gradio as gr
import pytest
from fastapi.testclient import TestClient
from matplotlib.figure import Figure

from app.ui.i18n import t
from app.ui.results import ResultsTab
from tests.ui.arena_helpers import offline_app
from tests.utils.eval_results import HISTORY, LAW, NEW_RUN, OLD_RUN, store_both_runs


@pytest.fixture
def tab(sqlite_url):
    with gr.Blocks(), gr.Tab("results") as results_tab:
        results = ResultsTab(offline_app(sqlite_url, ui_enabled=False).state.runtime, "kk", results_tab)
    return SimpleNamespace(tab=results, url=sqlite_url)


def _show(tab, run_id=None, task="", lang="en"):
    run, summary, table, breakdown, accuracy, win_rates = tab.tab.refresh(run_id, task, lang)
    return SimpleNamespace(run=run, summary=summary, table=table, breakdown=breakdown, accuracy=accuracy,
                           win_rates=win_rates)


def _lines(shown) -> list[list[object]]:
    return shown.table["value"].values.tolist()


def test_nothing_stored_tells_how_to_run_an_evaluation(tab):
    for lang in ("kk", "ru", "en"):
        shown = _show(tab, lang=lang)
        assert shown.summary == t("res_no_runs", lang) and "`kazarena eval all" in shown.summary
        assert shown.run["choices"] == [] and shown.run["value"] is None
        assert shown.table["visible"] is False and shown.breakdown == ""
        assert shown.accuracy["visible"] is False and shown.win_rates["visible"] is False


def test_the_newest_run_opens_with_scores_intervals_baseline_breakdown_and_plots(tab):
    store_both_runs(tab.url)
    shown = _show(tab)
    assert [value for _, value in shown.run["choices"]] == [NEW_RUN, OLD_RUN] and shown.run["value"] == NEW_RUN
    assert shown.run["choices"][0][0].startswith(f"{NEW_RUN} · 2025-03-02 10:30 UTC · mcq, rag, generation")
    assert f"Run `{NEW_RUN}`" in shown.summary and "13 scores" in shown.summary
    assert t("res_baseline_note", "en") in shown.summary
    assert list(shown.table["value"].columns) == ["Task", "Dataset", "Model", "Metric", "Score [CI]", "n"]
    assert _lines(shown) == [  # whole datasets only, the tasks in the pipeline's order
        ["mcq", "unt-hsr", "vanilla", "accuracy", "0.412 [0.371, 0.455]", 500],
        ["mcq", "unt-hsr", "tuned", "accuracy", "0.600 [0.300, 0.900]", 500],
        ["mcq", "unt-hsr", "majority-class (baseline)", "accuracy", "0.284", 500],
        ["rag", "unt-hsr", "vanilla", "accuracy", "0.450 [0.410, 0.490]", 500],
        ["rag", "unt-hsr", "majority-class (baseline)", "accuracy", "0.284", 500],
        ["generation", "ift-test", "vanilla", "ROUGE-L F1", "0.123 [0.100, 0.150]", 35],
        ["generation", "ift-test", "vanilla", "chrF++", "21.500", 35],
        ["generation", "ift-test", "tuned", "win rate", "0.650 [0.490, 0.780]", 35],
    ]
    breakdown = shown.breakdown
    assert breakdown.startswith(f"### {t('res_breakdown', 'en')}")
    assert "#### mcq: unt-hsr — accuracy" in breakdown
    assert "| Subject / topic | vanilla | tuned |" in breakdown
    assert f"| {HISTORY} | 0.500 [0.250, 0.750] | 0.700 [0.500, 0.900] |" in breakdown
    assert f"| {LAW} | 0.350 [0.300, 0.400] | – |" in breakdown
    assert "#### generation: ift-test — ROUGE-L F1" in breakdown and "| білім | 0.110 [0.050, 0.150] |" in breakdown
    assert "Comparison of tuned and vanilla: generation, ift-test; judge: gpt-4o" in breakdown
    assert "| all | 20 | 5 | 10 | 0 | 0.650 [0.490, 0.780] |" in breakdown
    assert "rag: unt-hsr —" not in breakdown  # no subjects there: no empty table
    accuracy, win_rates = shown.accuracy["value"], shown.win_rates["value"]
    assert shown.accuracy["visible"] and isinstance(accuracy, Figure)
    assert [ax.get_title() for ax in accuracy.axes] == ["mcq: unt-hsr", "rag: unt-hsr"]
    assert [p.get_height() for p in accuracy.axes[0].patches] == pytest.approx([0.4123, 0.6])
    assert shown.win_rates["visible"] and [ax.get_title() for ax in win_rates.axes] == [
        "tuned vs vanilla (generation: ift-test)"]


def test_task_filter_and_run_choice(tab):
    store_both_runs(tab.url)
    generation = _show(tab, NEW_RUN, "generation")
    assert [line[0] for line in _lines(generation)] == ["generation"] * 3
    assert not any("majority-class" in line[2] for line in _lines(generation))
    assert t("res_baseline_note", "en") not in generation.summary
    assert generation.accuracy["visible"] is False and generation.win_rates["visible"] is True
    mcq = _show(tab, NEW_RUN, "mcq")
    assert [line[2] for line in _lines(mcq)] == ["vanilla", "tuned", "majority-class (baseline)"]
    assert mcq.accuracy["visible"] and mcq.win_rates["visible"] is False
    assert "Comparison of" not in mcq.breakdown

    old = _show(tab, OLD_RUN)
    assert old.run["value"] == OLD_RUN and f"Run `{OLD_RUN}`" in old.summary
    assert _lines(old) == [["conversation", "conversation-tasks", "tuned", "win rate", "0.450 [0.300, 0.600]", 40]]
    assert "| all | 16 | 4 | 20 | 1 | 0.450 [0.300, 0.600] |" in old.breakdown
    assert old.accuracy["visible"] is False and old.win_rates["visible"] is True

    empty = _show(tab, OLD_RUN, "mcq")  # this run has no MCQ scores
    assert empty.summary.endswith(t("res_no_rows", "en")) and empty.table["visible"] is False
    assert empty.accuracy["visible"] is False and empty.win_rates["visible"] is False
    gone = _show(tab, "deleted-run")  # a run that is no longer there falls back to the newest
    assert gone.run["value"] == NEW_RUN


def test_kazakh_and_russian_headers_and_labels(tab):
    store_both_runs(tab.url)
    kk, ru = _show(tab, lang="kk"), _show(tab, lang="ru")
    assert list(kk.table["value"].columns)[4] == t("res_col_score", "kk") == "Мәні [сенім аралығы]"
    assert "majority-class (базалық деңгей)" in [line[2] for line in _lines(kk)]
    assert f"Сеанс `{NEW_RUN}`" in kk.summary and f"Запуск `{NEW_RUN}`" in ru.summary
    assert f"| {t('res_col_subset', 'ru')} | vanilla | tuned |" in ru.breakdown
    assert t("res_pairwise", "kk", a="tuned", b="vanilla", task="generation", data="ift-test",
             judge="gpt-4o") in kk.breakdown


def test_the_tab_sits_between_leaderboard_and_about_and_reads_the_runs_when_opened(sqlite_url):
    store_both_runs(sqlite_url)
    with TestClient(offline_app(sqlite_url)) as client:
        config = client.get("/ui/config").json()
        tabs = [c["props"]["label"] for c in config["components"] if c.get("type") == "tabitem"]
        assert tabs == [t(k, "kk") for k in ("tab_arena", "tab_chat", "tab_leaderboard", "tab_results", "tab_about")]
        assert t("tab_results", "kk") == "Нәтижелер"
        ids = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
        (shown,) = [d for d in config["dependencies"] if d["outputs"] and ids.get(d["outputs"][0]) == "res-run"]
        triggers = {(ids.get(target), event) for target, event in shown["targets"]}
        assert triggers == {("tab-results", "select"), ("res-refresh", "click"), ("res-run", "input"),
                            ("res-task", "input"), (None, "change")}  # None: the language held in a gr.State


def test_fine_tuned_vs_vanilla_table_per_pair(tab):
    from db.session import session_scope
    from eval.results import ScoreRow, store_rows

    def diff(metric, subset, value, low, high, n, tuned_mean, vanilla_mean):
        return ScoreRow("generation", "ift-test", subset, "kk-tuned", metric, value, low, high, n,
                        {"opponent": "base", "mean_tuned": tuned_mean, "mean_vanilla": vanilla_mean, "level": 0.95,
                         "excludes_zero": low > 0 or high < 0, "rounds": 2000, "seed": 0})

    rows = [
        ScoreRow("generation", "ift-test", None, "base", "rouge_l", 0.10, 0.08, 0.12, 500),
        ScoreRow("generation", "ift-test", None, "kk-tuned", "rouge_l", 0.14, 0.12, 0.16, 500),
        ScoreRow("generation", "ift-test", None, "kk-tuned", "echo_rate", 0.02, 0.01, 0.04, 500),
        diff("rouge_l_diff", None, 0.04, 0.025, 0.055, 500, 0.14, 0.10),
        diff("rouge_l_diff", "set:govset", 0.05, 0.03, 0.07, 300, 0.15, 0.10),
        diff("rouge_l_diff", "topic:pensions", 0.01, -0.02, 0.04, 20, 0.11, 0.10),
        diff("loss_diff", None, -0.31, -0.35, -0.27, 500, 2.1, 2.41),
    ]
    with session_scope(tab.url) as s:
        store_rows(s, "20250401T000000Z-pairs000", rows)
    shown = _show(tab, task="generation")
    text = shown.breakdown
    assert "### Fine-tuned vs vanilla: kk-tuned − base (ift-test)" in text
    assert "| Metric | kk-tuned | base | Difference [CI] |" in text
    assert "| ROUGE-L F1 | 0.140 | 0.100 | +0.040 [+0.025, +0.055] * |" in text
    assert "| loss / response token | 2.100 | 2.410 | -0.310 [-0.350, -0.270] * |" in text
    assert "| By | Group | n | Δ ROUGE-L F1 | Δ loss / response token |" in text
    assert "|  | all | 500 | +0.040 [+0.025, +0.055] * | -0.310 [-0.350, -0.270] * |" in text
    assert "| set | govset | 300 | +0.050 [+0.030, +0.070] * | – |" in text
    assert "| topic | pensions | 20 | +0.010 [-0.020, +0.040] | – |" in text  # includes 0: no star
    assert text.index("Fine-tuned vs vanilla") < text.index("By subject and topic")
    assert not any("_diff" in str(line[3]) or "Δ" in str(line[3]) for line in _lines(shown))  # not in the scores
    assert ["generation", "ift-test", "kk-tuned", "echo rate", "0.020 [0.010, 0.040]", 500] in _lines(shown)
    kk, ru = _show(tab, task="generation", lang="kk").breakdown, _show(tab, task="generation", lang="ru").breakdown
    assert "Баптап оқытылған және бастапқы модель: kk-tuned − base" in kk and "| жиын | govset |" in kk
    assert "Дообученная и исходная модель: kk-tuned − base" in ru and "| тема | pensions |" in ru
