"""The Chat tab's handlers: streaming with history and sources, feedback, clear, and every
error path (bad input in each UI language, a model that is down, one that fails mid-stream)."""

import asyncio
import copy

import gradio as gr
import pytest
from sqlalchemy import select

from app.main import create_app
from app.serving.manager import READY, ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from app.ui.chat import ChatHandlers, new_session, sources_markdown
from app.ui.i18n import t
from db.migrate import upgrade
from db.models import Message
from db.session import session_scope
from tests.conftest import TEST_MODEL, make_settings
from tests.utils.chat import BrokenStreamServer, GovsetGrounder, extra_contestants

PENSION = "Зейнетақыны рәсімдеу үшін қандай құжаттар керек?"


def run(gen) -> list:
    """Every output the handler yields, as the browser would receive it at that moment."""
    async def collect():
        return [copy.deepcopy(item) async for item in gen]  # the handler reuses its history list
    return asyncio.run(collect())


def like(index: int, liked: bool | str) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": "", "liked": liked})


def _rows(db: str, conversation_id: str) -> list[Message]:
    with session_scope(db) as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)))


# ------------------------------------------------------------ without a model
@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'kazarena.db'}"
    upgrade(db)
    with BrokenStreamServer() as broken:
        settings = make_settings(db, max_prompt_chars=50, ui_enabled=True)
        config = ModelsConfig.model_validate({"models": [
            {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
            {"name": "broken", "base_url": f"{broken.url}/v1"}]})
        manager = ModelManager(config, settings)
        manager.servers["broken"].state = READY
        handlers = ChatHandlers(create_app(settings, manager).state.runtime)
        handlers.db = db
        yield handlers


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_bad_input_is_explained_in_the_chosen_language_and_changes_nothing(offline, lang):
    history = [{"role": "user", "content": "бұрынғы"}, {"role": "assistant", "content": "жауап"}]
    state = new_session()
    cases = [("   ", t("error_empty_message", lang)),
             ("ә" * 51, t("error_message_too_long", lang, n=51, limit=50)),
             ("Сәлем", t("error_model_down", lang))]
    for text, expected in cases:
        outputs = run(offline.respond(text, history, state, "down", True, lang))
        assert outputs == [(history, state, text, expected)]  # the typed text stays for editing
    assert run(offline.respond("Сәлем", history, state, None, True, lang))[-1][3] == t("error_no_model", lang)


def test_a_model_failing_mid_stream_keeps_the_history_and_shows_an_error(offline):
    earlier = [{"role": "user", "content": "бұрынғы сұрақ"}, {"role": "assistant", "content": "бұрынғы жауап"}]
    outputs = run(offline.respond("Сәлем", earlier, new_session(), "broken", True, "kk"))
    history, state, box, notice = outputs[-1]
    assert history[:2] == earlier and history[2] == {"role": "user", "content": "Сәлем"}
    assert history[3]["content"].startswith("Сәлем, әлем")  # the partial answer stays visible
    assert history[3]["content"].endswith(f"*{t('error_mid_stream', 'kk')}*") and notice == ""
    assert box == "" and state["message_ids"][-1] is None  # nothing to rate
    # the streamed tokens were shown one by one before the failure
    assert [o[0][-1]["content"] for o in outputs[1:3]] == ["Сәлем", "Сәлем, әлем"]
    rows = _rows(offline.db, state["conversation_id"])
    assert [(r.role, r.content) for r in rows] == [("user", "Сәлем")]
    rated, notice = asyncio.run(offline.rate(state, "en", like(3, True)))
    assert notice == t("cannot_rate", "en") and rated == state


def test_a_reason_before_any_rating_asks_for_a_rating_first(offline):
    assert asyncio.run(offline.send_reason("себебі", new_session(), "ru")) == ("себебі", t("rate_first", "ru"))


def test_sources_are_numbered_with_title_and_link_and_unsafe_links_dropped():
    md = sources_markdown([{"number": 1, "title": "Жеке куәлік [алу]", "source_url": "https://egov.kz/a"},
                           {"title": "Екі", "source_url": "javascript:alert(1)"},
                           {"number": 3, "title": "Үш", "source_url": "https://a.kz/x) [y](z"}], "kk")
    lines = md.splitlines()
    assert lines[0] == "**Дереккөздер:**"
    assert lines[1] == "1. [Жеке куәлік (алу)](https://egov.kz/a) — https://egov.kz/a"
    assert lines[2] == "2. Екі" and "javascript" not in md
    assert lines[3] == "3. [Үш](https://a.kz/x%29%20[y]%28z) — https://a.kz/x%29%20[y]%28z"
    assert sources_markdown([], "kk") == ""


# --------------------------------------------------------------- real model
@pytest.fixture(scope="module")
def live(vllm, tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('ui-live') / 'kazarena.db'}"
    upgrade(db)
    spec = {"name": "ui-small", "server": TEST_MODEL, "sampling": {"temperature": 0.0, "max_tokens": 12}}
    with extra_contestants(vllm.manager, [spec]):
        app = create_app(make_settings(db, ui_enabled=True), manager=vllm.manager, grounder=GovsetGrounder())
        handlers = ChatHandlers(app.state.runtime)
        handlers.db = db
        yield handlers


@pytest.mark.vllm
def test_answers_stream_with_sources_then_feedback_and_a_second_turn_are_stored(live):
    outputs = run(live.respond(PENSION, [], new_session(), "ui-small", True, "kk"))
    shown = [o[0][-1]["content"] for o in outputs[1:-1]]
    assert len(shown) >= 3 and all(len(a) <= len(b) for a, b in zip(shown, shown[1:], strict=False))
    history, state, box, notice = outputs[-1]
    assert box == "" and notice == t("rate_hint", "kk")
    answer = _rows(live.db, state["conversation_id"])[-1]
    assert history[1]["content"].startswith(answer.content)
    assert sources_markdown(answer.sources, "kk") in history[1]["content"] and answer.sources
    assert answer.language and state["message_ids"] == [answer.id - 1, answer.id]

    state, notice = asyncio.run(live.rate(state, "kk", like(1, False)))
    assert notice == t("thanks_down", "kk")
    assert asyncio.run(live.send_reason("Дереккөз дұрыс емес", state, "kk")) == ("", t("thanks_reason", "kk"))
    rated = _rows(live.db, state["conversation_id"])[-1]
    assert (rated.feedback, rated.feedback_reason) == (-1, "Дереккөз дұрыс емес")
    assert asyncio.run(live.rate(state, "kk", like(0, True)))[1] == t("cannot_rate", "kk")  # a question

    outputs = run(live.respond("Рахмет! Тағы не керек?", history, state, "ui-small", False, "kk"))
    history2, state2, _, _ = outputs[-1]
    assert len(history2) == 4 and state2["conversation_id"] == state["conversation_id"]
    assert [r.turn for r in _rows(live.db, state["conversation_id"])] == [1, 1, 2, 2]
    assert t("sources", "kk") not in history2[3]["content"]  # grounding was switched off

    cleared_history, cleared_state, _, _ = live.clear()
    assert cleared_history == [] and cleared_state == new_session()
