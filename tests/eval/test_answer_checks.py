"""Echo and Kazakh-share checks on handwritten answers."""

import math

import pytest

from eval.answer_checks import is_echo, is_kazakh, share


def wilson(successes, n, z=1.959963984540054):
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half

QUESTION = "Қазақстанда неке жасы нешеге тең және оны төмендетуге бола ма?"


def test_a_real_answer_is_not_an_echo():
    assert not is_echo(QUESTION, "Неке жасы — он сегіз жас. Дәлелді себептер болса, оны екі жылға дейін төмендетуге болады.")
    assert not is_echo(QUESTION, "Иә.")  # short, and not the question
    assert not is_echo(QUESTION, "")  # empty is a failure of its own kind, not an echo


def test_the_question_repeated_is_an_echo():
    assert is_echo(QUESTION, QUESTION)
    assert is_echo(QUESTION, "қазақстанда неке жасы нешеге тең, және оны төмендетуге бола ма")  # case, punctuation
    # starts with the whole question, whatever follows
    assert is_echo(QUESTION, QUESTION + " Неке жасы он сегіз.")
    # the question's words twice over, with a short tail: 3-gram overlap far above 0.6
    assert is_echo(QUESTION, "Неке жасы нешеге тең және оны төмендетуге бола ма? Неке жасы нешеге тең?")


def test_the_overlap_threshold_is_six_tenths_of_the_answer_trigrams():
    q = "абай қай жылы туған еді"
    # answer trigrams: (абай қай жылы) (қай жылы туған) (жылы туған деп) (туған деп сұрадыңыз) -> 2 of 4 = 0.5
    assert not is_echo(q, "Абай қай жылы туған деп сұрадыңыз")
    # (қай жылы туған) (жылы туған еді) (туған еді білмеймін) -> 2 of 3 = 0.67
    assert is_echo(q, "Қай жылы туған еді, білмеймін")
    assert not is_echo(q, "Қай жылы туған еді, білмеймін", threshold=0.7)


def test_kazakh_share_uses_langid():
    assert is_kazakh("Неке жасы — он сегіз жас, оны төмендетуге болады.")
    assert is_kazakh("Neke jasy — on segiz jas, ony tómendetýge bolady.")  # 2018 Latin alphabet
    assert not is_kazakh("Брачный возраст — восемнадцать лет.")
    assert not is_kazakh("The marriage age is eighteen.")
    assert not is_kazakh("")


def test_share_has_a_wilson_interval():
    s = share([True] * 7 + [False] * 3)
    assert (s.value, s.count, s.n) == (0.7, 7, 10)
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson(7, 10))
    with pytest.raises(ValueError, match="zero items"):
        share([])
