"""A reload restores the login from the token the browser kept, only while the server-side session lives."""

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import gradio as gr
import pytest
from sqlalchemy import update

from app.services import accounts
from app.ui.accounts import STORAGE_KEY, new_state
from app.ui.arena import ArenaTab
from app.ui.i18n import t
from db.models import AnnotatorSession
from db.session import session_scope
from tests.ui.arena_helpers import offline_app
from tests.utils.arena import annotator

PASSWORD = "құпия-сөз-123"  # the factories' password


@pytest.fixture
def ui(sqlite_url):
    app = offline_app(sqlite_url)
    with gr.Blocks():
        tab = ArenaTab(app.state.runtime, "kk")
    return SimpleNamespace(app=app, tab=tab, acc=tab.account, url=sqlite_url)


def _restore(ui, stored, lang="en"):  # noqa: ANN001, ANN202
    return asyncio.run(ui.acc.restore(stored, lang))


def _logged_out(ui, out) -> bool:  # noqa: ANN001
    acc = ui.acc
    return (out[ui.tab.state] == new_state() and out[acc.stored] == {"token": None}
            and out[acc.login_box]["visible"] and not out[acc.play_box]["visible"] and acc.notice not in out)


def test_the_browser_keeps_the_token_of_a_login_and_forgets_it_at_logout(ui):
    acc = ui.acc
    annotator(ui.url, "asel")
    login = asyncio.run(acc.login("asel", PASSWORD, "en"))
    token = login[ui.tab.state]["token"]
    assert token.startswith("ks_") and login[acc.stored] == {"token": token}
    assert acc.stored.storage_key == STORAGE_KEY and acc.stored in acc.session_outputs()
    assert asyncio.run(acc.logout(login[ui.tab.state], "en"))[acc.stored] == {"token": None}
    assert acc.expired("en")[acc.stored] == {"token": None}  # a session that ended mid-use is forgotten too


def test_a_live_token_restores_the_logged_in_view(ui):
    acc = ui.acc
    me, token = annotator(ui.url, "marat")
    out = _restore(ui, {"token": token})
    assert out[ui.tab.state] == {**new_state(), "token": token, "annotator_id": me, "username": "marat",
                                 "role": "annotator"}
    assert out[acc.stored] == {"token": token} and out[acc.user_md] == t("logged_in_as", "en", name="marat")
    assert out[acc.play_box]["visible"] and not out[acc.login_box]["visible"] and not out[acc.admin_box]["visible"]
    _, boss = annotator(ui.url, "boss", role="admin")
    assert _restore(ui, {"token": boss})[acc.admin_box]["visible"]


def test_an_expired_token_is_forgotten_quietly(ui):
    _, token = annotator(ui.url, "dana")
    with session_scope(ui.url) as s:
        s.execute(update(AnnotatorSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert _logged_out(ui, _restore(ui, {"token": token}))


def test_a_logged_out_or_banned_annotators_token_is_forgotten(ui):
    _, ended = annotator(ui.url, "erlan")
    with session_scope(ui.url) as s:
        accounts.logout(session=s, token=ended)
    assert _logged_out(ui, _restore(ui, {"token": ended}))
    banned, token = annotator(ui.url, "spammer")
    with session_scope(ui.url) as s:  # the session outlives the ban; the check refuses it
        accounts.set_ban(session=s, annotator_id=banned, banned=True, reason="spam")
    assert _logged_out(ui, _restore(ui, {"token": token}))


@pytest.mark.parametrize("stored", [None, {}, {"token": None}, {"token": ""}, {"token": 42}, "ks_not-a-dict"])
def test_nothing_usable_stored_changes_nothing(ui, stored):
    out = _restore(ui, stored)
    assert out and all(update == gr.update() for update in out.values())


def test_an_unknown_token_is_forgotten(ui):
    assert _logged_out(ui, _restore(ui, {"token": "ks_" + "x" * 43}))
