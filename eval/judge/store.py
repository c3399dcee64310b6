"""Judge verdicts in the database (table ``judge_verdicts``): written per order, read back as rows.

Each pair is two rows, one per order, with the raw reply, the prompt hash, the
verdict in model terms and the pair's ``consistent`` flag. Re-judging appends
rows; readers take the newest row per (battle or item, dimension, order, judge).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Battle, JudgeVerdict
from eval.judge.pairwise import PairVerdict, combine

__all__ = ["battles_by_id", "battles_to_judge", "existing_battles", "judge_models", "judged_pairs", "save_verdicts", "verdict_rows"]

JUDGEABLE_STATES = ("ready", "voted")


def battles_to_judge(session: Session, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Battles with both answers in (state ready or voted), oldest first, as LMArena-style rows."""
    query = select(Battle).where(Battle.state.in_(JUDGEABLE_STATES)).order_by(Battle.created_at, Battle.id)
    if limit is not None:
        query = query.limit(limit)
    return [
        {"battle_id": b.id, "model_a": b.model_a, "model_b": b.model_b, "topic": b.topic,
         "conversation_a": b.conversation_a, "conversation_b": b.conversation_b}
        for b in session.scalars(query)
    ]


def existing_battles(session: Session, ids: Collection[str]) -> set[str]:
    """Which of ``ids`` are battles in this database (the rest are stored as item ids)."""
    found: set[str] = set()
    ids = list(ids)
    for start in range(0, len(ids), 500):
        found.update(session.scalars(select(Battle.id).where(Battle.id.in_(ids[start : start + 500]))))
    return found


def judged_pairs(session: Session, judge_model: str, prompt_hashes: Collection[str]) -> set[tuple[str, str]]:
    """(battle or item id, dimension) already judged by this model with one of these prompts, both orders valid."""
    rows = session.execute(
        select(JudgeVerdict.battle_id, JudgeVerdict.item_id, JudgeVerdict.dimension, JudgeVerdict.order,
               JudgeVerdict.verdict)
        .where(JudgeVerdict.judge_model == judge_model, JudgeVerdict.prompt_hash.in_(list(prompt_hashes)))
        .order_by(JudgeVerdict.id)
    )
    latest: dict[tuple[str, str, str], str] = {}
    for battle_id, item_id, dimension, order, verdict in rows:
        latest[(battle_id or item_id, dimension, order)] = verdict
    return {
        (key, dim) for (key, dim, order), verdict in latest.items()
        if order == "ab" and verdict != "invalid" and latest.get((key, dim, "ba"), "invalid") != "invalid"
    }


def save_verdicts(session: Session, verdicts: Iterable[PairVerdict], *, battle_ids: Collection[str] = ()) -> int:
    """Add two rows per pair; ``battle_ids``: ids known to be battles here (others go in item_id)."""
    n = 0
    for v in verdicts:
        battle_id = v.item.battle_id or v.item.id
        for order in (v.ab, v.ba):
            session.add(JudgeVerdict(
                battle_id=battle_id if battle_id in battle_ids else None, item_id=v.item.id,
                judge_model=v.judge_model, prompt_hash=v.prompt_hash, dimension=v.item.dimension,
                order=order.order, verdict=order.verdict, raw_text=order.raw_text, consistent=v.consistent,
                prompt_tokens=order.prompt_tokens, completion_tokens=order.completion_tokens,
            ))
            n += 1
    return n


def judge_models(session: Session) -> list[str]:
    return sorted(session.scalars(select(JudgeVerdict.judge_model).distinct()))


def verdict_rows(session: Session, judge_model: str, *, battles_only: bool = True) -> list[dict[str, Any]]:
    """One row per judged pair: the newest ``ab`` and ``ba`` verdicts and their combination.

    Row keys: ``battle_id``, ``item_id``, ``dimension``, ``judge_model``, ``prompt_hash``,
    ``verdict_ab``, ``verdict_ba``, ``verdict`` (combined), ``consistent``.
    """
    query = select(JudgeVerdict).where(JudgeVerdict.judge_model == judge_model).order_by(JudgeVerdict.id)
    if battles_only:
        query = query.where(JudgeVerdict.battle_id.is_not(None))
    latest: dict[tuple[str, str], dict[str, JudgeVerdict]] = {}
    for row in session.scalars(query):
        latest.setdefault((row.battle_id or row.item_id or "", row.dimension), {})[row.order] = row
    out = []
    for (_, dimension), orders in latest.items():
        if set(orders) != {"ab", "ba"}:
            continue  # half a pair (an interrupted write): not a verdict
        ab, ba = orders["ab"], orders["ba"]
        verdict, consistent = combine(ab.verdict, ba.verdict)
        out.append({
            "battle_id": ab.battle_id, "item_id": ab.item_id, "dimension": dimension,
            "judge_model": judge_model, "prompt_hash": ab.prompt_hash,
            "verdict_ab": ab.verdict, "verdict_ba": ba.verdict, "verdict": verdict, "consistent": consistent,
        })
    return out


def battles_by_id(session: Session, ids: Collection[str]) -> list[dict[str, Any]]:
    """``battle_id, model_a, model_b, topic, conversation_a, conversation_b`` of the given battles."""
    ids = list(ids)
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        for b in session.scalars(select(Battle).where(Battle.id.in_(ids[start : start + 500]))):
            out.append({"battle_id": b.id, "model_a": b.model_a, "model_b": b.model_b, "topic": b.topic,
                        "conversation_a": b.conversation_a, "conversation_b": b.conversation_b})
    return out
