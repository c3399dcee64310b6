"""Stored evaluation runs read back on SQLite and PostgreSQL: the list of runs, their summaries, task filters."""

from datetime import UTC, datetime

import pytest

from db.session import session_scope
from eval.results import BASELINE_MODEL, filter_rows, get_run, list_runs, load_rows
from tests.utils.eval_results import (
    HISTORY,
    LAW,
    NEW_ROWS,
    NEW_RUN,
    NEW_TIME,
    OLD_ROWS,
    OLD_RUN,
    OLD_TIME,
    store_both_runs,
    store_run,
)


def test_no_runs_stored_gives_an_empty_list(db_url):
    with session_scope(db_url) as s:
        assert list_runs(s) == [] and get_run(s, NEW_RUN) is None


def test_runs_are_listed_newest_first_with_what_they_covered(db_url):
    store_both_runs(db_url)
    with session_scope(db_url) as s:
        runs = list_runs(s)
        assert [r.run_id for r in runs] == [NEW_RUN, OLD_RUN]  # by time; not by id nor by insertion
        new, old = runs
        assert new.created_at == NEW_TIME and old.created_at == OLD_TIME  # UTC-aware on both backends
        assert new.tasks == ("mcq", "rag", "generation")  # the pipeline's order, not alphabetical
        assert new.datasets == ("ift-test", "unt-hsr")
        assert new.models == ("tuned", "vanilla")  # the majority-class baseline is not a model
        assert new.n_rows == len(NEW_ROWS) == 13
        assert (old.tasks, old.datasets, old.models, old.n_rows) == (("conversation",), ("conversation-tasks",),
                                                                     ("tuned",), 1)
        assert new.describe() == (f"{NEW_RUN} · 2025-03-02 10:30 UTC · mcq, rag, generation · ift-test, unt-hsr · "
                                  "tuned, vanilla")
        assert [r.run_id for r in list_runs(s, limit=1)] == [NEW_RUN]
        assert get_run(s, OLD_RUN) == old and get_run(s, "no-such-run") is None
        with pytest.raises(ValueError, match="limit must be at least 1"):
            list_runs(s, limit=0)


def test_a_run_stored_later_comes_first(db_url):
    store_both_runs(db_url)
    later = datetime(2025, 3, 3, tzinfo=UTC)
    store_run(db_url, "later", OLD_ROWS, later)
    with session_scope(db_url) as s:
        assert [r.run_id for r in list_runs(s)] == ["later", NEW_RUN, OLD_RUN]


def test_rows_of_one_run_come_back_as_stored_and_filter_by_task(db_url):
    store_both_runs(db_url)
    with session_scope(db_url) as s:
        rows = load_rows(s, NEW_RUN)
    assert rows == NEW_ROWS  # values, intervals (None kept), n and details survive the round trip
    mcq = filter_rows(rows, "mcq")
    assert [(r.subset, r.model) for r in mcq] == [(None, "vanilla"), (HISTORY, "vanilla"), (LAW, "vanilla"),
                                                  (None, "tuned"), (HISTORY, "tuned"), (None, BASELINE_MODEL)]
    baseline = [r for r in mcq if r.is_baseline]
    assert len(baseline) == 1 and baseline[0].value == pytest.approx(0.284) and baseline[0].ci_low is None
    assert [r.model for r in filter_rows(rows, "rag")] == ["vanilla", BASELINE_MODEL]
    generation = filter_rows(rows, "generation")
    assert len(generation) == 5 and not any(r.is_baseline for r in generation)
    assert filter_rows(rows, "conversation") == []
    assert filter_rows(rows, None) == filter_rows(rows, "") == rows
    with pytest.raises(ValueError, match="Unknown task: 'essay'"):
        filter_rows(rows, "essay")
