"""Where the battles cannot give finite, comparable ratings: groups that never met, separated models.

The Bradley-Terry maximum-likelihood ratings are finite iff the directed graph "i scored
against j" (i won or tied against j at least once) is strongly connected (Ford 1957;
Hunter 2004, Assumption 1). Two things break it:

- **groups**: models that never met, directly or through others (the connected
  components of the battle graph). Ratings in different groups share no scale, so each
  group is rated and ranked on its own.
- **separation inside a group**: models outside the group's core (its largest strongly
  connected component) that never lost to it, or never beat it. Their rating difference
  to the core is infinite in the MLE; the finite number any fit prints is the
  regulariser's, so the bound on that side is reported as unbounded.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

__all__ = ["ABOVE", "APART", "BELOW", "groups", "separated_sides", "separated_in_resamples"]

ABOVE = "above"  # never lost to the core: no upper bound
BELOW = "below"  # never beat the core: no lower bound
APART = "apart"  # neither above nor below the core (e.g. met only separated models): no bound at all


def groups(battles: np.ndarray) -> np.ndarray:
    """Group of each model (0 = the largest group) from the symmetric (n, n) battle-count matrix."""
    n_groups, labels = csgraph.connected_components(sp.csr_matrix(battles > 0), directed=False)
    sizes = np.bincount(labels, minlength=n_groups)
    rank = np.empty(n_groups, dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(n_groups)
    return rank[labels]


def separated_sides(won: np.ndarray) -> tuple[str | None, ...]:
    """For the models of one connected group, given ``won[i, j] > 0`` when i scored against j:
    None where the rating is finite relative to the group's core, else ABOVE, BELOW or APART."""
    graph = sp.csr_matrix(np.asarray(won) > 0)
    n_strong, component = csgraph.connected_components(graph, directed=True, connection="strong")
    if n_strong == 1:
        return (None,) * graph.shape[0]
    sizes = np.bincount(component)
    largest = np.flatnonzero(sizes == sizes.max())
    if largest.size > 1:  # no single core to measure against: place each component by its edges alone
        return _sides_without_core(graph, component)
    start = int(np.flatnonzero(component == largest[0])[0])
    below = np.zeros(graph.shape[0], dtype=bool)
    below[csgraph.breadth_first_order(graph, start, directed=True, return_predecessors=False)] = True
    above = np.zeros(graph.shape[0], dtype=bool)
    above[csgraph.breadth_first_order(graph.T.tocsr(), start, directed=True, return_predecessors=False)] = True
    return tuple(
        None if component[i] == largest[0] else BELOW if below[i] else ABOVE if above[i] else APART
        for i in range(graph.shape[0])
    )


def _sides_without_core(graph: sp.csr_matrix, component: np.ndarray) -> tuple[str | None, ...]:
    """Nobody outside scored against it: above; it scored against nobody outside: below; else apart."""
    src, dst = graph.nonzero()
    across = component[src] != component[dst]
    scored_out, scored_against = set(component[src[across]]), set(component[dst[across]])
    return tuple(
        ABOVE if c not in scored_against else BELOW if c not in scored_out else APART for c in component
    )


def separated_in_resamples(matrices: np.ndarray) -> np.ndarray:
    """Per model, in how many of the win matrices (shape (rounds, n, n)) it never lost or never won
    (or did not appear): the resamples in which the regulariser, not the data, sets its rating."""
    no_loss = matrices.sum(axis=1) == 0  # nobody scored against it
    no_win = matrices.sum(axis=2) == 0
    return (no_loss | no_win).sum(axis=0)
