"""A contestant's pipeline: how a conversation is turned into what the model sees.

`plain` adds the configured system prompt; `rag` also puts the top BM25 chunks
of the GovSet/CultSet index into it and returns them as numbered sources.
"""

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.serving.registry import ModelSpec

log = logging.getLogger(__name__)


class Grounder(Protocol):
    def ground(self, question: str) -> tuple[str, list[dict[str, Any]]]:
        """Return (context block for the system prompt, sources to show)."""
        ...


@dataclass(frozen=True)
class Prepared:
    messages: list[dict[str, Any]]
    sources: list[dict[str, Any]] = field(default_factory=list)
    grounding_unavailable: bool = False


def prepare_messages(spec: ModelSpec, messages: list[dict[str, Any]], grounder: Grounder | None) -> Prepared:
    system_parts: list[str] = []
    if spec.system_prompt:
        system_parts.append(spec.system_prompt)
    sources: list[dict[str, Any]] = []
    unavailable = False
    if spec.pipeline == "rag":
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        if grounder is None:
            unavailable = True
        else:
            context, sources = grounder.ground(str(question))
            if context:
                system_parts.append(context)
    if not system_parts:
        return Prepared(list(messages), sources, unavailable)
    out = [dict(m) for m in messages]
    if out and out[0]["role"] == "system":
        out[0]["content"] = "\n\n".join([*system_parts, str(out[0]["content"])])
    else:
        out.insert(0, {"role": "system", "content": "\n\n".join(system_parts)})
    return Prepared(out, sources, unavailable)
