"""Pack tokenized examples into rows of at most ``seq_length`` tokens.

Each row carries ``position_ids`` that restart at 0 at every document, which
is how the model is told where documents begin: transformers turns such
position ids into per-document causal attention (sdpa, eager, and the
flash-attention varlen path), and :func:`block_causal_mask` builds the same
mask explicitly for attention code that does not.

A document's first token gets label -100: in a packed row the token before it
is the previous document's last token, which must not learn to predict the
next document. (Unpacked, the first token is never a target either, so the
loss is the same as training on each example alone.)
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from train.formatting import IGNORE_INDEX, Example


@dataclass(frozen=True)
class PackedRow:
    """Several documents side by side; ``seq_lens`` gives their lengths in order."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    seq_lens: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def boundaries(self) -> list[int]:
        """Start offset of each document in the row."""
        starts, offset = [], 0
        for n in self.seq_lens:
            starts.append(offset)
            offset += n
        return starts


def best_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Group item indices into bins of total length <= ``capacity``.

    Items are placed longest first, each into the fullest bin that still has
    room (best fit), otherwise into a new bin. Ties keep input order.

    >>> best_fit_decreasing([5, 4, 3, 3, 1], capacity=8)
    [[0, 2], [1, 3, 4]]
    """
    if capacity <= 0:
        raise ValueError(f"capacity must be positive, got {capacity}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (room left, bin index), sorted for bisect
    for i in order:
        if lengths[i] > capacity:
            raise ValueError(f"item {i} has length {lengths[i]} > capacity {capacity}")
        if lengths[i] <= 0:
            raise ValueError(f"item {i} has length {lengths[i]}; lengths must be positive")
        slot = bisect.bisect_left(free, (lengths[i], -1))  # smallest room that fits
        if slot == len(free):
            bins.append([i])
            room, b = capacity - lengths[i], len(bins) - 1
        else:
            room, b = free.pop(slot)
            bins[b].append(i)
            room -= lengths[i]
        bisect.insort(free, (room, b))
    return bins


def pack_examples(examples: Sequence[Example], seq_length: int, strategy: str = "bfd") -> list[PackedRow]:
    """Pack examples into rows of at most ``seq_length`` tokens (no padding added).

    >>> rows = pack_examples(
    ...     [Example([1, 2, 3], [-100, 2, 3]), Example([4, 5], [-100, 5]), Example([6, 7, 8, 9], [6, 7, 8, 9])],
    ...     seq_length=6,
    ... )
    >>> [(r.input_ids, r.labels, r.position_ids, r.seq_lens) for r in rows]
    [([6, 7, 8, 9, 4, 5], [-100, 7, 8, 9, -100, 5], [0, 1, 2, 3, 0, 1], [4, 2]), ([1, 2, 3], [-100, 2, 3], [0, 1, 2], [3])]
    """
    if strategy != "bfd":
        raise ValueError(f"Unknown packing strategy: {strategy!r} (only 'bfd')")
    for i, ex in enumerate(examples):
        if len(ex.input_ids) != len(ex.labels):
            raise ValueError(f"example {i}: {len(ex.input_ids)} ids but {len(ex.labels)} labels")
    bins = best_fit_decreasing([len(ex) for ex in examples], seq_length)
    rows = []
    for members in bins:
        input_ids: list[int] = []
        labels: list[int] = []
        position_ids: list[int] = []
        for i in members:
            ex = examples[i]
            input_ids.extend(ex.input_ids)
            labels.extend([IGNORE_INDEX, *ex.labels[1:]])
            position_ids.extend(range(len(ex)))
        rows.append(PackedRow(input_ids, labels, position_ids, [len(examples[i]) for i in members]))
    return rows


def packing_efficiency(rows: Sequence[PackedRow], seq_length: int) -> float:
    """Fraction of the ``len(rows) * seq_length`` slots that hold real tokens."""
    if not rows:
        raise ValueError("no rows")
    return sum(len(r) for r in rows) / (len(rows) * seq_length)


def block_causal_mask(position_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive attention mask, shape (batch, 1, length, length), from restarting position ids.

    A query attends to a key when both lie in the same document (a document
    starts wherever the position id is 0) and the key is not later. Allowed
    entries are 0, the others the dtype's most negative value, so the mask
    can be added to attention scores (eager) or passed to sdpa.
    """
    if position_ids.ndim != 2:
        raise ValueError(f"position_ids must be (batch, length), got {tuple(position_ids.shape)}")
    document = (position_ids == 0).cumsum(dim=-1)  # (batch, length): document index per token
    same_document = document[:, :, None] == document[:, None, :]
    length = position_ids.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=position_ids.device).tril()
    allowed = same_document & causal
    mask = torch.zeros(allowed.shape, dtype=dtype, device=position_ids.device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[:, None, :, :]
