"""BM25 grounding for `rag` contestants and the chat, over GovSet and CultSet.

The index is built once (at the first start, or by `kazarena index build`) and
persisted in the cache; later starts load it. If it cannot be had, the app runs
without grounding and says so, rather than failing.
"""

import logging
from pathlib import Path
from typing import Any

from app.settings import CULTSET, GOVSET, Settings
from eval.retrieval import (
    BM25Index,
    DocumentError,
    IndexUnavailable,
    format_grounding_block,
    load_corpus,
    number_sources,
)

log = logging.getLogger(__name__)

DEFAULT_DOCS = [GOVSET, CULTSET]


def default_index_path(settings: Settings) -> Path:
    return settings.cache_dir / "index" / "bm25.json"


class BM25Grounder:
    """Puts the top chunks into the system prompt; returns their documents as sources."""

    def __init__(self, index: BM25Index, k: int) -> None:
        self.index, self.k = index, k

    def ground(self, question: str) -> tuple[str, list[dict[str, Any]]]:
        hits = self.index.search(question, k=self.k)
        sources = [
            {"number": s.number, "doc_id": s.doc_id, "title": s.title, "source_url": s.source_url}
            for s in number_sources(hits)
        ]
        return format_grounding_block(hits), sources


def load_grounder(settings: Settings) -> BM25Grounder | None:
    path = default_index_path(settings)
    try:
        if not path.exists():
            log.info("building the BM25 index once: %s", path)
            BM25Index.build(load_corpus(DEFAULT_DOCS)).save(path)
        return BM25Grounder(BM25Index.load(path), settings.grounding_top_k)
    except (IndexUnavailable, DocumentError, OSError) as exc:
        log.warning("grounding unavailable: %s", exc)
        return None
