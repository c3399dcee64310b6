"""Request and response bodies of the public API (kept apart from the ORM models)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["system", "user", "assistant"]
MAX_STOP = 8


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str


def _stop_list(v: str | list[str] | None) -> list[str]:
    stops = [v] if isinstance(v, str) else list(v or [])
    if len(stops) > MAX_STOP:
        raise ValueError(f"at most {MAX_STOP} stop sequences")
    if any(not s or len(s) > 200 for s in stops):
        raise ValueError("stop sequences must be 1-200 characters")
    return stops


class GenerateRequest(BaseModel):
    """`prompt` is shorthand for one user message; the model's chat template applies."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=128)
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    stream: bool = False

    _check_stop = field_validator("stop")(classmethod(lambda cls, v: _stop_list(v)))

    @model_validator(mode="after")
    def _prompt_xor_messages(self) -> "GenerateRequest":
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("prompt is empty")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("messages is empty")
            if self.messages[-1].role != "user" or not self.messages[-1].content.strip():
                raise ValueError("the last message must be a non-empty user message")
        return self

    def as_messages(self) -> list[dict[str, str]]:
        if self.messages is not None:
            return [m.model_dump() for m in self.messages]
        return [{"role": "user", "content": self.prompt or ""}]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class GenerateResponse(BaseModel):
    id: str
    model: str
    text: str
    finish_reason: str | None
    usage: Usage
    latency_ms: float
    sources: list[dict[str, Any]] = Field(default_factory=list)


# OpenAI-compatible bodies: the fields we check, everything else passed through
# to vLLM untouched (logprobs, echo, guided decoding, ...).
class _OpenAIBase(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=128)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=0)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    n: int | None = Field(None, ge=1, le=8)
    stop: str | list[str] | None = None
    seed: int | None = None

    _check_stop = field_validator("stop")(classmethod(lambda cls, v: _stop_list(v) or None))


class ChatCompletionRequest(_OpenAIBase):
    messages: list[dict[str, Any]] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)

    @field_validator("messages")
    @classmethod
    def _roles(cls, msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, m in enumerate(msgs):
            if m.get("role") not in {"system", "user", "assistant", "tool", "developer"}:
                raise ValueError(f"messages[{i}].role must be system, user, assistant, tool or developer")
            if "content" not in m:
                raise ValueError(f"messages[{i}] has no content")
        return msgs


class CompletionRequest(_OpenAIBase):
    prompt: str | list[str] | list[int] | list[list[int]]
    logprobs: int | None = Field(None, ge=0, le=20)
    echo: bool = False

    @field_validator("prompt")
    @classmethod
    def _non_empty(cls, p: Any) -> Any:
        if isinstance(p, str) and not p.strip():
            raise ValueError("prompt is empty")
        if isinstance(p, list) and not p:
            raise ValueError("prompt is empty")
        return p


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    owned_by: str = "kazarena"
    created: int = 0
    display_name: str
    kind: str
    params: str
    note: str
    pipeline: str
    state: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
