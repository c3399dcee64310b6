"""A small on-disk cache of judge replies, so a re-run (or a resumed run) costs nothing.

Keyed by the sha256 of (judge model, prompt hash, the data judged, the order and the
generation settings). Only parsed verdicts are stored: an unparsable reply or a
failed call is tried again next time. One SQLite file; each reply is committed as it
arrives, which is what makes an interrupted run resumable.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CachedReply", "JudgeCache", "cache_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS judge_cache (
    key TEXT PRIMARY KEY,
    judge_model TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    digit TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def cache_key(judge_model: str, prompt_hash: str, inputs: dict[str, Any], settings: dict[str, Any]) -> str:
    """sha256 over everything that decides the reply; ``inputs`` in the order they were shown."""
    blob = json.dumps(
        {"model": judge_model, "prompt": prompt_hash, "inputs": inputs, "settings": settings},
        ensure_ascii=False, sort_keys=True,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedReply:
    digit: str  # "0" | "1" | "2" as shown to the judge
    raw_text: str
    prompt_tokens: int
    completion_tokens: int


class JudgeCache:
    """SQLite-backed ``key -> CachedReply``. Safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, key: str) -> CachedReply | None:
        with self._lock:
            row = self._db.execute(
                "SELECT digit, raw_text, prompt_tokens, completion_tokens FROM judge_cache WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else CachedReply(*row)

    def put(self, key: str, judge_model: str, prompt_hash: str, reply: CachedReply) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judge_cache (key, judge_model, prompt_hash, digit, raw_text, "
                "prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, judge_model, prompt_hash, reply.digit, reply.raw_text, reply.prompt_tokens,
                 reply.completion_tokens),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM judge_cache").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
