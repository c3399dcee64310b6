"""The shipped GovSet and CultSet samples are valid, Kazakh, and reproducible."""

import datetime as dt
import json
import re
import runpy
from collections import Counter
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT
from db.paths import SHARED_DATA
from eval.retrieval import load_corpus, load_documents

DATA = PROJECT_ROOT / "data"
GOVSET = DATA / "govset" / "govset.jsonl"
CULTSET = DATA / "cultset" / "cultset.jsonl"
TAXONOMY = json.loads((DATA / "taxonomy.json").read_text(encoding="utf-8"))
KAZQAD_PASSAGES = SHARED_DATA / "kazqad" / "wiki_passages.jsonl"

KAZAKH_LETTERS = set("әғқңөұүһі")
CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def cyrillic_share(text: str) -> float:
    cyr, lat = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
    return cyr / max(cyr + lat, 1)


def test_govset_has_enough_valid_documents() -> None:
    docs = load_documents(GOVSET)  # validates fields, non-empty text, unique ids
    assert len(docs) >= 40
    assert {d.set for d in docs} == {"govset"}
    assert all(d.id.startswith("govset-") for d in docs)
    assert all(600 <= len(d.text) <= 1500 for d in docs), [
        d.id for d in docs if not 600 <= len(d.text) <= 1500
    ]
    assert all(d.source_url.startswith("https://egov.kz/") for d in docs)
    # The services the issue names are all covered.
    titles = " ".join(d.title.lower() for d in docs)
    for word in [
        "жеке куәлік",
        "паспорт",
        "тууын",
        "неке",
        "тіркелу",
        "зейнетақы",
        "кәсіпкер",
        "салық",
        "жүргізуші",
        "жылжымайтын",
        "жер",
        "грант",
        "мүгедект",
    ]:
        assert word in titles, word
    assert len(Counter(d.topic for d in docs)) >= 10


def test_govset_uses_the_taxonomy_and_is_dated() -> None:
    docs = load_documents(GOVSET)
    codes = set(TAXONOMY["govset"])
    assert len(codes) == 21
    assert all(d.topic in codes for d in docs), sorted({d.topic for d in docs} - codes)
    for d in docs:
        assert d.checked is not None, d.id
        assert dt.date.fromisoformat(d.checked).isoformat() == d.checked, d.id


def test_govset_covers_every_taxonomy_code() -> None:
    # Needs both halves of the GovSet extension (part 1 and part 2) in govset.jsonl.
    docs = load_documents(GOVSET)
    assert len(docs) >= 120
    assert set(TAXONOMY["govset"]) <= {d.topic for d in docs}, sorted(
        set(TAXONOMY["govset"]) - {d.topic for d in docs}
    )


def test_govset_is_kazakh_cyrillic() -> None:
    for d in load_documents(GOVSET):
        assert cyrillic_share(d.text) > 0.95, d.id  # Latin only in names such as egov.kz, SMS
        assert cyrillic_share(d.title) > 0.7, d.id  # "eGov mobile ..." is a title
        assert KAZAKH_LETTERS & set(d.text.lower()), d.id
        # Each text names the official page it is based on.
        assert "Ресми ақпарат:" in d.text, d.id


def test_cultset_sample_is_valid_and_attributed() -> None:
    docs = load_documents(CULTSET)
    assert len(docs) == 697  # every KazQAD passage
    assert {d.set for d in docs} == {"cultset"}
    codes = json.loads((DATA / "taxonomy.json").read_text(encoding="utf-8"))["cultset"]
    assert len(codes) == 17
    assert set(Counter(d.topic for d in docs)) == set(codes)  # every topic is a code, all 17 are used
    for d in docs:
        assert d.source_url == "https://kk.wikipedia.org/wiki/" + d.title.replace(" ", "_")
        # > 0.7: a genetics formula and a Roman-numeral heading are the two lowest (0.72, 0.76)
        assert cyrillic_share(d.text) > 0.7, d.id
    assert sum(cyrillic_share(d.text) > 0.9 for d in docs) > 0.95 * len(docs)
    assert "Attribution-ShareAlike 4.0" in (DATA / "cultset" / "LICENSE").read_text(encoding="utf-8")
    attribution = (DATA / "cultset" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "KazQAD" in attribution and "CC BY-SA 4.0" in attribution


def test_cultset_text_is_kazqad_text_unchanged() -> None:
    passages = {}
    for line in KAZQAD_PASSAGES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        passages[row["passage_id"]] = row
    for d in load_documents(CULTSET):
        source = passages.pop(d.id.removeprefix("cultset-"))
        assert d.text == source["text"].strip()
        assert d.title == source["title"].strip()
    assert not passages  # every KazQAD passage is a CultSet document


def test_make_cultset_reproduces_the_shipped_file(tmp_path: Path) -> None:
    script = runpy.run_path(str(DATA / "cultset" / "make_cultset.py"))
    rows = [json.loads(x) for x in KAZQAD_PASSAGES.read_text(encoding="utf-8").splitlines() if x.strip()]
    docs = script["build_documents"](rows, script["load_categories"]())
    shipped = [json.loads(x) for x in CULTSET.read_text(encoding="utf-8").splitlines()]
    assert docs == shipped


def test_ids_are_unique_across_the_grounding_corpus() -> None:
    docs = load_corpus([GOVSET, CULTSET])  # raises on a clash
    assert len(docs) == len({d.id for d in docs})


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (GOVSET, ["id", "set", "topic", "title", "source_url", "checked", "text"]),
        (CULTSET, ["id", "set", "topic", "title", "source_url", "text"]),
    ],
)
def test_files_are_one_compact_object_per_line(path: Path, fields: list[str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(line.startswith("{") and line.endswith("}") for line in lines)
    assert all(list(json.loads(line)) == fields for line in lines)
