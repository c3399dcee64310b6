"""The judge's connection: which model at which endpoint, how to ask it, and who it is.

The transport (retries with backoff, prices, the client) is ``eval.llm_client``,
shared with data generation. Everything is passed in explicitly (``JudgeConfig``);
the app builds the config from its settings, this package never reads them.

Structured output: vLLM 0.32 constrains the reply with
``extra_body={"structured_outputs": {"choice": [...]}}``; the older ``guided_choice``
field is accepted but silently ignored there (both tried against the dev server).
OpenAI rejects that field; there a structured judge asks for the JSON-schema
``response_format`` (``{"verdict": "0"|"1"|"2"}``) instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from openai import AsyncOpenAI

from eval import llm_client
from eval.judge.parse import STRUCTURED_FORMATS, VERDICT_CHOICES, VERDICT_JSON_SCHEMA
from eval.llm_client import LLMEndpoint, Reply, is_openai_url

__all__ = ["VERDICT_CHOICES", "JudgeConfig", "chat"]


NOT_GPT4O = "not GPT-4o: its verdicts are not comparable with GPT-4o's"


def is_gpt4o(model: str) -> bool:
    """GPT-4o or one of its dated snapshots (not gpt-4o-mini)."""
    return model == "gpt-4o" or (model.startswith("gpt-4o-") and "mini" not in model)


@dataclass(frozen=True)
class JudgeConfig(LLMEndpoint):
    """One judge: ``model`` at ``base_url``, and how to talk to it.

    ``max_retries``: extra tries after a transport error (429/5xx/timeouts);
    ``parse_retries``: extra asks when a reply holds no verdict; ``structured``:
    constrain the reply to a verdict, in ``structured_format``: ``"choice"`` (a vLLM
    server's ``structured_outputs`` choice of exactly 0/1/2) or ``"json_schema"``
    (OpenAI's ``response_format``); None picks ``json_schema`` at OpenAI (which
    rejects the vLLM field) and ``choice`` anywhere else. Without ``structured`` the
    reply is free text, read only from its final ``Verdict: N`` line.
    """

    timeout_s: float = 120.0
    max_tokens: int = 64
    parse_retries: int = 1
    structured: bool = False
    structured_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.parse_retries < 0:
            raise ValueError(f"parse_retries must be >= 0, got {self.parse_retries}")
        if self.structured_format is not None and self.structured_format not in STRUCTURED_FORMATS:
            raise ValueError(f"structured_format must be one of {STRUCTURED_FORMATS} or None, "
                             f"got {self.structured_format!r}")

    @property
    def output_format(self) -> str | None:
        """How the reply is constrained: ``"choice"``, ``"json_schema"``, or None (free text)."""
        if not self.structured:
            return None
        if self.structured_format is not None:
            return self.structured_format
        return "json_schema" if is_openai_url(self.base_url) else "choice"

    @property
    def is_gpt4o(self) -> bool:
        return is_gpt4o(self.model)

    def describe(self) -> str:
        """Which judge this is, in words; says so when it is not GPT-4o."""
        text = f"{self.model} at {self.base_url}"
        if not self.is_gpt4o:
            kind = "a small local judge" if self.is_local else "this judge"
            text += f" ({kind}, {NOT_GPT4O})"
        return text

    def generation_settings(self) -> dict[str, Any]:
        """What besides the prompt decides the reply (part of the cache key)."""
        return {"temperature": 0, "max_tokens": self.max_tokens, "structured": self.output_format or False}

    def public(self) -> dict[str, Any]:
        """The config without the API key, for reports."""
        data = asdict(self)
        data.pop("api_key")
        return data


async def chat(client: AsyncOpenAI, config: JudgeConfig, messages: list[dict[str, str]]) -> Reply:
    """One judge call at temperature 0 (retried as ``eval.llm_client.chat`` says)."""
    extra: dict[str, Any] = {}
    if config.output_format == "choice":
        extra["extra_body"] = {"structured_outputs": {"choice": list(VERDICT_CHOICES)}}
    elif config.output_format == "json_schema":
        extra["response_format"] = VERDICT_JSON_SCHEMA
    return await llm_client.chat(client, config, messages, temperature=0, **extra)


def describe_judge(model: str, configured: JudgeConfig | None = None) -> str:
    """Name the judge behind stored verdicts, which keep only its model name.

    ``configured`` (the judge the caller's settings choose, if any) gives the full
    description with its endpoint when it is that model; otherwise the name alone,
    saying so when it is not GPT-4o.
    """
    if configured is not None and configured.model == model:
        return configured.describe()
    return model if is_gpt4o(model) else f"{model} ({NOT_GPT4O})"
