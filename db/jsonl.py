"""JSON Lines files: the one reader every package uses.

It lives in db/, the bottom layer, so that app/, arena/, eval/ and train/ may
all import it. Blank lines are skipped; a line that is not valid JSON, or is
JSON but not an object, raises ``JsonlError`` (a ``ValueError``) whose message
names the file and the line: ``data/x.jsonl:3: not valid JSON (Expecting ...)``.
Callers with their own error type catch it and re-raise with ``path``, ``line``
and ``reason``. A missing file raises ``FileNotFoundError`` from ``open``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["JsonlError", "iter_jsonl", "read_jsonl"]


class JsonlError(ValueError):
    """A bad line in a JSONL file; ``line`` counts from 1."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = Path(path), line, reason


def iter_jsonl(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line, read lazily (stop early to read less)."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise JsonlError(path, number, f"not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise JsonlError(path, number, f"expected a JSON object, got {type(row).__name__}")
            yield number, row


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Every object of a JSONL file, in file order; blank lines skipped, bad lines raise ``JsonlError``."""
    return [row for _, row in iter_jsonl(path)]
