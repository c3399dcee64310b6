"""Chat tab: citizens ask about public services and get streamed, grounded answers.

All per-user state lives in a `gr.State` (the anonymous conversation id, the
database id of each shown message, the last rated answer); the handlers call
the same service functions as `/api/chat`.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from app.errors import ServiceError
from app.runtime import Runtime
from app.services import chat
from app.ui.accounts import caller
from app.ui.i18n import EXAMPLE_QUESTIONS, normalize_lang, refusal, t
from db.session import session_scope

log = logging.getLogger(__name__)
CHAT_CONCURRENCY = 64  # streams at once per app; the model servers batch them

History = list[dict[str, Any]]
Outputs = tuple[History, dict[str, Any], str, str]


def new_session() -> dict[str, Any]:
    """Per-browser-session state; a conversation id is drawn at the first question."""
    return {"conversation_id": None, "message_ids": [], "rated": None}


def _safe_url(url: str) -> str:
    """Web links only; characters that would end a Markdown link are percent-encoded."""
    if not url.startswith(("https://", "http://")):
        return ""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def sources_markdown(sources: list[dict[str, Any]], lang: str) -> str:
    """Numbered sources (title and link) shown under an answer; "" when there are none."""
    if not sources:
        return ""
    lines = [f"**{t('sources', lang)}:**"]
    for i, src in enumerate(sources, start=1):
        number = src.get("number", i)
        title = str(src.get("title") or src.get("source_url") or "?").replace("[", "(").replace("]", ")")
        url = _safe_url(str(src.get("source_url") or ""))
        lines.append(f"{number}. [{title}]({url}) — {url}" if url else f"{number}. {title}")
    return "\n".join(lines)


def _answer_content(text: str, answer: chat.Answer, lang: str) -> str:
    parts = [text]
    if answer.sources:
        parts.append(sources_markdown(answer.sources, lang))
    if answer.grounding_unavailable:
        parts.append(f"*{t('grounding_unavailable', lang)}*")
    return "\n\n".join(p for p in parts if p)


class ChatHandlers:
    """The Chat tab's event handlers; per-user state comes in and goes out through gr.State."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime, self.settings = runtime, runtime.settings

    async def respond(self, message: str, history: History | None, state: dict[str, Any],
                      model_name: str | None, ground: bool, lg: str,
                      request: gr.Request | None = None) -> AsyncIterator[Outputs]:
        """Stream one answer: yields (history, state, textbox value, notice)."""
        lg = normalize_lang(lg)
        history = list(history or [])
        if not model_name:
            yield history, state, message, t("error_no_model", lg)
            return
        try:
            turn = await chat.open_turn(self.runtime, conversation_id=state["conversation_id"], model=model_name,
                                        message=message, ip=caller(state, request, self.runtime).ip,
                                        grounding=ground)
        except ServiceError as exc:
            if exc.kind == "unavailable" or exc.code == "model_not_found":
                log.warning("chat: %s", exc)
            yield history, state, message, refusal(exc, lg, self.runtime.limits)
            return
        state = {**state, "conversation_id": turn.conversation_id,
                 "message_ids": [*state["message_ids"], turn.user_message_id, None]}
        history += [{"role": "user", "content": message.strip()}, {"role": "assistant", "content": ""}]
        yield history, state, "", ""
        text = ""
        try:
            async for item in chat.stream_answer(self.runtime, turn):
                if isinstance(item, str):
                    text += item
                    history[-1] = {"role": "assistant", "content": text}
                    yield history, state, "", ""
                else:
                    history[-1] = {"role": "assistant", "content": _answer_content(item.text, item, lg)}
                    state["message_ids"][-1] = item.message_id
                    yield history, state, "", t("rate_hint", lg)
        except Exception as exc:  # noqa: BLE001 - any model failure: keep the history, say so
            log.warning("chat answer failed for model %s: %s", model_name, exc)
            failure = t("error_mid_stream", lg) if text else t("error_model_down", lg)
            history[-1] = {"role": "assistant", "content": f"{text}\n\n*{failure}*".strip()}
            yield history, state, "", ""  # the error is shown in the answer's own bubble

    async def rate(self, state: dict[str, Any], lg: str, like: gr.LikeData) -> tuple[dict[str, Any], str]:
        """Thumbs up/down on a shown answer -> stored on its database row."""
        lg = normalize_lang(lg)
        index = like.index[0] if isinstance(like.index, list | tuple) else like.index
        ids = state["message_ids"]
        message_id = ids[index] if 0 <= index < len(ids) else None
        if like.liked not in (True, False):
            return state, ""  # the thumb was clicked off: keep the stored rating
        if message_id is None or not state["conversation_id"]:
            return state, t("cannot_rate", lg)
        rating = "up" if like.liked else "down"
        try:
            await asyncio.to_thread(self._rate, state["conversation_id"], message_id, rating, None)
        except ServiceError:
            return state, t("cannot_rate", lg)
        return {**state, "rated": [message_id, rating]}, t("thanks_up" if rating == "up" else "thanks_down", lg)

    async def send_reason(self, text: str, state: dict[str, Any], lg: str) -> tuple[str, str]:
        """The optional reason for the last rating: (reason box value, notice)."""
        lg = normalize_lang(lg)
        if not state.get("rated"):
            return text, t("rate_first", lg)
        message_id, rating = state["rated"]
        try:
            await asyncio.to_thread(self._rate, state["conversation_id"], message_id, rating, text)
        except ServiceError as exc:
            return text, t("cannot_rate", lg) if exc.kind == "not_found" else refusal(exc, lg, self.runtime.limits)
        return "", t("thanks_reason", lg)

    def _rate(self, conversation_id: str, message_id: int, rating: chat.Rating, reason: str | None) -> None:
        with session_scope(self.settings.database_url) as s:
            chat.rate_answer(session=s, conversation_id=conversation_id, message_id=message_id, rating=rating,
                             reason=reason, max_reason=self.runtime.limits.reason_chars)

    @staticmethod
    def clear() -> tuple[History, dict[str, Any], str, str]:
        """A new anonymous conversation: (history, state, reason box, notice)."""
        return [], new_session(), "", ""


def build_chat_tab(runtime: Runtime, lang: str) -> list[tuple[Any, Any]]:
    """Render the tab inside the current gr.Tab; return (component, relabel(lang)) pairs."""
    handlers = ChatHandlers(runtime)
    choices = [(spec.label(), name) for name, spec in runtime.manager.contestants.items()]

    egov_note = gr.Markdown(t("egov_note", lang), elem_id="egov-note")
    with gr.Row():
        model = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None,
                            label=t("model", lang), scale=3, elem_id="chat-model")
        grounding = gr.Checkbox(value=True, label=t("grounding", lang), info=t("grounding_info", lang),
                                scale=2, elem_id="chat-grounding")
    chatbot = gr.Chatbot(label=t("chatbot", lang), height=460, elem_id="chat-history",
                         feedback_options=("Like", "Dislike"), buttons=["copy"])
    notice = gr.Markdown("", elem_id="chat-notice")
    with gr.Row():
        question = gr.Textbox(label=t("input", lang), placeholder=t("placeholder", lang), lines=2,
                              scale=5, elem_id="chat-input")
        with gr.Column(scale=1, min_width=140):
            send = gr.Button(t("send", lang), variant="primary", elem_id="chat-send")
            clear = gr.Button(t("clear", lang), elem_id="chat-clear")
    examples = gr.Examples(examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[question], label=t("examples", lang))
    with gr.Row():
        reason = gr.Textbox(label=t("reason", lang), scale=5, max_lines=2, elem_id="chat-reason")
        reason_send = gr.Button(t("reason_send", lang), scale=1, elem_id="chat-reason-send")
    session = gr.State(new_session())
    ui_lang = gr.State(lang)  # kept in step with the language selector by mount_ui

    gr.on(triggers=[send.click, question.submit], fn=handlers.respond,
          inputs=[question, chatbot, session, model, grounding, ui_lang],
          outputs=[chatbot, session, question, notice], concurrency_limit=CHAT_CONCURRENCY,
          api_visibility="private")
    chatbot.like(handlers.rate, inputs=[session, ui_lang], outputs=[session, notice], api_visibility="private")
    reason_send.click(handlers.send_reason, inputs=[reason, session, ui_lang], outputs=[reason, notice],
                      api_visibility="private")
    clear.click(handlers.clear, outputs=[chatbot, session, reason, notice], api_visibility="private")
    # the chatbot's own trash button must start a new conversation too, or ids and messages drift apart
    chatbot.clear(handlers.clear, outputs=[chatbot, session, reason, notice], api_visibility="private")

    return [
        (ui_lang, lambda lg: lg),
        (notice, lambda lg: gr.Markdown("")),  # a notice in the old language would confuse
        (egov_note, lambda lg: gr.Markdown(t("egov_note", lg))),
        (model, lambda lg: gr.Dropdown(label=t("model", lg))),
        (grounding, lambda lg: gr.Checkbox(label=t("grounding", lg), info=t("grounding_info", lg))),
        (chatbot, lambda lg: gr.Chatbot(label=t("chatbot", lg))),
        (question, lambda lg: gr.Textbox(label=t("input", lg), placeholder=t("placeholder", lg))),
        (send, lambda lg: gr.Button(t("send", lg))),
        (clear, lambda lg: gr.Button(t("clear", lg))),
        (examples.dataset, lambda lg: gr.Dataset(label=t("examples", lg))),
        (reason, lambda lg: gr.Textbox(label=t("reason", lg))),
        (reason_send, lambda lg: gr.Button(t("reason_send", lg))),
    ]
