import json
import math
from pathlib import Path

import pytest

from eval.retrieval import BM25Index, Document, IndexUnavailable, prefix_tokens
from eval.text import content_tokens


def doc(i: str, title: str, text: str) -> Document:
    return Document(id=i, set="govset", topic="t", title=title, source_url=f"https://egov.kz/{i}", text=text)


DOCS = [
    doc("passport", "Паспорт", "Шетелге шығу паспорты он жыл мерзімге беріледі."),
    doc("pension", "Зейнетақы", "Зейнетақы тағайындау туралы өтініш ХҚКО арқылы беріледі."),
    doc("tax", "Салық", "Көлік салығы мен мүлік салығы жыл сайын төленеді."),
    doc("land", "Жер", "Жер учаскесін кезек бойынша алуға болады."),
    doc("school", "Мектеп", "Бірінші сыныпқа құжаттар мектепке тапсырылады."),
]


def okapi_scores(corpus: list[list[str]], query: list[str], k1=1.5, b=0.75) -> list[float]:
    """BM25 Okapi written out from the textbook formula (all idfs positive here)."""
    n = len(corpus)
    avgdl = sum(map(len, corpus)) / n
    scores = []
    for d in corpus:
        s = 0.0
        for q in query:
            df = sum(q in other for other in corpus)
            idf = math.log((n - df + 0.5) / (df + 0.5))
            tf = d.count(q)
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avgdl))
        scores.append(s)
    return scores


def test_scores_match_the_textbook_formula_over_title_plus_text() -> None:
    index = BM25Index.build(DOCS, tokenizer="kazakh")
    corpus = [content_tokens(f"{d.title} {d.text}") for d in DOCS]
    query = "Көлік салығы мен мүлік салығы қалай төленеді?"  # tf=2 for "салығы"
    expected = okapi_scores(corpus, content_tokens(query))
    hits = index.search(query, k=5)
    assert [h.chunk.doc_id for h in hits] == ["tax"]  # only positive scores are returned
    assert hits[0].score == pytest.approx(expected[2], rel=1e-9)
    assert hits[0].rank == 1


def test_prefix_tokenizer_merges_suffixed_forms() -> None:
    assert prefix_tokens("Салығын, салықтар!") == ["салығ", "салық"]
    index = BM25Index.build(DOCS)  # default: kazakh_prefix5
    assert index.tokenizer == "kazakh_prefix5"
    # "паспортты" shares no full word with the passport document, only the stem.
    assert index.search("паспортты қалай аламын", k=1)[0].chunk.doc_id == "passport"


def test_search_edge_cases() -> None:
    index = BM25Index.build(DOCS)
    assert index.search("және мен", k=3) == []  # stopwords only: nothing to match
    assert index.search("жұлдыз", k=3) == []  # unknown word: no positive score
    with pytest.raises(ValueError, match="k must be >= 1"):
        index.search("салық", k=0)
    hits = index.search("салық зейнетақы жер", k=2)
    assert [h.rank for h in hits] == [1, 2]
    assert hits[0].score >= hits[1].score


def test_unknown_tokenizer_and_empty_corpus_fail_loudly() -> None:
    with pytest.raises(ValueError, match="Unknown tokenizer: 'stem'"):
        BM25Index.build(DOCS, tokenizer="stem")
    with pytest.raises(ValueError, match="zero chunks"):
        BM25Index.build([])


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = BM25Index.build(DOCS, tokenizer="kazakh", chunk_chars=40)
    path = index.save(tmp_path / "sub" / "bm25.json")
    loaded = BM25Index.load(path)
    assert loaded.chunks == index.chunks
    assert loaded.tokens == index.tokens
    assert (loaded.tokenizer, loaded.docs_hash, loaded.chunk_chars) == ("kazakh", index.docs_hash, 40)
    for query in ["Көлік салығы", "паспорт мерзімі", "мектепке құжат"]:
        assert loaded.search(query, k=3) == index.search(query, k=3)
    assert not (tmp_path / "sub" / "bm25.json.tmp").exists()


def test_missing_index_says_grounding_unavailable(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable) as e:
        BM25Index.load(tmp_path / "absent.json")
    assert str(e.value).startswith("grounding unavailable: no index file")
    assert "kazarena index build" in str(e.value)


def _corrupt(path: Path, how: str) -> None:
    raw = path.read_text(encoding="utf-8")
    payload = json.loads(raw)
    if how == "truncated":
        path.write_text(raw[: len(raw) // 2], encoding="utf-8")
    elif how == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif how == "tampered":
        payload["tokens"][0] = ["бөгде"]
        path.write_text(json.dumps(payload), encoding="utf-8")
    elif how == "old_version":
        payload["format_version"] = 0
        path.write_text(json.dumps(payload), encoding="utf-8")
    elif how == "not_index":
        path.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    elif how == "missing_key":
        del payload["chunks"]
        path.write_text(json.dumps(payload), encoding="utf-8")


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("truncated", "unreadable or corrupted"),
        ("binary", "unreadable or corrupted"),
        ("tampered", "checksum mismatch"),
        ("old_version", "format version 0"),
        ("not_index", "not a kazarena BM25 index"),
        ("missing_key", "corrupted"),
    ],
)
def test_corrupted_index_raises_clear_error(tmp_path: Path, how: str, reason: str) -> None:
    path = BM25Index.build(DOCS).save(tmp_path / "bm25.json")
    _corrupt(path, how)
    with pytest.raises(IndexUnavailable) as e:
        BM25Index.load(path)
    assert str(e.value).startswith("grounding unavailable:")
    assert reason in e.value.reason
    assert e.value.path == path


def test_vectorised_scores_equal_rank_bm25_get_scores() -> None:
    from app.settings import PROJECT_ROOT
    from eval.retrieval import load_documents

    docs = load_documents(PROJECT_ROOT / "data" / "govset" / "govset.jsonl")
    index = BM25Index.build(docs)
    for query in ["жеке куәлік жеке куәлік алу", "зейнетақы жасы", "белгісіз сөз", "салық салық салық"]:
        tokens = prefix_tokens(query)
        expected = index.okapi.get_scores(tokens)
        assert index.scores(tokens) == pytest.approx(expected, rel=1e-12, abs=1e-12)
