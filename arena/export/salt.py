"""The secret salt of exported annotator ids: refuse one anyone could guess, and make one at first use.

Annotator ids are small integers, so an HMAC of them under a known salt is reversed by
hashing 1, 2, 3, ... The salt therefore has to be secret and long:

- ``KAZARENA_SECRET_SALT``, when the operator sets it, is used as given, but only if it is
  at least ``MIN_SALT_CHARS`` characters, not a published default (``KNOWN_SALTS``, among
  them the old development default "dev-salt-change-me") and not one character repeated.
  An empty value is refused too (it is set, and it is no secret).
- When it is not set, the salt is generated at the first export (``secrets.token_urlsafe``,
  256 bits) and kept in the database, in the one-row table ``export_secret`` (migration
  0006). Why the database and not a file in the cache dir: the salt must live exactly as
  long as the ids it hides. The database is what is backed up and what the compose file keeps
  on a volume, while the cache dir (prepared models, indexes) is rebuilt freely and is not
  on a volume in the container; and the CLI and the REST export, which may run on different
  hosts, read the same database and so give the same hashes. Whoever can read that table can
  read the annotators table as well, so keeping the salt there tells them nothing new; the
  salt protects the published dataset, whose readers have neither.

``export_dataset`` calls ``check_salt``, so no caller can export with a weak salt; the CLI and
REST call ``resolve_salt`` to get the one to use.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

__all__ = ["KNOWN_SALTS", "MIN_SALT_CHARS", "WeakSaltError", "check_salt", "resolve_salt", "stored_salt",
           "weak_salt_reason"]

MIN_SALT_CHARS = 16
KNOWN_SALTS = frozenset({"dev-salt-change-me", "change-me", "changeme", "secret", "salt", "kazarena",
                         "kazarena-secret-salt", "password"})


class WeakSaltError(ValueError):
    """The salt is one anyone could guess; the message says why and what to do."""


def weak_salt_reason(salt: str) -> str | None:
    """Why ``salt`` could be guessed, or None if it will do."""
    if not salt.strip():
        return "the secret salt is empty"
    if salt.strip().lower() in KNOWN_SALTS:
        return "the secret salt is a published default"
    if len(salt) < MIN_SALT_CHARS:
        return f"the secret salt is shorter than {MIN_SALT_CHARS} characters"
    if len(set(salt)) == 1:
        return "the secret salt is one character repeated"
    return None


def check_salt(salt: str) -> str:
    """``salt`` if no one could guess it; otherwise ``WeakSaltError``."""
    reason = weak_salt_reason(salt) if isinstance(salt, str) else "the secret salt is not a string"
    if reason is not None:
        raise WeakSaltError(f"{reason}: anyone could reverse the annotator ids of the export. Set "
                            f"KAZARENA_SECRET_SALT to a random string of at least {MIN_SALT_CHARS} characters "
                            "(python -c 'import secrets; print(secrets.token_urlsafe(32))'), or unset it to "
                            "use the salt generated and kept in the database")
    return salt


def stored_salt(session: Session) -> str:
    """The salt kept in the database, generated and stored (in this session's transaction) at first use."""
    from db.models import ExportSecret

    row = session.get(ExportSecret, 1)
    if row is None:
        try:
            with session.begin_nested():
                session.add(ExportSecret(id=1, salt=secrets.token_urlsafe(32)))
        except IntegrityError:  # another export stored one first: use that one
            pass
        row = session.get(ExportSecret, 1, populate_existing=True)
        assert row is not None
    return check_salt(row.salt)


def resolve_salt(session: Session, configured: str | None) -> str:
    """The operator's salt if one is configured (refused if weak), else the stored one."""
    if configured is None:
        return stored_salt(session)
    return check_salt(configured)
