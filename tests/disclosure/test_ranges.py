"""The suppressor's range reader (:mod:`toolkit.disclosure.ranges`) against linear programs
solved from scratch, one per bound.

The reader solves warm from its last basis and skips the programs of a cell that the points
it has already found show wide enough. Neither may change a verdict: on random populations
(a total split into groups, one group split again; each cell a base and an events count
within it) every verdict must equal the rule of :func:`ranges.narrow_cells` applied to the
exact bounds that ``scipy.optimize.linprog`` finds for each hidden cell.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import block_diag, csr_array

from toolkit.disclosure import ranges

THRESHOLD = 10
_EPS = 1e-6


def _population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variables ``[groups..., parts of group 0..., total]``: total = sum(groups) and group 0 =
    sum(its parts). Returns the relations, the measures (base; events within it) and which
    variables are hidden (the total sometimes unpublished)."""
    n_groups, n_parts = int(rng.integers(2, 6)), int(rng.integers(2, 4))
    parts = rng.integers(0, 12, size=n_parts).astype(float)
    groups = np.concatenate([[parts.sum()], rng.integers(0, 25, size=n_groups - 1)])
    base = np.concatenate([groups, parts, [groups.sum()]])
    n_vars = len(base)
    matrix = np.zeros((2, n_vars))
    matrix[0, -1], matrix[0, :n_groups] = 1.0, -1.0
    matrix[1, 0], matrix[1, n_groups : n_groups + n_parts] = 1.0, -1.0
    part_events = np.floor(parts * rng.random(n_parts))
    group_events = np.concatenate(
        [[part_events.sum()], np.floor(groups[1:] * rng.random(n_groups - 1))]
    )
    events = np.concatenate([group_events, part_events, [group_events.sum()]])
    hidden = rng.random(n_vars) < 0.5
    hidden[-1] = rng.random() < 0.3
    measures = np.vstack([base, events])
    return matrix, measures, hidden


def _exact_bounds(matrix: np.ndarray, measures: np.ndarray, hidden: np.ndarray,
                  column: int) -> tuple[float, float]:  # fmt: skip
    """min and max of ``column`` (a variable of one measure) by two programs from scratch."""
    n_measures, n_vars = measures.shape
    equalities = block_diag([csr_array(matrix)] * n_measures).toarray()
    within = np.zeros((n_vars * (n_measures - 1), n_vars * n_measures))
    for m in range(1, n_measures):
        for v in range(n_vars):
            within[(m - 1) * n_vars + v, m * n_vars + v] = 1.0
            within[(m - 1) * n_vars + v, v] = -1.0
    free = np.tile(hidden, n_measures)
    values = measures.ravel()
    box = [(0, None) if f else (x, x) for f, x in zip(free, values, strict=True)]
    found = []
    for sign in (1.0, -1.0):
        cost = np.zeros(n_vars * n_measures)
        cost[column] = sign
        result = linprog(cost, A_ub=within, b_ub=np.zeros(len(within)), A_eq=equalities,
                         b_eq=np.zeros(len(equalities)), bounds=box, method="highs")  # fmt: skip
        assert result.status in (0, 3), result.message
        found.append(sign * result.fun if result.status == 0 else sign * -math.inf)
    return found[0], found[1]


def _narrow_by_rule(matrix: np.ndarray, measures: np.ndarray, hidden: np.ndarray,
                    var: int) -> bool:  # fmt: skip
    """The rule of :func:`ranges.narrow_cells` on exact bounds."""
    low, high = _exact_bounds(matrix, measures, hidden, var)
    lower = math.ceil(low - _EPS)
    upper = math.floor(high + _EPS) if math.isfinite(high) else math.inf
    width = upper - lower
    if width < 1 - _EPS or (lower < THRESHOLD and width < THRESHOLD - _EPS):
        return True
    n_vars = measures.shape[1]
    for column in range(var + n_vars, measures.size, n_vars):
        low, high = _exact_bounds(matrix, measures, hidden, column)
        if high - low < 1 - _EPS:
            return True
    return False


@pytest.mark.parametrize("seed", range(300))
def test_the_readers_verdicts_are_those_of_exact_bounds(seed: int) -> None:
    """Known truth: exact bounds from fresh programs; the reader must agree on every cell."""
    rng = np.random.default_rng(seed)
    matrix, measures, hidden = _population(rng)
    cells = np.flatnonzero(hidden[:-1])
    expected = [int(v) for v in cells if _narrow_by_rule(matrix, measures, hidden, int(v))]
    assert (
        list(ranges.narrow_cells(matrix, measures, hidden, cells, threshold=THRESHOLD)) == expected
    )


@pytest.mark.parametrize("seed", range(60))
def test_one_reader_set_to_reading_after_reading_keeps_every_verdict(seed: int) -> None:
    """Known truth: exact bounds from fresh programs. The suppressor keeps one reader per
    population and sets it to each reading in turn: more cells hidden (the program only
    loosens, so the points seen are kept) or others (they are dropped), with widenings tried
    in between (candidates that cannot move the cell passed over). Every reading's verdicts,
    and the first widening of a narrow cell, must be those of exact bounds."""
    rng = np.random.default_rng(1000 + seed)
    matrix, measures, hidden = _population(rng)
    reader = ranges.Reader(matrix, measures, np.empty((0, 2), dtype=int))
    for step in range(4):
        if step % 2:
            hidden = hidden | (rng.random(len(hidden)) < 0.3)
        elif step:
            hidden = rng.random(len(hidden)) < 0.5
        reader.read(hidden)
        cells = np.flatnonzero(hidden[:-1])
        expected = [int(v) for v in cells if _narrow_by_rule(matrix, measures, hidden, int(v))]
        assert list(reader.narrow_cells(cells, threshold=THRESHOLD)) == expected
        if expected:
            cell, published = expected[0], np.flatnonzero(~hidden)
            tries = [ranges.Widening(hide=(int(v),)) for v in published]
            first = next((t for t in tries if not _narrow_by_rule(
                matrix, measures, hidden | (np.arange(len(hidden)) == t.hide[0]), cell)), None)  # fmt: skip
            assert reader.first_widening(cell, tries, threshold=THRESHOLD) == first
            assert list(reader.narrow_cells(cells, threshold=THRESHOLD)) == expected
