"""Guessing a password costs time: backoff per username and per IP, the same through REST and the UI,
and an unknown username takes as long to refuse as a known one."""

import asyncio
import statistics
import time

import gradio as gr
from fastapi.testclient import TestClient

from app.services.throttle import LoginThrottle
from app.ui.arena import ArenaTab
from app.ui.i18n import t
from tests.api.test_arena_votes import _app
from tests.ui.arena_helpers import offline_app
from tests.utils.arena import annotator

PASSWORD = "құпия-сөз-123"


def test_backoff_doubles_after_the_free_tries_then_locks_and_a_success_clears_it() -> None:
    throttle = LoginThrottle(free_per_user=3, free_per_ip=100, base_s=1.0, lockout_s=8.0)
    for _ in range(3):
        assert throttle.wait("aigerim", "10.0.0.1") == 0
        throttle.failed("aigerim", "10.0.0.1")
    waits = []
    for _ in range(5):
        waits.append(round(throttle.wait("aigerim", "10.0.0.2")))
        throttle.failed("aigerim", "10.0.0.2")
    assert waits == [1, 2, 4, 8, 8]  # doubling, then the lockout cap; another IP does not help
    assert throttle.wait("someone-else", "10.0.0.2") == 0  # per username, the IP allowance is looser
    throttle.succeeded("aigerim")
    assert throttle.wait("aigerim", "10.0.0.1") == 0


def test_rest_logins_back_off_with_retry_after_and_the_right_password_waits_too(sqlite_url) -> None:
    annotator(sqlite_url, "aigerim")
    name = "aigerim"
    with TestClient(_app(sqlite_url)) as c:
        codes = [c.post("/api/arena/login", json={"username": name, "password": "wrong-pass"}).status_code
                 for _ in range(6)]
        assert codes == [401] * 5 + [429]
        locked = c.post("/api/arena/login", json={"username": name, "password": PASSWORD})
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "login_throttled"
        assert int(locked.headers["Retry-After"]) >= 1


def test_the_gradio_login_backs_off_the_same_way(sqlite_url) -> None:
    app = offline_app(sqlite_url)
    with gr.Blocks():
        tab = ArenaTab(app.state.runtime, "en")
    annotator(sqlite_url, "erlan")
    notices = [asyncio.run(tab.account.login("erlan", "wrong-pass", "en"))[tab.account.notice] for _ in range(6)]
    assert notices[:5] == [t("err_bad_credentials", "en")] * 5
    assert notices[5].startswith("Too many failed logins")


def test_an_unknown_username_costs_as_much_as_a_known_one(sqlite_url) -> None:
    annotator(sqlite_url, "known")
    app = _app(sqlite_url)
    app.state.runtime.login_throttle.free_per_user = app.state.runtime.login_throttle.free_per_ip = 10**6
    with TestClient(app) as c:
        def timed(name: str) -> float:
            start = time.perf_counter()
            assert c.post("/api/arena/login", json={"username": name, "password": "wrong-pass"}).status_code == 401
            return time.perf_counter() - start
        known = statistics.median(timed("known") for _ in range(7))
        unknown = statistics.median(timed("nobody-here") for _ in range(7))
    assert 0.5 < unknown / known < 2.0, (known, unknown)  # before: 0.09 s vs 0.3-1.4 s
