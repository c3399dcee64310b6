"""A researcher in a real browser (Debian Chromium via Playwright) reads stored evaluation results on the
Results tab of the live app: the newest run's scores with intervals, the baseline, the plots, the task
filter, an older run, and the English interface. No model answers here, so no vLLM server is needed.

Screenshots of every step go to test-artifacts/browser/results-*.png for the test report.
"""

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.settings import PROJECT_ROOT
from app.ui.i18n import t
from tests.ui.arena_helpers import offline_app
from tests.utils.eval_results import HISTORY, NEW_RUN, OLD_RUN, store_both_runs
from tests.utils.servers import AppServer

pytestmark = [pytest.mark.browser]

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('results-browser') / 'kazarena.db'}"
    with AppServer(offline_app(db)) as server:  # the app migrates the database as it starts
        store_both_runs(db)
        yield server


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"results-{name}.png"), full_page=True)


def _plot_image(page: Page, elem_id: str):  # noqa: ANN202
    return page.locator(f"#{elem_id} img")


def test_researcher_reads_the_newest_run_filters_by_task_and_opens_an_older_run(live):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="en-US")
            page.goto(f"{live.url}/ui/", wait_until="load")

            # 1. the Results tab, in Kazakh, opens on the newest run
            tabs = page.locator("button[role=tab]")
            expect(tabs).to_have_text([t(k, "kk") for k in ("tab_arena", "tab_chat", "tab_leaderboard", "tab_results",
                                                            "tab_about")], timeout=30_000)
            tabs.filter(has_text=t("tab_results", "kk")).click()
            summary = page.locator("#res-summary")
            expect(summary).to_contain_text(NEW_RUN, timeout=30_000)
            table = page.locator("#res-table")
            for text in ("vanilla", "tuned", "0.412 [0.371, 0.455]", "0.600 [0.300, 0.900]",
                         "majority-class (базалық деңгей)", "0.284"):
                expect(table).to_contain_text(text)
            expect(page.locator("#res-breakdown")).to_contain_text(HISTORY)
            accuracy = _plot_image(page, "res-accuracy")
            expect(accuracy).to_be_visible()
            expect(accuracy).to_have_attribute("src", re.compile(r"^data:image/png;base64,.{1000,}"))  # a drawn chart
            assert accuracy.evaluate("img => img.naturalWidth") > 300
            expect(_plot_image(page, "res-win-rates")).to_be_visible()
            _shot(page, "01-newest-run-kazakh")

            # 2. only generation: no baseline, no accuracy chart, the per-topic win rates stay
            page.locator("#res-task").get_by_text(t("res_task_generation", "kk"), exact=True).click()
            expect(table).not_to_contain_text("majority-class", timeout=30_000)
            expect(table).to_contain_text("0.650 [0.490, 0.780]")
            expect(page.locator("#res-accuracy")).to_be_hidden()
            expect(_plot_image(page, "res-win-rates")).to_be_visible()
            _shot(page, "02-generation-only")

            # 3. the older run (conversation only), chosen from the list of runs, with all tasks again
            page.locator("#res-task").get_by_text(t("res_all_tasks", "kk"), exact=True).click()
            expect(table).to_contain_text("majority-class", timeout=30_000)
            page.click("#res-run input")
            page.get_by_role("option", name=OLD_RUN).click()
            expect(summary).to_contain_text(OLD_RUN, timeout=30_000)
            expect(table).to_contain_text("0.450 [0.300, 0.600]")
            expect(table).not_to_contain_text("vanilla")
            expect(page.locator("#res-accuracy")).to_be_hidden()
            _shot(page, "03-older-run")

            # 4. the interface in English: labels and table headers follow, the chosen run stays
            page.locator("#ui-language").get_by_text("English").click()
            expect(tabs.filter(has_text=t("tab_results", "en"))).to_be_visible(timeout=30_000)
            expect(page.locator("#res-refresh")).to_have_text(t("res_refresh", "en"))
            expect(table).to_contain_text(t("res_col_score", "en"), timeout=30_000)
            expect(summary).to_contain_text(f"Run `{OLD_RUN}`".replace("`", ""))
            _shot(page, "04-english")
        finally:
            browser.close()
