"""Limits on what a client may send, derived from Settings and checked in one place.

Every entry point (REST, OpenAI-compatible API, Gradio) passes text through
`text()` and counts through `at_most()`; the error code names the field
(`empty_<field>`, `<field>_too_long`, `too_many_<field>`, `<field>_too_large`),
so each limit has one code wherever it is hit.
"""

from dataclasses import dataclass

from app.errors import ServiceError
from app.settings import Settings


@dataclass(frozen=True)
class InputLimits:
    prompt_chars: int     # a prompt, a chat message, an arena turn, all /v1 messages together
    comment_chars: int    # an annotator's comment on a vote
    reason_chars: int     # a ban reason, a feedback reason, a flag review note
    messages: int         # messages in one request
    max_tokens: int       # the most tokens a client may ask for

    @classmethod
    def of(cls, settings: Settings) -> "InputLimits":
        return cls(settings.max_prompt_chars, settings.max_comment_chars, settings.max_reason_chars,
                   settings.max_messages, settings.max_tokens_limit)


def text(field: str, value: str | None, max_chars: int, *, required: bool = True, strip: bool = False) -> str:
    """`value` (stripped when `strip`), refused when empty (if required) or longer than `max_chars`."""
    value = value or ""
    if strip:
        value = value.strip()
    if required and not value.strip():
        raise ServiceError("invalid", f"empty_{field}", f"the {field} is empty")
    length(field, len(value), max_chars)
    return value


def length(field: str, chars: int, max_chars: int) -> None:
    """Refuse `chars` characters of `field` above `max_chars`."""
    if chars > max_chars:
        raise ServiceError("invalid", f"{field}_too_long", f"the {field} has {chars} characters; the limit is {max_chars}")


def at_most(field: str, count: int | None, limit: int, *, code: str | None = None) -> None:
    """Refuse a count above `limit` (a missing count is fine)."""
    if count is not None and count > limit:
        raise ServiceError("invalid", code or f"too_many_{field}", f"{field}: at most {limit} (got {count})")
