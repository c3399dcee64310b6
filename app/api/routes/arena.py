"""/api/arena: accounts, battles, votes and moderation; the UI and scripts use the same calls."""

from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.api.deps import AdminDep, AnnotatorDep, SessionDep, SettingsDep, session_token
from app.api.errors import ApiError
from app.api.streaming import ClosingStreamingResponse, sse
from app.services import accounts, arena, consent, votes
from db.models import Annotator, Battle

router = APIRouter(prefix="/api/arena", tags=["arena"])
COOKIE = "kazarena_session"


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    proficiency: str
    education: str = ""
    region: str = ""
    script: str = "cyrillic"
    consent: bool = False
    age_confirmed: bool = False
    consent_version: str = accounts.CONSENT_VERSION


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class BattleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["prompt", "continuation"] = "prompt"
    prompt: str | None = Field(None, max_length=200_000)


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(max_length=200_000)


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: Literal["left", "right", "tie"]
    language: Literal["left", "right", "tie"]
    overall: Literal["left", "right", "tie"] | None = None
    both_bad: bool = False
    comment: str | None = Field(None, max_length=100_000)
    idempotency_key: str = Field(min_length=8, max_length=128)


class BanIn(BaseModel):
    reason: str = Field("", max_length=1000)


def _public(a: Annotator) -> dict[str, object]:
    return {"id": a.id, "username": a.username, "role": a.role, "proficiency": a.proficiency,
            "script": a.script, "consent_version": a.consent_version, "banned": a.banned}


def _account_error(exc: accounts.AccountError) -> ApiError:
    status = {"username_taken": 409, "bad_credentials": 401, "banned": 403, "not_found": 404}.get(exc.code, 400)
    return ApiError(status, exc.code, str(exc))


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, limiter_name: str, annotator: Annotator) -> None:
    wait = getattr(request.app.state, limiter_name).check(f"a:{annotator.id}", f"ip:{_ip(request)}")
    if wait:
        raise arena.rate_limited(wait)


@router.get("/consent")
def read_consent(lang: str = "kk") -> dict[str, str]:
    """The participation notice (kk, ru or en) and its version."""
    return consent.notice(lang)


@router.post("/register", status_code=201)
def create_annotator(body: RegisterIn, session: SessionDep) -> dict[str, object]:
    """Register an annotator; consent to the current notice and age 16+ are required."""
    try:
        row = accounts.register(session=session, reg=accounts.Registration(**body.model_dump()))
    except accounts.AccountError as exc:
        raise _account_error(exc) from exc
    return _public(row)


@router.post("/login")
def create_session(body: LoginIn, response: Response, session: SessionDep, settings: SettingsDep) -> dict[str, object]:
    """Log in: sets the session cookie and returns the token for scripts."""
    try:
        row, token = accounts.login(session=session, username=body.username, password=body.password,
                                    ttl_hours=settings.session_ttl_hours)
    except accounts.AccountError as exc:
        raise _account_error(exc) from exc
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", max_age=int(settings.session_ttl_hours * 3600))
    return {"token": token, "annotator": _public(row)}


@router.post("/logout")
def delete_session(request: Request, response: Response, session: SessionDep) -> dict[str, str]:
    token = session_token(request)
    if token:
        accounts.logout(session=session, token=token)
    response.delete_cookie(COOKIE)
    return {"status": "logged out"}


@router.get("/me")
def read_me(annotator: AnnotatorDep) -> dict[str, object]:
    return _public(annotator)


def _battle_stream(request: Request, battle: Battle) -> AsyncIterator[bytes]:
    async def events() -> AsyncIterator[bytes]:
        yield sse({"battle_id": battle.id, "mode": battle.mode, "turn": battle.turn + 1,
                   "prompt": battle.conversation_a[-1]["content"]})
        async for event in arena.run_turn(request.app.state.arena, battle):
            yield sse(event)
        yield b"data: [DONE]\n\n"

    return events()


@router.post("/battles")
async def create_battle(body: BattleIn, request: Request, annotator: AnnotatorDep) -> ClosingStreamingResponse:
    """Start a battle; both anonymous answers stream as `left`/`right` server-sent events."""
    _limit(request, "battle_limiter", annotator)
    battle = await run_in_threadpool(arena.open_battle, request.app.state.arena, annotator_id=annotator.id,
                                     mode=body.mode, prompt=body.prompt)
    return await ClosingStreamingResponse.start(_battle_stream(request, battle))


def _own_battle(session: SessionDep, battle_id: str, annotator: Annotator) -> Battle:
    battle = session.get(Battle, battle_id)
    if battle is None or battle.annotator_id != annotator.id:
        raise ApiError(404, "battle_not_found", "no such battle among yours")
    session.expunge(battle)
    return battle


@router.post("/battles/{battle_id}/turns")
async def create_turn(battle_id: str, body: TurnIn, request: Request, annotator: AnnotatorDep,
                      session: SessionDep) -> ClosingStreamingResponse:
    """Continue the battle with another user turn before voting."""
    _limit(request, "battle_limiter", annotator)
    battle = _own_battle(session, battle_id, annotator)
    battle = await run_in_threadpool(arena.add_turn, request.app.state.arena, battle=battle, prompt=body.prompt)
    return await ClosingStreamingResponse.start(_battle_stream(request, battle))


@router.get("/battles/{battle_id}")
def read_battle(battle_id: str, annotator: AnnotatorDep, session: SessionDep) -> dict[str, object]:
    """The battle as its annotator sees it: left and right, models hidden until the vote."""
    b = _own_battle(session, battle_id, annotator)
    left, right = (b.conversation_a, b.conversation_b) if b.position == "a" else (b.conversation_b, b.conversation_a)
    out: dict[str, object] = {"battle_id": b.id, "state": b.state, "turn": b.turn, "mode": b.mode,
                              "left": left, "right": right}
    if b.state == "voted":
        out["models"] = {"left": b.model_a if b.position == "a" else b.model_b,
                         "right": b.model_b if b.position == "a" else b.model_a}
    return out


@router.post("/battles/{battle_id}/vote")
async def create_vote(battle_id: str, body: VoteIn, request: Request) -> JSONResponse:
    """Vote on content and Kazakh language (overall when they disagree); reveals the models."""
    ballot = votes.Ballot(body.content, body.language, body.overall, body.both_bad, body.comment, body.idempotency_key)
    vote = votes.VoteRequest(battle_id, ballot, token=session_token(request), ip=_ip(request))
    return JSONResponse(await request.app.state.vote_writer.submit(vote))  # ArenaError -> its 4xx


@router.get("/admin/annotators")
def read_annotators(_admin: AdminDep, session: SessionDep) -> list[dict[str, object]]:
    """Every annotator with ban state (admins only)."""
    return [_public(a) | {"ban_reason": a.ban_reason} for a in session.scalars(select(Annotator).order_by(Annotator.id))]


@router.post("/admin/annotators/{annotator_id}/ban")
def ban_annotator(annotator_id: int, body: BanIn, _admin: AdminDep, session: SessionDep) -> dict[str, object]:
    """Ban with a reason: no more votes; earlier votes stay stored but leave the statistics."""
    try:
        return _public(accounts.set_ban(session=session, annotator_id=annotator_id, banned=True, reason=body.reason))
    except accounts.AccountError as exc:
        raise _account_error(exc) from exc


@router.post("/admin/annotators/{annotator_id}/unban")
def unban_annotator(annotator_id: int, _admin: AdminDep, session: SessionDep) -> dict[str, object]:
    try:
        return _public(accounts.set_ban(session=session, annotator_id=annotator_id, banned=False, reason=None))
    except accounts.AccountError as exc:
        raise _account_error(exc) from exc

