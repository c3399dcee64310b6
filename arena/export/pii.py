"""Personal data in free text: find it and replace each match by a typed placeholder.

What is recognised (Kazakhstan formats first, then what is the same everywhere):

- ``[EMAIL]``: e-mail addresses (Unicode letters allowed, so ``.қаз`` domains count).
- ``[IBAN]``: bank account numbers in IBAN form, any country (``KZ86125KZT5004100100``,
  ``DE89 3704 0044 0532 0130 00``): two letters, two check digits, then letters and digits,
  with or without single spaces or dashes, that pass the ISO 13616 mod-97 check. For a
  country in the SWIFT IBAN registry the length must be that country's (KZ: 20); for any
  other two capitals, 15-34 characters and check digits 02-98.
- ``[CARD]``: payment card numbers, 13-19 digits (plain or in groups of four, or
  4-6-5) that pass the Luhn check, and not a run of one repeated digit.
- ``[IIN]``: an individual (IIN) or business (BIN) identification number, 12 digits
  whose last digit is the check digit (weights 1..11 mod 11; if that gives 10, weights
  3..11,1,2 mod 11; if that gives 10 again the number is invalid). An IIN must also
  start with a real birth date (YYMMDD) and have a century/sex digit 1-6 in 7th place; a
  BIN starts with a registration year and month, then a type digit 4-6 and a digit 0-3.
  Written plain or in groups of two to six digits (``880701 456788``, ``8807 0145 6788``);
  the groups must be the whole run of digits. Twelve digits with a wrong check digit are
  left alone: they are not IINs.
- ``[PHONE]``: +7, 8 or a bare 7 followed by ten digits, with spaces, dashes or brackets
  (``+7 701 1234567``, ``8 (701) 123-45-67``, ``77071234567``, ``7 705 123 45 67``), and
  ``(7xx) xxx-xx-xx`` without a prefix. The national number must start with a zone code
  (3-9; after a bare 7, which is weaker evidence, 6, 7 or 9). Not a phone: a number written
  in thousands (``87 000 000 000``) or followed by a currency, the fraction of a decimal
  (``0.87011234567``), a piece of a longer run of digits, and the public numbers below.
- ``[PASSPORT]``: passport numbers, ``N`` and 8 digits.
- ``[ID_CARD]``: ID-card numbers, 9 digits, only when a word such as "жеке куәлік",
  "удостоверение", "ID" or "құжат" stands within a few words of them (nine digits
  alone are too common to remove blindly).
- ``[NAME]``: one or two capitalised words right after a self-introduction: "менің атым",
  "менің есімім", "атым", "меня зовут", "моё имя", "my name is". Names elsewhere are not
  found: that would need a named-entity model, and the card says so.

Kept on purpose (look-alikes): dates, years, amounts (``150 000 теңге``), decimals,
percentages, postal codes, numbers of laws and articles, ISBNs (numbers right after
"ISBN" are never taken), and the public service numbers in ``PUBLIC_NUMBERS`` (an
organisation's hotline is not anyone's personal data, and answers quote them all the
time). Toll-free numbers (national number 800...) are organisations' lines by nature and
are kept too. Short numbers such as the eGov contact centre 1414 or 112 are never matched.

Existing libraries, read before writing this (none is used, and why):

- Microsoft Presidio: its IBAN recogniser (mod-97 plus a per-country regex) and its credit
  card recogniser (Luhn) are the same checks as here; it has no IIN, no Kazakh ID-card or
  passport rule, its phone recogniser needs ``phonenumbers`` and its context words and NER are
  English (spaCy). Too heavy for what it would add.
- ``airlock-pii`` 0.1.0 (alpha): good ideas taken from it (the national number of a bare 7
  must start with 6/7/9; the end of an IBAN in groups must not be read as a phone, which the
  pass order settles here), but it detects KZ IBANs only, does not look for IINs written in
  groups, and has no allow-list of public numbers.
- ``kz-iin-validator``: validates one IIN (same check digit rule as ``iin_check_digit``); its
  extractor is a date regex that does not check the check digit and knows no BINs.

Everything here is a pure function over strings. ``find_pii`` returns the spans;
``scrub_text`` replaces them. The passes run in ``PII_TYPES`` order on a copy of the text in
which what earlier passes found is blanked out (so an IBAN's digits are never a card, an
e-mail's digits never a phone); placeholders contain no digits, so scrubbing scrubbed text
changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any

__all__ = ["IBAN_LENGTHS", "PII_TYPES", "PLACEHOLDERS", "PUBLIC_NUMBERS", "Scrubbed", "Span", "find_pii",
           "iban_valid", "iin_check_digit", "is_valid_iin_or_bin", "luhn_valid", "scrub_json", "scrub_text"]

PLACEHOLDERS: Mapping[str, str] = {
    "email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "iin": "[IIN]", "phone": "[PHONE]",
    "passport": "[PASSPORT]", "id_card": "[ID_CARD]", "name": "[NAME]",
}
PII_TYPES = tuple(PLACEHOLDERS)  # also the order of the passes

# Public service numbers that answers quote and that belong to no one: national numbers
# (the ten digits after +7 / 8). Short numbers (1414, 112, 101-104) never match a phone.
PUBLIC_NUMBERS: frozenset[str] = frozenset({
    "8000807777",  # eGov contact centre, toll-free 8 800 080 7777 (the short number is 1414)
})

# IBAN lengths by country, from the SWIFT IBAN registry (ISO 13616).
IBAN_LENGTHS: Mapping[str, int] = MappingProxyType({
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
})

_WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# Century of the birth year by the 7th digit of an IIN (odd: male, even: female).
_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}

_SP = " \u00a0\u2007\u2009\u202f"  # spaces people (and word processors) put inside numbers
_DASH = "\\-\u2010\u2011\u2013"
_SEP = f"[{_SP}{_DASH}]"
_SEPARATORS = frozenset(_SP + "-\u2010\u2011\u2013")
_BLANK = "\x00"  # what a found span becomes in the working copy: no digit, letter, space or sign

# Every numeric type has at least 8 digits with at most 3 other characters between them
# (a phone's "+7 (701) 123-45-67" has 2); text without such a run skips the numeric passes.
_NUMERIC_RUN = re.compile(r"\d(?:\D{0,3}\d){7}")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
# Not glued to other digits, nor the fraction part of a decimal number.
_NOT_AFTER_NUMBER = r"(?<!\d)(?<!\d[.,])"
_CARD = re.compile(
    r"(?<!\d)(?<!\d[ -])"
    r"(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5})"
    r"(?![ -]?\d)"
)
# A whole run of digit groups (one separator between groups); an IIN is one of them.
_DIGIT_RUN = re.compile(_NOT_AFTER_NUMBER + rf"(?<!\d{_SEP})\d+(?:{_SEP}\d+)*(?!\d)(?!{_SEP}\d)")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
_PHONE = re.compile(
    _NOT_AFTER_NUMBER + rf"(?<![\w+])(?<!\d{_SEP})"
    rf"(?P<prefix>\+[{_SP}]?7|8|7)[{_SP}{_DASH}]?\(?\d(?:[{_SP}{_DASH}()]{{0,2}}\d){{9}}(?!\d)"
    rf"|(?<![\w+])\(7\d\d\)[{_SP}]?\d{{3}}[{_SP}{_DASH}]?\d\d[{_SP}{_DASH}]?\d\d(?!\d)"
)
_THOUSANDS = re.compile(rf"\d{{1,3}}(?:[{_SP}]\d{{3}})+")
_CURRENCY_AFTER = re.compile(
    r"\s?(?:теңге|тенге|тг\b|₸|руб|рубл|сом\b|доллар|долл|евро|\$|€|usd|kzt|eur|rub|млн|млрд|мың|тыс)",
    re.IGNORECASE,
)
_ISBN_BEFORE = re.compile(r"isbn[\s:-]*\Z", re.IGNORECASE)
_PASSPORT = re.compile(r"(?<!\w)[NnНн]\s?№?\s?\d{8}(?!\d)")
_NINE = re.compile(_NOT_AFTER_NUMBER + r"\d{9}(?!\d)")
_ID_CONTEXT = re.compile(
    r"куәл|удостов|уд\.\s?личн|жеке\s+бас|\bid\b|identity|құжат|документ|паспорт|passport",
    re.IGNORECASE,
)
_CONTEXT_BEFORE, _CONTEXT_AFTER = 60, 30  # characters searched for an ID-card context word

_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
_LOWER = "a-zа-яёәғқңөұүһі"
_WORD = rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}]?[{_LOWER}]+)?"
_NAME = re.compile(
    r"(?i:\b(?:менің\s+(?:атым|есімім)|атым|есімім|меня\s+зовут|мо[её]\s+имя|my\s+name\s+is|my\s+name's))"
    rf"[{_SP}]*(?:[—–:-][{_SP}]*)?(?P<name>{_WORD}(?:[{_SP}]+{_WORD})?)(?![{_LOWER}{_UPPER}])"
)
_NAME_INTRO = re.compile(r"атым|есімім|зовут|имя|name", re.IGNORECASE)
# Capitalised words that start the next sentence rather than continue a name.
_NOT_A_SURNAME = frozenset({"Мен", "Менің", "Маған", "Я", "Мне", "Мой", "Моя", "Мы", "Это", "Бұл", "Сен",
                            "Сіз", "Біз", "And", "But", "The", "This", "It", "My", "We", "You"})


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` is personal data of ``type`` (one of ``PII_TYPES``)."""

    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Scrubbed:
    """The text with personal data replaced, and how many replacements of each type."""

    text: str
    counts: Mapping[str, int] = field(default_factory=dict)  # only types that occurred


def iin_check_digit(first11: str) -> int | None:
    """The check digit for the first 11 digits of an IIN/BIN, or None if no digit is valid."""
    if len(first11) != 11 or not first11.isdigit():
        raise ValueError(f"need exactly 11 digits, got {first11!r}")
    digits = [int(c) for c in first11]
    for weights in (_WEIGHTS_1, _WEIGHTS_2):
        check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if check != 10:
            return check
    return None


def _plausible_iin(digits: str) -> bool:
    century = _CENTURY.get(int(digits[6]))
    if century is None:
        return False
    try:
        date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    return True


def _plausible_bin(digits: str) -> bool:
    return 1 <= int(digits[2:4]) <= 12 and digits[4] in "456" and digits[5] in "0123"


def is_valid_iin_or_bin(digits: str) -> bool:
    """12 digits with a valid check digit that read as an IIN (birth date) or a BIN."""
    if len(digits) != 12 or not digits.isdigit() or not digits.isascii():
        return False
    if iin_check_digit(digits[:11]) != int(digits[11]):
        return False
    return _plausible_iin(digits) or _plausible_bin(digits)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: letters and digits only, the country's length if it is in the registry,
    and the number read with the first four characters moved to the end is 1 mod 97."""
    iban = re.sub(f"[{_SP}{_DASH}]", "", iban).upper()
    if not (iban.isascii() and iban.isalnum() and iban[:2].isalpha() and iban[2:4].isdigit()):
        return False
    known = IBAN_LENGTHS.get(iban[:2])
    if known is not None and len(iban) != known:
        return False
    if known is None and not (15 <= len(iban) <= 34 and 2 <= int(iban[2:4]) <= 98):
        return False
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


# ------------------------------------------------------------------ detectors
# Each takes the working text and yields (start, end) spans in it.
Detector = Callable[[str], Iterator[tuple[int, int]]]


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.span()


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    after = 0  # where the last IBAN ended: no IBAN starts inside another
    for m in _IBAN_START.finditer(text):
        if m.start() < after:
            continue
        country = m.group()[:2]
        if country != country.upper() and country != country.lower():
            continue  # "Kz" is a word, not a country code
        # Walk letters and digits, one space or dash allowed between two of them; note each
        # place where a group ends (the IBAN may end there) and how many characters precede it.
        pos, n, ends = m.end(), 4, []
        while n < 34:
            if pos < len(text) and _alnum(text[pos]):
                pos, n = pos + 1, n + 1
            elif pos + 1 < len(text) and text[pos] in _SEPARATORS and _alnum(text[pos + 1]):
                pos, n = pos + 2, n + 1
            else:
                break
            if pos >= len(text) or not _alnum(text[pos]):
                ends.append((pos, n))
        want = IBAN_LENGTHS.get(country.upper())
        for end, n in reversed(ends):  # the longest that is an IBAN
            if (want is None or n == want) and iban_valid(text[m.start():end]):
                after = end
                yield m.start(), end
                break


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        # Luhn accepts 0000...0; a run of one repeated digit is a placeholder, not a card.
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits) and not _after_isbn(text, m):
            yield m.span()


def _after_isbn(text: str, m: re.Match[str]) -> bool:
    return _ISBN_BEFORE.search(text, max(0, m.start() - 12), m.start()) is not None


def _iins(text: str) -> Iterator[tuple[int, int]]:
    for m in _DIGIT_RUN.finditer(text):
        if _after_isbn(text, m):
            continue
        run = m.group()
        groups = re.split(_SEP, run)
        if len(groups) > 1 and sum(map(len, groups)) == 12 and min(map(len, groups)) >= 2:
            if is_valid_iin_or_bin("".join(groups)) and not (
                    _THOUSANDS.fullmatch(run) and _CURRENCY_AFTER.match(text, m.end())):  # an amount
                yield m.span()
            continue
        at = m.start()  # otherwise: any group of twelve digits in the run
        for group in groups:
            if len(group) == 12 and is_valid_iin_or_bin(group):
                yield at, at + 12
            at += len(group) + 1


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for m in _PHONE.finditer(text):
        prefix = m.group("prefix")
        body = m.group() if prefix is None else m.group()[len(prefix):]
        national = re.sub(r"\D", "", body)
        if len(national) != 10 or national[0] not in ("679" if prefix == "7" else "3456789"):
            continue
        if national in PUBLIC_NUMBERS or national.startswith("800"):
            continue
        if _CURRENCY_AFTER.match(text, m.end()) or _after_isbn(text, m):
            continue
        if prefix is not None and not prefix.startswith("+") and _THOUSANDS.fullmatch(m.group()):
            continue  # "87 000 000 000": an amount, not 8 and a number
        yield m.span()


def _passports(text: str) -> Iterator[tuple[int, int]]:
    for m in _PASSPORT.finditer(text):
        yield m.span()


def _id_cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _NINE.finditer(text):
        window = text[max(0, m.start() - _CONTEXT_BEFORE): m.end() + _CONTEXT_AFTER]
        if _ID_CONTEXT.search(window) is not None:
            yield m.span()


def _names(text: str) -> Iterator[tuple[int, int]]:
    for m in _NAME.finditer(text):
        start, end = m.span("name")
        words = m.group("name").split()
        if len(words) == 2 and words[1] in _NOT_A_SURNAME:
            end = start + len(words[0])
        if words[0] in _NOT_A_SURNAME:
            continue
        yield start, end


_DETECTORS: Mapping[str, Detector] = {
    "email": _emails, "iban": _ibans, "card": _cards, "iin": _iins, "phone": _phones,
    "passport": _passports, "id_card": _id_cards, "name": _names,
}
assert tuple(_DETECTORS) == PII_TYPES


def find_pii(text: str) -> list[Span]:
    """Every piece of personal data in ``text``, as spans of the original text, in order."""
    if not isinstance(text, str):
        raise ValueError(f"find_pii takes a string, got {type(text).__name__}")
    return list(_find(text))


@lru_cache(maxsize=512)  # the same prompt is in both conversations of a battle, and often repeated
def _find(text: str) -> tuple[Span, ...]:
    kinds = []
    if "@" in text:
        kinds.append("email")
    numeric = _NUMERIC_RUN.search(text) is not None
    if numeric and _IBAN_START.search(text):
        kinds.append("iban")
    if numeric:
        kinds += ["card", "iin", "phone", "passport", "id_card"]
    if _NAME_INTRO.search(text):
        kinds.append("name")
    spans: list[Span] = []
    work = text
    for kind in kinds:
        found = list(_DETECTORS[kind](work))
        for start, end in found:
            spans.append(Span(start, end, kind))
            work = work[:start] + _BLANK * (end - start) + work[end:]
    return tuple(sorted(spans, key=lambda s: s.start))


def scrub_text(text: str) -> Scrubbed:
    """Replace every recognised piece of personal data in ``text`` by its placeholder."""
    if not isinstance(text, str):
        raise ValueError(f"scrub_text takes a string, got {type(text).__name__}")
    return _scrub(text)


@lru_cache(maxsize=512)
def _scrub(text: str) -> Scrubbed:
    spans = _find(text)
    if not spans:
        return Scrubbed(text)
    parts, at = [], 0
    for span in spans:
        parts += [text[at:span.start], PLACEHOLDERS[span.type]]
        at = span.end
    parts.append(text[at:])
    counts = Counter(span.type for span in spans)
    return Scrubbed("".join(parts), MappingProxyType({k: counts[k] for k in PII_TYPES if k in counts}))


def scrub_json(value: Any) -> tuple[Any, Counter[str]]:
    """Scrub every string inside nested lists and dicts (keys are left alone).

    Returns a new value of the same shape and the replacement counts.
    """
    counts: Counter[str] = Counter()

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            done = scrub_text(v)
            counts.update(done.counts)
            return done.text
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v

    return walk(value), counts
