"""BM25 grounding over the project's Kazakh documents (GovSet, CultSet, a user's own).

Typical use:

    index = BM25Index.load(path)            # IndexUnavailable -> "grounding unavailable"
    hits = index.search(question, k=5)
    prompt_block = format_grounding_block(hits)
    shown_below_answer = format_sources(hits)
"""

from eval.retrieval.bm25 import (
    DEFAULT_TOKENIZER,
    TOKENIZERS,
    BM25Index,
    Hit,
    IndexUnavailable,
    prefix_tokens,
    whitespace_tokens,
)
from eval.retrieval.chunking import CHUNK_CHARS, Chunk, chunk_documents, split_text
from eval.retrieval.documents import (
    Document,
    DocumentError,
    documents_hash,
    load_corpus,
    load_documents,
)
from eval.retrieval.prompt import Source, format_grounding_block, format_sources, number_sources

__all__ = [
    "CHUNK_CHARS",
    "DEFAULT_TOKENIZER",
    "TOKENIZERS",
    "BM25Index",
    "Chunk",
    "Document",
    "DocumentError",
    "Hit",
    "IndexUnavailable",
    "Source",
    "chunk_documents",
    "documents_hash",
    "format_grounding_block",
    "format_sources",
    "load_corpus",
    "load_documents",
    "number_sources",
    "prefix_tokens",
    "split_text",
    "whitespace_tokens",
]
