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
from toolkit.stats.funnel import funnel, funnel_limits
from toolkit.stats.pooling import pooled_rates

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


def _hidden(rows: pd.DataFrame) -> pd.Series:
    return rows["suppressed"].astype("boolean").fillna(False).astype(bool)


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
    return rows[wanted.isin(list(pairs))]


# --- funnels ----------------------------------------------------------------------------------


def _one_funnel(
    part: pd.DataFrame, spec: SmallNumbersSpec
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Funnel rows and limit curves of one indicator x cycle x dimension x level x group."""
    national = part[(part["region"] == NATIONAL) & ~_hidden(part)]
    regional = part[part["region"] != NATIONAL]
    hidden = _hidden(regional)
    shown = regional[~hidden & (regional["n"] > 0)]
    if national.empty or shown.empty:
        return None
    result = funnel(
        shown,
        group="region",
        kind="proportion",
        adjust=spec.funnel_adjust,
        trim=spec.funnel_trim,
        target=float(national["estimate"].iloc[0]),
    )
    first = shown.iloc[0]
    keys = {key: first[key] for key in KEYS} | {"group": first["group"]}
    units = result.rename(columns={"group": "region"}).assign(
        **keys, is_reference=bool(first["is_reference"]), suppressed=False,
        suppression_reason=None,
    )  # fmt: skip
    units = pd.concat(
        [units, _suppressed_rows(regional[hidden], FUNNEL_UNIT_COLUMNS)], ignore_index=True
    )
    curves = funnel_limits(result, points=spec.limit_points).rename(
        columns={"level": "limit_level"}
    )
    return units[list(FUNNEL_UNIT_COLUMNS)], curves.assign(**keys)[list(FUNNEL_LIMIT_COLUMNS)]


def funnel_tables(
    comparisons: pd.DataFrame, spec: SmallNumbersSpec, *, indicators: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``funnel_units`` and ``funnel_limits`` from the published comparisons (module docstring)."""
    rows = _selected(comparisons, indicators, {(d.name, d.level) for d in spec.dimensions})
    units, curves = [], []
    for _, part in rows.groupby([*KEYS, "group"], sort=True, observed=True):
        made = _one_funnel(part, spec)
        if made is not None:
            units.append(made[0])
            curves.append(made[1])
    return (
        _frame(units, FUNNEL_UNIT_COLUMNS, sort=(*KEYS, "group", "region")),
        _frame(curves, FUNNEL_LIMIT_COLUMNS, sort=()),
    )


def _frame(parts: list[pd.DataFrame], columns: Sequence[str], sort: Sequence[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=list(columns))
    table = pd.concat(parts, ignore_index=True)[list(columns)]
    if "suppressed" in table.columns:
        table["suppressed"] = table["suppressed"].astype(bool)
    if sort:
        table = table.sort_values(list(sort), kind="stable", ignore_index=True)
    return table


# --- pooled estimates -------------------------------------------------------------------------


def _margins(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells with one column per margin of the group label (``m0``, ``m1`` ...)."""
    parts = cells["group"].astype(str).str.split(" × ", regex=False, expand=True)
    return cells.assign(**{f"m{i}": parts[i] for i in parts.columns})


def _degenerate(data: pd.DataFrame, margin: str) -> bool:
    """Whether some level of ``margin`` has no events, or only events, in ``data``."""
    sums = data.groupby(margin, sort=False)[["events", "n"]].sum()
    return bool(((sums["events"] == 0) | (sums["events"] == sums["n"])).any())


def _margin_names(cells: pd.DataFrame) -> dict[str, str]:
    """``m0`` -> "ethnicity" ... from the cells' dimension ("ethnicity × disability")."""
    parts = str(cells["dimension"].iloc[0]).split(" × ")
    return {f"m{i}": name for i, name in enumerate(parts)}


def _fit(cells: pd.DataFrame, *, scope: str, method: str, level: float) -> pd.DataFrame:
    """Pooled estimates of published comparison ``cells`` by one model.

    ``scope`` "region": regional cells (random region, margin and region x group effects);
    "national": England's intersection cells (random margin and cell effects). Models in the
    module docstring and :data:`MODELS`.
    """
    data = _margins(cells[[*CELL, "n", "events", "estimate"]].reset_index(drop=True))
    margins = [c for c in data.columns if c.startswith("m") and c[1:].isdigit()]
    data["cell"] = data["region"].astype(str) + " | " + data["group"].astype(str)
    names = _margin_names(cells)
    fixed = [m for m in margins if not _degenerate(data, m)] if method == "glmm" else []
    random = [m for m in margins if m not in fixed] if method == "glmm" else []
    model = MODELS[(method, scope)].format(
        fixed=" + ".join(names[m] for m in fixed) or "1",
        random="".join(f" + (1 | {names[m]})" for m in random),
    )
    if method == "glmm":
        crossed = ["region", *random] if scope == "region" else random
        groups = [data]
    else:
        crossed = []
        groups = [g for _, g in data.groupby("group" if scope == "region" else "m0", sort=True)]
    out = []
    for block in groups:
        note = NOTE_TOO_FEW if len(block) < 2 else ""
        if block["events"].sum() in (0, block["n"].sum()):
            note = note or NOTE_DEGENERATE
        if note:
            out.append(block.assign(pooled=np.nan, ci_low=np.nan, ci_high=np.nan, ci_method=None,
                                    converged=None, note=note, n_cells=len(block)))  # fmt: skip
            continue
        with threadpool_limits(1):
            result = pooled_rates(block, group="cell", crossed=crossed, covariates=fixed,
                                  method=method, level=level)  # fmt: skip
        fitted = result.cells.set_index("group")[["pooled", "ci_low", "ci_high", "ci_method"]]
        note = "" if result.converged else NOTE_NOT_CONVERGED
        out.append(
            block.join(fitted, on="cell").assign(
                converged=result.converged, note=note, n_cells=len(block)
            )
        )
    return pd.concat(out, ignore_index=True).assign(
        method=method, model=model, suppressed=False, suppression_reason=None
    )


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
    out = []
    for (*_, dimension, dim_level), part in rows.groupby(list(KEYS), sort=True, observed=True):
        hidden = _hidden(part)
        regional = part["region"] != NATIONAL
        scopes = [("region", part[regional & ~hidden & (part["n"] > 0)])]
        if (dimension, dim_level) in crossings:
            scopes.append(("national", part[~regional & ~hidden & (part["n"] > 0)]))
        for scope, cells in scopes:
            if not cells.empty:
                out.append(_fit(cells, scope=scope, method=spec.pooling_method, level=level))
        out.append(_suppressed_rows(part[hidden], POOLED_ESTIMATE_COLUMNS))
    return _frame(out, POOLED_ESTIMATE_COLUMNS, sort=(*KEYS, "region", "group"))


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
