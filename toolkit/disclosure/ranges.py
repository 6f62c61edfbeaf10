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
Other tables can bound a population's bases (:class:`Bounds`): an item's respondents in a
group are no more than the group's respondents in the response profile.
Uses HiGHS (``highspy``, one warm model per population) on SciPy sparse matrices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import block_diag, csc_array, csr_array, hstack, identity, vstack

_EPS = 1e-6
_PRIMAL = 4
"""HiGHS's primal simplex, used after a reader's first solve: from then on mostly the objective
changes, so the last optimal basis stays feasible and the primal simplex goes on from it."""


@dataclass(frozen=True)
class Bounds:
    """What other tables tell a reader about the bases of a population's variables.

    Attributes:
        pairs: (k, 2) variable indices; row ``(a, b)`` reads ``base_a <= base_b`` (an item's
            respondents in a group are no more than the group's respondents, a variable of the
            leading table's population joined to this one).
        ceiling: per variable, the most its base can be (``inf`` where nothing is known; 0 for
            an item's "not stated" remainder where the profile lists every group but that).
        floor: per variable, the least its base can be while hidden (0 where nothing is known;
            a group's respondents are at least those answering any item published for it).
    """

    pairs: np.ndarray
    ceiling: np.ndarray
    floor: np.ndarray


class _Reader:
    """A population as one linear program held in a HiGHS model (each new objective is solved
    warm from the last basis): ``block_diag(matrix, ...) x = 0`` (one copy of the relations per
    measure), ``count_j - base_j <= 0``, the ``bounds`` on bases, published cells fixed at
    their values, the rest >= 0.

    Every optimal point it finds is a point the reader cannot rule out, so each column's range
    holds the least and the most value seen at them (:attr:`seen`, kept until the model
    changes): a cell seen wide enough there needs no solve of its own."""

    def __init__(
        self,
        matrix: np.ndarray,
        measures: np.ndarray,
        hidden: np.ndarray,
        bounds: Bounds | None = None,
    ) -> None:
        n_measures, n_vars = measures.shape
        relations = csr_array(matrix)
        equalities = block_diag([relations] * n_measures, format="csr")
        eye = identity(n_vars, format="csr")
        within = [
            hstack([-eye if k == 0 else eye if k == m else csr_array((n_vars, n_vars))
                    for k in range(n_measures)], format="csr")
            for m in range(1, n_measures)
        ]  # fmt: skip
        pairs = np.empty((0, 2), dtype=int) if bounds is None else bounds.pairs
        at_most = csr_array(
            (
                np.tile([1.0, -1.0], len(pairs)),
                (np.repeat(np.arange(len(pairs)), 2), pairs.ravel()),
            ),
            shape=(len(pairs), n_vars * n_measures),
        )
        rows = csc_array(vstack([equalities, *within, at_most], format="csr"))
        n_rows, n_cols = rows.shape
        free = np.tile(hidden, n_measures) | np.isnan(measures.ravel())
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = np.zeros(n_cols)
        self.top = np.full(n_cols, highspy.kHighsInf)
        if bounds is not None:
            self.top[:n_vars] = np.where(np.isfinite(bounds.ceiling), bounds.ceiling, self.top[0])
        least = np.zeros(n_cols)
        if bounds is not None:
            least[:n_vars] = bounds.floor
        self.lower = np.where(free, least, np.nan_to_num(measures.ravel()))
        self.upper = np.where(free, self.top, np.nan_to_num(measures.ravel()))
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
        self.seen = np.array([np.full(n_cols, np.inf), np.full(n_cols, -np.inf)])
        order = np.argsort(pairs[:, 0], kind="stable")
        owners, starts = np.unique(pairs[order, 0], return_index=True)
        rows_of_pairs = (order + n_rows - len(pairs)).astype(np.int32)
        groups = np.split(rows_of_pairs, starts[1:]) if len(pairs) else []
        self.pair_rows = dict(zip(owners.tolist(), groups, strict=True))

    def hide(self, var: int, hidden: bool) -> None:
        """Let variable ``var`` (each of its measures) range freely, as if suppressed, or
        (``hidden=False``) fix it back at its published values."""
        columns = np.arange(var, len(self.lower), self.n_vars, dtype=np.int32)
        lower = np.zeros(len(columns)) if hidden else self.lower[columns]
        upper = self.top[columns] if hidden else self.upper[columns]
        self.model.changeColsBounds(len(columns), columns, lower, upper)
        self._forget()

    def lift(self, var: int, lifted: bool) -> None:
        """Drop (or restore) the bounds :class:`Bounds` puts on variable ``var``'s base through
        its pairs, as if the other table's cells that bound it were suppressed too."""
        rows = self.pair_rows.get(var, np.zeros(0, dtype=np.int32))
        upper = np.full(len(rows), highspy.kHighsInf if lifted else 0.0)
        self.model.changeRowsBounds(len(rows), rows, np.full(len(rows), -highspy.kHighsInf), upper)
        self._forget()

    def unfloor(self, var: int, unfloored: bool) -> None:
        """Drop (or restore) the floor :class:`Bounds` puts on variable ``var``'s base."""
        lower = 0.0 if unfloored else self.lower[var]
        self.model.changeColsBounds(1, np.array([var], dtype=np.int32), np.array([lower]),
                                    np.array([self.upper[var]]))  # fmt: skip
        self._forget()

    def _forget(self) -> None:
        """Drop the points seen: the model changed, so they may no longer be the reader's."""
        self.seen[0].fill(np.inf)
        self.seen[1].fill(-np.inf)

    def too_narrow(self, var: int, threshold: int) -> bool:
        """Whether the reader pins ``var`` too narrowly (the rule of :func:`narrow_cells`).

        A base whose values seen (rounded inwards) already span the threshold, or a count
        seen at two values at least 1 apart, is wide enough without a solve: its range only
        holds more."""
        if _inwards(self.seen[1, var], math.floor, _EPS) - _inwards(
            self.seen[0, var], math.ceil, -_EPS
        ) < max(threshold, 1):
            lower = _inwards(self.least(var, 1.0), math.ceil, -_EPS)
            upper = _inwards(-self.least(var, -1.0), math.floor, _EPS)
            width = upper - lower
            if width < 1.0 - _EPS or (lower < threshold and width < threshold - _EPS):
                return True
        counts = range(var + self.n_vars, len(self.lower), self.n_vars)
        return any(
            self.seen[1, c] - self.seen[0, c] < 1.0 - _EPS
            and -self.least(c, -1.0) - self.least(c, 1.0) < 1.0 - _EPS
            for c in counts
        )

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
        if status == highspy.HighsModelStatus.kOptimal:
            point = np.asarray(self.model.getSolution().col_value)
            np.minimum(self.seen[0], point, out=self.seen[0])
            np.maximum(self.seen[1], point, out=self.seen[1])
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
    bounds: Bounds | None = None,
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
        bounds: what other tables tell the reader about the bases (see :class:`Bounds`).

    Returns:
        The checked variables whose base range ``[lower, upper]`` (rounded inwards) is a single
        value, or reaches below ``threshold`` while narrower than it, or one of whose counts is
        determined.

    Raises:
        ValueError: the published cells contradict the relations (see :meth:`_Reader.least`).
    """
    reader = _Reader(matrix, measures, hidden, bounds)
    return [int(var) for var in cells if reader.too_narrow(int(var), threshold)]


@dataclass(frozen=True)
class Widening:
    """One way to widen a hidden cell's range, read as if it were done: suppress the published
    variables ``hide``; suppress the other tables' cells that bound the variables ``lift`` from
    above through :class:`Bounds` pairs; suppress the published cells that set the floors of
    the variables ``unfloor``."""

    hide: tuple[int, ...] = ()
    lift: tuple[int, ...] = ()
    unfloor: tuple[int, ...] = ()


def first_widening(
    matrix: np.ndarray,
    measures: np.ndarray,
    hidden: np.ndarray,
    cell: int,
    candidates: Sequence[Widening],
    *,
    threshold: int,
    bounds: Bounds | None = None,
) -> Widening | None:
    """The first of ``candidates`` that leaves ``cell`` no longer too narrow
    (:func:`narrow_cells`, with its ``bounds``), or ``None``. One warm model: each candidate
    is applied, tried and undone.

    Raises:
        ValueError: the published cells contradict the relations (see :meth:`_Reader.least`).
    """
    reader = _Reader(matrix, measures, hidden, bounds)
    for candidate in candidates:
        steps = [(reader.hide, var) for var in candidate.hide]
        steps += [(reader.lift, var) for var in candidate.lift]
        steps += [(reader.unfloor, var) for var in candidate.unfloor]
        for step, var in steps:
            step(var, True)
        if not reader.too_narrow(cell, threshold):
            return candidate
        for step, var in steps:
            step(var, False)
    return None
