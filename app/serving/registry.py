"""configs/models.yaml: which models exist, where they are served, how they are labelled.

A *contestant* is a served model plus a pipeline (`plain`, or `rag` grounding).
Several contestants may share one server (`server: <other name>`).
"""

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.serving.packaged import PACKAGED, prepared_dir
from db.paths import PROJECT_ROOT


class Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The arena samples every model at temperature 0.9, top-p 0.95 (the Basque study).
    temperature: float = Field(0.9, ge=0, le=2)
    top_p: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(512, ge=1)
    arena_max_tokens: int = Field(256, ge=1, description="cap on one arena answer: people read both answers")
    stop: list[str] = Field(default_factory=list)
    # vLLM's sampling extension (>1 discourages repeating tokens): small base models loop without it
    repetition_penalty: float | None = Field(None, gt=0, le=2)
    # vLLM's extension: no end-of-sequence before this many tokens (a long answer on purpose, e.g. to test Stop)
    min_tokens: int | None = Field(None, ge=1)


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    display_name: str = ""
    kind: Literal["base", "instruct", "fine-tuned"] = "instruct"
    params: str = ""
    note: str = ""  # honest label shown in the UI (e.g. "stand-in for the paper's 7B model")

    # Exactly one source: a packaged model, a local path or HF id served by a
    # managed `vllm serve`, an external OpenAI-compatible server, or another
    # entry's server.
    packaged: str | None = None
    path: str | None = None
    base_url: str | None = None
    server: str | None = None
    served_model_name: str | None = None  # name the upstream server knows it by
    api_key_env: str | None = None  # env var holding the external server's key

    lora: str | None = None  # adapter path, served on the parent server
    optional: bool = False  # skip (with a message) when the weights are not there yet
    pipeline: Literal["plain", "rag"] = "plain"
    arena_weight: float = Field(1.0, ge=0, description="relative chance to be drawn for a battle; 0 keeps it out")
    system_prompt: str | None = None
    sampling: Sampling = Field(default_factory=Sampling)

    # vllm serve options for managed servers
    port: int | None = None
    dtype: str = "auto"
    max_model_len: int = 2048
    vllm_args: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> "ModelSpec":
        sources = [s for s in (self.packaged, self.path, self.base_url, self.server) if s]
        if len(sources) != 1:
            raise ValueError(
                f"model {self.name!r}: give exactly one of packaged, path, base_url, server"
            )
        if self.packaged and self.packaged not in PACKAGED:
            raise ValueError(
                f"model {self.name!r}: unknown packaged model {self.packaged!r} ({', '.join(PACKAGED)})"
            )
        if self.lora and not self.server:
            raise ValueError(
                f"model {self.name!r}: a LoRA adapter needs `server:` naming its base model"
            )
        return self

    @property
    def managed(self) -> bool:
        return bool(self.packaged or self.path)

    def upstream_name(self) -> str:
        return self.served_model_name or self.name

    def label(self) -> str:
        bits = [self.display_name or self.name, self.params, self.kind]
        return " · ".join(b for b in bits if b)


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[ModelSpec]

    @model_validator(mode="after")
    def _references(self) -> "ModelsConfig":
        names = [m.name for m in self.models]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate model names: {', '.join(sorted(dupes))}")
        by_name = {m.name: m for m in self.models}
        for m in self.models:
            if m.server and (m.server not in by_name or by_name[m.server].server):
                raise ValueError(
                    f"model {m.name!r}: server {m.server!r} must name a model with its own server"
                )
        return self

    def get(self, name: str) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name), None)

    def server_of(self, spec: ModelSpec) -> ModelSpec:
        """The entry whose server actually answers for `spec`."""
        return self.get(spec.server) if spec.server else spec  # type: ignore[return-value]


class ConfigError(ValueError):
    pass


def load_models_config(path: Path) -> ModelsConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"models config not found: {path} (set KAZARENA_MODELS_CONFIG)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return ModelsConfig.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def resolve_model_path(spec: ModelSpec, models_dir: Path) -> Path | str:
    """Directory (or HF id) that `vllm serve` loads for a managed model."""
    if spec.packaged:
        return prepared_dir(models_dir, spec.packaged)
    assert spec.path
    p = Path(spec.path.replace("${cache}", str(models_dir.parent))).expanduser()
    return p if (p.exists() or spec.path.startswith(("/", ".", "~", "${"))) else spec.path


def available(spec: ModelSpec, models_dir: Path) -> tuple[bool, str]:
    """Whether a model's weights are present; the reason when not."""
    if spec.packaged:
        ok = (prepared_dir(models_dir, spec.packaged) / "config.json").exists()
        return ok, "" if ok else f"not prepared: run `kazarena models prepare {spec.packaged}`"
    if spec.path:
        target = resolve_model_path(spec, models_dir)
        if isinstance(target, Path) and not (target / "config.json").exists():
            return False, f"no model at {target}" + (
                " (train it with `kazarena train`)" if spec.kind == "fine-tuned" else ""
            )
    if spec.lora:
        lora = resolve_lora_path(spec, models_dir)
        if not (lora / "adapter_config.json").exists():
            return False, f"no LoRA adapter at {lora} (train one with `kazarena train --lora --out {lora}`)"
    return True, ""


def resolve_lora_path(spec: ModelSpec, models_dir: Path) -> Path:
    """The adapter directory: `${cache}` is kazarena's cache, `${project}` (or a relative path) this checkout."""
    assert spec.lora
    text = spec.lora.replace("${cache}", str(models_dir.parent)).replace("${project}", str(PROJECT_ROOT))
    path = Path(text).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def lora_rank(path: Path) -> int:
    """The adapter's rank (vLLM must be started with --max-lora-rank at least this)."""
    return int(json.loads((path / "adapter_config.json").read_text(encoding="utf-8")).get("r", 16))
