"""What admins do to annotators: list them with their evidence, ban and unban, clear and reopen flags.

The same functions serve `/api/arena/admin/*` and the Admin panel; each admits
the caller as an admin first.
"""

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ServiceError
from app.services import accounts, admission, flag_reviews, inputs
from app.services.admission import Caller
from arena.records import voted_battle_rows
from db.models import Annotator


def public(a: Annotator) -> dict[str, Any]:
    """What an annotator's account looks like to them and to admins (no password hash, no profile)."""
    return {"id": a.id, "username": a.username, "role": a.role, "proficiency": a.proficiency,
            "script": a.script, "consent_version": a.consent_version, "banned": a.banned}


def annotators(*, session: Session, caller: Caller) -> list[dict[str, Any]]:
    """Every annotator with ban state, vote count, quality flags (with evidence) and the admin's decision."""
    admission.admin(session, caller)
    people = list(session.scalars(select(Annotator).order_by(Annotator.id)))
    rows = list(voted_battle_rows(session=session, include_banned=True, include_gold=True))
    reviews = flag_reviews.latest_reviews(session=session)
    votes = Counter(r["annotator"] for r in rows)
    flags = flag_reviews.quality_flags(rows)
    out = []
    for a in people:
        key, review = str(a.id), reviews.get(str(a.id))
        out.append(public(a) | {
            "ban_reason": a.ban_reason, "votes": votes.get(key, 0),
            "flags": [{"kind": f.kind, "message": f.message, "evidence": dict(f.evidence)} for f in flags.get(key, [])],
            "flags_cleared": review is not None and review.decision == flag_reviews.CLEARED,
            "review_reason": review.reason if review is not None else None})
    return out


def set_ban(*, session: Session, caller: Caller, annotator_id: int, banned: bool, reason: str | None,
            max_reason: int) -> Annotator:
    """Ban with a reason (no more votes; earlier votes stay stored but leave the statistics), or unban."""
    who = admission.admin(session, caller)
    if banned and who.id == annotator_id:
        raise ServiceError("conflict", "cannot_ban_self", "an administrator cannot ban their own account")
    reason = inputs.text("reason", reason, max_reason, required=False, strip=True)
    return accounts.set_ban(session=session, annotator_id=annotator_id, banned=banned, reason=reason)


def review_flags(*, session: Session, caller: Caller, annotator_id: int, cleared: bool, reason: str,
                 max_reason: int) -> dict[str, Any]:
    """Clear an annotator's quality flags (their votes count again) or reopen them; the decision is kept."""
    who = admission.admin(session, caller)
    row = flag_reviews.set_cleared(session=session, annotator_id=annotator_id, cleared=cleared, admin_id=who.id,
                                   reason=reason, max_reason=max_reason)
    return {"annotator_id": row.annotator_id, "decision": row.decision, "admin_id": row.admin_id, "reason": row.reason}
