"""/api/arena: accounts, battles, votes, moderation and the leaderboard; the UI calls the same services."""

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import COOKIE, AnnotatorDep, CallerDep, RuntimeDep, SessionDep
from app.api.streaming import ClosingStreamingResponse, sse_response
from app.errors import ServiceError
from app.services import accounts, battles, consent, moderation, votes
from app.services import leaderboard as boards
from arena.battle_table import DIMENSIONS
from arena.protocol import REASONS
from db.models import Battle

router = APIRouter(prefix="/api/arena", tags=["arena"])
AnnotatorId = Annotated[int, Path(ge=1, le=2**63 - 1, description="an annotator's id")]


class LoginIn(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=256)


class BattleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["prompt", "continuation"] = "prompt"
    prompt: str | None = None


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: Literal["left", "right", "tie"]
    language: Literal["left", "right", "tie"]
    overall: Literal["left", "right", "tie"] | None = None
    both_bad: bool = False
    comment: str | None = None
    idempotency_key: str = Field(min_length=8, max_length=128)
    reasons: dict[Literal["left", "right"], list[Annotated[str, Field(max_length=32)]]] | None = Field(
        None, max_length=2, description=f"optional tags per answer, from: {', '.join(REASONS)}")


class ReasonIn(BaseModel):
    reason: str = ""


@router.get("/consent")
def read_consent(lang: str = "kk") -> dict[str, str]:
    """The participation notice (kk, ru or en) and its version."""
    return consent.notice(lang)


@router.post("/register", status_code=201)
def create_annotator(body: accounts.Registration, session: SessionDep) -> dict[str, object]:
    """Register an annotator; consent to the current notice and age 16+ are required."""
    return moderation.public(accounts.register(session=session, reg=body))


@router.post("/login")
def create_session(body: LoginIn, request: Request, response: Response, session: SessionDep, runtime: RuntimeDep,
                   caller: CallerDep) -> dict[str, object]:
    """Log in: sets the session cookie and returns the token for scripts (failures back off, see README)."""
    ttl = runtime.settings.session_ttl_hours
    row, token = accounts.login(session=session, username=body.username, password=body.password, ttl_hours=ttl,
                                throttle=runtime.login_throttle, ip=caller.ip)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", max_age=int(ttl * 3600),
                        secure=request.url.scheme == "https")  # behind a TLS proxy: uvicorn --proxy-headers
    return {"token": token, "annotator": moderation.public(row)}


@router.post("/logout")
def delete_session(caller: CallerDep, response: Response, session: SessionDep) -> dict[str, str]:
    if caller.token:
        accounts.logout(session=session, token=caller.token)
    response.delete_cookie(COOKIE)
    return {"status": "logged out"}


@router.get("/me")
def read_me(annotator: AnnotatorDep) -> dict[str, object]:
    return moderation.public(annotator)


async def _battle_stream(runtime: RuntimeDep, battle: Battle) -> ClosingStreamingResponse:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"battle_id": battle.id, "mode": battle.mode, "turn": battle.turn + 1,
               "prompt": battle.conversation_a[-1]["content"]}
        async for event in battles.run_turn(runtime, battle):
            yield event

    return await sse_response(events())


@router.post("/battles")
async def create_battle(body: BattleIn, runtime: RuntimeDep, caller: CallerDep) -> ClosingStreamingResponse:
    """Start a battle; both anonymous answers stream as `left`/`right` server-sent events."""
    battle = await run_in_threadpool(battles.open_battle, runtime, caller, mode=body.mode, prompt=body.prompt)
    return await _battle_stream(runtime, battle)


@router.post("/battles/{battle_id}/turns")
async def create_turn(battle_id: str, body: TurnIn, runtime: RuntimeDep, caller: CallerDep) -> ClosingStreamingResponse:
    """Continue the battle with another user turn before voting."""
    battle = await run_in_threadpool(battles.add_turn, runtime, caller, battle_id=battle_id, prompt=body.prompt)
    return await _battle_stream(runtime, battle)


@router.get("/battles/waiting")
async def read_waiting_battle(runtime: RuntimeDep, caller: CallerDep) -> dict[str, object]:
    """Your unvoted battle (after a reload or on another device), or 404.

    `streaming: true` while its answers are still being written: follow them at `/battles/{id}/stream`.
    A battle whose answers never completed is answered once with 404 `battle_interrupted`.
    """
    current = await run_in_threadpool(battles.current_battle, runtime, caller)
    if current is None:
        raise ServiceError("not_found", "battle_not_found", "no battle is waiting for your vote")
    if current.interrupted:
        raise ServiceError("not_found", "battle_interrupted",
                           "your last battle was interrupted before both answers were complete; start a new one")
    return battles.as_seen(current.battle) | {"streaming": current.live is not None}


@router.get("/battles/{battle_id}/stream")
async def follow_battle(battle_id: str, runtime: RuntimeDep, caller: CallerDep) -> ClosingStreamingResponse:
    """The turn being answered, from its first event (the same events as starting it); 409 when none runs."""
    turn = await run_in_threadpool(battles.live_turn, runtime, caller, battle_id)
    return await sse_response(turn.follow())


@router.post("/battles/{battle_id}/stop")
async def stop_battle_turn(battle_id: str, runtime: RuntimeDep, caller: CallerDep) -> dict[str, object]:
    """Stop both answers where they are; answers once the shortened turn is stored and can be voted on."""
    return battles.as_seen(await battles.stop_turn(runtime, caller, battle_id))


@router.get("/battles/{battle_id}")
def read_battle(battle_id: str, caller: CallerDep, session: SessionDep) -> dict[str, object]:
    """The battle as its annotator sees it: left and right, models hidden until the vote."""
    return battles.read_battle(session=session, caller=caller, battle_id=battle_id)


@router.post("/battles/{battle_id}/vote")
async def create_vote(battle_id: str, body: VoteIn, runtime: RuntimeDep, caller: CallerDep) -> JSONResponse:
    """Vote on content and Kazakh language (overall when they disagree); reveals the models."""
    ballot = votes.Ballot(body.content, body.language, body.overall, body.both_bad, body.comment, body.idempotency_key,
                          body.reasons)
    return JSONResponse(await runtime.vote_writer.submit(votes.VoteRequest(battle_id, ballot, caller.token, caller.ip)))


@router.get("/leaderboard")
def read_leaderboard(session: SessionDep,
                     dimension: Annotated[Literal[DIMENSIONS], Query(description="which judgement to rate")] = "overall",  # type: ignore[valid-type]
                     topic: Annotated[str | None, Query(description="only battles of this topic")] = None,
                     exclude_flagged: Annotated[bool, Query(description="leave out flagged annotators and battles")] = True,
                     ) -> dict[str, Any]:
    """Bradley-Terry ratings on the Elo scale with 95% intervals, as the Leaderboard tab shows them."""
    chosen = boards.select_battles(session=session, dimension=dimension, topic=topic, exclude_flagged=exclude_flagged)
    out: dict[str, Any] = {"excluded_annotators": len(chosen.excluded), "topics": list(chosen.topics),
                           "topic": chosen.topic}
    if chosen.table is None:
        return out | {"board": None, "empty_reason": chosen.empty_reason}
    return out | {"board": boards.fit(chosen.table).to_dict()}


@router.get("/judge")
def read_judge_report(session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The LLM judge's agreement with people (kappa with intervals, confusion, biases), as in the tab."""
    return {"report": boards.judge_report(session=session, describe=runtime.describe_judge)}


@router.get("/admin/annotators")
def read_annotators(caller: CallerDep, session: SessionDep) -> list[dict[str, object]]:
    """Every annotator with ban state, votes and quality flags with their evidence (admins only)."""
    return moderation.annotators(session=session, caller=caller)


@router.post("/admin/annotators/{annotator_id}/ban")
def ban_annotator(annotator_id: AnnotatorId, body: ReasonIn, caller: CallerDep, session: SessionDep,
                  runtime: RuntimeDep) -> dict[str, object]:
    """Ban with a reason: no more votes; earlier votes stay stored but leave the statistics."""
    return moderation.public(moderation.set_ban(session=session, caller=caller, annotator_id=annotator_id, banned=True,
                                                reason=body.reason, max_reason=runtime.limits.reason_chars))


@router.post("/admin/annotators/{annotator_id}/unban")
def unban_annotator(annotator_id: AnnotatorId, caller: CallerDep, session: SessionDep,
                    runtime: RuntimeDep) -> dict[str, object]:
    return moderation.public(moderation.set_ban(session=session, caller=caller, annotator_id=annotator_id, banned=False,
                                                reason=None, max_reason=runtime.limits.reason_chars))


@router.post("/admin/annotators/{annotator_id}/flags/{decision}")
def review_annotator_flags(annotator_id: AnnotatorId, decision: Literal["clear", "reopen"], body: ReasonIn,
                           caller: CallerDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, object]:
    """Clear an annotator's quality flags (their votes count again) or reopen them; the decision is kept."""
    return moderation.review_flags(session=session, caller=caller, annotator_id=annotator_id,
                                   cleared=decision == "clear", reason=body.reason,
                                   max_reason=runtime.limits.reason_chars)
