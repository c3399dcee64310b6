"""BM25 grounding: build time and queries/s at 10k chunks, and recall on KazQAD.

    .venv/bin/python bench/retrieval.py [--quick] [--chunks 10000]

Prints one JSON line:
- speed: index build time (chunking + tokenizing + fitting BM25Okapi), save and
  load time, and queries/s, on 10k 256-character chunks made from the KazQAD
  Wikipedia passages and GovSet; to reach 10k the passages are repeated with
  their sentences rotated, so repeated documents give different chunks.
- quality: recall@1/2/5 on KazQAD's 764 reading-comprehension questions against
  its 697 passages (a question counts as found at k when its passage is the
  document of one of the top-k chunks), for the default tokenizer, plain
  content tokens, and the whitespace baseline, all in the same run; ratios are
  against the whitespace baseline.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.retrieval import (  # noqa: E402
    DEFAULT_TOKENIZER,
    BM25Index,
    Document,
    chunk_documents,
    load_documents,
)

KAZQAD = ROOT.parent / "shared" / "data" / "kazqad"
PASSAGES = KAZQAD / "wiki_passages.jsonl"
QUESTIONS = (
    KAZQAD / "data" / "reading-comprehension" / "kazqad-reading-comprehension-v1.0-kk-validation.jsonl"
)
GOVSET = ROOT / "data" / "govset" / "govset.jsonl"
TOKENIZERS = [DEFAULT_TOKENIZER, "kazakh", "whitespace"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def kazqad_documents() -> list[Document]:
    return [
        Document(
            id=r["passage_id"],
            set="kazqad",
            topic=r["domain"],
            title=r["title"],
            source_url="https://kk.wikipedia.org/wiki/" + r["title"].replace(" ", "_"),
            text=r["text"],
        )
        for r in read_jsonl(PASSAGES)
    ]


def kazqad_questions() -> list[tuple[str, str]]:
    """(question, gold passage id); KazQAD ids are "<question id>#<passage id>"."""
    return [(r["question"], r["id"].split("#", 1)[1]) for r in read_jsonl(QUESTIONS)]


def rotated(doc: Document, copy: int) -> Document:
    """The copy-th variant of doc: its sentences rotated by `copy` places."""
    sentences = doc.text.split(". ")
    shift = copy % len(sentences)
    text = ". ".join(sentences[shift:] + sentences[:shift])
    return Document(
        id=f"{doc.id}~{copy}",
        set=doc.set,
        topic=doc.topic,
        title=doc.title,
        source_url=doc.source_url,
        text=text,
    )


def corpus_of(n_chunks: int, base: list[Document]) -> list[Document]:
    """Documents whose chunks number at least n_chunks: base, then rotated copies."""
    docs, total, copy = [], 0, 0
    while total < n_chunks:
        for doc in base:
            variant = doc if copy == 0 else rotated(doc, copy)
            if copy and variant.text == doc.text:
                continue  # one-sentence passage: a copy adds nothing new
            docs.append(variant)
            total += len(chunk_documents([variant]))
            if total >= n_chunks:
                break
        copy += 1
    return docs


def speed(docs: list[Document], queries: list[str], tokenizer: str) -> dict:
    start = time.perf_counter()
    index = BM25Index.build(docs, tokenizer=tokenizer)
    build_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = index.save(Path(tmp) / "bm25.json")
        save_s = time.perf_counter() - start
        size_mb = path.stat().st_size / 1e6
        start = time.perf_counter()
        BM25Index.load(path)
        load_s = time.perf_counter() - start
    start = time.perf_counter()
    for q in queries:
        index.search(q, k=5)
    qps = len(queries) / (time.perf_counter() - start)
    # Reference: rank_bm25's own get_scores loop, on a sample (it is slow).
    sample = [index.tokenize(q) for q in queries[:50]]
    start = time.perf_counter()
    for tokens in sample:
        index.okapi.get_scores(tokens)
    ref_qps = len(sample) / (time.perf_counter() - start)
    return {
        "chunks": len(index),
        "build_s": round(build_s, 3),
        "save_s": round(save_s, 3),
        "load_s": round(load_s, 3),
        "index_mb": round(size_mb, 2),
        "queries_per_s": round(qps, 1),
        "rank_bm25_get_scores_queries_per_s": round(ref_qps, 1),
        "speedup_vs_rank_bm25": round(qps / ref_qps, 1),
    }


def recall(docs: list[Document], questions: list[tuple[str, str]], tokenizer: str) -> dict:
    index = BM25Index.build(docs, tokenizer=tokenizer)
    found = {1: 0, 2: 0, 5: 0}
    for question, gold in questions:
        ranked = [h.chunk.doc_id for h in index.search(question, k=5)]
        for k in found:
            found[k] += gold in ranked[:k]
    return {f"recall@{k}": round(v / len(questions), 4) for k, v in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k chunks and 200 questions")
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks in the speed test")
    args = parser.parse_args()

    n_chunks = 2_000 if args.quick else args.chunks
    kazqad = kazqad_documents()
    questions = kazqad_questions()
    if args.quick:
        questions = questions[:200]
    passage_ids = {d.id for d in kazqad}
    missing = [gold for _, gold in questions if gold not in passage_ids]
    if missing:
        raise SystemExit(f"{len(missing)} questions point to passages not in {PASSAGES}")

    docs = corpus_of(n_chunks, kazqad + load_documents(GOVSET))
    queries = [q for q, _ in questions]
    result = {
        "bench": "retrieval",
        "quick": args.quick,
        "speed": {t: speed(docs, queries, t) for t in (DEFAULT_TOKENIZER, "whitespace")},
        "kazqad": {
            "questions": len(questions),
            "passages": len(kazqad),
            "unit": "top-k chunks",
            **{t: recall(kazqad, questions, t) for t in TOKENIZERS},
        },
    }
    base = result["kazqad"]["whitespace"]
    result["ratio_vs_whitespace"] = {
        t: {m: round(v / base[m], 3) for m, v in result["kazqad"][t].items()}
        for t in TOKENIZERS
        if t != "whitespace"
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
