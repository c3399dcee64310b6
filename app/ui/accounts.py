"""The Arena tab's account panel: register with consent, log in and out, expired sessions.

The session token lives in the browser session's `gr.State`, and a copy in the
browser's localStorage (`gr.BrowserState`) lets a page reload restore the login
while the server-side session lives: on page load `restore` checks the stored
token with the service and shows the logged-in view, or forgets a token that
expired, was logged out or belongs to a banned annotator. Every handler that
acts for the annotator hands the token to the service, which admits it
(app/services/admission.py), so an expired or banned session is asked to log in.
"""

import asyncio
from typing import Any

import gradio as gr

from app.errors import ServiceError
from app.runtime import Runtime
from app.services import accounts, admission, consent
from app.ui.i18n import normalize_lang, plain_markdown, refusal, t
from db.models import Annotator
from db.session import session_scope

Out = dict[Any, Any]
# localStorage entry of the login. Gradio encrypts it with this secret, which it also sends to the page in
# the app's config, so it only hides the token from a casual look; what keeps the login safe is that the
# server checks the token on every use and sessions expire. A fixed secret (not Gradio's random default)
# keeps logins across restarts of the app and across its processes.
STORAGE_KEY = "kazarena-login"
STORAGE_SECRET = "kazarena-login-v1"


def new_state() -> dict[str, Any]:
    """Per-browser-session state: who is logged in, the current battle and its ballot key."""
    return {"token": None, "annotator_id": None, "username": None, "role": None, "battle": None, "key": None}


def proficiency_choices(lg: str) -> list[tuple[str, str]]:
    return [(t("prof_native", lg), "native"), ("C1–C2", "C1-C2"), ("B1–B2", "B1-B2"), ("A1–A2", "A1-A2")]


def script_choices(lg: str) -> list[tuple[str, str]]:
    return [(t("script_cyrillic", lg), "cyrillic"), (t("script_latin", lg), "latin")]



def caller(state: dict[str, Any], request: gr.Request | None, runtime: Runtime) -> admission.Caller:
    """The credentials behind a Gradio event: the session token in the state and the browser's IP
    (read as REST reads it: X-Forwarded-For only from a trusted proxy)."""
    peer = getattr(getattr(request, "client", None), "host", None)
    forwarded = request.headers.get("x-forwarded-for") if request is not None else None
    return admission.Caller(state.get("token"), admission.client_ip(peer, forwarded, runtime.trusted_proxies))


class AccountPanel:
    """Login and registration forms; the Arena tab shows its play area once someone is logged in."""

    play_box: Any = None  # set by the Arena tab before wiring
    admin_box: Any = None

    def __init__(self, runtime: Runtime, lang: str) -> None:
        self.runtime, self.settings = runtime, runtime.settings
        self.state = gr.State(new_state())
        # Gradio writes a BrowserState only when the value is truthy, so a logout stores {"token": None}, never None.
        self.stored = gr.BrowserState({"token": None}, storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
        self.ui_lang = gr.State(lang)  # kept in step with the language selector by mount_ui
        with gr.Column(elem_id="arena-login-box") as self.login_box:
            self.login_heading = gr.Markdown(f"### {t('login_heading', lang)}")
            with gr.Row(equal_height=True):
                self.username = gr.Textbox(label=t("username", lang), max_lines=1, elem_id="login-username")
                self.password = gr.Textbox(label=t("password", lang), type="password", max_lines=1,
                                           elem_id="login-password")
                self.login_btn = gr.Button(t("login_btn", lang), variant="primary", scale=0, min_width=140,
                                           elem_id="login-submit")
            # Open: a newcomer registers first; someone returning is logged in again from the browser's token.
            with gr.Accordion(t("register_heading", lang), open=True, elem_id="register-box") as self.reg_box:
                with gr.Row():
                    self.reg_username = gr.Textbox(label=t("username", lang), max_lines=1, elem_id="reg-username")
                    self.reg_password = gr.Textbox(label=t("password", lang), type="password", max_lines=1,
                                                   elem_id="reg-password")
                with gr.Row():
                    self.proficiency = gr.Radio(proficiency_choices(lang), label=t("proficiency", lang),
                                                elem_id="reg-proficiency")
                    self.script = gr.Radio(script_choices(lang), value="cyrillic", label=t("script", lang),
                                           elem_id="reg-script")
                self.rules = gr.Markdown(t("register_rules", lang), elem_id="reg-rules")
                with gr.Row():
                    self.education = gr.Textbox(label=t("education", lang), max_lines=1, elem_id="reg-education")
                    self.region = gr.Textbox(label=t("region", lang), max_lines=1, elem_id="reg-region")
                self.notice_text = gr.Markdown(consent.notice(lang)["text"], elem_id="reg-consent-text")
                with gr.Row():
                    self.consent = gr.Checkbox(label=t("consent_accept", lang), elem_id="reg-consent")
                    self.age = gr.Checkbox(label=t("age_confirm", lang), elem_id="reg-age")
                self.register_btn = gr.Button(t("register_btn", lang), elem_id="reg-submit")
        with gr.Row(visible=False, equal_height=True, elem_id="arena-user-box") as self.user_box:
            self.user_md = gr.Markdown("", elem_id="arena-user")
            self.logout_btn = gr.Button(t("logout_btn", lang), scale=0, min_width=120, elem_id="logout")
        self.notice = gr.Markdown("", elem_id="arena-notice")

    # ------------------------------------------------------------ handlers
    def whoami(self, state: dict[str, Any]) -> Annotator | None:
        """The annotator of the state's session, or None when it expired, was ended or banned."""
        if not state.get("token"):
            return None
        with session_scope(self.settings.database_url) as s:
            try:
                return admission.annotator(s, admission.Caller(state["token"]))
            except ServiceError:
                return None

    def session_outputs(self) -> list[Any]:
        return [self.login_box, self.user_box, self.user_md, self.play_box, self.admin_box, self.password, self.stored]

    def show(self, state: dict[str, Any], lg: str) -> Out:
        """What a logged-in (or logged-out) person sees; the browser keeps the token (or forgets it)."""
        logged_in = bool(state.get("token"))
        name = t("logged_in_as", lg, name=plain_markdown(state["username"])) if logged_in else ""
        return {self.state: state, self.stored: {"token": state.get("token")},
                self.login_box: gr.update(visible=not logged_in),
                self.user_box: gr.update(visible=logged_in), self.user_md: name,
                self.play_box: gr.update(visible=logged_in), self.password: "",
                self.admin_box: gr.update(visible=logged_in and state.get("role") == "admin")}

    def expired(self, lg: str) -> Out:
        return {**self.show(new_state(), normalize_lang(lg)), self.notice: t("session_expired", normalize_lang(lg))}

    def banned(self, exc: ServiceError, lg: str) -> Out:
        """Logged out, with the ban and its reason in the person's language."""
        lg = normalize_lang(lg)
        return {**self.show(new_state(), lg), self.notice: refusal(exc, lg, self.runtime.limits)}

    def _register(self, reg: accounts.Registration) -> None:
        with session_scope(self.settings.database_url) as s:
            accounts.register(session=s, reg=reg)

    async def register(self, username: str, password: str, proficiency: str | None, education: str, region: str,
                       script: str | None, accepted: bool, age_ok: bool, lg: str,
                       request: gr.Request | None = None) -> Out:
        """Register with the notice shown on the page, every problem named at once; then the person is logged in."""
        lg = normalize_lang(lg)
        reg = accounts.Registration(username=(username or "").strip(), password=password or "",
                                    proficiency=proficiency or "", education=education or "", region=region or "",
                                    script=script or "", consent=bool(accepted), age_confirmed=bool(age_ok),
                                    consent_version=accounts.CONSENT_VERSION)
        if found := accounts.problems(reg):
            return {self.notice: "\n".join(f"- {refusal(exc, lg, self.runtime.limits)}" for exc in found)
                    if len(found) > 1 else refusal(found[0], lg, self.runtime.limits)}
        try:
            await asyncio.to_thread(self._register, reg)
            state = await asyncio.to_thread(self._login, reg.username, reg.password, caller({}, request, self.runtime).ip)
        except ServiceError as exc:
            return {self.notice: refusal(exc, lg, self.runtime.limits)}
        return {**self.show(state, lg), self.notice: t("registered", lg, name=plain_markdown(reg.username)),
                self.username: reg.username, self.reg_password: ""}

    def _login(self, username: str, password: str, ip: str) -> dict[str, Any]:
        with session_scope(self.settings.database_url) as s:
            row, token = accounts.login(session=s, username=username, password=password,
                                        ttl_hours=self.settings.session_ttl_hours,
                                        throttle=self.runtime.login_throttle, ip=ip)
            return {**new_state(), "token": token, "annotator_id": row.id, "username": row.username, "role": row.role}

    async def login(self, username: str, password: str, lg: str, request: gr.Request | None = None) -> Out:
        lg = normalize_lang(lg)
        ip = caller({}, request, self.runtime).ip
        try:
            state = await asyncio.to_thread(self._login, (username or "").strip(), password or "", ip)
        except ServiceError as exc:
            return {self.notice: refusal(exc, lg, self.runtime.limits), self.password: ""}
        return {**self.show(state, lg), self.notice: ""}

    async def restore(self, stored: Any, lg: str) -> Out:
        """On page load: log in again with the token the browser kept, if its session is still live.

        Nothing stored: nothing changes. A token the server no longer accepts (expired, logged out, banned)
        is forgotten quietly and the login form stays.
        """
        lg = normalize_lang(lg)
        token = stored.get("token") if isinstance(stored, dict) else None
        if not isinstance(token, str) or not token:
            return {self.notice: gr.update()}  # Gradio reads an empty dict as one value, not as "no updates"
        who = await asyncio.to_thread(self.whoami, {"token": token})
        if who is None:
            return self.show(new_state(), lg)
        return self.show({**new_state(), "token": token, "annotator_id": who.id, "username": who.username,
                          "role": who.role}, lg)

    def _logout(self, token: str) -> None:
        with session_scope(self.settings.database_url) as s:
            accounts.logout(session=s, token=token)

    async def logout(self, state: dict[str, Any], lg: str) -> Out:
        lg = normalize_lang(lg)
        if state.get("token"):
            await asyncio.to_thread(self._logout, state["token"])
        return {**self.show(new_state(), lg), self.notice: t("logged_out", lg)}

    def relabel(self) -> list[tuple[Any, Any]]:
        return [
            (self.ui_lang, lambda lg: lg),
            (self.notice, lambda lg: gr.Markdown("")),  # a notice in the old language would confuse
            (self.login_heading, lambda lg: gr.Markdown(f"### {t('login_heading', lg)}")),
            (self.username, lambda lg: gr.Textbox(label=t("username", lg))),
            (self.password, lambda lg: gr.Textbox(label=t("password", lg))),
            (self.login_btn, lambda lg: gr.Button(t("login_btn", lg))),
            (self.reg_box, lambda lg: gr.Accordion(label=t("register_heading", lg))),
            (self.rules, lambda lg: gr.Markdown(t("register_rules", lg))),
            (self.reg_username, lambda lg: gr.Textbox(label=t("username", lg))),
            (self.reg_password, lambda lg: gr.Textbox(label=t("password", lg))),
            (self.proficiency, lambda lg: gr.Radio(choices=proficiency_choices(lg), label=t("proficiency", lg))),
            (self.script, lambda lg: gr.Radio(choices=script_choices(lg), label=t("script", lg))),
            (self.education, lambda lg: gr.Textbox(label=t("education", lg))),
            (self.region, lambda lg: gr.Textbox(label=t("region", lg))),
            (self.notice_text, lambda lg: gr.Markdown(consent.notice(lg)["text"])),
            (self.consent, lambda lg: gr.Checkbox(label=t("consent_accept", lg))),
            (self.age, lambda lg: gr.Checkbox(label=t("age_confirm", lg))),
            (self.register_btn, lambda lg: gr.Button(t("register_btn", lg))),
            (self.logout_btn, lambda lg: gr.Button(t("logout_btn", lg))),
        ]
