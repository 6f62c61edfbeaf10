"""Feasible ranges of the hidden cells of one population, for the suppressor's own check.

A reader who knows a population's additive relations (``matrix @ x = 0`` over its cells and
unpublished totals), its published cells, that every count is non-negative and that a count
within a base (events, withdrawals ...) is no larger than its base, can bound each hidden cell
by linear programming. Exact pinning (the null-space test) misses what the inequalities add:
a "Not stated" remainder that cannot go below 0 pins a cell that no equation alone fixes.

:func:`narrow_cells` returns the hidden cells such a reader pins too narrowly, with the same
rule as the independent auditor (:mod:`toolkit.disclosure.audit`, which shares no code with this
module): a base is protected when its range is not a single value and, if it reaches below the
threshold, is at least the threshold wide; a count within a base must not be determined.
Uses HiGHS (``highspy``, one warm model per population) on SciPy sparse matrices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import highspy
import numpy as np
from scipy.sparse import block_diag, csc_array, csr_array, hstack, identity, vstack

_EPS = 1e-6
_PRIMAL = 4
"""HiGHS's primal simplex, used after a reader's first solve: from then on mostly the objective
changes, so the last optimal basis stays feasible and the primal simplex goes on from it."""


class _Reader:
    """A population as one linear program held in a HiGHS model (each new objective is solved
    warm from the last basis): ``block_diag(matrix, ...) x = 0`` (one copy of the relations per
    measure), ``count_j - base_j <= 0``, published cells fixed at their values, the rest >= 0."""

    def __init__(self, matrix: np.ndarray, measures: np.ndarray, hidden: np.ndarray) -> None:
        n_measures, n_vars = measures.shape
        relations = csr_array(matrix)
        equalities = block_diag([relations] * n_measures, format="csr")
        eye = identity(n_vars, format="csr")
        within = [
            hstack([-eye if k == 0 else eye if k == m else csr_array((n_vars, n_vars))
                    for k in range(n_measures)], format="csr")
            for m in range(1, n_measures)
        ]  # fmt: skip
        rows = csc_array(vstack([equalities, *within], format="csr"))
        n_rows, n_cols = rows.shape
        free = np.tile(hidden, n_measures) | np.isnan(measures.ravel())
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = np.zeros(n_cols)
        self.lower = np.where(free, 0.0, np.nan_to_num(measures.ravel()))
        self.upper = np.where(free, highspy.kHighsInf, np.nan_to_num(measures.ravel()))
        lp.col_lower_, lp.col_upper_ = self.lower, self.upper
        lp.row_lower_ = np.concatenate(
            [
                np.zeros(equalities.shape[0]),
                np.full(n_rows - equalities.shape[0], -highspy.kHighsInf),
            ]
        )
        lp.row_upper_ = np.zeros(n_rows)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, n_rows
        lp.a_matrix_.start_, lp.a_matrix_.index_ = rows.indptr, rows.indices
        lp.a_matrix_.value_ = rows.data
        self.model = highspy.Highs()
        self.model.setOptionValue("output_flag", False)
        self.model.passModel(lp)
        self.n_vars = n_vars

    def hide(self, var: int, hidden: bool) -> None:
        """Let variable ``var`` (each of its measures) range freely, as if suppressed, or
        (``hidden=False``) fix it back at its published values."""
        columns = np.arange(var, len(self.lower), self.n_vars, dtype=np.int32)
        lower = np.zeros(len(columns)) if hidden else self.lower[columns]
        upper = np.full(len(columns), highspy.kHighsInf) if hidden else self.upper[columns]
        self.model.changeColsBounds(len(columns), columns, lower, upper)

    def too_narrow(self, var: int, threshold: int) -> bool:
        """Whether the reader pins ``var`` too narrowly (the rule of :func:`narrow_cells`)."""
        lower = _inwards(self.least(var, 1.0), math.ceil, -_EPS)
        upper = _inwards(-self.least(var, -1.0), math.floor, _EPS)
        width = upper - lower
        if width < 1.0 - _EPS or (lower < threshold and width < threshold - _EPS):
            return True
        counts = range(var + self.n_vars, len(self.lower), self.n_vars)
        return any(-self.least(c, -1.0) - self.least(c, 1.0) < 1.0 - _EPS for c in counts)

    def least(self, var: int, sign: float) -> float:
        """min (sign=1) or -max (sign=-1) of variable ``var``: -inf when unbounded.

        Raises:
            ValueError: the published cells contradict the relations. The true values are a
                feasible point, so the relations do not describe the table (a bug in the
                layout or the hierarchy, never something to pass over: no range is judged).
        """
        self.model.changeColCost(var, sign)
        self.model.run()
        self.model.setOptionValue("simplex_strategy", _PRIMAL)
        status = self.model.getModelStatus()
        value = float(self.model.getInfo().objective_function_value)
        self.model.changeColCost(var, 0.0)  # (this resets the model status read above)
        if status == highspy.HighsModelStatus.kOptimal:
            return value
        if status == highspy.HighsModelStatus.kUnbounded:
            return -math.inf
        raise ValueError(f"no reader's point fits the published cells (HiGHS: {status.name})")


def _inwards(bound: float, whole: Callable[[float], int], slack: float) -> float:
    """A finite bound rounded inwards to a whole number (counts are integers)."""
    return float(whole(bound + slack)) if math.isfinite(bound) else bound


def narrow_cells(
    matrix: np.ndarray,
    measures: np.ndarray,
    hidden: np.ndarray,
    cells: np.ndarray,
    *,
    threshold: int,
) -> list[int]:
    """The cells of ``cells`` that a reader of the published cells pins too narrowly.

    Args:
        matrix: relations x variables (``parent - sum(children) = 0``), as the suppressor's
            population builds them.
        measures: (1 + counts) x variables: row 0 the base of each variable, then one row per
            count within the base (NaN where a variable is not published).
        hidden: per variable, whether a reader does not see it (suppressed cells and
            unpublished totals).
        cells: the variables to check (suppressed cells, not known zeros).
        threshold: the minimum group size.

    Returns:
        The checked variables whose base range ``[lower, upper]`` (rounded inwards) is a single
        value, or reaches below ``threshold`` while narrower than it, or one of whose counts is
        determined.

    Raises:
        ValueError: the published cells contradict the relations (see :meth:`_Reader.least`).
    """
    reader = _Reader(matrix, measures, hidden)
    return [int(var) for var in cells if reader.too_narrow(int(var), threshold)]


def first_widening(
    matrix: np.ndarray,
    measures: np.ndarray,
    hidden: np.ndarray,
    cell: int,
    candidates: Sequence[int],
    *,
    threshold: int,
) -> int | None:
    """The first of ``candidates`` (published variables) whose suppression leaves ``cell`` no
    longer too narrow (:func:`narrow_cells`), or ``None``. One warm model: each candidate is
    freed, tried and fixed again.

    Raises:
        ValueError: the published cells contradict the relations (see :meth:`_Reader.least`).
    """
    reader = _Reader(matrix, measures, hidden)
    for candidate in candidates:
        reader.hide(candidate, hidden=True)
        if not reader.too_narrow(cell, threshold):
            return candidate
        reader.hide(candidate, hidden=False)
    return None
