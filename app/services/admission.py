"""Who may do what: API keys, annotator sessions, bans, roles and rate limits, checked here once.

Every entry point (REST routes, Gradio handlers, the vote writer) hands the
caller's credentials to a service as a `Caller`; the service admits it with
the functions below before it acts. The edges only read the credentials off
the request (header, cookie, browser state) and translate refusals.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.crud import KeyCache
from app.errors import ServiceError, rate_limited
from app.services.accounts import annotators_for_tokens
from app.services.ratelimit import RateLimiter
from db.models import Annotator

LOGIN_REQUIRED = ServiceError("unauthenticated", "login_required", "log in first (your session may have expired)")


@dataclass(frozen=True)
class Caller:
    """The credentials a request came with: an annotator session token (if any) and the client's IP."""

    token: str | None = None
    ip: str = "unknown"


def api_key(key_cache: KeyCache, authorization: str, *, required: bool) -> int | None:
    """The key id behind an `Authorization: Bearer <key>` header; None when keys are not required."""
    if not required:
        return None
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ServiceError("unauthenticated", "unauthorized",
                           "send `Authorization: Bearer <key>`; create a key with `kazarena apikey create`")
    key_id = key_cache.lookup(key.strip())
    if key_id is None:
        raise ServiceError("unauthenticated", "invalid_api_key", "this API key is unknown or revoked")
    return key_id


def annotators(session: Session, callers: Sequence[Caller]) -> list[Annotator | ServiceError]:
    """Each caller's live, unbanned annotator or the refusal, in one query for them all."""
    live = annotators_for_tokens(session=session, tokens={c.token for c in callers if c.token})
    out: list[Annotator | ServiceError] = []
    for c in callers:
        who = live.get(c.token or "")
        if who is None:
            out.append(LOGIN_REQUIRED)
        elif who.banned:  # the session stays, so the person is told why rather than asked to log in again
            out.append(ServiceError("forbidden", "banned", f"this account is suspended: {who.ban_reason or 'no reason given'}"))
        else:
            out.append(who)
    return out


def annotator(session: Session, caller: Caller) -> Annotator:
    """The caller's annotator; 401 without a live session, 403 when banned."""
    [who] = annotators(session, [caller])
    if isinstance(who, ServiceError):
        raise who
    return who


def admin(session: Session, caller: Caller) -> Annotator:
    who = annotator(session, caller)
    if who.role != "admin":
        raise ServiceError("forbidden", "admin_only", "only administrators may do this")
    return who


def within_limit(limiter: RateLimiter, annotator_id: int, caller: Caller) -> ServiceError | None:
    """Count one action of this annotator (and IP); the refusal when over the limit."""
    wait = limiter.check(f"a:{annotator_id}", f"ip:{caller.ip}")
    return rate_limited(wait) if wait else None


def limited(session: Session, caller: Caller, limiter: RateLimiter) -> Annotator:
    """The caller's annotator, counted against `limiter`; raises the refusal."""
    who = annotator(session, caller)
    if (refusal := within_limit(limiter, who.id, caller)) is not None:
        raise refusal
    return who
