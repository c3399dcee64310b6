"""Annotator accounts: registration with consent, password login, expiring sessions, bans."""

import math
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.crud import hash_key
from app.errors import ServiceError
from app.services.throttle import LoginThrottle
from db.models import Annotator, AnnotatorSession

CONSENT_VERSION = "2026-11-v1"
PROFICIENCY = ("native", "C1-C2", "B1-B2", "A1-A2")
SCRIPTS = ("cyrillic", "latin")
SESSION_PREFIX = "ks_"
_USERNAME = re.compile(r"^[\w.-]{3,32}$", re.UNICODE)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("kazarena: no such user")


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Registration:
    """What a newcomer sends to register (also the body of `POST /api/arena/register`)."""

    username: str
    password: str
    proficiency: str
    education: str = ""
    region: str = ""
    script: str = "cyrillic"
    consent: bool = False
    consent_version: str = CONSENT_VERSION
    age_confirmed: bool = False


def problems(reg: Registration) -> tuple[ServiceError, ...]:
    """Everything wrong with a registration at once, in the order of the form (a person fixes them together)."""
    found = []
    if not _USERNAME.match(reg.username):
        found.append(ServiceError("invalid", "invalid_username", "username: 3-32 letters, digits, '.', '_' or '-'"))
    if not 8 <= len(reg.password) <= 256:
        found.append(ServiceError("invalid", "invalid_password", "password must be 8-256 characters"))
    if reg.proficiency not in PROFICIENCY:
        found.append(ServiceError("invalid", "invalid_proficiency",
                                  f"Kazakh proficiency must be one of {', '.join(PROFICIENCY)}"))
    if reg.script not in SCRIPTS:
        found.append(ServiceError("invalid", "invalid_script", "preferred script must be cyrillic or latin"))
    if len(reg.education) > 64 or len(reg.region) > 64:
        found.append(ServiceError("invalid", "invalid_profile", "education and region: at most 64 characters"))
    if not (reg.consent and reg.age_confirmed):
        found.append(ServiceError("invalid", "consent_required",
                                  "you must be 16 or older and accept the participation notice"))
    elif reg.consent_version != CONSENT_VERSION:
        found.append(ServiceError("invalid", "stale_consent",
                                  f"please read the current notice ({CONSENT_VERSION}) and accept it"))
    return tuple(found)


def validate(reg: Registration) -> None:
    """Refuse with the first problem (the REST error shape carries one code)."""
    if found := problems(reg):
        raise found[0]


def register(*, session: Session, reg: Registration, role: str = "annotator") -> Annotator:
    validate(reg)
    row = Annotator(username=reg.username, password_hash=_hasher.hash(reg.password), role=role,
                    proficiency=reg.proficiency, education=reg.education.strip(), region=reg.region.strip(),
                    script=reg.script, consent_version=reg.consent_version)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ServiceError("conflict", "username_taken", "this username is taken") from exc
    return row


def login(*, session: Session, username: str, password: str, ttl_hours: float,
          throttle: LoginThrottle | None = None, ip: str = "unknown") -> tuple[Annotator, str]:
    """Check the password and open a session; returns the plain token once.

    With a throttle, repeated failures make the caller wait (429 `login_throttled` with Retry-After)
    before the password is even checked; an unknown username costs the same hashing time as a known
    one, so the answer time tells nothing about who has an account.
    """
    if throttle is not None and (wait := throttle.wait(username, ip)):
        raise ServiceError("rate_limited", "login_throttled",
                           f"too many failed logins; try again in {math.ceil(wait)} s", retry_after=wait)
    row = session.scalar(select(Annotator).where(Annotator.username == username))
    try:
        if not _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password) or row is None:
            raise VerificationError
    except (VerificationError, InvalidHashError) as exc:
        if throttle is not None:
            throttle.failed(username, ip)
        raise ServiceError("unauthenticated", "bad_credentials", "wrong username or password") from exc
    if throttle is not None:
        throttle.succeeded(username)
    if row.banned:
        raise ServiceError("forbidden", "banned", f"this account is suspended: {row.ban_reason or 'no reason given'}")
    return row, open_session(session=session, annotator_id=row.id, ttl_hours=ttl_hours)


def open_session(*, session: Session, annotator_id: int, ttl_hours: float) -> str:
    """A new session for an annotator whose password was checked; returns the plain token once."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(delete(AnnotatorSession).where(AnnotatorSession.expires_at < now))  # tidy up old ones
    session.add(AnnotatorSession(token_hash=hash_key(token), annotator_id=annotator_id,
                                 expires_at=now + timedelta(hours=ttl_hours)))
    return token


def annotator_for_token(*, session: Session, token: str) -> Annotator | None:
    """The annotator of a live session, or None (unknown or expired token)."""
    return annotators_for_tokens(session=session, tokens=[token]).get(token)


def annotators_for_tokens(*, session: Session, tokens: Iterable[str]) -> dict[str, Annotator]:
    """The annotators of those tokens whose sessions are live, in one query."""
    by_hash = {hash_key(t): t for t in tokens}
    if not by_hash:
        return {}
    found = session.execute(
        select(Annotator, AnnotatorSession.token_hash, AnnotatorSession.expires_at)
        .join(AnnotatorSession, AnnotatorSession.annotator_id == Annotator.id)
        .where(AnnotatorSession.token_hash.in_(by_hash)))
    now, live = datetime.now(UTC), {}
    for annotator, token_hash, expires in found:
        if expires.tzinfo is None:  # SQLite returns naive datetimes
            expires = expires.replace(tzinfo=UTC)
        if expires > now:
            live[by_hash[token_hash]] = annotator
    return live


def logout(*, session: Session, token: str) -> None:
    session.execute(delete(AnnotatorSession).where(AnnotatorSession.token_hash == hash_key(token)))


def set_ban(*, session: Session, annotator_id: int, banned: bool, reason: str | None) -> Annotator:
    row = session.get(Annotator, annotator_id)
    if row is None:
        raise ServiceError("not_found", "not_found", f"no annotator with id {annotator_id}")
    if banned and not (reason or "").strip():
        raise ServiceError("invalid", "reason_required", "give a reason for the ban")
    row.banned, row.ban_reason, row.banned_at = banned, (reason or "").strip() or None, datetime.now(UTC) if banned else None
    # Sessions are kept: every action admits the caller again (app/services/admission.py) and a banned
    # one is refused with 403 `banned` and the reason, so the person learns why instead of "log in again".
    return row


ROLES = ("annotator", "admin")


def set_role(*, session: Session, username: str, role: str) -> Annotator:
    """Make an existing account an admin or an annotator again; the last admin cannot be demoted,
    or the campaign would be left with no one who can review flags and bans."""
    if role not in ROLES:
        raise ServiceError("invalid", "invalid_role", f"role must be one of {', '.join(ROLES)}")
    row = session.scalar(select(Annotator).where(Annotator.username == username))
    if row is None:
        raise ServiceError("not_found", "not_found", f"no account named {username!r}")
    if row.role == "admin" and role != "admin":
        admins = session.scalar(select(func.count()).select_from(Annotator).where(Annotator.role == "admin"))
        if admins <= 1:
            raise ServiceError("conflict", "last_admin", "this is the only admin; promote another account first")
    row.role = role
    return row
