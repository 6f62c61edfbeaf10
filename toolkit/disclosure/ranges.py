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
Uses HiGHS (``highspy``, one warm model per population, :class:`Reader`) on SciPy sparse
matrices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import coo_array, csc_array, csr_array
from scipy.sparse.csgraph import connected_components

_EPS = 1e-6
_PRIMAL = 4
"""HiGHS's primal simplex, used after a reading's first solve: from then on mostly the objective
changes, so the last optimal basis stays feasible and the primal simplex goes on from it."""
_DUAL = 1
"""HiGHS's dual simplex (its default), used for a reading's first solve: new bounds on the
variables leave the last basis dual feasible for its objective, not primal feasible."""


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


class Reader:
    """A population as one linear program held in a HiGHS model and kept across readings, each
    new objective and each new reading solved warm from the last basis:
    ``block_diag(matrix, ...) x = 0`` (one copy of the relations per measure),
    ``count_j - base_j <= 0`` and ``base_a - base_b <= 0`` for every pair a reading may hold.

    The constraints are built once; :meth:`read` sets what one reading sees: published cells
    fixed at their values, the rest between their floor and ceiling (>= 0), and which pairs
    hold (a dropped pair's row is left unbounded: the same program as without the row).

    Every optimal point it finds is a point the reader cannot rule out, so each column's range
    holds the least and the most value seen at them (:attr:`seen`): a cell seen wide enough
    there needs no solve of its own. The points are kept while the program only loosens (a new
    reading with no bound tighter than the last), as they stay feasible, and dropped otherwise.
    """

    def __init__(
        self, matrix: np.ndarray | csr_array, measures: np.ndarray, pairs: np.ndarray
    ) -> None:
        """``matrix``: relations x variables (``parent - sum(children) = 0``); ``measures``:
        (1 + counts) x variables, NaN where a variable is not published; ``pairs``: (k, 2)
        variable indices, every ``base_a <= base_b`` a reading may hold."""
        n_measures, n_vars = measures.shape
        rows, n_equalities = _constraints(matrix, n_measures, pairs)
        self.constraints = rows
        n_rows, n_cols = rows.shape
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = np.zeros(n_cols)
        lp.col_lower_, lp.col_upper_ = np.zeros(n_cols), np.full(n_cols, highspy.kHighsInf)
        lp.row_lower_ = np.concatenate(
            [
                np.zeros(n_equalities),
                np.full(n_rows - n_equalities, -highspy.kHighsInf),
            ]
        )
        lp.row_upper_ = np.zeros(n_rows)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, n_rows
        lp.a_matrix_.start_, lp.a_matrix_.index_ = rows.indptr, rows.indices
        lp.a_matrix_.value_ = rows.data
        self.model = highspy.Highs()
        self.model.setOptionValue("output_flag", False)
        self.model.setOptionValue("presolve", "off")  # small programs, solved warm many times
        self.model.passModel(lp)
        self.n_vars = n_vars
        self.values = measures.ravel()
        self.columns = np.arange(n_cols, dtype=np.int32)
        self.pair_row = (np.arange(len(pairs)) + n_rows - len(pairs)).astype(np.int32)
        self.seen = np.array([np.full(n_cols, np.inf), np.full(n_cols, -np.inf)])
        self.top = np.full(n_cols, highspy.kHighsInf)
        self.lower, self.upper = np.zeros(n_cols), np.full(n_cols, highspy.kHighsInf)
        self.pair_upper = np.zeros(len(pairs))
        order = np.argsort(pairs[:, 0], kind="stable")
        owners, starts = np.unique(pairs[order, 0], return_index=True)
        groups = np.split(order, starts[1:]) if len(pairs) else []
        self.pairs_of = dict(zip(owners.tolist(), groups, strict=True))

    def read(
        self,
        hidden: np.ndarray,
        ceiling: np.ndarray | None = None,
        floor: np.ndarray | None = None,
        kept: np.ndarray | None = None,
    ) -> None:
        """Set what a reader sees: the ``hidden`` variables (each of their measures) and the
        unpublished ones lie between ``floor`` and ``ceiling`` (per variable's base; default
        0 and unbounded), the rest are fixed at their values; the pairs where ``kept`` holds
        (default all) bound their bases."""
        n_cols = len(self.values)
        top = np.full(n_cols, highspy.kHighsInf)
        least = np.zeros(n_cols)
        if ceiling is not None:
            top[: self.n_vars] = np.where(np.isfinite(ceiling), ceiling, highspy.kHighsInf)
        if floor is not None:
            least[: self.n_vars] = floor
        free = np.tile(hidden, n_cols // self.n_vars) | np.isnan(self.values)
        lower = np.where(free, least, np.nan_to_num(self.values))
        upper = np.where(free, top, np.nan_to_num(self.values))
        pair_upper = np.zeros(len(self.pair_upper))
        if kept is not None:
            pair_upper[~kept] = highspy.kHighsInf
        loosens = (
            (lower <= self.lower).all()
            and (upper >= self.upper).all()
            and (pair_upper >= self.pair_upper).all()
        )
        if not loosens:
            self._forget()
        self.top, self.lower, self.upper, self.pair_upper = top, lower, upper, pair_upper
        self.model.changeColsBounds(n_cols, self.columns, lower, upper)
        self.model.changeRowsBounds(len(self.pair_row), self.pair_row,
                                    np.full(len(self.pair_row), -highspy.kHighsInf), pair_upper)  # fmt: skip
        self.model.setOptionValue("simplex_strategy", _DUAL)

    def hide(self, var: int, hidden: bool) -> None:
        """Let variable ``var`` (each of its measures) range freely, as if suppressed, or
        (``hidden=False``) set it back as :meth:`read` left it."""
        columns = np.arange(var, len(self.lower), self.n_vars, dtype=np.int32)
        lower = np.zeros(len(columns)) if hidden else self.lower[columns]
        upper = self.top[columns] if hidden else self.upper[columns]
        self.model.changeColsBounds(len(columns), columns, lower, upper)
        self._forget()

    def lift(self, var: int, lifted: bool) -> None:
        """Drop (or restore as :meth:`read` left them) the bounds of the pairs on variable
        ``var``'s base, as if the other table's cells that bound it were suppressed too."""
        pairs = self.pairs_of.get(var, np.zeros(0, dtype=int))
        upper = np.full(len(pairs), highspy.kHighsInf) if lifted else self.pair_upper[pairs]
        self.model.changeRowsBounds(len(pairs), self.pair_row[pairs],
                                    np.full(len(pairs), -highspy.kHighsInf), upper)  # fmt: skip
        self._forget()

    def unfloor(self, var: int, unfloored: bool) -> None:
        """Drop (or restore as :meth:`read` left it) the floor of variable ``var``'s base."""
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
        holds more. Otherwise its most is solved first, and its least only when the least
        value seen leaves the verdict open (an optimal point has many variables at their
        floor, so a cell's least is often seen already)."""
        wide = max(threshold, 1)
        if _inwards(self.seen[1, var], math.floor, _EPS) - self._low(var) < wide:
            upper = _inwards(-self.least(var, -1.0), math.floor, _EPS)
            if upper < math.inf and upper - self._low(var) < wide:
                lower = _inwards(self.least(var, 1.0), math.ceil, -_EPS)
                width = upper - lower
                if width < 1.0 - _EPS or (lower < threshold and width < threshold - _EPS):
                    return True
        counts = range(var + self.n_vars, len(self.lower), self.n_vars)
        return any(self._pinned(c) for c in counts)

    def _low(self, column: int) -> float:
        """The least value seen of ``column``, rounded inwards (``inf`` before any point)."""
        return _inwards(self.seen[0, column], math.ceil, -_EPS)

    def _pinned(self, column: int) -> bool:
        """Whether a count's range is narrower than 1 (the count is determined); solved as
        a base is, most first, only as far as the values seen leave it open."""
        if self.seen[1, column] - self.seen[0, column] >= 1.0 - _EPS:
            return False
        most = -self.least(column, -1.0)
        if most == math.inf or most - self.seen[0, column] >= 1.0 - _EPS:
            return False
        return most - self.least(column, 1.0) < 1.0 - _EPS

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

    def _rows_of(self, variables: Iterable[int]) -> np.ndarray:
        """The constraint rows that hold any measure of ``variables``."""
        start, rows = self.constraints.indptr, self.constraints.indices
        columns = (c for var in variables for c in range(var, len(self.lower), self.n_vars))
        return np.concatenate([np.zeros(0, dtype=rows.dtype),
                               *(rows[start[c] : start[c + 1]] for c in columns)])  # fmt: skip

    def _moving(self, cell: int) -> np.ndarray:
        """Per constraint row, whether it can move ``cell`` in this reading: it is joined to a
        row holding ``cell`` through variables this reading leaves free (rows and free
        variables as a graph). The rest of the program is independent of ``cell``: fixing or
        freeing its variables changes no bound on ``cell``."""
        return joined_rows(self.constraints, self.lower < self.upper, self._rows_of([cell]))

    def narrow_cells(self, cells: Iterable[int], *, threshold: int) -> Iterator[int]:
        """The cells of ``cells`` this reading pins too narrowly (the rule of
        :func:`narrow_cells`), in their order, each read only when the iterator reaches it.

        Raises:
            ValueError: (as the iterator reaches a cell) see :meth:`least`.
        """
        return (int(var) for var in cells if self.too_narrow(int(var), threshold))

    def first_widening(
        self, cell: int, candidates: Sequence[Widening], *, threshold: int
    ) -> Widening | None:
        """The first of ``candidates`` that leaves ``cell`` no longer too narrow in this
        reading, or ``None``: each candidate is applied, tried and undone (so the model is this
        reading's again when it returns). ``cell`` is one this reading pins too narrowly (as
        :meth:`narrow_cells` found it).

        Every candidate only loosens the reading (it frees variables, drops pairs, lowers
        floors), so the points seen in the reading itself hold in each trial and after it;
        the points a trial finds are dropped with it. A candidate that only frees variables
        none of whose constraints can move ``cell`` (:meth:`_moving`) leaves the part of the
        program that holds ``cell`` as it is, so ``cell`` stays too narrow: it is passed over
        without a solve.

        Raises:
            ValueError: see :meth:`least`.
        """
        reading = self.seen.copy()
        moving = None
        for candidate in candidates:
            if not candidate.lift and not candidate.unfloor:
                moving = self._moving(cell) if moving is None else moving
                if not moving[self._rows_of(candidate.hide)].any():
                    continue
            steps = [(self.hide, var) for var in candidate.hide]
            steps += [(self.lift, var) for var in candidate.lift]
            steps += [(self.unfloor, var) for var in candidate.unfloor]
            for step, var in steps:
                step(var, True)
            np.copyto(self.seen, reading)
            widened = not self.too_narrow(cell, threshold)
            for step, var in steps:
                step(var, False)
            np.copyto(self.seen, reading)
            if widened:
                return candidate
        return None


def _constraints(
    matrix: np.ndarray | csr_array, n_measures: int, pairs: np.ndarray
) -> tuple[csc_array, int]:
    """A reader's constraint matrix, columns the variables once per measure, and how many of
    its first rows are equalities: the relations once per measure, then per count and
    variable ``count - base <= 0``, then per pair ``base_a - base_b <= 0``. Built from its
    entries at once."""
    relations = coo_array(matrix)
    n_relations, n_vars = relations.shape
    n_equalities = n_relations * n_measures
    var = np.arange(n_vars)
    counts = range(1, n_measures)
    first_pair = n_equalities + len(counts) * n_vars
    rows = [relations.row + k * n_relations for k in range(n_measures)]
    rows += [n_equalities + (m - 1) * n_vars + var for m in counts for _ in (0, 1)]
    rows.append(np.repeat(first_pair + np.arange(len(pairs)), 2))
    columns = [relations.col + k * n_vars for k in range(n_measures)]
    columns += [column for m in counts for column in (var, m * n_vars + var)]
    columns.append(pairs.ravel())
    values = [relations.data] * n_measures
    values += [np.full(n_vars, sign) for _ in counts for sign in (-1.0, 1.0)]
    values.append(np.tile([1.0, -1.0], len(pairs)))
    shape = (first_pair + len(pairs), n_vars * n_measures)
    entries = (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns)))
    constraints = csc_array(entries, shape=shape)
    constraints.sum_duplicates()
    return constraints, n_equalities


def joined_rows(matrix: np.ndarray | csc_array, free: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row of ``matrix``, whether it is joined to one of ``rows`` through the ``free``
    columns (rows and free columns as a graph, a column next to each row where its entry is
    not 0). The linear system splits there: fixing or freeing the columns of rows not joined
    to ``rows`` changes no value the system allows for the free columns of ``rows``."""
    touch = abs(matrix[:, free])
    _, label = connected_components(csr_array(touch @ touch.T), directed=False)
    return np.isin(label, label[rows])


def _inwards(bound: float, whole: Callable[[float], int], slack: float) -> float:
    """A finite bound rounded inwards to a whole number (counts are integers)."""
    return float(whole(bound + slack)) if math.isfinite(bound) else bound


def narrow_cells(
    matrix: np.ndarray,
    measures: np.ndarray,
    hidden: np.ndarray,
    cells: Iterable[int],
    *,
    threshold: int,
    bounds: Bounds | None = None,
) -> Iterator[int]:
    """The cells of ``cells`` that a reader of the published cells pins too narrowly, in the
    order of ``cells``, each read only when the iterator reaches it (a caller that needs the
    first one reads no further).

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

    Yields:
        The checked variables whose base range ``[lower, upper]`` (rounded inwards) is a single
        value, or reaches below ``threshold`` while narrower than it, or one of whose counts is
        determined.

    Raises:
        ValueError: the published cells contradict the relations (see :meth:`Reader.least`),
            raised as the iterator reaches a cell.
    """
    pairs = np.empty((0, 2), dtype=int) if bounds is None else bounds.pairs
    reader = Reader(matrix, measures, pairs)
    if bounds is None:
        reader.read(hidden)
    else:
        reader.read(hidden, bounds.ceiling, bounds.floor)
    return reader.narrow_cells(cells, threshold=threshold)


@dataclass(frozen=True)
class Widening:
    """One way to widen a hidden cell's range, read as if it were done: suppress the published
    variables ``hide``; suppress the other tables' cells that bound the variables ``lift`` from
    above through :class:`Bounds` pairs; suppress the published cells that set the floors of
    the variables ``unfloor``."""

    hide: tuple[int, ...] = ()
    lift: tuple[int, ...] = ()
    unfloor: tuple[int, ...] = ()
