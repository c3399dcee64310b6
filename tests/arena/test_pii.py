"""PII scrubbing on a table of real-format positives and look-alike negatives in Kazakh text.

IIN/BIN check digits are computed here by an independent implementation of the
published rule (weights 1..11 mod 11; on 10, weights 3..11,1,2; on 10 again the
number is invalid), and card numbers include the textbook Luhn test numbers.
"""

import pytest

from arena.export.pii import (
    PII_TYPES,
    find_pii,
    iban_valid,
    iin_check_digit,
    is_valid_iin_or_bin,
    luhn_valid,
    scrub_json,
    scrub_text,
)


# ---------------------------------------------------------------- reference IIN
def ref_check(eleven: str) -> int | None:
    first = [i % 11 + 1 for i in range(11)]  # 1, 2, ..., 11
    second = [(i + 2) % 11 + 1 for i in range(11)]  # 3, 4, ..., 11, 1, 2
    digits = list(map(int, eleven))
    r = sum(a * b for a, b in zip(first, digits, strict=True)) % 11
    if r == 10:
        r = sum(a * b for a, b in zip(second, digits, strict=True)) % 11
    return None if r == 10 else r


def first_pass_sum(eleven: str) -> int:
    return sum((i + 1) * int(c) for i, c in enumerate(eleven)) % 11


def find_prefix(start: str, want_first_10: bool, want_invalid: bool) -> str:
    """An 11-digit prefix start+serial whose first pass gives 10 (and the second too, if asked)."""
    for serial in range(10_000):
        prefix = f"{start}{serial:04d}"
        if want_first_10 and first_pass_sum(prefix) != 10:
            continue
        if (ref_check(prefix) is None) == want_invalid:
            return prefix
    raise AssertionError("no such prefix")


IIN_PLAIN = "9001013001" + "2"  # born 1990-01-01, century digit 3 (20th century, male)
IIN = IIN_PLAIN + str(ref_check(IIN_PLAIN))
IIN_SECOND_PASS = (lambda p: p + str(ref_check(p)))(find_prefix("8507154", True, False))  # 1985-07-15, female
NO_VALID_PREFIX = find_prefix("0203165", True, True)  # 2002-03-16, century digit 5
BIN_PREFIX = "15034" + "0" + "12345"  # registered March 2015, resident legal entity, head office
BIN = BIN_PREFIX + str(ref_check(BIN_PREFIX))
WRONG_CHECK = IIN[:11] + str((int(IIN[11]) + 1) % 10)
BAD_DATE_PREFIX = "9013403001" + "2"  # month 13: neither a birth date nor a BIN registration month
BAD_DATE = BAD_DATE_PREFIX + str(ref_check(BAD_DATE_PREFIX))
BAD_CENTURY_PREFIX = "9001017001" + "2"  # century digit 7 does not exist
BAD_CENTURY = BAD_CENTURY_PREFIX + str(ref_check(BAD_CENTURY_PREFIX))


def test_reference_cases_are_what_they_claim():
    assert first_pass_sum(IIN_SECOND_PASS[:11]) == 10 and ref_check(IIN_SECOND_PASS[:11]) is not None
    assert ref_check(NO_VALID_PREFIX) is None
    for value in (IIN, IIN_SECOND_PASS, BIN, BAD_DATE, BAD_CENTURY):
        assert ref_check(value[:11]) == int(value[11])  # checksum valid: only the date/type rules reject


@pytest.mark.parametrize("prefix", ["90010130012", "85071540000", "00000000000", "99123199999", NO_VALID_PREFIX,
                                    IIN_SECOND_PASS[:11], BIN_PREFIX, "12345678901"])
def test_check_digit_matches_the_reference(prefix):
    assert iin_check_digit(prefix) == ref_check(prefix)


def test_check_digit_agrees_with_the_reference_on_many_prefixes():
    prefixes = [f"{n:011d}" for n in range(0, 10**11, 9_999_991)]
    assert all(iin_check_digit(p) == ref_check(p) for p in prefixes)


def test_validity_rules():
    assert is_valid_iin_or_bin(IIN) and is_valid_iin_or_bin(IIN_SECOND_PASS) and is_valid_iin_or_bin(BIN)
    for value in (WRONG_CHECK, BAD_DATE, BAD_CENTURY, "12345", "9001013001a6"):
        assert not is_valid_iin_or_bin(value), value
    assert not any(is_valid_iin_or_bin(NO_VALID_PREFIX + str(d)) for d in range(10))
    with pytest.raises(ValueError, match="11 digits"):
        iin_check_digit("123")


@pytest.mark.parametrize(("number", "valid"), [
    ("4111111111111111", True), ("5500005555555559", True), ("378282246310005", True),
    ("6011111111111117", True), ("4111111111111112", False), ("1234567812345678", False),
])
def test_luhn_on_textbook_test_card_numbers(number, valid):
    assert luhn_valid(number) is valid


# ------------------------------------------------------------------ the table
POSITIVES = [
    (f"Менің ЖСН-ім: {IIN}.", "Менің ЖСН-ім: [IIN].", "iin"),
    (f"ИИН{IIN}, өтінемін", "ИИН[IIN], өтінемін", "iin"),
    (f"({IIN_SECOND_PASS})", "([IIN])", "iin"),
    (f"Компанияның БСН-і {BIN}", "Компанияның БСН-і [IIN]", "iin"),
    ("Телефон: +7 701 123 45 67.", "Телефон: [PHONE].", "phone"),
    ("8(701)123-45-67-ге қоңырау шалыңыз", "[PHONE]-ге қоңырау шалыңыз", "phone"),
    ("нөмірім +77011234567", "нөмірім [PHONE]", "phone"),
    ("Астана: +7 (7172) 12-34-56;", "Астана: [PHONE];", "phone"),
    ("87471234567 нөміріне жазыңыз", "[PHONE] нөміріне жазыңыз", "phone"),
    ("Хат жазыңыз: aigerim_k@gov.kz!", "Хат жазыңыз: [EMAIL]!", "email"),
    ("<asel.n+arena@mail.ru>", "<[EMAIL]>", "email"),
    ("пошта: айгерім@пошта.қаз", "пошта: [EMAIL]", "email"),
    ("Картам 4111 1111 1111 1111 еді", "Картам [CARD] еді", "card"),
    ("карта:5500-0055-5555-5559", "карта:[CARD]", "card"),
    ("Amex 3782 822463 10005.", "Amex [CARD].", "card"),
    ("4111111111111111", "[CARD]", "card"),
    ("паспорт N12345678;", "паспорт [PASSPORT];", "passport"),
    ("Паспорт нөмірі: N 09876543", "Паспорт нөмірі: [PASSPORT]", "passport"),
    ("жеке куәлік №045678912", "жеке куәлік №[ID_CARD]", "id_card"),
    ("удостоверение личности 012345678, выдано МВД", "удостоверение личности [ID_CARD], выдано МВД", "id_card"),
    ("ID: 123456789", "ID: [ID_CARD]", "id_card"),
    ("045678912 — жеке куәлігімнің нөмірі", "[ID_CARD] — жеке куәлігімнің нөмірі", "id_card"),
]

NEGATIVES = [
    "2024 жылы 15 наурызда өтініш бердім.",
    "Бағасы 1 500 000 теңге, яғни 1500000 тг.",
    "Мерзімі 12.03.2024 немесе 2024-03-12.",
    f"Сома {WRONG_CHECK} тиын",  # 12 digits, wrong check digit
    f"Код {BAD_DATE}",  # checksum right, no such date
    f"Код {BAD_CENTURY}",  # checksum right, no such century digit
    *(f"шот {NO_VALID_PREFIX}{d}" for d in range(10)),  # no check digit exists for this prefix
    "Тапсырыс нөмірі 123456789 дайын.",  # nine digits without an ID-card word
    "Карта 4111 1111 1111 1112",  # Luhn fails
    "0000 0000 0000 0000",
    "Нөмір +7 701 123 45",  # too short for a phone
    "АН12345678 сериясы",  # a letter before N: not a passport number
    "N1234 бөлім",
    "π ≈ 3.141592653589",
    "Халық саны 20 000 000 адамнан асты, ЖІӨ 262 000 000 000 доллар.",
    "2019 2020 2021 2022 жылдары",
    "Version 1.2.3, port 8080, 10:45-те кездесеміз",
]


@pytest.mark.parametrize(("text", "expected", "kind"), POSITIVES)
def test_positives_are_replaced_by_their_placeholder(text, expected, kind):
    done = scrub_text(text)
    assert done.text == expected
    assert dict(done.counts) == {kind: 1}


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_left_alone(text):
    done = scrub_text(text)
    assert done.text == text and not done.counts


def test_several_types_in_one_kazakh_message_are_counted():
    text = (f"Сәлем! ЖСН {IIN}, тел. 8 701 123 45 67 немесе +7 747 765 43 21, e-mail: test.user@mail.kz, "
            f"карта 4111 1111 1111 1111, паспорт N12345678, жеке куәлік 045678912. 2024 жылы 50 000 теңге. "
            f"Менің атым Айгерім, шотым KZ86125KZT5004100100.")
    done = scrub_text(text)
    assert done.text == ("Сәлем! ЖСН [IIN], тел. [PHONE] немесе [PHONE], e-mail: [EMAIL], карта [CARD], "
                         "паспорт [PASSPORT], жеке куәлік [ID_CARD]. 2024 жылы 50 000 теңге. "
                         "Менің атым [NAME], шотым [IBAN].")
    assert dict(done.counts) == {"iin": 1, "phone": 2, "email": 1, "card": 1, "passport": 1, "id_card": 1,
                                 "name": 1, "iban": 1}
    again = scrub_text(done.text)
    assert again.text == done.text and not again.counts  # placeholders are never matched again
    assert set(done.counts) == set(PII_TYPES)


def test_scrub_json_walks_nested_values_and_keeps_keys():
    value = {"messages": [{"role": "user", "content": f"ЖСН {IIN}"}], "stop": ["a@b.kz"], "n": 3,
             "+7 701 123 45 67": None}
    clean, counts = scrub_json(value)
    assert clean == {"messages": [{"role": "user", "content": "ЖСН [IIN]"}], "stop": ["[EMAIL]"], "n": 3,
                     "+7 701 123 45 67": None}
    assert counts == {"iin": 1, "email": 1}
    assert value["messages"][0]["content"] == f"ЖСН {IIN}"  # the input is not modified


def test_non_text_is_refused():
    with pytest.raises(ValueError, match="string"):
        scrub_text(123)  # type: ignore[arg-type]


# ------------------------------------------------- the forms added for "Trust"
def test_iban_check_is_iso_13616():
    assert iban_valid("KZ86125KZT5004100100") and iban_valid("GB82 WEST 1234 5698 7654 32")
    assert iban_valid("DE89370400440532013000") and iban_valid("kz86125kzt5004100100")
    assert not iban_valid("KZ87125KZT5004100100")  # check digits off by one
    assert not iban_valid("KZ86125KZT500410010")  # KZ is 20 characters
    assert not iban_valid("KZ86125KZT50041001№0")


MORE_POSITIVES = [
    ("ЖСН: 880701 456788", "ЖСН: [IIN]", "iin"),
    ("ИИН 8807 0145 6788, спасибо", "ИИН [IIN], спасибо", "iin"),
    (f"IIN {IIN[:6]}-{IIN[6:]}", "IIN [IIN]", "iin"),
    (f"{IIN} 2024 жылы берілген", "[IIN] 2024 жылы берілген", "iin"),
    ("Шотым KZ86125KZT5004100100", "Шотым [IBAN]", "iban"),
    ("IBAN: KZ86 125K ZT50 0410 0100, Halyk", "IBAN: [IBAN], Halyk", "iban"),
    ("Konto DE89 3704 0044 0532 0130 00.", "Konto [IBAN].", "iban"),
    ("account GB82WEST12345698765432", "account [IBAN]", "iban"),
    ("77071234567", "[PHONE]", "phone"),
    ("Нөмірім 7 705 123 45 67", "Нөмірім [PHONE]", "phone"),
    ("звоните 8 (701) 123-45-67", "звоните [PHONE]", "phone"),
    ("call +7 701 1234567", "call [PHONE]", "phone"),
    ("WhatsApp: +7-747-765-43-21", "WhatsApp: [PHONE]", "phone"),
    ("тел. (701) 123-45-67", "тел. [PHONE]", "phone"),
    ("8 701 123 45 67 24/7 хабарласыңыз", "[PHONE] 24/7 хабарласыңыз", "phone"),
    ("Меня зовут Асель Нурланова, я из Алматы", "Меня зовут [NAME], я из Алматы", "name"),
    ("Менің атым Дәулет. Мен 20 жастамын", "Менің атым [NAME]. Мен 20 жастамын", "name"),
    ("Менің есімім — Айгерім Сейітқызы", "Менің есімім — [NAME]", "name"),
    ("Hi, my name is John Smith and I study in Astana", "Hi, my name is [NAME] and I study in Astana", "name"),
]

MORE_NEGATIVES = [
    "0.87011234567",
    "Коэффициент 0,87011234567 болды.",
    "eGov байланыс орталығы: 1414 немесе 8 800 080 7777 (тегін).",
    "Горячая линия +7 800 080 7777",
    "Бағасы 150 000 теңге.",
    "Бюджет 87 000 000 000 теңге.",
    "ISBN 978-601-7150-55-3",
    "ISBN 9786017150553",
    "Индекс 050000, Алматы қ.",
    "ҚР Конституциясының 12-бабы, Еңбек кодексінің 152-1-бабы",
    "87,5% дауыс берді, 77.7% қатысты.",
    "Менің атым жүйрік, ал сенікі баяу.",
    "my name is not important",
    "Меня зовут так же, как маму.",
    "KZ86125KZT5004100101",  # mod-97 fails
    "1999, 2000, 2001 және 2002 жылдар",
]


@pytest.mark.parametrize(("text", "expected", "kind"), MORE_POSITIVES)
def test_more_positives_are_replaced(text, expected, kind):
    done = scrub_text(text)
    assert done.text == expected
    assert dict(done.counts) == {kind: 1}


@pytest.mark.parametrize("text", MORE_NEGATIVES)
def test_more_look_alikes_are_left_alone(text):
    done = scrub_text(text)
    assert done.text == text and not done.counts


def test_find_pii_spans_are_in_the_original_text():
    text = "Менің атым Айгерім, телефон +7 701 123 45 67, шот KZ86125KZT5004100100"
    spans = find_pii(text)
    assert [(text[s.start:s.end], s.type) for s in spans] == [
        ("Айгерім", "name"), ("+7 701 123 45 67", "phone"), ("KZ86125KZT5004100100", "iban")]


# ------------------------------------------------------------- the corpus bench
def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "pii.py"
    spec = importlib.util.spec_from_file_location("bench_pii", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_is_big_labelled_and_trilingual():
    import json
    from pathlib import Path

    rows = [json.loads(line) for line in
            (Path(__file__).resolve().parents[1] / "data" / "pii_corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 500 and len({r["id"] for r in rows}) == len(rows)
    assert {r["lang"] for r in rows} == {"kk", "ru", "en"}
    assert sum(not r["spans"] for r in rows) >= 50  # look-alikes that must be kept
    assert {s["type"] for r in rows for s in r["spans"]} == set(PII_TYPES)
    for r in rows:
        for s in r["spans"]:
            assert 0 <= s["start"] < s["end"] <= len(r["text"]) and r["text"][s["start"]:s["end"]].strip()


def test_bench_recall_is_one_on_every_planted_type_and_precision_at_least_098():
    result = _bench().evaluate()
    assert result["snippets"] >= 500
    for kind, scores in result["types"].items():
        assert scores["support"] > 0 and scores["recall"] == 1.0, (kind, scores)
    assert result["overall"]["precision"] >= 0.98, result["overall"]
