"""The voting protocol of the Basque arena, as a pure function.

An annotator judges two dimensions, content and Kazakh language quality, each
left / tie / right, and may say both answers are bad. When the two dimensions
disagree and neither is a tie, an overall choice is required and decides.
Beyond the Basque protocol, the voter may tag each answer with reasons (`REASONS`),
the "why" behind a preference that ComparIA collects and researchers ask for.
"""

from dataclasses import dataclass
from typing import Literal

Choice = Literal["left", "right", "tie"]
CHOICES = ("left", "right", "tie")
MAX_COMMENT = 2000
# What an answer did well, then what it did wrong; a voter ticks any of them for either answer.
GOOD_REASONS = ("correct", "complete", "clear", "natural_kazakh")
BAD_REASONS = ("factual_error", "incomplete", "wrong_language", "wrong_script", "repetitive", "unsafe")
REASONS = GOOD_REASONS + BAD_REASONS
_CONTRADICTIONS = (("correct", "factual_error"), ("complete", "incomplete"), ("natural_kazakh", "wrong_language"))


class VoteError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Verdict:
    """Per-dimension results in battle terms (model_a | model_b | tie) and the final winner."""

    content: str
    language: str
    overall: str | None
    winner: str  # model_a | model_b | tie | tie (bothbad)
    decided_by: str  # content+language | overall | tie | bothbad


def resolve(content: str, language: str, overall: str | None, both_bad: bool, left_is_a: bool) -> Verdict:
    for name, value in (("content", content), ("language", language)):
        if value not in CHOICES:
            raise VoteError("invalid_vote", f"{name} must be one of left, tie, right")
    if overall is not None and overall not in CHOICES:
        raise VoteError("invalid_vote", "overall must be one of left, tie, right")

    def side(choice: str | None) -> str | None:
        if choice is None or choice == "tie":
            return choice
        return "model_a" if (choice == "left") == left_is_a else "model_b"

    c, lang, o = side(content), side(language), side(overall)
    if both_bad:
        return Verdict(c, lang, o, "tie (bothbad)", "bothbad")  # type: ignore[arg-type]
    if c == lang:
        return Verdict(c, lang, o, c, "content+language" if c != "tie" else "tie")  # type: ignore[arg-type]
    if "tie" in (c, lang):  # one dimension decides when the other is a tie
        winner = lang if c == "tie" else c
        return Verdict(c, lang, o, winner, "content+language")  # type: ignore[arg-type]
    if o is None:
        raise VoteError("overall_required", "content and language disagree: choose which answer is better overall")
    return Verdict(c, lang, o, o, "overall")  # type: ignore[arg-type]


def check_reasons(reasons: dict[str, list[str]] | None, left_is_a: bool) -> dict[str, list[str]] | None:
    """The voter's reason tags per side (`left`/`right`) in battle terms ({"model_a": [...], "model_b": [...]}),
    each list in `REASONS` order; None when no tag was given."""
    if not reasons:
        return None
    out: dict[str, list[str]] = {"model_a": [], "model_b": []}
    for side, tags in reasons.items():
        if side not in ("left", "right"):
            raise VoteError("invalid_reasons", f"reasons are given per side, left or right, not {side!r}")
        unknown = sorted(set(tags) - set(REASONS))
        if unknown:
            raise VoteError("invalid_reasons", f"unknown reason {unknown[0]!r}; choose from {', '.join(REASONS)}")
        for a, b in _CONTRADICTIONS:
            if a in tags and b in tags:
                raise VoteError("invalid_reasons", f"the {side} answer cannot be both {a!r} and {b!r}")
        out["model_a" if (side == "left") == left_is_a else "model_b"] = [r for r in REASONS if r in tags]
    return out if out["model_a"] or out["model_b"] else None
