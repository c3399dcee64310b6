"""Who may do what: API keys, annotator sessions, bans, roles and rate limits, checked here once.

Every entry point (REST routes, Gradio handlers, the vote writer) hands the
caller's credentials to a service as a `Caller`; the service admits it with
the functions below before it acts. The edges only read the credentials off
the request (header, cookie, browser state) and translate refusals.
"""

import ipaddress
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """`KAZARENA_TRUSTED_PROXIES` ("10.0.0.1, 172.16.0.0/12") as networks; a bad entry is a start-up error."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"KAZARENA_TRUSTED_PROXIES: {exc}") from exc


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy; then the nearest address
    in `X-Forwarded-For` that is not one of our proxies (the ones left of it could be forged)."""
    def ours(ip: object) -> bool:
        return ip is not None and any(ip in net for net in trusted)

    address = peer or "unknown"
    if not forwarded_for or not ours(_address(address)):
        return address
    for hop in reversed(forwarded_for.split(",")):
        ip = _address(hop)
        if ip is None:
            return address  # a malformed chain: believe only the proxy itself
        if not ours(ip):
            return str(ip)
    return address


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


def within_limit(limiter: RateLimiter, subject: str | None, ip: str) -> ServiceError | None:
    """Count one action of `subject` (an annotator, a key, a conversation) from `ip`; the refusal when over."""
    wait = limiter.check(subject, ip)
    return rate_limited(wait) if wait else None


def count(limiter: RateLimiter, subject: str | None, ip: str) -> None:
    """`within_limit`, raising the refusal."""
    if (refusal := within_limit(limiter, subject, ip)) is not None:
        raise refusal


def limited(session: Session, caller: Caller, limiter: RateLimiter) -> Annotator:
    """The caller's annotator, counted against `limiter`; raises the refusal."""
    who = annotator(session, caller)
    count(limiter, f"annotator:{who.id}", caller.ip)
    return who
