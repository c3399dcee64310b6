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

Rows are formed by best fit decreasing, then a repair pass that repacks the
least-full rows with subset-sum fills until the row count reaches
``ceil(tokens / seq_length)``, the fewest any packing can use, or a work
budget runs out (strategy "bfd+repair", the default; "bfd" skips the repair).
"""

from __future__ import annotations

import bisect
import heapq
import math
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
    room (best fit; among equally full bins the oldest), otherwise into a new
    bin. Ties keep input order.

    >>> best_fit_decreasing([5, 4, 3, 3, 1], capacity=8)
    [[0, 2], [1, 3, 4]]
    """
    if capacity <= 0:
        raise ValueError(f"capacity must be positive, got {capacity}")
    for i, n in enumerate(lengths):
        if n > capacity:
            raise ValueError(f"item {i} has length {n} > capacity {capacity}")
        if n <= 0:
            raise ValueError(f"item {i} has length {n}; lengths must be positive")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable
    bins: list[list[int]] = []
    # Bins by exact room left (heaps of bin indices), and a bitset whose bit r is set
    # while some bin has room r: the tightest fit for n is the lowest set bit >= n.
    # O(log) per item where a sorted list of all bins costs O(bins) to update.
    by_room: dict[int, list[int]] = {}
    nonempty = 0
    for i in order:
        n = lengths[i]
        above = nonempty >> n
        if above:
            room = n + (above & -above).bit_length() - 1
            b = heapq.heappop(by_room[room])
            if not by_room[room]:
                nonempty ^= 1 << room
            bins[b].append(i)
            room -= n
        else:
            bins.append([i])
            b, room = len(bins) - 1, capacity - n
        if room:  # a full bin takes nothing more
            heapq.heappush(by_room.setdefault(room, []), b)
            nonempty |= 1 << room
    return bins


def _fullest_subset(sizes: Sequence[int], room: int) -> list[int]:
    """Positions of a subset of ``sizes`` with the largest sum <= ``room``.

    Subset sum on a bitset (bit s of ``reach`` is set when some subset sums to
    s); the scan stops as soon as ``room`` is hit exactly. The backtrack
    prefers earlier items, so the result is deterministic.
    """
    if sum(sizes) <= room:
        return list(range(len(sizes)))
    mask, reach, history = (1 << (room + 1)) - 1, 1, []
    for x in sizes:
        history.append(reach)
        reach = (reach | (reach << x)) & mask
        if reach >> room & 1:
            break
    target, chosen = reach.bit_length() - 1, []
    for i in range(len(history) - 1, -1, -1):
        if not history[i] >> target & 1:  # no subset of the earlier items reaches target
            chosen.append(i)
            target -= sizes[i]
    return chosen[::-1]


def _minimum_bin_slack(
    items: list[int], lengths: Sequence[int], capacity: int, max_bins: int, budget: int
) -> tuple[list[list[int]] | None, int]:
    """Fill bins one at a time, each with the longest item left plus the fullest subset
    of the others (minimum bin slack, Gupta and Ho 1999, in the variant of Fleszar and
    Hindi 2002). Returns (bins, work), or (None, work) once more than ``max_bins`` bins
    would be needed or the work, items visited, passes ``budget``."""
    rest = sorted(items, key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    work = 0
    while rest:
        if len(bins) == max_bins or work > budget:
            return None, work
        work += len(rest)
        first, others = rest[0], rest[1:]
        picked = _fullest_subset([lengths[i] for i in others], capacity - lengths[first])
        members = [first, *(others[p] for p in picked)]
        taken = set(members)
        bins.append(members)
        rest = [i for i in rest if i not in taken]
    return bins, work


def bfd_repair(lengths: Sequence[int], capacity: int, max_work: int = 1_000_000) -> list[list[int]]:
    """Best fit decreasing, then repack the least-full bins until the lower bound is met.

    The repair takes the k least-full bins (k = 2, 4, 8, ...) and repacks
    their items by minimum bin slack, keeping the result when it needs fewer
    bins; after each gain k starts again at 2. It stops at ``ceil(sum /
    capacity)`` bins (no packing can use fewer), when repacking every bin
    gains nothing, or when ``max_work`` item visits are spent: that bounds the
    time on large inputs, where one bin more or less matters little.
    Deterministic; untouched bins keep their BFD order, repacked ones follow.

    Best fit decreasing needs three bins here where two suffice:

    >>> best_fit_decreasing([5, 4, 4, 3, 2, 2], capacity=10)
    [[0, 1], [2, 3, 4], [5]]
    >>> bfd_repair([5, 4, 4, 3, 2, 2], capacity=10)
    [[0, 3, 4], [1, 2, 5]]
    """
    bins = dict(enumerate(best_fit_decreasing(lengths, capacity)))  # keeps insertion order
    lower_bound = math.ceil(sum(lengths) / capacity)
    by_load = sorted((sum(lengths[i] for i in b), j) for j, b in bins.items())  # (load, bin id)
    k, budget, next_id = 2, max_work, len(bins)
    while len(bins) > lower_bound and budget > 0:
        k = min(k, len(bins))
        chosen = [j for _, j in by_load[:k]]
        items = [i for j in chosen for i in bins[j]]
        repacked, work = _minimum_bin_slack(items, lengths, capacity, max_bins=k - 1, budget=budget)
        budget -= work
        if repacked is not None:
            del by_load[:k]
            for j in chosen:
                del bins[j]
            for members in repacked:
                bins[next_id] = members
                bisect.insort(by_load, (sum(lengths[i] for i in members), next_id))
                next_id += 1
            k = 2
        elif k == len(bins):
            break
        else:
            k *= 2
    return list(bins.values())


STRATEGIES = {"bfd": best_fit_decreasing, "bfd+repair": bfd_repair}


def pack_examples(
    examples: Sequence[Example], seq_length: int, strategy: str = "bfd+repair"
) -> list[PackedRow]:
    """Pack examples into rows of at most ``seq_length`` tokens (no padding added).

    ``strategy`` is "bfd+repair" (:func:`bfd_repair`) or "bfd" (:func:`best_fit_decreasing`).

    >>> rows = pack_examples(
    ...     [Example([1, 2, 3], [-100, 2, 3]), Example([4, 5], [-100, 5]), Example([6, 7, 8, 9], [6, 7, 8, 9])],
    ...     seq_length=6,
    ... )
    >>> [(r.input_ids, r.labels, r.position_ids, r.seq_lens) for r in rows]
    [([6, 7, 8, 9, 4, 5], [-100, 7, 8, 9, -100, 5], [0, 1, 2, 3, 0, 1], [4, 2]), ([1, 2, 3], [-100, 2, 3], [0, 1, 2], [3])]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown packing strategy: {strategy!r} (one of {sorted(STRATEGIES)})")
    for i, ex in enumerate(examples):
        if len(ex.input_ids) != len(ex.labels):
            raise ValueError(f"example {i}: {len(ex.input_ids)} ids but {len(ex.labels)} labels")
    bins = STRATEGIES[strategy]([len(ex) for ex in examples], seq_length)
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
