"""The arena's ratings and the judge's agreement with people, as the Leaderboard tab, the REST API and
`kazarena leaderboard` read them from the database.

Votes of banned annotators never enter (arena.records); with `exclude_flagged`, annotators with an
open quality flag (not cleared by an admin) and battles flagged one by one are left out too.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services import flag_reviews
from arena.battle_table import BattleTable, NoBattlesError, prepare_battles, topics
from arena.ratings.leaderboard import Leaderboard, build_leaderboard
from arena.records import voted_battle_rows
from db.models import JudgeVerdict

ROUNDS, SEED = 1000, 0  # bootstrap rounds for the intervals; fixed seed: the same data gives the same table


@dataclass(frozen=True)
class Selection:
    """What a board is asked for, and what came of it: the table to fit (None when nothing is left)."""

    table: BattleTable | None
    excluded: frozenset[str]        # annotators left out for an open flag
    topics: tuple[str, ...]         # topics with votes, for the picker
    topic: str | None = None        # the topic rated: None for all (also when the one asked for has no votes)
    empty_reason: str | None = None  # "no_votes" | "no_selection" when `table` is None


def select_battles(*, session: Session, dimension: str = "overall", topic: str | None = None,
                   exclude_flagged: bool = True) -> Selection:
    rows = list(voted_battle_rows(session=session))
    if not rows:
        return Selection(None, frozenset(), (), empty_reason="no_votes")
    excluded = flag_reviews.flagged_to_exclude(session=session) if exclude_flagged else frozenset()
    known = tuple(topics(rows))
    topic = topic if topic in known else None
    try:
        table = prepare_battles(rows, dimension=dimension or "overall", topic=topic,
                                exclude_annotators=excluded, exclude_flagged=exclude_flagged, drop_invalid=True)
    except NoBattlesError:
        return Selection(None, excluded, known, topic, "no_selection")
    return Selection(table, excluded, known, topic)


def fit(table: BattleTable) -> Leaderboard:
    return build_leaderboard(table, rounds=ROUNDS, seed=SEED)


def judge_report(*, session: Session, describe: Callable[[str], str]) -> dict[str, Any] | None:
    """The judge-vs-people report for the judge with the newest verdicts; None when there are none.

    The same store queries and report builder as `kazarena agreement` without label files.
    """
    from eval.judge.agreement import judge_human_report
    from eval.judge.store import battles_by_id, judge_models, verdict_rows

    models = judge_models(session)
    if not models:
        return None
    judge_model = _newest_judge(session) or models[0]
    verdicts = verdict_rows(session, judge_model)
    votes = list(voted_battle_rows(session=session))
    battles = battles_by_id(session, {str(v["battle_id"]) for v in verdicts})
    report = judge_human_report(votes, verdicts, battles, judge=describe(judge_model),
                                dimensions=["content", "language"], rounds=ROUNDS, seed=SEED)
    report["judge_model"], report["other_judges"] = judge_model, [m for m in models if m != judge_model]
    return report



def _newest_judge(session: Session) -> str | None:
    return session.scalars(select(JudgeVerdict.judge_model).group_by(JudgeVerdict.judge_model)
                           .order_by(func.max(JudgeVerdict.id).desc())).first()


def judge_trusted_topics(*, session: Session, threshold: float) -> frozenset[str] | None:
    """Topics where the newest judge has earned trust on both content and language (any language); None
    when no judge has given verdicts yet. The arena sends the other topics' tasks to people first."""
    from eval.judge.agreement import trust_pairs
    from eval.judge.store import battles_by_id, verdict_rows
    from eval.judge.trust import judge_trust

    judge_model = _newest_judge(session)
    if judge_model is None:
        return None
    verdicts = verdict_rows(session, judge_model)
    battles = battles_by_id(session, {str(v["battle_id"]) for v in verdicts})
    # The decision reads the point kappa and the count only, so one bootstrap round is enough here.
    trust = judge_trust(trust_pairs(list(voted_battle_rows(session=session)), verdicts, battles),
                        threshold=threshold, rounds=1)
    trusted: dict[str, set[str]] = {}
    for cell in trust.cells:
        if cell.trusted:
            trusted.setdefault(cell.topic, set()).add(cell.dimension)
    return frozenset(topic for topic, dims in trusted.items() if dims >= {"content", "language"})
