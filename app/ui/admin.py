"""Admin panel inside the Arena tab: annotators with their quality flags and evidence; ban, unban, clear, reopen.

Flags come from arena.quality over every vote (banned annotators and gold
battles included). An admin's decision to clear an annotator's flags (or to
reopen them) is stored in the database through app.services.flag_reviews, so it
survives restarts and every process sees it; the Leaderboard tab and
`kazarena leaderboard --exclude-flagged` read it from there. Every action checks
again, on the server, that the caller is a logged-in admin.
"""

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

import gradio as gr
import pandas as pd
from fastapi import FastAPI
from sqlalchemy import select

from app.services import accounts, flag_reviews
from app.ui.i18n import normalize_lang, t
from arena.records import voted_battle_rows
from db.models import Annotator
from db.session import session_scope

COLUMNS = ("col_id", "col_user", "col_role", "proficiency", "col_votes", "col_banned", "col_flags", "col_cleared")


def _evidence(evidence: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in evidence.items())


def annotator_table(database_url: str, lg: str) -> pd.DataFrame:
    """One row per annotator: profile, votes, ban state, every flag with its evidence, and the admin's decision."""
    with session_scope(database_url) as s:
        people = list(s.scalars(select(Annotator).order_by(Annotator.id)))
        rows = list(voted_battle_rows(session=s, include_banned=True, include_gold=True))
        reviews = flag_reviews.latest_reviews(session=s)
    votes = Counter(r["annotator"] for r in rows)
    flags = flag_reviews.quality_flags(rows)
    table = []
    for a in people:
        key = str(a.id)
        banned = f"{t('yes', lg)}: {a.ban_reason or ''}".strip(": ") if a.banned else t("no", lg)
        notes = "; ".join(f"{f.kind}: {f.message} [{_evidence(f.evidence)}]" for f in flags.get(key, []))
        review = reviews.get(key)
        cleared = (f"{t('yes', lg)}: {review.reason}".strip(": ")
                   if review is not None and review.decision == flag_reviews.CLEARED else t("no", lg))
        table.append([a.id, a.username, a.role, a.proficiency, votes.get(key, 0), banned, notes, cleared])
    return pd.DataFrame(table, columns=[t(c, lg) for c in COLUMNS])


class AdminPanel:
    """Visible to admins only (the account panel toggles `box`)."""

    def __init__(self, app: FastAPI, lang: str, state: Any, ui_lang: Any) -> None:
        self.app, self.settings = app, app.state.settings
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

    def _admin_id(self, state: dict[str, Any]) -> int | None:
        """The id of the logged-in admin behind `state`, or None for anyone else."""
        if not state.get("token"):
            return None
        with session_scope(self.settings.database_url) as s:
            who = accounts.annotator_for_token(session=s, token=state["token"])
            return who.id if who is not None and who.role == "admin" and not who.banned else None

    def _table(self, lg: str) -> pd.DataFrame:
        return annotator_table(self.settings.database_url, lg)

    async def listing(self, state: dict[str, Any], lg: str) -> tuple[Any, str]:
        """The annotator table (admins only; anyone else gets an empty table and a refusal)."""
        lg = normalize_lang(lg)
        if await asyncio.to_thread(self._admin_id, state) is None:
            return gr.update(), t("admin_only", lg)
        return await asyncio.to_thread(self._table, lg), ""

    def _apply(self, action: str, annotator_id: int, reason: str, admin_id: int) -> None:
        with session_scope(self.settings.database_url) as s:
            if action in ("clear", "reopen"):
                flag_reviews.set_cleared(session=s, annotator_id=annotator_id, cleared=action == "clear",
                                         admin_id=admin_id, reason=reason)
            else:
                accounts.set_ban(session=s, annotator_id=annotator_id, banned=action == "ban", reason=reason)

    def _action(self, action: str) -> Any:
        async def handler(target: float | None, reason: str, state: dict[str, Any], lg: str) -> tuple[Any, str]:
            lg = normalize_lang(lg)
            admin_id = await asyncio.to_thread(self._admin_id, state)
            if admin_id is None:
                return gr.update(), t("admin_only", lg)
            if target is None:
                return gr.update(), t("err_not_found", lg)
            try:
                await asyncio.to_thread(self._apply, action, int(target), reason or "", admin_id)
            except accounts.AccountError as exc:
                return gr.update(), t(f"err_{exc.code}", lg) if exc.code in ("not_found", "reason_required") else str(exc)
            return await asyncio.to_thread(self._table, lg), t("admin_done", lg, id=int(target))

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
