"""The Markdown report with its plots, the benchmark-to-arena correlation, and results in the database."""

import json

import matplotlib.image
import pytest

from db.session import session_scope
from eval.correlation import arena_correlations, load_ratings
from eval.report import write_report
from eval.results import BASELINE_MODEL, ScoreRow, load_rows, new_run_id, store_rows

ROWS = [
    ScoreRow("mcq", "unt-hsr", None, "vanilla", "accuracy", 0.40, 0.10, 0.70, 10, {"level": 0.95}),
    ScoreRow("mcq", "unt-hsr", None, "tuned", "accuracy", 0.60, 0.30, 0.90, 10, {"level": 0.95}),
    ScoreRow("mcq", "unt-hsr", None, "big", "accuracy", 0.80, 0.50, 1.00, 10, {"level": 0.95}),
    ScoreRow("mcq", "unt-hsr", None, BASELINE_MODEL, "accuracy", 0.30, None, None, 10, {"answer_index": 0}),
    ScoreRow("mcq", "unt-hsr", "history", "vanilla", "accuracy", 0.5, 0.0, 1.0, 4),
    ScoreRow("mcq", "unt-hsr", "law", "vanilla", "accuracy", 0.33, 0.0, 0.67, 6),
    ScoreRow("rag", "unt-hsr", None, "vanilla", "accuracy", 0.50, 0.20, 0.80, 10, {"level": 0.95}),
    ScoreRow("generation", "ift-test", None, "vanilla", "rouge_l", 0.12, 0.08, 0.16, 35),
    ScoreRow("generation", "ift-test", None, "vanilla", "chrf_pp", 21.5, None, None, 35),
    ScoreRow("generation", "ift-test", "education", "vanilla", "rouge_l", 0.10, 0.05, 0.15, 5),
    ScoreRow("generation", "ift-test", None, "tuned", "win_rate", 0.65, 0.49, 0.78, 35,
             {"opponent": "vanilla", "wins": 20, "losses": 10, "ties": 5, "invalid": 0, "judge": {"judge": "gpt-4o"}}),
    ScoreRow("generation", "ift-test", "education", "tuned", "win_rate", 0.8, 0.38, 0.96, 5,
             {"opponent": "vanilla", "wins": 4, "losses": 1, "ties": 0, "invalid": 0, "judge": {"judge": "gpt-4o"}}),
    ScoreRow("conversation", "tasks", None, "tuned", "win_rate", 0.45, 0.3, 0.6, 40,
             {"opponent": "vanilla", "wins": 16, "losses": 20, "ties": 4, "invalid": 1, "judge": {"judge": "qwen"}}),
]


def test_report_writes_markdown_and_pngs(tmp_path):
    ratings = {"vanilla": 950.0, "tuned": 1010.0, "big": 1040.0, "not-evaluated": 1000.0}
    correlations = arena_correlations(ROWS, ratings)
    path = write_report(ROWS, tmp_path / "out", run_id="run-1", correlations=correlations)
    text = path.read_text(encoding="utf-8")
    assert path.name == "report.md" and "Run `run-1`" in text
    assert "| tuned | 60.0% [30.0%, 90.0%] | 10 |" in text
    assert "| majority-class | 30.0% | 10 |" in text
    assert "| history | 50.0% [0.0%, 100.0%] |" in text  # per-subject table
    assert "| vanilla | 0.12 [0.08, 0.16] | 21.50 |" in text  # ROUGE-L and chrF++
    assert "| education | 4 | 0 | 1 | 0 | 80.0% [38.0%, 96.0%] |" in text  # win/tie/loss per topic
    assert "Judge: gpt-4o." in text
    assert "| mcq | unt-hsr | accuracy | +1.00 |" in text
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ["accuracy_mcq_unt-hsr.png", "accuracy_rag_unt-hsr.png", "winrate_conversation_tasks_tuned.png",
                    "winrate_generation_ift-test_tuned.png"]
    for name in pngs:
        assert f"]({name})" in text  # every plot is linked from the report
        image = matplotlib.image.imread(tmp_path / "out" / name)
        assert image.shape[0] > 100 and image.shape[1] > 100
        assert image[..., :3].std() > 0.05  # not a blank canvas
    with pytest.raises(ValueError, match="no results"):
        write_report([], tmp_path)


def spearman_by_hand(x, y):
    """1 - 6 sum d^2 / (n (n^2 - 1)) for data without ties."""
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0] * len(v)
        for rank, i in enumerate(order, start=1):
            r[i] = rank
        return r

    rx, ry = ranks(x), ranks(y)
    n = len(x)
    return 1 - 6 * sum((a - b) ** 2 for a, b in zip(rx, ry, strict=True)) / (n * (n * n - 1))


def test_correlation_with_arena_ratings():
    models = ["m1", "m2", "m3", "m4", "m5"]
    accuracy = [0.30, 0.55, 0.42, 0.61, 0.70]
    ratings = {"m1": 900.0, "m2": 1005.0, "m3": 1010.0, "m4": 990.0, "m5": 1100.0, "arena-only": 1000.0}
    rows = [ScoreRow("mcq", "d", None, m, "accuracy", a, n=10) for m, a in zip(models, accuracy, strict=True)]
    rows += [ScoreRow("mcq", "d", None, BASELINE_MODEL, "accuracy", 0.25, n=10),  # not a model: left out
             ScoreRow("mcq", "d", "subject", "m1", "accuracy", 0.9, n=3),  # subsets are left out
             ScoreRow("mcq", "other", None, "m1", "accuracy", 0.5, n=3)]  # only 1 shared model: no correlation
    (corr,) = arena_correlations(rows, ratings)
    assert (corr.task, corr.dataset, corr.metric, corr.n_models) == ("mcq", "d", "accuracy", 5)
    assert corr.models == tuple(models)
    assert corr.spearman_rho == pytest.approx(spearman_by_hand(accuracy, [ratings[m] for m in models]))
    assert corr.spearman_rho == pytest.approx(0.6)


def test_ratings_from_leaderboard_json_or_plain(tmp_path):
    board = tmp_path / "board.json"
    board.write_text(json.dumps({"header": {}, "rows": [{"model": "a", "rating": 1012.5},
                                                        {"model": "b", "rating": 987.5}]}))
    assert load_ratings(board) == {"a": 1012.5, "b": 987.5}
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"a": 1, "b": 2.5}))
    assert load_ratings(plain) == {"a": 1.0, "b": 2.5}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(["a"]))
    with pytest.raises(ValueError, match="expected leaderboard JSON"):
        load_ratings(bad)


def test_rows_round_trip_through_eval_results(db_url):
    run_id = new_run_id()
    with session_scope(db_url) as s:
        assert store_rows(s, run_id, ROWS) == len(ROWS)
        store_rows(s, "another-run", ROWS[:1])
    with session_scope(db_url) as s:
        back = load_rows(s, run_id)
    assert back == ROWS
    with session_scope(db_url) as s, pytest.raises(ValueError, match="not finite"):
        store_rows(s, run_id, [ScoreRow("mcq", "d", None, "m", "accuracy", float("nan"))])
