"""Voted battles from the database as plain rows in the LMArena/FastChat schema.

The statistics never see ORM objects: this is the one place that turns the
battles and votes tables into rows (dicts) for arena.ratings, arena.quality and
the exports. Votes of banned annotators stay in the database but are left out
here, as are gold control battles unless asked for.
"""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Annotator, Battle, Vote


def voted_battle_rows(*, session: Session, include_banned: bool = False, include_gold: bool = False,
                      include_flagged: bool = True, chunk_size: int = 5000) -> Iterator[dict[str, Any]]:
    """One row per vote, in vote order, read in chunks so memory stays flat."""
    query = (select(Vote, Battle, Annotator.banned).join(Battle, Vote.battle_id == Battle.id)
             .join(Annotator, Vote.annotator_id == Annotator.id).order_by(Vote.id))
    if not include_banned:
        query = query.where(Annotator.banned.is_(False))
    if not include_gold:
        query = query.where(Battle.gold.is_(False))
    if not include_flagged:
        query = query.where(Battle.flagged.is_(False))
    for vote, battle, banned in session.execute(query.execution_options(yield_per=chunk_size)):
        yield {
            # copies sent to more annotators share their original's id: the unit of inter-annotator agreement
            "battle_id": battle.id,
            "question_id": battle.task_id.removeprefix("overlap:") if (battle.task_id or "").startswith("overlap:") else battle.id,
            "model_a": battle.model_a, "model_b": battle.model_b,
            "winner": vote.winner, "winner_content": vote.winner_content,
            "winner_language": vote.winner_language, "winner_overall": vote.winner_overall or vote.winner,
            "annotator": str(vote.annotator_id), "banned": banned,
            "tstamp": vote.created_at.timestamp(), "answers_tstamp": battle.timings.get("answers_done"),
            "turn": battle.turn, "topic": battle.topic, "mode": battle.mode,
            "sampling_prob": battle.sampling_prob,
            "position": battle.position, "gold": battle.gold_better if battle.gold else None,
            "flagged": battle.flagged,
            "conversation_a": battle.conversation_a, "conversation_b": battle.conversation_b,
        }
