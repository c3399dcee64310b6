"""Admin panel inside the Arena tab: annotators with their quality flags and evidence; ban, unban, clear, reopen.

The table and every action go through app.services.moderation, as
`/api/arena/admin/*` does: flags come from arena.quality over every vote (banned
annotators and gold battles included); an admin's decision to clear an
annotator's flags (or to reopen them) is stored in the database, so it survives
restarts and every process sees it. The service admits the caller as an admin
on every call.
"""

import asyncio
from collections.abc import Mapping
from typing import Any

import gradio as gr
import pandas as pd

from app.errors import ServiceError
from app.runtime import Runtime
from app.services import moderation
from app.services.admission import Caller
from app.ui.i18n import normalize_lang, refusal, t
from db.session import session_scope

COLUMNS = ("col_id", "col_user", "col_role", "proficiency", "col_votes", "col_banned", "col_flags", "col_cleared")


def _evidence(evidence: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in evidence.items())


def annotator_frame(people: list[dict[str, Any]], lg: str) -> pd.DataFrame:
    """One row per annotator (moderation.annotators): profile, votes, ban state, every flag with its evidence,
    and the admin's decision."""
    table = []
    for a in people:
        banned = f"{t('yes', lg)}: {a['ban_reason'] or ''}".strip(": ") if a["banned"] else t("no", lg)
        notes = "; ".join(f"{f['kind']}: {f['message']} [{_evidence(f['evidence'])}]" for f in a["flags"])
        cleared = f"{t('yes', lg)}: {a['review_reason'] or ''}".strip(": ") if a["flags_cleared"] else t("no", lg)
        table.append([a["id"], a["username"], a["role"], a["proficiency"], a["votes"], banned, notes, cleared])
    return pd.DataFrame(table, columns=[t(c, lg) for c in COLUMNS])


class AdminPanel:
    """Visible to admins only (the account panel toggles `box`)."""

    def __init__(self, runtime: Runtime, lang: str, state: Any, ui_lang: Any) -> None:
        self.runtime, self.settings = runtime, runtime.settings
        self.state, self.ui_lang = state, ui_lang
        with gr.Accordion(t("admin_heading", lang), open=True, visible=False, elem_id="admin-box") as self.box:
            self.refresh_btn = gr.Button(t("admin_refresh", lang), size="sm", elem_id="admin-refresh")
            self.table = gr.Dataframe(headers=[t(c, lang) for c in COLUMNS], interactive=False, wrap=True,
                                      label=t("admin_table", lang), elem_id="admin-table")
            with gr.Row():
                self.target = gr.Number(label=t("admin_id", lang), precision=0, minimum=1, elem_id="admin-id")
                self.reason = gr.Textbox(label=t("admin_reason", lang), max_lines=1, scale=3, elem_id="admin-reason")
            with gr.Row():
                self.ban_btn = gr.Button(t("ban_btn", lang), variant="stop", elem_id="admin-ban")
                self.unban_btn = gr.Button(t("unban_btn", lang), elem_id="admin-unban")
                self.clear_btn = gr.Button(t("clear_btn", lang), elem_id="admin-clear")
                self.reopen_btn = gr.Button(t("reopen_btn", lang), elem_id="admin-reopen")
            self.notice = gr.Markdown("", elem_id="admin-notice")
        outputs = [self.table, self.notice]
        self.refresh_btn.click(self.listing, inputs=[self.state, self.ui_lang], outputs=outputs, api_visibility="private")
        for button, action in ((self.ban_btn, "ban"), (self.unban_btn, "unban"), (self.clear_btn, "clear"),
                               (self.reopen_btn, "reopen")):
            button.click(self._action(action), inputs=[self.target, self.reason, self.state, self.ui_lang],
                         outputs=outputs, api_visibility="private")

    def _table(self, token: str | None, lg: str) -> pd.DataFrame:
        with session_scope(self.settings.database_url) as s:
            return annotator_frame(moderation.annotators(session=s, caller=Caller(token)), lg)

    async def listing(self, state: dict[str, Any], lg: str) -> tuple[Any, str]:
        """The annotator table (admins only; anyone else gets an empty table and a refusal)."""
        lg = normalize_lang(lg)
        try:
            return await asyncio.to_thread(self._table, state.get("token"), lg), ""
        except ServiceError as exc:
            return gr.update(), self._refused(exc, lg)

    def _refused(self, exc: ServiceError, lg: str) -> str:
        if exc.code in ("login_required", "banned"):
            return t("admin_only", lg)
        return refusal(exc, lg, self.runtime.limits)

    def _apply(self, action: str, annotator_id: int, reason: str, token: str | None) -> None:
        caller, limit = Caller(token), self.runtime.limits.reason_chars
        with session_scope(self.settings.database_url) as s:
            if action in ("clear", "reopen"):
                moderation.review_flags(session=s, caller=caller, annotator_id=annotator_id,
                                        cleared=action == "clear", reason=reason, max_reason=limit)
            else:
                moderation.set_ban(session=s, caller=caller, annotator_id=annotator_id, banned=action == "ban",
                                   reason=reason, max_reason=limit)

    def _action(self, action: str) -> Any:
        async def handler(target: float | None, reason: str, state: dict[str, Any], lg: str) -> tuple[Any, str]:
            lg = normalize_lang(lg)
            try:
                if target is None:
                    await asyncio.to_thread(self._table, state.get("token"), lg)  # admins only, even to be told
                    return gr.update(), t("err_not_found", lg)
                await asyncio.to_thread(self._apply, action, int(target), reason or "", state.get("token"))
                table = await asyncio.to_thread(self._table, state.get("token"), lg)
            except ServiceError as exc:
                return gr.update(), self._refused(exc, lg)
            return table, t("admin_done", lg, id=int(target))

        handler.__name__ = f"admin_{action}"
        return handler

    def relabel(self) -> list[tuple[Any, Any]]:
        return [
            (self.box, lambda lg: gr.Accordion(label=t("admin_heading", lg))),
            (self.refresh_btn, lambda lg: gr.Button(t("admin_refresh", lg))),
            (self.table, lambda lg: gr.Dataframe(label=t("admin_table", lg))),
            (self.target, lambda lg: gr.Number(label=t("admin_id", lg))),
            (self.reason, lambda lg: gr.Textbox(label=t("admin_reason", lg))),
            (self.ban_btn, lambda lg: gr.Button(t("ban_btn", lg))),
            (self.unban_btn, lambda lg: gr.Button(t("unban_btn", lg))),
            (self.clear_btn, lambda lg: gr.Button(t("clear_btn", lg))),
            (self.reopen_btn, lambda lg: gr.Button(t("reopen_btn", lg))),
            (self.notice, lambda lg: gr.Markdown("")),
        ]
