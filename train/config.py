"""Fine-tuning configuration. Defaults are the seed paper's recipe.

Each field's ``help`` is what ``kazarena train --help`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from train.mixture import parse_mix

# Constant learning rate by model family, as in the paper (no warm-up, no decay).
FAMILY_LEARNING_RATES: dict[str, float] = {"qwen": 1e-5, "gemma": 1e-6, "falcon": 1e-6}

ATTENTION_MODES = ("position_ids", "block_mask")

# Fields a resumed run may change: where it writes, how far it goes, how often it reports.
# Every other field shapes the optimisation, and a resume that changes one is refused.
RUN_ONLY_FIELDS = frozenset(
    {"output_dir", "resume_from", "force", "max_steps", "eval_every", "save_every", "eval_data"}
)


def default_learning_rate(model_type: str) -> float:
    """The paper's learning rate for a transformers ``model_type`` such as "qwen2" or "gemma3_text"."""
    for family, lr in FAMILY_LEARNING_RATES.items():
        if model_type.lower().startswith(family):
            return lr
    raise ValueError(
        f"no default learning rate for model type {model_type!r} "
        f"(known families: {', '.join(FAMILY_LEARNING_RATES)}); pass one explicitly (--lr)"
    )


@dataclass
class TrainConfig:
    model: str = field(metadata={"help": "Directory of a Hugging Face causal LM (weights + tokenizer)."})
    data: str = field(
        metadata={"help": "Training JSONL: {instruction, output} pairs or {messages: [...]} chats."}
    )
    eval_data: str | None = field(
        default=None, metadata={"help": "Held-out JSONL in the same format, for the eval loss."}
    )
    output_dir: str = field(
        default="runs/finetune",
        metadata={"help": "Where the model, checkpoints and run_manifest.json are written."},
    )
    chat_template: str | None = field(
        default=None,
        metadata={
            "help": "For models without a chat template: 'gemma' (Gemma's turn format) "
            "or a path to a Jinja template file. Saved with the tokenizer."
        },
    )
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Constant learning rate, no warm-up. Default by model family: "
            "1e-5 Qwen, 1e-6 Gemma/Falcon."
        },
    )
    adam_beta1: float = field(default=0.9, metadata={"help": "AdamW beta1."})
    adam_beta2: float = field(default=0.95, metadata={"help": "AdamW beta2."})
    adam_eps: float = field(default=1e-5, metadata={"help": "AdamW epsilon."})
    weight_decay: float = field(
        default=0.1, metadata={"help": "AdamW weight decay (matrices only, not norms or biases)."}
    )
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    batch_size: int = field(
        default=16,
        metadata={"help": "Packed rows per optimizer step, reached by gradient accumulation."},
    )
    micro_batch_size: int = field(
        default=1, metadata={"help": "Packed rows per forward pass on each device."}
    )
    max_seq_length: int = field(
        default=1024,
        metadata={"help": "Row length examples are packed to; longer examples are cut."},
    )
    attention: str = field(
        default="position_ids",
        metadata={
            "help": "Per-document attention: 'position_ids' (transformers' packed-sequence path: "
            "sdpa, eager, flash varlen; keeps sliding windows) or 'block_mask' (an explicit 4D "
            "mask, for attention code that ignores packed position ids; drops sliding windows)."
        },
    )
    epochs: int = field(default=1, metadata={"help": "Passes over the training data."})
    max_steps: int | None = field(
        default=None, metadata={"help": "Stop after this many optimizer steps (overrides epochs)."}
    )
    eval_every: int = field(
        default=50, metadata={"help": "Held-out loss every N steps (0: only at the end)."}
    )
    save_every: int = field(
        default=100,
        metadata={"help": "Checkpoint every N steps and at the end; only the newest is kept (0: never)."},
    )
    resume_from: str | None = field(
        default=None,
        metadata={"help": "Checkpoint directory to resume from, or 'latest' in output_dir."},
    )
    force: bool = field(
        default=False,
        metadata={
            "help": "Resume even when the checkpoint was trained with other settings "
            "(never across LoRA base models)."
        },
    )
    mix: str | None = field(
        default=None,
        metadata={
            "help": "Training mixture by weight, e.g. 'ours=0.8,general=0.2': 'ours' is --data, "
            "'general' Kazakh translation instructions (en/ru to kk, kk to en/ru) built from "
            "FLORES-200 dev. All of --data is used once; the others are sampled to the ratio."
        },
    )
    seed: int = field(
        default=0, metadata={"help": "Seed for data order, the mixture, LoRA init and dropout."}
    )

    def __post_init__(self) -> None:
        positive = ("batch_size", "micro_batch_size", "max_seq_length", "epochs", "lora_r")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"batch_size {self.batch_size} is not a multiple of micro_batch_size {self.micro_batch_size}"
            )
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive, got {self.max_steps}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.eval_every < 0 or self.save_every < 0:
            raise ValueError("eval_every and save_every must be >= 0")
        if self.attention not in ATTENTION_MODES:
            raise ValueError(f"Unknown attention: {self.attention!r} (one of {ATTENTION_MODES})")
        if self.mix is not None:
            parse_mix(self.mix)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_differences(saved: Mapping[str, Any], config: TrainConfig) -> list[str]:
    """The training-relevant fields whose values differ, each as "name: saved -> current"."""
    current = config.to_dict()
    return [
        f"{name}: {saved.get(name, '(not saved)')!r} -> {value!r}"
        for name, value in current.items()
        if name not in RUN_ONLY_FIELDS and saved.get(name, object()) != value
    ]


def field_help(name: str) -> str:
    """The help text of a TrainConfig field (used by the CLI)."""
    return str(TrainConfig.__dataclass_fields__[name].metadata["help"])
