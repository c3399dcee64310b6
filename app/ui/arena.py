"""Arena tab: compare two anonymous answers, streamed side by side, and vote on them.

Model A is always the left answer and Model B the right one. The handlers call
the same services as /api/arena (open_battle, run_turn, add_turn, the vote writer),
handing them the annotator's token; the services admit it. Per-user state (session token, current battle,
the ballot's idempotency key) lives in a `gr.State`, the login's token also in the
browser (a reload restores it); logging in and registering are in app/ui/accounts.py,
moderation in app/ui/admin.py.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from app.errors import ServiceError
from app.runtime import Runtime
from app.services import battles, votes
from app.ui.accounts import AccountPanel, caller
from app.ui.admin import AdminPanel
from app.ui.i18n import normalize_lang, plain_markdown, refusal, t
from arena.protocol import REASONS
from db.models import Battle

log = logging.getLogger(__name__)
ARENA_CONCURRENCY = 64  # battle streams at once per app; the model servers batch them
VOTE_CONCURRENCY = 16
DRAFT_KEY = "kazarena-arena-draft"
Out = dict[Any, Any]


def vote_choices(lg: str) -> list[tuple[str, str]]:
    return [(t("choice_left", lg), "left"), (t("choice_tie", lg), "tie"), (t("choice_right", lg), "right")]


def reason_choices(lg: str) -> list[tuple[str, str]]:
    return [(t(f"reason_{r}", lg), r) for r in REASONS]


def shown(message: dict[str, str]) -> dict[str, str]:
    """A stored message as the Chatbot shows it: what a person typed is text, never markup."""
    content = plain_markdown(message["content"]) if message["role"] == "user" else message["content"]
    return {"role": message["role"], "content": content}


def progress_line(sides: dict[str, dict[str, Any]], lg: str) -> str:
    """Each side's state while answers are written: "A ✓ 212 tokens · B: writing, 312 tokens"."""
    parts = []
    for side, letter in (("left", "A"), ("right", "B")):
        p = sides[side]
        key = ("side_failed" if "error" in p else "side_stopped" if p.get("stopped")
               else ("side_cut" if p.get("finish") == "length" else "side_done") if p.get("done") else "side_writing")
        parts.append(t(key, lg, side=letter, n=p.get("tokens", 0)))
    return " · ".join(parts)


def needs_overall(content: str | None, language: str | None) -> bool:
    """The Basque protocol: an overall choice decides when the dimensions disagree and neither is a tie."""
    return bool(content and language) and content != language and "tie" not in (content, language)


class ArenaTab:
    """Builds the tab's components in the current Blocks context and wires its events."""

    def __init__(self, runtime: Runtime, lang: str) -> None:
        self.runtime, self.settings = runtime, runtime.settings
        self.intro = gr.Markdown(t("arena_intro", lang), elem_id="arena-intro")
        self.account = AccountPanel(runtime, lang)
        self.state, self.ui_lang = self.account.state, self.account.ui_lang
        with gr.Column(visible=False, elem_id="arena-play") as self.play_box:
            with gr.Row():
                self.mode = gr.Radio(self._modes(lang), value="prompt", label=t("mode", lang), scale=1,
                                     elem_id="arena-mode")
                self.prompt = gr.Textbox(label=t("prompt", lang), placeholder=t("prompt_placeholder", lang),
                                         lines=2, scale=3, elem_id="arena-prompt")
            with gr.Row():  # Stop where Start was: the one place the hand goes to start or end a round
                self.start_btn = gr.Button(t("start_btn", lang), variant="primary", elem_id="arena-start")
                self.stop_btn = gr.Button(t("stop_btn", lang), visible=False, variant="stop", elem_id="arena-stop")
            with gr.Row(equal_height=True):
                self.left = gr.Chatbot(label=t("model_a", lang), height=380, elem_id="arena-left",
                                       feedback_options=None, buttons=["copy"])
                self.right = gr.Chatbot(label=t("model_b", lang), height=380, elem_id="arena-right",
                                        feedback_options=None, buttons=["copy"])
            self.progress = gr.Markdown("", elem_id="arena-progress")
            self.status = gr.Markdown("", elem_id="arena-status")
            with gr.Row(visible=False, elem_id="arena-more-row") as self.more_row:
                self.more = gr.Textbox(label=t("more_turn", lang), lines=1, scale=5, elem_id="arena-more")
                self.more_btn = gr.Button(t("more_turn_btn", lang), scale=1, elem_id="arena-more-send")
            with gr.Group(elem_id="arena-vote") as self.vote_box:
                self.vote_heading = gr.Markdown(f"### {t('vote_heading', lang)}")
                with gr.Row():
                    self.content = gr.Radio(vote_choices(lang), label=t("content_q", lang), elem_id="vote-content")
                    self.language = gr.Radio(vote_choices(lang), label=t("language_q", lang), elem_id="vote-language")
                self.overall = gr.Radio(vote_choices(lang), label=t("overall_q", lang), visible=False,
                                        elem_id="vote-overall")
                self.both_bad = gr.Checkbox(label=t("both_bad", lang), elem_id="vote-both-bad")
                with gr.Row():  # why, per answer: the tags researchers want most (arena.protocol.REASONS)
                    self.reasons_left = gr.CheckboxGroup(reason_choices(lang), label=t("reasons_left", lang),
                                                         elem_id="vote-reasons-left")
                    self.reasons_right = gr.CheckboxGroup(reason_choices(lang), label=t("reasons_right", lang),
                                                          elem_id="vote-reasons-right")
                self.comment = gr.Textbox(label=t("comment", lang), lines=2, elem_id="vote-comment")
                # refusals of a vote are shown here, beside the button, where the eye is after the click
                self.vote_notice = gr.Markdown("", elem_id="vote-notice")
                self.vote_btn = gr.Button(t("vote_btn", lang), variant="primary", interactive=False,
                                          elem_id="vote-submit")
            self.reveal = gr.Markdown("", visible=False, elem_id="arena-reveal")
            self.new_round_btn = gr.Button(t("new_round_btn", lang), visible=False, elem_id="arena-new-round")
        self.admin = AdminPanel(runtime, lang, self.state, self.ui_lang)
        self.account.play_box, self.account.admin_box = self.play_box, self.admin.box
        self._wire()

    @staticmethod
    def _modes(lg: str) -> list[tuple[str, str]]:
        return [(t("mode_prompt", lg), "prompt"), (t("mode_continuation", lg), "continuation")]

    # ------------------------------------------------------------ a round
    def _refused(self, exc: ServiceError, lg: str) -> Out:
        """What a refusal looks like: an expired session is asked to log in again, a banned person is told why."""
        if exc.code == "login_required":
            return self.account.expired(lg)
        if exc.code == "banned":
            return self.account.banned(exc, lg)
        return {self.account.notice: refusal(exc, lg, self.runtime.limits, self.settings.arena_max_turns)}

    async def start(self, mode: str, prompt: str, state: dict[str, Any], lg: str,
                    request: gr.Request | None = None) -> AsyncIterator[Out]:
        """Open a battle and stream both answers; the vote opens only when both are complete."""
        lg = normalize_lang(lg)
        try:
            battle = await asyncio.to_thread(battles.open_battle, self.runtime, caller(state, request, self.runtime), mode=mode,
                                             prompt=prompt if mode == "prompt" else None)
        except ServiceError as exc:
            yield self._refused(exc, lg)
            return
        state = {**state, "battle": {"id": battle.id, "mode": mode, "state": "open"}, "key": uuid.uuid4().hex}
        yield {**self._reset_vote(), self.prompt: ""}
        async for out in self._stream(battle, state, [], [], lg):
            yield out

    async def more_turn(self, prompt: str, state: dict[str, Any], left: list[Any], right: list[Any], lg: str,
                        request: gr.Request | None = None) -> AsyncIterator[Out]:
        """Another user turn in the same battle, before the vote (prompt mode only)."""
        lg = normalize_lang(lg)
        try:
            battle = await asyncio.to_thread(battles.add_turn, self.runtime, caller(state, request, self.runtime),
                                             battle_id=(state.get("battle") or {}).get("id"), prompt=prompt)
        except ServiceError as exc:
            yield self._refused(exc, lg)
            return
        yield {**self._reset_vote(), self.more: ""}  # a choice made before this turn is not a verdict on it
        async for out in self._stream(battle, state, list(left or []), list(right or []), lg):
            yield out

    async def _stream(self, battle: Battle, state: dict[str, Any], left: list[Any], right: list[Any],
                      lg: str) -> AsyncIterator[Out]:
        async for out in self._follow(battles.run_turn(self.runtime, battle), shown(battle.conversation_a[-1]),
                                      state, left, right, lg, t("answers_streaming", lg)):
            yield out

    async def _follow(self, events: AsyncIterator[dict[str, Any]], question: dict[str, str], state: dict[str, Any],
                      left: list[Any], right: list[Any], lg: str, status: str) -> AsyncIterator[Out]:
        """Show a turn's events as they come: both answers, each side's progress; then open the ballot."""
        sides = {"left": [*left, question, {"role": "assistant", "content": ""}],
                 "right": [*right, question, {"role": "assistant", "content": ""}]}
        texts = {"left": "", "right": ""}
        progress: dict[str, dict[str, Any]] = {"left": {"tokens": 0}, "right": {"tokens": 0}}
        yield {**self._ballot(locked=True), self.state: state, self.left: sides["left"], self.right: sides["right"],
               self.more_row: gr.update(visible=False), self.start_btn: gr.update(interactive=False),
               self.status: status, self.account.notice: "", self.vote_notice: t("vote_wait", lg),
               self.progress: progress_line(progress, lg), self.stop_btn: gr.update(visible=True, interactive=True)}
        final: dict[str, Any] = {"state": "error"}
        async for event in events:
            if "state" in event:
                final = event
                continue
            side = event["side"]
            progress[side] = {**progress[side], **{k: v for k, v in event.items() if k != "delta"}}
            if "delta" in event:
                texts[side] += event["delta"]
                sides[side][-1] = {"role": "assistant", "content": texts[side]}
            elif event.get("restart"):  # the service replaced a failed model: its answer starts over
                texts[side] = ""
                sides[side][-1] = {"role": "assistant", "content": ""}
                progress[side] = {"tokens": 0}
            elif "error" in event:
                sides[side][-1] = {"role": "assistant", "content": f"{texts[side]}\n\n*{t('model_failed', lg)}*".strip()}
            yield {self.left: sides["left"], self.right: sides["right"], self.progress: progress_line(progress, lg)}
        ready = final["state"] == "ready"
        state = {**state, "battle": {**state["battle"], "state": final["state"]}}
        done = "answers_stopped" if final.get("stopped") else "answers_ready"
        yield {**self._ballot(locked=not ready), self.state: state, self.left: sides["left"], self.right: sides["right"],
               self.more_row: gr.update(visible=ready and state["battle"]["mode"] == "prompt"),
               self.start_btn: gr.update(interactive=True), self.vote_notice: "",
               self.progress: progress_line(progress, lg), self.stop_btn: gr.update(visible=False),
               self.status: t(done if ready else "answers_failed", lg)}

    async def stop(self, state: dict[str, Any], lg: str, request: gr.Request | None = None) -> Out:
        """Stop both answers where they are; the stream that shows them then opens the ballot."""
        battle = state.get("battle") or {}
        try:
            await battles.stop_turn(self.runtime, caller(state, request, self.runtime), battle.get("id"))
        except ServiceError as exc:
            if exc.code != "not_streaming":  # already complete: nothing to stop
                return self._refused(exc, normalize_lang(lg))
        return {self.stop_btn: gr.update(interactive=False)}

    async def resume(self, state: dict[str, Any], lg: str, request: gr.Request | None = None) -> AsyncIterator[Out]:
        """After a reload, a new login or in a second tab: this person's unvoted battle comes back from the server,
        still being written (followed to the end) or waiting for the vote; one that was cut off is said so."""
        lg = normalize_lang(lg)
        if not state.get("token"):
            yield {self.status: gr.update()}
            return
        try:
            current = await asyncio.to_thread(battles.current_battle, self.runtime, caller(state, request, self.runtime))
        except ServiceError:  # an ended or banned session: the login restore has already said so
            current = None
        if current is None:
            yield {self.status: gr.update()}
            return
        battle = current.battle
        if current.interrupted:
            yield {self.status: t("battle_interrupted", lg)}
            return
        seen = battles.as_seen(battle)
        panels = [[shown(m) for m in seen[side]] for side in ("left", "right")]
        state = {**state, "battle": {"id": battle.id, "mode": battle.mode, "state": battle.state}, "key": uuid.uuid4().hex}
        if current.live is not None:  # the turn's user message is the last one stored; its answers follow
            async for out in self._follow(current.live.follow(), panels[0][-1], state, panels[0][:-1], panels[1][:-1],
                                          lg, t("battle_following", lg)):
                yield out
            return
        yield {**self._reset_vote(locked=False), self.state: state, self.left: panels[0],
               self.right: panels[1], self.start_btn: gr.update(interactive=True),
               self.more_row: gr.update(visible=battle.mode == "prompt"), self.status: t("battle_restored", lg)}

    # ------------------------------------------------------------ the vote
    async def vote(self, content: str | None, language: str | None, overall: str | None, both_bad: bool,
                   comment: str, state: dict[str, Any], lg: str, reasons_left: list[str] | None = None,
                   reasons_right: list[str] | None = None, request: gr.Request | None = None) -> Out:
        """Record the vote (once, whatever the clicks) and reveal the two models."""
        lg = normalize_lang(lg)
        battle = state.get("battle")
        if not battle or not state.get("token"):
            return {self.vote_notice: t("err_battle_not_found", lg)}
        if both_bad:  # "both are bad" is a verdict of its own; unanswered dimensions count as ties
            content, language = content or "tie", language or "tie"
        if not (content and language):
            return {self.vote_notice: t("choose_both", lg)}
        if needs_overall(content, language) and not both_bad and not overall:
            return {self.vote_notice: t("err_overall_required", lg), self.overall: gr.update(visible=True)}
        reasons = {side: tags for side, tags in (("left", reasons_left), ("right", reasons_right)) if tags}
        ballot = votes.Ballot(content, language, overall if needs_overall(content, language) else None,
                              bool(both_bad), comment or None, state["key"], reasons or None)
        try:  # the same writer, checks and rate limit as POST /api/arena/battles/{id}/vote
            who = caller(state, request, self.runtime)
            reveal = await self.runtime.vote_writer.submit(votes.VoteRequest(battle["id"], ballot, who.token, who.ip))
        except ServiceError as exc:
            if exc.code in ("login_required", "banned"):
                return self._refused(exc, lg)
            return {self.vote_notice: refusal(exc, lg, self.runtime.limits, self.settings.arena_max_turns)}
        text = t("reveal", lg, left=plain_markdown(f"{reveal['left']['label']} ({reveal['left']['model']})"),
                 right=plain_markdown(f"{reveal['right']['label']} ({reveal['right']['model']})"))
        if (comment or "").strip():
            text += f"\n\n**{t('your_comment', lg)}:** {plain_markdown(comment.strip())}"
        return {self.state: {**state, "battle": {**battle, "state": "voted"}}, self.account.notice: "",
                self.vote_notice: "",
                self.vote_box: gr.update(visible=False), self.more_row: gr.update(visible=False),
                self.reveal: gr.update(value=text, visible=True), self.new_round_btn: gr.update(visible=True),
                self.status: ""}

    def _reset_vote(self, *, locked: bool = True) -> Out:
        """A fresh ballot: nothing chosen, and locked (not even choosable) until both answers are complete."""
        can = not locked
        return {self.content: gr.update(value=None, interactive=can), self.language: gr.update(value=None, interactive=can),
                self.overall: gr.update(value=None, visible=False, interactive=can),
                self.both_bad: gr.update(value=False, interactive=can), self.comment: gr.update(value="", interactive=can),
                self.reasons_left: gr.update(value=[], interactive=can),
                self.reasons_right: gr.update(value=[], interactive=can),
                self.vote_btn: gr.update(interactive=can), self.vote_notice: "", self.vote_box: gr.update(visible=True),
                self.reveal: gr.update(value="", visible=False), self.new_round_btn: gr.update(visible=False),
                self.progress: ""}

    def _ballot(self, *, locked: bool) -> Out:
        """Lock or open the ballot, keeping what is chosen."""
        can = gr.update(interactive=not locked)
        return {self.content: can, self.language: can, self.overall: can, self.both_bad: can, self.comment: can,
                self.reasons_left: can, self.reasons_right: can,
                self.vote_btn: can}

    def new_round(self, state: dict[str, Any]) -> Out:
        """Clear the answers and the ballot; the next battle gets a fresh idempotency key."""
        return {**self._reset_vote(), self.state: {**state, "battle": None, "key": None}, self.left: [],
                self.right: [], self.more_row: gr.update(visible=False), self.status: "",
                self.account.notice: "", self.start_btn: gr.update(interactive=True)}

    # ------------------------------------------------------------ wiring
    def _wire(self) -> None:
        acc = self.account
        session = [self.state, acc.notice, *acc.session_outputs()]
        gr.on([acc.login_btn.click, acc.password.submit], acc.login, inputs=[acc.username, acc.password, self.ui_lang],
              outputs=session, api_visibility="private").then(
            self.admin.listing, inputs=[self.state, self.ui_lang], outputs=[self.admin.table, self.admin.notice],
            api_visibility="private").then(
            self.resume, inputs=[self.state, self.ui_lang], outputs=self._stream_outputs(),
            concurrency_limit=ARENA_CONCURRENCY, api_visibility="private")
        # a reload restores a live login kept by the browser: the page's load event, wired here so that the
        # tab stays self-contained
        page = gr.context.Context.root_block
        if page is None:
            raise RuntimeError("build the Arena tab inside a gr.Blocks context")
        page.load(acc.restore, inputs=[acc.stored, self.ui_lang], outputs=session, show_progress="hidden",
                  api_visibility="private").then(
            self.admin.listing, inputs=[self.state, self.ui_lang], outputs=[self.admin.table, self.admin.notice],
            show_progress="hidden", api_visibility="private").then(
            self.resume, inputs=[self.state, self.ui_lang], outputs=self._stream_outputs(), show_progress="hidden",
            concurrency_limit=ARENA_CONCURRENCY, api_visibility="private")
        # the prompt being typed is kept by the browser alone (never sent before Start), so a reload keeps it too
        page.load(None, outputs=[self.prompt], js=f"() => localStorage.getItem('{DRAFT_KEY}') || ''",
                  api_visibility="private")
        self.prompt.change(None, inputs=[self.prompt], api_visibility="private",
                           js=f"(v) => {{ v ? localStorage.setItem('{DRAFT_KEY}', v) : localStorage.removeItem('{DRAFT_KEY}'); }}")
        acc.register_btn.click(acc.register, inputs=[acc.reg_username, acc.reg_password, acc.proficiency,
                                                     acc.education, acc.region, acc.script, acc.consent, acc.age,
                                                     self.ui_lang],
                               outputs=[*session, acc.username, acc.reg_password], api_visibility="private")
        stream_out = self._stream_outputs()
        gr.on([self.start_btn.click, self.prompt.submit], self.start,
              inputs=[self.mode, self.prompt, self.state, self.ui_lang], outputs=stream_out,
              show_progress="hidden", concurrency_limit=ARENA_CONCURRENCY, api_visibility="private")
        gr.on([self.more_btn.click, self.more.submit], self.more_turn,
              inputs=[self.more, self.state, self.left, self.right, self.ui_lang], outputs=stream_out,
              show_progress="hidden", concurrency_limit=ARENA_CONCURRENCY, api_visibility="private")
        self.vote_btn.click(self.vote, inputs=[self.content, self.language, self.overall, self.both_bad,
                                               self.comment, self.state, self.ui_lang, self.reasons_left,
                                               self.reasons_right],
                            outputs=stream_out, concurrency_limit=VOTE_CONCURRENCY, api_visibility="private")
        # each side's progress line says what is going on: no pending outline over the whole tab
        self.stop_btn.click(self.stop, inputs=[self.state, self.ui_lang], outputs=stream_out, show_progress="hidden",
                            concurrency_limit=ARENA_CONCURRENCY, api_visibility="private")
        self.new_round_btn.click(self.new_round, inputs=[self.state], outputs=stream_out, api_visibility="private")
        acc.logout_btn.click(acc.logout, inputs=[self.state, self.ui_lang], outputs=session,
                             api_visibility="private").then(
            lambda st: {k: v for k, v in self.new_round(st).items() if k is not acc.notice},  # keep "logged out"
            inputs=[self.state], outputs=stream_out, api_visibility="private")
        self.ui_lang.change(lambda st, lg: acc.show(st, normalize_lang(lg))[acc.user_md], inputs=[self.state, self.ui_lang],
                            outputs=[acc.user_md], api_visibility="private", queue=False)
        gr.on([self.content.change, self.language.change],
              lambda c, lg: gr.update(visible=needs_overall(c, lg)), inputs=[self.content, self.language],
              outputs=[self.overall], api_visibility="private", queue=False)
        self.mode.change(lambda m: gr.update(visible=m == "prompt"), inputs=[self.mode], outputs=[self.prompt],
                         api_visibility="private", queue=False)

    def _stream_outputs(self) -> list[Any]:
        """Everything a round can change: the session, both answers, the status and the ballot."""
        return [self.state, self.account.notice, *self.account.session_outputs(), self.left, self.right, self.status,
                self.vote_btn, self.more_row, self.start_btn, self.prompt, self.more, self.content, self.language,
                self.overall, self.both_bad, self.comment, self.reasons_left, self.reasons_right, self.vote_notice, self.vote_box, self.reveal,
                self.new_round_btn, self.progress, self.stop_btn]

    def relabel(self) -> list[tuple[Any, Any]]:
        pairs: list[tuple[Any, Any]] = [
            (self.intro, lambda lg: gr.Markdown(t("arena_intro", lg))),
            (self.mode, lambda lg: gr.Radio(choices=self._modes(lg), label=t("mode", lg))),
            (self.prompt, lambda lg: gr.Textbox(label=t("prompt", lg), placeholder=t("prompt_placeholder", lg))),
            (self.start_btn, lambda lg: gr.Button(t("start_btn", lg))),
            (self.left, lambda lg: gr.Chatbot(label=t("model_a", lg))),
            (self.right, lambda lg: gr.Chatbot(label=t("model_b", lg))),
            (self.status, lambda lg: gr.Markdown("")),
            (self.progress, lambda lg: gr.Markdown("")),
            (self.stop_btn, lambda lg: gr.Button(t("stop_btn", lg))),
            (self.more, lambda lg: gr.Textbox(label=t("more_turn", lg))),
            (self.more_btn, lambda lg: gr.Button(t("more_turn_btn", lg))),
            (self.vote_heading, lambda lg: gr.Markdown(f"### {t('vote_heading', lg)}")),
            (self.content, lambda lg: gr.Radio(choices=vote_choices(lg), label=t("content_q", lg))),
            (self.language, lambda lg: gr.Radio(choices=vote_choices(lg), label=t("language_q", lg))),
            (self.reasons_left, lambda lg: gr.CheckboxGroup(choices=reason_choices(lg), label=t("reasons_left", lg))),
            (self.reasons_right, lambda lg: gr.CheckboxGroup(choices=reason_choices(lg), label=t("reasons_right", lg))),
            (self.overall, lambda lg: gr.Radio(choices=vote_choices(lg), label=t("overall_q", lg))),
            (self.both_bad, lambda lg: gr.Checkbox(label=t("both_bad", lg))),
            (self.comment, lambda lg: gr.Textbox(label=t("comment", lg))),
            (self.vote_btn, lambda lg: gr.Button(t("vote_btn", lg))),
            (self.new_round_btn, lambda lg: gr.Button(t("new_round_btn", lg))),
        ]
        return [*self.account.relabel(), *pairs, *self.admin.relabel()]


def build_arena_tab(runtime: Runtime, lang: str) -> list[tuple[Any, Any]]:
    """Render the tab inside the current gr.Tab; return (component, relabel(lang)) pairs."""
    return ArenaTab(runtime, lang).relabel()
