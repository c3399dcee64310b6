"""Checkpoints, resume checks, and the atomic output directory.

A run writes into ``<output_dir>.partial`` (a sibling of the output directory)
and renames it into place only when the model and the manifest are complete, so
``output_dir`` never holds a half-written model. An interrupted run leaves its
checkpoints in the ``.partial`` directory, where ``--resume latest`` finds them.

Every checkpoint holds the resolved config (every field, defaults filled). A
resume whose training-relevant settings differ from the checkpoint's is refused
with the differing fields named, unless ``force``; a LoRA checkpoint is never
resumed on another base model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from train.config import TrainConfig, config_differences

logger = logging.getLogger(__name__)

STATE_NAME = "trainer_state.json"


def staging_dir(output_dir: str | Path) -> Path:
    """The sibling directory a run writes into before it is renamed to ``output_dir``."""
    output = Path(output_dir)
    return output.with_name(output.name + ".partial")


def find_checkpoint(config: TrainConfig) -> Path:
    """``resume_from`` as a checkpoint directory; "latest" is the newest in the output or staging directory."""
    if config.resume_from != "latest":
        path = Path(str(config.resume_from))
    else:
        roots = (staging_dir(config.output_dir), Path(config.output_dir))
        found = [p for root in roots for p in Path(root, "checkpoints").glob("step-*")]
        if not found:
            raise FileNotFoundError(f"no checkpoint under {config.output_dir}/checkpoints (or its .partial)")
        path = max(found, key=lambda p: p.name)  # an interrupted run's staging copy is the newer one
    if not Path(path, STATE_NAME).is_file():
        raise FileNotFoundError(f"{path} is not a checkpoint (no {STATE_NAME})")
    return path


def base_model_fingerprint(model_dir: str | Path) -> dict[str, Any]:
    """What identifies a base model cheaply: its config.json digest and the size of its weights."""
    model_dir = Path(model_dir)
    weights = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    return {
        "path": str(model_dir.resolve()),
        "config_sha256": hashlib.sha256(Path(model_dir, "config.json").read_bytes()).hexdigest(),
        "weight_bytes": sum(p.stat().st_size for p in weights),
    }


def check_resume(checkpoint: Path, state: dict[str, Any], config: TrainConfig, data_sha256: str) -> None:
    """Refuse a resume that would not continue the checkpoint's run (see the module docstring)."""
    if state["data_sha256"] != data_sha256:  # a different data order would follow
        raise ValueError(f"{checkpoint} was trained on other data than {config.data}")
    saved = state.get("base_model")
    if saved is not None and config.lora:
        current = base_model_fingerprint(config.model)
        if {k: saved[k] for k in ("config_sha256", "weight_bytes")} != {
            k: current[k] for k in ("config_sha256", "weight_bytes")
        }:
            raise ValueError(
                f"{checkpoint} holds a LoRA adapter of base model {saved['path']}, which differs from "
                f"--model {config.model} (config or weights); an adapter only fits its own base model"
            )
    if "config" not in state:
        differences = ["(the checkpoint saved no config)"]
    else:
        differences = config_differences(state["config"], config)
    if differences and not config.force:
        raise ValueError(
            f"{checkpoint} was trained with other settings: {'; '.join(differences)}. "
            "Resume with the same settings, or pass --force to continue anyway"
        )
    if differences:
        logger.warning("resuming %s with other settings (--force): %s", checkpoint, "; ".join(differences))


def save_checkpoint(accelerator: Any, root: Path, state: dict[str, Any]) -> None:
    """Model, optimizer and RNG states (accelerate), plus our counters and config; only the newest is kept."""
    path = root / "checkpoints" / f"step-{state['step']:07d}"
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        Path(path, STATE_NAME).write_text(json.dumps(state, indent=2, ensure_ascii=False))
        for old in path.parent.glob("step-*"):
            if old != path:
                shutil.rmtree(old)
    accelerator.wait_for_everyone()


def start_staging(staging: Path, checkpoint: Path | None) -> None:
    """Clear a stale staging directory, unless the run resumes from a checkpoint inside it."""
    inside = checkpoint is not None and staging.resolve() in checkpoint.resolve().parents
    if staging.exists() and not inside:
        logger.warning("removing %s left by an earlier run", staging)
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)


def discard_staging(staging: Path) -> None:
    """After a failed run: remove the staging directory unless it holds a checkpoint to resume from."""
    if staging.exists() and not any(staging.glob("checkpoints/step-*")):
        shutil.rmtree(staging)


def publish(staging: Path, output_dir: Path) -> None:
    """Rename the finished staging directory to ``output_dir``, replacing an earlier output."""
    if not output_dir.exists():
        staging.rename(output_dir)
        return
    previous = output_dir.with_name(output_dir.name + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    output_dir.rename(previous)  # two renames: the output is missing for an instant, never half-written
    staging.rename(output_dir)
    shutil.rmtree(previous)
