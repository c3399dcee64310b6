import json
from pathlib import Path

import pytest

from eval.retrieval import Document, DocumentError, documents_hash, load_corpus, load_documents

GOOD = {
    "id": "d1",
    "set": "govset",
    "topic": "family",
    "title": "Некені тіркеу",
    "source_url": "https://egov.kz/x",
    "text": "Неке АХАТ органдарында тіркеледі.",
}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


def test_loads_valid_rows_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, "", {**GOOD, "id": "d2", "text": "  Екінші мәтін.  "}])
    docs = load_documents(path)
    assert [d.id for d in docs] == ["d1", "d2"]
    assert docs[1].text == "Екінші мәтін."  # surrounding whitespace stripped
    assert docs[0] == Document(**GOOD)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "title"}, "d.jsonl:2: missing field(s) title"),
        ({**GOOD, "text": "   "}, "d.jsonl:2: field 'text' is empty"),
        ({**GOOD, "topic": 3}, "d.jsonl:2: field 'topic' must be a string"),
        ("[1, 2]", "d.jsonl:2: expected a JSON object"),
        ('{"id": "d9", ', "d.jsonl:2: not valid JSON"),
        (GOOD, "d.jsonl:2: duplicate id 'd1' (first on line 1)"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path: Path, row, message: str) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, row])
    with pytest.raises(DocumentError) as e:
        load_documents(path)
    assert message in str(e.value)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such corpus file"):
        load_documents(tmp_path / "nope.jsonl")
    with pytest.raises(DocumentError, match="no documents"):
        load_documents(write_jsonl(tmp_path / "empty.jsonl", [""]))


def test_corpus_ids_must_be_unique_across_files(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [GOOD])
    b = write_jsonl(tmp_path / "b.jsonl", [{**GOOD, "set": "cultset"}])
    with pytest.raises(DocumentError, match="id 'd1' already used in .*a.jsonl"):
        load_corpus([a, b])


def test_documents_hash_tracks_content_only() -> None:
    d = Document(**GOOD)
    assert documents_hash([d]) == documents_hash([Document(**GOOD)])
    assert documents_hash([d]) != documents_hash([Document(**{**GOOD, "text": "Басқа мәтін."})])
    assert len(documents_hash([d])) == 64


def test_checked_date_is_optional_and_validated(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, {**GOOD, "id": "d2", "checked": "2026-12-03"}])
    first, second = load_documents(path)
    assert (first.checked, second.checked) == (None, "2026-12-03")
    for bad in ["03.12.2026", "2026-02-30", 20261203, ""]:
        path = write_jsonl(tmp_path / "bad.jsonl", [{**GOOD, "checked": bad}])
        with pytest.raises(DocumentError, match="bad.jsonl:1: field 'checked'"):
            load_documents(path)


def test_documents_hash_is_unchanged_for_documents_without_checked() -> None:
    import hashlib

    legacy = hashlib.sha256((json.dumps(GOOD, ensure_ascii=False, sort_keys=True) + "\n").encode()).hexdigest()
    assert documents_hash([Document(**GOOD)]) == legacy
    assert documents_hash([Document(**GOOD, checked="2026-12-03")]) != legacy
