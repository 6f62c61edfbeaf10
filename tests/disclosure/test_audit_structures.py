"""The auditor's flat stores and array helpers give what the plainer forms they replace gave:
a relation added in bulk is the one added alone, the constraint matrix's columns are scipy's
``csc_array``, the distinct values are ``np.unique``'s, and the neighbours of unknowns are
those read relation by relation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csc_array

from toolkit.disclosure import audit


def _relations(store: audit._Relations) -> list[tuple[str, dict[int, float], bool]]:
    return [(store.routes[r], store.terms_of(r), store.equalities[r]) for r in range(len(store))]


@pytest.mark.parametrize(
    ("first", "second"), [([0, 2, 5], [1, 3, 4]), ([0, 2, 5], [1, 2, 4]), ([], [])]
)
def test_pairs_added_in_bulk_are_those_added_one_by_one(
    first: list[int], second: list[int]
) -> None:
    """Including a pair naming one unknown twice, which a dict makes one term."""
    bulk, alone = audit._Relations(), audit._Relations()
    bulk.append("r", {7: 1.0, 8: -1.0, 9: -1.0}, True)
    alone.append("r", {7: 1.0, 8: -1.0, 9: -1.0}, True)
    bulk.extend_pairs("linked", first, second, (1.0, -1.0), False)
    for one, other in zip(first, second, strict=True):
        alone.append("linked", {one: 1.0, other: -1.0}, False)
    assert _relations(bulk) == _relations(alone)
    assert bulk.starts == alone.starts
    assert bulk.unknowns == alone.unknowns and bulk.coefficients == alone.coefficients


def test_a_relation_is_related_once_and_its_terms_are_in_the_arrays() -> None:
    system = audit._System()
    a, b, c = (system.var(("cell", i)) for i in range(3))
    system.relate("partition", {a: 1.0, b: -1.0, c: -1.0}, True)
    system.relate("partition", {c: -1.0, a: 1.0, b: -1.0}, True)  # the same, in another order
    system.relate("partition", {a: 1.0, b: -1.0, c: -1.0}, False)  # another kind
    system.add_pairs("linked", [b], [a], (1.0, -1.0), False)
    relation, unknown, coefficient = system.terms()
    routes, equality = system.kinds()
    assert relation.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert unknown.tolist() == [a, b, c, a, b, c, b, a]
    assert coefficient.tolist() == [1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0]
    assert routes.tolist() == ["partition", "partition", "linked"]
    assert equality.tolist() == [True, False, False]
    kept = system.subset(np.array([True, False, True]))
    assert _relations(kept.relations) == [
        ("partition", {a: 1.0, b: -1.0, c: -1.0}, True),
        ("linked", {b: 1.0, a: -1.0}, False),
    ]
    for mine, theirs in zip(kept.terms(), kept.subset(np.ones(2, dtype=bool)).terms(), strict=True):
        assert mine.tolist() == theirs.tolist()


def test_columns_and_distinct_values_are_scipys_and_numpys() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        rows, columns = rng.integers(1, 30, 2)
        places = rng.choice(rows * columns, size=rng.integers(0, rows * columns), replace=False)
        row, col = places // columns, places % columns
        value = rng.normal(size=len(places))
        start, index, data = audit._by_column(row, col, value, int(columns))
        matrix = csc_array((value, (row, col)), shape=(rows, columns))
        assert start.tolist() == matrix.indptr.tolist()
        assert index.tolist() == matrix.indices.tolist()
        assert data.tolist() == matrix.data.tolist()
        values = rng.integers(0, 20, rng.integers(0, 40))
        assert audit._distinct(values).tolist() == np.unique(values).tolist()


def test_the_unknowns_one_relation_away_are_those_read_relation_by_relation() -> None:
    system = audit._System()
    v = [system.var(("cell", i)) for i in range(6)]
    system.relate("partition", {v[0]: 1.0, v[1]: -1.0, v[2]: -1.0}, True)
    system.relate("partition", {v[2]: 1.0, v[3]: -1.0}, True)
    system.relate("partition", {v[4]: 1.0, v[5]: -1.0}, True)
    system.known[v[3]] = (1.0, "table")
    touching = audit._touching(system, {v[3]})
    for start in ([v[0]], [v[2]], [v[4], v[1]]):
        by_hand = {u for s in start for r in range(len(system.relations))
                   if s in system.relations.unknowns_of(r)
                   for u in system.relations.unknowns_of(r) if u != v[3]}  # fmt: skip
        assert set(audit._reach(touching, start).tolist()) == by_hand
