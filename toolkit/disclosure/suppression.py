"""Disclosure control for results-bundle tables: primary and secondary suppression, audits.

Every published table is tidy: one row per cell (survey x cycle x region x indicator x dimension x
level x group), with a base column ``n`` (respondents answering, the group's base) and value
columns (counts, estimates, CIs, relative likelihoods ...). This module decides which rows are
suppressed; everything downstream obeys the ``suppressed`` / ``suppression_reason`` columns.

Rules (DOMAIN.md section 7; issue 11: the release is one set of numbers, decided jointly):

* **Primary**: a row whose base is under ``policy.threshold`` (default 10, never below 5) is
  suppressed. A base of 0 reveals no one and is published as 0 (the analysis emits a zero row
  for every group of a level a slice lacks, :mod:`toolkit.analysis.levels`, so an absent row
  says nothing; a group still absent from a listed partition is read as a known zero here).
* **Relations**: the cells of one *block* (a population: survey, cycle, indicator ... over
  England and every region) are tied by additive relations: ``total = sum(groups of a
  partition)`` for every partition (dimension x level; a table that omits "Not stated" has an
  unlisted remainder), ``parent = sum(children)`` along the hierarchy detailed -> grouped ->
  binary (or an intersection's margins), and ``England = sum(regions)`` for every cell, total
  and parent. A total or parent that is not published is an unknown of the system.
* **Secondary**, block by block, in rounds: one null-space computation per connected
  component of the unknowns (:mod:`toolkit.disclosure.blocks`) finds every *determined*
  suppressed cell at once (the published cells pin it to one value). Then complements are
  added until (a) each determined cell has one added near it (in its relation with the fewest
  unknowns, else the nearest relation reached through unknowns), (b) in every relation that
  holds a suppressed cell under the threshold, the unknowns not pinned add up to at least the
  threshold (so its range can be that wide: "total minus what is listed" and "England minus
  the regions" give no narrow bound), and (c) no relation's unknowns all have a zero count
  within the base (events ...), which would pin each to zero. The complement chosen is the
  published cell serving the most such relations, then one that does not force a population
  total to be hidden, then one at least the threshold (its size is the range it gives), then
  the smallest base, then the cell key (row order never matters). Population totals are
  hidden only when nothing else protects. Rounds repeat until nothing is added. An unpublished
  variable whose true value is 0 (e.g. an item's unlisted "Not stated" where the response
  profile prints 0) counts as known: a reader can pin it.
* **Linked tables**: rows of different tables that agree on a :class:`Link`'s columns are the
  same cell; if one is suppressed all are (a one-way link: a group hidden in the response
  profile is hidden in every table counting its people, not the reverse). Links and secondary
  suppression are iterated to a fixed point.
* **Oracle** (optional ``attacker``): the independent auditor (:mod:`toolkit.disclosure.audit`,
  which this module never imports) attacks the result by linear programming; a cell it still
  pins (through a bound these rules do not model, e.g. an item's n at most the group's n) gets
  one more complement, and the rules and the attack repeat, up to :data:`ORACLE_ROUNDS` times.
* **Comparisons**: a row whose reference group is suppressed keeps its own estimate but loses
  every comparison value (RL, difference, test): the reference rate is recoverable from them.
* **Rounding** (optional, on ``count_cols`` after suppression): ``nhs_digital`` shows counts 1-7
  as missing ("*") and rounds the rest to the nearest 5; ``ons_10_5`` does the same for counts
  1-9. Zero stays zero.

``SuppressionPolicy.secondary=False`` exists so tests can show that primary suppression alone
leaks; :func:`audit_disclosure` (run whenever a bundle is written or a report rendered) finds an
exact recovery, and :func:`toolkit.disclosure.audit.attack` any bound narrower than the threshold,
so such an output is refused rather than published.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy.sparse import coo_array, csc_array, csr_array
from scipy.sparse.linalg import lsqr
from threadpoolctl import threadpool_limits

from toolkit.disclosure import blocks
from toolkit.errors import DisclosureError

Rounding = Literal["none", "nhs_digital", "ons_10_5"]

MIN_THRESHOLD = 5
NATIONAL = "England"
REGION_COL = "region"
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

REASON_BASE_MISSING = "primary: base not known"
REASON_SECONDARY = "secondary: protects a suppressed cell in the same table"
REASON_REFERENCE = "comparison withheld: the reference group is suppressed"

_ROUNDING_LIMIT = {"nhs_digital": 8, "ons_10_5": 10}
_ROUNDING_LABEL = {"nhs_digital": "NHS Digital style", "ons_10_5": "ONS 10-5 rule"}
_TOLERANCE = 1e-9


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
        within_cols: counts within the base (events ...): additive like the base, and a
            suppressed cell's count must not be pinned (e.g. to zero) either.
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
    within_cols: tuple[str, ...] = ("events",)


@dataclass(frozen=True)
class Link:
    """Rows of ``tables`` whose values agree on ``on`` are one cell: suppressed in all or none.

    With ``one_way``, a cell suppressed in the first table is suppressed in the others, not the
    reverse: the first table counts a group's people (the response profile) and the others
    count some of the same people (an item's respondents), so a hidden group must be hidden
    wherever it is counted, while an item's hidden cell is only bounded above by the group's
    published size, a bound no narrower than the threshold.
    """

    tables: tuple[str, ...]
    on: tuple[str, ...]
    one_way: bool = False


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
        within=tuple(c for c in layout.within_cols if c in present),
    )


def _key(values: Iterable[object]) -> tuple[object, ...]:
    """A hashable key with every missing value as ``None`` (NaN never equals itself)."""
    return tuple(None if pd.isna(v) else v for v in values)


def _keys(table: pd.DataFrame, columns: Sequence[str]) -> list[tuple[object, ...]]:
    """:func:`_key` of every row of ``table`` on ``columns`` (vectorised)."""
    frame = table[list(columns)].astype(object)
    return list(map(tuple, frame.where(frame.notna(), None).to_numpy(dtype=object)))


# --- the additive relations of one population ------------------------------------------------


@dataclass(frozen=True)
class _Population:
    """The additive relations among the cells of one block of a table.

    A block is a population (survey, cycle, indicator ...) over England and every region: the
    regional populations' relations plus ``England = sum of the regions`` for every cell.

    Attributes:
        cells: for each published cell (variable), the table row positions that hold it.
        keys: for each cell, its key (region, partition values, group) used for tie-breaks.
        matrix: relations x (cells + unpublished totals/parents), sparse; a relation reads
            ``parent - sum(children) = 0``. A group absent from a listed partition is a known
            zero and appears in no relation.
        by_var: the same matrix by columns (the relations of each variable).
        totals: which cells are population totals ("All respondents" rows).
        rows, starts: ``cells`` flattened, and where each cell's rows start in it.
    """

    cells: tuple[np.ndarray, ...]
    keys: tuple[str, ...]
    matrix: csr_array
    by_var: csc_array
    totals: np.ndarray
    rows: np.ndarray
    starts: np.ndarray

    @property
    def n_cells(self) -> int:
        """Number of published cells (the first columns of ``matrix``)."""
        return len(self.cells)


@dataclass
class _RelationBuilder:
    """Accumulates cells, unpublished variables and relations for one block."""

    cell_index: dict[tuple[object, ...], int] = field(default_factory=dict)
    cell_rows: list[list[int]] = field(default_factory=list)
    listed: set[tuple[object, ...]] = field(default_factory=set)
    hidden_index: dict[tuple[object, ...], int] = field(default_factory=dict)
    relations: list[tuple[tuple[object, ...], list[tuple[object, ...]]]] = field(
        default_factory=list
    )

    def add_row(self, key: tuple[object, ...], row: int) -> None:
        """Record that table row ``row`` holds cell ``key``."""
        if key not in self.cell_index:
            self.cell_index[key] = len(self.cell_rows)
            self.cell_rows.append([])
        self.cell_rows[self.cell_index[key]].append(row)

    def _column(self, key: tuple[object, ...]) -> int | None:
        """A cell's column (>= 0), an unpublished variable's (< 0), or ``None`` for a group
        absent from a partition the table lists: every reader knows it is zero."""
        if key in self.cell_index:
            return self.cell_index[key]
        if key[:-1] in self.listed and key[-1] != _UNLISTED:
            return None
        return -1 - self.hidden_index.setdefault(key, len(self.hidden_index))

    def build(self) -> _Population:
        """The block's cells and relation matrix (hidden variables after the cells)."""
        columns = [
            (self._column(parent), [self._column(child) for child in children])
            for parent, children in self.relations
        ]
        n_cells = len(self.cell_rows)
        data: list[float] = []
        rows: list[int] = []
        cols: list[int] = []
        for r, (parent, children) in enumerate(columns):
            for column, sign in ((parent, 1.0), *((child, -1.0) for child in children)):
                if column is not None:
                    data.append(sign)
                    rows.append(r)
                    cols.append(column if column >= 0 else n_cells - 1 - column)
        shape = (len(columns), n_cells + len(self.hidden_index))
        matrix = csr_array(coo_array((data, (rows, cols)), shape=shape))
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return _Population(
            cells=tuple(np.asarray(rows) for rows in self.cell_rows),
            keys=tuple(repr(k) for k in self.cell_index),
            matrix=matrix,
            by_var=csc_array(matrix),
            totals=np.array([key[-1] == _TOTAL for key in self.cell_index], dtype=bool),
            rows=np.concatenate([np.asarray(r, dtype=int) for r in self.cell_rows]),
            starts=np.cumsum([0] + [len(r) for r in self.cell_rows[:-1]]).astype(int),
        )


_TOTAL = "__population_total__"
_UNLISTED = "__groups_not_listed__"


_Node = tuple[object, ...]


@dataclass(frozen=True)
class _Hierarchy:
    """A dimension hierarchy as lookups on (dimension, level, group) nodes.

    Attributes:
        parents: node -> its parents (two for an intersection cell: one per margin).
        children: (parent node, (child dimension, child level)) -> all its children at that
            dimension and level, published or not. A parent can be split several ways (White
            into detailed White groups, and into White x each sector); each way is its own
            relation.
        groups: (dimension, level) -> every group the hierarchy knows at that level.
    """

    parents: dict[_Node, list[_Node]] = field(default_factory=dict)
    children: dict[tuple[_Node, tuple[object, ...]], list[_Node]] = field(default_factory=dict)
    groups: dict[_Node, list[object]] = field(default_factory=dict)


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
        tree.parents.setdefault(child, []).append(parent)
        tree.children.setdefault((parent, child[:2]), []).append(child)
        for node in (child, parent):
            members = tree.groups.setdefault(node[:2], [])
            if node[2] not in members:
                members.append(node[2])
    return tree


def _population(
    cell_keys: Sequence[tuple[object, ...]],
    rows: Sequence[int],
    inner: Sequence[str],
    cols: _Columns,
    tree: _Hierarchy,
) -> _Population:
    """Build the cells and relations of one block.

    ``cell_keys[row]`` is the row's cell key: its region (``None`` in a table without one),
    its ``inner`` partition values, then its group (``(region, _TOTAL)`` for a total row);
    ``rows`` are the block's row positions. Relations: each partition's groups add up to its
    region's total; the hierarchy's parents are the sums of their children; England is the sum
    of the regions, cell by cell (unpublished totals and parents included).
    """
    builder = _RelationBuilder()
    partitions: dict[tuple[object, ...], dict[tuple[object, ...], None]] = {}
    for row in rows:
        key = cell_keys[row]
        builder.add_row(key, row)
        if key[-1] != _TOTAL:
            partitions.setdefault(key[:-1], {})[key] = None
    builder.listed = set(partitions)
    node = _NodeMap(inner, cols)
    for part, members in partitions.items():
        if not cols.complete:
            members[(*part, _UNLISTED)] = None
        builder.relations.append(((part[0], _TOTAL), list(members)))
    if node.active:
        builder.relations.extend(_hierarchy_relations(builder.cell_index, node, tree))
    builder.relations.extend(_region_relations(builder))
    return builder.build()


def _region_relations(
    builder: _RelationBuilder,
) -> list[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """``England = sum of the regions`` for every variable of the block held for England."""
    keys = [*builder.cell_index, *(k for p, ch in builder.relations for k in (p, *ch))]
    regions = sorted({str(k[0]) for k in builder.cell_index if k[0] not in (None, NATIONAL)})
    if not regions or not any(k[0] == NATIONAL for k in builder.cell_index):
        return []
    national = dict.fromkeys(k for k in keys if k[0] == NATIONAL)
    return [(key, [(region, *key[1:]) for region in regions]) for key in national]


@dataclass(frozen=True)
class _NodeMap:
    """Converts between cell keys (inner partition values + group) and hierarchy nodes."""

    inner: Sequence[str]
    cols: _Columns

    @property
    def active(self) -> bool:
        """Whether the table has both a dimension and a level column."""
        return self.cols.dimension is not None and self.cols.level is not None

    def dim_level(self, part: Sequence[object]) -> _Node:
        """(dimension, level) of a partition key."""
        return (
            part[self.inner.index(self.cols.dimension)],
            part[self.inner.index(self.cols.level)],
        )

    def node(self, key: tuple[object, ...]) -> _Node:
        """The hierarchy node of a cell key."""
        return (*self.dim_level(key[:-1]), key[-1])

    def key(self, like: tuple[object, ...], node: _Node) -> tuple[object, ...]:
        """The cell key of ``node`` in the same partition context as cell key ``like``."""
        part = list(like[:-1])
        part[self.inner.index(self.cols.dimension)] = node[0]
        part[self.inner.index(self.cols.level)] = node[1]
        return (*part, node[2])


def _hierarchy_relations(
    cell_index: Mapping[tuple[object, ...], int], node: _NodeMap, tree: _Hierarchy
) -> list[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """``parent = sum(its children)`` for every parent reachable from the cells, once for each
    dimension and level its children are published at.

    A node that is not published is still a node (an unknown), so a chain
    detailed -> grouped -> binary holds even when the grouped level is missing.
    """
    relations: dict[tuple[tuple[object, ...], tuple[object, ...]], list[tuple[object, ...]]] = {}
    reached: set[tuple[object, ...]] = set()
    pending = [key for key in cell_index if key[-1] != _TOTAL]
    while pending:
        key = pending.pop(0)
        child = node.node(key)
        for parent in tree.parents.get(child, []):
            parent_key = node.key(key, parent)
            split = (parent_key, child[:2])
            if split not in relations:
                relations[split] = [node.key(key, c) for c in tree.children[(parent, child[:2])]]
            if parent_key not in reached:
                reached.add(parent_key)
                pending.append(parent_key)
    return [(parent_key, members) for (parent_key, _), members in relations.items()]


def _populations(
    table: pd.DataFrame, cols: _Columns, hierarchy: pd.DataFrame | None
) -> list[_Population]:
    """Split ``table`` into blocks (populations over England and the regions) and build each
    block's relations."""
    tree = _read_hierarchy(hierarchy)
    region = REGION_COL if REGION_COL in cols.population else None
    outer = [c for c in cols.population if c != region]
    inner = [c for c in cols.partition if c not in cols.population]
    keyed = _keys(table, [*outer, *inner, cols.group])
    regions = [k[0] for k in _keys(table, [region])] if region else [None] * len(table)
    n_out, total = len(outer), cols.total_group
    grouped: dict[tuple[object, ...], list[int]] = {}
    cell_keys: list[tuple[object, ...]] = []
    for row, (values, area) in enumerate(zip(keyed, regions, strict=True)):
        grouped.setdefault(values[:n_out], []).append(row)
        cell_keys.append((area, _TOTAL) if values[-1] == total else (area, *values[n_out:]))
    inner = [REGION_COL, *inner]
    return [_population(cell_keys, rows, inner, cols, tree) for rows in grouped.values()]


# --- table state and the suppression steps ----------------------------------------------------


@dataclass
class _State:
    """One table while it is being suppressed.

    ``values`` caches each block's true values (:func:`_true_values`); ``decided`` holds each
    block's suppressed cells when secondary suppression last left it protected.
    """

    name: str
    table: pd.DataFrame
    cols: _Columns
    base: np.ndarray
    suppressed: np.ndarray
    reason: np.ndarray
    populations: list[_Population]
    values: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    decided: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def zero(self) -> np.ndarray:
        """Rows whose base is known to be 0 (its value is public)."""
        return self.base == 0

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


def _observe(
    name: str, table: pd.DataFrame, layout: TableLayout, hierarchy: pd.DataFrame | None
) -> _State:
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
    return _State(name, frame, cols, base, suppressed, reason, _populations(frame, cols, hierarchy))


def _start(
    name: str,
    table: pd.DataFrame,
    layout: TableLayout,
    policy: SuppressionPolicy,
    hierarchy: pd.DataFrame | None,
) -> _State:
    """Resolve the layout and apply primary suppression; rows already suppressed stay so."""
    state = _observe(name, table, layout, hierarchy)
    base = state.base
    state.mark(np.flatnonzero(np.isnan(base)), REASON_BASE_MISSING)
    small = (base > 0) & (base < policy.threshold)
    state.mark(np.flatnonzero(small), primary_reason(policy.threshold))
    return state


def _unknown(pop: _Population, hidden: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Unknown mask over all variables: the given cells plus every unpublished variable,
    except (given the variables' true ``values``) an unpublished one that is truly zero: a
    reader can often pin it (a table's unlisted "Not stated" remainder is at most the
    response profile's "Not stated", which may be a published 0), so it counts as known."""
    extra = np.ones(pop.matrix.shape[1] - pop.n_cells, dtype=bool)
    if values is not None:
        extra &= values[pop.n_cells :] != 0
    return np.concatenate([hidden, extra])


def _cells(pop: _Population) -> np.ndarray:
    """Mask over all variables: the published cells (not the unpublished totals)."""
    keep = np.zeros(pop.matrix.shape[1], dtype=bool)
    keep[: pop.n_cells] = True
    return keep


def _per_cell(pop: _Population, rows: np.ndarray, how: str) -> np.ndarray:
    """A row-level array reduced to one value per cell (``"any"``, ``"all"`` or ``"max"``,
    the max ignoring NaN)."""
    flat = rows[pop.rows]
    if how == "any":
        return np.logical_or.reduceat(flat, pop.starts)
    if how == "all":
        return np.logical_and.reduceat(flat, pop.starts)
    filled = np.where(np.isnan(flat), -np.inf, flat)
    out = np.maximum.reduceat(filled, pop.starts)
    return np.where(np.isneginf(out), np.nan, out)


def _cell_status(state: _State, pop: _Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell of ``pop``: suppressed (any of its rows), known zero, and base (for cost)."""
    return (
        _per_cell(pop, state.suppressed, "any"),
        _per_cell(pop, state.zero, "all"),
        _per_cell(pop, state.base, "max"),
    )


def _true_values(state: _State, pop: _Population, column: str) -> np.ndarray:
    """True value of every variable of ``pop`` for ``column`` (a base or a count within it):
    the cells' own values, unpublished totals and parents solved from the relations; NaN
    where unknown."""
    numbers = state.base if column == state.cols.base else _numbers(state.table[column])
    extra = np.full(pop.matrix.shape[1] - pop.n_cells, np.nan)
    return blocks.fill(pop.matrix, np.concatenate([_per_cell(pop, numbers, "max"), extra]))


@dataclass
class _Block:
    """One block while secondary suppression decides it.

    Attributes:
        pop: the block's relations.
        mask: which variables are unknown: the cells suppressed and not known zeros (grows
            as complements are added), then every unpublished variable.
        zero: cells known to be zero.
        base: each cell's base (for the cost of a complement).
        values: column -> true value of every variable (base first, then counts within it).
        threshold: the policy's threshold.
    """

    pop: _Population
    mask: np.ndarray
    zero: np.ndarray
    base: np.ndarray
    values: dict[str, np.ndarray]
    threshold: int

    @property
    def hidden(self) -> np.ndarray:
        """The cells' part of :attr:`mask` (a view: setting it adds a complement)."""
        return self.mask[: self.pop.n_cells]

    def members(self, relation: int) -> np.ndarray:
        """The variables of one relation."""
        matrix = self.pop.matrix
        return matrix.indices[matrix.indptr[relation] : matrix.indptr[relation + 1]]

    def nearest(self, cell: int, totals: bool = False) -> int:
        """The relation to take a complement from for a determined ``cell``: among its own
        relations that have a candidate, the one with the fewest unknowns; if none has one (all
        their cells are suppressed already), the nearest relation reached through unknowns
        that has one; ``-1`` if there is none at all (``totals``: see :meth:`candidate`)."""
        by_var, unknown = self.pop.by_var, self.mask
        frontier, seen_vars, seen_rel = [cell], {cell}, set()
        while frontier:
            relations = sorted(
                {
                    int(r)
                    for v in frontier
                    for r in by_var.indices[by_var.indptr[v] : by_var.indptr[v + 1]]
                }
                - seen_rel,
                key=lambda r: (int(unknown[self.members(r)].sum()), r),
            )
            for r in relations:
                if self.pool(r, "total" if totals else "determined"):
                    return r
            seen_rel |= set(relations)
            reached = {int(v) for r in relations for v in self.members(r) if unknown[v]}
            frontier = sorted(reached - seen_vars)
            seen_vars |= reached
        return -1

    def short(self, determined: np.ndarray) -> list[tuple[int, str]]:
        """Relations that leave a suppressed cell too narrow: ``(relation, need)``.

        ``"base"`` when the unknowns of a relation holding a small suppressed cell add up to
        less than the threshold (the cell's range, at most their sum, would be narrower than
        the threshold); a count
        column's name when every unknown of the relation has a zero count (each is pinned to
        zero). Unpublished variables the relations pin (``determined``, e.g. a population
        total no row prints but every partition adds up to) count as known.
        """
        pattern = abs(self.pop.matrix).astype(bool).astype(float)
        n, base = self.pop.n_cells, np.nan_to_num(self.values["base"])
        pinned = determined.copy()
        pinned[: self.pop.n_cells] = False  # a pinned cell gets its own complement
        unknown = (self.mask & ~pinned).astype(float)
        hidden_cells = np.zeros(len(self.mask))
        hidden_cells[:n] = self.hidden * base[:n]
        small = np.zeros(len(self.mask), dtype=bool)
        small[:n] = self.hidden & (base[:n] > 0) & (base[:n] < self.threshold)
        total = pattern @ (unknown * base)
        coo = pattern[:, np.flatnonzero(small)].tocoo()
        narrow = total[coo.row] < self.threshold
        found = {int(r): "base" for r in np.unique(coo.row[narrow])}
        held = pattern @ hidden_cells > 0
        for column, values in self.values.items():
            if column == "base":
                continue
            missing = pattern @ (np.isnan(values) & self.mask).astype(float) > 0
            events = pattern @ (np.nan_to_num(values) * unknown)
            for r in np.flatnonzero(held & ~missing & (events == 0)):
                found.setdefault(int(r), column)
        return sorted(found.items())

    def pool(self, relation: int, need: str) -> list[int]:
        """Every published cell of ``relation`` that could serve as its complement."""
        members = self.members(relation)
        cells = members[members < self.pop.n_cells]
        pool = [
            int(c)
            for c in cells
            if not self.hidden[c]
            and not self.zero[c]
            and (need == "total" or not self.pop.totals[c])
        ]
        if need in self.values and need != "base":
            pool = [c for c in pool if self.values[need][c] > 0]
        return pool

    def stuck(self, cell: int) -> bool:
        """Whether hiding ``cell`` would leave it alone in a relation with no other cell to
        hide but a population total (a partition with a single non-zero group): such a
        complement costs a total."""
        by_var, unknown = self.pop.by_var, self.mask
        for r in by_var.indices[by_var.indptr[cell] : by_var.indptr[cell + 1]]:
            members = self.members(int(r))
            if not unknown[members].any() and self.pool(int(r), "determined") == [cell]:
                return True
        return False

    def complete(self, determined: np.ndarray) -> list[int]:
        """Add complements until no relation is short and every determined cell has had one
        added near it; the cells added. Greedy, in batches: candidates ranked by how many
        pending relations they serve, then not :meth:`stuck`, then at least the threshold, then
        the smallest base, then the cell key; each is taken if it serves a relation no earlier
        pick of the batch served; then the relations are checked again."""
        pending: dict[int, str] = {}
        cells = np.flatnonzero(determined[: self.pop.n_cells])
        for cell in sorted(cells, key=lambda c: self.pop.keys[c]):
            nearest = self.nearest(int(cell))
            if nearest < 0:
                # Only a population total is left to hide (or nothing at all: then the cell is
                # pinned only under the cautious reading that an unpublished zero is known,
                # and the audit has the last word).
                nearest = self.nearest(int(cell), totals=True)
                pending.setdefault(nearest, "total")
            else:
                pending.setdefault(nearest, "determined")
        pending.pop(-1, None)
        added: list[int] = []
        hopeless: set[int] = set()
        while True:
            needs = {r: n for r, n in self.short(determined) if r not in hopeless} | pending
            pools: dict[int, list[int]] = {}
            serves: dict[int, int] = {}
            for relation, need in needs.items():
                pools[relation] = self.pool(relation, need)
                if not pools[relation]:
                    hopeless.add(relation)
                    pending.pop(relation, None)
                for c in pools[relation]:
                    serves[c] = serves.get(c, 0) + 1
            if not serves:
                return added
            order = sorted(
                serves,
                key=lambda c: (
                    -serves[c],
                    self.stuck(c),
                    self.base[c] < self.threshold,
                    self.base[c],
                    self.pop.keys[c],
                ),
            )
            served: set[int] = set()
            for chosen in order:
                mine = {r for r, pool in pools.items() if chosen in pool}
                if mine <= served:
                    continue
                served |= mine
                self.hidden[chosen] = True
                added.append(chosen)
            pending = {r: n for r, n in pending.items() if r not in served}


def _protect(state: _State, index: int, threshold: int) -> bool:
    """Secondary suppression in one block until no suppressed cell is determined, none is
    bounded narrower than the threshold by one relation, and no count within a suppressed
    base is pinned to zero. A block whose suppressed cells have not changed since it was last
    decided is skipped."""
    pop = state.populations[index]
    suppressed, zero, base = _cell_status(state, pop)
    hidden = suppressed & ~zero
    if not hidden.any() or np.array_equal(state.decided.get(index), hidden):
        return False
    if index not in state.values:
        state.values[index] = {"base": _true_values(state, pop, state.cols.base)}
        state.values[index] |= {c: _true_values(state, pop, c) for c in state.cols.within}
    values = state.values[index]
    block = _Block(pop, _unknown(pop, hidden, values["base"]), zero, base, values, threshold)
    changed = False
    while True:
        determined = blocks.determined(pop.matrix, block.mask, _cells(pop))
        added = block.complete(determined)
        for cell in added:
            changed |= state.mark(pop.cells[cell], REASON_SECONDARY)
        if not added:
            state.decided[index] = block.hidden.copy()
            return changed


def _secondary(state: _State, threshold: int) -> bool:
    """Secondary suppression over every block of the table; whether anything changed."""
    changed = False
    for index in range(len(state.populations)):
        changed |= _protect(state, index, threshold)
    return changed


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
    return _keys(state.table, on)


def _apply_link(states: Mapping[str, _State], link: Link) -> bool:
    """Suppress in every linked table the cells suppressed in any of them.

    Every row carrying a suppressed key is suppressed, in the other tables and in the same
    table too (a table may hold the same cell more than once, e.g. once per indicator).
    """
    keys = {name: _link_keys(states[name], link.on) for name in link.tables}
    source: dict[tuple[object, ...], str] = {}
    for name in link.tables[:1] if link.one_way else link.tables:
        for key, hidden in zip(keys[name], states[name].suppressed, strict=True):
            if hidden:
                source.setdefault(key, name)
    changed = False
    for name in link.tables:
        for row, key in enumerate(keys[name]):
            if key in source and not states[name].suppressed[row]:
                changed |= states[name].mark(np.array([row]), linked_reason(source[key]))
    return changed


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
    parts = _keys(state.table, cols.partition)
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


Attacker = Callable[[dict[str, pd.DataFrame]], pd.DataFrame]
"""An independent attack on a suppressed release: tables -> one row per suppressed count with
``table``, ``row`` (0-based position) and ``protected`` (e.g.
``functools.partial(toolkit.disclosure.audit.attack, threshold=10)``)."""
ORACLE_ROUNDS = 10
"""How many times the attacker is consulted before its findings are left to the audit."""


def _decide(states: Mapping[str, _State], links: Sequence[Link], policy: SuppressionPolicy) -> None:
    """Links and secondary suppression, iterated until nothing changes."""
    changed = True
    while changed:
        changed = False
        for link in links:
            changed |= _apply_link(states, link)
        if policy.secondary:
            for state in states.values():
                changed |= _secondary(state, policy.threshold)


def _widen(state: _State, row: int, threshold: int) -> bool:
    """Add one complement for a cell the attacker pinned: the published cell, at least the
    threshold if possible, in the cell's relation with the fewest unknowns that has one."""
    for index, pop in enumerate(state.populations):
        found = np.flatnonzero(pop.rows == row)
        if not len(found):
            continue
        cell = int(np.searchsorted(pop.starts, found[0], side="right") - 1)
        suppressed, zero, base = _cell_status(state, pop)
        values = state.values.get(index) or {"base": _true_values(state, pop, state.cols.base)}
        mask = _unknown(pop, suppressed & ~zero, values["base"])
        block = _Block(pop, mask, zero, base, values, threshold)
        relation = block.nearest(cell)
        if relation < 0:
            return False
        pool = block.pool(relation, "determined")
        chosen = min(pool, key=lambda c: (base[c] < threshold, base[c], pop.keys[c]))
        return state.mark(pop.cells[chosen], REASON_SECONDARY)
    return False


def suppress_linked(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
    links: Sequence[Link] = (),
    hierarchy: pd.DataFrame | None = None,
    attacker: Attacker | None = None,
) -> dict[str, pd.DataFrame]:
    """Suppress small cells consistently across the tables of one output.

    Args:
        tables: name -> tidy table (see :class:`TableLayout` for the roles of columns).
        policy: threshold, rounding and secondary switch.
        layouts: name -> layout; a table without one uses ``TableLayout()``.
        links: cells shared between tables (e.g. the estimates and comparisons tables on
            survey, cycle, region, indicator, dimension, level, group).
        hierarchy: ``dimension, level, group, parent_level, parent_group`` [``parent_dimension``].
        attacker: optional independent attack (:data:`Attacker`), consulted once the rules
            above are met: each cell it still finds unprotected (pinned by a route the rules
            do not model, e.g. an item's n being at most the group's n) gets one more
            complement, and the rules and the attack run again, up to
            :data:`ORACLE_ROUNDS` times.

    Returns:
        name -> the table with value columns blanked (NA) in suppressed rows, count columns
        rounded under the policy, and two more columns: ``suppressed`` (bool) and
        ``suppression_reason`` (str or None). Primary, links and secondary suppression are
        iterated until nothing changes.
    """
    layouts = layouts or {}
    states = {
        name: _start(name, table, layouts.get(name, TableLayout()), policy, hierarchy)
        for name, table in tables.items()
    }
    # The decompositions are small: BLAS threads only contend for the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        _decide(states, links, policy)
        for _ in range(ORACLE_ROUNDS if attacker is not None and policy.secondary else 0):
            found = attacker({name: _finish(states[name], policy, tables[name].index)
                              for name in tables})  # fmt: skip
            failed = found[~found["protected"].astype(bool)]
            widened = False
            for name, row in dict.fromkeys(zip(failed["table"], failed["row"], strict=True)):
                if name in states:
                    widened |= _widen(states[name], int(row), policy.threshold)
            if not widened:
                break
            _decide(states, links, policy)
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


def _cell_values(state: _State, pop: _Population, known: np.ndarray) -> np.ndarray:
    """Published value of each known cell (0 for known-zero cells), NaN elsewhere."""
    values = np.full(pop.n_cells, np.nan)
    for c in np.flatnonzero(known):
        rows = pop.cells[c]
        shown = state.base[rows][~state.suppressed[rows]]
        values[c] = 0.0 if state.zero[rows].all() else np.nanmax(shown, initial=np.nan)
    return values


def _derived(pop: _Population, unknown: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares values of the unknowns given the known cells (exact where determined)."""
    known = ~unknown
    rhs = -pop.matrix[:, known] @ np.nan_to_num(values[known[: pop.n_cells]])
    solution = np.full(len(unknown), np.nan)
    if unknown.any():
        fit = lsqr(pop.matrix[:, np.flatnonzero(unknown)], rhs, atol=1e-12, btol=1e-12)
        solution[unknown] = fit[0]
    return solution


def _audit_population(state: _State, pop: _Population, threshold: int) -> list[_Finding]:
    """Suppressed cells recoverable by differencing, and hidden bases derivable under threshold."""
    suppressed, zero, _ = _cell_status(state, pop)
    base_hidden = np.array([np.isnan(state.base[r]).all() for r in pop.cells], dtype=bool)
    hidden = (suppressed | base_hidden) & ~zero
    unknown = _unknown(pop, hidden)
    determined = blocks.determined(pop.matrix, unknown, _cells(pop))[: pop.n_cells] & hidden
    if not determined.any():
        return []
    value = _derived(pop, unknown, _cell_values(state, pop, ~hidden))
    findings: list[_Finding] = []
    for c in np.flatnonzero(determined):
        if abs(value[c]) < 0.5:
            continue
        row = int(pop.cells[c][0])
        if suppressed[c]:
            problem = "suppressed base recoverable by differencing the published cells"
        elif value[c] < threshold:
            problem = f"base not shown but derivable as total minus others, under {threshold}"
        else:
            continue
        findings.append((state.name, row, state.cols.base, float(value[c]), problem))
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
    """Cells published in one linked table but suppressed in another (for a one-way link,
    suppressed in the first table)."""
    keys = {name: _link_keys(states[name], link.on) for name in link.tables}
    hidden = {
        key: name
        for name in (link.tables[:1] if link.one_way else link.tables)
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
    """Every check on one table."""
    findings = _audit_rows(state, policy) + _audit_rounding(state, policy.rounding)
    for pop in state.populations:
        findings += _audit_population(state, pop, policy.threshold)
    return findings


def audit_disclosure(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
    links: Sequence[Link] = (),
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
        states[name] = _observe(name, table, layouts.get(name, TableLayout()), hierarchy)
        findings += _audit_table(states[name], policy)
    for link in links:
        findings += _audit_link(states, link)
    return pd.DataFrame(findings, columns=list(AUDIT_COLUMNS)).astype(
        {"table": object, "row": "int64", "column": object, "value": "float64", "problem": object}
    )


def assert_no_disclosure(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
    links: Sequence[Link] = (),
    hierarchy: pd.DataFrame | None = None,
) -> None:
    """Raise :class:`DisclosureError` if :func:`audit_disclosure` finds anything.

    For the bundle writer and the report renderer: the error names the first finding and
    carries the whole audit table in ``details["audit"]``.
    """
    audit = audit_disclosure(
        tables, policy=policy, layouts=layouts, links=links, hierarchy=hierarchy
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
