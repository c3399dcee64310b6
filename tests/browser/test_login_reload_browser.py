"""A login survives a page reload in a real browser (Debian Chromium via Playwright) while its session lives:
log in, reload, still logged in (the admin table loads again); log out, reload, logged out; a session that
expired on the server is not restored. No model answers here, so the app's models are unreachable ones.

Screenshots go to test-artifacts/browser/login-*.png for the test report.
"""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import update

from app.settings import PROJECT_ROOT
from app.ui.i18n import t
from db.models import AnnotatorSession
from db.session import session_scope
from tests.ui.arena_helpers import offline_app
from tests.utils.arena import annotator
from tests.utils.servers import AppServer

pytestmark = [pytest.mark.browser]

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "құпия-сөз-123"  # the factories' password


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('login-browser') / 'kazarena.db'}"
    with AppServer(offline_app(db)) as server:
        server.db = db
        yield server


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"login-{name}.png"), full_page=True)


def _log_in(page: Page, username: str) -> None:
    page.fill("#login-username input", username)
    page.fill("#login-password input", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#arena-user")).to_contain_text(username, timeout=30_000)


def _reload(page: Page) -> None:
    page.reload(wait_until="load")
    expect(page.locator("button[role=tab]").first).to_have_text(t("tab_arena", "kk"), timeout=30_000)


def _expect_logged_out(page: Page) -> None:
    expect(page.locator("#login-submit")).to_be_visible(timeout=30_000)
    expect(page.locator("#arena-play")).to_be_hidden()
    expect(page.locator("#arena-user-box")).to_be_hidden()


def test_a_login_survives_a_reload_until_logout_or_expiry(live):
    annotator(live.db, "boss", role="admin")
    annotator(live.db, "aigerim")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            blocked: list[str] = []  # the UI's Content-Security-Policy must not block anything Gradio does
            page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{live.url}/ui/", wait_until="load")
            _reload(page)
            _expect_logged_out(page)

            # 1. an admin logs in and reloads: still logged in, the admin table is there again
            _log_in(page, "boss")
            expect(page.locator("#admin-table")).to_contain_text("aigerim", timeout=30_000)
            _reload(page)
            expect(page.locator("#arena-user")).to_contain_text("boss", timeout=30_000)
            expect(page.locator("#arena-play")).to_be_visible()
            expect(page.locator("#arena-login-box")).to_be_hidden()
            expect(page.locator("#admin-box")).to_be_visible()
            expect(page.locator("#admin-table")).to_contain_text("aigerim", timeout=30_000)
            _shot(page, "01-reloaded-logged-in")

            # 2. log out, reload: logged out, and it stays so
            page.click("#logout")
            expect(page.locator("#arena-notice")).to_have_text(t("logged_out", "kk"), timeout=30_000)
            _reload(page)
            _expect_logged_out(page)
            page.wait_for_timeout(1500)  # the load event has long answered: nothing brought the login back
            _expect_logged_out(page)
            _shot(page, "02-reloaded-logged-out")

            # 3. a session that expires on the server is not restored by a reload
            _log_in(page, "aigerim")
            expect(page.locator("#admin-box")).to_be_hidden()
            with session_scope(live.db) as s:
                s.execute(update(AnnotatorSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            _reload(page)
            _expect_logged_out(page)
            page.wait_for_timeout(1500)
            _expect_logged_out(page)
            expect(page.locator("#arena-notice")).to_be_hidden()  # quietly: no error shown
            _shot(page, "03-expired-not-restored")
            assert blocked == []
        finally:
            browser.close()
