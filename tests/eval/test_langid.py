"""Language/script tags on real sentences: FLORES Kazakh, Russian and English, and the
Kazakh sentences written in both official Latin alphabets (2018 and 2021)."""

import json
from collections import Counter

import pytest

from db.paths import SHARED_DATA
from eval.langid import LANGUAGES, detect_language

FLORES = SHARED_DATA / "flores"

# Official Cyrillic -> Latin tables (lower case), written out here independently of the detector.
LATIN_2018 = dict(zip("аәбвгғдеёжзийікқлмнңоөпрстуұүфхһцчшщъыьэюя", [
    "a", "á", "b", "v", "g", "ǵ", "d", "e", "ıo", "j", "z", "ı", "ı", "i", "k", "q", "l", "m", "n", "ń",
    "o", "ó", "p", "r", "s", "t", "ý", "u", "ú", "f", "h", "h", "ts", "ch", "sh", "sh", "", "y", "", "e",
    "ıý", "ıa"], strict=True))
LATIN_2021 = dict(zip("аәбвгғдеёжзийікқлмнңоөпрстуұүфхһцчшщъыьэюя", [
    "a", "ä", "b", "v", "g", "ğ", "d", "e", "io", "j", "z", "i", "i", "ı", "k", "q", "l", "m", "n", "ñ",
    "o", "ö", "p", "r", "s", "t", "u", "ū", "ü", "f", "h", "h", "ts", "ç", "ş", "ş", "", "y", "", "e",
    "iu", "ia"], strict=True))
# A plain ASCII romanisation of Russian (as in passports): Latin, but not Kazakh.
RU_ASCII = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t",
    "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia"], strict=True))


def transliterate(text: str, table: dict[str, str]) -> str:
    out = []
    for ch in text:
        latin = table.get(ch.lower(), ch)
        out.append(latin.capitalize() if ch.isupper() else latin)
    return "".join(out)


@pytest.fixture(scope="module")
def flores() -> list[dict[str, str]]:
    rows = []
    for split in ("dev", "devtest"):
        with open(FLORES / f"kk_en_ru_{split}.jsonl", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    assert len(rows) == 2009
    return rows


def _accuracy(texts: list[str], expected: str) -> tuple[float, Counter[str]]:
    tags = Counter(detect_language(t) for t in texts)
    return tags[expected] / len(texts), tags


@pytest.mark.parametrize(("field", "expected", "minimum"), [
    ("kk", "kk-cyrl", 0.995),
    ("ru", "ru", 0.995),
    ("en", "other", 0.995),
])
def test_flores_sentences_are_tagged_with_their_language(flores, field, expected, minimum):
    accuracy, tags = _accuracy([r[field] for r in flores], expected)
    assert accuracy >= minimum, tags


def test_russian_is_never_taken_for_kazakh_and_back(flores):
    # the mistake that matters most: a Russian answer counted as Kazakh (or the reverse)
    ru_as_kk = sum(detect_language(r["ru"]) == "kk-cyrl" for r in flores)
    kk_as_ru = sum(detect_language(r["kk"]) == "ru" for r in flores)
    assert ru_as_kk == 0 and kk_as_ru <= 2


@pytest.mark.parametrize("table", [LATIN_2018, LATIN_2021], ids=["latin-2018", "latin-2021"])
def test_kazakh_in_latin_script_is_tagged_kk_latn(flores, table):
    texts = [transliterate(r["kk"], table) for r in flores]
    assert any("q" in t for t in texts[:5])  # the transliteration really produced Kazakh Latin
    accuracy, tags = _accuracy(texts, "kk-latn")
    assert accuracy >= 0.97, tags


def test_romanised_russian_and_english_are_not_kazakh_latin(flores):
    romanised = [transliterate(r["ru"], RU_ASCII) for r in flores]
    assert _accuracy(romanised, "other")[0] >= 0.95
    assert sum(detect_language(r["en"]) == "kk-latn" for r in flores) <= 5


@pytest.mark.parametrize(("text", "expected"), [
    ("Жеке куәлікті қалай алуға болады?", "kk-cyrl"),
    ("Мен студентпін", "kk-cyrl"),
    ("Сәлем!", "kk-cyrl"),
    ("Как получить удостоверение личности?", "ru"),
    ("Я живу в Қазақстане.", "ru"),  # a Kazakh name inside a Russian sentence
    ("Jeke kuálikti qalaı alýǵa bolady?", "kk-latn"),
    ("Jeke kuälikti qalai aluğa bolady?", "kk-latn"),
    ("Türkiye güzel bir ülke ve ben onu seviyorum.", "other"),  # Turkish shares ğ ö ü ş ı
    ("Привіт, як справи? Їжак", "other"),  # Ukrainian
    ("How do I get an ID card?", "other"),
    ("12345 !!!", "other"),
    ("", "other"),
])
def test_hand_picked_cases(text, expected):
    assert detect_language(text) == expected


def test_tags_are_the_documented_four():
    assert set(LANGUAGES) == {"kk-cyrl", "kk-latn", "ru", "other"}
    assert detect_language("Қазақ тілі") in LANGUAGES
