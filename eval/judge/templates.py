"""Judge prompts: versioned template files, their hash, and rendering with escaped data.

A template file in ``prompts/`` holds a ``[system]`` section and a ``[user]``
section; ``{{name}}`` marks where a piece of data goes. The sha256 of the file is
stored with every verdict, so a verdict always says which prompt produced it; a
changed prompt is a new file (``_v2``), never an edit of an old one.

Data (questions, reference answers, the answers being judged) goes in as JSON,
with ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e`` and ``\\u0026``. So a
response is one JSON string on one line that contains no angle bracket at all: it
cannot close its ``</response_1>`` tag or open a new one, whatever it says, and
``json.loads`` of the block gives back the exact original text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["PROMPTS_DIR", "PromptTemplate", "encode_data", "load_template", "template_names"]

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_NAME = re.compile(r"^[a-z0-9_]+$")


def encode_data(value: Any) -> str:
    """``value`` as JSON on one line, with nothing in it that could pass for a tag."""
    text = json.dumps(value, ensure_ascii=False)
    # Escaped characters are still valid JSON and decode to the same text.
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file: its name (file stem), the two message texts and the file's sha256."""

    name: str
    system: str
    user: str
    sha256: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The data fields the template asks for, in order of first use."""
        seen: dict[str, None] = {}
        for match in _PLACEHOLDER.finditer(self.system + self.user):
            seen.setdefault(match.group(1), None)
        return tuple(seen)

    def render(self, values: dict[str, Any]) -> list[dict[str, str]]:
        """Chat messages with every ``{{field}}`` replaced by the JSON-encoded value.

        One pass over the template, so text inside a value is never scanned for
        placeholders again.
        """
        missing = [f for f in self.fields if f not in values]
        extra = [k for k in values if k not in self.fields]
        if missing or extra:
            raise ValueError(
                f"prompt {self.name!r} needs the fields {list(self.fields)}; "
                f"missing {missing}, unexpected {extra}"
            )
        encoded = {k: encode_data(v) for k, v in values.items()}

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: encoded[m.group(1)], text)

        messages = [{"role": "user", "content": fill(self.user)}]
        if self.system:
            messages.insert(0, {"role": "system", "content": fill(self.system)})
        return messages


def _parse(name: str, text: str) -> tuple[str, str]:
    lines = text.splitlines()
    try:
        s, u = lines.index("[system]"), lines.index("[user]")
    except ValueError:
        raise ValueError(f"prompt {name!r} must have a '[system]' line and a '[user]' line") from None
    if not s < u:
        raise ValueError(f"prompt {name!r}: the [system] section must come before [user]")
    return "\n".join(lines[s + 1 : u]).strip(), "\n".join(lines[u + 1 :]).strip()


@lru_cache(maxsize=32)
def load_template(name: str, directory: Path = PROMPTS_DIR) -> PromptTemplate:
    """The template ``directory/name.txt`` (e.g. ``reference_v1``)."""
    if not _NAME.match(name):
        raise ValueError(f"prompt name {name!r} must be lower-case letters, digits and _ (e.g. reference_v1)")
    path = directory / f"{name}.txt"
    if not path.is_file():
        raise ValueError(f"no prompt {name!r} in {directory}; have: {', '.join(template_names(directory))}")
    raw = path.read_bytes()
    system, user = _parse(name, raw.decode("utf-8"))
    return PromptTemplate(name=name, system=system, user=user, sha256=hashlib.sha256(raw).hexdigest())


def template_names(directory: Path = PROMPTS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.txt"))
