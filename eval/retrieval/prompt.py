"""Turn retrieved chunks into a Kazakh grounding block and a numbered source list.

Sources are numbered per document, not per chunk: two pieces of the same eGov
page share one number, so the "[2]" the model cites in its answer and the
"[2]" listed under the answer are the same page.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from eval.retrieval.bm25 import Hit

GROUNDING_INSTRUCTION = (
    "Төменде сұраққа қатысты дереккөздерден үзінділер берілген. "
    "Жауапты осы үзінділерге сүйеніп, қазақ тілінде беріңіз және пайдаланған "
    "дереккөздің нөмірін төртбұрышты жақшада көрсетіңіз, мысалы: [1]. "
    "Егер үзінділерде жауап болмаса, мұны ашық айтыңыз."
)
SOURCES_HEADING = "Дереккөздер:"


@dataclass(frozen=True)
class Source:
    number: int  # 1-based, in the order of each document's best hit
    doc_id: str
    title: str
    source_url: str
    passages: tuple[str, ...]  # the retrieved chunk texts of this document, best first


def number_sources(hits: Sequence[Hit]) -> list[Source]:
    """Group hits by document, numbering documents by their best-ranked chunk."""
    by_doc: dict[str, list[Hit]] = {}
    for hit in sorted(hits, key=lambda h: h.rank):
        by_doc.setdefault(hit.chunk.doc_id, []).append(hit)
    return [
        Source(
            number=n,
            doc_id=doc_id,
            title=doc_hits[0].chunk.title,
            source_url=doc_hits[0].chunk.source_url,
            passages=tuple(h.chunk.text for h in doc_hits),
        )
        for n, (doc_id, doc_hits) in enumerate(by_doc.items(), start=1)
    ]


def format_grounding_block(hits: Sequence[Hit]) -> str:
    """The text to put into the prompt before the question; "" when nothing was found."""
    sources = number_sources(hits)
    if not sources:
        return ""
    parts = [GROUNDING_INSTRUCTION]
    for s in sources:
        parts.append(f"[{s.number}] {s.title} ({s.source_url})\n" + "\n".join(s.passages))
    return "\n\n".join(parts)


def format_sources(hits: Sequence[Hit]) -> str:
    """Numbered titles and URLs to show under an answer; "" when nothing was found."""
    sources = number_sources(hits)
    if not sources:
        return ""
    lines = [SOURCES_HEADING] + [f"[{s.number}] {s.title} — {s.source_url}" for s in sources]
    return "\n".join(lines)
