"""Every UI string exists in Kazakh, Russian and English, and is really in that language."""

import re

import pytest

from app.ui.i18n import DEFAULT_LANG, EXAMPLE_QUESTIONS, LANG_CHOICES, LANGS, STRINGS, normalize_lang, t
from eval.langid import detect_language

# Strings that quote a Kazakh example question inside another language, or are too short to judge.
MIXED = {"placeholder"}


def test_kazakh_comes_first_and_every_key_has_all_three_languages():
    assert DEFAULT_LANG == "kk" and LANGS[0] == "kk" and [v for _, v in LANG_CHOICES] == list(LANGS)
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGS), key
        assert all(entry[lg].strip() for lg in LANGS), key


def test_format_fields_are_the_same_in_every_language():
    for key, entry in STRINGS.items():
        fields = {lg: sorted(re.findall(r"{(\w+)}", entry[lg])) for lg in LANGS}
        assert fields["ru"] == fields["kk"] == fields["en"], key


@pytest.mark.parametrize(("lang", "expected"), [("kk", "kk-cyrl"), ("ru", "ru"), ("en", "other")])
def test_each_translation_is_written_in_its_language(lang, expected):
    judged = {k: e[lang] for k, e in STRINGS.items() if k not in MIXED and len(e[lang]) >= 25}
    assert len(judged) >= 15
    wrong = {k: v for k, v in judged.items() if detect_language(v) != expected}
    assert not wrong


def test_lookup_fills_fields_and_falls_back_to_kazakh():
    assert t("error_message_too_long", "en", n=120, limit=100) == "The message is too long: 120 characters, the limit is 100."
    assert t("send", "de") == t("send", "kk") == "Жіберу"
    assert normalize_lang("ru") == "ru" and normalize_lang("xx") == "kk" and normalize_lang(None) == "kk"


def test_example_questions_are_kazakh_public_service_questions():
    assert len(EXAMPLE_QUESTIONS) >= 3
    assert all(detect_language(q) == "kk-cyrl" and q.endswith("?") for q in EXAMPLE_QUESTIONS)
    topics = " ".join(EXAMPLE_QUESTIONS).lower()
    assert "жеке куәлік" in topics and "туған бала" in topics and "зейнетақы" in topics


# Latin capitals that look like Cyrillic ones: alone, they are side labels that should be Cyrillic.
LOOK_ALIKES = set("ABCEHKMOPTXY")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_kazakh_and_russian_strings_do_not_mix_latin_look_alikes_into_cyrillic(lang):
    # "B лучше" with a Latin B looks right and reads wrong to screen readers, search and copy-paste
    mixed = []
    for key, entry in STRINGS.items():
        text = re.sub(r"{\w+}|`[^`]*`", " ", entry[lang])  # placeholders and code are not prose
        for word in re.findall(r"\w+", text):
            latin, cyrillic = re.search(r"[A-Za-z]", word), re.search(r"[\u0400-\u04ff]", word)
            if (latin and cyrillic) or word in LOOK_ALIKES:
                mixed.append((key, word))
    assert mixed == []
