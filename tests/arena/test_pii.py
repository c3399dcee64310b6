"""PII scrubbing on a table of real-format positives and look-alike negatives in Kazakh text.

IIN/BIN check digits are computed here by an independent implementation of the
published rule (weights 1..11 mod 11; on 10, weights 3..11,1,2; on 10 again the
number is invalid), and card numbers include the textbook Luhn test numbers.
"""

import pytest

from arena.export.pii import (
    PII_TYPES,
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
            f"карта 4111 1111 1111 1111, паспорт N12345678, жеке куәлік 045678912. 2024 жылы 50 000 теңге.")
    done = scrub_text(text)
    assert done.text == ("Сәлем! ЖСН [IIN], тел. [PHONE] немесе [PHONE], e-mail: [EMAIL], карта [CARD], "
                         "паспорт [PASSPORT], жеке куәлік [ID_CARD]. 2024 жылы 50 000 теңге.")
    assert dict(done.counts) == {"iin": 1, "phone": 2, "email": 1, "card": 1, "passport": 1, "id_card": 1}
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
