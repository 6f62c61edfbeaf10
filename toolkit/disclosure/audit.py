"""The independent auditor: attack a release as a reader holding everything it publishes.

This module shares no code with :mod:`toolkit.disclosure.suppression` (DESIGN.md decision 9): it
reads the published tables as any reader can (their numbers, their ``suppressed`` flags and the
``group_hierarchy`` table), writes down every linear relation such a reader knows, and computes
for every suppressed count its *feasible range*: the smallest and largest value consistent with
everything published (linear programming with SciPy's HiGHS, as sdcTable's ``attack()`` and
tau-Argus's audit do; no code copied).

Relations a reader knows (each has a *route* name used in findings):

* ``"partition total"``: the groups of one dimension level add up to the total of their
  population (survey x cycle x region x indicator ...), whether the total is published (an
  "All respondents" row) or not (then it is an unknown shared by every dimension). A table that
  never lists "Not stated" has a hidden, non-negative "Not stated" remainder.
* ``"absent level is a zero"``: a group of a level that the release knows (from the hierarchy or
  from any slice of the same table) but that has no row in a published slice had no one in it.
* ``"hierarchy"``: a grouped category is the sum of its detailed categories (and "Not stated" is
  the same people at every level of a dimension); an intersection's cells add up to no more than
  each margin (respondents who left the other dimension blank are in the margin only).
* ``"England minus regions"``: every national cell is the sum of the same cell in each region.
* ``"linked table"``: the respondents answering an item in a group are no more than the group's
  respondents in the response profile, and a model's complete cases no more than the item's
  answers; events are no more than their base.
* ``"same cell published elsewhere"``: a cell suppressed in one table but printed in another
  (another cycle's table, the trends table, ...) is known; tables that count the same people
  share one unknown per cell, so any of them pins it for all.
* Non-negativity of every count, and integrality (bounds are rounded inwards to whole numbers;
  the relations here are sums over trees and two-way tables, whose LP vertices are integral).

**Protection rule** (issue 11; stricter than sdcTable, which only asks that the bounds differ):
a suppressed base (a group's size) is *protected* when an attacker cannot pin it: its feasible
range ``[lower, upper]`` has ``upper > lower`` (it is never determined), and when the range
reaches below the threshold (``lower < threshold``) it is at least ``threshold`` wide. The rule
is the same for primary and secondary cells (the auditor does not trust the suppressor's
reasons): a secondary cell must not be determined either. A suppressed count within a base
(events, withdrawals ...) must not be determined. A base published under the threshold is never
protected. A group that can only be empty (its size's range is ``[0, 0]``) is protected, with its
counts: like a published zero, it reveals no one.

Entry points: :func:`attack` returns the tidy table of every suppressed count with its bounds;
:func:`assert_protected` raises :class:`~toolkit.errors.DisclosureError` naming the first
unprotected cell and its route. :func:`read_release` reads a release's tables ahead (the
unknowns and relations follow from which rows exist, never from which are hidden), for an
attack that then only applies the release's flags, if the release still has those rows and
values. Imports ``toolkit.errors`` and ``toolkit.background`` only.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from toolkit.background import FORKS, start_in_background
from toolkit.errors import DisclosureError

NATIONAL = "England"
NOT_STATED = "Not stated"
TOTAL_DIMENSION = "all"
HIERARCHY_TABLE = "group_hierarchy"

ROUTE_PARTITION = "partition total"
ROUTE_ZERO = "absent level is a zero"
ROUTE_HIERARCHY = "hierarchy"
ROUTE_REGIONS = "England minus regions"
ROUTE_LINKED = "linked table"
ROUTE_ELSEWHERE = "same cell published elsewhere"
ROUTE_PUBLISHED = "published under the threshold"
ROUTE_SEVERAL = "several routes, each enough on its own"
ROUTE_CONTRADICTION = "the published numbers contradict each other"
ROUTE_UNNAMED = "several published numbers (route not traced: too many cells recovered)"

KEY_COLUMNS = ("survey", "cycle", "year", "cohort", "region", "indicator", "measure_of",
               "dimension", "level", "group")  # fmt: skip
ATTACK_COLUMNS = (
    "table", "row", *KEY_COLUMNS, "measure", "value", "lower", "upper", "width", "protected",
    "route",
)  # fmt: skip
_EPS = 1e-6
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class TableSpec:
    """How a reader reads one published count table.

    Attributes:
        source: the people the table counts; tables with the same source and the same cell
            key count the same people (one unknown per cell).
        population: columns identifying a population (survey, cycle, region, indicator ...);
            absent columns are ignored.
        base: the base count column (the group's size).
        counts: further count columns, each no larger than ``base`` (events ...).
        complete: whether the table lists "Not stated" where there is anyone in it; if not,
            each partition has a hidden non-negative "Not stated" remainder.
        within: ``(source, dropped population columns)``: the base is no larger than that
            source's base for the same cell with those columns dropped.
        region: the region column, if any (England = sum of the regions).
        exact: whether England is exactly the sum of its regions and a coarser group exactly
            the sum of its finer groups (surveys); for administrative records England also
            counts records with no region and a coarse code may lack a finer one, so each is
            only at least the sum.
        partition: whether a slice's rows are the groups of a dimension level (their sum is
            the population's total; a known group with no row is a zero). A table that lists
            some groups only (a model's groups beside their reference) is not read for sums.
    """

    source: str
    population: tuple[str, ...]
    base: str = "n"
    counts: tuple[str, ...] = ()
    complete: bool = False
    within: tuple[str, tuple[str, ...]] | None = None
    region: str | None = "region"
    exact: bool = True
    partition: bool = True


_ITEM = ("survey", "cycle", "region", "indicator")
RELEASE_TABLES: dict[str, TableSpec] = {
    "response_profile": TableSpec("respondents", ("survey", "cycle", "region"), complete=True),
    "comparisons": TableSpec(
        "item", _ITEM, counts=("events",), within=("respondents", ("indicator",))
    ),
    "trend_gaps": TableSpec("item", _ITEM, counts=("events",), within=("respondents", ("indicator",))),
    "intention_to_leave": TableSpec(
        "intention", (*_ITEM, "measure"), counts=("events",),
        within=("respondents", ("indicator", "measure")),
    ),
    # a model's n: the group's complete cases, no more than the item's answers
    "models": TableSpec(
        "model", (*_ITEM, "model"), within=("item", ("model",)), exact=False, partition=False
    ),
    "workforce_rates": TableSpec(
        "workforce", ("year", "region"), base="headcount_start", counts=("stable_staff",),
        exact=False,
    ),
    "trainee_outcomes": TableSpec(
        "trainees", ("cohort", "region"), base="starters",
        counts=("withdrawals", "completers", "registered_within_6m"), exact=False,
    ),
    "recruitment": TableSpec(
        "recruitment", ("year", "region"), base="shortlisted", counts=("appointed",), exact=False,
    ),
}  # fmt: skip
"""The bundle's count tables as a reader sees them (column names only; no analysis import)."""

_Key = tuple[object, ...]
_Slices = dict[tuple[str, _Key, str, str], set[str]]
"""(table, population, dimension, level) -> the groups with a row there."""
_Seen = dict[tuple[str, str, str], set[str]]
"""(table, dimension, level) -> every group the table lists at that level."""


def _text(value: object) -> str:
    """A key part as text (``2024`` and ``2024.0`` and ``"2024"`` are one cycle)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Relations:
    """Relations ``sum(coef * var) == 0`` (or ``<= 0``), stored flat: each relation's route and
    whether it is an equality, every term's unknown and coefficient in relation order, and
    where each relation's terms start.

    Flat lists of numbers rather than a dict per relation: a release has a few hundred thousand
    relations, and making as many small containers costs several times more than the numbers
    they hold (the garbage collector walks every container made, again and again as the heap
    grows)."""

    routes: list[str] = field(default_factory=list)
    equalities: list[bool] = field(default_factory=list)
    unknowns: list[int] = field(default_factory=list)
    coefficients: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=lambda: [0])
    """Relation ``r``'s terms are ``starts[r]`` to ``starts[r + 1]`` (one more than relations)."""

    def __len__(self) -> int:
        return len(self.routes)

    def append(self, route: str, terms: Mapping[int, float], equality: bool) -> None:
        """Add one relation, its terms in the mapping's order."""
        self.routes.append(route)
        self.equalities.append(equality)
        self.unknowns.extend(terms)
        self.coefficients.extend(terms.values())
        self.starts.append(len(self.unknowns))

    def extend_pairs(self, route: str, first: Sequence[int], second: Sequence[int],
                     coefficients: tuple[float, float], equality: bool) -> None:  # fmt: skip
        """Add ``{first[i]: c0, second[i]: c1}`` for each ``i``, in order, as :meth:`append`
        would (``coefficients`` is ``(c0, c1)``)."""
        if any(map(operator.eq, first, second)):  # a pair that is one term
            for one, other in zip(first, second, strict=True):
                self.append(route, {one: coefficients[0], other: coefficients[1]}, equality)
            return
        size = len(first)
        end = len(self.unknowns)
        self.routes.extend(itertools.repeat(route, size))
        self.equalities.extend(itertools.repeat(equality, size))
        self.unknowns.extend(itertools.chain.from_iterable(zip(first, second, strict=True)))
        self.coefficients.extend(coefficients * size)
        self.starts.extend(range(end + 2, end + 2 * size + 1, 2))

    def unknowns_of(self, relation: int) -> list[int]:
        """The unknowns of one relation, in order."""
        return self.unknowns[self.starts[relation] : self.starts[relation + 1]]

    def terms_of(self, relation: int) -> dict[int, float]:
        """One relation's terms: unknown -> coefficient."""
        at = slice(self.starts[relation], self.starts[relation + 1])
        return dict(zip(self.unknowns[at], self.coefficients[at], strict=True))


@dataclass
class _System:
    """The attacker's unknowns, what is known about them and the relations between them."""

    index: dict[_Key, int] = field(default_factory=dict)
    known: dict[int, tuple[float, str]] = field(default_factory=dict)
    zero: set[int] = field(default_factory=set)
    conflicts: set[int] = field(default_factory=set)
    # inequalities read sum <= 0
    relations: _Relations = field(default_factory=_Relations)
    relation_keys: set[tuple[object, ...]] = field(default_factory=set)
    _terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _kinds: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    populations: dict[_Key, int] = field(default_factory=dict)
    """Each population (``((column, value), ...)``) -> the number that stands for it in the
    unknowns' keys ``(source, population, dimension, level, group, measure)``: a number is
    hashed at once, a tuple of pairs again at every look-up."""

    def var(self, key: _Key) -> int:
        """The unknown for ``key`` (created on first use)."""
        return self.index.setdefault(key, len(self.index))

    def population(self, pop: _Key) -> int:
        """The number standing for population ``pop`` in keys (given on first use)."""
        return self.populations.setdefault(pop, len(self.populations))

    def publish(self, var: int, value: float, table: str) -> None:
        """Record a printed value; two different printed values for one cell are a conflict."""
        if var in self.known and abs(self.known[var][0] - value) > _EPS:
            self.conflicts.add(var)
        self.known.setdefault(var, (value, table))

    def relate(self, route: str, terms: dict[int, float], equality: bool) -> None:
        """Add ``sum(coef * var) == 0`` (or ``<= 0``) once: a relation with the same kind and
        the same terms (the sorted ``var, coef`` pairs, one flat tuple) is not added again."""
        key = (equality, *itertools.chain.from_iterable(sorted(terms.items())))
        if key not in self.relation_keys:
            self.relation_keys.add(key)
            self.add(route, terms, equality)

    def add(self, route: str, terms: dict[int, float], equality: bool) -> None:
        """Add ``sum(coef * var) == 0`` (or ``<= 0``), known to be new (unique by how it was
        made); :meth:`relate` for one that may have been added before."""
        self.relations.append(route, terms, equality)
        self._terms = self._kinds = None

    def add_pairs(self, route: str, first: Sequence[int], second: Sequence[int],
                  coefficients: tuple[float, float], equality: bool) -> None:  # fmt: skip
        """:meth:`add` of ``{first[i]: c0, second[i]: c1}`` for each ``i``, in order."""
        self.relations.extend_pairs(route, first, second, coefficients, equality)
        self._terms = self._kinds = None

    def terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every term of every relation: its relation, unknown and coefficient, as three arrays
        in relation order (built once)."""
        if self._terms is None:
            relations = self.relations
            relation = np.repeat(np.arange(len(relations), dtype=np.int64),
                                 np.diff(np.asarray(relations.starts, dtype=np.int64)))  # fmt: skip
            unknown = np.asarray(relations.unknowns, dtype=np.int64)
            self._terms = (relation, unknown, np.asarray(relations.coefficients, dtype=np.float64))
        return self._terms

    def kinds(self) -> tuple[np.ndarray, np.ndarray]:
        """Each relation's route (an object array) and whether it is an equality, in relation
        order (built once)."""
        if self._kinds is None:
            routes = np.array(self.relations.routes, dtype=object)
            self._kinds = (routes, np.asarray(self.relations.equalities, dtype=bool))
        return self._kinds

    def subset(self, keep: np.ndarray) -> _System:
        """The same unknowns and values with the relations where ``keep`` (a boolean per
        relation) holds, in order (their terms and kinds taken from this system's arrays)."""
        relation, unknown, coefficient = self.terms()
        routes, equality = self.kinds()
        term = keep[relation]
        sizes = np.bincount(relation[term], minlength=len(keep))[keep]
        unknown, coefficient = unknown[term], coefficient[term]
        kept = _Relations(list(itertools.compress(self.relations.routes, keep.tolist())),
                          equality[keep].tolist(), unknown.tolist(), coefficient.tolist(),
                          [0, *np.cumsum(sizes).tolist()])  # fmt: skip
        return _System(self.index, self.known, self.zero, relations=kept,
                       populations=self.populations,
                       _terms=(np.repeat(np.arange(len(sizes)), sizes), unknown, coefficient),
                       _kinds=(routes[keep], equality[keep]))  # fmt: skip


@dataclass(frozen=True)
class _Cell:
    """A suppressed (or too small) count as printed in one table row."""

    table: str
    row: int
    measure: str
    var: int
    keys: Mapping[str, object]
    """The row as read (:func:`_read_columns`): its :data:`KEY_COLUMNS` name the cell."""
    limit: int
    base: int = -1
    """The variable of the row's base (the group's size); -1 when unknown."""


def _population(spec: TableSpec, frame: pd.DataFrame) -> list[str]:
    return [c for c in spec.population if c in frame.columns]


_CellKey = tuple[_Key, str, str, str]
"""(population, dimension, level, group) of one printed row."""


def _records(
    tables: Mapping[str, pd.DataFrame], specs: Mapping[str, TableSpec]
) -> Iterator[tuple[str, TableSpec, int, dict[str, object], _CellKey]]:
    """Each row of each count table: table name, its spec, row number (0-based), the row as a
    dict (with ``_hidden``: its suppressed flag) and its cell key."""
    for name, spec in specs.items():
        frame = tables.get(name)
        if frame is None or frame.empty or "dimension" not in frame.columns:
            continue
        pop_cols = sorted(_population(spec, frame))
        pops = (zip(*([(c, text) for text in _texts(frame[c])] for c in pop_cols), strict=True)
                if pop_cols else itertools.repeat((), len(frame)))  # fmt: skip
        cells = zip(pops, *(_texts(frame[c]) for c in ("dimension", "level", "group")), strict=True)
        rows = zip(_read_columns(frame, spec), cells, strict=True)
        for row, (record, (pop, dim, lvl, grp)) in enumerate(rows):
            if dim == TOTAL_DIMENSION:
                lvl = grp = TOTAL_DIMENSION
            yield name, spec, row, record, (pop, dim, lvl, grp)


def _texts(column: pd.Series) -> list[str]:
    """:func:`_text` of each value of ``column`` (a string is its own text)."""
    return [value if type(value) is str else _text(value) for value in column.tolist()]


def _read_columns(frame: pd.DataFrame, spec: TableSpec) -> Iterator[dict[str, object]]:
    """Each row of ``frame`` as a dict of the columns a reader uses (the population, the
    cell's key, the counts) and ``_hidden``, its suppressed flag; each column is turned into
    Python values at once (``Series.tolist``, as ``DataFrame.to_dict`` would give them)."""
    wanted = dict.fromkeys((*spec.population, "dimension", "level", "group", *KEY_COLUMNS,
                            *_measures(spec)))  # fmt: skip
    names = [c for c in wanted if c in frame.columns]
    columns = [frame[c].tolist() for c in names] + [_flags(frame).tolist()]
    names.append("_hidden")
    for values in zip(*columns, strict=True):
        yield dict(zip(names, values, strict=True))


@dataclass(frozen=True)
class _TableCells:
    """One count table as read: its rows' keys as printed (to recognise the same rows in the
    release) and, for each measure, each row's unknown and printed value."""

    keys: pd.DataFrame
    """The columns naming each row's cell (population, dimension, level, group), as printed."""
    measures: tuple[str, ...]
    unknowns: np.ndarray
    """Rows x measures: each count's unknown (-1 where the table has no such column)."""
    values: np.ndarray
    """Rows x measures: each count as printed (NaN where blank or absent)."""
    bases: np.ndarray
    """Each row's base unknown (the group's size)."""


@dataclass(frozen=True)
class ReleaseReading:
    """A release's count tables read before disclosure control decides which cells are hidden
    (:func:`read_release`): the attacker's unknowns and the relations among them, which follow
    from which rows a table has and never from which of them are hidden; where each count
    sits; and the true values. :func:`attack` applies the release's suppression flags to it
    instead of reading the tables again, after checking that the release has the same rows
    with the same keys and prints the same value in every row it does not hide (any
    difference, and it reads the release itself)."""

    system: _System
    tables: dict[str, _TableCells]
    true: dict[int, float]
    specs: Mapping[str, TableSpec]


def read_release(
    tables: Mapping[str, pd.DataFrame],
    *,
    truth: Mapping[str, pd.DataFrame] | None = None,
    specs: Mapping[str, TableSpec] | None = None,
) -> ReleaseReading:
    """Read a release's count tables ahead of the attack (see :class:`ReleaseReading`).

    Args:
        tables: the release's tables before (or after) suppression, and ``group_hierarchy``.
        truth: as :func:`attack`'s.
        specs: how to read each count table (default :data:`RELEASE_TABLES`).

    Returns:
        :class:`ReleaseReading`, for :func:`attack`'s ``reading``.
    """
    specs = RELEASE_TABLES if specs is None else specs
    hierarchy = tables.get(HIERARCHY_TABLE)
    system, cells = _read_structure(
        tables, specs, pd.DataFrame() if hierarchy is None else hierarchy
    )
    system.relation_keys.clear()  # only to build the relations without repeats
    true = {} if truth is None else _truth_values(system, truth, specs)
    return ReleaseReading(system, cells, true, specs)


def _read_structure(
    tables: Mapping[str, pd.DataFrame], specs: Mapping[str, TableSpec], hierarchy: pd.DataFrame
) -> tuple[_System, dict[str, _TableCells]]:
    """The unknowns of every count the tables print and the relations among them (nothing
    known yet: :func:`_publish` applies what the release prints and hides)."""
    system = _System()
    found: dict[str, tuple[list[list[int]], list[list[float]], list[int]]] = {}
    # (table, population, dimension, level) -> groups present; (table, dimension, level) -> seen
    slices: _Slices = defaultdict(set)
    seen: _Seen = defaultdict(set)
    for name, spec, _, record, (pop, dim, lvl, grp) in _records(tables, specs):
        if dim != TOTAL_DIMENSION and spec.partition:
            slices[(name, pop, dim, lvl)].add(grp)
            seen[(name, dim, lvl)].add(grp)
        cell = (spec.source, system.population(pop), dim, lvl, grp)
        unknowns, values, bases = found.setdefault(name, ([], [], []))
        row_unknowns, row_values = [], []
        for measure in _measures(spec):
            value = record.get(measure, None)
            row_unknowns.append(system.var((*cell, measure)) if measure in record else -1)
            row_values.append(math.nan if value is None or pd.isna(value) else float(value))
        unknowns.append(row_unknowns)
        values.append(row_values)
        bases.append(system.var((*cell, spec.base)))
    _absent_zeros(system, specs, slices, seen, hierarchy)
    _partitions(system, specs, slices, seen, hierarchy)
    _hierarchy_relations(system, specs, slices, hierarchy)
    first = len(system.index)
    _linked_relations(system, specs)
    _region_relations(system, {spec.source for spec in specs.values() if not spec.exact})
    # again for the cells that the first pass and the sums over regions brought in
    _linked_relations(system, specs, since=first)
    cells = {}
    for name, (unknowns, values, bases) in found.items():
        frame = tables[name]
        spec = specs[name]
        keys = [*sorted(_population(spec, frame)), "dimension", "level", "group"]
        cells[name] = _TableCells(frame[keys].reset_index(drop=True), _measures(spec),
                                  np.array(unknowns, dtype=np.int64),
                                  np.array(values, dtype=np.float64),
                                  np.array(bases, dtype=np.int64))  # fmt: skip
    return system, cells


def _fits(reading: ReleaseReading, tables: Mapping[str, pd.DataFrame]) -> bool:
    """Whether ``tables`` (the release) has the rows ``reading`` read, with the same keys, and
    prints the same value as the reading in every count of every row it does not hide."""
    present = {name for name, frame in tables.items() if name in reading.specs
               and frame is not None and not frame.empty and "dimension" in frame.columns}  # fmt: skip
    if present != set(reading.tables):
        return False
    for name, cells in reading.tables.items():
        frame = tables[name]
        columns = list(cells.keys.columns)
        if len(frame) != len(cells.keys) or not set(columns) <= set(frame.columns):
            return False
        if not frame[columns].reset_index(drop=True).equals(cells.keys):
            return False
        printed = ~_flags(frame)
        for j, measure in enumerate(cells.measures):
            if (cells.unknowns[:, j] >= 0).any() != (measure in frame.columns):
                return False
            if measure in frame.columns:
                released = pd.to_numeric(frame[measure], errors="coerce").to_numpy(np.float64)
                if not np.array_equal(released[printed], cells.values[printed, j], equal_nan=True):
                    return False
    return True


def _read_again(reading: ReleaseReading, tables: Mapping[str, pd.DataFrame]) -> ReleaseReading:
    """The release read afresh (it does not match ``reading``), with ``reading``'s true values
    carried over cell by cell (the same population, group and measure)."""
    fresh = read_release(tables, specs=reading.specs)
    population = {number: pop for pop, number in reading.system.populations.items()}
    true = {}
    for key, var in reading.system.index.items():
        if var in reading.true:
            source, number, *cell = key
            pop = fresh.system.populations.get(population[number])
            found = None if pop is None else fresh.system.index.get((source, pop, *cell))
            if found is not None:
                true[found] = reading.true[var]
    return replace(fresh, true=true)


def _publish(
    structure: _System,
    cells: Mapping[str, _TableCells],
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec],
    threshold: int,
) -> tuple[_System, list[_Cell], list[_Cell]]:
    """What the release tells a reader: every count it prints as a known value (the first table
    to print a cell gives its value; a different value elsewhere is a conflict), every count it
    hides as a target, and every base it prints under the threshold."""
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    targets: list[_Cell] = []
    small: list[_Cell] = []
    for number, (name, table) in enumerate(cells.items()):
        frame, spec = tables[name], specs[name]
        hidden = _flags(frame)
        present = table.unknowns >= 0
        printed = present & ~hidden[:, None] & ~np.isnan(table.values)
        entries.append((table.unknowns[printed], table.values[printed],
                        np.full(int(printed.sum()), number)))  # fmt: skip
        base = table.measures.index(spec.base)
        too_small = (
            printed[:, base] & (table.values[:, base] > 0) & (table.values[:, base] < threshold)
        )
        rows = np.flatnonzero(hidden | too_small)
        records = _read_columns(frame.iloc[rows], spec)
        for row, record in zip(rows.tolist(), records, strict=True):
            if hidden[row]:
                for j in np.flatnonzero(present[row]).tolist():
                    measure = table.measures[j]
                    limit = threshold if measure == spec.base else 1
                    targets.append(_Cell(name, row, measure, int(table.unknowns[row, j]), record,
                                         limit, int(table.bases[row])))  # fmt: skip
            else:
                small.append(_Cell(name, row, spec.base, int(table.unknowns[row, base]), record,
                                   threshold))  # fmt: skip
    system = replace(structure, known={}, conflicts=set())
    if entries:
        unknown = np.concatenate([u for u, _, _ in entries])
        value = np.concatenate([v for _, v, _ in entries])
        table_of = np.concatenate([t for _, _, t in entries])
        order, first, inverse = np.unique(unknown, return_index=True, return_inverse=True)
        names = list(cells)
        system.known.update(zip(order.tolist(), zip(value[first].tolist(),
                                                    [names[t] for t in table_of[first].tolist()],
                                                    strict=True), strict=True))  # fmt: skip
        differs = np.abs(value - value[first][inverse]) > _EPS
        system.conflicts.update(unknown[differs].tolist())
    return system, targets, small


def _flags(frame: pd.DataFrame) -> np.ndarray:
    if "suppressed" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _level_groups(hierarchy: pd.DataFrame) -> dict[tuple[str, str], set[str]]:
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in hierarchy.to_dict(orient="records"):
        groups[(_text(record["dimension"]), _text(record["level"]))].add(_text(record["group"]))
        parent_dim = record.get("parent_dimension", record["dimension"])
        groups[(_text(parent_dim), _text(record["parent_level"]))].add(
            _text(record["parent_group"])
        )
    return groups


def _measures(spec: TableSpec) -> tuple[str, ...]:
    return (spec.base, *spec.counts)


def _absent_zeros(system: _System, specs: Mapping[str, TableSpec], slices: _Slices, seen: _Seen,
                  hierarchy: pd.DataFrame) -> None:  # fmt: skip
    """A known group with no row in a published slice is a published zero."""
    levels = _level_groups(hierarchy)
    for (name, pop, dim, lvl), present in slices.items():
        spec = specs[name]
        number = system.population(pop)
        for grp in (seen[(name, dim, lvl)] | levels.get((dim, lvl), set())) - present:
            for measure in _measures(spec):
                system.zero.add(system.var((spec.source, number, dim, lvl, grp, measure)))


def _partitions(system: _System, specs: Mapping[str, TableSpec], slices: _Slices, seen: _Seen,
                hierarchy: pd.DataFrame) -> None:  # fmt: skip
    """Each dimension level's groups (plus any hidden "Not stated") add up to the total."""
    levels = _level_groups(hierarchy)
    for (name, pop, dim, lvl), present in slices.items():
        spec = specs[name]
        number = system.population(pop)
        groups = seen[(name, dim, lvl)] | levels.get((dim, lvl), set()) | present
        if not spec.complete:
            groups = groups | {NOT_STATED}
        for measure in _measures(spec):
            total = system.var((spec.source, number, *(TOTAL_DIMENSION,) * 3, measure))
            terms = {total: 1.0}
            for grp in groups:
                var = system.var((spec.source, number, dim, lvl, grp, measure))
                terms[var] = terms.get(var, 0.0) - 1.0
            system.relate(ROUTE_PARTITION, terms, True)


def _hierarchy_relations(system: _System, specs: Mapping[str, TableSpec], slices: _Slices,
                         hierarchy: pd.DataFrame) -> None:  # fmt: skip
    """Detailed -> grouped -> binary sums (equalities) and intersections (<= each margin)."""
    if hierarchy.empty:
        return
    children: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)
    for record in hierarchy.to_dict(orient="records"):
        dim = _text(record["dimension"])
        parent_dim = _text(record.get("parent_dimension", dim))
        node = (parent_dim, _text(record["parent_level"]), _text(record["parent_group"]))
        children[(*node, dim, _text(record["level"]))].append(_text(record["group"]))
    stated = _first_of_levels(children)
    # tables counting the same people (same source) in the same way give the same relations
    populations = {(specs[name].source, pop, specs[name].exact, _measures(specs[name]))
                   for (name, pop, _, _) in slices}  # fmt: skip
    for source, pop, exact, measures in populations:
        number = system.population(pop)
        for (p_dim, p_lvl, p_grp, c_dim, c_lvl), kids in children.items():
            equal = p_dim == c_dim and exact
            for measure in measures:
                terms = {system.var((source, number, p_dim, p_lvl, p_grp, measure)): 1.0}
                for kid in kids:
                    terms[system.var((source, number, c_dim, c_lvl, kid, measure))] = -1.0
                system.relate(ROUTE_HIERARCHY, terms if equal else _negate(terms), equal)
                if (p_dim, p_lvl, p_grp, c_dim, c_lvl) in stated:
                    # "Not stated" at the finer level: the same people (or, for records, also
                    # those with only a coarse code)
                    a = system.var((source, number, c_dim, c_lvl, NOT_STATED, measure))
                    b = system.var((source, number, p_dim, p_lvl, NOT_STATED, measure))
                    system.relate(ROUTE_HIERARCHY, {b: 1.0, a: -1.0}, exact)


def _first_of_levels(children: Iterable[tuple[str, str, str, str, str]]) -> set[tuple[str, ...]]:
    """The hierarchy entries ``(parent dimension, level, group, dimension, level)`` within one
    dimension that come first for their pair of levels: the ones whose "Not stated" relation
    :func:`_hierarchy_relations` writes. A later entry's (the pair's next parent group) would
    name the same two unknowns, made by the first, in the same relation: it adds nothing."""
    pairs = set()
    first = set()
    for entry in children:
        p_dim, p_lvl, _, c_dim, c_lvl = entry
        if p_dim == c_dim and (p_dim, p_lvl, c_lvl) not in pairs:
            pairs.add((p_dim, p_lvl, c_lvl))
            first.add(entry)
    return first


def _negate(terms: dict[int, float]) -> dict[int, float]:
    return {var: -coef for var, coef in terms.items()}


def _region_relations(system: _System, inexact: set[str]) -> None:
    """England = the sum of the regions, for every cell of every population with a region
    (England >= the sum for the ``inexact`` sources: records with no region count for England
    only; their "Not stated" cells are not tied, as a person whose code differs between records
    may be "not stated" in one area and stated in another)."""
    pops = list(system.populations)  # by number
    regional = {number for number in {key[1] for key in system.index}
                if any(col == "region" for col, _ in pops[number])}  # fmt: skip
    regions = sorted({value for number in regional for col, value in pops[number]
                      if col == "region" and value != NATIONAL})  # fmt: skip
    if not regions:
        return
    national_of = {number: system.population(_in_area(pops[number], NATIONAL))
                   for number in regional}  # fmt: skip
    pops = list(system.populations)  # again, with the England populations numbered above
    members = {number: [system.population(_in_area(pops[number], region)) for region in regions]
               for number in set(national_of.values())}  # fmt: skip
    national = dict.fromkeys(
        (key[0], national_of[key[1]], *key[2:])
        for key in list(system.index)
        if key[1] in national_of and not (key[0] in inexact and key[4] == NOT_STATED)
    )
    for key in national:
        terms = {system.var(key): 1.0}
        for pop in members[key[1]]:
            terms[system.var((key[0], pop, *key[2:]))] = -1.0
        exact = key[0] not in inexact
        system.add(ROUTE_REGIONS, terms if exact else _negate(terms), exact)


def _in_area(pop: _Key, area: str) -> _Key:
    """Population key ``pop`` with its region set to ``area``."""
    return tuple((col, area if col == "region" else value) for col, value in pop)


def _linked_relations(system: _System, specs: Mapping[str, TableSpec], since: int = 0) -> None:
    """Counts within their base; an item's respondents within the group's respondents: for the
    unknowns from the ``since``-th on (in the order they were made)."""
    bases = {spec.source: spec for spec in specs.values()}
    pops = list(system.populations)  # by number
    outers: dict[tuple[str, int], tuple[str, int, str]] = {}
    inner: list[int] = []
    bounding: list[int] = []  # the unknown each of ``inner`` is no larger than
    var_of = system.var
    for key, var in list(itertools.islice(system.index.items(), since, None)):
        source, pop, dim, lvl, grp, measure = key
        spec = bases.get(source)
        if spec is None:
            continue
        if measure != spec.base:
            inner.append(var)
            bounding.append(var_of((source, pop, dim, lvl, grp, spec.base)))
        elif spec.within is not None:
            if (source, pop) not in outers:
                outer_source, outer, outer_base = _outer(bases, spec.within, pops[pop])
                outers[(source, pop)] = outer_source, system.population(outer), outer_base
            outer_source, outer, outer_base = outers[(source, pop)]
            inner.append(var)
            bounding.append(var_of((outer_source, outer, dim, lvl, grp, outer_base)))
    system.add_pairs(ROUTE_LINKED, inner, bounding, (1.0, -1.0), False)


def _outer(bases: Mapping[str, TableSpec], within: tuple[str, tuple[str, ...]],
           pop: _Key) -> tuple[str, _Key, str]:  # fmt: skip
    """The source, population and base column that a population's base lies ``within``."""
    outer_source, dropped = within
    outer_base = bases[outer_source].base if outer_source in bases else "n"
    return outer_source, tuple((c, v) for c, v in pop if c not in dropped), outer_base


# --- the attack -------------------------------------------------------------------------------


@dataclass
class _Block:
    """One connected block of the system: its free unknowns and the relations among them."""

    free: list[int]
    relations: list[int]


def _free_terms(system: _System, fixed: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every (relation, unknown) pair of the system whose unknown is not ``fixed``, as two
    integer arrays in relation order."""
    relation, unknown, _ = system.terms()
    held = np.zeros(len(system.index), dtype=bool)
    held[np.fromiter(fixed, dtype=np.int64, count=len(fixed))] = True
    free = ~held[unknown]
    return relation[free], unknown[free]


def _components(system: _System, fixed: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the relation graph over the unknowns not ``fixed``: the root (its
    component's smallest unknown) of each unknown, -1 for one in no relation or ``fixed``, and
    of each relation, -1 for one with no unknown left (scipy's ``connected_components`` on the
    graph whose nodes are the unknowns and the relations)."""
    relation, unknown = _free_terms(system, fixed)
    size = len(system.index)
    # an edge from each relation to each of its unknowns; the relations' rows come after the
    # unknowns' (which have none), the terms being in relation order
    starts = np.concatenate([np.zeros(size, dtype=np.int64),
                             _starts(relation, len(system.relations))])  # fmt: skip
    edges = csr_array((np.ones(len(unknown)), unknown, starts),
                      shape=(size + len(system.relations),) * 2)  # fmt: skip
    _, label = connected_components(edges, directed=False)
    present = np.bincount(unknown, minlength=size) > 0
    smallest = np.full(label.max() + 1, size, dtype=np.int64)
    np.minimum.at(smallest, label[:size][present], np.flatnonzero(present))
    root = np.where(present, smallest[label[:size]], -1)
    related = np.bincount(relation, minlength=len(system.relations)) > 0
    return root, np.where(related, smallest[label[size:]], -1)


def _roots(system: _System, fixed: set[int]) -> dict[int, int]:
    """Each unknown in some relation -> the root of its connected component
    (:func:`_components`)."""
    return _present(_components(system, fixed)[0])


def _present(root: np.ndarray) -> dict[int, int]:
    """Each unknown with a root (``root[v] >= 0``) -> its root."""
    present = np.flatnonzero(root >= 0)
    return dict(zip(present.tolist(), root[present].tolist(), strict=True))


def _blocks(system: _System, wanted: set[int]) -> list[_Block]:
    """Connected components of the relation graph over unknowns not fixed by what is printed."""
    fixed = set(system.known) | system.zero
    root, relation_root = _components(system, fixed)
    parent = {v: int(root[v]) for v in wanted if root[v] >= 0}
    roots = set(parent.values())
    members: dict[int, list[int]] = defaultdict(list)
    relations: dict[int, list[int]] = defaultdict(list)
    for roots_of, grouped in ((root, members), (relation_root, relations)):
        chosen = np.flatnonzero(np.isin(roots_of, list(roots)))
        for item, item_root in zip(chosen.tolist(), roots_of[chosen].tolist(), strict=True):
            grouped[item_root].append(item)
    blocks = [_Block(members[r], relations[r]) for r in sorted(roots)]
    lone = sorted(v for v in wanted if v not in parent)
    blocks += [_Block([v], []) for v in lone]
    return blocks


_PRIMAL = 4
"""HiGHS's primal simplex. A program is first solved for a feasible point with HiGHS's defaults
(dual simplex, presolve); after that only its objective changes, so the last optimal basis stays
feasible and the primal simplex goes on from it without presolve (the dual simplex restarts far
from the answer: about 40 times slower per objective on the demo's largest blocks)."""


@dataclass
class _Program:
    """A block as a linear program (``rows_lower <= A x <= rows_upper``, ``x >= 0``) held in one
    HiGHS model, so that each new objective is solved warm from the last basis."""

    column: dict[int, int]
    model: highspy.Highs

    def optimum(self, cost: np.ndarray) -> tuple[str, float, np.ndarray | None]:
        """Minimise ``cost @ x``: ``("optimal", value, x)``, ``("unbounded", -inf, None)`` or
        ``("infeasible", nan, None)``."""
        size = len(self.column)
        self.model.changeColsCost(size, np.arange(size, dtype=np.int32), cost)
        self.model.run()
        status = self.model.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            solution = np.asarray(self.model.getSolution().col_value)
            return "optimal", float(cost @ solution), solution
        if status == highspy.HighsModelStatus.kUnbounded:
            return "unbounded", -math.inf, None
        return "infeasible", math.nan, None

    def feasible(self) -> np.ndarray | None:
        """The point the last solve ended at, if it was feasible (any point of the block)."""
        if self.model.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self.model.getSolution().col_value)

    def extreme(self, var: int, sign: float) -> tuple[float | None, np.ndarray | None]:
        """``sign * min(sign * x_var)`` and the solution found (``None`` when infeasible)."""
        cost = np.zeros(len(self.column))
        cost[self.column[var]] = sign
        status, value, x = self.optimum(cost)
        if status == "unbounded":
            return math.inf, None
        if status == "infeasible":
            return None, None
        return sign * value, x


def _values(system: _System, variables: Sequence[int],
            anchor: Mapping[int, float] | None) -> list[float | None]:  # fmt: skip
    """What the program may take as fixed for each variable outside it: its published value,
    0 for a zero, else its ``anchor`` value (``None``: nothing)."""
    known, zero = system.known, system.zero
    found = {} if anchor is None else anchor
    return [known[v][0] if v in known else 0.0 if v in zero else found.get(v)
            for v in variables]  # fmt: skip


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (``np.unique``, by sorting: numpy's hash table is several
    times slower on these integer arrays)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _by_column(row: np.ndarray, col: np.ndarray, value: np.ndarray,
               columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Compressed sparse columns of the entries ``value[i]`` at ``(row[i], col[i])``, no two
    at one place: each column's start, then the entries' rows and values by column, rows in
    order within one (what scipy's ``csc_array`` holds for them, without its checks)."""
    order = np.lexsort((row, col))
    start = np.zeros(columns + 1, dtype=np.int32)
    np.cumsum(np.bincount(col, minlength=columns), out=start[1:])
    return start, row[order].astype(np.int32), value[order]


def _program(system: _System, block: _Block, drop: str | None = None,
             anchor: Mapping[int, float] | None = None,
             start: Mapping[int, float] | None = None) -> _Program:  # fmt: skip
    """The block's program, solved once for a basis; ``drop`` leaves out one route's relations
    (to name the route); ``anchor`` gives values to the variables outside the block that its
    relations touch; ``start``, a feasible point of the block, spares the first solve
    (:func:`_started`)."""
    program = _model(system, block, drop, anchor)
    if not (start is not None and _started(program.model, program.column, start)):
        program.model.run()
    program.model.setOptionValue("presolve", "off")
    program.model.setOptionValue("simplex_strategy", _PRIMAL)
    return program


def _model(system: _System, block: _Block, drop: str | None = None,
           anchor: Mapping[int, float] | None = None) -> _Program:  # fmt: skip
    """The block's program, not solved (arguments as :func:`_program`)."""
    routes, equalities = system.kinds()
    rows = np.asarray(block.relations, dtype=np.int64)
    if drop is not None:
        rows = rows[routes[rows] != drop]
    relation, unknown, coefficient = system.terms()
    first = np.searchsorted(relation, rows)
    sizes = np.searchsorted(relation, rows, side="right") - first
    at = np.repeat(first - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
    row, var, coef = np.repeat(np.arange(len(rows)), sizes), unknown[at], coefficient[at]
    free = list(block.free)
    if drop == ROUTE_ZERO:
        zeros = {v for v in var.tolist() if v in system.zero}
        free = sorted(set(free) | (zeros - set(system.known)))
    column = dict(zip(free, range(len(free)), strict=True))
    column_of = np.full(len(system.index), -1, dtype=np.int64)
    column_of[free] = np.arange(len(free))
    col = column_of[var]
    inside = col >= 0
    outside = _distinct(var[~inside])
    values = _values(system, outside.tolist(), anchor)
    if None in values:
        raise ValueError(
            f"variable {outside[values.index(None)]} is neither in the block nor fixed"
        )
    fixed = np.array(values, dtype=np.float64)[np.searchsorted(outside, var[~inside])]
    constant = np.bincount(row[~inside], weights=coef[~inside] * fixed, minlength=len(rows))
    equality = equalities[rows]
    upper = -constant
    lower = np.where(equality, upper, -highspy.kHighsInf)
    start, index, value = _by_column(row[inside], col[inside], coef[inside], len(free))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(column), len(upper)
    lp.col_cost_ = np.zeros(len(column))
    lp.col_lower_ = np.zeros(len(column))
    lp.col_upper_ = np.full(len(column), highspy.kHighsInf)
    lp.row_lower_, lp.row_upper_ = lower, upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(column), len(upper)
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("threads", 1)
    model.passModel(lp)
    return _Program(column, model)


def _feasible_point(system: _System, block: _Block) -> dict[int, float]:
    """Any feasible point of the block (empty if it has none), by the interior-point solver
    without crossover: about four times faster than the simplex's first phase on the demo's
    largest blocks, and a point is all that is asked (the caller checks it). A point that
    misses a relation by more than a tenth of the check's tolerance (the solver's own can stop
    at about 1e-5 on the demo's blocks) is solved again with crossover, which ends at a vertex.
    It may never return: run it through :func:`_feasible_points`."""
    program = _model(system, block)
    program.model.setOptionValue("solver", "ipm")
    program.model.setOptionValue("run_crossover", "off")
    x = program.optimum(np.zeros(len(program.column)))[2]
    if x is not None and program.model.getInfo().max_primal_infeasibility > _EPS / 10:
        program.model.setOptionValue("run_crossover", "on")
        x = program.optimum(np.zeros(len(program.column)))[2]
    return _point(program, x)


def _feasible_vertex(system: _System, block: _Block) -> dict[int, float]:
    """Any feasible point of the block (empty if it has none), by the dual simplex: about twice
    the CPU of :func:`_feasible_point` over the demo's blocks, but it always returns."""
    program = _model(system, block)
    return _point(program, program.optimum(np.zeros(len(program.column)))[2])


def _point(program: _Program, x: np.ndarray | None) -> dict[int, float]:
    """The solution ``x`` of ``program`` by unknown (empty when there is none)."""
    return {} if x is None else {v: float(x[i]) for v, i in program.column.items()}


_IPM_SECONDS = 30.0
"""How long the release gate waits for its interior-point feasibility solves, all blocks
together, before it stops them and uses the simplex: they take about 2 s on the demo and at
100,000 responses x 5 cycles (the blocks do not grow with the number of responses)."""


def _feasible_points(system: _System, blocks: Sequence[_Block]) -> list[dict[int, float]]:
    """A feasible point of each block: by :func:`_feasible_point` in a forked worker given
    :data:`_IPM_SECONDS`, else (past the deadline, or where there is no fork) by
    :func:`_feasible_vertex` here.

    HiGHS's interior-point solver (IPX, HiGHS 1.15) does not always return on these blocks: it
    stays in its basis heuristic (``Maxvolume``), with or without presolve. At 100,000
    responses x 5 cycles `ptw analyse` hung that way in 4 runs of 6 with presolve and 4 of 4
    without (a block it hung on, with presolve: ``tests/disclosure/fixtures/ipx_hang_block.mps.gz``;
    which blocks it meets depends on Python's hash seed, which numbers the unknowns). A thread stuck in native code
    cannot be stopped; a worker process can. The points are the same kind either way: any
    feasible point, checked by the caller."""
    if not blocks:
        return []
    if FORKS:
        solving = start_in_background(partial(_side_by_side, partial(_feasible_point, system),
                                              blocks))  # fmt: skip
        try:
            return solving.result(timeout=_IPM_SECONDS)
        except TimeoutError:
            pass
    return _side_by_side(partial(_feasible_vertex, system), blocks)


_WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
"""Blocks attacked side by side: HiGHS releases the GIL while it solves, and each block's
program is independent of the others'."""


_THREAD = threading.local()


def _set_up_highs() -> None:
    """Set up HiGHS's scheduler in this thread, once: ``run`` does so and ``crossover`` does not
    (crossover as a thread's first HiGHS call crashes the process, as in HiGHS issue #810; the
    main thread too, when every earlier solve ran in a worker)."""
    if not getattr(_THREAD, "ready", False):
        _model(_System(), _Block([], [])).model.run()
        _THREAD.ready = True


def _side_by_side(work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``[work(item) for item in items]``, in threads (same order, same results)."""
    if _WORKERS == 1 or len(items) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(_WORKERS, len(items))) as pool:
        return list(pool.map(work, items))


def _started(model: highspy.Highs, column: Mapping[int, int], start: Mapping[int, float]) -> bool:
    """Give ``model`` a basis by crossover from the feasible point ``start`` (a tenth of the time
    of a solve from nothing on the demo's largest blocks); ``False`` if ``start`` misses a
    variable or the crossover does not end at an optimal basis (the caller then solves)."""
    if any(v not in start for v in column):
        return False
    solution = highspy.HighsSolution()
    solution.col_value = [start[v] for v in column]
    solution.value_valid = True
    _set_up_highs()
    model.crossover(solution)
    return model.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _protected(lower: float, upper: float, threshold: int) -> bool:
    """The rule for a base: never determined, and at least ``threshold`` wide if it may be
    small. (A count within a base, e.g. events, needs only to be undetermined: ``threshold=1``.)"""
    return upper > lower and (lower >= threshold or upper - lower >= threshold)


def _bounds(
    program: _Program,
    var: int,
    seen: Callable[[np.ndarray | None], None] | None = None,
    wide: Callable[[], bool] | None = None,
) -> tuple[float, float] | None:
    """Exact integer bounds of ``var`` (``None`` if the block is infeasible); ``seen`` gets
    each solution found. When ``wide`` (asked after the lower bound's solve, once ``seen`` has
    its solution) says the span seen already proves the cell, the upper bound is not solved
    for and the bounds returned are ``(lower, nan)``: the caller reads the span seen."""
    low, x_low = program.extreme(var, 1.0)
    if seen is not None:
        seen(x_low)
    if low is None:
        return None
    if wide is not None and wide():
        return math.ceil(low - _EPS), math.nan
    high, x_high = program.extreme(var, -1.0)
    if seen is not None:
        seen(x_high)
    if high is None:
        return None
    return math.ceil(low - _EPS), (math.floor(high + _EPS) if math.isfinite(high) else math.inf)


_PUSHES = 12
"""Most rounds of :func:`_push` on one block."""
_PUSH_MIN = 10
"""Fewer targets than this in a block without an anchor (an outside reader's attack) are
attacked one by one without :func:`_push`. The figure was set when a round cost about as much
as ten cells one by one on the demo's largest blocks; from the anchor a round costs about a
hundred cells' worth, which is why :func:`_attack_block` skips the rounds there. The outside
reader's case has not been measured again since."""
_PUSH_YIELD = 10
"""A round of :func:`_push` proving fewer than one in this many targets left is the last (a
round costs about as much as attacking ten cells one by one on the demo's largest blocks)."""


def _push(program: _Program, columns: np.ndarray, limits: np.ndarray, low: np.ndarray,
          high: np.ndarray) -> None:  # fmt: skip
    """Move every target not yet seen wide enough at once, from a feasible point: ``low`` and
    ``high`` (the span seen of each target, starting at the point) are widened in place.

    Each round solves one program over the targets still short of their limit: first raise
    them all, then lower them all, then seeded random signs (targets tied by an equality move
    apart). Each target is held within its limit of the point (a cap that keeps the program
    bounded: reaching it proves the target), so each solution is a feasible point of the
    block and a target's true range contains the span seen. After the first random round,
    rounds stop when one proves few of the targets left (:data:`_PUSH_YIELD`); the rest are attacked one by one. The rounds
    use the interior-point solver (with crossover, so each solution is a vertex).
    """
    start = low.copy()
    rng = np.random.default_rng(len(columns))
    program.model.setOptionValue("solver", "ipm")  # many moves at once: faster than simplex
    program.model.setOptionValue("presolve", "on")
    try:
        _rounds(program, columns, limits, start, low, high, rng)
    finally:
        program.model.setOptionValue("solver", "simplex")
        program.model.setOptionValue("presolve", "off")


def _rounds(program: _Program, columns: np.ndarray, limits: np.ndarray, start: np.ndarray,
            low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> None:  # fmt: skip
    """The rounds of :func:`_push`."""
    size = len(program.column)
    for round_ in range(_PUSHES):
        short = np.flatnonzero(high - low < limits)
        if not len(short):
            return
        at = columns[short]
        sign = (np.full(len(short), -1.0) if round_ == 0 else np.ones(len(short)) if round_ == 1
                else rng.choice([-1.0, 1.0], len(short)))  # fmt: skip
        cost = np.zeros(size)
        cost[at] = sign
        index = at.astype(np.int32)
        program.model.changeColsBounds(len(at), index, np.maximum(start[short] - limits[short], 0.0),
                                       start[short] + limits[short])  # fmt: skip
        x = program.optimum(cost)[2]
        program.model.changeColsBounds(len(at), index, np.zeros(len(at)),
                                       np.full(len(at), highspy.kHighsInf))  # fmt: skip
        if x is None:
            return
        np.minimum(low, x[columns], out=low)
        np.maximum(high, x[columns], out=high)
        proved = (high[short] - low[short] >= limits[short]).sum()
        if round_ >= 2 and proved * _PUSH_YIELD < len(short):
            return


def _attack_block(system: _System, block: _Block, limits: Mapping[int, int], exact: bool,
                  point: Mapping[int, float] | None = None,
                  ) -> dict[int, tuple[float, float, str]]:  # fmt: skip
    """Bounds for each target in one block, and :data:`ROUTE_UNNAMED` for a target not
    protected (:func:`_name_routes` names its route), else ``""``.

    Without ``exact``, a target whose values in the solutions already found span at least its
    limit is protected without being attacked on its own: its bounds are then the span seen,
    which the true range contains. The solutions start at the feasible ``point`` when one is
    given (:func:`_anchor`: cheap, it costs no program), else at the block's first solution.
    Without a point, :func:`_push` moves all the targets from there; then each cell left gets its
    own extremes (the lower first: when its solution shows the cell wide enough, the upper is
    not asked). From the anchor, the cells that reach this step are the ones the certificates
    and the surroundings could not prove nor :func:`_sandwiched` settle, and the rounds rarely
    move them: on the demo's
    largest block they took about 3 s and proved 2 of 48, where each cell's own extremes (dual
    simplex from the anchor's basis) take 0.01-0.04 s.
    """
    program = _program(system, block, start=point)
    wanted = [v for v in block.free if v in limits]
    columns = np.array([program.column[v] for v in wanted])
    first = program.feasible() if point is None else np.zeros(0)
    if not exact and (point is not None or first is not None):
        low = (np.array([point[v] for v in wanted]) if point is not None
               else first[columns] if len(wanted) else np.zeros(0))  # fmt: skip
        high = low.copy()
        if point is None and len(wanted) >= _PUSH_MIN:
            _push(program, columns, np.array([limits[v] for v in wanted]), low, high)
    else:
        low, high = np.full(len(wanted), math.inf), np.full(len(wanted), -math.inf)
    out: dict[int, tuple[float, float, str]] = {}

    def seen(x: np.ndarray | None) -> None:
        if x is not None:
            np.minimum(low, x[columns], out=low)
            np.maximum(high, x[columns], out=high)

    for i, v in enumerate(wanted):
        wide = partial(_wide, low, high, i, limits[v]) if not exact else None
        if wide is not None and wide():
            out[v] = (float(low[i]), float(high[i]), "")
            continue
        found = _bounds(program, v, seen, wide)
        if found is None:
            out[v] = (math.nan, math.nan, ROUTE_CONTRADICTION)
        elif math.isnan(found[1]):  # the lower bound's solution proved it
            out[v] = (float(low[i]), float(high[i]), "")
        else:
            lower, upper = found
            out[v] = (lower, upper, "" if _protected(lower, upper, limits[v]) else ROUTE_UNNAMED)
    return out


def _wide(low: np.ndarray, high: np.ndarray, i: int, limit: int) -> bool:
    """Whether target ``i``'s span seen, ``low[i]`` to ``high[i]``, reaches its limit."""
    return bool(high[i] - low[i] >= limit)


def _attack_blocks(system: _System, limits: Mapping[int, int], exact: bool,
                   point: Mapping[int, float] | None = None,
                   ) -> dict[int, tuple[float, float, str]]:  # fmt: skip
    """:func:`_attack_block` on every block of ``system`` holding a target, side by side."""
    blocks = _blocks(system, set(limits))
    found = _side_by_side(lambda block: _attack_block(system, block, limits, exact, point), blocks)
    return {v: bounds for block_bounds in found for v, bounds in block_bounds.items()}


def _name_routes(system: _System, results: dict[int, tuple[float, float, str]],
                 unnamed: set[int], budget: list[int],
                 point: Mapping[int, float] | None = None) -> None:  # fmt: skip
    """Name the route of each cell of ``unnamed`` (a finding of ``system``'s attack), in block
    order, while ``budget[0]`` (cells left to trace) lasts: ``results`` is updated in place."""
    for block in _blocks(system, unnamed):
        for v in (v for v in block.free if v in unnamed):
            budget[0] -= 1
            if budget[0] >= 0:
                lower, upper, _ = results[v]
                results[v] = (lower, upper, _route(system, block, v, point))


# --- certificates around the true values ------------------------------------------------------


def _truth_values(system: _System, truth: Mapping[str, pd.DataFrame],
                  specs: Mapping[str, TableSpec]) -> dict[int, float]:  # fmt: skip
    """The unsuppressed tables' value of every unknown they print (by cell key, any row order)."""
    values: dict[int, float] = {}
    for _, spec, _, record, (pop, *cell) in _records(truth, specs):
        number = system.populations.get(pop)
        for measure in (m for m in _measures(spec) if m in record):
            var = system.index.get((spec.source, number, *cell, measure))
            value = record[measure]
            if var is not None and value is not None and not pd.isna(value):
                values[var] = float(value)
    return values


def _broken(system: _System, point: Mapping[int, float]) -> set[int]:
    """The unknowns of every relation that ``point`` (with the published values and zeros)
    breaks or leaves without a value."""
    given = {
        **point,
        **dict.fromkeys(system.zero, 0.0),
        **{v: x for v, (x, _) in system.known.items()},
    }
    values = np.full(len(system.index), np.nan)
    values[np.fromiter(given, dtype=np.int64, count=len(given))] = np.fromiter(
        given.values(), dtype=np.float64, count=len(given))  # fmt: skip
    relation, unknown, coefficient = system.terms()
    total = np.bincount(relation, weights=coefficient * values[unknown],
                        minlength=len(system.relations))  # fmt: skip
    equality = system.kinds()[1]
    broken = np.isnan(total) | np.where(equality, np.abs(total) > _EPS, total > _EPS)
    return set(unknown[broken[relation]].tolist())


def _anchor(system: _System, true: Mapping[int, float]) -> tuple[dict[int, float], set[int]]:
    """A feasible point of the whole system built on the true values, and the unknowns it
    cannot vouch for.

    Unknowns no table prints (unpublished totals, hidden "Not stated" remainders, unprinted
    intersections) get values in three steps, each cheaper than the next: an equality left
    with one unknown gives its value (:func:`_forced`); the rest are tried at zero; a block
    whose relations zero breaks gets a feasibility program. The point is then checked against
    every relation: the unknowns of a relation it breaks (the true values contradict what a
    reader is told, e.g. an absent row that was not a zero) are returned as untrusted.
    """
    values = {v: x for v, (x, _) in system.known.items()} | dict.fromkeys(system.zero, 0.0)
    forced = _forced(system, values | dict(true))
    point = dict(true) | forced
    fixed = _System(system.index, {**system.known, **{v: (x, "truth") for v, x in point.items()}},
                    system.zero, relations=system.relations, _terms=system.terms(),
                    _kinds=system.kinds())  # fmt: skip
    rest = set(_distinct(system.terms()[1]).tolist()) - set(fixed.known) - system.zero
    point |= dict.fromkeys(rest, 0.0)
    broken = _blocks(fixed, _broken(system, point) & rest)
    for found in _feasible_points(fixed, broken):
        point |= found
    return point, _broken(system, point)


def _forced(system: _System, values: Mapping[int, float]) -> dict[int, float]:
    """The unknowns that equalities determine one by one from ``values``: an equality with a
    single unknown left fixes it (then the equalities it is in are looked at again). A value
    below zero is left to the feasibility program (the relations contradict ``values``).

    The equalities with one unknown left at the start are found at once (arrays of every term);
    the others can only come to one unknown left when one of theirs is fixed, and are looked
    at then (in the order a queue over every equality would take them)."""
    relation, unknown, _ = system.terms()
    equality = system.kinds()[1][relation]
    relation, unknown = relation[equality], unknown[equality]
    given = np.zeros(len(system.index), dtype=bool)
    given[np.fromiter(values, dtype=np.int64, count=len(values))] = True
    left = np.bincount(relation, weights=~given[unknown], minlength=len(system.relations))
    order = np.argsort(unknown, kind="stable")
    where, start = relation[order], np.searchsorted(unknown[order], np.arange(len(given) + 1))
    known = dict(values)
    found: dict[int, float] = {}
    queue = np.flatnonzero(left == 1).tolist()
    while queue:
        terms = system.relations.terms_of(queue.pop())
        open_ = [v for v in terms if v not in known]
        if len(open_) != 1:
            continue
        (v,) = open_
        value = -sum(c * known[u] for u, c in terms.items() if u != v) / terms[v]
        if value >= -_EPS:
            known[v] = found[v] = max(value, 0.0)
            queue.extend(where[start[v] : start[v + 1]].tolist())
    return found


@dataclass(frozen=True)
class _Touching:
    """The terms whose unknown is not fixed, both ways: each unknown's relations and each
    relation's unknowns, as arrays (compressed rows: ``relations[by_unknown[v] :
    by_unknown[v + 1]]`` are unknown ``v``'s, in relation order)."""

    relations: np.ndarray
    by_unknown: np.ndarray
    unknowns: np.ndarray
    by_relation: np.ndarray

    def relations_of(self, unknowns: np.ndarray) -> np.ndarray:
        """The relations of each of ``unknowns``, one after the other (with repeats)."""
        return _gather(self.relations, self.by_unknown, unknowns)

    def unknowns_of(self, relations: np.ndarray) -> np.ndarray:
        """The unknowns (not fixed) of each of ``relations``, one after the other (with
        repeats)."""
        return _gather(self.unknowns, self.by_relation, relations)


def _gather(values: np.ndarray, starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[starts[r] : starts[r + 1]]`` for each ``r`` of ``rows``, concatenated."""
    first = starts[rows]
    sizes = starts[rows + 1] - first
    return values[np.repeat(first - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())]


def _starts(groups: np.ndarray, count: int) -> np.ndarray:
    """Where each of ``count`` groups starts in an array sorted by group (and where the last
    ends): the compressed rows of ``groups``."""
    starts = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=count), out=starts[1:])
    return starts


def _touching(system: _System, fixed: set[int]) -> _Touching:
    """The terms of ``system`` whose unknown is not ``fixed``, both ways."""
    relation, unknown = _free_terms(system, fixed)
    order = np.argsort(unknown, kind="stable")
    return _Touching(relation[order], _starts(unknown, len(system.index)), unknown,
                     _starts(relation, len(system.relations)))  # fmt: skip


def _reach(touching: _Touching, unknowns: Sequence[int] | np.ndarray) -> np.ndarray:
    """The unknowns (not fixed) one relation away from ``unknowns``, with repeats."""
    return touching.unknowns_of(touching.relations_of(np.asarray(unknowns, dtype=np.int64)))


def _certify(system: _System, relaxed: _System, limits: Mapping[int, int],
             point: Mapping[int, float], untrusted: set[int]) -> dict[int, tuple[float, float]]:  # fmt: skip
    """Protection proved around the anchor: the span each target reaches.

    The unknowns of one block of the relaxation (then, for the targets still unproved, that
    block with every block one relation away: an item's answers move with the group's
    respondents and with its events) move while every other unknown stays at the anchor
    ``point``. Every relation that touches them is kept, with the others' anchor values, so
    each solution together with the anchor is a feasible point of the whole system and a
    target's true range contains the span seen. Components the anchor breaks are skipped.
    """
    fixed = set(system.known) | system.zero
    touching = _touching(system, fixed)
    component = _roots(system, fixed)
    spoiled = {component.get(v, v) for v in untrusted}
    inner_root = _components(relaxed, fixed)[0]
    inner = _present(inner_root)
    members: dict[int, list[int]] = defaultdict(list)
    for v, root in inner.items():
        members[root].append(v)

    def around(root: int) -> dict[int, tuple[float, float]]:
        wanted = [v for v in members[root] if v in limits]
        proved: dict[int, tuple[float, float]] = {}
        if any(component.get(v, v) in spoiled for v in wanted):
            return proved
        reached = _reach(touching, members[root])
        near = set(np.where(inner_root[reached] >= 0, inner_root[reached], reached).tolist())
        widths = [members[root], sorted({u for n in near for u in members.get(n, [n])})]
        for free in widths if len(widths[1]) <= _NEIGHBOURHOOD else widths[:1]:
            wanted = [v for v in wanted if v not in proved]
            if wanted:
                proved |= _reached(_spans(system, free, touching, wanted, limits, point), limits)
        return proved

    roots = sorted({inner[v] for v in limits if v in inner})
    return {v: span for found in _side_by_side(around, roots) for v, span in found.items()}


def _around_anchor(system: _System, free: list[int], touching: _Touching,
                   point: Mapping[int, float]) -> _Program:  # fmt: skip
    """The program of ``free`` moving while every other unknown stays at the anchor ``point``
    (every relation touching ``free``), started from the anchor."""
    relations = _distinct(touching.relations_of(np.asarray(free, dtype=np.int64))).tolist()
    return _program(system, _Block(free, relations), anchor=point, start=point)


def _reached(spans: Mapping[int, tuple[float, float]],
             limits: Mapping[int, int]) -> dict[int, tuple[float, float]]:  # fmt: skip
    """The targets whose span seen (target -> lowest and highest value seen) reaches their
    limit."""
    return {v: (low, high) for v, (low, high) in spans.items() if high - low >= limits[v]}


def _spans(system: _System, free: list[int], touching: _Touching, wanted: list[int],
           limits: Mapping[int, int], point: Mapping[int, float]) -> dict[int, tuple[float, float]]:  # fmt: skip
    """The span seen of each target among ``wanted``, with ``free`` moving and the rest at the
    anchor (:func:`_certify`, :func:`_surroundings`), by each target's own
    extremes from the anchor's basis (:func:`_own_extremes`). Objectives moving all the targets
    at once (random combinations before, interior-point rounds in the surroundings) cost more
    pivots than they save: a target's own extreme from the last basis costs a few, and its
    solution widens every target's span (on the demo's release, the certificates' solves went
    from 2,105 to 1,820 without the random combinations, and the surroundings' 2.3 s to 0.85 s
    without the rounds)."""
    program = _around_anchor(system, free, touching, point)
    low = np.array([point[v] for v in wanted])
    high = low.copy()
    if len(wanted) >= _ROUNDS_FROM:
        columns = np.array([program.column[v] for v in wanted])
        _push(program, columns, np.array([limits[v] for v in wanted], dtype=float), low, high)
    _own_extremes(program, wanted, limits, low, high)
    return {v: (float(low[i]), float(high[i])) for i, v in enumerate(wanted)}


_ROUNDS_FROM = 500
"""Targets in one program from which :func:`_spans` first moves them all at once
(:func:`_push`), then gives each target still short its own extremes. On the demo's release no
program has this many (at most 305), and own extremes alone are faster there. On a release
where nearly every cell is hidden (300 responses per survey over the 7 regions in one cycle:
5,600 targets, two surroundings of 10,000-13,000 unknowns with about 1,150 targets each) own
extremes alone took 303 s and 537 s; the rounds leave about 60 targets each, and the whole
attack went from 560 s to 165 s with the same verdicts."""


def _own_extremes(program: _Program, wanted: list[int], limits: Mapping[int, int],
                  low: np.ndarray, high: np.ndarray) -> None:  # fmt: skip
    """Widen ``low`` and ``high`` (the span seen of each target of ``wanted``, in place) by
    each target's own extremes in turn, the lower first, for each target still short of its
    limit: every solution found is a feasible point, so it widens every target's span."""
    columns = np.array([program.column[v] for v in wanted])
    for i, v in enumerate(wanted):
        for sign in (1.0, -1.0):
            if high[i] - low[i] >= limits[v]:
                break
            found, x = program.extreme(v, sign)
            if x is not None:  # a feasible point: every target's range holds its value
                np.minimum(low, x[columns], out=low)
                np.maximum(high, x[columns], out=high)
            if found is not None:
                low[i], high[i] = min(low[i], found), max(high[i], found)


_NEIGHBOURHOOD = 3000
"""Most unknowns moved together in one certificate program."""

_HOPS = 3
"""How far :func:`_surroundings` reaches from the targets, in relations. On the demo's release
(threshold 10), around the 8-69 targets a block that the certificates leave (blocks of up to
11,000 unknowns): 2 relations away (700-2,400 unknowns) proves 196 of 305 of them, 3
(1,500-5,100) proves 289 in 0.85 s (one thread), 93 solves."""


def _surroundings(system: _System, limits: Mapping[int, int],
                  point: Mapping[int, float]) -> dict[int, tuple[float, float]]:  # fmt: skip
    """The span seen of each target a certificate could not prove (those it reaches are
    proved protected; the others' go to :func:`_sandwiched`), around the anchor: in
    each block of the whole system, the unknowns up to :data:`_HOPS` relations from its
    targets move and every other unknown stays at the anchor ``point`` (a feasible point, so
    each solution is one of the whole system, as in :func:`_certify`). An item's cell moves
    with the group's respondents, and they with the group's other items: further than a
    certificate's reach, yet a half of the block or less. Each target gets its own extremes
    from the anchor's basis (:func:`_spans`): on the demo's release, 93 solves prove 289 of
    the 305 targets left in 0.85 s, where interior-point rounds moving them all at once took
    2.3 s for about 230 and the whole blocks then took 0.6 s more."""
    fixed = set(system.known) | system.zero
    touching = _touching(system, fixed)

    def around(block: _Block) -> dict[int, tuple[float, float]]:
        wanted = [v for v in block.free if v in limits]
        free = np.zeros(len(system.index), dtype=bool)
        frontier = np.asarray(wanted, dtype=np.int64)
        free[frontier] = True
        for _ in range(_HOPS):
            frontier = _reach(touching, frontier)
            frontier = _distinct(frontier[~free[frontier]])
            free[frontier] = True
        return _spans(system, np.flatnonzero(free).tolist(), touching, wanted, limits, point)

    blocks = [b for b in _blocks(system, set(limits)) if b.relations]
    return {v: span for found in _side_by_side(around, blocks) for v, span in found.items()}


def _sandwiched(relaxed: _System, limits: Mapping[int, int],
                seen: Mapping[int, tuple[float, float]]) -> dict[int, tuple[float, float, str]]:  # fmt: skip
    """Verdicts that need no program over a whole block, for the targets with a span seen:
    each target's exact bounds under the ``relaxed`` system (:func:`_inner`: its blocks are
    small) are outer bounds of its range, the span seen (feasible values) inner ones, and
    :func:`_between` reads the verdict off them when they settle it. Bounds as
    :func:`_attack_block`; a target left out needs its whole block."""
    targets = {v: limit for v, limit in limits.items() if v in seen}
    outer = _attack_blocks(relaxed, targets, True) if targets else {}
    settled = {}
    for v, limit in targets.items():
        low, high = seen[v]
        outer_low, outer_high, route = outer[v]
        found = None if route == ROUTE_CONTRADICTION else _between(
            low, high, outer_low, outer_high, limit)  # fmt: skip
        if found is not None:
            settled[v] = found
    return settled


def _between(low: float, high: float, outer_low: float, outer_high: float,
             limit: int) -> tuple[float, float, str] | None:  # fmt: skip
    """The verdict on a cell whose range ``[L, U]`` lies between values it can take,
    ``low <= high``, and integer outer bounds (a relaxation's :func:`_bounds`):
    ``outer_low <= L <= low`` and ``high <= U <= outer_high``; ``None`` when only the exact
    bounds can settle it.

    * ``high`` and ``low`` an integer apart or more once rounded outwards (the values seen are
      solver solutions, a determined cell's may differ by 1e-15; ``L`` and ``U`` are integers,
      the programs' vertices being integral) and ``outer_low >= limit``: protected (``U > L``
      and ``L >= limit``; the rule of :func:`_protected`), with the span seen as bounds, its
      lower end raised to ``outer_low`` where the solver left it below (9.999999999999979 for a
      cell of at least 10 made :func:`attack`'s own check call a protected cell recoverable).
    * ``low`` and ``high`` rounded as :func:`_bounds` rounds are the outer bounds: those are
      the exact (rounded) bounds, so the verdict and the bounds are those of the whole block,
      :data:`ROUTE_UNNAMED` if not protected.
    """
    if math.ceil(high - _EPS) > math.floor(low + _EPS) and outer_low >= limit:
        return max(low, outer_low), high, ""
    lower, upper = math.ceil(low - _EPS), math.floor(high + _EPS)
    if lower == outer_low and upper == outer_high:
        return lower, upper, "" if _protected(lower, upper, limit) else ROUTE_UNNAMED
    return None


def _inner(system: _System) -> _System:
    """The relaxation used first: equalities, and inequalities within one equality block.

    Dropping the inequalities that join equality blocks (an item's respondents within the
    profile's, across indicators) splits a survey x cycle into small blocks; a cell this
    relaxation pins is pinned by the full system too (its true range is narrower still).
    """
    fixed = set(system.known) | system.zero
    equality = system.kinds()[1]
    root = _components(system.subset(equality), fixed)[0]
    relation, unknown = _free_terms(system, fixed)
    own = np.where(root[unknown] >= 0, root[unknown], unknown)
    lowest = np.full(len(system.relations), len(system.index), dtype=np.int64)
    highest = np.full(len(system.relations), -1, dtype=np.int64)
    np.minimum.at(lowest, relation, own)
    np.maximum.at(highest, relation, own)
    return system.subset(equality | (lowest >= highest))


_ROUTES = (ROUTE_REGIONS, ROUTE_ZERO, ROUTE_PARTITION, ROUTE_HIERARCHY, ROUTE_LINKED)


def _route(system: _System, block: _Block, var: int, point: Mapping[int, float] | None) -> str:
    """The routes that narrow the cell's range: without each, the range is wider (plain words,
    ``"; "``-joined; ``ROUTE_SEVERAL`` when no single route is needed). ``point``: a feasible
    point of the block, if known (it is one of every relaxation too)."""
    used = {system.relations.routes[r] for r in block.relations}
    if any(v in system.zero for r in block.relations for v in system.relations.unknowns_of(r)):
        used.add(ROUTE_ZERO)
    start = None if point is None else {**point, **dict.fromkeys(system.zero, 0.0)}
    base = _bounds(_program(system, block, start=start), var)
    needed = []
    for route in (r for r in _ROUTES if r in used):
        found = _bounds(_program(system, block, drop=route, start=start), var)
        if found is not None and base is not None and found[1] - found[0] > base[1] - base[0]:
            needed.append(route)
    return "; ".join(needed) if needed else ROUTE_SEVERAL


def attack(
    tables: Mapping[str, pd.DataFrame],
    *,
    threshold: int,
    specs: Mapping[str, TableSpec] | None = None,
    truth: Mapping[str, pd.DataFrame] | None = None,
    exact: bool = False,
    traced: int = 100,
    reading: ReleaseReading | None = None,
) -> pd.DataFrame:
    """Attack a release: the feasible range of every suppressed count.

    Args:
        tables: everything the release publishes: table name -> DataFrame as published (with
            ``suppressed`` flags), and ``group_hierarchy`` if the release has one.
        threshold: the workspace's minimum group size.
        specs: how to read each count table (default :data:`RELEASE_TABLES`).
        truth: optional name -> the same tables before suppression (rows matched by their
            cell key, in any order). It fills the ``value`` column and speeds the attack up:
            the true values are a feasible point (checked against every relation), so a cell
            that moves far enough while the rest of the release stays at its true values is
            proved protected without a program over the whole release. It can never make a
            cell look protected without such a proof; without ``truth`` the same verdicts
            come from programs over whole components (slower).
        exact: attack every cell on its own even when the solutions already found show it
            wide enough (slower; ``lower``/``upper`` are then the exact bounds for every cell).
        traced: how many recovered cells get their route traced (each costs a dozen linear
            programs); later ones say :data:`ROUTE_UNNAMED`. Whether a cell is protected is
            decided for every cell regardless.
        reading: :func:`read_release` of the same release before suppression, with its
            ``truth`` and ``specs`` (then leave those two out): the attack applies the
            release's flags to it instead of reading the tables, if the release has the same
            rows and prints what the reading read; otherwise it reads the release itself.

    Returns:
        One row per suppressed count (and per base printed under the threshold), columns
        :data:`ATTACK_COLUMNS`: the table, row (0-based), the cell's key columns, ``measure``
        (the count column), ``value`` (true value if ``truth`` is given, else NaN), ``lower``,
        ``upper``, ``width``, ``protected`` (the module's rule) and ``route`` (plain words; empty
        when protected).
    """
    if reading is not None and (truth is not None or specs is not None):
        raise ValueError("a reading carries its own truth and specs: pass them to read_release")
    if reading is None:
        reading = read_release(tables, truth=truth, specs=specs)
    elif not _fits(reading, tables):
        reading = _read_again(reading, tables)
    specs = reading.specs
    system, targets, small = _publish(reading.system, reading.tables, tables, specs, threshold)
    true = reading.true
    rows = [_row(cell, true, system.known[cell.var][0], system.known[cell.var][0], False,
                 ROUTE_PUBLISHED) for cell in small]  # fmt: skip
    limits: dict[int, int] = {}
    for cell in targets:
        if cell.var not in system.known and cell.var not in system.zero:
            limits[cell.var] = max(limits.get(cell.var, 1), cell.limit)
    results: dict[int, tuple[float, float, str]] = {}
    relaxed = _inner(system)
    certified = bool(true) and not exact
    if not certified:
        # The relaxation's small blocks find most cells an attacker can narrow, cheaply.
        results |= _attack_blocks(relaxed, limits, exact)
    # Cells the relaxation leaves protected are attacked with every relation, unless a
    # certificate around the true values already proves them protected.
    survivors = {v: limit for v, limit in limits.items() if not results.get(v, (0, 0, ""))[2]}
    anchored: dict[int, float] | None = None
    settled: dict[int, tuple[float, float, str]] = {}
    if certified and survivors:
        point, untrusted = _anchor(system, true)
        proved = _certify(system, relaxed, survivors, point, untrusted)
        anchored = point if not untrusted else None
        seen: dict[int, tuple[float, float]] = {}
        if anchored is not None:
            left = {v: limit for v, limit in survivors.items() if v not in proved}
            seen = _surroundings(system, left, anchored)
            proved |= _reached(seen, left)
        results |= {v: (low, high, "") for v, (low, high) in proved.items()}
        survivors = {v: limit for v, limit in survivors.items() if v not in proved}
        settled = _sandwiched(relaxed, survivors, seen)
        results |= settled
    unsettled = {v: limit for v, limit in survivors.items() if v not in settled}
    results |= _attack_blocks(system, unsettled, exact, anchored)
    # Routes are traced for the cells that will be reported: not for the counts of a group
    # known to be empty (no one to reveal), whatever their range.
    reported = {cell.var for cell in targets
                if cell.var in results and not _empty(system, results, true, cell.base)}  # fmt: skip
    budget = [traced]
    for found_by, cells, point in ((relaxed, set(limits) - set(survivors), None),
                                   (system, set(survivors), anchored)):  # fmt: skip
        unnamed = {v for v in cells & reported if results[v][2] == ROUTE_UNNAMED}
        if unnamed:
            _name_routes(found_by, results, unnamed, budget, point)
    for cell in targets:
        if cell.var in system.known:
            value, where = system.known[cell.var]
            rows.append(_row(cell, true, value, value, False,
                             f"{ROUTE_ELSEWHERE} ('{where}')"))  # fmt: skip
        elif cell.var in system.zero:  # an empty group reveals no one, unless it is not empty
            empty = true.get(cell.base, 0.0) <= _EPS
            rows.append(_row(cell, true, 0.0, 0.0, empty, "" if empty else ROUTE_ZERO))
        else:
            lower, upper, route = results[cell.var]
            if _empty(system, results, true, cell.base):
                rows.append(_row(cell, true, lower, upper, True, ""))
                continue
            protected = not route and _protected(lower, upper, cell.limit)
            rows.append(_row(cell, true, lower, upper, protected, route))
    frame = pd.DataFrame(rows, columns=list(ATTACK_COLUMNS))
    return frame.astype({"lower": "float64", "upper": "float64", "width": "float64",
                         "value": "float64", "protected": "bool"})  # fmt: skip


def _empty(system: _System, results: Mapping[int, tuple[float, float, str]],
           true: Mapping[int, float], base: int) -> bool:  # fmt: skip
    """Whether the group is known to be empty (its size can only be 0) and is (its true size, if
    given, is 0). Like a published zero (which is not a disclosure), an empty group reveals no
    one, nor do its counts."""
    if true.get(base, 0.0) > _EPS:
        return False
    if base in results:
        return results[base][1] <= _EPS
    if base in system.known:
        return system.known[base][0] <= _EPS
    return base in system.zero


def _row(cell: _Cell, true: Mapping[int, float], lower: float, upper: float, protected: bool,
         route: str) -> tuple[object, ...]:  # fmt: skip
    keys = tuple(cell.keys.get(c) for c in KEY_COLUMNS)
    return (cell.table, cell.row, *keys, cell.measure, true.get(cell.var, math.nan), lower, upper,
            upper - lower, protected, route)  # fmt: skip


def describe(finding: pd.Series) -> str:
    """One finding in plain words: table, cell, measure, range and route."""
    cell = ", ".join(
        f"{c} {finding[c]}" for c in KEY_COLUMNS if c in finding and not _blank(finding[c])
    )
    return (
        f"table '{finding['table']}', row {int(finding['row']) + 1} ({cell}): {finding['measure']} "
        f"can be pinned to {_span(finding['lower'], finding['upper'])} by {finding['route']}"
    )


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _span(lower: float, upper: float) -> str:
    if lower == upper:
        return f"exactly {lower:g}"
    return f"{lower:g} to {upper:g}"


def assert_protected(
    tables: Mapping[str, pd.DataFrame],
    *,
    threshold: int,
    specs: Mapping[str, TableSpec] | None = None,
    truth: Mapping[str, pd.DataFrame] | None = None,
    reading: ReleaseReading | None = None,
) -> pd.DataFrame:
    """Run :func:`attack` (with ``truth`` if given: the tables before suppression, which let
    it prove protection without whole-release programs; or with a ``reading`` made ahead,
    which carries it); raise if any cell is unprotected, else return the attack table.

    Raises:
        DisclosureError: ``disclosure.recoverable`` naming the first unprotected cell (table,
            row, key, measure, range, route) and how many there are; the whole attack table is
            in ``details["attack"]``.
    """
    result = attack(tables, threshold=threshold, specs=specs, truth=truth, reading=reading)
    failed = result[~result["protected"]]
    if failed.empty:
        return result
    first = failed.iloc[0]
    routes = failed["route"].value_counts()
    raise DisclosureError(
        code="disclosure.recoverable",
        message=f"{len(failed)} suppressed or small count(s) can be recovered from what the "
        f"release publishes (threshold {threshold}); first: {describe(first)}. By route: "
        + ", ".join(f"{route} {count}" for route, count in routes.items()),
        column=str(first["measure"]),
        fix="re-run `ptw analyse` so disclosure control protects the whole release; never edit "
        "a results bundle by hand",
        details={"attack": result},
    )


def summary(result: pd.DataFrame) -> dict[str, int]:
    """Unprotected cells by route (for messages, benchmarks and the methods page)."""
    failed = result[~result["protected"]]
    return {str(k): int(v) for k, v in failed["route"].value_counts().items()}
