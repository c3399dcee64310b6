"""Collators that only pad: all masking of the loss happened when the data was tokenized."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from train.formatting import IGNORE_INDEX, Example
from train.packing import PackedRow


def _pad_length(longest: int, multiple: int | None) -> int:
    if multiple is None:
        return longest
    return -(-longest // multiple) * multiple


@dataclass
class PackedCollator:
    """Right-pad packed rows; emits ``input_ids``, ``labels``, ``position_ids`` (no attention mask).

    Padding gets position ids 0, 1, ... of its own, so it forms a separate
    document that no real token attends to.
    """

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, rows: Sequence[PackedRow]) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("empty batch")
        length = _pad_length(max(len(r) for r in rows), self.pad_to_multiple_of)
        input_ids, labels, position_ids = [], [], []
        for r in rows:
            n = length - len(r)
            input_ids.append(r.input_ids + [self.pad_token_id] * n)
            labels.append(r.labels + [IGNORE_INDEX] * n)
            position_ids.append(r.position_ids + list(range(n)))
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "position_ids": torch.tensor(position_ids, dtype=torch.long),
        }


@dataclass
class PaddedCollator:
    """Right-pad one example per row (the unpacked baseline); emits an ``attention_mask``."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
        if not examples:
            raise ValueError("empty batch")
        length = _pad_length(max(len(e) for e in examples), self.pad_to_multiple_of)
        input_ids, labels, attention_mask = [], [], []
        for e in examples:
            n = length - len(e)
            input_ids.append(e.input_ids + [self.pad_token_id] * n)
            labels.append(e.labels + [IGNORE_INDEX] * n)
            attention_mask.append([1] * len(e) + [0] * n)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(attention_mask, dtype=torch.long),
        }
