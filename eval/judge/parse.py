"""Reading the verdict out of a judge's reply: ``"1"``, ``"2"``, ``"0"`` (equal) or None.

What counts, strongest first (the last match wins inside each rule):

1. a bracketed verdict: ``[[1]]``, ``[[2]]``, ``[[0]]`` (MT-Bench's ``[[A]]``/``[[B]]``/``[[C]]`` too);
2. a labelled verdict: ``Verdict: 1``, ``Final answer - 2``, ``**Verdict:** Response 1``,
   ``Шешім: 0``, ``Ответ: 2``, or the label followed by tie/equal/тең/ничья;
3. a last line (else a first line) that holds nothing but the verdict: ``1``, ``**2**``,
   ``(0).``, ``Tie``, ``Response 2``.

Quoted material is removed first: code blocks, ``"..."``, ``«...»``, ``“...”``,
markdown quotes and echoed ``<response_1>`` blocks, so digits inside a quoted
answer never count. A digit that is part of a number (``10``, ``1.5``) is not a
verdict. None means "no verdict": the caller asks again or records ``invalid``;
it is never turned into a tie.
"""

from __future__ import annotations

import re

__all__ = ["parse_verdict"]

_TIE_WORDS = r"tie|equally|equal|draw|same|тең|ничья|одинаково"
_TOKEN = rf"(?:[012]|{_TIE_WORDS})"
_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
_ECHOED_BLOCK = re.compile(
    r"<(response_[12]|reference|instruction|conversation)>.*?(?:</\1>|\Z)", re.S | re.I
)
_QUOTED = re.compile(r'"[^"\n]*"|«[^»]*»|“[^”]*”|„[^“”]*[“”]')
_BLOCKQUOTE = re.compile(r"^\s*>.*$", re.M)
_BRACKETED = re.compile(r"\[\[\s*([012ABCabc])\s*\]\]")
_LABEL_WORDS = (
    r"verdict|answer|decision|choice|output|result|winner|better"
    r"|шешім|жауап|үкім|вердикт|ответ|решение"
)
_NAMED = r"(?:response|assistant|answer|жауап|ответ)\s*(?:no\.?|№|#)?"
_LABELLED = re.compile(
    rf"(?:final\s+|соңғы\s+|итоговый\s+)?(?:{_LABEL_WORDS})[*_`]*\s*(?:is|:|：|=|-|–|—)[\s*_`'\"\[(]*"
    rf"(?:{_NAMED}\s*)?({_TOKEN})"
    # the verdict ends there: "Verdict: 1 (because ...)" counts, "Answer: 1 January" or "1.5" does not
    r"(?=[*_`'\")\]]*(?:\s*$|\s*[,;:!(—–-]|\.(?!\d)|\s+(?:is|because|since|as|good)\b))",
    re.I | re.M,
)
_LONE_LINE = re.compile(rf"^[\s*_`'\"\[(]*(?:{_NAMED}\s*)?({_TOKEN})[\s*_`'\")\].!]*$", re.I)
_MT_BENCH = {"a": "1", "b": "2", "c": "0"}


def _token(text: str) -> str:
    text = text.lower()
    if text in ("0", "1", "2"):
        return text
    return _MT_BENCH.get(text, "0")  # a tie word


def _unquote(text: str) -> str:
    def keep_verdicts(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1].strip(" *")
        # "1" or «2» is a quoted verdict, not a quoted answer
        return inner if re.fullmatch(_TOKEN, inner, re.I) else " "

    text = _CODE_BLOCK.sub(" ", text)
    text = _ECHOED_BLOCK.sub(" ", text)
    text = _BLOCKQUOTE.sub(" ", text)
    return _QUOTED.sub(keep_verdicts, text)


def parse_verdict(text: str | None) -> str | None:
    """``"1"``, ``"2"``, ``"0"`` from a judge's reply, or None when it holds no clear verdict."""
    if not text or not text.strip():
        return None
    cleaned = _unquote(text)
    bracketed = _BRACKETED.findall(cleaned)
    if bracketed:
        return _token(bracketed[-1])
    labelled = _LABELLED.findall(cleaned)
    if labelled:
        return _token(labelled[-1])
    lines = [line for line in cleaned.splitlines() if line.strip()]
    # a verdict alone on the last line, else alone on the first ("2\n\nResponse 2 is ...")
    for line in lines[-1:] + lines[:1]:
        lone = _LONE_LINE.match(line)
        if lone:
            return _token(lone.group(1))
    return None
