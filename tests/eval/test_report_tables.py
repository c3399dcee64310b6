"""The report's formatting, tables and figures that the Results tab shares with the Markdown report."""

import math

import pytest

from eval.report import (
    accuracy_figure,
    accuracy_panels,
    markdown_table,
    preference_table,
    score_text,
    subset_table,
    win_rate_figure,
    win_rate_panels,
)
from eval.results import BASELINE_MODEL
from tests.utils.eval_results import HISTORY, LAW, NEW_ROWS, OLD_ROWS


def test_scores_are_written_with_their_interval():
    assert score_text(0.4123, 0.3712, 0.4551, digits=3) == "0.412 [0.371, 0.455]"
    assert score_text(0.4123, 0.3712, 0.4551) == "0.41 [0.37, 0.46]"
    assert score_text(0.4123, 0.3712, 0.4551, pct=True) == "41.2% [37.1%, 45.5%]"
    assert score_text(21.5, digits=3) == "21.500"  # no interval known
    assert score_text(0.5, 0.4, None, digits=3) == "0.500"  # half an interval is no interval
    assert score_text(0.5, math.nan, 0.6, digits=3) == "0.500"
    assert score_text(None) == score_text(math.inf) == "–"


def test_subset_table_is_subject_by_model_with_gaps_marked():
    mcq = [r for r in NEW_ROWS if r.task == "mcq"]
    header, body = subset_table(mcq, first="subject", pct=False, digits=3)
    assert header == ["subject", "vanilla", "tuned"]  # models in the order they were evaluated
    assert sorted([HISTORY, LAW]) == [row[0] for row in body]
    rows = {row[0]: row[1:] for row in body}
    assert rows[HISTORY] == ["0.500 [0.250, 0.750]", "0.700 [0.500, 0.900]"]
    assert rows[LAW] == ["0.350 [0.300, 0.400]", "–"]  # tuned has no law score


def test_preference_table_lists_overall_first_then_topics_with_counts():
    wins = [r for r in NEW_ROWS if r.metric == "win_rate"][::-1]  # order in, not order out
    header, body = preference_table(wins, header=["topic", "w", "t", "l", "x", "rate"], pct=False, digits=3)
    assert header == ["topic", "w", "t", "l", "x", "rate"]
    assert body == [["all", "20", "5", "10", "0", "0.650 [0.490, 0.780]"],
                    ["білім", "4", "0", "1", "0", "0.800 [0.380, 0.960]"]]


def test_markdown_table_escapes_pipes_in_cells():
    assert markdown_table(["a", "b"], [["x|y", "1"]]) == ["| a | b |", "|---|---|", "| x\\|y | 1 |", ""]


def test_panels_group_accuracy_per_dataset_and_win_rates_per_challenger():
    accuracy = accuracy_panels(NEW_ROWS)
    assert [title for title, _ in accuracy] == ["mcq: unt-hsr", "rag: unt-hsr"]
    assert [r.model for r in accuracy[0][1]] == ["vanilla", "tuned", BASELINE_MODEL]  # subsets left out
    wins = win_rate_panels(NEW_ROWS + OLD_ROWS)
    assert [title for title, _ in wins] == ["tuned vs vanilla (generation: ift-test)",
                                            "tuned vs vanilla (conversation: conversation-tasks)"]
    assert [len(rows) for _, rows in wins] == [2, 1]
    only_baseline = [r for r in NEW_ROWS if r.is_baseline]
    assert accuracy_panels(only_baseline) == []  # nothing to compare the baseline with


def test_accuracy_figure_draws_each_panel_with_values_whiskers_and_the_baseline():
    fig = accuracy_figure(accuracy_panels(NEW_ROWS))
    mcq, rag = fig.axes
    assert mcq.get_title() == "mcq: unt-hsr" and rag.get_title() == "rag: unt-hsr"
    assert [p.get_height() for p in mcq.patches] == pytest.approx([0.4123, 0.6])
    assert [tick.get_text() for tick in mcq.get_xticklabels()] == ["vanilla", "tuned"]
    (baseline,) = [line for line in mcq.get_lines() if line.get_linestyle() == "--"]  # not the whiskers' caps
    assert baseline.get_ydata()[0] == pytest.approx(0.284)  # the dashed majority-class line
    whiskers = mcq.collections[0].get_segments()  # one vertical segment per model: the interval
    assert [tuple(seg[:, 1]) for seg in whiskers] == [pytest.approx((0.3712, 0.4551)), pytest.approx((0.3, 0.9))]
    with pytest.raises(ValueError, match="no accuracy rows"):
        accuracy_figure([])


def test_win_rate_figure_stacks_one_panel_per_comparison():
    fig = win_rate_figure(win_rate_panels(NEW_ROWS + OLD_ROWS))
    generation, conversation = fig.axes
    assert [p.get_width() for p in generation.patches] == pytest.approx([0.65, 0.8])
    heights = {tick.get_text(): tick.get_position()[1] for tick in generation.get_yticklabels()}
    assert heights == {"all (n=35)": 1, "білім (n=5)": 0}  # overall at the top
    assert [p.get_width() for p in conversation.patches] == pytest.approx([0.45])
    whiskers = conversation.collections[0].get_segments()
    assert tuple(whiskers[0][:, 0]) == pytest.approx((0.3, 0.6))
    with pytest.raises(ValueError, match="no win-rate rows"):
        win_rate_figure([])
