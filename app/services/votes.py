"""Casting votes: once per battle per annotator, idempotent, only on complete answers.

The database enforces the rules that must survive concurrency: one vote per
(battle, annotator) and one vote per idempotency key. Votes are written in
batches: `cast_votes` reads what a batch needs in three queries, checks every
ballot in order, and commits once; a vote is acknowledged only after that
commit. A batch of one is the plain case; `VoteWriter` (app/services/vote_writer.py)
gathers the votes that arrive together. Each ballot carries its caller's
credentials, admitted here (app/services/admission.py) like every other action.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import ServiceError, rate_limited
from app.services import admission, inputs
from app.services.admission import Caller
from arena.protocol import VoteError, check_reasons, resolve
from db.models import Annotator, Battle, Vote

# A battle row carries both conversations; the vote needs none of them.
_BATTLE = (Battle.id, Battle.annotator_id, Battle.state, Battle.position, Battle.model_a, Battle.model_b,
           Battle.timings)
_VOTE = (Vote.id, Vote.battle_id, Vote.annotator_id, Vote.idempotency_key, Vote.winner, Vote.decided_by,
         Vote.winner_content, Vote.winner_language, Vote.winner_overall)

RateCheck = Callable[[int, str], float]  # (annotator id, ip) -> seconds to wait, 0 when allowed


@dataclass(frozen=True)
class Ballot:
    content: str
    language: str
    overall: str | None = None
    both_bad: bool = False
    comment: str | None = None
    idempotency_key: str = ""
    reasons: dict[str, list[str]] | None = None  # {"left": [tag, ...], "right": [...]}, arena.protocol.REASONS


@dataclass(frozen=True)
class VoteRequest:
    """A ballot for a battle, with the credentials of whoever cast it (admitted in `cast_votes`)."""

    battle_id: str
    ballot: Ballot
    token: str | None = None
    ip: str = "unknown"

    @property
    def caller(self) -> Caller:
        return Caller(self.token, self.ip)


def reveal(battle: Any, vote: Any, labels: dict[str, str]) -> dict[str, Any]:
    """The answer to a vote: who was left and right, and how the vote was read."""
    left, right = (battle.model_a, battle.model_b) if battle.position == "a" else (battle.model_b, battle.model_a)
    return {"battle_id": battle.id, "vote_id": vote.id,
            "left": {"model": left, "label": labels.get(left, left)},
            "right": {"model": right, "label": labels.get(right, right)},
            "winner": vote.winner, "decided_by": vote.decided_by,
            "winner_content": vote.winner_content, "winner_language": vote.winner_language,
            "winner_overall": vote.winner_overall}


def cast_votes(session: Session, requests: Sequence[VoteRequest], *, max_comment: int, labels: dict[str, str],
               rate_check: RateCheck | None = None) -> list[dict[str, Any] | ServiceError]:
    """Each request's reveal, or the ServiceError that refused it, in order; one commit for them all."""
    voters = admission.annotators(session, [r.caller for r in requests])
    limited = [_rate(voters[i], r.caller.ip, rate_check) for i, r in enumerate(requests)]
    return _cast_batch(session, requests, voters, limited, max_comment, labels)


def _cast_batch(session: Session, requests: Sequence[VoteRequest], voters: list[Annotator | ServiceError],
                limited: list[ServiceError | None], max_comment: int,
                labels: dict[str, str]) -> list[dict[str, Any] | ServiceError]:
    try:
        return _cast(session, requests, voters, limited, max_comment, labels)
    except (IntegrityError, _LostRace):
        session.rollback()  # another process wrote a twin between our reads and our commit
    if len(requests) > 1:  # isolate it: the others must not fail with it (admitted and counted once already)
        return [voter if isinstance(voter, ServiceError) else refused if refused else
                _cast_batch(session, [r], [voter], [None], max_comment, labels)[0]
                for r, voter, refused in zip(requests, voters, limited, strict=True)]
    try:  # the twin is committed now, so the checks see it: replay or "already voted"
        return _cast(session, requests, voters, limited, max_comment, labels)
    except (IntegrityError, _LostRace):
        session.rollback()
        return [ServiceError("conflict", "already_voted", "you already voted on this battle")]


class _LostRace(Exception):
    pass


def _rate(voter: Annotator | ServiceError, ip: str, rate_check: RateCheck | None) -> ServiceError | None:
    if rate_check is None or isinstance(voter, ServiceError):
        return None
    wait = rate_check(voter.id, ip)
    return rate_limited(wait) if wait else None


def _cast(session: Session, requests: Sequence[VoteRequest], voters: list[Annotator | ServiceError],
          limited: list[ServiceError | None], max_comment: int, labels: dict[str, str]) -> list[dict[str, Any] | ServiceError]:
    keys = {r.ballot.idempotency_key for r in requests}
    earlier = {v.idempotency_key: v for v in session.execute(select(*_VOTE).where(Vote.idempotency_key.in_(keys)))}
    battles = {b.id: b for b in session.execute(select(*_BATTLE).where(Battle.id.in_({r.battle_id for r in requests})))}
    results: list[dict[str, Any] | ServiceError] = []
    new: list[tuple[int, dict[str, Any]]] = []  # (position in results, vote row)
    claimed: set[str] = set()
    for r, voter, refused in zip(requests, voters, limited, strict=True):
        try:
            if isinstance(voter, ServiceError):
                raise voter
            if refused:
                raise refused
            key = r.ballot.idempotency_key
            if key in earlier:  # a retry: answer as the first time
                results.append(_replay(earlier[key], voter, r.battle_id, battles, labels))
                continue
            row = _new_vote(voter, r, battles.get(r.battle_id), claimed, max_comment)
        except ServiceError as exc:
            results.append(exc)
            continue
        claimed.add(r.battle_id)
        earlier[row["idempotency_key"]] = _Pending(row)  # a twin later in this batch replays it
        new.append((len(results), row))
        results.append({})  # filled after the insert
    if not new:
        session.rollback()
        return results
    ids = session.scalars(insert(Vote).returning(Vote.id, sort_by_parameter_order=True), [row for _, row in new]).all()
    done = session.execute(update(Battle).where(Battle.id.in_(claimed), Battle.state == "ready")
                           .values(state="voted").execution_options(synchronize_session=False))
    if done.rowcount != len(claimed):
        raise _LostRace
    session.commit()  # acknowledged only once durable
    for (i, row), vote_id in zip(new, ids, strict=True):
        row["id"] = vote_id
        results[i] = reveal(battles[row["battle_id"]], _Pending(row), labels)
    for i, res in enumerate(results):  # twins of new votes in the same batch
        if isinstance(res, _PendingReplay):
            results[i] = reveal(battles[res.vote.row["battle_id"]], res.vote, labels)
    return results


class _Pending:
    """A vote of this batch, readable like a stored one (its id is known after the insert)."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def __getattr__(self, name: str) -> Any:
        return self.row[name]


@dataclass
class _PendingReplay:
    vote: _Pending


def _new_vote(voter: Annotator, r: VoteRequest, battle: Any, claimed: set[str], max_comment: int) -> dict[str, Any]:
    ballot = r.ballot
    if not 8 <= len(ballot.idempotency_key) <= 128:
        raise ServiceError("invalid", "invalid_idempotency_key", "idempotency_key must be 8-128 characters")
    inputs.text("comment", ballot.comment, max_comment, required=False)
    if battle is None:
        raise ServiceError("not_found", "battle_not_found", "no such battle")
    if battle.annotator_id != voter.id:
        raise ServiceError("forbidden", "not_your_battle", "you can only vote on battles you were given")
    if battle.state == "voted" or battle.id in claimed:
        raise ServiceError("conflict", "already_voted", "you already voted on this battle")
    if battle.state != "ready":
        raise ServiceError("conflict", "answers_incomplete", "wait until both answers are complete before voting")
    try:
        verdict = resolve(ballot.content, ballot.language, ballot.overall, ballot.both_bad, battle.position == "a")
        reasons = check_reasons(ballot.reasons, battle.position == "a")
    except VoteError as exc:
        raise ServiceError("invalid", exc.code, str(exc)) from exc
    done = (battle.timings or {}).get("answers_done")
    return dict(battle_id=battle.id, annotator_id=voter.id, idempotency_key=ballot.idempotency_key,
                winner_content=verdict.content, winner_language=verdict.language, winner_overall=verdict.overall,
                winner=verdict.winner, decided_by=verdict.decided_by, both_bad=ballot.both_bad, reasons=reasons,
                comment=(ballot.comment or "").strip() or None, consent_version=voter.consent_version,
                seconds_to_vote=None if done is None else max(datetime.now(UTC).timestamp() - done, 0.0),
                created_at=datetime.now(UTC))


def _replay(vote: Any, voter: Annotator, battle_id: str, battles: dict[str, Any],
            labels: dict[str, str]) -> dict[str, Any] | _PendingReplay:
    if vote.annotator_id != voter.id or vote.battle_id != battle_id:
        raise ServiceError("conflict", "idempotency_key_reused", "this idempotency key was used for another vote")
    if isinstance(vote, _Pending):
        return _PendingReplay(vote)
    return reveal(battles[vote.battle_id], vote, labels)
