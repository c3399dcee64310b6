"""Personal data in free text: find it and replace each match by a typed placeholder.

What is recognised (Kazakhstan formats):

- ``[IIN]``: an individual (IIN) or business (BIN) identification number, 12 digits
  whose last digit is the check digit (weights 1..11 mod 11; if that gives 10, weights
  3..11,1,2 mod 11; if that gives 10 again the number is invalid). An IIN must also
  start with a real birth date (YYMMDD) and have a century/sex digit 1-6 in 7th place; a
  BIN starts with a registration year and month, then a type digit 4-6 and a digit 0-3.
  Twelve digits with a wrong check digit are left alone: they are not IINs.
- ``[PHONE]``: +7 or 8 followed by ten digits, with spaces, dashes or brackets anywhere.
- ``[EMAIL]``: e-mail addresses (Unicode letters allowed, so ``.қаз`` domains count).
- ``[CARD]``: payment card numbers, 13-19 digits (plain or in groups of four, or
  4-6-5) that pass the Luhn check.
- ``[PASSPORT]``: passport numbers, ``N`` and 8 digits.
- ``[ID_CARD]``: ID-card numbers, 9 digits, only when a word such as "жеке куәлік",
  "удостоверение", "ID" or "құжат" stands within a few words of them (nine digits
  alone are too common to remove blindly).

Everything here is a pure function over strings. The order of the passes matters:
e-mails first (their local part may hold digits), then the long numbers, then the
short ones; placeholders contain no digits, so later passes never touch them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any

__all__ = ["PII_TYPES", "PLACEHOLDERS", "Scrubbed", "iin_check_digit", "is_valid_iin_or_bin",
           "luhn_valid", "scrub_json", "scrub_text"]

PLACEHOLDERS: Mapping[str, str] = {
    "email": "[EMAIL]", "card": "[CARD]", "iin": "[IIN]", "phone": "[PHONE]",
    "passport": "[PASSPORT]", "id_card": "[ID_CARD]",
}
PII_TYPES = tuple(PLACEHOLDERS)  # also the order of the passes

_WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# Century of the birth year by the 7th digit of an IIN (odd: male, even: female).
_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}

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
_TWELVE = re.compile(_NOT_AFTER_NUMBER + r"\d{12}(?!\d)")
_PHONE = re.compile(r"(?<![\w+])(?:\+\s?7|8)[\s\-]?\(?\d(?:[\s\-()]{0,2}\d){9}(?!\d)")
_PASSPORT = re.compile(r"(?<!\w)[NnНн]\s?№?\s?\d{8}(?!\d)")
_NINE = re.compile(_NOT_AFTER_NUMBER + r"\d{9}(?!\d)")
_ID_CONTEXT = re.compile(
    r"куәл|удостов|уд\.\s?личн|жеке\s+бас|\bid\b|identity|құжат|документ|паспорт|passport",
    re.IGNORECASE,
)
_CONTEXT_BEFORE, _CONTEXT_AFTER = 60, 30  # characters searched for an ID-card context word


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
    if len(digits) != 12 or not digits.isdigit():
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


def _is_card(match: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", match.group())
    # Luhn accepts 0000...0; a run of one repeated digit is a placeholder, not a card.
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def _is_iin(match: re.Match[str]) -> bool:
    return is_valid_iin_or_bin(match.group())


def _is_id_card(match: re.Match[str]) -> bool:
    text = match.string
    window = text[max(0, match.start() - _CONTEXT_BEFORE): match.end() + _CONTEXT_AFTER]
    return _ID_CONTEXT.search(window) is not None


def _always(_: re.Match[str]) -> bool:
    return True


_EMAIL_PASS = (("email", _EMAIL, _always),)
_NUMERIC_PASSES: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    ("card", _CARD, _is_card),
    ("iin", _TWELVE, _is_iin),
    ("phone", _PHONE, _always),
    ("passport", _PASSPORT, _always),
    ("id_card", _NINE, _is_id_card),
)


def scrub_text(text: str) -> Scrubbed:
    """Replace every recognised piece of personal data in ``text`` by its placeholder."""
    if not isinstance(text, str):
        raise ValueError(f"scrub_text takes a string, got {type(text).__name__}")
    passes = (_EMAIL_PASS if "@" in text else ()) + (_NUMERIC_PASSES if _NUMERIC_RUN.search(text) else ())
    if not passes:
        return Scrubbed(text)
    return _scrub(text, passes)


@lru_cache(maxsize=512)  # the same prompt is in both conversations of a battle, and often repeated
def _scrub(text: str, passes: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...]) -> Scrubbed:
    counts: dict[str, int] = {}
    for kind, pattern, accept in passes:
        placeholder = PLACEHOLDERS[kind]
        found = 0

        def replace(match: re.Match[str], accept: Callable[[re.Match[str]], bool] = accept,
                    placeholder: str = placeholder) -> str:
            nonlocal found
            if accept(match):
                found += 1
                return placeholder
            return match.group()

        text = pattern.sub(replace, text)
        if found:
            counts[kind] = found
    return Scrubbed(text, MappingProxyType(counts))  # shared through the cache: read-only


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
