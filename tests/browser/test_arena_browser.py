"""An annotator and an admin in a real browser (Debian Chromium via Playwright) against the live app, with
two small contestants on the real vLLM server: register, log in, a streamed battle, a refused early vote,
a reload that brings the battle back, the vote and the reveal, a new round, a ban, and the leaderboard after Refresh;
then long answers: a draft kept over a reload, a reload mid-stream that follows the same turn, and Stop.

Screenshots of every step go to test-artifacts/browser/arena-*.png for the test report.
"""

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from app.settings import PROJECT_ROOT
from app.ui.i18n import t
from db.models import Annotator, Battle, Vote
from db.session import session_scope
from tests.ui.arena_helpers import small_arena
from tests.utils.arena import annotator
from tests.utils.servers import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.vllm]

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROMPT = "<b>Астана</b> туралы бір сөйлем жаз."
COMMENT = "<script>alert(1)</script> Екеуі де қысқа"
PASSWORD = "құпия-сөз-123"  # the factories' password, also used for the registration here

# Records (left text, right text) at every change of either answer, to see both grow at the same time.
WATCH_ANSWERS = """() => {
  window.__pairs = [];
  const last = (id) => { const b = document.querySelectorAll(`#${id} [data-testid="bot"]`);
                         return b.length ? b[b.length - 1].innerText : ""; };
  const watch = () => window.__pairs.push([last("arena-left"), last("arena-right")]);
  for (const id of ["arena-left", "arena-right"])
    new MutationObserver(watch).observe(document.getElementById(id), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def live(vllm, tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('arena-browser') / 'kazarena.db'}"
    with small_arena(vllm, db, max_tokens=16) as app, AppServer(app) as server:
        server.db = db
        yield server


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"arena-{name}.png"), full_page=True)


def _radio(page: Page, elem_id: str, label: str) -> None:
    page.locator(f"#{elem_id}").get_by_text(label, exact=True).click()


def _one(db: str, model, **where):  # noqa: ANN001, ANN202
    with session_scope(db) as s:
        return s.scalars(select(model).filter_by(**where)).first()


def _log_in(page: Page, username: str) -> None:
    page.fill("#login-username input", username)
    page.fill("#login-password input", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#arena-user")).to_contain_text(username, timeout=30_000)


def test_annotator_registers_battles_votes_and_an_admin_bans_and_sees_the_leaderboard(live):
    spammer, _ = annotator(live.db, "spammer")
    annotator(live.db, "boss", role="admin")
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-US")
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{live.url}/ui/", wait_until="load")

            # 1. the Arena tab opens first, in Kazakh, asking to log in or register
            tabs = page.locator("button[role=tab]")
            expect(tabs).to_have_text([t(k, "kk") for k in ("tab_arena", "tab_chat", "tab_leaderboard", "tab_results",
                                                            "tab_about")], timeout=30_000)
            expect(page.locator("#login-submit")).to_have_text(t("login_btn", "kk"))
            expect(page.locator("#arena-play")).to_be_hidden()
            _shot(page, "01-login-or-register")

            # 2. registration is open first, shows its rules and the consent notice, names every problem at
            #    once, and logs the newcomer in
            expect(page.locator("#reg-rules")).to_have_text(t("register_rules", "kk"))
            expect(page.locator("#reg-consent-text")).to_contain_text("CC BY 4.0")
            page.fill("#reg-username input", "a b")
            page.fill("#reg-password input", "short")
            page.click("#reg-submit")
            notice = page.locator("#arena-notice")
            for code in ("invalid_username", "invalid_password", "invalid_proficiency", "consent_required"):
                expect(notice).to_contain_text(t(f"err_{code}", "kk"), timeout=30_000)
            box = notice.bounding_box()  # the refusal is where the eye is, not off-screen
            assert box is not None and 0 <= box["y"] < page.viewport_size["height"], box
            page.fill("#reg-username input", "aigerim")
            page.fill("#reg-password input", PASSWORD)
            _radio(page, "reg-proficiency", t("prof_native", "kk"))
            page.fill("#reg-region input", "Алматы")
            page.locator("#reg-consent input").check()
            page.locator("#reg-age input").check()
            page.click("#reg-submit")
            expect(notice).to_contain_text(t("registered", "kk", name="aigerim"), timeout=30_000)
            _shot(page, "02-registered")

            # 3. logged in without typing the password again: the play area appears
            expect(page.locator("#arena-user")).to_contain_text("aigerim", timeout=30_000)
            expect(page.locator("#arena-play")).to_be_visible()
            expect(page.locator("#admin-box")).to_be_hidden()
            _shot(page, "03-logged-in")

            # 4. a battle: both answers stream side by side; voting stays closed until both are complete
            page.evaluate(WATCH_ANSWERS)
            page.fill("#arena-prompt textarea", PROMPT)
            page.click("#arena-start")
            expect(page.locator("#arena-status")).to_have_text(t("answers_streaming", "kk"), timeout=30_000)
            expect(page.locator("#vote-submit")).to_be_disabled()
            page.locator("#vote-content").get_by_text(t("choice_left", "kk"), exact=True).click()
            page.locator("#vote-submit").click(force=True)  # an early click on the closed button does nothing
            expect(page.locator('#arena-left [data-testid="user"]')).to_have_text(PROMPT)  # the HTML shown as text
            _shot(page, "04-streaming")
            expect(page.locator("#arena-status")).to_have_text(t("answers_ready", "kk"), timeout=120_000)
            expect(page.locator("#vote-submit")).to_be_enabled()
            assert _one(live.db, Vote) is None
            left = page.locator('#arena-left [data-testid="bot"]').last.inner_text()
            right = page.locator('#arena-right [data-testid="bot"]').last.inner_text()
            pairs = page.evaluate("window.__pairs")
            assert left.strip() and right.strip()
            assert any(0 < len(a) < len(left) and b for a, b in pairs) or any(0 < len(b) < len(right) and a for a, b in pairs), pairs
            expect(page.locator("#arena-more-row")).to_be_visible()  # prompt mode may continue before the vote
            _shot(page, "05-answers-complete")

            # 4b. a reload before the vote: the login and the battle come back as they were, ready to vote
            page.reload(wait_until="load")
            expect(page.locator("#arena-status")).to_have_text(t("battle_restored", "kk"), timeout=30_000)
            expect(page.locator('#arena-left [data-testid="bot"]').last).to_have_text(left)
            expect(page.locator('#arena-right [data-testid="bot"]').last).to_have_text(right)
            expect(page.locator('#arena-left [data-testid="user"]')).to_have_text(PROMPT)
            expect(page.locator("#arena-left")).to_be_in_viewport()
            expect(page.locator("#vote-submit")).to_be_enabled()
            _shot(page, "05b-battle-back-after-reload")
            _radio(page, "vote-content", t("choice_left", "kk"))

            # 5. content and language disagree, so the overall choice appears; vote with a script in the comment
            _radio(page, "vote-language", t("choice_right", "kk"))
            expect(page.locator("#vote-overall")).to_be_visible()
            page.click("#vote-submit")  # without the overall choice: refused, and told beside the button
            notice = page.locator("#vote-notice")
            expect(notice).to_have_text(t("err_overall_required", "kk"), timeout=30_000)
            expect(notice).to_be_in_viewport()
            _radio(page, "vote-overall", t("choice_left", "kk"))
            page.fill("#vote-comment textarea", COMMENT)
            page.click("#vote-submit")
            reveal = page.locator("#arena-reveal")
            expect(reveal).to_contain_text("kk-short", timeout=30_000)
            expect(reveal).to_contain_text("kk-polite")
            expect(reveal).to_contain_text(COMMENT)  # shown as text, never run
            assert dialogs == []
            battle = _one(live.db, Battle, state="voted")
            vote = _one(live.db, Vote, battle_id=battle.id)
            assert vote.comment == COMMENT and vote.decided_by == "overall"
            assert vote.winner == ("model_a" if battle.position == "a" else "model_b")  # "left" won overall
            shown_left = battle.model_a if battle.position == "a" else battle.model_b
            expect(reveal).to_contain_text(f"({shown_left}). ")
            expect(page.locator("#arena-vote")).to_be_hidden()
            _shot(page, "06-vote-revealed")

            # 6. a new round: empty answers, a closed ballot
            page.click("#arena-new-round")
            expect(page.locator('#arena-left [data-testid="bot"]')).to_have_count(0)
            expect(page.locator("#vote-submit")).to_be_disabled()
            expect(page.locator("#arena-reveal")).to_be_hidden()
            _shot(page, "07-new-round")

            # 7. an admin logs in, sees the annotators, and bans one with a reason
            page.click("#logout")
            expect(page.locator("#arena-notice")).to_have_text(t("logged_out", "kk"), timeout=30_000)
            _log_in(page, "boss")
            admin = page.locator("#admin-box")
            expect(admin).to_be_visible()
            expect(page.locator("#admin-table")).to_contain_text("aigerim", timeout=30_000)
            page.fill("#admin-id input", str(spammer))
            page.fill("#admin-reason input", "жарнама жібереді")
            page.click("#admin-ban")
            expect(page.locator("#admin-notice")).to_have_text(t("admin_done", "kk", id=spammer), timeout=30_000)
            expect(page.locator("#admin-table")).to_contain_text("иә: жарнама жібереді")
            assert _one(live.db, Annotator, username="spammer").banned
            _shot(page, "08-admin-ban")

            # 8. opening the leaderboard shows the two voted models at once (no Refresh), with the head-to-head
            tabs.filter(has_text=t("tab_leaderboard", "kk")).click()
            table = page.locator("#lb-table")
            expect(table).to_contain_text("Qwen2.5-Coder-0.5B, brief · 0.5B · instruct (kk-short)", timeout=60_000)
            expect(table).to_contain_text("Qwen2.5-Coder-0.5B, polite · 0.5B · instruct (kk-polite)")
            expect(page.locator("#lb-two")).to_contain_text(t("lb_two_heading", "kk"))
            expect(page.locator("#lb-chart img")).to_be_visible()
            _shot(page, "09-leaderboard")

            # 9. the whole interface switches to English, the leaderboard included
            assert page.evaluate("document.documentElement.lang") == "kk"
            page.locator("#ui-language").get_by_text("English").click()
            expect(tabs).to_have_text(["Arena", "Chat", "Leaderboard", "Results", "About"])
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("#lb-refresh")).to_have_text(t("lb_refresh", "en"))
            expect(table).to_contain_text(t("lb_col_rating", "en"), timeout=30_000)
            _shot(page, "10-leaderboard-english")
        finally:
            browser.close()


@pytest.fixture(scope="module")
def long_live(vllm, tmp_path_factory):
    """Answers of 600 tokens that cannot end early: long enough, on any machine, to reload the page and stop them."""
    db = f"sqlite:///{tmp_path_factory.mktemp('arena-browser-long') / 'kazarena.db'}"
    with small_arena(vllm, db, max_tokens=600, min_tokens=600) as app, AppServer(app) as server:
        server.db = db
        yield server


def test_a_reload_mid_stream_keeps_the_draft_and_the_answers_and_stop_opens_the_ballot(long_live):
    annotator(long_live.db, "dana")
    draft = "Қазақстанның тарихы туралы ұзақ әңгімелеп бер."
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="kk-KZ")
            page.goto(f"{long_live.url}/ui/", wait_until="load")
            _log_in(page, "dana")

            # a draft typed but not sent survives a reload
            page.fill("#arena-prompt textarea", draft)
            page.reload(wait_until="load")
            expect(page.locator("#arena-user")).to_contain_text("dana", timeout=30_000)
            expect(page.locator("#arena-prompt textarea")).to_have_value(draft, timeout=30_000)

            # while both write: each side's progress, a locked ballot, and why, beside the Vote button
            page.click("#arena-start")
            progress = page.locator("#arena-progress")
            expect(progress).to_contain_text("әлі жазып жатыр", timeout=60_000)
            expect(page.locator("#vote-content input").first).to_be_disabled()
            expect(page.locator("#vote-notice")).to_have_text(t("vote_wait", "kk"))
            expect(page.locator("#arena-stop")).to_be_visible()
            expect(page.locator('#arena-left [data-testid="bot"]').last).not_to_be_empty(timeout=60_000)
            before = page.locator('#arena-left [data-testid="bot"]').last.inner_text()
            _shot(page, "11-long-answers-streaming")

            # the reload mid-stream: the same turn comes back and keeps growing
            page.reload(wait_until="load")
            expect(page.locator("#arena-status")).to_have_text(t("battle_following", "kk"), timeout=30_000)
            expect(page.locator("#arena-prompt textarea")).to_have_value("")  # the draft was sent: gone
            left = page.locator('#arena-left [data-testid="bot"]').last
            expect(left).to_contain_text(before.strip()[:20], timeout=30_000)
            page.wait_for_function("(n) => { const b = document.querySelectorAll('#arena-left [data-testid=\"bot\"]');"
                                   " return b.length && b[b.length - 1].innerText.length > n; }", arg=len(before),
                                   timeout=60_000)
            _shot(page, "12-answers-back-after-reload")

            # Stop: both answers end where they are; the ballot opens on what was written
            page.click("#arena-stop")
            expect(page.locator("#arena-status")).to_have_text(t("answers_stopped", "kk"), timeout=60_000)
            expect(progress).to_contain_text("тоқтатылды")
            expect(page.locator("#arena-stop")).to_be_hidden()
            expect(page.locator("#vote-submit")).to_be_enabled()
            expect(page.locator("#vote-content input").first).to_be_enabled()
            _shot(page, "13-stopped")
            battle = _one(long_live.db, Battle, state="ready")
            stored = battle.conversation_a if battle.position == "a" else battle.conversation_b
            assert any(e["type"] == "stopped" for e in battle.events)
            assert stored[-1]["content"].strip()  # what was written before the stop is kept
            _radio(page, "vote-content", t("choice_left", "kk"))
            _radio(page, "vote-language", t("choice_left", "kk"))
            page.click("#vote-submit")
            expect(page.locator("#arena-reveal")).to_contain_text("kk-", timeout=30_000)
            assert _one(long_live.db, Vote, battle_id=battle.id) is not None
        finally:
            browser.close()
