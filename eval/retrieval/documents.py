"""The grounding corpus format: one JSON document per line.

`{"id", "set", "topic", "title", "source_url", "text"}` - the same shape for the
project's GovSet and CultSet samples and for documents a user brings. An
optional `checked` field (an ISO date, "2026-12-03") says when the text was
last checked against its official source; GovSet carries it, other corpora
may leave it out.
"""

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from db.jsonl import JsonlError, iter_jsonl

REQUIRED_FIELDS = ("id", "set", "topic", "title", "source_url", "text")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Document:
    id: str
    set: str  # the collection it belongs to: "govset", "cultset", or a user's own
    topic: str
    title: str
    source_url: str
    text: str
    checked: str | None = None  # ISO date the text was last checked against its source; None if not given


class DocumentError(ValueError):
    """A corpus file that cannot be used; the message names the file and line."""


def parse_document(row: object, where: str) -> Document:
    """Validate one decoded JSON row; `where` (e.g. "docs.jsonl:12") goes into errors."""
    if not isinstance(row, dict):
        raise DocumentError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [f for f in REQUIRED_FIELDS if f not in row]
    if missing:
        raise DocumentError(f"{where}: missing field(s) {', '.join(missing)}")
    for field in REQUIRED_FIELDS:
        value = row[field]
        if not isinstance(value, str):
            raise DocumentError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
        if not value.strip():
            raise DocumentError(f"{where}: field '{field}' is empty")
    fields = {f: row[f].strip() for f in REQUIRED_FIELDS}
    if "checked" in row:
        fields["checked"] = parse_checked(row["checked"], where)
    return Document(**fields)


def parse_checked(value: object, where: str) -> str:
    """The `checked` field: a real calendar date written as YYYY-MM-DD."""
    if not isinstance(value, str):
        raise DocumentError(f"{where}: field 'checked' must be a string, got {type(value).__name__}")
    value = value.strip()
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise DocumentError(f"{where}: field 'checked' must be an ISO date (YYYY-MM-DD), got {value!r}") from None
    return value


def load_documents(path: Path | str) -> list[Document]:
    """Read and validate a JSONL corpus; ids must be unique within the file."""
    path = Path(path)
    if not path.exists():
        raise DocumentError(f"{path}: no such corpus file")
    docs: list[Document] = []
    seen: dict[str, int] = {}
    try:
        for lineno, row in iter_jsonl(path):
            where = f"{path}:{lineno}"
            doc = parse_document(row, where)
            if doc.id in seen:
                raise DocumentError(f"{where}: duplicate id '{doc.id}' (first on line {seen[doc.id]})")
            seen[doc.id] = lineno
            docs.append(doc)
    except JsonlError as e:
        raise DocumentError(str(e)) from e
    if not docs:
        raise DocumentError(f"{path}: no documents")
    return docs


def load_corpus(paths: Iterable[Path | str]) -> list[Document]:
    """Several corpus files as one list; ids must be unique across all of them."""
    docs: list[Document] = []
    origin: dict[str, Path] = {}
    for path in paths:
        for doc in load_documents(path):
            if doc.id in origin:
                raise DocumentError(f"{path}: id '{doc.id}' already used in {origin[doc.id]}")
            origin[doc.id] = Path(path)
            docs.append(doc)
    return docs


def documents_hash(docs: Sequence[Document]) -> str:
    """sha256 of the documents' content, independent of file layout and whitespace.

    A document without `checked` hashes as it did before the field existed, so
    indexes of corpora that never carry it stay current.
    """
    h = hashlib.sha256()
    for doc in docs:
        fields = asdict(doc)
        if fields["checked"] is None:
            del fields["checked"]
        h.update(json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
