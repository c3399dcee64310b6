"""Shared fixtures: a tiny random Qwen2 chat model and Kazakh pairs from KazQAD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from train.tiny import build_tiny_model, build_tiny_tokenizer, kazqad_pairs


@pytest.fixture(scope="session")
def pairs() -> list[dict[str, str]]:
    return kazqad_pairs()


@pytest.fixture(scope="session")
def tokenizer(pairs: list[dict[str, str]]) -> Any:
    return build_tiny_tokenizer((p["instruction"] + "\n" + p["output"] for p in pairs), vocab_size=2000)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> Path:
    directory = tmp_path_factory.mktemp("tiny-qwen2")
    build_tiny_model(tokenizer, seed=0).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
