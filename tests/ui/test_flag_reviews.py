"""Admins' decisions on quality flags live in the database (SQLite and PostgreSQL): the newest decision
wins, a clear made in one app is seen by a freshly started one, and the Leaderboard tab and
`kazarena leaderboard --exclude-flagged` leave out the same annotators."""

import asyncio
import json

import gradio as gr
import pytest
import typer
from typer.testing import CliRunner

from app.cli import leaderboard as leaderboard_cli
from app.errors import ServiceError
from app.services import flag_reviews
from app.ui.accounts import new_state
from app.ui.arena import ArenaTab
from app.ui.leaderboard import LeaderboardTab
from db.session import session_scope
from tests.ui.arena_helpers import cast, offline_app
from tests.utils.arena import annotator

# honest: m1 wins 7 of 10; biased always picks the left answer, 10 times on each side:
# with the biased annotator m1 is 17 / 13 / 0, without 7 / 3 / 0
WITH_BIASED, WITHOUT_BIASED = "17 / 13 / 0", "7 / 3 / 0"


def _votes(url: str) -> tuple[int, int]:
    honest, _ = annotator(url)
    biased, _ = annotator(url)
    for _ in range(7):
        cast(url, honest, "left")
    for _ in range(3):
        cast(url, honest, "right")
    for position in ("a", "b"):
        for _ in range(10):
            cast(url, biased, "left", position=position)
    return honest, biased


def _m1(app) -> str:  # noqa: ANN001
    """The m1 row's W / L / T on a Leaderboard tab built for `app` (flagged annotators left out)."""
    with gr.Blocks(), gr.Tab("board") as opened:
        tab = LeaderboardTab(app.state.runtime, "en", opened)
    frame = tab.refresh("overall", "", True, "en")[1]["value"]
    return frame[frame.iloc[:, 1].str.contains("(m1)", regex=False)].iloc[0, -1]


def _cli_m1(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[str, str]:
    from app.settings import get_settings

    app = typer.Typer()
    leaderboard_cli.register(app)
    app.callback()(lambda: None)  # keeps `leaderboard` a sub-command
    monkeypatch.setenv("KAZARENA_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["leaderboard", "--format", "json", "--ci", "sandwich", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout)["rows"] if r["model"] == "m1")
    return f"{row['wins']} / {row['losses']} / {row['ties']}", result.stderr


def test_the_newest_decision_wins_and_every_decision_is_kept(db_url):
    a, _ = annotator(db_url)
    b, _ = annotator(db_url)
    admin, _ = annotator(db_url, role="admin")
    with session_scope(db_url) as s:
        assert flag_reviews.cleared_annotators(session=s) == frozenset()
        for who, cleared in ((a, True), (b, True), (a, False), (b, False), (a, True)):
            flag_reviews.set_cleared(session=s, annotator_id=who, cleared=cleared, admin_id=admin, reason=" seen ")
    with session_scope(db_url) as s:
        assert flag_reviews.cleared_annotators(session=s) == {str(a)}
        latest = flag_reviews.latest_reviews(session=s)
        assert (latest[str(a)].decision, latest[str(b)].decision) == ("cleared", "reopened")
        assert latest[str(a)].reason == "seen" and latest[str(a)].admin_id == admin
        with pytest.raises(ServiceError) as missing:
            flag_reviews.set_cleared(session=s, annotator_id=999_999, cleared=True, admin_id=admin)
        assert missing.value.code == "not_found"
        with pytest.raises(ServiceError, match="unknown flag decision 'ignored'"):
            flag_reviews.record_review(session=s, annotator_id=a, decision="ignored", admin_id=admin)


def test_a_clear_outlives_the_app_and_every_leaderboard_honours_it(db_url, monkeypatch):
    _, biased = _votes(db_url)
    first = offline_app(db_url)
    assert _m1(first) == WITHOUT_BIASED  # the side-bias flag leaves the biased annotator out
    assert _cli_m1(db_url, monkeypatch, "--include-flagged")[0] == WITH_BIASED  # everyone counts
    assert _cli_m1(db_url, monkeypatch)[0] == _cli_m1(db_url, monkeypatch, "--exclude-flagged")[0]  # as the tab: by default
    cli, note = _cli_m1(db_url, monkeypatch, "--exclude-flagged")
    assert cli == WITHOUT_BIASED and f"left out 1 flagged annotator(s): {biased}" in note

    admin_id, token = annotator(db_url, "boss", role="admin")
    admin = {**new_state(), "token": token, "annotator_id": admin_id, "username": "boss", "role": "admin"}
    with gr.Blocks():
        panel = ArenaTab(first.state.runtime, "en").admin
    asyncio.run(panel._action("clear")(biased, "reviewed the votes", admin, "en"))

    second = offline_app(db_url)  # a restart, or another worker process: nothing shared in memory
    assert _m1(second) == WITH_BIASED
    cli, note = _cli_m1(db_url, monkeypatch, "--exclude-flagged")
    assert cli == WITH_BIASED and "left out" not in note
    with gr.Blocks():
        panel = ArenaTab(second.state.runtime, "en").admin
    asyncio.run(panel._action("reopen")(biased, "", admin, "en"))
    assert _m1(first) == WITHOUT_BIASED  # the first app sees the second one's decision
    assert _cli_m1(db_url, monkeypatch, "--exclude-flagged")[0] == WITHOUT_BIASED
