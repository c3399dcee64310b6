"""Best-fit-decreasing packing, restarting position ids, and the block-diagonal mask."""

from __future__ import annotations

import doctest
import random

import numpy as np
import pytest
import torch

import train.packing
from train.formatting import IGNORE_INDEX, Example
from train.packing import (
    PackedRow,
    best_fit_decreasing,
    block_causal_mask,
    pack_examples,
    packing_efficiency,
)


def test_doctests() -> None:
    result = doctest.testmod(train.packing)
    assert result.attempted >= 3 and result.failed == 0


def reference_bfd(lengths: list[int], capacity: int) -> list[list[int]]:
    """Best fit decreasing written out the slow way: scan every bin for the tightest fit."""
    bins: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        fits = [b for b in range(len(bins)) if room[b] >= lengths[i]]
        if fits:
            b = min(fits, key=lambda b: (room[b], b))
            bins[b].append(i)
            room[b] -= lengths[i]
        else:
            bins.append([i])
            room.append(capacity - lengths[i])
    return bins


def test_best_fit_decreasing_matches_the_textbook_procedure() -> None:
    rng = random.Random(7)
    for _ in range(20):
        lengths = [rng.randint(1, 100) for _ in range(rng.randint(1, 60))]
        bins = best_fit_decreasing(lengths, 128)
        assert bins == reference_bfd(lengths, 128)
        assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
        assert all(sum(lengths[i] for i in b) <= 128 for b in bins)


def test_packing_fills_at_least_98_percent_on_ift_like_lengths() -> None:
    # lengths of instruction pairs are roughly log-normal: median ~150 tokens, long right tail
    rng = np.random.default_rng(0)
    lengths = np.clip(np.round(rng.lognormal(np.log(150), 0.8, 2000)), 8, 1024).astype(int)
    examples = [Example([1] * n, [1] * n) for n in lengths]
    rows = pack_examples(examples, seq_length=1024)
    assert packing_efficiency(rows, 1024) >= 0.98
    # padding every example to the longest one, by contrast, wastes most of the batch
    assert lengths.sum() / (len(lengths) * lengths.max()) < 0.3


def test_packed_rows_restart_positions_and_hide_each_first_label() -> None:
    rng = random.Random(3)
    examples = []
    for k in range(30):
        n = rng.randint(2, 40)
        ids = [1000 * k + j for j in range(n)]
        examples.append(Example(ids, [IGNORE_INDEX] * (n // 2) + ids[n // 2 :]))
    rows = pack_examples(examples, seq_length=64)
    recovered = []
    for row in rows:
        assert len(row) <= 64 and sum(row.seq_lens) == len(row)
        for start, n in zip(row.boundaries, row.seq_lens, strict=True):
            assert row.position_ids[start : start + n] == list(range(n))
            assert row.labels[start] == IGNORE_INDEX
            recovered.append((row.input_ids[start : start + n], row.labels[start + 1 : start + n]))
    expected = [(e.input_ids, e.labels[1:]) for e in examples]
    assert sorted(recovered) == sorted(expected)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="length 5 > capacity 4"):
        pack_examples([Example([1] * 5, [1] * 5)], seq_length=4)
    with pytest.raises(ValueError, match="Unknown packing strategy"):
        pack_examples([Example([1], [1])], seq_length=4, strategy="wrapped")
    with pytest.raises(ValueError, match="2 ids but 1 labels"):
        pack_examples([Example([1, 2], [1])], seq_length=4)


def test_block_causal_mask_by_hand() -> None:
    mask = block_causal_mask(torch.tensor([[0, 1, 0, 1, 2]]), torch.float32)
    allowed = torch.tensor(
        [
            [1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [0, 0, 1, 0, 0],
            [0, 0, 1, 1, 0],
            [0, 0, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert mask.shape == (1, 1, 5, 5)
    assert torch.equal(mask[0, 0] == 0, allowed)
    assert torch.all(mask[0, 0][~allowed] == torch.finfo(torch.float32).min)


def test_efficiency_counts_only_real_tokens() -> None:
    rows = [PackedRow([1, 2, 3], [1, 2, 3], [0, 1, 2], [3]), PackedRow([4], [4], [0], [1])]
    assert packing_efficiency(rows, 4) == pytest.approx(4 / 8)
