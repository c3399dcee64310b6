"""Battles collapsed to their unique (model_a, model_b, outcome, weight) rows with counts.

A million battles over 20 models have at most 20*19*3 distinct rows (times the number
of distinct weights). Everything the Bradley-Terry fit, its sandwich and its
bootstrap need is a function of these rows and their counts, which is what makes a
1,000-round bootstrap of 1M battles cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from arena.battle_table import A_WINS, B_WINS, TIE, BattleTable

__all__ = ["PairCounts"]


@dataclass(frozen=True)
class PairCounts:
    """Unique battle rows. All arrays have shape (n_rows,).

    ``a``/``b`` index into ``models``; ``outcome`` is A_WINS/B_WINS/TIE; ``weight`` is
    the per-battle weight shared by the row; ``count`` how many battles it stands for.
    """

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    weight: np.ndarray
    count: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        models: tuple[str, ...],
        model_a: np.ndarray,
        model_b: np.ndarray,
        outcome: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> PairCounts:
        model_a = np.asarray(model_a, dtype=np.int64)
        model_b = np.asarray(model_b, dtype=np.int64)
        outcome = np.asarray(outcome, dtype=np.int64)
        if weight is None:
            weight = np.ones(model_a.shape[0])
        weight = np.asarray(weight, dtype=float)
        if not (model_a.shape == model_b.shape == outcome.shape == weight.shape):
            raise ValueError("model_a, model_b, outcome and weight must have the same shape (n_battles,)")
        if model_a.size == 0:
            raise ValueError("no battles")
        if np.any(model_a == model_b):
            raise ValueError("a model cannot battle itself")
        if not np.isin(outcome, (A_WINS, B_WINS, TIE)).all():
            raise ValueError("outcome codes must be 0 (model_a won), 1 (model_b won) or 2 (tie)")
        # One integer key per (a, b, outcome) keeps np.unique fast; weights are joined in
        # only when they vary, which is the inverse-propensity case.
        n = len(models)
        key = (model_a * n + model_b) * 3 + outcome
        if np.all(weight == weight[0]):
            keys, count = np.unique(key, return_counts=True)
            row_weight = np.full(keys.shape[0], weight[0])
        else:
            table = np.column_stack([key.astype(float), weight])
            rows, count = np.unique(table, axis=0, return_counts=True)
            keys, row_weight = rows[:, 0].astype(np.int64), rows[:, 1]
        return cls(
            models=tuple(models),
            a=keys // 3 // n,
            b=keys // 3 % n,
            outcome=keys % 3,
            weight=row_weight,
            count=count.astype(np.int64),
        )

    @classmethod
    def from_table(cls, table: BattleTable) -> PairCounts:
        return cls.from_arrays(table.models, table.model_a, table.model_b, table.outcome, table.weight)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_battles(self) -> int:
        return int(self.count.sum())

    @property
    def score(self) -> np.ndarray:
        """Model_a's score per row: 1 for a win, 0 for a loss, 1/2 for a tie."""
        return np.select([self.outcome == A_WINS, self.outcome == B_WINS], [1.0, 0.0], 0.5)

    def cell_matrix(self) -> sp.csr_matrix:
        """Sparse (n_rows, n_models**2) map from row counts to the flattened win matrix.

        ``counts @ cell_matrix()`` gives ``W.ravel()`` with ``W[i, j]`` the weighted
        number of wins of i over j, ties counting half a win each way.
        """
        n = self.n_models
        s = self.score
        rows = np.arange(self.a.shape[0])
        data = np.concatenate([self.weight * s, self.weight * (1.0 - s)])
        cols = np.concatenate([self.a * n + self.b, self.b * n + self.a])
        matrix = sp.csr_matrix((data, (np.concatenate([rows, rows]), cols)), shape=(rows.shape[0], n * n))
        matrix.eliminate_zeros()
        return matrix

    def win_matrix(self, count: np.ndarray | None = None) -> np.ndarray:
        """(n_models, n_models) fractional comparison matrix for ``count`` (default: the data)."""
        count = self.count if count is None else count
        n = self.n_models
        return np.asarray(self.cell_matrix().T @ count.astype(float)).reshape(n, n)

    def battle_matrix(self) -> np.ndarray:
        """(n_models, n_models) symmetric number of battles between each pair (unweighted)."""
        n = self.n_models
        matrix = np.zeros((n, n))
        np.add.at(matrix, (self.a, self.b), self.count)
        return matrix + matrix.T
