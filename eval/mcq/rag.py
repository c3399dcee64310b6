"""The seed paper's RAG baseline for multiple choice: top-2 BM25 chunks before the question.

The corpus is the IFT training texts (each instruction with its answer is one
document, cut into 256-character chunks), or any document corpus in the
grounding format (GovSet, CultSet, a user's own). Retrieval uses the question
text only, with the index code the chat's grounding uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from db.jsonl import iter_jsonl
from eval.mcq.items import MCQItem
from eval.retrieval import CHUNK_CHARS, BM25Index, Document, load_corpus

RAG_TOP_K = 2
CONTEXT_HEADING = "Context:"


def ift_documents(path: Path | str) -> list[Document]:
    """IFT pairs ``{id, set, topic, instruction, output}`` as documents (instruction + answer)."""
    docs = []
    for lineno, row in iter_jsonl(path):
        missing = [k for k in ("id", "instruction", "output") if k not in row]
        if missing:
            raise ValueError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
        docs.append(
            Document(
                id=str(row["id"]),
                set=str(row.get("set", "ift")),
                topic=str(row.get("topic", "")),
                title="",  # the instruction is already the start of the text
                source_url="",
                text=f"{row['instruction'].strip()} {row['output'].strip()}",
            )
        )
    if not docs:
        raise ValueError(f"{path}: no IFT pairs")
    return docs


def build_rag_index(paths: Sequence[Path | str], *, chunk_chars: int = CHUNK_CHARS) -> BM25Index:
    """A BM25 index over IFT files (rows with ``instruction``) or grounding corpora (rows with ``text``)."""
    docs: list[Document] = []
    corpus_files = []
    for path in paths:
        _, first = next(iter_jsonl(path))
        if "instruction" in first:
            docs.extend(ift_documents(path))
        else:
            corpus_files.append(path)
    if corpus_files:
        docs.extend(load_corpus(corpus_files))
    return BM25Index.build(docs, chunk_chars=chunk_chars)


class RagPrefix:
    """The text put before an MCQ prompt: the top-k chunks for the question, or "" if none match."""

    def __init__(self, index: BM25Index, k: int = RAG_TOP_K) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.index = index
        self.k = k

    def __call__(self, item: MCQItem) -> str:
        hits = self.index.search(item.question, k=self.k)
        if not hits:
            return ""
        return CONTEXT_HEADING + "\n" + "\n".join(h.chunk.text for h in hits) + "\n\n"
