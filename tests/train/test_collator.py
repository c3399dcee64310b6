"""The collators only pad; compare with tensors written out by hand."""

from __future__ import annotations

import pytest
import torch

from train.collator import PackedCollator, PaddedCollator
from train.formatting import Example
from train.packing import PackedRow

ROWS = [
    PackedRow([5, 6, 7, 8, 9], [-100, 6, -100, -100, 9], [0, 1, 0, 1, 2], [2, 3]),
    PackedRow([3, 4], [-100, 4], [0, 1], [2]),
]


def test_packed_collator_pads_ids_labels_and_positions() -> None:
    batch = PackedCollator(pad_token_id=0)(ROWS)
    assert set(batch) == {"input_ids", "labels", "position_ids"}
    assert torch.equal(batch["input_ids"], torch.tensor([[5, 6, 7, 8, 9], [3, 4, 0, 0, 0]]))
    assert torch.equal(batch["labels"], torch.tensor([[-100, 6, -100, -100, 9], [-100, 4, -100, -100, -100]]))
    # padding is a document of its own: its positions restart at 0
    assert torch.equal(batch["position_ids"], torch.tensor([[0, 1, 0, 1, 2], [0, 1, 0, 1, 2]]))


def test_packed_collator_pads_to_a_multiple() -> None:
    batch = PackedCollator(pad_token_id=1, pad_to_multiple_of=4)(ROWS[1:])
    assert torch.equal(batch["input_ids"], torch.tensor([[3, 4, 1, 1]]))
    assert torch.equal(batch["labels"], torch.tensor([[-100, 4, -100, -100]]))
    assert torch.equal(batch["position_ids"], torch.tensor([[0, 1, 0, 1]]))


def test_padded_collator_emits_an_attention_mask() -> None:
    batch = PaddedCollator(pad_token_id=0)([Example([5, 6, 7], [-100, 6, 7]), Example([8], [-100])])
    assert set(batch) == {"input_ids", "labels", "attention_mask"}
    assert torch.equal(batch["input_ids"], torch.tensor([[5, 6, 7], [8, 0, 0]]))
    assert torch.equal(batch["labels"], torch.tensor([[-100, 6, 7], [-100, -100, -100]]))
    assert torch.equal(batch["attention_mask"], torch.tensor([[1, 1, 1], [1, 0, 0]]))


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="empty batch"):
        PackedCollator(pad_token_id=0)([])
    with pytest.raises(ValueError, match="empty batch"):
        PaddedCollator(pad_token_id=0)([])
