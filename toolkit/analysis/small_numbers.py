"""Small numbers, honestly (issue 15): funnel plots of regions and partially pooled estimates.

Suppression answers "may we publish this?"; these tables answer "is this region, or this small
group, really different, or is it noise?". Both are built from the **published** comparison
cells (``comparisons`` after disclosure control: each cell's ``n`` and ``events``), never from
respondents and never from a suppressed cell, for the plan's headline indicators
(:class:`toolkit.analysis.plan.SmallNumbersSpec`).

* ``funnel_units`` (:data:`FUNNEL_UNIT_COLUMNS`): per indicator x cycle x binary dimension x
  group (e.g. ethnic minority staff), each region's rate for that group against England's rate
  for the same group: the proportion funnel of :func:`toolkit.stats.funnel.funnel` (arcsine
  scale, control limits at the region's own ``n``, over-dispersion by the plan's method). The
  question it answers: is the rate of ethnic minority staff experiencing X in this region
  different from England's rate for ethnic minority staff by more than chance (and the usual
  spread between regions) allows? Both groups of the binary dimension are placed, so a reader
  can tell a region that differs for everyone from one where only the minority group differs.
  ``flag`` is "inside", "above 95%", "above 99.8%", "below 95%" or "below 99.8%".
* ``funnel_limits`` (:data:`FUNNEL_LIMIT_COLUMNS`): the control-limit curves of each funnel for
  drawing, ``limit_points`` denominators from 3 to the largest region's ``n``.
* ``pooled_estimates`` (:data:`POOLED_ESTIMATE_COLUMNS`): per indicator x cycle, each region x
  group cell of the binary dimensions and, with ``intersections``, each intersection cell
  nationally and by region: the raw rate ``events / n`` beside a partially pooled rate and its
  interval (:func:`toolkit.stats.pooling.pooled_rates`). With ``glmm`` the regional cells are
  fitted as ``cbind(events, n - events) ~ margins + (1 | region) + (1 | region:group)`` and
  England's intersection cells as ``~ margins + (1 | group)``, the margins of the group
  (ethnicity; ethnicity and disability ...) as fixed effects: a cell borrows strength from its
  margins and its region and keeps its own departure from them only as far as its size supports
  it (as in intersectional MAIHDA models, Evans et al. 2018, Soc Sci Med 203:64-73). The gaps
  between the margins' groups are estimated from all the published cells, not shrunk. A margin
  with a level that has no events (or only events) among the published cells, common for small
  sectors, would have an infinite fixed effect, so that margin enters as a random intercept
  instead (``model`` says which). With ``beta-binomial`` each group's regional rates shrink towards
  one beta prior fitted to that group's regions, and England's intersection cells towards a
  prior per first margin (e.g. per ethnic group).

Disclosure: a fit over a suppressed cell would carry information about it (the pooled values,
phi and tau-squared all depend on its counts, and with every other cell's counts published an
attacker could refit the model over the few values it can take). So the funnels and the pooled
fits see only published cells, the target is England's published rate for the group, and a
region or cell suppressed in ``comparisons`` keeps a row here, suppressed with the same reason
and no numbers. Every published number is then a function of numbers already in the release.
The rows are the comparisons' cells (same survey, cycle, region, indicator, dimension, level,
group, n and events), declared by :data:`LAYOUTS` and :data:`LINKS` so the audit checks that one
decision covers both. Counts are unweighted (the cells' ``n`` and ``events``), also when the plan
weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from toolkit.analysis.plan import SmallNumbersSpec
from toolkit.disclosure.suppression import Link, TableLayout
from toolkit.stats.funnel import funnel_columns, limit_curves, limit_grid
from toolkit.stats.pooling import CI_METHODS, pooled_fit

NATIONAL = "England"
KEYS = ("survey", "cycle", "indicator", "dimension", "level")
CELL = ("survey", "cycle", "region", "dimension", "level", "group", "indicator")
FUNNEL_UNIT_COLUMNS = (
    "survey", "cycle", "region", "indicator", "dimension", "level", "group", "is_reference", "n",
    "events", "estimate", "target", "z", "trimmed", "lower_998", "lower_95", "upper_95",
    "upper_998", "flag", "kind", "limits_method", "adjust", "phi", "tau2", "trim",
    "trim_fraction", "n_units", "note", "suppressed", "suppression_reason",
)  # fmt: skip
"""Columns of ``funnel_units``: one row per region x indicator x cycle x dimension x level x
group; ``estimate`` the region's rate, ``target`` England's, the limits at the region's ``n``,
``phi``, ``tau2`` and ``n_units`` (regions in phi) shared by the funnel."""
FUNNEL_LIMIT_COLUMNS = (
    "survey", "cycle", "indicator", "dimension", "level", "group", "denominator", "limit",
    "limit_level", "side", "kind", "limits_method", "adjust",
)  # fmt: skip
"""Columns of ``funnel_limits``: ``limit`` at ``denominator`` (respondents) for ``limit_level``
("95%", "99.8%") and ``side`` ("lower", "upper")."""
POOLED_ESTIMATE_COLUMNS = (
    "survey", "cycle", "region", "indicator", "dimension", "level", "group", "n", "events",
    "estimate", "pooled", "ci_low", "ci_high", "ci_method", "method", "model", "n_cells",
    "converged", "note", "suppressed", "suppression_reason",
)  # fmt: skip
"""Columns of ``pooled_estimates``: one row per cell; ``estimate`` the raw rate, ``pooled`` the
partially pooled one with its interval (``ci_low``, ``ci_high``), ``model`` the fitted model,
``n_cells`` the published cells it was fitted to."""
_PARTITION = ("survey", "cycle", "region", "indicator", "dimension", "level")
LAYOUTS = {
    "funnel_units": TableLayout(partition_cols=_PARTITION, complete=False),
    "pooled_estimates": TableLayout(partition_cols=_PARTITION, complete=False),
}
"""Disclosure layouts: subsets of the comparisons' cells, never complete partitions."""
LINKS = (Link(("comparisons", "funnel_units", "pooled_estimates"), CELL),)
"""A cell of ``funnel_units`` or ``pooled_estimates`` is the comparisons' cell with the same
keys: suppressed in all or in none."""
MODELS = {
    ("glmm", "region"): "logit ~ {fixed} + (1 | region){random} + (1 | region:group)",
    ("glmm", "national"): "logit ~ {fixed}{random} + (1 | group)",
    ("beta-binomial", "region"): "beta prior per group across regions",
    ("beta-binomial", "national"): "beta prior per first-margin group",
}
NOTE_TOO_FEW = "fewer than 2 published cells: not pooled"
NOTE_DEGENERATE = "no events, or only events, in every published cell: not pooled"
NOTE_NOT_CONVERGED = "model fit did not report convergence"


@dataclass(frozen=True)
class SmallNumbers:
    """Result of :func:`small_numbers_tables`.

    Attributes:
        tables: ``funnel_units`` and ``pooled_estimates`` (with ``suppressed`` and
            ``suppression_reason``; disclosure described by :data:`LAYOUTS` and :data:`LINKS`).
        limits: ``funnel_limits`` (curves only: no counts, nothing to suppress).
    """

    tables: dict[str, pd.DataFrame]
    limits: pd.DataFrame


def _hidden(rows: pd.DataFrame) -> np.ndarray:
    return rows["suppressed"].astype("boolean").fillna(False).astype(bool).to_numpy()


def _suppressed_rows(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Suppressed comparison cells as rows of a new table: keys and reason, no numbers."""
    keep = [c for c in (*CELL, "is_reference", "suppressed", "suppression_reason") if c in columns]
    return rows[keep].reindex(columns=list(columns))


_USED = (*CELL, "is_reference", "n", "events", "estimate", "suppressed", "suppression_reason")


def _selected(
    comparisons: pd.DataFrame, indicators: Sequence[str], pairs: set[tuple[str, str]]
) -> pd.DataFrame:
    """The comparison columns used here, for ``indicators`` and (dimension, level) ``pairs``."""
    rows = comparisons.loc[comparisons["indicator"].isin(list(indicators)), list(_USED)]
    wanted = pd.Series(list(zip(rows["dimension"], rows["level"], strict=True)), index=rows.index)
    return rows[wanted.isin(list(pairs))].reset_index(drop=True)


def _partitions(rows: pd.DataFrame, keys: Sequence[str]) -> list[np.ndarray]:
    """Row positions of each partition of ``rows`` by ``keys``, partitions in sorted key order
    and rows in table order (what ``groupby(keys, sort=True)`` would iterate, without slicing a
    DataFrame per partition)."""
    if rows.empty:
        return []
    codes = rows.groupby(list(keys), sort=True, observed=True).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)


@dataclass(frozen=True)
class _Cells:
    """The selected comparison rows as arrays (one entry per row; ``region``, ``group`` and
    ``dimension`` as text objects)."""

    hidden: np.ndarray
    national: np.ndarray
    n: np.ndarray
    events: np.ndarray
    estimate: np.ndarray
    region: np.ndarray
    group: np.ndarray
    dimension: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Cells:
        def text(column: str) -> np.ndarray:
            return rows[column].astype(str).to_numpy(dtype=object)

        return cls(
            hidden=_hidden(rows),
            national=(rows["region"] == NATIONAL).to_numpy(dtype=bool),
            n=rows["n"].to_numpy(dtype=float, na_value=np.nan),
            events=rows["events"].to_numpy(dtype=float, na_value=np.nan),
            estimate=rows["estimate"].to_numpy(dtype=float, na_value=np.nan),
            region=text("region"),
            group=text("group"),
            dimension=text("dimension"),
        )

    def shown(self, positions: np.ndarray, *, national: bool) -> np.ndarray:
        """The published cells with respondents among ``positions``, England's or the regions'."""
        keep = (self.national[positions] == national) & ~self.hidden[positions]
        return positions[keep & (self.n[positions] > 0)]


def _repeat(values: Sequence[object], sizes: Sequence[int]) -> np.ndarray:
    """Each of ``values`` repeated by its size, as one column."""
    if any(value is None for value in values):
        column = np.empty(len(values), dtype=object)
        column[:] = list(values)
    else:
        column = np.asarray(values)
    return np.repeat(column, sizes)


# --- funnels ----------------------------------------------------------------------------------


def funnel_tables(
    comparisons: pd.DataFrame, spec: SmallNumbersSpec, *, indicators: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``funnel_units`` and ``funnel_limits`` from the published comparisons (module docstring).

    One funnel per indicator x cycle x dimension x level x group with England's rate published
    and at least one region published; each funnel is placed on arrays and the tables are
    built once.
    """
    rows = _selected(comparisons, indicators, {(d.name, d.level) for d in spec.dimensions})
    cells = _Cells.of(rows)
    placed, hidden, funnels, grids = [], [], [], []
    for positions in _partitions(rows, (*KEYS, "group")):
        national = positions[cells.national[positions] & ~cells.hidden[positions]]
        shown = cells.shown(positions, national=False)
        if not len(national) or not len(shown):
            continue
        regional = positions[~cells.national[positions]]
        columns = funnel_columns(cells.events[shown], cells.n[shown], kind="proportion",
                                 adjust=spec.funnel_adjust, trim=spec.funnel_trim,
                                 trim_fraction=0.1, target=float(cells.estimate[national[0]]))  # fmt: skip
        grid = limit_grid("proportion", float(cells.n[shown].max()), spec.limit_points)
        curves = limit_curves(grid, target=float(columns["target"]), kind="proportion",
                              adjust=str(columns["adjust"]), phi=float(columns["phi"][0]),
                              tau2=float(columns["tau2"][0]))  # fmt: skip
        placed.append(shown)
        hidden.append(regional[cells.hidden[regional]])
        funnels.append(columns)
        grids.append((shown[0], grid, columns, curves))
    if not funnels:
        return (pd.DataFrame(columns=list(FUNNEL_UNIT_COLUMNS)),
                pd.DataFrame(columns=list(FUNNEL_LIMIT_COLUMNS)))  # fmt: skip
    return _unit_table(rows, placed, hidden, funnels), _limit_table(rows, grids)


def _unit_table(
    rows: pd.DataFrame,
    placed: list[np.ndarray],
    hidden: list[np.ndarray],
    funnels: list[dict[str, object]],
) -> pd.DataFrame:
    """``funnel_units``: the placed regions with their funnel's columns, then the suppressed."""
    sizes = [len(p) for p in placed]
    shown = np.concatenate(placed)
    units = rows.iloc[shown][[*KEYS, "group", "region"]].reset_index(drop=True)
    for column in FUNNEL_UNIT_COLUMNS:
        if column in units or column not in funnels[0]:
            continue
        if np.ndim(funnels[0][column]) == 0:
            units[column] = _repeat([f[column] for f in funnels], sizes)
        else:
            units[column] = np.concatenate([np.asarray(f[column]) for f in funnels])
    first = rows["is_reference"].to_numpy()[[p[0] for p in placed]]
    units["is_reference"] = np.repeat(first.astype(bool), sizes)
    units["suppressed"] = False
    units["suppression_reason"] = None
    suppressed = _suppressed_rows(rows.iloc[np.concatenate(hidden)], FUNNEL_UNIT_COLUMNS)
    return _frame([units.reindex(columns=list(FUNNEL_UNIT_COLUMNS)), suppressed],
                  FUNNEL_UNIT_COLUMNS, sort=(*KEYS, "group", "region"))  # fmt: skip


def _limit_table(
    rows: pd.DataFrame,
    grids: list[tuple[int, np.ndarray, dict[str, object], list[tuple[str, str, np.ndarray]]]],
) -> pd.DataFrame:
    """``funnel_limits``: every funnel's curves, funnels in partition order."""
    sizes = [len(grid) * len(curves) for _, grid, _, curves in grids]
    keys = rows.iloc[[position for position, *_ in grids]][[*KEYS, "group"]]
    table = pd.DataFrame({key: np.repeat(keys[key].to_numpy(), sizes) for key in keys.columns})
    table["denominator"] = np.concatenate([np.tile(g, len(c)) for _, g, _, c in grids])
    table["limit"] = np.concatenate([v for *_, curves in grids for *_, v in curves])
    for column, part in (("limit_level", 0), ("side", 1)):
        table[column] = np.concatenate(
            [
                _repeat([c[part] for c in curves], [len(g)] * len(curves))
                for _, g, _, curves in grids
            ]
        )
    for column in ("kind", "limits_method", "adjust"):
        table[column] = _repeat([str(f[column]) for _, _, f, _ in grids], sizes)
    return table[list(FUNNEL_LIMIT_COLUMNS)]


def _frame(parts: list[pd.DataFrame], columns: Sequence[str], sort: Sequence[str]) -> pd.DataFrame:
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=list(columns))
    table = pd.concat(parts, ignore_index=True)[list(columns)]
    if "suppressed" in table.columns:
        table["suppressed"] = table["suppressed"].astype(bool)
    if sort:
        table = table.sort_values(list(sort), kind="stable", ignore_index=True)
    return table


# --- pooled estimates -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fitted:
    """Pooled values of some cells (row positions) from one fit."""

    positions: np.ndarray
    pooled: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ci_method: object
    converged: object
    note: str
    model: str


def _block_fit(
    frame: pd.DataFrame, positions: np.ndarray, *, crossed: list[str], fixed: list[str],
    method: str, level: float, model: str,
) -> _Fitted:  # fmt: skip
    """One fit of :func:`toolkit.stats.pooling.pooled_fit` over the cells of ``frame`` (one
    row per cell: ``cell``, ``region``, margins, ``n``, ``events``) at ``positions``."""
    y, n = frame["events"].to_numpy(), frame["n"].to_numpy()
    note = NOTE_TOO_FEW if len(frame) < 2 else ""
    if y.sum() in (0, n.sum()):
        note = note or NOTE_DEGENERATE
    empty = np.full(len(frame), np.nan)
    if note:
        return _Fitted(positions, empty, empty, empty, None, None, note, model)
    result = pooled_fit(frame, group="cell", crossed=crossed, covariates=fixed,
                        method=method, level=level)  # fmt: skip
    at = pd.Index(result.labels["cell"]).get_indexer(frame["cell"])
    return _Fitted(positions, result.pooled[at], result.ci_low[at], result.ci_high[at],
                   CI_METHODS[method], result.converged,
                   "" if result.converged else NOTE_NOT_CONVERGED, model)  # fmt: skip


def _degenerate(events: np.ndarray, n: np.ndarray, levels: np.ndarray) -> bool:
    """Whether some level has no events, or only events, in the cells."""
    codes = np.unique(levels, return_inverse=True)[1]
    sums_y, sums_n = np.bincount(codes, weights=events), np.bincount(codes, weights=n)
    return bool(((sums_y == 0) | (sums_y == sums_n)).any())


def _fit(
    cells: _Cells, positions: np.ndarray, *, scope: str, method: str, level: float
) -> list[_Fitted]:
    """Pooled estimates of the published comparison cells at ``positions`` by one model.

    ``scope`` "region": regional cells (random region, margin and region x group effects);
    "national": England's intersection cells (random margin and cell effects). Models in the
    module docstring and :data:`MODELS`. The cells go to the fit as plain text columns: ``cell``
    (region | group), ``region``, one column per margin of the group label (``m0``, ``m1``).
    """
    region, group = cells.region[positions], cells.group[positions]
    parts = [label.split(" × ") for label in group]
    names = str(cells.dimension[positions[0]]).split(" × ")
    margins = {f"m{i}": np.array([p[i] for p in parts], dtype=object) for i in range(len(names))}
    frame = pd.DataFrame({"cell": region + " | " + group, "region": region, **margins,
                          "n": cells.n[positions], "events": cells.events[positions]})  # fmt: skip
    y, n = frame["events"].to_numpy(), frame["n"].to_numpy()
    glmm = method == "glmm"
    fixed = [m for m in margins if not _degenerate(y, n, margins[m])] if glmm else []
    random = [m for m in margins if m not in fixed] if glmm else []
    model = MODELS[(method, scope)].format(
        fixed=" + ".join(names[int(m[1:])] for m in fixed) or "1",
        random="".join(f" + (1 | {names[int(m[1:])]})" for m in random),
    )
    options = {"fixed": fixed, "method": method, "level": level, "model": model}
    if glmm:
        crossed = ["region", *random] if scope == "region" else random
        return [_block_fit(frame, positions, crossed=crossed, **options)]
    by = group if scope == "region" else margins["m0"]
    return [
        _block_fit(
            frame.iloc[block].reset_index(drop=True), positions[block], crossed=[], **options
        )
        for block in _partitions(pd.DataFrame({"by": by}), ["by"])
    ]


def _pooled_rows(rows: pd.DataFrame, fits: list[_Fitted], method: str) -> pd.DataFrame:
    """``pooled_estimates`` rows of the fitted cells, built once from every fit."""
    sizes = [len(f.positions) for f in fits]
    table = rows.iloc[np.concatenate([f.positions for f in fits])][
        [*CELL, "n", "events", "estimate"]
    ].reset_index(drop=True)
    for column in ("pooled", "ci_low", "ci_high"):
        table[column] = np.concatenate([getattr(f, column) for f in fits])
    for column in ("ci_method", "converged", "note", "model"):
        table[column] = _repeat([getattr(f, column) for f in fits], sizes)
    table["n_cells"] = np.repeat(sizes, sizes)
    return table.assign(method=method, suppressed=False, suppression_reason=None)


def pooled_table(
    comparisons: pd.DataFrame,
    spec: SmallNumbersSpec,
    *,
    indicators: Sequence[str],
    intersections: Sequence[tuple[str, str]],
    level: float,
) -> pd.DataFrame:
    """``pooled_estimates`` from the published comparisons (module docstring).

    ``intersections`` are the plan's intersection (dimension, level) pairs as they appear in
    the comparisons (e.g. ``("ethnicity × disability", "binary×binary")``).
    """
    crossings = set(intersections) if spec.intersections else set()
    rows = _selected(
        comparisons, indicators, {(d.name, d.level) for d in spec.dimensions} | crossings
    )
    cells = _Cells.of(rows)
    dims = list(zip(rows["dimension"], rows["level"], strict=True))
    fits: list[_Fitted] = []
    hidden = []
    with threadpool_limits(1):  # small dense solves: one BLAS thread is faster
        for positions in _partitions(rows, KEYS):
            scopes = [("region", cells.shown(positions, national=False))]
            if dims[positions[0]] in crossings:
                scopes.append(("national", cells.shown(positions, national=True)))
            for scope, shown in scopes:
                if len(shown):
                    fits += _fit(cells, shown, scope=scope, method=spec.pooling_method,
                                 level=level)  # fmt: skip
            hidden.append(positions[cells.hidden[positions]])
    parts = [_pooled_rows(rows, fits, spec.pooling_method)] if fits else []
    parts.append(_suppressed_rows(rows.iloc[np.concatenate(hidden or [[]]).astype(int)],
                                  POOLED_ESTIMATE_COLUMNS))  # fmt: skip
    return _frame([p.reindex(columns=list(POOLED_ESTIMATE_COLUMNS)) for p in parts],
                  POOLED_ESTIMATE_COLUMNS, sort=(*KEYS, "region", "group"))  # fmt: skip


def small_numbers_tables(
    spec: SmallNumbersSpec,
    comparisons: pd.DataFrame,
    *,
    indicators: Sequence[str],
    intersections: Sequence[tuple[str, str]],
    level: float,
) -> SmallNumbers:
    """Funnel and pooled tables for ``spec`` from the published (suppressed) ``comparisons``.

    Args:
        spec: the plan's ``small_numbers`` section.
        comparisons: the bundle's comparisons after disclosure control.
        indicators: the plan's indicators; ``spec.indicators`` (None = all) picks among them.
        intersections: the plan's intersections as (dimension, level) of the comparisons.
        level: confidence level of the pooled intervals.
    """
    chosen = [i for i in indicators if spec.indicators is None or i in spec.indicators]
    tables: dict[str, pd.DataFrame] = {}
    limits = pd.DataFrame(columns=list(FUNNEL_LIMIT_COLUMNS))
    if spec.funnels:
        tables["funnel_units"], limits = funnel_tables(comparisons, spec, indicators=chosen)
    if spec.pooling:
        tables["pooled_estimates"] = pooled_table(
            comparisons, spec, indicators=chosen, intersections=intersections, level=level
        )
    return SmallNumbers(tables=tables, limits=limits)
