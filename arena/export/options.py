"""What to export: the file format, a time window, a set of models, and which rows to let in."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["FORMATS", "ExportOptions", "IdHasher", "parse_bound", "split_models"]

FORMATS = ("parquet", "jsonl", "both")


def parse_bound(text: str | date | datetime | None, *, end: bool = False) -> datetime | None:
    """A window bound in UTC from ``YYYY-MM-DD`` or an ISO date-time.

    A bare date as the end bound means "up to and including that day", so it becomes
    the next midnight (the end bound is exclusive). Naive date-times are read as UTC.
    """
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, date):
        value = datetime(text.year, text.month, text.day) + (timedelta(days=1) if end else timedelta())
    else:
        raw = text.strip()
        try:
            if len(raw) == 10:
                day = date.fromisoformat(raw)
                return parse_bound(day, end=end)
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"not a date: {text!r}; use YYYY-MM-DD or an ISO date-time such as "
                             "2026-01-31T12:00:00+05:00") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def split_models(values: list[str] | None) -> tuple[str, ...]:
    """``["a,b", "c"]`` → ("a", "b", "c"), order kept, duplicates dropped."""
    names: list[str] = []
    for value in values or []:
        for name in value.split(","):
            name = name.strip()
            if not name:
                raise ValueError(f"--models: empty model name in {value!r}")
            if name not in names:
                names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class ExportOptions:
    """``since`` is inclusive, ``until`` exclusive (see ``parse_bound``); ``models`` keeps
    battles whose two models are both listed (empty: all models)."""

    fmt: str = "parquet"
    since: datetime | None = None
    until: datetime | None = None
    models: tuple[str, ...] = ()
    include_flagged: bool = False
    include_gold: bool = False
    include_banned: bool = False
    row_group_size: int = 10_000
    chunk_size: int = 5_000

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown format {self.fmt!r}; choose one of {', '.join(FORMATS)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware (use parse_bound)")
        if self.since and self.until and self.since >= self.until:
            raise ValueError(f"--since {self.since.isoformat()} is not before --until {self.until.isoformat()}")
        if any(not m.strip() for m in self.models):
            raise ValueError("--models: empty model name")
        if self.row_group_size < 1 or self.chunk_size < 1:
            raise ValueError("row_group_size and chunk_size must be positive")

    @classmethod
    def from_args(cls, *, fmt: str = "parquet", since: str | None = None, until: str | None = None,
                  models: list[str] | None = None, include_flagged: bool = False, include_gold: bool = False,
                  include_banned: bool = False) -> ExportOptions:
        """Options as a command line or a query string gives them: dates as text, models
        repeated and/or comma-separated; a bare ``until`` date includes that day."""
        return cls(fmt=fmt, since=parse_bound(since), until=parse_bound(until, end=True),
                   models=split_models(models), include_flagged=include_flagged,
                   include_gold=include_gold, include_banned=include_banned)

    @property
    def formats(self) -> tuple[str, ...]:
        return ("parquet", "jsonl") if self.fmt == "both" else (self.fmt,)


class IdHasher:
    """HMAC-SHA256 under the secret salt: stable across exports with one salt, unlinkable
    across salts, and not reversible by hashing every small integer (unlike a plain hash)."""

    def __init__(self, salt: str) -> None:
        if not salt:
            raise ValueError("the secret salt is empty; set KAZARENA_SECRET_SALT")
        self._key = salt.encode("utf-8")
        self._cache: dict[str, str] = {}

    def __call__(self, value: int | str) -> str:
        text = str(value)
        hashed = self._cache.get(text)
        if hashed is None:
            hashed = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
            if len(self._cache) < 100_000:  # annotators are few; conversation ids are not
                self._cache[text] = hashed
        return hashed

    def key_id(self) -> str:
        """A short fingerprint of the salt, so two exports can be seen to share hashes."""
        return self("kazarena-export-key-id")[:12]
