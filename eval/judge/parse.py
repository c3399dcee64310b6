"""Reading the verdict out of a judge's reply: ``"1"``, ``"2"``, ``"0"`` (equal) or None.

Only what the prompt asks for counts, and only where it asks for it:

- free text (every mode): the reply's last non-empty line must be exactly
  ``Verdict: 1``, ``Verdict: 2`` or ``Verdict: 0`` (the prompt templates' vocabulary;
  case-insensitive, spaces around the line and after the colon allowed, nothing
  else on the line: no markdown, no full stop, no reason in brackets);
- ``structured="choice"`` (vLLM's structured choice): also the whole reply being
  exactly one of ``0``/``1``/``2``;
- ``structured="json_schema"`` (OpenAI's JSON-schema response format): also the
  whole reply being exactly the object ``{"verdict": "<0|1|2>"}``.

Nothing else is read: no ``[[1]]`` brackets, no ``Verdict: 2`` in the middle of the
text, no bare digit in a free-text reply, no "the last match wins". So an answer
that the judge quotes (a ``Verdict: 1`` or a ``[[2]]`` written by the contestant)
cannot become the verdict unless the judge ends its own reply with it, which a
structured mode rules out altogether. None means "no verdict": the caller asks
again, then records ``invalid``; it is never guessed and never turned into a tie.
"""

from __future__ import annotations

import json
import re

__all__ = ["STRUCTURED_FORMATS", "VERDICT_CHOICES", "VERDICT_FORMAT", "VERDICT_JSON_SCHEMA", "parse_verdict",
           "verdict_line"]

VERDICT_CHOICES = ("0", "1", "2")  # 1: response 1 is better, 2: response 2, 0: equally good
STRUCTURED_FORMATS = ("choice", "json_schema")
# Names these reading rules; part of the cache key, so replies read by older, looser rules are not reused.
VERDICT_FORMAT = "final_line_v1"
VERDICT_JSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"verdict": {"type": "string", "enum": list(VERDICT_CHOICES)}},
            "required": ["verdict"],
            "additionalProperties": False,
        },
    },
}
_FINAL_LINE = re.compile(r"verdict:[ \t]*([012])", re.I)


def verdict_line(digit: str) -> str:
    """The final line that states ``digit`` (``"Verdict: 1"``), as the prompts ask for it."""
    if digit not in VERDICT_CHOICES:
        raise ValueError(f"a verdict is one of {VERDICT_CHOICES}, got {digit!r}")
    return f"Verdict: {digit}"


def _json_verdict(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {"verdict"} and data["verdict"] in VERDICT_CHOICES:
        return str(data["verdict"])
    return None


def parse_verdict(text: str | None, structured: str | None = None) -> str | None:
    """``"1"``, ``"2"``, ``"0"`` from a judge's reply, or None when it does not end with a verdict.

    ``structured``: the output format the request asked for (``"choice"``,
    ``"json_schema"``), None for free text; see the module's docstring.
    """
    if structured is not None and structured not in STRUCTURED_FORMATS:
        raise ValueError(f"unknown structured format {structured!r}; expected one of {STRUCTURED_FORMATS} or None")
    if not text or not text.strip():
        return None
    reply = text.strip()
    if structured == "choice" and reply in VERDICT_CHOICES:
        return reply
    if structured == "json_schema":
        found = _json_verdict(reply)
        if found is not None:
            return found
    last = reply.splitlines()[-1].strip()
    final = _FINAL_LINE.fullmatch(last)
    return final.group(1) if final else None
