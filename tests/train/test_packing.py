"""Bin packing (best fit decreasing and its repair), restarting position ids, and the block-diagonal mask."""

from __future__ import annotations

import doctest
import itertools
import math
import random

import numpy as np
import pytest
import torch

import train.packing
from train.formatting import IGNORE_INDEX, Example
from train.packing import (
    PackedRow,
    _fullest_subset,
    best_fit_decreasing,
    bfd_repair,
    block_causal_mask,
    pack_examples,
    packing_efficiency,
)


def test_doctests() -> None:
    result = doctest.testmod(train.packing)
    assert result.attempted >= 5 and result.failed == 0


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


def test_best_fit_decreasing_matches_the_textbook_procedure_at_scale() -> None:
    rng = random.Random(11)
    lengths = [rng.choice([rng.randint(1, 40), rng.randint(200, 512)]) for _ in range(3000)]
    assert best_fit_decreasing(lengths, 512) == reference_bfd(lengths, 512)


def assert_valid_packing(bins: list[list[int]], lengths: list[int], capacity: int) -> None:
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))  # each item exactly once
    assert all(b and sum(lengths[i] for i in b) <= capacity for b in bins)


def perfectly_fillable(rows: int, capacity: int, low: int, high: int, seed: int) -> list[int]:
    """Lengths that fill ``rows`` bins exactly (so the optimum is ``rows``), shuffled."""
    rng = random.Random(seed)
    lengths = []
    for _ in range(rows):
        left = capacity
        while left > high:
            n = rng.randint(low, min(high, left - low))
            lengths.append(n)
            left -= n
        lengths.append(left)
    rng.shuffle(lengths)
    return lengths


@pytest.mark.parametrize("seed", range(5))
def test_repair_reaches_the_optimum_where_best_fit_decreasing_does_not(seed: int) -> None:
    # like the sample IFT set at 512 tokens (items of 36-157 tokens): BFD needs 42 rows, 41 suffice
    lengths = perfectly_fillable(41, 512, 36, 157, seed)
    assert len(best_fit_decreasing(lengths, 512)) == 42
    bins = bfd_repair(lengths, 512)
    assert_valid_packing(bins, lengths, 512)
    assert len(bins) == 41
    assert all(sum(lengths[i] for i in b) == 512 for b in bins)


def test_repair_by_hand() -> None:
    # BFD: [5, 4] [4, 3, 2] [2]; two bins of exactly 10 exist
    assert len(best_fit_decreasing([5, 4, 4, 3, 2, 2], 10)) == 3
    assert sorted(sorted(b) for b in bfd_repair([5, 4, 4, 3, 2, 2], 10)) == [[0, 3, 4], [1, 2, 5]]


def test_repair_is_valid_deterministic_and_never_worse() -> None:
    rng = random.Random(5)
    for trial in range(60):
        capacity = rng.choice([10, 64, 512])
        lengths = [
            rng.randint(1, capacity) if trial % 2 else rng.randint(1, capacity // 3 + 1)
            for _ in range(rng.randint(1, 200))
        ]
        bins = bfd_repair(lengths, capacity)
        assert_valid_packing(bins, lengths, capacity)
        assert len(bins) >= math.ceil(sum(lengths) / capacity)
        assert len(bins) <= len(best_fit_decreasing(lengths, capacity))
        assert bfd_repair(list(lengths), capacity) == bins


def test_repair_stops_when_its_work_budget_is_spent() -> None:
    lengths = perfectly_fillable(41, 512, 36, 157, 0)
    assert bfd_repair(lengths, 512, max_work=0) == best_fit_decreasing(lengths, 512)


def test_fullest_subset_agrees_with_brute_force() -> None:
    rng = random.Random(9)
    for _ in range(200):
        sizes = [rng.randint(1, 30) for _ in range(rng.randint(0, 9))]
        room = rng.randint(1, 60)
        picked = _fullest_subset(sizes, room)
        assert len(set(picked)) == len(picked)
        best = max(
            s
            for r in range(len(sizes) + 1)
            for c in itertools.combinations(sizes, r)
            if (s := sum(c)) <= room
        )
        assert sum(sizes[p] for p in picked) == best


def test_strategies_of_pack_examples() -> None:
    lengths = [5, 4, 4, 3, 2, 2]
    examples = [Example([k] * n, [k] * n) for k, n in enumerate(lengths)]
    by_bfd = pack_examples(examples, 10, strategy="bfd")
    by_default = pack_examples(examples, 10)
    assert [r.seq_lens for r in by_bfd] == [[5, 4], [4, 3, 2], [2]]
    assert sorted(sorted(r.seq_lens) for r in by_default) == [[2, 3, 5], [2, 4, 4]]
    assert by_default == pack_examples(examples, 10, strategy="bfd+repair")


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
