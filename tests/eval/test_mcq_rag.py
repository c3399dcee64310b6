"""The RAG baseline's context: top-2 BM25 chunks of at most 256 characters from the IFT training texts."""

import json
from pathlib import Path

import pytest

from eval.mcq import MCQItem, RagPrefix, build_rag_index, ift_documents

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "data" / "ift" / "train.jsonl"
GOVSET = ROOT / "data" / "govset" / "govset.jsonl"


@pytest.fixture(scope="module")
def index():
    return build_rag_index([TRAIN])


def test_ift_pairs_become_documents_with_instruction_and_answer():
    docs = ift_documents(TRAIN)
    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == len(rows) > 1000
    assert docs[0].id == rows[0]["id"] and docs[0].topic == rows[0]["topic"]
    assert docs[0].text == f"{rows[0]['instruction']} {rows[0]['output']}"


def test_prefix_holds_the_two_best_chunks(index):
    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    row = next(r for r in rows if r["id"] == "ift-gov-id-card-01")
    item = MCQItem("x", row["instruction"], ("он алты", "он сегіз"), 0)
    prefix = RagPrefix(index)(item)
    hits = index.search(item.question, k=2)
    assert len(hits) == 2 and all(len(h.chunk.text) <= 256 for h in hits)
    assert prefix == "Context:\n" + hits[0].chunk.text + "\n" + hits[1].chunk.text + "\n\n"
    assert hits[0].chunk.doc_id == "ift-gov-id-card-01"  # its own training pair ranks first
    assert "он алты жасқа" in prefix


def test_no_match_gives_no_prefix(index):
    assert RagPrefix(index)(MCQItem("x", "zzzz qqqq?", ("a", "b"), 0)) == ""
    with pytest.raises(ValueError, match="k must be"):
        RagPrefix(index, k=0)


def test_documents_corpus_can_be_mixed_in():
    mixed = build_rag_index([TRAIN, GOVSET])
    assert mixed.n_docs == len(ift_documents(TRAIN)) + sum(1 for line in GOVSET.read_text(encoding="utf-8").splitlines() if line.strip())
