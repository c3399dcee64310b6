"""Checks that keep battles anonymous and honest."""

import re

# Names by which a model may give itself away; matched as whole words, any case.
IDENTITY_WORDS = ("qwen", "alibaba", "gemma", "google", "deepmind", "openai", "chatgpt", "gpt-4", "gpt-4o",
                  "llama", "meta ai", "mistral", "falcon", "anthropic", "claude", "tongyi", "yandexgpt", "gigachat")
_IDENTITY = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in IDENTITY_WORDS) + r")(?![\w-])", re.IGNORECASE)


def identity_leaks(text: str) -> list[str]:
    """Model or vendor names an answer mentions (lower-case, unique, in order)."""
    seen: list[str] = []
    for m in _IDENTITY.finditer(text):
        word = m.group(1).lower()
        if word not in seen:
            seen.append(word)
    return seen
