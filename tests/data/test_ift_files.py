"""The sample IFT set: valid, Kazakh, grounded in real documents, split by document."""

import json
import re
from collections import Counter

import pytest

from app.settings import PROJECT_ROOT
from eval.retrieval import load_corpus
from train.data_split import split_by_document

DATA = PROJECT_ROOT / "data"
FIELDS = ["id", "doc_id", "set", "topic", "category", "instruction", "output"]
CATEGORIES = {"true_false", "explain", "describe", "list_steps", "factual"}
CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)
MIXED_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[а-яёәғқңөұүһі])\w+\b", re.IGNORECASE)


# Pairs for GovSet documents added after the sample, kept beside it until they are merged in.
GOVSET_PARTS = sorted((DATA / "ift" / "parts").glob("govset_*.jsonl"))


def read(name: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / "ift" / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return read("ift_sample.jsonl")


@pytest.fixture(scope="module")
def part_pairs() -> list[dict]:
    return [p for path in GOVSET_PARTS for p in read(f"parts/{path.name}")]


@pytest.fixture(scope="module")
def documents() -> dict:
    docs = load_corpus([DATA / "govset" / "govset.jsonl", DATA / "cultset" / "cultset.jsonl"])
    return {d.id: d for d in docs}


def test_enough_well_formed_pairs(pairs: list[dict]) -> None:
    assert len(pairs) >= 300
    assert all(list(p) == FIELDS for p in pairs)
    assert len({p["id"] for p in pairs}) == len(pairs)
    assert all(isinstance(p[f], str) and p[f].strip() for p in pairs for f in FIELDS)
    categories = Counter(p["category"] for p in pairs)
    assert set(categories) == CATEGORIES
    assert min(categories.values()) >= 20  # every kind is really represented


def test_pairs_point_to_their_documents(pairs: list[dict], part_pairs: list[dict], documents: dict) -> None:
    for p in pairs + part_pairs:
        doc = documents[p["doc_id"]]
        assert (p["set"], p["topic"]) == (doc.set, doc.topic), p["id"]
    sets = Counter(p["set"] for p in pairs)
    assert sets["govset"] >= 200 and sets["cultset"] >= 60
    assert len({p["doc_id"] for p in pairs + part_pairs if p["set"] == "govset"}) == sum(
        d.set == "govset" for d in documents.values()
    )  # every GovSet document has pairs, in the sample or in a GovSet part file


def test_govset_part_pairs_are_well_formed(pairs: list[dict], part_pairs: list[dict]) -> None:
    assert all(list(p) == FIELDS for p in part_pairs)
    ids = [p["id"] for p in pairs + part_pairs]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(p[f], str) and p[f].strip() for p in part_pairs for f in FIELDS)
    assert {p["set"] for p in part_pairs} <= {"govset"}
    assert {p["category"] for p in part_pairs} <= CATEGORIES
    for p in part_pairs:
        assert p["id"].startswith("ift-gov-"), p["id"]
        for field in ("instruction", "output"):
            text = p[field]
            cyr, lat = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
            assert cyr / (cyr + lat) > 0.8, (p["id"], field)
            assert not MIXED_WORD.search(text), (p["id"], MIXED_WORD.findall(text))
        assert p["instruction"].rstrip().endswith(("?", ".")), p["id"]
        if p["category"] == "true_false":
            assert p["instruction"].startswith("Рас па:"), p["id"]
            assert p["output"].startswith(("Иә, рас.", "Жоқ, бұл дұрыс емес.")), p["id"]


def test_pairs_are_kazakh_cyrillic(pairs: list[dict]) -> None:
    for p in pairs:
        for field in ("instruction", "output"):
            text = p[field]
            cyr, lat = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
            assert cyr / (cyr + lat) > 0.8, (p["id"], field)  # Latin: egov.kz, eGov mobile, SMS
            assert not MIXED_WORD.search(text), (p["id"], MIXED_WORD.findall(text))
        assert p["instruction"].rstrip().endswith(("?", "."))


def test_true_false_answers_start_with_a_verdict(pairs: list[dict]) -> None:
    for p in pairs:
        if p["category"] == "true_false":
            assert p["instruction"].startswith("Рас па:"), p["id"]
            assert p["output"].startswith(("Иә, рас.", "Жоқ, бұл дұрыс емес.")), p["id"]


def test_shipped_split_is_the_function_output(pairs: list[dict]) -> None:
    split = split_by_document(pairs)
    assert read("train.jsonl") == split.train
    assert read("test.jsonl") == split.test
    train_docs = {p["doc_id"] for p in split.train}
    assert train_docs.isdisjoint(p["doc_id"] for p in split.test)
    assert split.test_share == pytest.approx(0.1, abs=0.02)
