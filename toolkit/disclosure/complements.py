"""Complementary suppression by linear programming: a protecting move for every hidden cell.

A *block* is a set of counts tied by additive relations ``A x = 0`` (partition totals, the
hierarchy, England = sum of the regions). A reader who sees the published cells of a block
knows every relation, every published value and that counts are non-negative. A hidden cell
is *protected* when the reader's feasible set holds points far enough apart on it, and this
module proves that by construction, as the network-flow and hypercube methods of tau-Argus do
(Fischetti and Salazar-Gonzalez, "Models and algorithms for optimizing cell suppression",
Management Science 2001; no code copied):

* a *move* ``v`` with ``A v = 0`` that changes only hidden (or unpublished) cells and keeps
  every cell within its bounds (``lower <= x + v <= upper``, where ``lower`` is 0 or a count
  the cell must hold, such as its events) gives a second point ``x + v`` consistent with all a
  reader sees, so the cell's feasible range holds ``[x_i, x_i + v_i]``;
* a hidden cell under the threshold needs a move of at least the threshold (its range is then
  at least that wide); any other hidden cell needs a move of at least 1 (it is not pinned).

For each hidden cell not yet moved far enough by an earlier move, one linear program finds the
cheapest move that does it: a published cell may move only at a cost per unit (so it is hidden
if the move uses it), a hidden cell moves for free, a cell a reader knows exactly (a published
zero, a total kept at its value) does not move. The cells the move uses become complements.
Hiding more never shrinks a feasible set, so every earlier move stays valid: the result is
protected against the relations of the block by construction, whatever order cells come in.

Entry point: :func:`complementary_cells`. Imports numpy, scipy and highspy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csr_array, hstack, vstack

_MOVED = 1e-7


@dataclass(frozen=True)
class Block:
    """One block of counts and what a reader knows about it.

    Attributes:
        relations: sparse matrix (relations x cells), every row reads ``sum(coef * x) = 0``.
        value: the true value of each cell.
        lower, upper: the bounds a reader knows for each cell (``lower >= 0``; ``upper`` may be
            ``inf``); the true value lies within them.
        hidden: cells a reader does not see (suppressed, or never printed).
        fixed: cells a reader knows exactly although they are not printed (a published zero,
            an unprinted total this block keeps at its true value); they never move.
        required: for each hidden cell, how far a move must take it (the threshold for a cell
            under it, 1 for any other hidden cell, 0 for cells that need nothing).
        cost: cost per unit of moving a published cell (it must then be hidden).
        limits, slack: optional inequalities on moves, ``limits @ v <= slack`` (a cell of one
            table within a cell of another: ``v_inner - v_outer <= outer - inner``).
    """

    relations: csr_array
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    hidden: np.ndarray
    fixed: np.ndarray
    required: np.ndarray
    cost: np.ndarray
    limits: csr_array | None = None
    slack: np.ndarray | None = None


@dataclass(frozen=True)
class Protection:
    """The result for one block.

    Attributes:
        complements: published cells that must be hidden (boolean mask over the block's cells).
        unprotected: hidden cells for which no move exists (the block's bounds and known cells
            leave them no room); an empty mask when every hidden cell is protected.
        moves: the moves found, each ``(cells, amounts)``: a second set of values
            ``value[cells] + amounts`` consistent with everything published once the
            complements are hidden (the proof that each moved cell is protected).
    """

    complements: np.ndarray
    unprotected: np.ndarray
    moves: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


class _Moves:
    """The move program of one block in one HiGHS model: columns ``up`` then ``down`` for each
    cell (``v = up - down``), rows ``A (up - down) = 0`` then ``G (up - down) <= slack``. Each solve changes only the bounds
    of the target's ``up`` or ``down`` column and the costs, so HiGHS restarts warm."""

    def __init__(self, block: Block) -> None:
        size = len(block.value)
        self.size = size
        rows = [hstack([block.relations, -block.relations])]
        row_lower = [np.zeros(block.relations.shape[0])]
        row_upper = [np.zeros(block.relations.shape[0])]
        if block.limits is not None and block.slack is not None:
            rows.append(hstack([block.limits, -block.limits]))
            row_lower.append(np.full(block.limits.shape[0], -highspy.kHighsInf))
            row_upper.append(block.slack)
        matrix = vstack(rows).tocsc()
        still = block.fixed
        up = np.where(still, 0.0, np.minimum(block.upper - block.value, highspy.kHighsInf))
        down = np.where(still, 0.0, block.value - block.lower)
        self.room = np.concatenate([np.maximum(up, 0.0), np.maximum(down, 0.0)])
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = 2 * size, matrix.shape[0]
        lp.col_cost_ = np.zeros(2 * size)
        lp.col_lower_ = np.zeros(2 * size)
        lp.col_upper_ = self.room.copy()
        lp.row_lower_ = np.concatenate(row_lower)
        lp.row_upper_ = np.concatenate(row_upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = 2 * size, matrix.shape[0]
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.model = highspy.Highs()
        self.model.setOptionValue("output_flag", False)
        self.model.passModel(lp)

    def cheapest(self, cost: np.ndarray, column: int, amount: float) -> np.ndarray | None:
        """The cheapest move whose ``column`` (an up or down column) is at least ``amount``
        while its opposite column is 0 (a hidden cell moves for free, so up and down together
        would cancel): the move ``v`` per cell, or ``None`` if no move reaches it."""
        if self.room[column] < amount - _MOVED:
            return None
        everything = np.arange(2 * self.size, dtype=np.int32)
        opposite = column + self.size if column < self.size else column - self.size
        self.model.changeColsCost(2 * self.size, everything, np.concatenate([cost, cost]))
        self.model.changeColBounds(column, amount, self.room[column])
        self.model.changeColBounds(opposite, 0.0, 0.0)
        self.model.run()
        optimal = self.model.getModelStatus() == highspy.HighsModelStatus.kOptimal
        solution = np.asarray(self.model.getSolution().col_value) if optimal else None
        self.model.changeColBounds(column, 0.0, self.room[column])
        self.model.changeColBounds(opposite, 0.0, self.room[opposite])
        if solution is None:
            return None
        return solution[: self.size] - solution[self.size :]


def _options(moves: _Moves, cost: np.ndarray, cell: int, short: float, up: float,
             down: float) -> list[list[np.ndarray]]:  # fmt: skip
    """Ways to widen ``cell``'s span by ``short`` (it reaches ``up`` above and ``down`` below
    its value already): one move up, one move down, or (when its floor stops a move down) as
    far down as it can go and the rest up. Each way is a list of moves; infeasible ways are
    left out."""
    size = moves.size
    ways = [
        [moves.cheapest(cost, cell, up + short)],
        [moves.cheapest(cost, size + cell, down + short)],
    ]
    floor = moves.room[size + cell]
    if down < floor < down + short:
        ways.append([moves.cheapest(cost, size + cell, floor),
                     moves.cheapest(cost, cell, up + short - (floor - down))])  # fmt: skip
    return [way for way in ways if all(m is not None for m in way)]  # type: ignore[misc]


def complementary_cells(block: Block) -> Protection:
    """Choose complements so that every hidden cell of ``block`` has protecting moves.

    A cell is protected when the moves found reach, together, at least its requirement: the
    most any move takes it up plus the most any takes it down (the reader's range holds both
    points). Cells are taken in order of what they need (the largest requirement first, then
    position, so the result never depends on anything but the block); a cell the moves found so
    far already protect needs no program of its own. For a cell that does, the cheapest of
    :func:`_options` is kept (cost: the published cells it moves, per unit).

    Returns:
        :class:`Protection`: the published cells to hide and any hidden cell left without a move.
    """
    hidden = block.hidden.copy()
    complements = np.zeros(len(hidden), dtype=bool)
    unprotected = np.zeros(len(hidden), dtype=bool)
    up, down = np.zeros(len(hidden)), np.zeros(len(hidden))
    wanted = np.flatnonzero(hidden & (block.required > 0) & ~block.fixed)
    found_moves: list[tuple[np.ndarray, np.ndarray]] = []
    if not len(wanted):
        return Protection(complements, unprotected)
    moves = _Moves(block)
    for cell in sorted(wanted, key=lambda c: (-block.required[c], c)):
        short = block.required[cell] - up[cell] - down[cell]
        if short <= _MOVED:
            continue
        cost = np.where(hidden, 0.0, block.cost)
        ways = _options(moves, cost, cell, short, up[cell], down[cell])
        if not ways:
            unprotected[cell] = True
            continue
        for move in min(ways, key=lambda w: sum(float(cost @ np.abs(m)) for m in w)):
            used = np.abs(move) > _MOVED
            complements |= used & ~hidden
            hidden |= used
            up, down = np.maximum(up, move), np.maximum(down, -move)
            found_moves.append((np.flatnonzero(used), move[used]))
    return Protection(complements, unprotected, tuple(found_moves))
