"""Casting a vote: once per battle per annotator, idempotent, only on complete answers.

The database enforces the rules that must survive concurrency: one vote per
(battle, annotator) and one vote per idempotency key. A vote is acknowledged
only after its transaction committed.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.services.arena import ArenaError
from arena.votes import VoteError, resolve
from db.models import Annotator, Battle, Vote


@dataclass(frozen=True)
class Ballot:
    content: str
    language: str
    overall: str | None = None
    both_bad: bool = False
    comment: str | None = None
    idempotency_key: str = ""


def reveal(battle: Battle, vote: Vote, labels: dict[str, str]) -> dict[str, Any]:
    """The answer to a vote: who was left and right, and how the vote was read."""
    left, right = (battle.model_a, battle.model_b) if battle.position == "a" else (battle.model_b, battle.model_a)
    return {"battle_id": battle.id, "vote_id": vote.id,
            "left": {"model": left, "label": labels.get(left, left)},
            "right": {"model": right, "label": labels.get(right, right)},
            "winner": vote.winner, "decided_by": vote.decided_by,
            "winner_content": vote.winner_content, "winner_language": vote.winner_language,
            "winner_overall": vote.winner_overall}


def cast_vote(*, session: Session, annotator: Annotator, battle_id: str, ballot: Ballot,
              max_comment: int, labels: dict[str, str]) -> dict[str, Any]:
    if not 8 <= len(ballot.idempotency_key) <= 128:
        raise ArenaError(400, "invalid_idempotency_key", "idempotency_key must be 8-128 characters")
    if ballot.comment is not None and len(ballot.comment) > max_comment:
        raise ArenaError(400, "comment_too_long", f"comments are limited to {max_comment} characters")
    earlier = session.scalar(select(Vote).where(Vote.idempotency_key == ballot.idempotency_key))
    if earlier is not None:
        return _replay(session, earlier, annotator, battle_id, labels)
    battle = session.get(Battle, battle_id)
    if battle is None:
        raise ArenaError(404, "battle_not_found", "no such battle")
    if battle.annotator_id != annotator.id:
        raise ArenaError(403, "not_your_battle", "you can only vote on battles you were given")
    if battle.state == "voted":
        raise ArenaError(409, "already_voted", "you already voted on this battle")
    if battle.state != "ready":
        raise ArenaError(409, "answers_incomplete", "wait until both answers are complete before voting")
    try:
        verdict = resolve(ballot.content, ballot.language, ballot.overall, ballot.both_bad, battle.position == "a")
    except VoteError as exc:
        raise ArenaError(400, exc.code, str(exc)) from exc
    done = battle.timings.get("answers_done")
    vote = Vote(battle_id=battle.id, annotator_id=annotator.id, idempotency_key=ballot.idempotency_key,
                winner_content=verdict.content, winner_language=verdict.language, winner_overall=verdict.overall,
                winner=verdict.winner, decided_by=verdict.decided_by, both_bad=ballot.both_bad,
                comment=(ballot.comment or "").strip() or None, consent_version=annotator.consent_version,
                seconds_to_vote=None if done is None else max(datetime.now(UTC).timestamp() - done, 0.0))
    battle.state = "voted"
    session.add(vote)
    try:
        session.commit()  # acknowledged only once durable
    except IntegrityError:
        session.rollback()  # a concurrent twin won the race: answer as it was answered
        earlier = session.scalar(select(Vote).where(Vote.idempotency_key == ballot.idempotency_key))
        if earlier is not None:
            return _replay(session, earlier, annotator, battle_id, labels)
        raise ArenaError(409, "already_voted", "you already voted on this battle") from None
    return reveal(battle, vote, labels)


def _replay(session: Session, vote: Vote, annotator: Annotator, battle_id: str, labels: dict[str, str]) -> dict[str, Any]:
    if vote.annotator_id != annotator.id or vote.battle_id != battle_id:
        raise ArenaError(409, "idempotency_key_reused", "this idempotency key was used for another vote")
    return reveal(session.get(Battle, vote.battle_id), vote, labels)  # type: ignore[arg-type]
