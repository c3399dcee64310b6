"""The grounding corpus format: one JSON document per line.

`{"id", "set", "topic", "title", "source_url", "text"}` - the same shape for the
project's GovSet and CultSet samples and for documents a user brings.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

REQUIRED_FIELDS = ("id", "set", "topic", "title", "source_url", "text")


@dataclass(frozen=True)
class Document:
    id: str
    set: str  # the collection it belongs to: "govset", "cultset", or a user's own
    topic: str
    title: str
    source_url: str
    text: str


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
    return Document(**{f: row[f].strip() for f in REQUIRED_FIELDS})


def load_documents(path: Path | str) -> list[Document]:
    """Read and validate a JSONL corpus; ids must be unique within the file."""
    path = Path(path)
    if not path.exists():
        raise DocumentError(f"{path}: no such corpus file")
    docs: list[Document] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DocumentError(f"{where}: not valid JSON ({e.msg})") from e
            doc = parse_document(row, where)
            if doc.id in seen:
                raise DocumentError(f"{where}: duplicate id '{doc.id}' (first on line {seen[doc.id]})")
            seen[doc.id] = lineno
            docs.append(doc)
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
    """sha256 of the documents' content, independent of file layout and whitespace."""
    h = hashlib.sha256()
    for doc in docs:
        h.update(json.dumps(asdict(doc), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
