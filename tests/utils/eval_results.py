"""Two stored evaluation runs, shaped as `kazarena eval` stores them, for the Results tab, API and data tests."""

from datetime import UTC, datetime

from sqlalchemy import update

from db.models import EvalResult
from db.session import session_scope
from eval.results import BASELINE_MODEL, ScoreRow, store_rows

HISTORY, LAW = "Қазақстан тарихы", "Құқық негіздері"
JUDGE = {"opponent": "vanilla", "judge": {"judge": "gpt-4o"}}

# The newer run: MCQ on one dataset with two subjects and its baseline, RAG, generation with a judge.
NEW_ROWS = [
    ScoreRow("mcq", "unt-hsr", None, "vanilla", "accuracy", 0.4123, 0.3712, 0.4551, 500, {"level": 0.95}),
    ScoreRow("mcq", "unt-hsr", HISTORY, "vanilla", "accuracy", 0.5, 0.25, 0.75, 200),
    ScoreRow("mcq", "unt-hsr", LAW, "vanilla", "accuracy", 0.35, 0.3, 0.4, 300),
    ScoreRow("mcq", "unt-hsr", None, "tuned", "accuracy", 0.6, 0.3, 0.9, 500, {"level": 0.95}),
    ScoreRow("mcq", "unt-hsr", HISTORY, "tuned", "accuracy", 0.7, 0.5, 0.9, 200),
    ScoreRow("mcq", "unt-hsr", None, BASELINE_MODEL, "accuracy", 0.284, None, None, 500, {"answer_index": 2}),
    ScoreRow("rag", "unt-hsr", None, "vanilla", "accuracy", 0.45, 0.41, 0.49, 500, {"level": 0.95}),
    ScoreRow("rag", "unt-hsr", None, BASELINE_MODEL, "accuracy", 0.284, None, None, 500, {"answer_index": 2}),
    ScoreRow("generation", "ift-test", None, "vanilla", "rouge_l", 0.1234, 0.1001, 0.1499, 35),
    ScoreRow("generation", "ift-test", "білім", "vanilla", "rouge_l", 0.11, 0.05, 0.15, 5),
    ScoreRow("generation", "ift-test", None, "vanilla", "chrf_pp", 21.5, None, None, 35),
    ScoreRow("generation", "ift-test", None, "tuned", "win_rate", 0.65, 0.49, 0.78, 35,
             {**JUDGE, "wins": 20, "losses": 10, "ties": 5, "invalid": 0}),
    ScoreRow("generation", "ift-test", "білім", "tuned", "win_rate", 0.8, 0.38, 0.96, 5,
             {**JUDGE, "wins": 4, "losses": 1, "ties": 0, "invalid": 0}),
]
# The older run: conversation only.
OLD_ROWS = [
    ScoreRow("conversation", "conversation-tasks", None, "tuned", "win_rate", 0.45, 0.3, 0.6, 40,
             {**JUDGE, "wins": 16, "losses": 20, "ties": 4, "invalid": 1}),
]
# Run ids sort the other way round from their times: the list must follow the times.
NEW_RUN, OLD_RUN = "20240101T000000Z-aaaaaaaa", "20990101T000000Z-zzzzzzzz"
NEW_TIME, OLD_TIME = datetime(2025, 3, 2, 10, 30, tzinfo=UTC), datetime(2025, 3, 1, 9, 15, tzinfo=UTC)


def store_run(url: str, run_id: str, rows: list[ScoreRow], created_at: datetime) -> None:
    """Store `rows` as run `run_id`, dated `created_at`."""
    with session_scope(url) as s:
        store_rows(s, run_id, rows)
        s.execute(update(EvalResult).where(EvalResult.run_id == run_id).values(created_at=created_at))


def store_both_runs(url: str) -> None:
    """The newer run first: neither insertion order nor run ids give the newest-first order, only the times do."""
    store_run(url, NEW_RUN, NEW_ROWS, NEW_TIME)
    store_run(url, OLD_RUN, OLD_ROWS, OLD_TIME)
