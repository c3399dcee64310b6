"""The Arena tab's handlers on a real SQLite database: accounts, votes (early, double, bad), reveal, admin.

Battles are made ready by the factories (as if both models had answered); one test at the end streams a
real battle from the shared vLLM server through the handlers.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import gradio as gr
import pytest
from sqlalchemy import func, select, update

from app.services import accounts, flag_reviews
from app.ui.accounts import new_state, plain_markdown
from app.ui.arena import ArenaTab, needs_overall, reason_choices
from app.ui.i18n import t
from arena.records import voted_battle_rows
from db.models import Annotator, AnnotatorFlagReview, AnnotatorSession, Battle, Vote
from db.session import session_scope
from tests.ui.arena_helpers import cast, offline_app, run, small_arena
from tests.utils.arena import annotator, ready_battle

PASSWORD = "құпия-сөз-123"  # the factories' password


def _tab(app) -> ArenaTab:
    with gr.Blocks():
        return ArenaTab(app.state.runtime, "kk")


@pytest.fixture
def ui(sqlite_url):
    app = offline_app(sqlite_url)
    return SimpleNamespace(app=app, tab=_tab(app), url=sqlite_url)


def _person(url: str, username: str, role: str = "annotator") -> tuple[int, dict]:
    """A registered annotator and the tab state of their live session (as after logging in here)."""
    annotator_id, token = annotator(url, username, role=role)
    return annotator_id, {**new_state(), "token": token, "annotator_id": annotator_id, "username": username,
                          "role": role}


def _vote(ui, state, lang="kk", content="left", language="left", overall=None, both_bad=False, comment=""):
    return asyncio.run(ui.tab.vote(content, language, overall, both_bad, comment, state, lang))


def _votes(url: str) -> list[Vote]:
    with session_scope(url) as s:
        return list(s.scalars(select(Vote).order_by(Vote.id)))


def _with_battle(state: dict, battle_id: str, key: str = "key-0123456789") -> dict:
    return {**state, "battle": {"id": battle_id, "mode": "prompt", "state": "ready"}, "key": key}


# ------------------------------------------------------------ accounts
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_registration_is_refused_in_the_chosen_language_until_consent_then_stored(ui, lang):
    acc = ui.tab.account
    form = ["aigerim", "jaksy-soz-1", "native", "магистр", "Алматы", "cyrillic"]
    refused = [((*form, False, True), "consent_required"), ((*form, True, False), "consent_required"),
               (("aigerim", "jaksy-soz-1", None, "", "", "cyrillic", True, True), "invalid_proficiency"),
               (("a b", "jaksy-soz-1", "native", "", "", "cyrillic", True, True), "invalid_username"),
               (("aigerim", "short", "native", "", "", "cyrillic", True, True), "invalid_password")]
    for args, code in refused:
        assert asyncio.run(acc.register(*args, lang))[acc.notice] == t(f"err_{code}", lang)
    # every problem at once, in the order of the form
    everything = asyncio.run(acc.register("a b", "short", None, "", "", "cyrillic", False, True, lang))[acc.notice]
    assert everything == "\n".join(f"- {t(f'err_{c}', lang)}" for c in
                                   ("invalid_username", "invalid_password", "invalid_proficiency", "consent_required"))
    with session_scope(ui.url) as s:
        assert s.scalar(select(func.count()).select_from(Annotator)) == 0
    out = asyncio.run(acc.register(*form, True, True, lang))
    assert out[acc.notice] == t("registered", lang, name="aigerim") and out[acc.username] == "aigerim"
    assert out[acc.reg_password] == "" and out[acc.password] == ""  # the password does not stay in the form
    # logged in at once: the play area shows, the login form goes
    assert out[ui.tab.state]["username"] == "aigerim" and out[ui.tab.state]["token"].startswith("ks_")
    assert out[acc.play_box]["visible"] and not out[acc.login_box]["visible"]
    with session_scope(ui.url) as s:
        row = s.scalar(select(Annotator))
        assert (row.username, row.proficiency, row.region, row.consent_version) == (
            "aigerim", "native", "Алматы", accounts.CONSENT_VERSION)
    assert asyncio.run(acc.register(*form, True, True, lang))[acc.notice] == t("err_username_taken", lang)


def test_login_shows_the_arena_and_admins_also_see_the_admin_panel(ui):
    acc = ui.tab.account
    annotator(ui.url, "asel")
    annotator(ui.url, "boss", role="admin")
    wrong = asyncio.run(acc.login("asel", "wrong-password", "ru"))
    assert wrong[acc.notice] == t("err_bad_credentials", "ru") and ui.tab.state not in wrong
    out = asyncio.run(acc.login("asel", PASSWORD, "en"))
    state = out[ui.tab.state]
    assert state["token"].startswith("ks_") and state["username"] == "asel" and state["role"] == "annotator"
    assert out[acc.play_box]["visible"] and not out[acc.login_box]["visible"] and not out[acc.admin_box]["visible"]
    assert out[acc.user_md] == t("logged_in_as", "en", name="asel")
    admin = asyncio.run(acc.login("boss", PASSWORD, "kk"))
    assert admin[acc.admin_box]["visible"] and admin[acc.play_box]["visible"]
    logout = asyncio.run(acc.logout(state, "kk"))
    assert logout[ui.tab.state] == new_state() and logout[acc.login_box]["visible"]
    with session_scope(ui.url) as s:  # the session is gone on the server, not just in the page
        assert accounts.annotator_for_token(session=s, token=state["token"]) is None


def test_an_expired_session_asks_to_log_in_again(ui):
    me, state = _person(ui.url, "dana")
    state = _with_battle(state, ready_battle(ui.url, me))
    with session_scope(ui.url) as s:
        s.execute(update(AnnotatorSession).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    for out in (_vote(ui, state, "en"), run(ui.tab.start("prompt", "Сәлем", state, "en"))[-1]):
        assert out[ui.tab.account.notice] == t("session_expired", "en")
        assert out[ui.tab.state]["token"] is None and out[ui.tab.account.login_box]["visible"]
    assert _votes(ui.url) == []


# ------------------------------------------------------------ votes
def test_voting_reveals_the_models_and_a_double_click_records_one_vote(ui):
    me, state = _person(ui.url, "erlan")
    state = _with_battle(state, ready_battle(ui.url, me, position="b"))  # model_b (m2) was shown on the left
    out = _vote(ui, state, "en", content="left", language="tie", comment="Жақсы жауап")
    reveal = out[ui.tab.reveal]["value"]
    assert out[ui.tab.reveal]["visible"] and not out[ui.tab.vote_box]["visible"] and out[ui.tab.new_round_btn]["visible"]
    left, right = plain_markdown("Model Two · 270M · base (m2)"), plain_markdown("Model One · 0.5B · instruct (m1)")
    assert reveal.startswith(t("reveal", "en", left=left, right=right)) and "Жақсы жауап" in reveal
    assert out[ui.tab.state]["battle"]["state"] == "voted"
    again = _vote(ui, state, "en", content="left", language="tie", comment="Жақсы жауап")  # same idempotency key
    assert again[ui.tab.reveal] == out[ui.tab.reveal]
    stored = _votes(ui.url)
    assert len(stored) == 1 and stored[0].winner == "model_b" and stored[0].consent_version == accounts.CONSENT_VERSION
    fresh_key = _vote(ui, {**state, "key": "another-key-123"}, "ru")  # a new ballot on a voted battle
    assert fresh_key[ui.tab.vote_notice] == t("err_already_voted", "ru") and len(_votes(ui.url)) == 1


def test_reason_tags_ticked_per_answer_are_stored_for_the_model_behind_each_side(ui):
    me, state = _person(ui.url, "zhanar")
    state = _with_battle(state, ready_battle(ui.url, me, position="b"))  # model_b was shown on the left
    assert [label for label, _ in reason_choices("kk")][:4] == ["Дұрыс", "Толық", "Түсінікті", "Табиғи қазақ тілі"]
    vote = ui.tab.vote("left", "left", None, False, "", state, "ru", ["correct", "factual_error"], [])
    refused = asyncio.run(vote)
    assert refused[ui.tab.vote_notice] == t("err_invalid_reasons", "ru") and _votes(ui.url) == []
    out = asyncio.run(ui.tab.vote("left", "left", None, False, "", state, "kk", ["natural_kazakh", "correct"],
                                  ["wrong_language"]))
    assert out[ui.tab.state]["battle"]["state"] == "voted"
    (stored,) = _votes(ui.url)
    assert stored.reasons == {"model_a": ["wrong_language"], "model_b": ["correct", "natural_kazakh"]}
    reset = ui.tab._reset_vote()
    assert reset[ui.tab.reasons_left]["value"] == [] and reset[ui.tab.reasons_right]["interactive"] is False


def test_an_early_vote_is_refused_by_the_server_and_nothing_is_stored(ui):
    me, state = _person(ui.url, "farida")
    streaming = ready_battle(ui.url, me, state="open")  # answers still streaming
    out = _vote(ui, _with_battle(state, streaming), "kk")
    assert out[ui.tab.vote_notice] == t("err_answers_incomplete", "kk") and ui.tab.reveal not in out
    assert _votes(ui.url) == []


def test_the_overall_choice_is_required_only_when_content_and_language_disagree(ui):
    assert needs_overall("left", "right") and needs_overall("right", "left")
    assert not needs_overall("left", "tie") and not needs_overall("tie", "right") and not needs_overall("left", "left")
    assert not needs_overall(None, "left")
    me, state = _person(ui.url, "gulnar")
    state = _with_battle(state, ready_battle(ui.url, me))
    missing = _vote(ui, state, "kk", content=None, language="left")
    assert missing[ui.tab.vote_notice] == t("choose_both", "kk")
    disagree = _vote(ui, state, "ru", content="left", language="right")
    assert disagree[ui.tab.vote_notice] == t("err_overall_required", "ru") and disagree[ui.tab.overall]["visible"]
    assert _votes(ui.url) == []
    _vote(ui, state, "kk", content="left", language="right", overall="right")
    assert [(v.winner, v.decided_by) for v in _votes(ui.url)] == [("model_b", "overall")]


def test_both_bad_needs_no_other_choice(ui):
    me, state = _person(ui.url, "hanar")
    out = _vote(ui, _with_battle(state, ready_battle(ui.url, me)), "kk", content=None, language=None, both_bad=True)
    assert out[ui.tab.reveal]["visible"]
    assert [(v.winner, v.winner_content, v.both_bad) for v in _votes(ui.url)] == [("tie (bothbad)", "tie", True)]


def test_bad_votes_are_refused_with_clear_messages(ui):
    me, state = _person(ui.url, "ilyas")
    other, _ = annotator(ui.url, "janar")
    cases = [(_with_battle(state, ready_battle(ui.url, other)), "err_not_your_battle"),
             (_with_battle(state, "no-such-battle"), "err_battle_not_found"),
             ({**state, "battle": None}, "err_battle_not_found")]
    for st, key in cases:
        assert _vote(ui, st, "en")[ui.tab.vote_notice] == t(key, "en")
    long = _vote(ui, _with_battle(state, ready_battle(ui.url, me)), "kk", comment="ж" * 2001)
    assert long[ui.tab.vote_notice] == t("err_comment_too_long", "kk", limit=2000)
    assert _votes(ui.url) == []


def test_html_in_comments_and_model_names_is_shown_as_text_and_stored_as_written(ui):
    me, state = _person(ui.url, "kairat")
    state = _with_battle(state, ready_battle(ui.url, me))
    comment = "<script>alert(1)</script> **жақсы** [сілтеме](javascript:alert(2))"
    reveal = _vote(ui, state, "kk", comment=comment)[ui.tab.reveal]["value"]
    assert "<script>" not in reveal and "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in reveal
    assert "\\*\\*жақсы\\*\\*" in reveal and "\\[сілтеме\\]\\(javascript:alert\\(2\\)\\)" in reveal
    assert _votes(ui.url)[0].comment == comment  # stored exactly; only its display is escaped


def test_votes_are_rate_limited_with_a_clear_message(sqlite_url):
    app = offline_app(sqlite_url, votes_per_minute=1)
    tab = _tab(app)
    me, state = _person(sqlite_url, "lazzat")
    first = asyncio.run(tab.vote("left", "left", None, False, "", _with_battle(state, ready_battle(sqlite_url, me)), "kk"))
    assert first[tab.reveal]["visible"]
    second = asyncio.run(tab.vote("left", "left", None, False, "", _with_battle(state, ready_battle(sqlite_url, me),
                                                                                 "key-second-1"), "en"))
    assert second[tab.vote_notice].startswith("Too many requests. Try again in ") and len(_votes(sqlite_url)) == 1


def test_a_new_round_clears_the_answers_and_the_ballot(ui):
    state = {**new_state(), "token": "ks_x", "battle": {"id": "b", "mode": "prompt", "state": "voted"}, "key": "k" * 10}
    out = ui.tab.new_round(state)
    assert out[ui.tab.state]["battle"] is None and out[ui.tab.state]["key"] is None
    assert out[ui.tab.left] == [] and out[ui.tab.right] == [] and out[ui.tab.content]["value"] is None
    assert out[ui.tab.comment]["value"] == "" and not out[ui.tab.reveal]["visible"] and out[ui.tab.vote_box]["visible"]
    assert out[ui.tab.vote_btn]["interactive"] is False and out[ui.tab.content]["interactive"] is False  # locked


def test_a_reload_brings_back_the_battle_that_waits_for_the_vote_and_it_can_be_voted(ui):
    me, state = _person(ui.url, "dana")
    _, other = _person(ui.url, "someone-else")
    ready_battle(ui.url, me, state="voted")
    waiting = ready_battle(ui.url, me, position="b", conversation_a=[
        {"role": "user", "content": "<b>Сұрақ</b>"}, {"role": "assistant", "content": "Жауап А"}])
    ready_battle(ui.url, me, state="abandoned")
    [out] = run(ui.tab.resume(state, "ru"))  # what the page load (after the login restore) shows
    assert out[ui.tab.state]["battle"] == {"id": waiting, "mode": "prompt", "state": "ready"}
    # model_b was on the left: its answer comes back on the left, the question shown as text
    assert [m["content"] for m in out[ui.tab.left]] == ["Сұрақ", "Жауап Б"]
    assert [m["content"] for m in out[ui.tab.right]] == [plain_markdown("<b>Сұрақ</b>"), "Жауап А"]
    assert out[ui.tab.vote_btn]["interactive"] is True and out[ui.tab.status] == t("battle_restored", "ru")
    assert out[ui.tab.content] == {"__type__": "update", "value": None, "interactive": True}  # open, nothing chosen
    voted = _vote(ui, out[ui.tab.state], content="left", language="left")
    assert voted[ui.tab.state]["battle"]["state"] == "voted"
    assert [v.winner for v in _votes(ui.url)] == ["model_b"]
    # voted: nothing waits any more; nor for another annotator, nor for a page with nobody logged in
    for st in (state, other, new_state()):
        assert run(ui.tab.resume(st, "kk")) == [{ui.tab.status: gr.update()}]


def test_another_turn_clears_a_choice_made_before_it(ui):
    me, state = _person(ui.url, "arman")
    state = _with_battle(state, ready_battle(ui.url, me))

    async def first_output():
        gen = ui.tab.more_turn("Тағы бір сұрақ", state, [], [], "kk")
        try:
            return await anext(gen)
        finally:
            await gen.aclose()

    out = asyncio.run(first_output())
    locked_empty = {"__type__": "update", "value": None, "interactive": False}
    assert out[ui.tab.content] == locked_empty and out[ui.tab.language] == locked_empty
    assert out[ui.tab.both_bad] == {**locked_empty, "value": False}
    assert out[ui.tab.overall] == {**locked_empty, "visible": False}
    assert out[ui.tab.vote_btn]["interactive"] is False and out[ui.tab.more] == ""


# ------------------------------------------------------------ admin
def test_admin_sees_flags_with_evidence_bans_with_a_reason_unbans_and_clears(ui):
    _, admin = _person(ui.url, "boss", role="admin")
    biased, leftie = _person(ui.url, "leftie")
    for _ in range(20):  # always the left answer: a side-bias flag (p = 2 * 0.5**20)
        cast(ui.url, biased, "left")
    panel = ui.tab.admin
    not_admin = asyncio.run(panel.listing(leftie, "en"))
    assert not_admin[1] == t("admin_only", "en")
    table, notice = asyncio.run(panel.listing(admin, "en"))
    row = table[table["id"] == biased].iloc[0]
    assert row[t("col_votes", "en")] == 20 and row[t("col_banned", "en")] == "no"
    assert "side_bias" in row[t("col_flags", "en")] and "left_share=1" in row[t("col_flags", "en")]
    ban = panel._action("ban")
    assert asyncio.run(ban(biased, "  ", admin, "ru"))[1] == t("err_reason_required", "ru")
    assert asyncio.run(ban(999, "спам", admin, "en"))[1] == t("err_not_found", "en")
    assert asyncio.run(ban(biased, "always left", leftie, "en"))[1] == t("admin_only", "en")
    table, notice = asyncio.run(ban(biased, "always left", admin, "en"))
    assert notice == t("admin_done", "en", id=biased)
    assert table[table["id"] == biased].iloc[0][t("col_banned", "en")] == "yes: always left"
    with session_scope(ui.url) as s:
        assert s.get(Annotator, biased).banned and list(voted_battle_rows(session=s)) == []  # out of the statistics
        assert len(list(voted_battle_rows(session=s, include_banned=True))) == 20  # but kept
    refused = asyncio.run(ui.tab.account.login("leftie", PASSWORD, "en"))
    assert refused[ui.tab.account.notice] == t("err_banned", "en", reason="always left")
    asyncio.run(panel._action("unban")(biased, "", admin, "en"))
    table, _ = asyncio.run(panel._action("clear")(biased, "", admin, "en"))
    assert table[table["id"] == biased].iloc[0][t("col_cleared", "en")] == "yes"
    with session_scope(ui.url) as s:
        assert not s.get(Annotator, biased).banned
        assert flag_reviews.cleared_annotators(session=s) == {str(biased)}
    table, _ = asyncio.run(panel._action("clear")(biased, "looked at the votes: fine", admin, "en"))
    assert table[table["id"] == biased].iloc[0][t("col_cleared", "en")] == "yes: looked at the votes: fine"
    assert asyncio.run(panel._action("reopen")(biased, "", leftie, "en"))[1] == t("admin_only", "en")
    assert asyncio.run(panel._action("clear")(999, "", admin, "en"))[1] == t("err_not_found", "en")
    table, _ = asyncio.run(panel._action("reopen")(biased, "", admin, "en"))
    assert table[table["id"] == biased].iloc[0][t("col_cleared", "en")] == "no"
    with session_scope(ui.url) as s:
        assert flag_reviews.cleared_annotators(session=s) == frozenset()
        boss = s.scalar(select(Annotator).where(Annotator.username == "boss"))
        reviews = s.scalars(select(AnnotatorFlagReview).order_by(AnnotatorFlagReview.id)).all()
        assert [(r.annotator_id, r.decision, r.admin_id) for r in reviews] == [
            (biased, "cleared", boss.id), (biased, "cleared", boss.id), (biased, "reopened", boss.id)]


# ------------------------------------------------------------ a real battle
@pytest.mark.vllm
def test_a_streamed_battle_enables_the_vote_only_when_both_answers_are_complete(vllm, sqlite_url):
    with small_arena(vllm, sqlite_url) as app:
        tab = _tab(app)
        annotator(sqlite_url, "marat")
        state = asyncio.run(tab.account.login("marat", PASSWORD, "kk"))[tab.state]
        outputs = run(tab.start("prompt", "<b>Астана</b> туралы бір сөйлем жаз.", state, "kk"))
        streaming, final = outputs[1], outputs[-1]
        assert streaming[tab.vote_btn]["interactive"] is False and streaming[tab.status] == t("answers_streaming", "kk")
        assert streaming[tab.left][0]["content"] == plain_markdown("<b>Астана</b> туралы бір сөйлем жаз.")
        growing = [o for o in outputs[2:-1] if tab.left in o]
        assert len(growing) >= 4  # tokens arrive one by one on both sides
        assert all(o.get(tab.vote_btn, {}).get("interactive") is not True for o in outputs[:-1])
        assert final[tab.vote_btn]["interactive"] is True and final[tab.more_row]["visible"]
        left, right = final[tab.left][-1]["content"], final[tab.right][-1]["content"]
        state = final[tab.state]
        with session_scope(sqlite_url) as s:
            battle = s.get(Battle, state["battle"]["id"])
            shown_left = battle.conversation_a if battle.position == "a" else battle.conversation_b
            assert battle.state == "ready" and shown_left[-1]["content"] == left and left and right
        shown = run(tab.start("prompt", "Тағы бір сұрақ", state, "kk"))[-1]
        second = shown[tab.state]
        assert second["key"] != state["key"] and second["battle"]["id"] != state["battle"]["id"]  # a fresh ballot
        more = run(tab.more_turn("Тағы бір сөйлем.", second, shown[tab.left], shown[tab.right], "kk"))
        assert more[-1][tab.vote_btn]["interactive"] is True and len(more[-1][tab.left]) == 4
        out = asyncio.run(tab.vote("left", "left", None, False, "", more[-1][tab.state], "kk"))
        reveal = out[tab.reveal]["value"]
        assert plain_markdown("(kk-short)") in reveal and plain_markdown("(kk-polite)") in reveal
        with session_scope(sqlite_url) as s:
            assert s.get(Battle, second["battle"]["id"]).turn == 2
            assert s.get(Battle, state["battle"]["id"]).state == "abandoned"
        task = run(tab.start("continuation", "", out[tab.state], "kk"))[-1]  # a dialogue task: one turn only
        assert "2\\-адам" in task[tab.left][0]["content"] and task[tab.state]["battle"]["mode"] == "continuation"
        assert task[tab.vote_btn]["interactive"] is True and task[tab.more_row]["visible"] is False


async def _first(gen, n: int) -> list:
    """The first `n` outputs of a streaming handler, then the page goes away (a reload)."""
    out = []
    try:
        async for item in gen:
            out.append(dict(item))
            if len(out) == n:
                break
    finally:
        await gen.aclose()
    return out


@pytest.mark.vllm
def test_a_reload_mid_stream_follows_the_same_turn_and_stop_opens_the_ballot_on_what_was_written(vllm, sqlite_url):
    with small_arena(vllm, sqlite_url, max_tokens=400, min_tokens=400) as app:
        tab = _tab(app)
        annotator(sqlite_url, "aruzhan")
        state = asyncio.run(tab.account.login("aruzhan", PASSWORD, "kk"))[tab.state]

        async def reload_then_stop():
            before = await _first(tab.start("prompt", "Қазақстанның тарихы туралы ұзақ жаз.", state, "kk"), 5)
            after, stopped = [], None
            async for item in tab.resume(state, "kk"):  # the reloaded page, with only the login kept
                after.append(dict(item))
                if len(after) == 3:
                    stopped = await tab.stop(after[0][tab.state], "kk")
            return before, after, stopped

        before, after, stopped = asyncio.run(reload_then_stop())
        head, last = after[0], after[-1]
        assert head[tab.status] == t("battle_following", "kk") and head[tab.vote_btn]["interactive"] is False
        assert head[tab.content]["interactive"] is False and head[tab.vote_notice] == t("vote_wait", "kk")
        assert head[tab.left][0]["content"] == plain_markdown("Қазақстанның тарихы туралы ұзақ жаз.")
        assert stopped == {tab.stop_btn: gr.update(interactive=False)}
        assert last[tab.status] == t("answers_stopped", "kk") and last[tab.vote_btn]["interactive"] is True
        assert last[tab.content]["interactive"] is True and not last[tab.stop_btn]["visible"]
        assert "тоқтатылды" in last[tab.progress]  # at least one side was cut where it was
        with session_scope(sqlite_url) as s:
            b = s.scalars(select(Battle)).one()
            stored = b.conversation_a if b.position == "a" else b.conversation_b
        assert b.state == "ready" and stored[-1]["content"] == last[tab.left][-1]["content"]
        streamed_before = [o[tab.left][-1]["content"] for o in before if tab.left in o]
        assert streamed_before and last[tab.left][-1]["content"].startswith(streamed_before[-1])  # the same turn, continued
        voted = asyncio.run(tab.vote("left", "left", None, False, "", last[tab.state], "kk"))
        assert voted[tab.state]["battle"]["state"] == "voted"


@pytest.mark.vllm
def test_a_turn_cut_off_by_a_shutdown_is_said_once_after_the_restart(vllm, sqlite_url):
    with small_arena(vllm, sqlite_url, max_tokens=400, min_tokens=400) as app:
        tab = _tab(app)
        annotator(sqlite_url, "nurlan")
        state = asyncio.run(tab.account.login("nurlan", PASSWORD, "kk"))[tab.state]

        async def cut_off():
            await _first(tab.start("prompt", "Абай туралы ұзақ жаз.", state, "kk"), 4)
            await app.state.runtime.live_turns.cancel_all()  # what the app's shutdown does

        asyncio.run(cut_off())
        with session_scope(sqlite_url) as s:
            b = s.scalars(select(Battle)).one()
            assert b.state == "error" and "interrupted" in [e["type"] for e in b.events]
        assert run(tab.resume(state, "ru")) == [{tab.status: t("battle_interrupted", "ru")}]
        assert run(tab.resume(state, "ru")) == [{tab.status: gr.update()}]  # told once
