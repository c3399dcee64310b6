"""The shipped IFT set: valid, Kazakh, grounded in real documents, de-duplicated, split by document.

`data/ift/ift_all.jsonl` is every pair (the hand-written sample, the GovSet and
CultSet parts, the KazQAD-derived pairs); `train.jsonl` and `test.jsonl` split it.
All three are the output of `python -m train.data_split build`.
"""

import json
import re
from collections import Counter, defaultdict

import pytest

from db.jsonl import read_jsonl
from db.paths import CULTSET, DATA_DIR, GOVSET, IFT_TEST, IFT_TRAIN
from train.data_split import DEFAULT_TEST_SIZE, build

IFT = DATA_DIR / "ift"
FIELDS = ["id", "doc_id", "set", "topic", "category", "instruction", "output", "origin"]
CATEGORIES = {"true_false", "explain", "describe", "list_steps", "factual"}
ORIGINS = {"written", "kazqad"}
CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)
MIXED_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[а-яёәғқңөұүһі])\w+\b", re.IGNORECASE)
TAXONOMY = json.loads((DATA_DIR / "taxonomy.json").read_text(encoding="utf-8"))


def shingles(text: str, n: int = 5) -> frozenset:
    """Word 5-grams of the lower-cased words (a text under 5 words is one gram)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return read_jsonl(IFT / "ift_sample.jsonl")


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return read_jsonl(IFT / "ift_all.jsonl")


@pytest.fixture(scope="module")
def train() -> list[dict]:
    return read_jsonl(IFT_TRAIN)


@pytest.fixture(scope="module")
def test() -> list[dict]:
    return read_jsonl(IFT_TEST)


@pytest.fixture(scope="module")
def documents() -> dict:
    return {d["id"]: d for path in (GOVSET, CULTSET) for d in read_jsonl(path)}


def test_sample_is_kept(sample: list[dict]) -> None:
    assert len(sample) >= 300
    assert all(list(p) == FIELDS for p in sample)
    categories = Counter(p["category"] for p in sample)
    assert set(categories) == CATEGORIES
    assert min(categories.values()) >= 20  # every kind is really represented
    sets = Counter(p["set"] for p in sample)
    assert sets["govset"] >= 200 and sets["cultset"] >= 60


def test_enough_well_formed_pairs(pairs: list[dict]) -> None:
    assert len(pairs) >= 2000
    assert all(list(p) == FIELDS for p in pairs)
    assert len({p["id"] for p in pairs}) == len(pairs)
    assert all(isinstance(p[f], str) and p[f].strip() for p in pairs for f in FIELDS)
    assert {p["category"] for p in pairs} == CATEGORIES
    assert {p["origin"] for p in pairs} <= ORIGINS


def test_kazqad_pairs_are_all_in(pairs: list[dict]) -> None:
    """Every one of the 764 KazQAD validation questions is in: as its own pair, or (two questions that repeat
    another on the same passage but for spacing and quotation marks) folded into that pair."""
    from db.jsonl import read_jsonl
    from db.paths import SHARED_DATA

    source = read_jsonl(SHARED_DATA / "kazqad/data/reading-comprehension/kazqad-reading-comprehension-v1.0-kk-validation.jsonl")
    assert len(source) == 764

    def same(a: str, b: str) -> bool:  # but for spaces, hyphens and the kind of quotation marks
        return re.sub(r"[\s\-«»“”\"?:.]", "", a) == re.sub(r"[\s\-«»“”\"?:.]", "", b)

    kept = {p["id"]: p for p in pairs if p["origin"] == "kazqad"}
    missing = [q for q in source if "ift-kazqad-" + q["id"].replace("#", "-") not in kept]
    assert len(missing) <= 2, [q["id"] for q in missing]
    for q in missing:  # folded: the same question on the same passage is in
        passage = "cultset-" + q["id"].split("#", 1)[1]
        assert any(p["doc_id"] == passage and same(p["instruction"], q["question"]) for p in kept.values()), q["id"]
    assert sum(p["origin"] == "kazqad" for p in pairs) >= 762


def test_pairs_point_to_their_documents(pairs: list[dict], sample: list[dict], documents: dict) -> None:
    for p in pairs + sample:
        doc = documents[p["doc_id"]]
        assert (p["set"], p["topic"]) == (doc["set"], doc["topic"]), p["id"]
        assert p["topic"] in TAXONOMY[p["set"]], p["id"]
    assert len({p["doc_id"] for p in pairs if p["set"] == "govset"}) == sum(
        d["set"] == "govset" for d in documents.values()
    )  # every GovSet document has pairs


def test_pairs_are_kazakh_cyrillic(pairs: list[dict], sample: list[dict]) -> None:
    for p in pairs + sample:
        for field in ("instruction", "output"):
            text = p[field]
            cyr, lat = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
            assert cyr / (cyr + lat) > 0.8, (p["id"], field)  # Latin: egov.kz, eGov mobile, SMS, XIX
            assert not MIXED_WORD.search(text), (p["id"], MIXED_WORD.findall(text))
        assert p["instruction"].rstrip().endswith(("?", ".")), p["id"]


def test_true_false_answers_start_with_a_verdict(pairs: list[dict], sample: list[dict]) -> None:
    for p in pairs + sample:
        if p["category"] == "true_false":
            assert p["instruction"].startswith("Рас па:"), p["id"]
            assert p["output"].startswith(("Иә, рас.", "Жоқ, бұл дұрыс емес.")), p["id"]


def test_no_duplicate_instructions_within_a_document(pairs: list[dict]) -> None:
    # Across documents the same question may recur (KazQAD asks one question of several
    # passages); those documents share a side of the split (checked below).
    counts = Counter((p["doc_id"], p["instruction"]) for p in pairs)
    assert not [k for k, n in counts.items() if n > 1]
    by_doc = defaultdict(list)
    for p in pairs:
        by_doc[p["doc_id"]].append(shingles(p["instruction"]))
    for doc_id, grams in by_doc.items():
        for i, a in enumerate(grams):
            for b in grams[i + 1 :]:
                assert len(a & b) / len(a | b) < 0.8, doc_id


def test_split_is_by_document_and_sized(pairs: list[dict], train: list[dict], test: list[dict]) -> None:
    assert len(test) == min(DEFAULT_TEST_SIZE, len(pairs))
    assert sorted(p["id"] for p in train + test) == sorted(p["id"] for p in pairs)
    assert {p["doc_id"] for p in train}.isdisjoint(p["doc_id"] for p in test)
    assert {p["set"] for p in test} == {"govset", "cultset"}
    for name in ("govset", "cultset"):  # both sets, roughly in proportion
        share_all = sum(p["set"] == name for p in pairs) / len(pairs)
        share_test = sum(p["set"] == name for p in test) / len(test)
        assert share_test == pytest.approx(share_all, abs=0.05), name


def test_no_duplicate_across_the_split(train: list[dict], test: list[dict]) -> None:
    assert {p["instruction"] for p in train}.isdisjoint(p["instruction"] for p in test)
    test_grams = [shingles(p["instruction"]) for p in test]
    index = defaultdict(set)
    for k, grams in enumerate(test_grams):
        for g in grams:
            index[g].add(k)
    for p in train:
        grams = shingles(p["instruction"])
        for k in set().union(*(index[g] for g in grams)):
            sim = len(grams & test_grams[k]) / len(grams | test_grams[k])
            assert sim < 0.8, (p["id"], test[k]["id"], sim)


def test_shipped_files_are_the_build_output() -> None:
    result = build()
    for path, text in result.files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run python -m train.data_split build"
