"""Split documents into ~256-character pieces, as the seed paper's RAG baseline did.

Pieces break on whitespace only, so no word is cut; runs of whitespace (line
breaks included) collapse to one space inside a piece. The one exception is a
single "word" longer than the limit (a long URL, say): it is split into pieces
of exactly the limit, because a chunk over the limit would break the prompt
budget that the limit exists for.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from eval.retrieval.documents import Document

CHUNK_CHARS = 256


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    index: int  # position of this piece within its document, from 0
    text: str
    title: str
    source_url: str
    set: str
    topic: str


def split_text(text: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    """Greedy whitespace packing: each piece is as long as possible but <= max_chars.

    >>> split_text("бір екі үш төрт", max_chars=7)
    ['бір екі', 'үш төрт']
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > max_chars:  # over-long token: the only mid-word cut
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current = f"{current} {word}"
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


def chunk_document(doc: Document, max_chars: int = CHUNK_CHARS) -> list[Chunk]:
    return [
        Chunk(
            doc_id=doc.id,
            index=i,
            text=piece,
            title=doc.title,
            source_url=doc.source_url,
            set=doc.set,
            topic=doc.topic,
        )
        for i, piece in enumerate(split_text(doc.text, max_chars))
    ]


def chunk_documents(docs: Iterable[Document], max_chars: int = CHUNK_CHARS) -> list[Chunk]:
    return [chunk for doc in docs for chunk in chunk_document(doc, max_chars)]
