"""Disclosure control for results-bundle tables: primary and secondary suppression, audits.

Every published table is tidy: one row per cell (survey x cycle x region x indicator x dimension x
level x group), with a base column ``n`` (respondents answering, the group's base) and value
columns (counts, estimates, CIs, relative likelihoods ...). This module decides which rows are
suppressed; everything downstream obeys the ``suppressed`` / ``suppression_reason`` columns.

Rules (DOMAIN.md section 7):

* **Primary**: a row whose base is under ``policy.threshold`` (default 10, never below 5) is
  suppressed. A base of 0 reveals no one, but there is no estimate, so it is suppressed with a
  reason that says so; its value (0) is treated as known by any reader.
* **Secondary**: the cells of one *population* (the columns that identify who was asked: survey,
  cycle, region, indicator) are tied by additive relations:
  ``total = sum(groups of a partition)`` for every partition (dimension x level; "Prefer not to
  say" rows are groups like any other, and the relation is treated as exact, which errs on the
  safe side), and ``parent = sum(children)`` along the hierarchy detailed -> grouped -> binary.
  An intersection's margin is at least the sum of its crossings (those who left the other
  question blank are a non-negative remainder), and so is every parent and England's cell in an
  administrative table (``TableLayout.exact_sums=False``). A total or parent that is not
  published is an unknown of the system. After primary suppression, a suppressed cell is *determined* when the published cells
  pin it to one value: with ``A`` the relation matrix restricted to the unknown cells, cell ``i``
  is determined iff row ``i`` of a basis of the null space of ``A`` is zero. While some
  suppressed non-zero cell is determined, the cheapest published cell (smallest base, then the
  cell key, so the choice does not depend on row order) that shares a relation with it and
  un-determines it is suppressed too. The result never lets differencing recover a suppressed
  base, count or weighted count, since all additive columns share the same relations.
* **Areas**: England and its regions are one population (``TableLayout.region_col``): each cell
  published for England and for some regions is tied by ``England = sum of the regions``, and
  "Not stated" (or a table's unlisted remainder) is the same people at every level of a
  dimension.
* **Ranges**: once no suppressed cell is determined, each population is read as a reader with
  inequalities would read it (:mod:`toolkit.disclosure.ranges`: counts are not negative, a count
  within a base is no larger than it); a hidden base whose feasible range reaches below the
  threshold while narrower than it, or a hidden count that is determined, gets another
  complement (the first of the candidates above that widens it enough). The true values are a
  point every relation must admit: if the reader's program has none, the layout misdescribes
  the table and ``disclosure.relations_broken`` is raised (never judged safe).
* **Linked tables**: rows of different tables that agree on a :class:`Link`'s columns are the
  same cell; if one is suppressed all are (for a one-way link, a cell suppressed in the first
  table is suppressed in the others). A one-way link's first table also bounds the others: a
  reader knows an item's respondents in a group are no more than the group's respondents in
  the response profile, and an item's unlisted remainder no more than the profile's "Not
  stated". So the range test reads each follower population joined to the leader's population
  of the same scope, with those inequalities (all of the leader's relations, not each leader
  cell's range alone: two hidden "Not stated" cells whose sum is known bound two remainders
  together). A follower cell such a reader pins may be widened by suppressing the leader cell
  that bounds it (upper protection), tried by cost among the follower's own candidates; the
  followers then read it as unbounded until the leader's next pass has protected it (leaders
  go first in each pass). A cell the leader does not print (an item's ethnicity x sector
  cell) is still a number of people there: at least the most any item publishes for it, and
  the crossings of one margin add up to no more than the leader's margin; so items answered
  by nearly everyone bound each other through the people behind them, and a complement may
  be the same cell in the other items (tried by cost, alone or two at a time). Links and
  secondary suppression are iterated to a fixed point, and the last pass reads every
  follower with every bound.
* **Absent groups**: in a table that lists everyone (``TableLayout.lists_everyone``: a group
  with anyone in it always has a row), a group with no row in a partition the population
  publishes had no one in it (every reader knows that), so it is a known zero; a group of a
  partition not published for that population (a level printed for England only) is an
  unknown, and so is a missing group of a table that republishes a subset of cells.
* **Comparisons**: a row whose reference group is suppressed keeps its own estimate but loses
  every comparison value (RL, difference, test): the reference rate is recoverable from them.
* **Rounding** (optional, on ``count_cols`` after suppression): ``nhs_digital`` shows counts 1-7
  as missing ("*") and rounds the rest to the nearest 5; ``ons_10_5`` does the same for counts
  1-9. Zero stays zero.

``SuppressionPolicy.secondary=False`` exists so tests can show that primary suppression alone
leaks; :func:`audit_disclosure` (run whenever a bundle is written) finds that leak, so such an
output is refused rather than published. The independent auditor
(:mod:`toolkit.disclosure.audit`, which shares no code with this module) then attacks the whole
release before its bundle is written.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, TypeVar, get_args

import numpy as np
import pandas as pd
from scipy.linalg import null_space
from scipy.sparse import coo_array, csc_array, csr_array, lil_array

from toolkit.disclosure import ranges
from toolkit.disclosure.findings import raise_first_finding
from toolkit.errors import DisclosureError

Rounding = Literal["none", "nhs_digital", "ons_10_5"]

MIN_THRESHOLD = 5
TOTAL_GROUP = "All respondents"
NOT_STATED = "Not stated"
CROSSING = " × "
"""How an intersection's dimension is named (``ethnicity × sector``)."""
NATIONAL = "England"
"""The area that is the sum of all the others (see ``TableLayout.region_col``)."""
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
_TOLERANCE = 1e-9
_T = TypeVar("_T")
_WIDENING_TRIES = 12
"""Complements tried, in candidate order, for a cell the ranges test finds too narrow."""


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
        region_col, national: a population column naming the area, and the area that is the
            sum of all the others (England = the sum of its regions). Where the table has a
            partition for some regions as well as for England, each cell of it is tied across
            areas: England's cell is the sum of the regions' cells, so England minus the
            regions is one more relation a reader can use, and the areas are one population.
        within_base: count columns of people within the row's base (events, withdrawals ...):
            additive over the same relations, never above the base, and checked by the
            suppressor's range test like the base (:mod:`toolkit.disclosure.ranges`).
        ranges: whether the range test applies (else only the exact test: no hidden cell may
            be determined). Off for a table whose hidden cells must keep a shape, such as the
            time-in-post curves, hidden from the first step with too few at risk onwards.
        exact_sums: whether England is exactly the sum of its regions and a coarser group
            exactly the sum of its finer groups (every person has a region and a full code, as
            in the surveys). Off for administrative records, where England also counts records
            without a region and a coarse code may lack a finer one: the parent is then at
            least the sum of its parts (an unpublished non-negative remainder).
        lists_everyone: whether a group with anyone in it always has a row (suppressed if
            small) in every partition the table prints, so a group missing from one had no one
            in it, as any reader will assume (the count tables of a release). Off for a table
            that republishes a chosen subset of another table's cells (models, funnel plots):
            a missing group there is an unknown.
        zeros_shown: whether a base of 0 is printed as 0 (a table of counts alone, such as
            who responded: a 0 reveals no one and there is no estimate to withhold); otherwise
            its row is suppressed with :data:`REASON_ZERO`.
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
    region_col: str | None = "region"
    national: str = NATIONAL
    within_base: tuple[str, ...] = ()
    ranges: bool = True
    exact_sums: bool = True
    lists_everyone: bool = False
    zeros_shown: bool = False


@dataclass(frozen=True)
class Link:
    """Rows of ``tables`` whose values agree on ``on`` are one cell: suppressed in all or none.

    With ``one_way``, the cells suppressed in the first table are suppressed in the others, never
    the reverse: the first table's cell bounds the others' (a group's respondents bound the
    respondents answering each item), so a hidden outer cell would be pinned by its published
    inner cells, while a hidden inner cell says nothing the outer cell must hide.
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
    region: str | None
    national: str
    within: tuple[str, ...]
    ranges: bool
    exact_sums: bool
    lists_everyone: bool


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
        region=layout.region_col if layout.region_col in population else None,
        national=layout.national,
        within=tuple(c for c in layout.within_base if c in present),
        ranges=layout.ranges,
        exact_sums=layout.exact_sums,
        lists_everyone=layout.lists_everyone,
    )


def _key(values: Iterable[object]) -> tuple[object, ...]:
    """A hashable key with every missing value as ``None`` (NaN never equals itself)."""
    return tuple(None if pd.isna(v) else v for v in values)


def _row_keys(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """:func:`_key` of every row of ``frame``, built column by column."""
    series = (frame.iloc[:, i] for i in range(frame.shape[1]))  # (names may repeat)
    columns = [s.to_numpy(dtype=object, na_value=None) for s in series]
    return list(zip(*columns, strict=True)) if columns else [()] * len(frame)


# --- the additive relations of one population ------------------------------------------------


@dataclass(frozen=True)
class _Population:
    """The additive relations among the cells of one population.

    Attributes:
        cells: for each published cell (variable), the table row positions that hold it.
        keys: for each cell, its key (partition values + group) used for tie-breaks.
        matrix: relations x (cells + unpublished totals/parents); a relation reads
            ``parent - sum(children) = 0``.
        remainders: column of each unlisted "Not stated" remainder -> its partition columns'
            values (to look up the same people in another table).
        scope: the values of the columns that identify the population (survey, cycle ...).
    """

    cells: tuple[np.ndarray, ...]
    keys: tuple[str, ...]
    matrix: np.ndarray
    remainders: dict[int, dict[str, object]] = field(default_factory=dict)
    scope: dict[str, object] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        """Number of published cells (the first columns of ``matrix``)."""
        return len(self.cells)

    @cached_property
    def rows(self) -> np.ndarray:
        """Every cell's rows in one array, cell after cell."""
        return np.concatenate(self.cells) if self.cells else np.zeros(0, dtype=int)

    @cached_property
    def starts(self) -> np.ndarray:
        """Where each cell's rows start in :attr:`rows` (for ``ufunc.reduceat``)."""
        sizes = np.array([len(rows) for rows in self.cells], dtype=int)
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int) if len(sizes) else sizes


@dataclass
class _RelationBuilder:
    """Accumulates cells, unpublished variables and relations for one population."""

    cell_index: dict[tuple[object, ...], int] = field(default_factory=dict)
    cell_rows: list[list[int]] = field(default_factory=list)
    hidden_index: dict[tuple[object, ...], int] = field(default_factory=dict)
    relations: list[tuple[tuple[object, ...], list[tuple[object, ...]]]] = field(
        default_factory=list
    )
    listed: set[tuple[object, ...]] = field(default_factory=set)
    """The partitions the population publishes: a group missing from one is a known zero."""

    def add_row(self, key: tuple[object, ...], row: int) -> None:
        """Record that table row ``row`` holds cell ``key``."""
        if key not in self.cell_index:
            self.cell_index[key] = len(self.cell_rows)
            self.cell_rows.append([])
        self.cell_rows[self.cell_index[key]].append(row)

    def _column(self, key: tuple[object, ...]) -> int | None:
        """The variable of ``key``: a cell (>= 0), an unknown (< 0) or ``None`` for a group
        missing from a published partition (a known zero)."""
        if key in self.cell_index:
            return self.cell_index[key]
        if key[:-1] in self.listed and key[-1] != _UNLISTED:
            return None
        return -1 - self.hidden_index.setdefault(key, len(self.hidden_index))

    def build(
        self, remainders: Mapping[tuple[object, ...], dict[str, object]], scope: dict[str, object]
    ) -> _Population:
        """The population's cells and relation matrix (hidden variables after the cells);
        ``remainders``: unlisted remainder key -> its partition columns' values; ``scope``: the
        population's own columns' values."""
        entries: list[tuple[int, int, float]] = []  # (relation, variable, sign)
        for r, (parent, children) in enumerate(self.relations):
            for key, sign in ((parent, 1.0), *((child, -1.0) for child in children)):
                column = self._column(key)
                if column is not None:
                    entries.append((r, column, sign))
        n_cells = len(self.cell_rows)
        matrix = np.zeros((len(self.relations), n_cells + len(self.hidden_index)))
        if entries:
            rows, columns, signs = (np.array(part) for part in zip(*entries, strict=True))
            columns = np.where(columns >= 0, columns, n_cells - 1 - columns)
            np.add.at(matrix, (rows, columns), signs)
        return _Population(
            cells=tuple(np.asarray(rows) for rows in self.cell_rows),
            keys=tuple(repr(k) for k in self.cell_index),
            matrix=matrix,
            remainders={n_cells + self.hidden_index[key]: values
                        for key, values in remainders.items() if key in self.hidden_index},
            scope=scope,
        )  # fmt: skip


_TOTAL = "__population_total__"
_TOTAL_KEY: tuple[object, ...] = (_TOTAL,)
_UNLISTED = "__groups_not_listed__"
_NOT_CROSSED = "__other_dimension_not_stated__"
_OUTSIDE_PARTS = "__in_no_part__"


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
        if parent in tree.parents.get(child, []):
            continue  # a repeated row says nothing new (and must not count a child twice)
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
    outer: Mapping[str, object],
) -> _Population:
    """Build the cells and relations of one population.

    ``cell_keys[row]`` is the row's cell key: its ``inner`` partition values then its group
    (a total row: ``_TOTAL_KEY``, followed by its area when the areas are one population);
    ``rows`` are the population's row positions; ``outer`` the population's own columns'
    values. In a table that lists everyone (``cols.lists_everyone``) a group missing from a
    partition the population publishes had no one in it (a reader knows that, DOMAIN.md
    section 7), so it is a known zero and leaves the relations; a group of a partition the
    population does not publish (a level printed only for England) is an unknown. In other
    tables a group the hierarchy knows but the table lacks is an unknown, never a zero.
    """
    builder = _RelationBuilder()
    partitions: dict[tuple[object, ...], dict[tuple[object, ...], None]] = {}
    for row in rows:
        key = cell_keys[row]
        builder.add_row(key, row)
        if key[0] != _TOTAL:
            partitions.setdefault(key[:-1], {})[key] = None
    node = _NodeMap(inner, cols)
    area = inner.index(cols.region) if cols.region in inner else None
    if cols.lists_everyone:
        builder.listed = set(partitions)
    for part, members in partitions.items():
        if not cols.lists_everyone and node.active:
            known = tree.groups.get(node.dim_level(part), [])
            members.update(dict.fromkeys((*part, group) for group in known))
        if not cols.complete:
            members[(*part, _UNLISTED)] = None
        total = _TOTAL_KEY if area is None else (_TOTAL, part[area])
        builder.relations.append((total, list(members)))
    if node.active:
        builder.relations.extend(
            _hierarchy_relations(builder.cell_index, node, tree, exact=cols.exact_sums)
        )
        if cols.exact_sums:
            builder.relations.extend(_not_stated_relations(partitions, node, cols))
    if area is not None:
        builder.relations.extend(_area_relations(partitions, builder.cell_index, area, cols))
    remainders = {(*part, _UNLISTED): {**outer, **dict(zip(inner, part, strict=True))}
                  for part in partitions if not cols.complete}  # fmt: skip
    return builder.build(remainders, dict(outer))


def _not_stated_relations(
    partitions: Mapping[tuple[object, ...], Mapping[tuple[object, ...], None]],
    node: _NodeMap,
    cols: _Columns,
) -> list[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """ "Not stated" is the same people at every level of a dimension (the coarser levels are
    derived from the same answer): its cell, or the unlisted remainder of a table that does not
    list it, is equal across the levels of one dimension in one population and area."""
    dim, level = node.inner.index(cols.dimension), node.inner.index(cols.level)
    same: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for part, members in partitions.items():
        key = (*part, NOT_STATED if cols.complete else _UNLISTED)
        if key in members and CROSSING not in str(part[dim]):
            same.setdefault((*part[:level], *part[level + 1 :]), []).append(key)
    return [(keys[0], [other]) for keys in same.values() for other in keys[1:]]


def _area_relations(
    partitions: Mapping[tuple[object, ...], Mapping[tuple[object, ...], None]],
    cell_index: Mapping[tuple[object, ...], int],
    area: int,
    cols: _Columns,
) -> list[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """``England's cell = the sum of the regions' cells``, for every group (and total) of
    every partition published for some region as well as for England.

    A region that has the partition but no row for a group is an unknown there (never a
    zero), and a total is tied only when England and some region print one. Without
    ``cols.exact_sums`` England's cell also holds those of no region (a non-negative remainder)
    and the unlisted remainders are not tied (a person whose code differs between records is
    "not stated" in one area and stated in another).
    """
    regions: dict[tuple[object, ...], list[object]] = {}
    for part in partitions:
        if part[area] != cols.national:
            regions.setdefault((*part[:area], *part[area + 1 :]), []).append(part[area])
    relations = []
    for part, members in partitions.items():
        outer = (*part[:area], *part[area + 1 :])
        if part[area] != cols.national or outer not in regions:
            continue
        groups = dict.fromkeys(
            key[-1]
            for region in regions[outer]
            for key in partitions[(*part[:area], region, *part[area + 1 :])]
        )
        groups.update(dict.fromkeys(key[-1] for key in members))
        for group in groups:
            relations.append(((*part, group), [
                (*part[:area], region, *part[area + 1 :], group) for region in regions[outer]
            ]))  # fmt: skip
    printed = [key[1] for key in cell_index if key[0] == _TOTAL and len(key) == 2]
    if cols.national in printed and len(printed) > 1:
        relations.append(((_TOTAL, cols.national), [
            (_TOTAL, region) for region in printed if region != cols.national
        ]))  # fmt: skip
    if not cols.exact_sums:
        relations = [(parent, [*parts, (_OUTSIDE_PARTS, *parent)])
                     for parent, parts in relations if parent[-1] != _UNLISTED]  # fmt: skip
    return relations


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
    cell_index: Mapping[tuple[object, ...], int], node: _NodeMap, tree: _Hierarchy, *, exact: bool
) -> list[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """``parent = sum(its children)`` for every parent reachable from the cells, once for each
    dimension and level its children are published at.

    A node that is not published is still a node (an unknown), so a chain
    detailed -> grouped -> binary holds even when the grouped level is missing. A margin split
    by an intersection (White into White x each disability group) also holds those of the margin
    who left the other dimension blank: an unpublished non-negative remainder, so the margin is
    at least, not exactly, the sum of its crossings. Without ``exact`` (records whose coarse
    code may lack a finer one) every parent is at least the sum of its children.
    """
    relations: dict[tuple[tuple[object, ...], tuple[object, ...]], list[tuple[object, ...]]] = {}
    reached: set[tuple[object, ...]] = set()
    pending = deque(key for key in cell_index if key[0] != _TOTAL)
    while pending:
        key = pending.popleft()
        child = node.node(key)
        for parent in tree.parents.get(child, []):
            parent_key = node.key(key, parent)
            split = (parent_key, child[:2])
            if split not in relations:
                relations[split] = [node.key(key, c) for c in tree.children[(parent, child[:2])]]
                if parent[0] != child[0]:
                    relations[split].append((_NOT_CROSSED, *split))
                elif not exact:
                    relations[split].append((_OUTSIDE_PARTS, *split))
            if parent_key not in reached:
                reached.add(parent_key)
                pending.append(parent_key)
    return [(parent_key, members) for (parent_key, _), members in relations.items()]


def _populations(table: pd.DataFrame, cols: _Columns, tree: _Hierarchy) -> list[_Population]:
    """Split ``table`` into populations and build each one's relations.

    With an area column (``cols.region``) England and its regions are one population, the area
    the first of the inner columns, so England = the sum of the regions ties their cells.
    """
    outer = [c for c in cols.population if c != cols.region]
    inner = [c for c in cols.partition if c not in outer]
    if cols.region is not None:
        inner = [cols.region, *(c for c in inner if c != cols.region)]
    keyed = _row_keys(table[[*outer, *inner, cols.group]])
    n_pop, total = len(outer), cols.total_group
    grouped: dict[tuple[object, ...], list[int]] = {}
    cell_keys: list[tuple[object, ...]] = []
    for row, values in enumerate(keyed):
        grouped.setdefault(values[:n_pop], []).append(row)
        if values[-1] != total:
            cell_keys.append(values[n_pop:])
        else:
            cell_keys.append(_TOTAL_KEY if cols.region is None else (_TOTAL, values[n_pop]))
    return [_population(cell_keys, rows, inner, cols, tree, dict(zip(outer, key, strict=True)))
            for key, rows in grouped.items()]  # fmt: skip


def _determined(matrix: np.ndarray, unknown: np.ndarray, n_cells: int) -> np.ndarray:
    """Which unknown variables the relations pin to one value.

    Variable ``i`` is determined iff the ``i``-th row of a null-space basis of ``matrix``
    restricted to the unknown columns is zero (every solution agrees on it). An unpublished
    variable (column ``n_cells`` on) that only one relation holds makes that relation say
    nothing about the rest, so both are set aside first, repeatedly (exact, and it keeps the
    decomposition small when England and its regions are one population).
    """
    determined = np.zeros(len(unknown), dtype=bool)
    touches = matrix != 0
    rows = touches[:, unknown].any(axis=1)
    columns = unknown.copy()
    spare = np.arange(len(unknown)) >= n_cells
    while True:
        lonely = columns & spare & (touches[rows].sum(axis=0) == 1)
        if not lonely.any():
            break
        rows &= ~touches[:, lonely].any(axis=1)
        columns &= ~lonely
    sub = matrix[np.ix_(rows, columns)]
    if sub.shape[1] == 0 or not sub.any():
        return determined
    basis = null_space(sub)
    if basis.shape[1] == 0:
        determined[columns] = True
    else:
        determined[columns] = np.abs(basis).max(axis=1) < _TOLERANCE
    return determined


def _unknown(pop: _Population, hidden: np.ndarray) -> np.ndarray:
    """Unknown mask over all variables: the given cells plus every unpublished variable."""
    extra = pop.matrix.shape[1] - pop.n_cells
    return np.concatenate([hidden, np.ones(extra, dtype=bool)])


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
    populations: list[_Population]
    tree: _Hierarchy = field(default_factory=lambda: _Hierarchy())
    threshold: int = MIN_THRESHOLD
    leads: list[_Lead] = field(default_factory=list)
    """The tables leading a one-way :class:`Link` this table follows."""
    lifting: set[tuple[object, ...]] = field(default_factory=set)
    """Link keys of cells suppressed to widen a follower's cell since this table's last
    secondary pass: followers read them as unbounded until that pass has protected them."""
    verified: dict[int, tuple[object, ...]] = field(default_factory=dict)
    """Population index -> its :func:`_inputs` when it was last found protected."""
    link_keys: dict[tuple[str, ...], list[tuple[object, ...]]] = field(default_factory=dict)
    """Link columns -> :func:`_link_keys` of the table's rows."""
    frames: dict[int, _Frame] = field(default_factory=dict)
    """Population index -> the fixed parts of its joint reading (:func:`_frame`)."""
    input_rows: dict[int, _InputRows] = field(default_factory=dict)
    """Population index -> the rows its readings depend on (:func:`_input_rows`)."""

    known_zero: np.ndarray | None = None
    """:attr:`zero` as last worked out (``None`` after a change)."""

    @cached_property
    def measured(self) -> np.ndarray:
        """(base, then each count within it) x rows, as numbers (NaN where missing)."""
        return np.array([self.base, *(_numbers(self.table[c]) for c in self.cols.within)])

    @property
    def zero(self) -> np.ndarray:
        """Rows whose base is known to be 0 (its value is public)."""
        if self.known_zero is None:
            self.known_zero = (self.base == 0) | (self.reason == REASON_ZERO)
        return self.known_zero

    def mark(self, rows: np.ndarray, reason: str) -> bool:
        """Suppress ``rows`` not yet suppressed, with ``reason``; whether anything changed."""
        new = np.asarray(rows, dtype=int)
        new = new[~self.suppressed[new]]
        self.suppressed[new] = True
        self.reason[new] = reason
        self.known_zero = None
        return bool(len(new))


@dataclass(frozen=True)
class _Lead:
    """A table leading a one-way :class:`Link` that another table follows: a reader knows the
    follower's base of a cell is no more than the leader's cell with the same link key (an
    item's respondents in a group are no more than the group's respondents).

    Attributes:
        leader: the leading table, as it is being suppressed.
        on: the link's columns.
        keys: the follower's link key of each of its rows.
        leader_keys: the leader's link key of each of its rows.
        listed: the partitions (link key without the group) of a leader that lists every
            group, so that a "Not stated" with no row there is nobody.
        rows: the follower's rows of each link key.
    """

    leader: _State
    on: tuple[str, ...]
    keys: list[tuple[object, ...]]
    leader_keys: list[tuple[object, ...]]
    listed: set[tuple[object, ...]]
    rows: dict[tuple[object, ...], list[int]]


@dataclass(frozen=True)
class _Unprinted:
    """The leader's cells that a follower population prints and the leader does not
    (:func:`_unprinted`), as one block of a :class:`_Frame`.

    Attributes:
        offset: the joint column of the block's first unknown.
        rows: the follower's rows (every item) with the link key of each unknown, one after
            another; the published ones set its floor.
        owner: the unknown (0-based in the block) of each entry of ``rows``.
        width: the block's columns: its unknowns, then one slack per margin relation.
    """

    offset: int
    rows: np.ndarray
    owner: np.ndarray
    width: int


@dataclass(frozen=True)
class _Frame:
    """What a joint reading of one population (:func:`_joint`) holds that suppression never
    changes (the tables' rows, keys and relations are fixed), built once per population.

    Attributes:
        matrix, measures: the joint relations (variables: the population's, then each leading
            population's and unprinted block's) and measures, as :class:`ranges.Reader` takes
            them.
        unknown: per joint variable, unknown whatever is suppressed (unpublished totals,
            remainders, unprinted cells, slacks); the cells' own entries are filled per reading.
        ceiling: per joint variable, the most its base can be.
        pairs: (k, 2) every ``base_a <= base_b`` pair a reading may hold, in order.
        lifts: per leader, the positions in ``pairs`` of the bounds by its published cells and
            those cells' link keys (a pair is dropped while the leader lifts its key).
        leaders: (leader, its population, its first joint column) per leading population.
        owners: joint variable of each leader cell -> (its table, its rows).
        unprinted: the blocks of leader cells the leader does not print.
    """

    matrix: csr_array
    measures: np.ndarray
    unknown: np.ndarray
    ceiling: np.ndarray
    pairs: np.ndarray
    lifts: list[tuple[_State, np.ndarray, list[tuple[object, ...]]]]
    leaders: list[tuple[_State, _Population, int]]
    owners: dict[int, tuple[_State, np.ndarray]]
    unprinted: list[_Unprinted]

    @cached_property
    def reader(self) -> ranges.Reader:
        """The population's linear program (:class:`ranges.Reader`), built on first use and
        set to each reading in turn (:meth:`_Joint.reader`)."""
        return ranges.Reader(self.matrix, self.measures, self.pairs)


@dataclass(frozen=True)
class _InputRows:
    """The rows whose state a reading of one population depends on (:func:`_inputs`).

    Attributes:
        own: the table's rows: the population's and those sharing a link key with them
            (other items).
        leaders: per leader, its rows in the populations of this scope, and this population's
            link keys (a leader lifting one of them changes the reading).
    """

    own: np.ndarray
    leaders: list[tuple[_State, np.ndarray, set[tuple[object, ...]]]]


@dataclass(frozen=True)
class _Joint:
    """One reading of a population joined to the populations of its leading tables (their
    variables appended after its own, :class:`_Frame`): what suppression has changed.

    Attributes:
        frame: the parts that never change.
        unknown: per joint variable, whether a reader does not see it.
        floor: per joint variable, the least its base can be while hidden.
        kept: per pair of the frame, whether it holds (its leader is not lifting its key).
        published: per joint variable, whether it is a published leader cell.
        floors: appended variable of a cell the leader does not print -> the follower's
            published rows (other items) that set its floor.
    """

    frame: _Frame
    unknown: np.ndarray
    floor: np.ndarray
    kept: np.ndarray
    published: np.ndarray
    floors: dict[int, np.ndarray]

    @cached_property
    def owners(self) -> dict[int, tuple[_State, np.ndarray]]:
        """Appended variable of a published leader cell -> (its table, its rows)."""
        return {int(v): self.frame.owners[int(v)] for v in np.flatnonzero(self.published)}

    @cached_property
    def linked(self) -> dict[int, list[int]]:
        """Own variable -> the appended variables that bound it."""
        linked: dict[int, list[int]] = {}
        for own, appended in self.frame.pairs[self.kept].tolist():
            linked.setdefault(own, []).append(appended)
        return linked

    def reader(self) -> ranges.Reader:
        """The population's reader (:attr:`_Frame.reader`) set to this reading."""
        reader = self.frame.reader
        reader.read(self.unknown, self.frame.ceiling, self.floor, self.kept)
        return reader


def _numbers(series: pd.Series) -> np.ndarray:
    """A column as floats, NaN where missing or not a number."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _observe(name: str, table: pd.DataFrame, layout: TableLayout, tree: _Hierarchy) -> _State:
    """A table's state as it stands: rows flagged in a ``suppressed`` column are suppressed;
    ``tree``: the hierarchy of the release (:func:`_read_hierarchy`, read once for all)."""
    frame = table.reset_index(drop=True)
    cols = _resolve(layout, frame)
    base = _numbers(frame[cols.base])
    suppressed = np.zeros(len(frame), dtype=bool)
    reason = np.full(len(frame), None, dtype=object)
    if "suppressed" in frame.columns:
        suppressed = np.array(frame["suppressed"].fillna(False), dtype=bool)
        old = frame.get("suppression_reason", pd.Series(None, index=frame.index, dtype=object))
        reason = np.where(suppressed, old.fillna(REASON_SECONDARY).to_numpy(dtype=object), None)
    return _State(
        name, frame, cols, base, suppressed, reason, _populations(frame, cols, tree), tree
    )


def _start(
    name: str,
    table: pd.DataFrame,
    layout: TableLayout,
    policy: SuppressionPolicy,
    tree: _Hierarchy,
) -> _State:
    """Resolve the layout and apply primary suppression; rows already suppressed stay so."""
    state = _observe(name, table, layout, tree)
    state.threshold = int(policy.threshold)
    base, zero = state.base, state.base == 0
    if not layout.zeros_shown:
        state.mark(np.flatnonzero(zero), REASON_ZERO)
    state.mark(np.flatnonzero(np.isnan(base)), REASON_BASE_MISSING)
    state.mark(np.flatnonzero((base < policy.threshold) & ~zero), primary_reason(policy.threshold))
    return state


def _cell_status(state: _State, pop: _Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell of ``pop``: suppressed (any of its rows), known zero (all of them), and base
    (the largest of its rows, ``-inf`` if none is a number; for cost)."""
    if not pop.cells:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool), np.zeros(0)
    suppressed = np.logical_or.reduceat(state.suppressed[pop.rows], pop.starts)
    zero = np.logical_and.reduceat(state.zero[pop.rows], pop.starts)
    base = np.fmax.reduceat(state.base[pop.rows], pop.starts)
    return suppressed, zero, np.where(np.isnan(base), -np.inf, base)


def _complement(pop: _Population, hidden: np.ndarray, cell: int, candidates: list[int]) -> int:
    """The first candidate whose suppression un-determines ``cell``.

    If none does on its own, the first candidate: one of the cells in a relation where
    ``cell`` is the only unknown, which must be suppressed in any protection, the smallest
    first. (Preferring whichever candidate leaves the fewest cells determined instead picks
    cells unrelated to ``cell``, which protect nothing and cascade through whole tables.)

    ``cell`` is determined with ``hidden``; a candidate none of whose relations is joined to
    ``cell`` through unknowns (:func:`ranges.joined_rows`) leaves the block of relations that
    determines it as it is, so it is passed over without a decomposition.
    """
    unknown = _unknown(pop, hidden)
    joined = ranges.joined_rows(pop.matrix, unknown, np.flatnonzero(pop.matrix[:, cell]))
    for candidate in candidates:
        if not joined[pop.matrix[:, candidate] != 0].any():
            continue
        trial = hidden.copy()
        trial[candidate] = True
        if not _determined(pop.matrix, _unknown(pop, trial), pop.n_cells)[cell]:
            return candidate
    return candidates[0]


def _candidates(
    pop: _Population, hidden: np.ndarray, zero: np.ndarray, base: np.ndarray, cell: int
) -> list[int]:
    """Published non-zero cells in the order they are tried as complements for ``cell``.

    First those in a relation where ``cell`` is the only unknown (one of them must go), then
    those sharing any relation with it, then the rest; within each, smallest base, then key.
    """
    mine = pop.matrix[pop.matrix[:, cell] != 0]
    alone = (mine[:, _unknown(pop, hidden)] != 0).sum(axis=1) == 1
    sole = (mine[alone, : pop.n_cells] != 0).any(axis=0)
    related = (mine[:, : pop.n_cells] != 0).any(axis=0)
    pool = np.flatnonzero(~hidden & ~zero)
    return sorted(pool, key=lambda c: (not sole[c], not related[c], base[c], pop.keys[c]))


def _measures(state: _State, pop: _Population) -> np.ndarray:
    """(base, then each count within it) x variables: the first row of each cell, NaN for the
    unpublished totals and remainders."""
    first = np.array([rows[0] for rows in pop.cells], dtype=int)
    extra = np.full((len(state.measured), pop.matrix.shape[1] - pop.n_cells), np.nan)
    return np.hstack([state.measured[:, first], extra])


def _frame(state: _State, index: int) -> _Frame:
    """The fixed parts of the joint reading of population ``index`` (:func:`_joint`), worked
    out on first use and kept on ``state``.

    Each of the population's cells is at most the leader's cell with the same link key, and
    each unlisted remainder at most the leader's "Not stated" (0 where the leader lists every
    group but that); a cell the leader does not print is an unknown (:func:`_unprinted`).
    """
    if index in state.frames:
        return state.frames[index]
    pop = state.populations[index]
    matrices: list[tuple[int, np.ndarray | csr_array]] = [(0, pop.matrix)]
    measures, unknown = [_measures(state, pop)], [_unknown(pop, np.zeros(pop.n_cells, bool))]
    ceiling = [np.full(pop.matrix.shape[1], np.inf)]
    pairs: list[tuple[int, int]] = []
    lifts: list[tuple[_State, np.ndarray, list[tuple[object, ...]]]] = []
    leaders: list[tuple[_State, _Population, int]] = []
    owners: dict[int, tuple[_State, np.ndarray]] = {}
    blocks: list[_Unprinted] = []
    offset = pop.matrix.shape[1]
    group = state.cols.group
    for lead in state.leads:
        leader = lead.leader
        at: list[int] = []
        liftable: list[tuple[object, ...]] = []
        for other in _leading(pop, leader):
            index_of = {lead.leader_keys[rows[0]]: offset + j for j, rows in enumerate(other.cells)}
            unprinted: list[tuple[int, tuple[object, ...]]] = []
            for cell, rows in enumerate(pop.cells):
                key = lead.keys[rows[0]]
                if key not in index_of:
                    unprinted.append((cell, key))
                else:
                    at.append(len(pairs))
                    liftable.append(key)
                    pairs.append((cell, index_of[key]))
            for column, values in pop.remainders.items():
                key = _key(NOT_STATED if c == group else values.get(c) for c in lead.on)
                if key in index_of:
                    pairs.append((column, index_of[key]))
                elif _key(values.get(c) for c in lead.on if c != group) in lead.listed:
                    ceiling[0][column] = 0.0
            leaders.append((leader, other, offset))
            owners.update({offset + j: (leader, rows) for j, rows in enumerate(other.cells)})
            matrices.append((offset, other.matrix))
            measures.append(_measures(leader, other))
            unknown.append(_unknown(other, np.zeros(other.n_cells, bool)))
            ceiling.append(np.full(other.matrix.shape[1], np.inf))
            offset += other.matrix.shape[1]
            if unprinted:
                block, links, columns = _unprinted(state, lead, index_of, unprinted, offset)
                pairs += links
                blocks.append(columns)
                matrices.append((0, block))
                measures.append(np.full((1, columns.width), np.nan))
                unknown.append(np.ones(columns.width, dtype=bool))
                ceiling.append(np.full(columns.width, np.inf))
                offset += columns.width
        lifts.append((leader, np.array(at, dtype=int), liftable))
    depth = max(len(m) for m in measures)
    padded = [np.vstack([m, np.full((depth - len(m), m.shape[1]), np.nan)]) for m in measures]
    state.frames[index] = _Frame(
        matrix=_stack(matrices, offset),
        measures=np.hstack(padded),
        unknown=np.concatenate(unknown),
        ceiling=np.concatenate(ceiling),
        pairs=np.array(pairs, dtype=int).reshape(-1, 2),
        lifts=lifts,
        leaders=leaders,
        owners=owners,
        unprinted=blocks,
    )
    return state.frames[index]


def _joint(state: _State, index: int, hidden: np.ndarray) -> _Joint:
    """Population ``index`` with ``hidden`` cells, joined to the populations of the same scope
    in the tables it follows (:class:`_Lead`, :func:`_frame`). A reader holds all of them
    together, so the follower is read within the leader's own relations, not within each
    leader cell's range alone. A leader cell bounds its follower cell unless the leader is
    lifting its key (:attr:`_State.lifting`)."""
    frame = _frame(state, index)
    unknown = frame.unknown.copy()
    unknown[: len(hidden)] = hidden
    published = np.zeros(len(unknown), dtype=bool)
    for leader, other, offset in frame.leaders:
        suppressed, zero, _ = _cell_status(leader, other)
        unknown[offset : offset + other.n_cells] = suppressed & ~zero
        published[offset : offset + other.n_cells] = ~suppressed
    kept = np.ones(len(frame.pairs), dtype=bool)
    for leader, at, keys in frame.lifts:
        if leader.lifting:
            kept[at] = [key not in leader.lifting for key in keys]
    floor = np.zeros(len(unknown))
    floors: dict[int, np.ndarray] = {}
    for block in frame.unprinted:
        floor[block.offset : block.offset + block.width], setters = _floor(state, block)
        floors |= setters
    return _Joint(frame, unknown, floor, kept, published, floors)


def _floor(state: _State, block: _Unprinted) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The floor of each column of an unprinted block: an unprinted cell is at least the most
    any item publishes for it (``max(0, published bases)``); and per unknown with a floor
    above 0, the published rows that set it (those with a base above 0)."""
    shown = ~state.suppressed[block.rows]
    floor = np.zeros(block.width)
    np.fmax.at(floor, block.owner, np.where(shown, state.base[block.rows], np.nan))
    setting = shown & (state.base[block.rows] > 0)
    owner, rows = block.owner[setting], block.rows[setting]
    starts = np.flatnonzero(np.diff(owner, prepend=-1))
    if not len(starts):
        return floor, {}
    setters = dict(zip((block.offset + owner[starts]).tolist(), np.split(rows, starts[1:]),
                       strict=True))  # fmt: skip
    return floor, setters


def _stack(blocks: list[tuple[int, np.ndarray | csr_array]], width: int) -> csr_array:
    """The joint relation matrix, ``width`` columns: each block's rows, its columns starting
    at the block's first column (assembled from the blocks' nonzero entries at once)."""
    entries = [(start, coo_array(block)) for start, block in blocks]
    first_rows = np.cumsum([0, *(entry.shape[0] for _, entry in entries)])
    rows = [entry.row + first for (_, entry), first in zip(entries, first_rows, strict=False)]
    columns = [entry.col + start for start, entry in entries]
    data = np.concatenate([entry.data for _, entry in entries])
    shape = (int(first_rows[-1]), width)
    matrix = csr_array((data, (np.concatenate(rows), np.concatenate(columns))), shape=shape)
    matrix.sum_duplicates()
    return matrix


def _unprinted(
    state: _State,
    lead: _Lead,
    index: Mapping[tuple[object, ...], int],
    cells: list[tuple[int, tuple[object, ...]]],
    offset: int,
) -> tuple[csr_array, list[tuple[int, int]], _Unprinted]:
    """The leader's cells that the follower prints and the leader does not (an intersection,
    say White x Hospital): each is an unknown number of people, at least the most that any
    item publishes for it (:func:`_floor`), and the crossings of one margin add up to no more
    than the leader's margin (White). So items answered by everyone bound each other through
    the people behind them.

    Returns the block's relations (``margin - sum(crossings) - slack = 0``, over every column
    up to and including the block's own: its unknowns from ``offset``, then one slack per
    relation), the pairs (follower cell, its unknown) and the block (:class:`_Unprinted`).
    """
    at = {c: lead.on.index(c) for c in (state.cols.dimension, state.cols.level, state.cols.group)
          if c is not None and c in lead.on}  # fmt: skip
    own = {key: offset + i for i, (_, key) in enumerate(cells)}
    splits: dict[tuple[int, tuple[object, ...]], list[int]] = {}
    if len(at) == 3:
        for _, key in cells:
            node = tuple(key[at[c]] for c in at)
            for parent in state.tree.parents.get(node, []):
                margin = list(key)
                for c, value in zip(at, parent, strict=True):
                    margin[at[c]] = value
                var = index.get(tuple(margin), own.get(tuple(margin)))
                if var is not None:
                    splits.setdefault((var, node[:2]), []).append(own[key])
    width = offset + len(cells) + len(splits)
    matrix = lil_array((len(splits), width))
    for r, ((margin, _), crossings) in enumerate(splits.items()):
        matrix[r, margin] = 1.0
        for var in crossings:
            matrix[r, var] = -1.0
        matrix[r, offset + len(cells) + r] = -1.0
    rows = [np.asarray(lead.rows.get(key, []), dtype=int) for _, key in cells]
    block = _Unprinted(
        offset=offset,
        rows=np.concatenate(rows),
        owner=np.repeat(np.arange(len(cells)), [len(r) for r in rows]),
        width=len(cells) + len(splits),
    )
    return csr_array(matrix), [(cell, own[key]) for cell, key in cells], block


def _read(state: _State, check: Callable[[], _T]) -> _T:
    """``check()`` (a :mod:`ranges` reading of a joined population).

    Raises:
        DisclosureError: the tables' own numbers break the relations their layouts imply (a
            layout or the hierarchy misdescribes a table, so no protection can be judged).
    """
    try:
        return check()
    except ValueError as error:
        raise DisclosureError(
            code="disclosure.relations_broken",
            message=f"table {state.name!r}: its numbers do not add up as its layout says ({error})",
            fix="check the table's layout (partitions, complete, within_base) and the group "
            "hierarchy against the table",
        ) from error


def _first_narrow(
    state: _State, index: int, hidden: np.ndarray, cells: Sequence[int]
) -> int | None:
    """The first of ``cells`` (in their order) of population ``index`` that a reader pins too
    narrowly (:func:`ranges.narrow_cells`), or ``None``; the cells after it are not read."""
    joint = _joint(state, index, hidden)
    return _read(state, lambda: next(
        joint.reader().narrow_cells(cells, threshold=state.threshold), None))  # fmt: skip


def _widening(
    state: _State,
    index: int,
    hidden: np.ndarray,
    cell: int,
    candidates: list[int],
    base: np.ndarray,
) -> tuple[int, list[tuple[_State, np.ndarray]]]:
    """The first candidate (of the first :data:`_WIDENING_TRIES`) whose suppression leaves
    ``cell`` wide enough (:meth:`ranges.Reader.first_widening`), else the first candidate.

    Two more kinds of candidate bound ``cell`` from other populations, each tried by its cost
    (the bases it hides) among the related candidates: the published leader cells above it
    (upper protection, as tau-Argus has it: a hidden item cell is at most its group's published
    respondents), and the other items' published cells that set the floor of the unprinted
    leader cell above it (:func:`_unprinted`). Returns the chosen variable of population
    ``index`` (or ``-1``) and the cells to suppress instead (table, rows).
    """
    pop = state.populations[index]
    joint = _joint(state, index, hidden)
    tries = [ranges.Widening(hide=(int(c),)) for c in candidates[:_WIDENING_TRIES]]
    related = (pop.matrix[pop.matrix[:, cell] != 0][:, : pop.n_cells] != 0).any(axis=0)
    elsewhere: dict[ranges.Widening, list[tuple[_State, np.ndarray]]] = {}
    bounding = [joint.owners[var] for var in joint.linked.get(cell, []) if var in joint.owners]
    if bounding:
        elsewhere[ranges.Widening(lift=(cell,))] = bounding
    below = {var: [own for own, above in joint.linked.items() if var in above and not hidden[own]]
             for var in _floored(joint, cell)}  # fmt: skip
    for var, own in below.items():
        rows = [*joint.floors[var], *(r for c in own for r in pop.cells[c])]
        elsewhere[ranges.Widening(hide=tuple(own), unfloor=(var,))] = [(state, np.array(rows))]
    for widening, cells in elsewhere.items():
        cost = sum(float(np.nansum(table.base[rows])) for table, rows in cells)
        at = next((i for i, t in enumerate(tries) if len(t.hide) == 1 and not t.unfloor
                   and (not related[t.hide[0]] or base[t.hide[0]] > cost)), len(tries))  # fmt: skip
        tries.insert(at, widening)
    found = _read(state, lambda: joint.reader().first_widening(
        cell, tries, threshold=state.threshold))  # fmt: skip
    if found is None and len(elsewhere) > 1:
        # A cell bounded through the people behind several margins needs two of them lowered.
        for one, two in itertools.combinations(list(elsewhere), 2):
            both = ranges.Widening(one.hide + two.hide, one.lift + two.lift,
                                   one.unfloor + two.unfloor)  # fmt: skip
            elsewhere.setdefault(both, elsewhere[one] + elsewhere[two])
        pairs = [w for w in elsewhere if len(w.hide + w.lift + w.unfloor) > 1 and
                 len(w.lift + w.unfloor) > 1]  # fmt: skip
        found = _read(state, lambda: joint.reader().first_widening(
            cell, pairs, threshold=state.threshold))  # fmt: skip
    if found is None:
        return int(candidates[0]), []
    return (found.hide[0], []) if found not in elsewhere else (-1, elsewhere[found])


def _floored(joint: _Joint, cell: int) -> list[int]:
    """The unprinted leader cells above ``cell`` and those sharing a margin with them, that
    have a floor (:func:`_unprinted`): lowering a sibling's floor raises what ``cell`` may be."""
    above = [var for var in joint.linked.get(cell, []) if var not in joint.owners]
    if not above or not joint.floors:
        return []
    columns = csc_array(joint.frame.matrix)
    rows = np.unique(np.concatenate([columns[:, [var]].indices for var in above]))
    near = np.unique(joint.frame.matrix[rows].indices) if len(rows) else np.zeros(0, int)
    return [int(var) for var in {*above, *near} if var in joint.floors]


def _exposed(
    state: _State, index: int, hidden: np.ndarray, proved: set[int]
) -> tuple[list[int], bool]:
    """Hidden cells of population ``index`` the relations determine; if none, the first hidden
    cell (by key) that the ranges pin too narrowly (and whether the ranges test found it).
    ``proved``: cells already read wide enough in this pass, skipped and added to (suppression
    only ever widens a range, so they stay wide).

    Only the first narrow cell by key is looked for: it is the one :func:`_protect` protects
    next, and the cells after it are read once it is protected."""
    pop = state.populations[index]
    determined = hidden & _determined(pop.matrix, _unknown(pop, hidden), pop.n_cells)[: pop.n_cells]
    if determined.any() or not state.cols.ranges:
        return list(np.flatnonzero(determined)), False
    unread = sorted((int(c) for c in np.flatnonzero(hidden) if c not in proved),
                    key=pop.keys.__getitem__)  # fmt: skip
    first = _first_narrow(state, index, hidden, unread)
    proved.update(unread if first is None else unread[: unread.index(first)])
    return ([] if first is None else [first]), True


def _leading(pop: _Population, leader: _State) -> list[_Population]:
    """The leader's populations of the same scope as ``pop`` (read joined to it)."""
    return [other for other in leader.populations
            if all(pop.scope.get(c, v) == v for c, v in other.scope.items())]  # fmt: skip


def _input_rows(state: _State, index: int) -> _InputRows:
    """The rows a reading of population ``index`` depends on (:class:`_InputRows`), worked out
    on first use and kept on ``state``."""
    if index not in state.input_rows:
        pop = state.populations[index]
        own, leaders = [pop.rows], []
        for lead in state.leads:
            keys = {lead.keys[rows[0]] for rows in pop.cells}
            own += [np.asarray(lead.rows[key], dtype=int) for key in keys]
            theirs = [other.rows for other in _leading(pop, lead.leader)]
            rows = np.concatenate(theirs) if theirs else np.zeros(0, dtype=int)
            leaders.append((lead.leader, rows, keys))
        state.input_rows[index] = _InputRows(np.unique(np.concatenate(own)), leaders)
    return state.input_rows[index]


def _inputs(state: _State, index: int) -> tuple[object, ...]:
    """Everything suppression changes that a reading of population ``index`` (:func:`_joint`)
    depends on: which of its rows, of the same table's rows sharing a link key with them (other
    items) and of the leaders' populations of its scope are suppressed or known zero, and which
    of its link keys a leader is lifting (:func:`_input_rows`). Equal inputs give the same
    reading."""
    rows = _input_rows(state, index)
    parts: list[object] = []
    for leader, theirs, keys in rows.leaders:
        parts += [leader.suppressed[theirs].tobytes(), leader.zero[theirs].tobytes(),
                  frozenset(leader.lifting & keys)]  # fmt: skip
    return (state.suppressed[rows.own].tobytes(), state.zero[rows.own].tobytes(), *parts)


def _protect(state: _State, index: int) -> bool:
    """Secondary suppression in population ``index`` until no suppressed cell is determined or
    pinned to a range a reader could use (:mod:`toolkit.disclosure.ranges`). A population whose
    :func:`_inputs` are as when it was last found protected is not read again."""
    pop = state.populations[index]
    suppressed, zero, base = _cell_status(state, pop)
    if not (suppressed & ~zero).any() or state.verified.get(index) == _inputs(state, index):
        return False
    changed = False
    proved: set[int] = set()
    while True:
        hidden = suppressed & ~zero
        exposed, by_range = _exposed(state, index, hidden, proved)
        if not exposed:
            state.verified[index] = _inputs(state, index)
            return changed
        cell = int(min(exposed, key=lambda c: pop.keys[c]))
        candidates = _candidates(pop, hidden, zero, base, cell)
        if not candidates:
            raise DisclosureError(
                code="disclosure.unprotectable",
                message=f"table {state.name!r}: a suppressed cell is fixed by zero cells alone",
                value=pop.keys[cell],
                fix="check that the groups of each partition add up to its total; for a table "
                "that omits groups, use TableLayout(complete=False) and link it",
            )
        if not by_range:
            chosen = _complement(pop, hidden, cell, candidates)
        else:
            chosen, elsewhere = _widening(state, index, hidden, cell, candidates, base)
            if elsewhere:  # read on at once: the reader sees the cells it suppressed as hidden
                _suppress_elsewhere(state, pop, cell, elsewhere)
                suppressed, zero, base = _cell_status(state, pop)
                changed = True
                continue
        suppressed[chosen] = True
        changed |= state.mark(pop.cells[chosen], REASON_SECONDARY)


def _secondary(state: _State) -> bool:
    """Secondary suppression over every population of the table; whether anything changed."""
    state.lifting.clear()
    changed = False
    for index in range(len(state.populations)):
        changed |= _protect(state, index)
    return changed


def _link_keys(state: _State, on: tuple[str, ...]) -> list[tuple[object, ...]]:
    """The link key of every row of a table (worked out once per table and columns ``on``:
    a table's rows never change while it is suppressed)."""
    if on not in state.link_keys:
        missing = [c for c in on if c not in state.table.columns]
        if missing:
            raise DisclosureError(
                code="disclosure.bad_link",
                message=f"table {state.name!r} lacks a column named in a link",
                column=missing[0],
                fix="link tables only on columns they all have",
            )
        state.link_keys[on] = _row_keys(state.table[list(on)])
    return state.link_keys[on]


def _link_codes(states: Mapping[str, _State], link: Link) -> dict[str, np.ndarray]:
    """Table -> the link key of each of its rows as an integer, equal across the link's tables
    exactly when the keys are equal (so the link's bookkeeping is array work)."""
    index: dict[tuple[object, ...], int] = {}
    return {name: np.array([index.setdefault(key, len(index))
                            for key in _link_keys(states[name], link.on)], dtype=np.intp)
            for name in link.tables}  # fmt: skip


def _hidden_source(
    states: Mapping[str, _State], link: Link, codes: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Per link key code (:func:`_link_codes`): the position in ``link.tables`` of the first
    table leading the link (every table; the first for a one-way link) that suppresses it, or
    -1 where none does."""
    source = np.full(1 + max((int(c.max(initial=-1)) for c in codes.values()), default=-1), -1)
    leading = link.tables[:1] if link.one_way else link.tables
    for at in reversed(range(len(leading))):  # the first table's claim is written last
        source[codes[leading[at]][states[leading[at]].suppressed]] = at
    return source


def _apply_link(states: Mapping[str, _State], link: Link, codes: Mapping[str, np.ndarray]) -> bool:
    """Suppress in every linked table the cells suppressed in any of them (in the first, for a
    one-way link); ``codes``: :func:`_link_codes` of the link.

    Every row carrying a suppressed key is suppressed, in the other tables and in the same
    table too (a table may hold the same cell more than once, e.g. once per indicator).
    """
    source = _hidden_source(states, link, codes)
    changed = False
    for name in link.tables:
        by = source[codes[name]]
        for at in np.unique(by[by >= 0]):
            changed |= states[name].mark(np.flatnonzero(by == at), linked_reason(link.tables[at]))
    return changed


def _suppress_elsewhere(
    state: _State, pop: _Population, cell: int, cells: list[tuple[_State, np.ndarray]]
) -> None:
    """Suppress the cells of other populations that bound ``cell`` (:func:`_widening`). Leader
    cells: the followers read ``cell`` without their bound until each leader's next pass has
    protected them (:attr:`_State.lifting`)."""
    for table, rows in cells:
        if table is state:
            table.mark(rows, REASON_SECONDARY)
            continue
        table.mark(rows, f"secondary: bounds a suppressed cell in linked table '{state.name}'")
        for lead in state.leads:
            if lead.leader is table:
                table.lifting.add(lead.keys[pop.cells[cell][0]])


def _leads(states: Mapping[str, _State], links: Sequence[Link], name: str) -> list[_Lead]:
    """The tables leading the one-way links that table ``name`` follows (see :class:`_Lead`)."""
    leads = []
    for link in (link for link in links if link.one_way and name in link.tables[1:]):
        leader = states[link.tables[0]]
        keys = _link_keys(leader, link.on)
        at = link.on.index(leader.cols.group) if leader.cols.group in link.on else None
        listed = ({key[:at] + key[at + 1 :] for key in keys}
                  if leader.cols.complete and at is not None else set())  # fmt: skip
        follower = _link_keys(states[name], link.on)
        rows: dict[tuple[object, ...], list[int]] = {}
        for row, key in enumerate(follower):
            rows.setdefault(key, []).append(row)
        leads.append(_Lead(leader, link.on, follower, keys, listed, rows))
    return leads


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
    parts = _row_keys(state.table[list(cols.partition)])
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


def _apply_rounding(
    out: pd.DataFrame, counts: Sequence[str], suppressed: np.ndarray, reason: np.ndarray,
    rounding: Rounding,
) -> None:  # fmt: skip
    """Round the ``counts`` columns of ``out`` in place, and add a note to ``reason`` in every
    published row where a count was shown as "*"."""
    if rounding == "none":
        return
    starred = np.zeros(len(out), dtype=bool)
    for col in counts:
        out[col], small = _round_to_five(out[col], _ROUNDING_LIMIT[rounding])
        starred |= small & ~suppressed
    limit = _ROUNDING_LIMIT[rounding]
    note = f"rounded: counts 1-{limit - 1} shown as * ({_ROUNDING_LABEL[rounding]})"
    reason[starred] = [note if r is None else f"{r}; {note}" for r in reason[starred]]


def _finish(state: _State, policy: SuppressionPolicy, index: pd.Index) -> pd.DataFrame:
    """The published table: blanked values, reasons, rounded counts, original index."""
    out = state.table.copy()
    withheld = _reference_withheld(state)
    for col in dict.fromkeys((*state.cols.values, *state.cols.comparisons, *state.cols.counts)):
        blank = state.suppressed if col in state.cols.values else np.zeros(len(out), dtype=bool)
        if col in state.cols.comparisons:
            blank = blank | withheld
        out[col] = _nullable(out[col]).mask(blank) if blank.any() else _nullable(out[col])
    reason = state.reason.copy()
    reason[withheld] = REASON_REFERENCE
    _apply_rounding(out, state.cols.counts, state.suppressed, reason, policy.rounding)
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
    hierarchy: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Suppress small cells consistently across the tables of one output.

    Args:
        tables: name -> tidy table (see :class:`TableLayout` for the roles of columns).
        policy: threshold, rounding and secondary switch.
        layouts: name -> layout; a table without one uses ``TableLayout()``.
        links: cells shared between tables (e.g. the estimates and comparisons tables on
            survey, cycle, region, indicator, dimension, level, group).
        hierarchy: ``dimension, level, group, parent_level, parent_group`` [``parent_dimension``].

    Returns:
        name -> the table with value columns blanked (NA) in suppressed rows, count columns
        rounded under the policy, and two more columns: ``suppressed`` (bool) and
        ``suppression_reason`` (str or None). Primary, links and secondary suppression are
        iterated until nothing changes.
    """
    layouts = layouts or {}
    leaders = {link.tables[0] for link in links if link.one_way}
    names = sorted(tables, key=lambda name: name not in leaders)  # leaders widen first
    tree = _read_hierarchy(hierarchy)
    states = {
        name: _start(name, tables[name], layouts.get(name, TableLayout()), policy, tree)
        for name in names
    }
    for name, state in states.items():
        state.leads = _leads(states, links, name)
    codes = [_link_codes(states, link) for link in links]
    changed = True
    while changed:
        changed = False
        for link, link_codes in zip(links, codes, strict=True):
            changed |= _apply_link(states, link, link_codes)
        if policy.secondary:
            for state in states.values():  # leaders first, so followers see their state
                changed |= _secondary(state)
    return {name: _finish(states[name], policy, tables[name].index) for name in tables}


def round_counts(
    tables: Mapping[str, pd.DataFrame],
    *,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout] | None = None,
) -> dict[str, pd.DataFrame]:
    """Round the count columns of tables already suppressed (by :func:`suppress_linked` with
    ``rounding="none"``) under ``policy.rounding``, as :func:`suppress_linked` would have.

    Rounding only widens what a reader can infer (a rounded count stands for an interval
    around the true one), so a release can be attacked before it is rounded and the verdict
    holds for the rounded release. Tables without a layout use ``TableLayout()``.
    """
    layouts = layouts or {}
    rounded = {}
    for name, table in tables.items():
        out = table.copy()
        cols = _resolve(layouts.get(name, TableLayout()), out)
        suppressed = out["suppressed"].fillna(False).to_numpy(dtype=bool)
        reason = np.array([None if pd.isna(r) else r for r in out["suppression_reason"]],
                          dtype=object)  # fmt: skip
        _apply_rounding(out, cols.counts, suppressed, reason, policy.rounding)
        out["suppression_reason"] = pd.Series(reason, dtype=object, index=out.index)
        rounded[name] = out
    return rounded


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
        solution[unknown] = np.linalg.lstsq(pop.matrix[:, unknown], rhs, rcond=None)[0]
    return solution


def _audit_population(state: _State, pop: _Population, threshold: int) -> list[_Finding]:
    """Suppressed cells recoverable by differencing, and hidden bases derivable under threshold."""
    suppressed, zero, _ = _cell_status(state, pop)
    base_hidden = np.array([np.isnan(state.base[r]).all() for r in pop.cells], dtype=bool)
    hidden = (suppressed | base_hidden) & ~zero
    unknown = _unknown(pop, hidden)
    determined = _determined(pop.matrix, unknown, pop.n_cells)[: pop.n_cells] & hidden
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
    """Cells published in one linked table but suppressed in another (that leads the link)."""
    codes = _link_codes(states, link)
    source = _hidden_source(states, link, codes)
    findings: list[_Finding] = []
    for name in link.tables:
        state = states[name]
        for row, at in enumerate(source[codes[name]]):
            if at >= 0 and link.tables[at] != name and not state.suppressed[row]:
                problem = f"published here but suppressed in linked table '{link.tables[at]}'"
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
    tree = _read_hierarchy(hierarchy)
    for name, table in tables.items():
        if "suppressed" not in table.columns:
            findings.append((name, -1, "suppressed", np.nan, "not passed through suppression"))
        states[name] = _observe(name, table, layouts.get(name, TableLayout()), tree)
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
    raise_first_finding(
        audit_disclosure(tables, policy=policy, layouts=layouts, links=links, hierarchy=hierarchy),
        code="disclosure.leak",
        what="disclosure problem(s)",
        fix="run the tables through toolkit.disclosure.suppression.suppress_linked before publishing",
        details_key="audit",
        with_problem=True,
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
