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
  respondents in the response profile; events are no more than their base.
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
protected.

Entry points: :func:`attack` returns the tidy table of every suppressed count with its bounds;
:func:`assert_protected` raises :class:`~toolkit.errors.DisclosureError` naming the first
unprotected cell and its route. Imports ``toolkit.errors`` only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_array

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
    """

    source: str
    population: tuple[str, ...]
    base: str = "n"
    counts: tuple[str, ...] = ()
    complete: bool = False
    within: tuple[str, tuple[str, ...]] | None = None
    region: str | None = "region"


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
    "workforce_rates": TableSpec("workforce", ("year",), region=None),
    "trainee_outcomes": TableSpec(
        "trainees", ("cohort",), base="starters",
        counts=("withdrawals", "completers", "registered_within_6m"), region=None,
    ),
    "recruitment": TableSpec(
        "recruitment", ("year", "standard"), base="shortlisted", counts=("appointed",),
        region=None,
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
class _System:
    """The attacker's unknowns, what is known about them and the relations between them."""

    index: dict[_Key, int] = field(default_factory=dict)
    known: dict[int, tuple[float, str]] = field(default_factory=dict)
    zero: set[int] = field(default_factory=set)
    conflicts: set[int] = field(default_factory=set)
    # relations: (route, {var: coefficient}, is_equality); inequalities read sum <= 0
    relations: list[tuple[str, dict[int, float], bool]] = field(default_factory=list)
    relation_keys: set[tuple[object, ...]] = field(default_factory=set)

    def var(self, key: _Key) -> int:
        """The unknown for ``key`` (created on first use)."""
        return self.index.setdefault(key, len(self.index))

    def publish(self, var: int, value: float, table: str) -> None:
        """Record a printed value; two different printed values for one cell are a conflict."""
        if var in self.known and abs(self.known[var][0] - value) > _EPS:
            self.conflicts.add(var)
        self.known.setdefault(var, (value, table))

    def relate(self, route: str, terms: dict[int, float], equality: bool) -> None:
        """Add ``sum(coef * var) == 0`` (or ``<= 0``) once."""
        key = (equality, tuple(sorted(terms.items())))
        if key not in self.relation_keys:
            self.relation_keys.add(key)
            self.relations.append((route, terms, equality))


@dataclass(frozen=True)
class _Cell:
    """A suppressed (or too small) count as printed in one table row."""

    table: str
    row: int
    measure: str
    var: int
    keys: dict[str, object]
    limit: int


def _population(spec: TableSpec, frame: pd.DataFrame) -> list[str]:
    return [c for c in spec.population if c in frame.columns]


def _read_tables(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec],
    hierarchy: pd.DataFrame,
    threshold: int,
) -> tuple[_System, list[_Cell], list[_Cell]]:
    """Every published count as a known value, every suppressed count as a target."""
    system = _System()
    targets: list[_Cell] = []
    small: list[_Cell] = []
    # (table, population, dimension, level) -> groups present; (table, dimension, level) -> seen
    slices: _Slices = defaultdict(set)
    seen: _Seen = defaultdict(set)
    for name, spec in specs.items():
        frame = tables.get(name)
        if frame is None or frame.empty or "dimension" not in frame.columns:
            continue
        pop_cols = _population(spec, frame)
        measures = [m for m in (spec.base, *spec.counts) if m in frame.columns]
        hidden = _flags(frame)
        for row, record in enumerate(frame.to_dict(orient="records")):
            pop = tuple((c, _text(record[c])) for c in sorted(pop_cols))
            dim, lvl, grp = (_text(record[c]) for c in ("dimension", "level", "group"))
            if dim == TOTAL_DIMENSION:
                dim, lvl, grp = TOTAL_DIMENSION, TOTAL_DIMENSION, TOTAL_DIMENSION
            else:
                slices[(name, pop, dim, lvl)].add(grp)
                seen[(name, dim, lvl)].add(grp)
            keys = {c: record.get(c) for c in KEY_COLUMNS if c in record}
            for measure in measures:
                var = system.var((spec.source, pop, dim, lvl, grp, measure))
                value = record[measure]
                if hidden[row] or value is None or pd.isna(value):
                    if hidden[row]:
                        limit = threshold if measure == spec.base else 1
                        targets.append(_Cell(name, row, measure, var, keys, limit))
                    continue
                system.publish(var, float(value), name)
                if measure == spec.base and 0 < float(value) < threshold:
                    small.append(_Cell(name, row, measure, var, keys, threshold))
    _absent_zeros(system, specs, slices, seen, hierarchy)
    _partitions(system, specs, slices, seen, hierarchy)
    _hierarchy_relations(system, specs, slices, hierarchy)
    _linked_relations(system, specs)
    _region_relations(system)
    _linked_relations(system, specs)  # and for the regional cells the sums brought in
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
        for grp in (seen[(name, dim, lvl)] | levels.get((dim, lvl), set())) - present:
            for measure in _measures(spec):
                system.zero.add(system.var((spec.source, pop, dim, lvl, grp, measure)))


def _partitions(system: _System, specs: Mapping[str, TableSpec], slices: _Slices, seen: _Seen,
                hierarchy: pd.DataFrame) -> None:  # fmt: skip
    """Each dimension level's groups (plus any hidden "Not stated") add up to the total."""
    levels = _level_groups(hierarchy)
    for (name, pop, dim, lvl), present in slices.items():
        spec = specs[name]
        groups = seen[(name, dim, lvl)] | levels.get((dim, lvl), set()) | present
        if not spec.complete:
            groups = groups | {NOT_STATED}
        for measure in _measures(spec):
            total = system.var((spec.source, pop, *(TOTAL_DIMENSION,) * 3, measure))
            terms = {total: 1.0}
            for grp in groups:
                var = system.var((spec.source, pop, dim, lvl, grp, measure))
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
    populations = {(specs[name].source, pop, name) for (name, pop, _, _) in slices}
    for source, pop, name in populations:
        for (p_dim, p_lvl, p_grp, c_dim, c_lvl), kids in children.items():
            same = p_dim == c_dim
            for measure in _measures(specs[name]):
                terms = {system.var((source, pop, p_dim, p_lvl, p_grp, measure)): 1.0}
                for kid in kids:
                    terms[system.var((source, pop, c_dim, c_lvl, kid, measure))] = -1.0
                system.relate(ROUTE_HIERARCHY, terms if same else _negate(terms), same)
                if same:
                    a = system.var((source, pop, c_dim, c_lvl, NOT_STATED, measure))
                    b = system.var((source, pop, p_dim, p_lvl, NOT_STATED, measure))
                    system.relate(ROUTE_HIERARCHY, {a: 1.0, b: -1.0}, True)


def _negate(terms: dict[int, float]) -> dict[int, float]:
    return {var: -coef for var, coef in terms.items()}


def _region_relations(system: _System) -> None:
    """England = the sum of the regions, for every cell of every population with a region."""
    regions: set[str] = set()
    for key in list(system.index):
        regions |= {value for col, value in key[1] if col == "region" and value != NATIONAL}
    if not regions:
        return
    national: set[_Key] = set()
    for key in list(system.index):
        pop = dict(key[1])
        if "region" in pop:
            pop["region"] = NATIONAL
            national.add((key[0], tuple(sorted(pop.items())), *key[2:]))
    for key in national:
        terms = {system.var(key): 1.0}
        for region in sorted(regions):
            pop = dict(key[1])
            pop["region"] = region
            terms[system.var((key[0], tuple(sorted(pop.items())), *key[2:]))] = -1.0
        system.relate(ROUTE_REGIONS, terms, True)


def _linked_relations(system: _System, specs: Mapping[str, TableSpec]) -> None:
    """Counts within their base; an item's respondents within the group's respondents."""
    bases = {spec.source: spec for spec in specs.values()}
    for key, var in list(system.index.items()):
        source, pop, dim, lvl, grp, measure = key
        spec = bases.get(source)
        if spec is None:
            continue
        if measure != spec.base:
            base = system.var((source, pop, dim, lvl, grp, spec.base))
            system.relate(ROUTE_LINKED, {var: 1.0, base: -1.0}, False)
        elif spec.within is not None:
            outer_source, dropped = spec.within
            outer = tuple((c, v) for c, v in pop if c not in dropped)
            outer_base = bases[outer_source].base if outer_source in bases else "n"
            other = system.var((outer_source, outer, dim, lvl, grp, outer_base))
            system.relate(ROUTE_LINKED, {var: 1.0, other: -1.0}, False)


# --- the attack -------------------------------------------------------------------------------


@dataclass
class _Block:
    """One connected block of the system: its free unknowns and the relations among them."""

    free: list[int]
    relations: list[int]


def _roots(system: _System, fixed: set[int]) -> dict[int, int]:
    """Each unknown in some relation -> the root of its connected component."""
    parent: dict[int, int] = {}

    def find(v: int) -> int:
        root = v
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[v] != root:
            parent[v], v = root, parent[v]
        return root

    for terms in (t for _, t, _ in system.relations):
        free = [v for v in terms if v not in fixed]
        for other in free:
            a, b = find(free[0]), find(other)
            if a != b:
                parent[a] = b
    return {v: find(v) for v in parent}


def _blocks(system: _System, wanted: set[int]) -> list[_Block]:
    """Connected components of the relation graph over unknowns not fixed by what is printed."""
    fixed = set(system.known) | system.zero
    parent = _roots(system, fixed)
    members: dict[int, list[int]] = defaultdict(list)
    for v, root in parent.items():
        members[root].append(v)
    relations: dict[int, list[int]] = defaultdict(list)
    for r, (_, terms, _) in enumerate(system.relations):
        free = [v for v in terms if v not in fixed]
        if free:
            relations[parent[free[0]]].append(r)
    roots = {parent[v] for v in wanted if v in parent}
    blocks = [_Block(sorted(members[root]), relations[root]) for root in sorted(roots)]
    lone = sorted(v for v in wanted if v not in parent)
    blocks += [_Block([v], []) for v in lone]
    return blocks


@dataclass
class _Program:
    """A block as a linear program: ``A_eq x = b_eq``, ``A_ub x <= b_ub``, ``x >= 0``."""

    column: dict[int, int]
    a_eq: csr_array | None
    b_eq: np.ndarray | None
    a_ub: csr_array | None
    b_ub: np.ndarray | None
    bounds: list[tuple[float, float | None]]

    def extreme(self, var: int, sign: float) -> tuple[float | None, np.ndarray | None]:
        """``sign * min(sign * x_var)`` and the solution found (``None`` when infeasible)."""
        cost = np.zeros(len(self.column))
        cost[self.column[var]] = sign
        result = linprog(cost, A_ub=self.a_ub, b_ub=self.b_ub, A_eq=self.a_eq, b_eq=self.b_eq,
                         bounds=self.bounds, method="highs")  # fmt: skip
        if result.status == 3:  # unbounded above
            return math.inf, None
        if result.status != 0:
            return None, None
        return sign * float(result.fun), np.asarray(result.x)


def _program(system: _System, block: _Block, drop: str | None = None) -> _Program:
    """The block's program; ``drop`` leaves out one route's relations (to name the route)."""
    free = list(block.free)
    rows = [system.relations[r] for r in block.relations if system.relations[r][0] != drop]
    if drop == ROUTE_ZERO:
        zeros = {v for _, terms, _ in rows for v in terms if v in system.zero}
        free = sorted(set(free) | (zeros - set(system.known)))
    column = {v: i for i, v in enumerate(free)}
    parts: dict[bool, tuple[list[float], list[int], list[int], list[float]]] = {
        True: ([], [], [], []),
        False: ([], [], [], []),
    }
    for _, terms, equality in rows:
        data, cols, row_ids, rhs = parts[equality]
        r, constant = len(rhs), 0.0
        for v, coef in terms.items():
            if v in column:
                data.append(coef)
                cols.append(column[v])
                row_ids.append(r)
            elif v in system.known:
                constant += coef * system.known[v][0]
            # a fixed zero contributes nothing
        rhs.append(-constant)
    matrices = {}
    for equality, (data, cols, row_ids, rhs) in parts.items():
        if rhs:
            shape = (len(rhs), len(column))
            matrices[equality] = (csr_array((data, (row_ids, cols)), shape=shape), np.array(rhs))
        else:
            matrices[equality] = (None, None)
    return _Program(column, *matrices[True], *matrices[False], [(0.0, None)] * len(column))


def _protected(lower: float, upper: float, threshold: int) -> bool:
    """The rule for a base: never determined, and at least ``threshold`` wide if it may be
    small. (A count within a base, e.g. events, needs only to be undetermined: ``threshold=1``.)"""
    return upper > lower and (lower >= threshold or upper - lower >= threshold)


def _bounds(
    program: _Program, var: int, seen: Callable[[np.ndarray | None], None] | None = None
) -> tuple[float, float] | None:
    """Exact integer bounds of ``var`` (``None`` if the block is infeasible); ``seen`` gets
    the two solutions found."""
    low, x_low = program.extreme(var, 1.0)
    high, x_high = program.extreme(var, -1.0)
    if seen is not None:
        seen(x_low)
        seen(x_high)
    if low is None or high is None:
        return None
    return math.ceil(low - _EPS), (math.floor(high + _EPS) if math.isfinite(high) else math.inf)


_SCATTER = 4
"""Random objectives tried on a block before attacking cells one by one."""


def _attack_block(system: _System, block: _Block, limits: Mapping[int, int], exact: bool,
                  budget: list[int]) -> dict[int, tuple[float, float, str]]:  # fmt: skip
    """Bounds and route for each target in one block.

    Without ``exact``, a target whose values in the solutions already found (the block's
    extremes for the sum of its targets and a few seeded random objectives, then each cell's
    own extremes) span at least its limit is protected without being attacked on its own: its
    bounds are then the span seen, which the true range contains.
    """
    program = _program(system, block)
    wanted = [v for v in block.free if v in limits]
    columns = np.array([program.column[v] for v in wanted])
    low = np.full(len(wanted), math.inf)
    high = np.full(len(wanted), -math.inf)
    out: dict[int, tuple[float, float, str]] = {}

    def seen(x: np.ndarray | None) -> None:
        if x is not None:
            np.minimum(low, x[columns], out=low)
            np.maximum(high, x[columns], out=high)

    if not exact and len(wanted) > 1:
        rng = np.random.default_rng(len(wanted))
        weights = [np.ones(len(wanted))] + [
            rng.uniform(-1, 1, len(wanted)) for _ in range(_SCATTER)
        ]
        for weight in weights:
            for sign in (1.0, -1.0):
                cost = np.zeros(len(program.column))
                cost[columns] = sign * weight
                result = linprog(cost, A_ub=program.a_ub, b_ub=program.b_ub, A_eq=program.a_eq,
                                 b_eq=program.b_eq, bounds=program.bounds, method="highs")  # fmt: skip
                seen(np.asarray(result.x) if result.status == 0 else None)
    for i, v in enumerate(wanted):
        if not exact and high[i] - low[i] >= limits[v]:
            out[v] = (float(low[i]), float(high[i]), "")
            continue
        found = _bounds(program, v, seen)
        if found is None:
            out[v] = (math.nan, math.nan, ROUTE_CONTRADICTION)
            continue
        lower, upper = found
        route = ""
        if not _protected(lower, upper, limits[v]):
            budget[0] -= 1
            route = _route(system, block, v) if budget[0] >= 0 else ROUTE_UNNAMED
        out[v] = (lower, upper, route)
    return out


def _inner(system: _System) -> _System:
    """The relaxation used first: equalities, and inequalities within one equality block.

    Dropping the inequalities that join equality blocks (an item's respondents within the
    profile's, across indicators) splits a survey x cycle into small blocks; a cell this
    relaxation pins is pinned by the full system too (its true range is narrower still).
    """
    fixed = set(system.known) | system.zero
    equalities = _System(system.index, system.known, system.zero,
                         relations=[r for r in system.relations if r[2]])  # fmt: skip
    root = _roots(equalities, fixed)
    kept = []
    for relation in system.relations:
        free = {root.get(v, v) for v in relation[1] if v not in fixed}
        if relation[2] or len(free) <= 1:
            kept.append(relation)
    return _System(system.index, system.known, system.zero, relations=kept)


_ROUTES = (ROUTE_REGIONS, ROUTE_ZERO, ROUTE_PARTITION, ROUTE_HIERARCHY, ROUTE_LINKED)


def _route(system: _System, block: _Block, var: int) -> str:
    """The routes that narrow the cell's range: without each, the range is wider (plain words,
    ``"; "``-joined; ``ROUTE_SEVERAL`` when no single route is needed)."""
    used = {system.relations[r][0] for r in block.relations}
    if any(v in system.zero for r in block.relations for v in system.relations[r][1]):
        used.add(ROUTE_ZERO)
    base = _bounds(_program(system, block), var)
    needed = []
    for route in (r for r in _ROUTES if r in used):
        found = _bounds(_program(system, block, drop=route), var)
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
) -> pd.DataFrame:
    """Attack a release: the feasible range of every suppressed count.

    Args:
        tables: everything the release publishes: table name -> DataFrame as published (with
            ``suppressed`` flags), and ``group_hierarchy`` if the release has one.
        threshold: the workspace's minimum group size.
        specs: how to read each count table (default :data:`RELEASE_TABLES`).
        truth: optional name -> the same tables before suppression (same row order), to fill
            the ``value`` column; the attack never reads it.
        exact: attack every cell on its own even when the solutions already found show it
            wide enough (slower; ``lower``/``upper`` are then the exact bounds for every cell).
        traced: how many recovered cells get their route traced (each costs a dozen linear
            programs); later ones say :data:`ROUTE_UNNAMED`. Whether a cell is protected is
            decided for every cell regardless.

    Returns:
        One row per suppressed count (and per base printed under the threshold), columns
        :data:`ATTACK_COLUMNS`: the table, row (0-based), the cell's key columns, ``measure``
        (the count column), ``value`` (true value if ``truth`` is given, else NaN), ``lower``,
        ``upper``, ``width``, ``protected`` (the module's rule) and ``route`` (plain words; empty
        when protected).
    """
    specs = RELEASE_TABLES if specs is None else specs
    hierarchy = tables.get(HIERARCHY_TABLE)
    hierarchy = pd.DataFrame() if hierarchy is None else hierarchy
    system, targets, small = _read_tables(tables, specs, hierarchy, threshold)
    rows = [_row(cell, truth, system.known[cell.var][0], system.known[cell.var][0], False,
                 ROUTE_PUBLISHED) for cell in small]  # fmt: skip
    limits: dict[int, int] = {}
    for cell in targets:
        if cell.var not in system.known and cell.var not in system.zero:
            limits[cell.var] = max(limits.get(cell.var, 1), cell.limit)
    results: dict[int, tuple[float, float, str]] = {}
    relaxed, budget = _inner(system), [traced]
    for block in _blocks(relaxed, set(limits)):
        results |= _attack_block(relaxed, block, limits, exact, budget)
    # Cells the relaxation leaves protected are attacked again with every relation.
    survivors = {v: limits[v] for v, (_, _, route) in results.items() if not route}
    for block in _blocks(system, set(survivors)):
        results |= _attack_block(system, block, survivors, exact, budget)
    for cell in targets:
        if cell.var in system.known:
            value, where = system.known[cell.var]
            rows.append(_row(cell, truth, value, value, False,
                             f"{ROUTE_ELSEWHERE} ('{where}')"))  # fmt: skip
        elif cell.var in system.zero:
            rows.append(_row(cell, truth, 0.0, 0.0, False, ROUTE_ZERO))
        else:
            lower, upper, route = results[cell.var]
            protected = not route and _protected(lower, upper, cell.limit)
            rows.append(_row(cell, truth, lower, upper, protected, route))
    frame = pd.DataFrame(rows, columns=list(ATTACK_COLUMNS))
    return frame.astype({"lower": "float64", "upper": "float64", "width": "float64",
                         "value": "float64", "protected": "bool"})  # fmt: skip


def _row(cell: _Cell, truth: Mapping[str, pd.DataFrame] | None, lower: float, upper: float,
         protected: bool, route: str) -> tuple[object, ...]:  # fmt: skip
    value = math.nan
    if truth is not None and cell.table in truth:
        raw = truth[cell.table][cell.measure].iloc[cell.row]
        value = math.nan if pd.isna(raw) else float(raw)
    keys = tuple(cell.keys.get(c) for c in KEY_COLUMNS)
    return (cell.table, cell.row, *keys, cell.measure, value, lower, upper, upper - lower,
            protected, route)  # fmt: skip


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
) -> pd.DataFrame:
    """Run :func:`attack`; raise if any cell is unprotected, else return the attack table.

    Raises:
        DisclosureError: ``disclosure.recoverable`` naming the first unprotected cell (table,
            row, key, measure, range, route) and how many there are; the whole attack table is
            in ``details["attack"]``.
    """
    result = attack(tables, threshold=threshold, specs=specs)
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
