"""A citizen in a real browser (Debian Chromium via Playwright) against the live app and the
real packaged model: Kazakh UI, a streamed grounded answer, thumbs up stored, English UI.

Screenshots of every step go to test-artifacts/browser/ for the test report.
"""


import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from app.main import create_app
from app.settings import PROJECT_ROOT
from app.ui.i18n import t
from db.models import Message
from db.session import session_scope
from tests.conftest import TEST_MODEL, make_settings
from tests.utils.chat import GovsetGrounder, extra_contestants
from tests.utils.servers import AppServer
from tests.utils.wait import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.vllm]

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Зейнетақыны рәсімдеу үшін қандай құжаттар керек?"
MODEL = {"name": "browser-small", "display_name": "Qwen2.5-Coder-0.5B (24 tokens)", "params": "0.5B",
         "server": TEST_MODEL, "sampling": {"temperature": 0.0, "max_tokens": 24}}
MODEL_LABEL = "Qwen2.5-Coder-0.5B (24 tokens) · 0.5B · instruct"

# Records every text the newest answer bubble shows, so the test can see it grow token by token.
WATCH_ANSWER = """() => {
  window.__answerTexts = [];
  const root = document.querySelector('#chat-history');
  new MutationObserver(() => {
    const bots = root.querySelectorAll('[data-testid="bot"]');
    if (bots.length) window.__answerTexts.push(bots[bots.length - 1].innerText);
  }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def live(vllm, tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'kazarena.db'}"
    with extra_contestants(vllm.manager, [MODEL]):
        app = create_app(make_settings(db, ui_enabled=True), manager=vllm.manager, grounder=GovsetGrounder())
        with AppServer(app) as server:
            server.db = db
            yield server


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _answers(db: str) -> list[Message]:
    with session_scope(db) as s:
        return list(s.scalars(select(Message).where(Message.role == "assistant").order_by(Message.id)))


def _wait_for(condition, timeout: float = 15.0):  # noqa: ANN001, ANN202
    return wait_until(condition, timeout=timeout, interval=0.2)


def test_citizen_asks_in_kazakh_rates_the_answer_and_switches_to_english(live):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            # Gradio's own button titles (Like, Copy) follow the browser locale; ours follow the selector
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="en-US")
            page.goto(f"{live.url}/ui/", wait_until="load")

            # 1. the interface opens in Kazakh; the Chat tab (second, after the Arena) has the egov.kz note
            page.locator("button[role=tab]", has_text=t("tab_chat", "kk")).click(timeout=30_000)
            expect(page.locator("#chat-send")).to_have_text(t("send", "kk"), timeout=30_000)
            expect(page.locator("#egov-note")).to_contain_text("egov.kz")
            expect(page.locator("button[role=tab]").nth(1)).to_have_text(t("tab_chat", "kk"))
            expect(page.get_by_text(t("input", "kk"), exact=True)).to_be_visible()
            _shot(page, "01-kazakh-ui")

            # 2. pick the small model, ask a Kazakh question, watch the answer stream in
            page.click("#chat-model input")
            page.get_by_role("option", name=MODEL_LABEL).click()
            expect(page.locator("#chat-model input")).to_have_value(MODEL_LABEL)
            page.evaluate(WATCH_ANSWER)
            page.fill("#chat-input textarea", QUESTION)
            page.click("#chat-send")
            answer = page.locator('#chat-history [data-testid="bot"]').last
            expect(answer).to_contain_text(t("sources", "kk"), timeout=60_000)  # sources come with the end
            expect(page.locator('#chat-history [data-testid="user"]')).to_have_text(QUESTION)
            _shot(page, "02-streamed-answer-with-sources")

            stored = _wait_for(lambda: _answers(live.db))
            assert len(stored) == 1 and stored[0].content.strip() and stored[0].sources
            assert stored[0].model == "browser-small" and stored[0].language
            texts = [x for x in page.evaluate("window.__answerTexts") if x.strip()]
            partial = {x for x in texts if t("sources", "kk") not in x}
            assert len(partial) >= 2, texts  # at least two growing pieces before the final answer
            first_source = stored[0].sources[0]
            expect(answer.get_by_role("link", name=first_source["title"])).to_have_attribute(
                "href", first_source["source_url"])

            # 3. thumbs up is stored on the answer's row
            page.locator('#chat-history button[aria-label="Like"]').last.click()
            expect(page.locator("#chat-notice")).to_contain_text(t("thanks_up", "kk"))
            assert _wait_for(lambda: _answers(live.db)[0].feedback == 1)
            page.fill("#chat-reason textarea", "Дереккөзі бар, пайдалы")
            page.click("#chat-reason-send")
            expect(page.locator("#chat-notice")).to_contain_text(t("thanks_reason", "kk"))
            assert _wait_for(lambda: _answers(live.db)[0].feedback_reason == "Дереккөзі бар, пайдалы")
            _shot(page, "03-thumbs-up-stored")

            # 4. the interface switches to English and keeps the conversation
            page.locator("#ui-language").get_by_text("English").click()
            expect(page.locator("#chat-send")).to_have_text(t("send", "en"))
            expect(page.locator("#chat-clear")).to_have_text(t("clear", "en"))
            expect(page.get_by_text(t("input", "en"), exact=True)).to_be_visible()
            expect(page.locator("#egov-note")).to_contain_text("Always check any information")
            expect(page.locator("button[role=tab]")).to_have_text(
                [t(k, "en") for k in ("tab_arena", "tab_chat", "tab_leaderboard", "tab_results", "tab_about")])
            expect(answer).to_contain_text(t("sources", "kk"))  # the answer is still there
            expect(page.locator("#chat-notice")).not_to_contain_text(t("thanks_reason", "kk"))
            page.click("#chat-send")  # an empty message is refused, in the new language
            expect(page.locator("#chat-notice")).to_have_text(t("error_empty_message", "en"))
            _shot(page, "04-english-ui")

            # 5. the About tab, in English, labels the model honestly
            page.locator("button[role=tab]", has_text=t("tab_about", "en")).click()
            about = page.locator("#about-body")
            expect(about).to_contain_text("Qwen2.5-Coder-0.5B (24 tokens)")
            expect(about).to_contain_text(t("stand_in_note", "en")[:40])
            _shot(page, "05-about-english")

            # 6. clearing starts a new, empty conversation (the stored one stays for research)
            page.locator("button[role=tab]", has_text=t("tab_chat", "en")).click()
            page.click("#chat-clear")
            expect(page.locator('#chat-history [data-testid="bot"]')).to_have_count(0)
            assert len(_answers(live.db)) == 1
            _shot(page, "06-cleared")
        finally:
            browser.close()
