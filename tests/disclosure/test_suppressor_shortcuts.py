"""The suppressor's shortcuts choose what the full search chooses.

:func:`toolkit.disclosure.suppression._complement` passes over a candidate none of whose
relations is joined to the determined cell through unknowns, without a decomposition: such a
candidate leaves the block of relations that determines the cell as it is. On random
populations (relations of -1, 0 and 1 over published cells and unpublished totals) the
choice must be that of trying every candidate in turn.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.disclosure.suppression import _complement, _determined, _Population, _unknown


def _population(rng: np.random.Generator) -> _Population:
    """A few relations over a dozen cells and two unpublished variables; each relation reads
    ``parent - sum(children) = 0`` over a random handful of them."""
    n_cells, n_relations = int(rng.integers(6, 14)), int(rng.integers(2, 7))
    matrix = np.zeros((n_relations, n_cells + 2))
    for row in matrix:
        members = rng.choice(len(row), size=int(rng.integers(2, 6)), replace=False)
        row[members[0]], row[members[1:]] = 1.0, -1.0
    cells = tuple(np.array([c]) for c in range(n_cells))
    return _Population(cells=cells, keys=tuple(f"{c:02d}" for c in range(n_cells)), matrix=matrix)


def _tried_in_turn(pop: _Population, hidden: np.ndarray, cell: int, candidates: list[int]) -> int:
    """The first candidate whose suppression un-determines ``cell``, by a decomposition for
    every candidate, else the first."""
    for candidate in candidates:
        trial = hidden.copy()
        trial[candidate] = True
        if not _determined(pop.matrix, _unknown(pop, trial), pop.n_cells)[cell]:
            return candidate
    return candidates[0]


@pytest.mark.parametrize("seed", range(200))
def test_the_complement_is_that_of_trying_every_candidate(seed: int) -> None:
    """Known truth: a decomposition per candidate. Every determined hidden cell gets the same
    complement, candidates taken in a random order."""
    rng = np.random.default_rng(seed)
    pop = _population(rng)
    hidden = rng.random(pop.n_cells) < 0.4
    determined = hidden & _determined(pop.matrix, _unknown(pop, hidden), pop.n_cells)[: pop.n_cells]
    for cell in np.flatnonzero(determined):
        candidates = [int(c) for c in rng.permutation(np.flatnonzero(~hidden))]
        if candidates:
            expected = _tried_in_turn(pop, hidden, int(cell), candidates)
            assert _complement(pop, hidden, int(cell), candidates) == expected
