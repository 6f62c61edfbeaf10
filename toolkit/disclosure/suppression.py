"""Disclosure control for results-bundle tables: primary and secondary suppression, audits.

Every published table is tidy: one row per cell (survey x cycle x region x indicator x dimension x
level x group), with a base column ``n`` (respondents answering, the group's base) and value
columns (counts, estimates, CIs, relative likelihoods ...). This module decides which rows are
suppressed; everything downstream obeys the ``suppressed`` / ``suppression_reason`` columns.

Rules (DOMAIN.md section 7):

* **Primary**: a row whose base is under ``policy.threshold`` (default 10, never below 5) is
  suppressed. A base of 0 reveals no one, but there is no estimate, so it is suppressed with a
  reason that says so; its value (0) is treated as known by any reader.
* **One system per release** (DESIGN.md decision 9): every count the release publishes is a
  variable, and everything a reader knows ties them: the groups of a partition add up to its
  total ("Prefer not to say" is a group; a table that omits groups has an unpublished
  remainder); ``parent = sum(children)`` along the hierarchy detailed -> grouped -> binary and
  an intersection's margins; England = the sum of its regions (``TableLayout.aggregate``); the
  same cell in linked tables, cycles and slices is one variable (:class:`Link`); an item's
  respondents in a group are at most the group's respondents (:class:`Bound`); counts within a
  base (events) add up over the same relations and never exceed it. A group a published
  partition does not list had no one in it, as any reader assumes. A total, parent or
  remainder nobody published is an unknown (with a slack wherever the true counts show a
  relation is an inequality, as for respondents without a region).
* **Protection rule**: an attacker bounds each hidden count by linear programming
  (non-negativity included). Every suppressed base, and every unpublished group count between
  1 and the threshold, must keep a feasible range at least ``threshold`` wide; every count
  within a suppressed base (events) must not be pinned.
* **Secondary**: while some hidden count is exposed, a published non-zero cell is suppressed:
  first the cheap rule (a relation with one hidden count pins it; the cell in most such
  relations, then the smallest count, then the cell key, so the result does not depend on row
  order), then, per independent block of hidden counts (a survey x cycle x item with England
  and its regions, ...), the exact linear-programming ranges, one complement per exposed block
  per round. A cell held by several rows (linked tables) is suppressed in all of them.
* **Comparisons**: a row whose reference group is suppressed keeps its own estimate but loses
  every comparison value (RL, difference, test): the reference rate is recoverable from them.
* **Rounding** (optional, on ``count_cols`` after suppression): ``nhs_digital`` shows counts 1-7
  as missing ("*") and rounds the rest to the nearest 5; ``ons_10_5`` does the same for counts
  1-9. Zero stays zero.

``SuppressionPolicy.secondary=False`` exists so tests can show that primary suppression alone
leaks; :func:`audit_disclosure` finds that leak with the same system (a self-check), and the
independent auditor :mod:`toolkit.disclosure.audit`, which shares no code with this module,
attacks every release before it is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components
from threadpoolctl import threadpool_limits

from toolkit.errors import DisclosureError

Rounding = Literal["none", "nhs_digital", "ons_10_5"]

MIN_THRESHOLD = 5
TOTAL_GROUP = "All respondents"
DEFAULT_PARTITION_COLS = ("survey", "cycle", "region", "indicator", "dimension", "level")
DEFAULT_COMPARISON_COLS = (
    "reference_estimate",
    "rel_likelihood",
    "rl_ci_low",
    "rl_ci_high",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "statistic",
    "dof",
    "p_value",
    "p_adjusted",
    "outside_band",
)
AUDIT_COLUMNS = ("table", "row", "column", "value", "problem")

REASON_ZERO = "primary: no respondents (a base of 0 reveals no one, but there is no estimate)"
REASON_BASE_MISSING = "primary: base not known"
REASON_SECONDARY = "secondary: protects a suppressed cell in the same table"
REASON_REFERENCE = "comparison withheld: the reference group is suppressed"

_ROUNDING_LIMIT = {"nhs_digital": 8, "ons_10_5": 10}
_ROUNDING_LABEL = {"nhs_digital": "NHS Digital style", "ons_10_5": "ONS 10-5 rule"}
_SCOUTS = 4
"""Random-objective programmes solved first to find wide ranges cheaply."""
_TOLERANCE = 1e-6
"""Slack for comparing linear-programming bounds with the threshold."""


def primary_reason(threshold: int) -> str:
    """The reason written on a row whose base is under ``threshold``."""
    return f"primary: fewer than {threshold} respondents"


def linked_reason(table: str) -> str:
    """The reason written on a row suppressed because the same cell is suppressed in ``table``."""
    return f"secondary: the same cell is suppressed in linked table '{table}'"


@dataclass(frozen=True)
class SuppressionPolicy:
    """How small cells are protected.

    Attributes:
        threshold: minimum base for a published row (default 10; below 5 is refused).
        rounding: ``"none"``, ``"nhs_digital"`` (1-7 shown as "*", others to the nearest 5) or
            ``"ons_10_5"`` (under 10 shown as "*", others to the nearest 5), on count columns.
        secondary: complementary suppression. Leave it on: ``False`` is for tests that show
            primary suppression alone leaks. The audit refuses any leaking output anyway.
    """

    threshold: int = 10
    rounding: Rounding = "none"
    secondary: bool = True

    def __post_init__(self) -> None:
        if int(self.threshold) < MIN_THRESHOLD:
            raise DisclosureError(
                code="disclosure.threshold_too_low",
                message="the suppression threshold is below the minimum group size",
                column="threshold",
                value=self.threshold,
                expected=f"an integer of at least {MIN_THRESHOLD}",
                fix=f"set the suppression threshold to {MIN_THRESHOLD} or more (default 10)",
            )
        if self.rounding not in get_args(Rounding):
            raise DisclosureError(
                code="disclosure.unknown_rounding",
                message="unknown count rounding policy",
                column="rounding",
                value=self.rounding,
                expected=" or ".join(get_args(Rounding)),
                fix='use "none", "nhs_digital" or "ons_10_5"',
            )


@dataclass(frozen=True)
class TableLayout:
    """Which columns of a table play which role. Columns absent from a table are ignored.

    Attributes:
        base_col: the group's base (respondents answering, headcount, starters ...).
        group_col: the group label; ``total_group`` marks the population total row.
        partition_cols: columns whose values define a partition: the groups of one partition
            (plus "Prefer not to say") add up to the population total.
        population_cols: columns that identify a population (who was asked); default the
            partition columns without ``dimension_col`` and ``level_col``.
        dimension_col, level_col: used with a hierarchy.
        value_cols: columns blanked in a suppressed row; default every numeric or boolean
            column that does not identify the row.
        count_cols: columns rounded under a rounding policy (counts tables).
        reference_col: the reference group of a comparison row.
        comparison_cols: blanked when the reference group is suppressed; default the
            comparison columns of DESIGN.md decision 4 present in the table.
        key_cols: further identifying columns that must never be blanked (e.g. ``time``).
        complete: whether every partition lists all its groups (with "Prefer not to say"),
            so that they add up to the total. Set ``False`` for a table that republishes a
            subset of another table's cells (e.g. comparisons without "Prefer not to say")
            and link it to that table: its own partitions are then never treated as sums.
        aggregate: ``(column, whole)``: a row whose ``column`` is ``whole`` is the sum of the
            same cell over the column's other values (England = the sum of its regions).
        within_cols: counts within the base (events) that add up over the same relations;
            a suppressed row's counts must not be pinned either.
    """

    base_col: str = "n"
    group_col: str = "group"
    partition_cols: tuple[str, ...] = DEFAULT_PARTITION_COLS
    population_cols: tuple[str, ...] | None = None
    dimension_col: str = "dimension"
    level_col: str = "level"
    total_group: str = TOTAL_GROUP
    value_cols: tuple[str, ...] | None = None
    count_cols: tuple[str, ...] = ()
    reference_col: str = "reference_group"
    comparison_cols: tuple[str, ...] | None = None
    key_cols: tuple[str, ...] = ()
    complete: bool = True
    aggregate: tuple[str, object] | None = None
    within_cols: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """Rows of ``tables`` whose values agree on ``on`` are one cell: suppressed in all or none."""

    tables: tuple[str, ...]
    on: tuple[str, ...]


@dataclass(frozen=True)
class Bound:
    """Rows of ``smaller`` count a subset of the people in the row of ``larger`` that agrees on
    ``on`` (an item's respondents in a group are among the group's respondents): a reader
    knows ``smaller <= larger``, and the difference is an unpublished count."""

    smaller: str
    larger: str
    on: tuple[str, ...]


@dataclass(frozen=True)
class _Columns:
    """A :class:`TableLayout` resolved against one table's columns."""

    base: str
    group: str
    partition: tuple[str, ...]
    population: tuple[str, ...]
    dimension: str | None
    level: str | None
    total_group: str
    values: tuple[str, ...]
    counts: tuple[str, ...]
    reference: str | None
    comparisons: tuple[str, ...]
    complete: bool
    aggregate: tuple[str, object] | None
    within: tuple[str, ...]


def _holds_numbers(column: pd.Series) -> bool:
    """Numeric or boolean, or text-typed (object) but holding only numbers and blanks: a
    count that arrived as ``object`` after a concat must be blanked like any other number."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return True
    if column.dtype != object:
        return False
    present = column.dropna()
    return (
        not present.empty
        and present.map(lambda v: isinstance(v, (int, float, np.number, bool))).all()
    )


def _resolve(layout: TableLayout, table: pd.DataFrame) -> _Columns:
    """Resolve ``layout`` against ``table``: keep present columns, fill defaults."""
    present = set(table.columns)
    for required in (layout.base_col, layout.group_col):
        if required not in present:
            raise DisclosureError(
                code="disclosure.missing_column",
                message="a table passed to disclosure control lacks a required column",
                column=required,
                expected=f"columns {layout.base_col!r} and {layout.group_col!r}",
                fix="name the base and group columns with base_col= and group_col=",
            )
    partition = tuple(c for c in layout.partition_cols if c in present)
    dims = {layout.dimension_col, layout.level_col}
    population = tuple(
        c
        for c in (layout.population_cols or tuple(c for c in partition if c not in dims))
        if c in present
    )
    reference = layout.reference_col if layout.reference_col in present else None
    identifying = {*partition, *population, layout.group_col, *layout.key_cols}
    identifying |= {reference, "is_reference", "suppressed"}
    values = layout.value_cols or tuple(
        c for c in table.columns if c not in identifying and _holds_numbers(table[c])
    )
    comparisons = layout.comparison_cols or DEFAULT_COMPARISON_COLS
    return _Columns(
        base=layout.base_col,
        group=layout.group_col,
        partition=partition,
        population=population,
        dimension=layout.dimension_col if layout.dimension_col in partition else None,
        level=layout.level_col if layout.level_col in partition else None,
        total_group=layout.total_group,
        values=tuple(c for c in values if c in present),
        counts=tuple(c for c in layout.count_cols if c in present),
        reference=reference,
        comparisons=tuple(c for c in comparisons if c in present) if reference else (),
        complete=layout.complete,
        aggregate=layout.aggregate,
        within=tuple(c for c in layout.within_cols if c in present),
    )


def _key_frame(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """:func:`_key` of every row of ``frame`` (vectorised)."""
    values = frame.astype(object).to_numpy()
    values[pd.isna(values)] = None
    return [tuple(row) for row in values]


def _key(values: Iterable[object]) -> tuple[object, ...]:
    """A hashable key with every missing value as ``None`` (NaN never equals itself)."""
    return tuple(None if pd.isna(v) else v for v in values)


# --- the release as one system of additive relations -------------------------------------------

_TOTAL = "__population_total__"
_UNLISTED = "__groups_not_listed__"
_SLACK = "__slack__"

CELL, GROUP_AUX, SLACK_AUX, WITHIN = 0, 1, 2, 3
"""Kinds of variable: a published cell's base; an unpublished group count (a total or parent
nobody published, or the groups a partition does not list), which must not be pinned when it is
small; an unpublished slack (item non-response, respondents without a region), which is no
group; a count within a cell's base (its events), which must never be pinned when hidden."""

_Node = tuple[object, ...]
_VarKey = tuple[object, ...]


@dataclass(frozen=True)
class _Hierarchy:
    """A dimension hierarchy as lookups on (dimension, level, group) nodes.

    Attributes:
        parents: node -> its parents (two for an intersection cell: one per margin).
        children: (parent node, (child dimension, child level)) -> all its children at that
            dimension and level. A parent can be split several ways (White -> British, Irish
            ...; and an intersection's margin -> its cells).
    """

    parents: dict[_Node, list[_Node]] = field(default_factory=dict)
    children: dict[tuple[_Node, tuple[object, object]], list[_Node]] = field(default_factory=dict)


def _read_hierarchy(hierarchy: pd.DataFrame | None) -> _Hierarchy:
    """Read ``dimension, level, group, parent_level, parent_group`` [``parent_dimension``]."""
    tree = _Hierarchy()
    if hierarchy is None or hierarchy.empty:
        return tree
    parent_dim = hierarchy.get("parent_dimension", hierarchy["dimension"])
    columns = ["dimension", "level", "group", "parent_level", "parent_group"]
    for (dim, level, group, p_level, p_group), p_dim in zip(
        hierarchy[columns].to_numpy(dtype=object), parent_dim, strict=True
    ):
        child, parent = _key((dim, level, group)), _key((p_dim, p_level, p_group))
        if parent not in tree.parents.get(child, []):
            tree.parents.setdefault(child, []).append(parent)
            tree.children.setdefault((parent, child[:2]), []).append(child)
    return tree


@dataclass
class _System:
    """Every count of a release as variables tied by relations ``sum(coef * x) = 0``.

    Attributes:
        keys: the variable's key (table, partition values, group).
        kind: :data:`CELL`, :data:`GROUP_AUX` or :data:`SLACK_AUX` per variable.
        value: its true value (NaN where not known, e.g. a base missing from the table).
        rows: per variable, the (table, row position) pairs that publish it.
        matrix: relations x variables (CSR).
    """

    keys: list[_VarKey] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    rows: list[list[tuple[str, int]]] = field(default_factory=list)
    index: dict[_VarKey, int] = field(default_factory=dict)
    relations: list[dict[int, float]] = field(default_factory=list)
    matrix: sparse.csr_matrix | None = None
    owner: list[int] = field(default_factory=list)

    def var(self, key: _VarKey, kind: int, value: float = np.nan) -> int:
        """The variable of ``key``, created if new."""
        if key not in self.index:
            self.index[key] = len(self.keys)
            self.keys.append(key)
            self.kind.append(kind)
            self.value.append(value)
            self.rows.append([])
            self.owner.append(-1)
        return self.index[key]

    def relate(self, parent: int, children: Iterable[int]) -> None:
        """Record ``parent = sum(children)`` (a variable listed twice counts once)."""
        terms: dict[int, float] = {parent: 1.0}
        for child in dict.fromkeys(children):
            terms[child] = terms.get(child, 0.0) - 1.0
        terms = {v: c for v, c in terms.items() if c != 0.0}
        if len(terms) > 1:
            self.relations.append(terms)


class _UnionFind:
    """Which table rows hold the same count (through links)."""

    def __init__(self) -> None:
        self.parent: dict[_VarKey, _VarKey] = {}

    def find(self, key: _VarKey) -> _VarKey:
        root = key
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while key != root:
            key, self.parent[key] = self.parent.get(key, key), root
        return root

    def union(self, a: _VarKey, b: _VarKey) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb, key=repr)] = min(ra, rb, key=repr)


def _cell_key(name: str, cols: _Columns, values: Sequence[object]) -> _VarKey:
    """Key of a row from its partition values and group (a total row: inner values None)."""
    *part, group = values
    if group == cols.total_group:
        part = [
            v if c in cols.population else None for c, v in zip(cols.partition, part, strict=True)
        ]
        group = _TOTAL
    return (name, tuple(part), group)


def _row_keys(state: _State) -> list[_VarKey]:
    """The cell key of every row of a table."""
    cols = state.cols
    return [
        _cell_key(state.name, cols, values)
        for values in _key_frame(state.table[[*cols.partition, cols.group]])
    ]


def _table_relations(
    system: _System, state: _State, keys: Sequence[_VarKey], find: _UnionFind, tree: _Hierarchy
) -> None:
    """Partition, hierarchy and aggregate (England = sum of regions) relations of one table.

    A group absent from a partition that lists others had no one in it (as any reader
    assumes): it takes no part. A total or parent nobody published is an unknown group count.
    """
    cols = state.cols
    name = state.name

    def var(key: _VarKey) -> int:
        return system.var(find.find(key), GROUP_AUX)

    dim_at = cols.partition.index(cols.dimension) if cols.dimension else None
    lvl_at = cols.partition.index(cols.level) if cols.level else None
    members: dict[tuple[object, ...], list[_VarKey]] = {}
    for key in dict.fromkeys(keys):
        if key[2] != _TOTAL:
            members.setdefault(key[1], []).append(key)
    published = set(keys)
    for part, cells in members.items():
        total = tuple(
            v if c in cols.population else None for c, v in zip(cols.partition, part, strict=True)
        )
        children = [var(k) for k in cells]
        if not cols.complete:
            children.append(var((name, part, _UNLISTED)))
        system.relate(var((name, total, _TOTAL)), children)
    if dim_at is not None and lvl_at is not None:
        reached = set()
        pending = [k for k in dict.fromkeys(keys) if k[2] != _TOTAL]
        while pending:
            key = pending.pop()
            node = (key[1][dim_at], key[1][lvl_at], key[2])
            for parent in tree.parents.get(node, []):

                def at(n: _Node, like: _VarKey = key) -> _VarKey:
                    part = list(like[1])
                    part[dim_at], part[lvl_at] = n[0], n[1]
                    return (name, tuple(part), n[2])

                split = (at(parent), node[:2])
                if split in reached:
                    continue
                reached.add(split)
                kids = [at(c) for c in tree.children[(parent, node[:2])]]
                system.relate(
                    var(at(parent)),
                    [var(k) for k in kids if k in published or k[1] not in members],
                )
                pending.append(at(parent))
    if cols.aggregate is not None and cols.aggregate[0] in cols.partition:
        at, whole = cols.partition.index(cols.aggregate[0]), cols.aggregate[1]
        table_keys = [k for k in system.keys if k[0] == name]
        parts = {k[1][at] for k in table_keys if k[1][at] is not None} - {whole}
        for key in table_keys:
            if key[1][at] != whole:
                continue
            pieces = []
            for part_value in sorted(parts, key=repr):
                other = list(key[1])
                other[at] = part_value
                other_key = (name, tuple(other), key[2])
                if find.find(other_key) in system.index:
                    pieces.append(system.index[find.find(other_key)])
            slack = system.var((name, key[1], key[2], _SLACK), SLACK_AUX)
            system.relate(system.index[key], [*pieces, slack])


def _build_system(
    states: Mapping[str, _State],
    links: Sequence[Link],
    bounds: Sequence[Bound],
    hierarchy: pd.DataFrame | None,
) -> tuple[_System, dict[str, np.ndarray]]:
    """The release's system over the bases and every count within them (events), tied by
    ``base = count + the rest``; and for each table the base variable of each row."""
    tree = _read_hierarchy(hierarchy)
    system, row_var = _build_measure(states, links, bounds, tree)
    for v in range(len(system.keys)):
        system.owner[v] = v if system.kind[v] == CELL else -1
    measures = dict.fromkeys(c for state in states.values() for c in state.cols.within)
    for measure in measures:
        having = {
            name: _measure_state(state, measure)
            for name, state in states.items()
            if measure in state.cols.within
        }
        inner = [Link(tuple(t for t in link.tables if t in having), link.on) for link in links]
        sub, sub_rows = _build_measure(having, inner, (), tree)
        offset = len(system.keys)
        for v, key in enumerate(sub.keys):
            new = system.var((measure, key), WITHIN if sub.kind[v] == CELL else sub.kind[v])
            system.value[new] = sub.value[v]
            system.rows[new] = sub.rows[v]
        system.relations += [{v + offset: c for v, c in t.items()} for t in sub.relations]
        pairs = {
            (int(row_var[name][row]), int(sub_rows[name][row]) + offset)
            for name in having
            for row in range(len(row_var[name]))
        }
        for base, count in sorted(pairs):
            system.owner[count] = base
            rest = system.var(
                (measure, _SLACK, base), SLACK_AUX, system.value[base] - system.value[count]
            )
            system.relate(base, [count, rest])
    system.matrix = _matrix(system)
    return system, row_var


def _measure_state(state: _State, measure: str) -> _State:
    """A table's state with a count within the base in place of the base."""
    values = np.where(state.zero, 0.0, _numbers(state.table[measure]))
    return _State(state.name, state.table, state.cols, values, state.suppressed, state.reason)


def _matrix(system: _System) -> sparse.csr_matrix:
    """The relations as a sparse matrix (relations x variables)."""
    data, rows, cols = [], [], []
    for r, terms in enumerate(system.relations):
        for v, c in terms.items():
            rows.append(r)
            cols.append(v)
            data.append(c)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(system.relations), len(system.keys)))


def _build_measure(
    states: Mapping[str, _State],
    links: Sequence[Link],
    bounds: Sequence[Bound],
    tree: _Hierarchy,
) -> tuple[_System, dict[str, np.ndarray]]:
    """The system of one measure (the base, or one count within it) over ``states``."""
    find = _UnionFind()
    keys = {name: _row_keys(state) for name, state in states.items()}
    for link in links:
        first: dict[tuple[object, ...], _VarKey] = {}
        for name in link.tables:
            for row_key, key in zip(_link_keys(states[name], link.on), keys[name], strict=True):
                find.union(first.setdefault(row_key, key), key)
    system = _System()
    row_var: dict[str, np.ndarray] = {}
    for name, state in states.items():
        ids = np.empty(len(keys[name]), dtype=int)
        zero = state.zero
        for row, key in enumerate(keys[name]):
            v = system.var(find.find(key), CELL)
            system.kind[v] = CELL
            base = 0.0 if zero[row] else state.base[row]
            if np.isnan(system.value[v]) and not np.isnan(base):
                system.value[v] = float(base)
            system.rows[v].append((name, row))
            ids[row] = v
        row_var[name] = ids
    for name, state in states.items():
        _table_relations(system, state, keys[name], find, tree)
    for bound in bounds:
        large = dict(
            zip(_link_keys(states[bound.larger], bound.on), row_var[bound.larger], strict=True)
        )
        pairs = {
            (int(v), large[k])
            for k, v in zip(
                _link_keys(states[bound.smaller], bound.on), row_var[bound.smaller], strict=True
            )
            if k in large
        }
        for small, big in sorted(pairs):
            slack = system.var((bound.smaller, system.keys[small], _SLACK), SLACK_AUX)
            system.relate(big, [small, slack])
    _propagate(system)
    return system, row_var


def _propagate(system: _System) -> None:
    """Fill the true value of unpublished variables from relations where it is the only
    unknown. A relation the true values break is an inequality in this release (an
    intersection's margin also counts people who left the other dimension blank): the
    difference becomes an unpublished slack; one broken the other way is dropped."""
    value = system.value
    open_relations = [t for t in system.relations if any(math.isnan(value[v]) for v in t)]
    changed = True
    while changed:
        changed = False
        for terms in open_relations:
            unknown = [v for v in terms if math.isnan(value[v])]
            if len(unknown) == 1 and system.kind[unknown[0]] != CELL:
                u = unknown[0]
                rest = sum(c * value[v] for v, c in terms.items() if v != u)
                value[u] = -rest / terms[u]
                changed = True
    holds = []
    for terms in system.relations:
        if any(math.isnan(value[v]) for v in terms):
            holds.append(terms)
            continue
        residual = sum(c * value[v] for v, c in terms.items())
        if abs(residual) < 0.5:
            holds.append(terms)
        elif residual > 0:
            slack = system.var((_SLACK, len(system.keys)), SLACK_AUX, residual)
            holds.append({**terms, slack: -1.0})
    system.relations = holds


def _components(
    matrix: sparse.csr_matrix, hidden: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Connected groups of hidden variables (through relations), as (variables, labels, count)."""
    sub = matrix[:, hidden].tocsc()
    touched = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
    incidence = (sub[touched] != 0).astype(np.int8)
    n_vars = incidence.shape[1]
    graph = sparse.bmat([[None, incidence.T], [incidence, None]]).tocsr()
    count, labels = connected_components(graph, directed=False)
    return np.flatnonzero(hidden), labels[:n_vars], count


@dataclass
class _Ranges:
    """What an attacker with linear programming learns about the hidden variables."""

    low: np.ndarray
    high: np.ndarray
    exact: np.ndarray


def _solve(
    matrix: sparse.csr_matrix,
    known: np.ndarray,
    values: np.ndarray,
    variables: np.ndarray,
    objective: np.ndarray,
    upper: float,
) -> np.ndarray:
    """A vertex minimising ``objective`` over the hidden ``variables`` (x >= 0, relations hold
    with the known variables at their values)."""
    sub = matrix[:, variables]
    used = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
    rhs = -(matrix[used][:, known] @ values[known])
    result = linprog(
        objective,
        A_eq=sub[used],
        b_eq=rhs,
        bounds=(0, upper),
        method="highs",
    )
    if result.status != 0:
        raise DisclosureError(
            code="disclosure.inconsistent_release",
            message="the published counts of the release do not fit together",
            fix="check that the tables passed to disclosure control come from one analysis",
        )
    return result.x


def _exposed(
    system: _System,
    hidden: np.ndarray,
    need: np.ndarray,
    *,
    first_only: bool = True,
    wide: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hidden variables an attacker pins to a range narrower than they ``need``.

    Blocks of hidden variables tied by relations are independent, so one linear programme
    solves one question for each block at once (its objective is a sum over blocks). Every
    solution is a feasible point, so a variable whose range seen so far is already wide
    enough needs no programme of its own: in the first round, when many variables wait, a few
    programmes with random objectives (seeded, so the result is deterministic) first spread
    such points over every block.

    Variables are taken in the order of their keys, so the result does not depend on the
    order of rows. Returns the exposed variables (with ``first_only``, at most one per block,
    the first by key), the block
    label of every variable (-1 if not hidden) and the lowest and highest values seen (the
    attacker's exact bounds for the exposed variables). ``wide`` marks variables already
    shown to have a wide enough range (hiding more cells only widens ranges); it is updated.
    """
    matrix = system.matrix
    value = np.asarray(system.value, dtype=float)
    known = ~hidden
    known_values = np.where(known, np.nan_to_num(value), 0.0)
    if not ((need > 0) & hidden).any():
        empty = np.array([], dtype=int)
        return empty, np.full(len(value), -1), value.copy(), value.copy()
    rank = np.argsort(np.argsort([repr(k) for k in system.keys], kind="stable"))
    variables, labels, count = _components(matrix, hidden)
    block = np.full(len(value), -1)
    block[variables] = labels
    low = np.where(hidden, value, np.nan)
    high = low.copy()
    upper = 4.0 * float(np.nanmax(np.abs(value), initial=1.0)) + 10.0
    todo = (need > 0) & hidden
    if wide is not None:
        todo &= ~wide
    exposed: list[int] = []
    done_block = np.zeros(count, dtype=bool)
    with threadpool_limits(1):
        pending = todo & (block >= 0) & ~((high - low) >= need - _TOLERANCE)
        first_round = wide is None or not wide.any()
        if first_round and pending.sum() > 4 * _SCOUTS:
            cols = np.flatnonzero(np.isin(block, np.unique(block[pending])) & hidden)
            rng = np.random.default_rng(0)
            for _ in range(_SCOUTS):
                point = _solve(matrix, known, known_values, cols, rng.normal(size=len(cols)), upper)
                low[cols] = np.fmin(low[cols], point)
                high[cols] = np.fmax(high[cols], point)
        while True:
            seen_wide = (high - low) >= need - _TOLERANCE
            if wide is not None:
                wide |= seen_wide & hidden
            pending = todo & ~seen_wide & (block >= 0)
            pending &= ~done_block[np.maximum(block, 0)]
            if not pending.any():
                break
            # one variable per block
            candidates = np.flatnonzero(pending)
            candidates = candidates[np.argsort(rank[candidates], kind="stable")]
            _, first = np.unique(block[candidates], return_index=True)
            chosen = candidates[first]
            in_play = np.isin(block, block[chosen]) & hidden
            cols = np.flatnonzero(in_play)
            position = {v: i for i, v in enumerate(cols)}
            objective = np.zeros(len(cols))
            objective[[position[v] for v in chosen]] = 1.0
            points = [
                _solve(matrix, known, known_values, cols, sign * objective, upper)
                for sign in (1.0, -1.0)
            ]
            for point in points:
                low[cols] = np.fmin(low[cols], point)
                high[cols] = np.fmax(high[cols], point)
            idx = [position[v] for v in chosen]
            width = points[1][idx] - points[0][idx]
            todo[chosen] = False
            for v, w in zip(chosen, width, strict=True):
                if w < need[v] - _TOLERANCE:
                    exposed.append(int(v))
                    done_block[block[v]] = first_only
    return np.array(sorted(exposed, key=lambda v: rank[v]), dtype=int), block, low, high


def _hidden_mask(system: _System, suppressed_var: np.ndarray) -> np.ndarray:
    """Variables an attacker does not see: suppressed cells and every unpublished count, except
    counts known to be 0 (a zero reveals no one; an unpublished 0 is treated as known, which
    errs on the safe side)."""
    value = np.asarray(system.value, dtype=float)
    kind = np.asarray(system.kind)
    owner = np.asarray(system.owner)
    hidden = np.where(kind == CELL, suppressed_var | np.isnan(value), True) & (value != 0)
    within = np.flatnonzero(kind == WITHIN)
    hidden[within] = hidden[owner[within]]
    return hidden


def _required(system: _System, hidden: np.ndarray, threshold: int) -> np.ndarray:
    """The width each hidden variable's range must keep (0: none): ``threshold`` for every
    hidden published base and every unpublished group count under the threshold; 1 (never
    pinned) for every hidden count within a base."""
    value = np.asarray(system.value, dtype=float)
    kind = np.asarray(system.kind)
    small_group = (kind == GROUP_AUX) & (value > 0) & (value < threshold)
    need = np.where(((kind == CELL) & (value > 0)) | small_group, float(threshold), 0.0)
    need[kind == WITHIN] = 1.0
    return np.where(hidden, need, 0.0)


def _determined_alone(system: _System, hidden: np.ndarray) -> dict[int, int]:
    """Hidden variables that are the only hidden one in some relation -> that relation."""
    sub = system.matrix[:, hidden] != 0
    counts = np.asarray(sub.sum(axis=1)).ravel()
    found: dict[int, int] = {}
    hidden_ids = np.flatnonzero(hidden)
    lone = sub[counts == 1].tocoo()
    lone_rows = np.flatnonzero(counts == 1)
    for r, c in zip(lone.row, lone.col, strict=True):
        found.setdefault(int(hidden_ids[c]), int(lone_rows[r]))
    return found


@dataclass(frozen=True)
class _Lookup:
    """Per-variable arrays the complement choice reads (fixed for a release)."""

    holding: list[list[int]]
    value: np.ndarray
    owner: np.ndarray
    cell_base: np.ndarray

    @classmethod
    def of(cls, system: _System) -> _Lookup:
        holding: list[list[int]] = [[] for _ in system.keys]
        for r, terms in enumerate(system.relations):
            for v in terms:
                holding[v].append(r)
        value = np.asarray(system.value, dtype=float)
        kind = np.asarray(system.kind)
        owner = np.asarray(system.owner)
        base = np.where(owner >= 0, value[np.maximum(owner, 0)], np.nan)
        cell_base = np.where((kind == CELL) | (kind == WITHIN), base, np.nan)
        return cls(holding, value, owner, cell_base)


def _complement(
    system: _System,
    look: _Lookup,
    hidden: np.ndarray,
    exposed: int,
    block: np.ndarray | None,
) -> int | None:
    """The published non-zero cell to suppress next for ``exposed``.

    From the relations holding ``exposed``: the cell in most relations where it is the only
    hidden variable (one cell of each such relation must go), then in the relation with
    fewest hidden variables, then the smallest count, then the key, so the choice does not
    depend on row order; failing those, from the relations of its block.
    """
    value, owner, holding = look.value, look.owner, look.holding

    def best(relations: np.ndarray) -> int | None:
        score: dict[int, list[float]] = {}
        for r in relations:
            terms = system.relations[r]
            n_hidden = sum(bool(hidden[v]) for v in terms)
            for v in terms:
                if not hidden[v] and look.cell_base[v] > 0:
                    entry = score.setdefault(int(owner[v]), [0.0, np.inf])
                    entry[0] -= n_hidden == 1
                    entry[1] = min(entry[1], n_hidden)
        if not score:
            return None
        return min(score, key=lambda v: (*score[v], value[v], repr(system.keys[v])))

    chosen = best(np.asarray(holding[exposed]))
    if chosen is None and block is not None:
        members = np.flatnonzero(block == block[exposed])
        chosen = best(np.unique([r for v in members for r in holding[v]]))
    return chosen


def _protect_release(
    system: _System, states: Mapping[str, _State], hidden: np.ndarray, threshold: int
) -> None:
    """Secondary suppression over the whole release until no required variable is pinned.

    First the cheap rule (a relation with one hidden variable pins it), then linear
    programming per block; each round suppresses one complement per exposed block.
    """
    look = _Lookup.of(system)
    within = np.asarray(system.kind) == WITHIN
    wide = np.zeros(len(hidden), dtype=bool)
    while True:
        required = _required(system, hidden, threshold)
        alone = {v: r for v, r in _determined_alone(system, hidden).items() if required[v] > 0}
        block = None
        if alone:
            exposed = sorted(alone, key=lambda v: repr(system.keys[v]))
        else:
            found, block, _, _ = _exposed(system, hidden, required, wide=wide)
            exposed = [int(v) for v in found]
        if not exposed:
            return
        chosen = set()
        for v in exposed:
            cell = _complement(system, look, hidden, v, block)
            if cell is None:
                raise DisclosureError(
                    code="disclosure.unprotectable",
                    message="a suppressed cell is fixed by zero or unpublished cells alone",
                    value=repr(system.keys[v]),
                    fix="check that the groups of each partition add up to its total; for a "
                    "table that omits groups, use TableLayout(complete=False)",
                )
            chosen.add(cell)
        for cell in chosen:
            hidden[cell] = True
            hidden[(look.owner == cell) & within] = True
            first = system.rows[cell][0][0]
            for name, row in system.rows[cell]:
                reason = REASON_SECONDARY if name == first else linked_reason(first)
                states[name].mark(np.array([row]), reason)


def _suppressed_vars(system: _System, states: Mapping[str, _State]) -> np.ndarray:
    """Per variable, whether any row holding it is suppressed."""
    flags = np.zeros(len(system.keys), dtype=bool)
    for v, rows in enumerate(system.rows):
        flags[v] = any(states[name].suppressed[row] for name, row in rows)
    return flags


def _spread_links(system: _System, states: Mapping[str, _State]) -> None:
    """Suppress every row holding a variable that is suppressed in some row."""
    for rows in system.rows:
        hidden = [(n, r) for n, r in rows if states[n].suppressed[r]]
        if hidden and len(hidden) < len(rows):
            source = hidden[0][0]
            for name, row in rows:
                states[name].mark(np.array([row]), linked_reason(source))


# --- table state and the suppression steps ----------------------------------------------------


@dataclass
class _State:
    """One table while it is being suppressed."""

    name: str
    table: pd.DataFrame
    cols: _Columns
    base: np.ndarray
    suppressed: np.ndarray
    reason: np.ndarray

    @property
    def zero(self) -> np.ndarray:
        """Rows whose base is known to be 0 (its value is public)."""
        return (self.base == 0) | (self.reason == REASON_ZERO)

    def mark(self, rows: np.ndarray, reason: str) -> bool:
        """Suppress ``rows`` not yet suppressed, with ``reason``; whether anything changed."""
        new = np.asarray(rows, dtype=int)
        new = new[~self.suppressed[new]]
        self.suppressed[new] = True
        self.reason[new] = reason
        return bool(len(new))


def _numbers(series: pd.Series) -> np.ndarray:
    """A column as floats, NaN where missing or not a number."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _observe(name: str, table: pd.DataFrame, layout: TableLayout) -> _State:
    """A table's state as it stands: rows flagged in a ``suppressed`` column are suppressed."""
    frame = table.reset_index(drop=True)
    cols = _resolve(layout, frame)
    base = _numbers(frame[cols.base])
    suppressed = np.zeros(len(frame), dtype=bool)
    reason = np.full(len(frame), None, dtype=object)
    if "suppressed" in frame.columns:
        suppressed = np.array(frame["suppressed"].fillna(False), dtype=bool)
        old = frame.get("suppression_reason", pd.Series(None, index=frame.index, dtype=object))
        reason = np.where(suppressed, old.fillna(REASON_SECONDARY).to_numpy(dtype=object), None)
    return _State(name, frame, cols, base, suppressed, reason)


def _start(
    name: str, table: pd.DataFrame, layout: TableLayout, policy: SuppressionPolicy
) -> _State:
    """Resolve the layout and apply primary suppression; rows already suppressed stay so."""
    state = _observe(name, table, layout)
    base = state.base
    state.mark(np.flatnonzero(base == 0), REASON_ZERO)
    state.mark(np.flatnonzero(np.isnan(base)), REASON_BASE_MISSING)
    state.mark(np.flatnonzero(base < policy.threshold), primary_reason(policy.threshold))
    return state


def _link_keys(state: _State, on: Sequence[str]) -> list[tuple[object, ...]]:
    """The link key of every row of a table."""
    missing = [c for c in on if c not in state.table.columns]
    if missing:
        raise DisclosureError(
            code="disclosure.bad_link",
            message=f"table {state.name!r} lacks a column named in a link",
            column=missing[0],
            fix="link tables only on columns they all have",
        )
    return _key_frame(state.table[list(on)])


# --- output: blanking, reference rule, rounding ----------------------------------------------


def _nullable(series: pd.Series) -> pd.Series:
    """Integer and boolean columns as pandas nullable dtypes, so they can hold NA."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if pd.api.types.is_integer_dtype(series):
        return series.astype("Int64")
    return series


def _reference_withheld(state: _State) -> np.ndarray:
    """Unsuppressed rows whose reference group (same partition) is suppressed."""
    cols = state.cols
    withheld = np.zeros(len(state.table), dtype=bool)
    if cols.reference is None or not cols.comparisons:
        return withheld
    parts = [_key(v) for v in state.table[list(cols.partition)].to_numpy()]
    hidden = {
        (part, group)
        for part, group, flag in zip(parts, state.table[cols.group], state.suppressed, strict=True)
        if flag
    }
    for row, (part, ref) in enumerate(zip(parts, state.table[cols.reference], strict=True)):
        withheld[row] = not state.suppressed[row] and (part, ref) in hidden
    return withheld


def _round_to_five(values: pd.Series, limit: int) -> tuple[pd.Series, np.ndarray]:
    """Counts 1..limit-1 become NA, others the nearest multiple of 5; and which were hidden."""
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
    small = ((numbers > 0) & (numbers < limit)).fillna(False).to_numpy(dtype=bool)
    rounded = (np.floor(numbers / 5 + 0.5) * 5).mask(small)
    if pd.api.types.is_integer_dtype(values):
        return rounded.astype("Int64"), small
    return rounded, small


def _apply_rounding(out: pd.DataFrame, state: _State, rounding: Rounding) -> np.ndarray:
    """Round the count columns in place; the rows where a count was shown as "*"."""
    hidden = np.zeros(len(out), dtype=bool)
    if rounding == "none":
        return hidden
    for col in state.cols.counts:
        out[col], small = _round_to_five(out[col], _ROUNDING_LIMIT[rounding])
        hidden |= small & ~state.suppressed
    return hidden


def _finish(state: _State, policy: SuppressionPolicy, index: pd.Index) -> pd.DataFrame:
    """The published table: blanked values, reasons, rounded counts, original index."""
    out = state.table.copy()
    withheld = _reference_withheld(state)
    for col in dict.fromkeys((*state.cols.values, *state.cols.comparisons, *state.cols.counts)):
        blank = state.suppressed if col in state.cols.values else np.zeros(len(out), dtype=bool)
        if col in state.cols.comparisons:
            blank = blank | withheld
        out[col] = _nullable(out[col]).mask(blank)
    reason = state.reason.copy()
    reason[withheld] = REASON_REFERENCE
    starred = _apply_rounding(out, state, policy.rounding)
    if starred.any():
        limit = _ROUNDING_LIMIT[policy.rounding]
        note = f"rounded: counts 1-{limit - 1} shown as * ({_ROUNDING_LABEL[policy.rounding]})"
        reason[starred] = [note if r is None else f"{r}; {note}" for r in reason[starred]]
    out["suppressed"] = state.suppressed
    out["suppression_reason"] = pd.Series(reason, dtype=object)
    out.index = index
    return out


# --- public API -------------------------------------------------------------------------------


def suppress_linked(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
    links: Sequence[Link] = (),
    bounds: Sequence[Bound] = (),
    hierarchy: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Suppress small cells jointly over every table of one release.

    Args:
        tables: name -> tidy table (see :class:`TableLayout` for the roles of columns).
        policy: threshold, rounding and secondary switch.
        layouts: name -> layout; a table without one uses ``TableLayout()``.
        links: cells shared between tables (e.g. the estimates and comparisons tables on
            survey, cycle, region, indicator, dimension, level, group).
        bounds: counts of a subset of another table's people (see :class:`Bound`).
        hierarchy: ``dimension, level, group, parent_level, parent_group`` [``parent_dimension``].

    Returns:
        name -> the table with value columns blanked (NA) in suppressed rows, count columns
        rounded under the policy, and two more columns: ``suppressed`` (bool) and
        ``suppression_reason`` (str or None). A cell held by linked rows is suppressed in all
        of them; secondary suppression runs over the whole release at once.
    """
    layouts = layouts or {}
    states = {
        name: _start(name, table, layouts.get(name, TableLayout()), policy)
        for name, table in tables.items()
    }
    system, _ = _build_system(states, links, bounds, hierarchy)
    _spread_links(system, states)
    if policy.secondary:
        hidden = _hidden_mask(system, _suppressed_vars(system, states))
        _protect_release(system, states, hidden, policy.threshold)
        _spread_links(system, states)
    return {name: _finish(states[name], policy, tables[name].index) for name in tables}


def suppress_small_cells(
    table: pd.DataFrame,
    *,
    policy: SuppressionPolicy,
    base_col: str = "n",
    group_col: str = "group",
    partition_cols: Sequence[str] = DEFAULT_PARTITION_COLS,
    population_cols: Sequence[str] | None = None,
    total_group: str = TOTAL_GROUP,
    value_cols: Sequence[str] | None = None,
    count_cols: Sequence[str] = (),
    key_cols: Sequence[str] = (),
    hierarchy: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Primary and secondary suppression of one table (see the module docstring for the rules).

    Returns the table with ``suppressed`` and ``suppression_reason`` columns added, every value
    column of a suppressed row blanked, comparison values withheld where the reference group is
    suppressed and count columns rounded under ``policy.rounding``.
    """
    layout = TableLayout(
        base_col=base_col,
        group_col=group_col,
        partition_cols=tuple(partition_cols),
        population_cols=None if population_cols is None else tuple(population_cols),
        total_group=total_group,
        value_cols=None if value_cols is None else tuple(value_cols),
        count_cols=tuple(count_cols),
        key_cols=tuple(key_cols),
    )
    return suppress_linked(
        {"table": table}, policy=policy, layouts={"table": layout}, hierarchy=hierarchy
    )["table"]


# --- audits -----------------------------------------------------------------------------------

_Finding = tuple[str, int, str, float, str]


def _audit_release(system: _System, states: Mapping[str, _State], threshold: int) -> list[_Finding]:
    """Hidden cells an attacker pins to a range narrower than ``threshold`` (by linear
    programming over the whole release), and unpublished group counts known to be between 1
    and the threshold."""
    kind = np.asarray(system.kind)
    hidden = _hidden_mask(system, _suppressed_vars(system, states))
    need = np.select([kind == WITHIN, (kind == CELL) | (kind == GROUP_AUX)], [1.0, threshold], 0.0)
    found, _, low, high = _exposed(system, hidden, np.where(hidden, need, 0.0), first_only=False)
    findings: list[_Finding] = []
    for v in found:
        where = system.rows[v][0] if system.rows[v] else (str(system.keys[v][0]), -1)
        if kind[v] == CELL and states[where[0]].suppressed[where[1]]:
            problem = "suppressed base pinned by the published cells"
        elif kind[v] == CELL:
            problem = "base not shown but pinned by the published cells"
        elif kind[v] == WITHIN:
            problem = f"{system.keys[v][0]} of a suppressed cell pinned by the published cells"
        elif low[v] >= 0.5 and high[v] < threshold:
            problem = "unpublished group count known to be small"
        else:
            continue
        column = states[where[0]].cols.base if where[0] in states else "n"
        column = str(system.keys[v][0]) if kind[v] == WITHIN else column
        problem += f" to [{low[v]:g}, {high[v]:g}], narrower than {threshold}"
        findings.append((where[0], where[1], column, float(low[v]), problem))
    return findings


def _audit_rows(state: _State, policy: SuppressionPolicy) -> list[_Finding]:
    """Row checks: small published bases, numbers left in suppressed rows, comparisons."""
    table, cols, findings = state.table, state.cols, []
    small = ~state.suppressed & (state.base > 0) & (state.base < policy.threshold)
    findings += [
        (state.name, int(r), cols.base, state.base[r], f"base under {policy.threshold} shown")
        for r in np.flatnonzero(small)
    ]
    checks = [(state.suppressed, cols.values, "number left in a suppressed row")]
    checks.append((_reference_withheld(state), cols.comparisons, REASON_REFERENCE + " but shown"))
    for rows, columns, problem in checks:
        for col in columns:
            shown = rows & table[col].notna().to_numpy(dtype=bool)
            findings += [
                (state.name, int(r), col, _as_float(table[col].iloc[r]), problem)
                for r in np.flatnonzero(shown)
            ]
    return findings


def _as_float(value: object) -> float:
    """A cell value as a float for the audit's ``value`` column (NaN if not numeric)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _audit_rounding(state: _State, rounding: Rounding) -> list[_Finding]:
    """Count columns that break the rounding policy in published rows."""
    if rounding == "none":
        return []
    limit, findings = _ROUNDING_LIMIT[rounding], []
    for col in state.cols.counts:
        values = _numbers(state.table[col])
        bad = ~state.suppressed & ~np.isnan(values)
        bad &= ((values > 0) & (values < limit)) | (np.mod(values, 5) != 0)
        findings += [
            (state.name, int(r), col, float(values[r]), f"count not rounded ({rounding})")
            for r in np.flatnonzero(bad)
        ]
    return findings


def _audit_link(states: Mapping[str, _State], link: Link) -> list[_Finding]:
    """Cells published in one linked table but suppressed in another."""
    keys = {name: _link_keys(states[name], link.on) for name in link.tables}
    hidden = {
        key: name
        for name in link.tables
        for key, flag in zip(keys[name], states[name].suppressed, strict=True)
        if flag
    }
    findings: list[_Finding] = []
    for name in link.tables:
        state = states[name]
        for row, key in enumerate(keys[name]):
            if key in hidden and hidden[key] != name and not state.suppressed[row]:
                problem = f"published here but suppressed in linked table '{hidden[key]}'"
                findings.append((name, row, state.cols.base, float(state.base[row]), problem))
    return findings


def _audit_table(state: _State, policy: SuppressionPolicy) -> list[_Finding]:
    """Every row check on one table."""
    return _audit_rows(state, policy) + _audit_rounding(state, policy.rounding)


def audit_disclosure(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
    links: Sequence[Link] = (),
    bounds: Sequence[Bound] = (),
    hierarchy: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check published tables for disclosure; an empty result means none was found.

    Finds: a table without a ``suppressed`` column; a published row whose base is under the
    threshold; any number left in a suppressed row; a comparison value shown against a
    suppressed reference group; a suppressed non-zero base that the published cells of its
    population determine (e.g. a partition with one suppressed cell and a known total); a base
    not shown in a published row but derivable and under the threshold; counts that break the
    rounding policy; a cell published in one linked table and suppressed in another. The same
    layouts, links and hierarchy as for :func:`suppress_linked` describe the tables.

    Returns:
        DataFrame with columns ``table`` (str), ``row`` (0-based position, -1 for the whole
        table), ``column``, ``value`` (float: the value seen or derived) and ``problem``.
    """
    layouts = layouts or {}
    findings: list[_Finding] = []
    states: dict[str, _State] = {}
    for name, table in tables.items():
        if "suppressed" not in table.columns:
            findings.append((name, -1, "suppressed", np.nan, "not passed through suppression"))
        states[name] = _observe(name, table, layouts.get(name, TableLayout()))
        findings += _audit_table(states[name], policy)
    for link in links:
        findings += _audit_link(states, link)
    system, _ = _build_system(states, links, bounds, hierarchy)
    findings += _audit_release(system, states, policy.threshold)
    return pd.DataFrame(findings, columns=list(AUDIT_COLUMNS)).astype(
        {"table": object, "row": "int64", "column": object, "value": "float64", "problem": object}
    )


def assert_no_disclosure(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
    links: Sequence[Link] = (),
    bounds: Sequence[Bound] = (),
    hierarchy: pd.DataFrame | None = None,
) -> None:
    """Raise :class:`DisclosureError` if :func:`audit_disclosure` finds anything.

    For the bundle writer and the report renderer: the error names the first finding and
    carries the whole audit table in ``details["audit"]``.
    """
    audit = audit_disclosure(
        tables, policy=policy, layouts=layouts, links=links, bounds=bounds, hierarchy=hierarchy
    )
    if audit.empty:
        return
    first = audit.iloc[0]
    raise DisclosureError(
        code="disclosure.leak",
        message=f"{len(audit)} disclosure problem(s); first in table {first['table']!r}: "
        f"{first['problem']}",
        row=int(first["row"]) + 1,
        column=str(first["column"]),
        value=None if np.isnan(first["value"]) else float(first["value"]),
        fix="run the tables through toolkit.disclosure.suppression.suppress_linked before publishing",
        details={"audit": audit},
    )


def audit_text(text: str, *, forbidden: Iterable[str]) -> list[str]:
    """The ``forbidden`` strings (e.g. suppressed values or labels) that occur in ``text``.

    A string matches only as a whole token: not inside a longer word or number, so ``"7"``
    is not found in ``"17"`` or ``"7.5"``.
    """
    found = []
    for item in forbidden:
        pattern = rf"(?<![\w.]){re.escape(item)}(?![\w]|\.\d)"
        if re.search(pattern, text):
            found.append(item)
    return found
