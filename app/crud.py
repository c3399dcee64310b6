"""Database helpers shared by several callers (API routes, CLI, UI). Keyword-only."""

import hashlib
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ApiKey, Generation, Message
from db.session import session_scope

log = logging.getLogger(__name__)
KEY_PREFIX = "kza_"


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 cannot be brute-forced;
    # a slow password hash would only add latency to every request.
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, session: Session, name: str) -> tuple[ApiKey, str]:
    """Store a new key's hash; the plain key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[: len(KEY_PREFIX) + 6], key_hash=hash_key(key))
    session.add(row)
    session.flush()
    return row, key


def list_api_keys(*, session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(*, session: Session, key_id: int) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row


class KeyCache:
    """Remembers valid keys for `ttl_s` so a burst of requests costs one query.

    Only valid keys are remembered, for a short, stated time (1 s by default): a revocation is seen
    by every app process within that second (and at once by the one that revoked, which evicts it);
    an unknown key is looked up every time, so a new key works at once.
    """

    def __init__(self, database_url: str, ttl_s: float = 1.0) -> None:
        self.url, self.ttl = database_url, ttl_s
        self._valid: dict[str, tuple[int, float]] = {}

    def lookup(self, key: str) -> int | None:
        digest = hash_key(key)
        hit = self._valid.get(digest)
        if hit and time.monotonic() - hit[1] < self.ttl:
            return hit[0]
        with session_scope(self.url) as s:
            key_id = s.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
        if key_id is None:
            self._valid.pop(digest, None)
        else:
            self._valid[digest] = (key_id, time.monotonic())
        return key_id

    def evict(self, key_id: int) -> None:
        self._valid = {d: hit for d, hit in self._valid.items() if hit[0] != key_id}


def record_generation(database_url: str, fields: dict[str, Any]) -> None:
    """Store one generation. Called off the request path; never raises."""
    try:
        with session_scope(database_url) as s:
            s.add(Generation(**fields))
    except Exception:  # noqa: BLE001 - logging the call must not fail the answer
        log.exception("could not record generation for model %s", fields.get("model"))


# ------------------------------------------------------------------ chat
def chat_messages(*, session: Session, conversation_id: str) -> list[Message]:
    """A citizen chat conversation in order."""
    query = (select(Message)
             .where(Message.conversation_id == conversation_id)
             .order_by(Message.turn, Message.id))
    return list(session.scalars(query))


def add_chat_message(*, session: Session, conversation_id: str, turn: int, role: str, content: str,
                     model: str | None = None, language: str | None = None,
                     sources: list[Any] | None = None) -> Message:
    row = Message(conversation_id=conversation_id, turn=turn, role=role, content=content, model=model,
                  language=language, sources=sources)
    session.add(row)
    session.flush()
    return row


def next_chat_turn(*, session: Session, conversation_id: str) -> int:
    last = session.scalar(select(func.max(Message.turn)).where(
        Message.conversation_id == conversation_id))
    return 1 if last is None else last + 1


def chat_message(*, session: Session, message_id: int, conversation_id: str) -> Message | None:
    """One chat message, only if it belongs to `conversation_id` (the anonymous owner's key)."""
    row = session.get(Message, message_id)
    if row is None or row.conversation_id != conversation_id:
        return None
    return row
