"""The voting protocol of the Basque arena, as a pure function.

An annotator judges two dimensions, content and Kazakh language quality, each
left / tie / right, and may say both answers are bad. When the two dimensions
disagree and neither is a tie, an overall choice is required and decides.
"""

from dataclasses import dataclass
from typing import Literal

Choice = Literal["left", "right", "tie"]
CHOICES = ("left", "right", "tie")
MAX_COMMENT = 2000


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
