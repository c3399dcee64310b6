"""Provenance of a training run: code revision, library versions, licence notices."""

from __future__ import annotations

import contextlib
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import torch


def git_revision() -> dict[str, Any]:
    """The commit of the code that trained, and whether the checkout had local changes."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "--no-optional-locks", "-C", str(here), *args],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if revision else None
    return {"revision": revision, "dirty": bool(status) if status is not None else None}


def versions() -> dict[str, str]:
    import accelerate
    import transformers

    found = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
    }
    with contextlib.suppress(ImportError):
        import peft

        found["peft"] = peft.__version__
    return found


def copy_notices(model_dir: Path, output_dir: Path) -> list[str]:
    """Copy the base model's licence and notice files next to the fine-tuned weights.

    Some licences (Gemma's Terms of Use, Apache-2.0's NOTICE) require them to
    travel with derivatives. Returns the names copied.
    """
    copied = []
    for path in sorted(model_dir.iterdir()):
        name = path.name.upper()
        if path.is_file() and (name.startswith(("LICENSE", "LICENCE", "NOTICE")) or "TERMS" in name):
            shutil.copy2(path, output_dir / path.name)
            copied.append(path.name)
    return copied
