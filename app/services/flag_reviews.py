"""Admins' decisions on annotators' quality flags, kept in the database, and who a leaderboard leaves out.

Flags come from arena.quality and are recomputed from the votes whenever they are
needed; what persists is the decision an admin took after reading the evidence.
Decisions are appended (annotator_flag_reviews) and the newest per annotator wins,
so clearing, reopening and clearing again keeps its history. A clear covers the
annotator, not one flag kind: a flag that appears after the clear stays cleared
until an admin reopens it.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import ServiceError
from app.services import inputs
from arena.quality import Flag, annotators_to_exclude, assess_annotators
from arena.records import voted_battle_rows
from db.models import Annotator, AnnotatorFlagReview

CLEARED, REOPENED = "cleared", "reopened"
DECISIONS = (CLEARED, REOPENED)
MAX_REASON = 1000  # KAZARENA_MAX_REASON_CHARS's default; callers pass the setting


def record_review(*, session: Session, annotator_id: int, decision: str, admin_id: int | None,
                  reason: str = "", max_reason: int = MAX_REASON) -> AnnotatorFlagReview:
    """Append an admin's decision on an annotator's flags (it replaces any earlier one)."""
    if decision not in DECISIONS:
        raise ServiceError("invalid", "invalid_decision",
                           f"unknown flag decision {decision!r}; choose one of: {', '.join(DECISIONS)}")
    if session.get(Annotator, annotator_id) is None:
        raise ServiceError("not_found", "not_found", f"no annotator with id {annotator_id}")
    reason = inputs.text("reason", reason, max_reason, required=False, strip=True)
    row = AnnotatorFlagReview(annotator_id=annotator_id, decision=decision, admin_id=admin_id, reason=reason)
    session.add(row)
    session.flush()
    return row


def set_cleared(*, session: Session, annotator_id: int, cleared: bool, admin_id: int | None,
                reason: str = "", max_reason: int = MAX_REASON) -> AnnotatorFlagReview:
    """Clear an annotator's flags (their votes count again) or reopen them."""
    return record_review(session=session, annotator_id=annotator_id, decision=CLEARED if cleared else REOPENED,
                         admin_id=admin_id, reason=reason, max_reason=max_reason)


def latest_reviews(*, session: Session) -> dict[str, AnnotatorFlagReview]:
    """The newest decision per annotator, keyed by annotator id as a string (as in the vote rows)."""
    # ids grow with every insert, so the largest id is the newest even when two timestamps tie
    newest = select(func.max(AnnotatorFlagReview.id)).group_by(AnnotatorFlagReview.annotator_id)
    rows = session.scalars(select(AnnotatorFlagReview).where(AnnotatorFlagReview.id.in_(newest)))
    return {str(r.annotator_id): r for r in rows}


def cleared_annotators(*, session: Session) -> frozenset[str]:
    """Annotator ids (strings) whose flags an admin cleared and did not reopen since."""
    return frozenset(a for a, r in latest_reviews(session=session).items() if r.decision == CLEARED)


def quality_flags(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Flag]]:
    """Flags per annotator id; none while there are too few votes to judge anyone."""
    try:
        report = assess_annotators(list(rows))
    except ValueError:  # no votes yet
        return {}
    out: dict[str, list[Flag]] = defaultdict(list)
    for flag in report.flags:
        out[flag.annotator].append(flag)
    return dict(out)


def flagged_to_exclude(*, session: Session) -> frozenset[str]:
    """Annotators a leaderboard leaves out for an open flag: flagged on the votes (gold battles included,
    banned annotators' votes not) and not cleared by an admin. Banned annotators are out anyway
    (arena.records never returns their votes)."""
    rows = list(voted_battle_rows(session=session, include_gold=True))
    if not rows:
        return frozenset()
    flags = [f for fs in quality_flags(rows).values() for f in fs]
    return annotators_to_exclude(flags, cleared=cleared_annotators(session=session))
