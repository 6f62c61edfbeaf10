"""Is bias reducing? The gap between each group and the reference across survey cycles.

:func:`gap_trend` answers it in four tables (DOMAIN.md sections 4 and 5):

- ``per_cycle``: each cycle's rate per group, the gap in percentage points and the relative
  likelihood against the reference with confidence intervals (unweighted: Newcombe hybrid score
  for the gap, Katz log for the ratio; weighted: Taylor-linearised standard errors with weights
  only, Wald intervals).
- ``interaction``: the logistic model ``outcome ~ group * cycle (+ covariates)``, cycle numeric and
  centred on the mean of the distinct cycles; the ``group:cycle`` coefficient is the change in the
  log-odds gap per cycle unit. Unweighted fits use the model-based (``glm``) covariance and normal
  intervals; weighted fits use the survey sandwich covariance and t(n - p) intervals and p-values,
  as R ``svyglm(family = quasibinomial, design = svydesign(ids = ~1, weights = ~w))``.
- ``change``: latest cycle against the previous one, in the group rate and in the gap, with the
  design-effect two-proportion z test z = (p1 - p2) / sqrt(deff1 p1 q1 / n1 + deff2 p2 q2 / n2),
  deff = Kish's n sum(w^2) / (sum w)^2 (1 when unweighted).
- ``verdict``: plain words, "gap narrowing", "gap widening", "no clear change" or "too few
  responses to say", decided by the interaction's confidence interval (or, across a family, its
  Benjamini-Hochberg adjusted p-value, :func:`verdicts_with_multiplicity`), never by point
  estimates alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
from statsmodels.tools.tools import pinv_extended

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.design import declared_levels, require_reference
from toolkit.stats.multiplicity import ADJUST_METHODS

PER_CYCLE_COLUMNS = [
    "cycle",
    "group",
    "reference_group",
    "n",
    "events",
    "estimate",
    "reference_estimate",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_likelihood",
    "rl_ci_low",
    "rl_ci_high",
    "ci_method",
    "note",
]
INTERACTION_COLUMNS = [
    "term",
    "group",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "se",
    "model",
    "note",
]
CHANGE_COLUMNS = [
    "cycle",
    "previous_cycle",
    "group",
    "measure",
    "change",
    "z",
    "p_value",
    "deff",
    "previous_deff",
    "note",
]
VERDICT_COLUMNS = [
    "group",
    "reference_group",
    "verdict",
    "reason",
    "interaction",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "adjust_method",
    "first_cycle_gap",
    "smallest_n",
    "min_n",
    "level",
    "model_ok",
]
NARROWING = "gap narrowing"
WIDENING = "gap widening"
NO_CLEAR_CHANGE = "no clear change"
TOO_FEW = "too few responses to say"
UNWEIGHTED_MODEL = methods.LOGISTIC_MODEL_BASED
WEIGHTED_MODEL = methods.LOGISTIC_SANDWICH_T
UNWEIGHTED_CI = methods.both(methods.NEWCOMBE, methods.KATZ_LOG)
WEIGHTED_CI = methods.both(methods.LINEARISED_WALD, methods.LINEARISED_LOG)


@dataclass(frozen=True)
class GapTrend:
    """The trend in the gap between each group and the reference (see the module docstring).

    A result object, not a DataFrame: four tidy tables, also given by :meth:`tables` as a dict
    (the same method as :class:`toolkit.stats.survival.KaplanMeierResult`).

    Attributes:
        per_cycle: ``PER_CYCLE_COLUMNS``, one row per cycle and non-reference group.
        interaction: ``INTERACTION_COLUMNS``, one row per non-reference group.
        change: ``CHANGE_COLUMNS``, latest vs previous cycle, measures "group rate" and "gap".
        verdict: ``VERDICT_COLUMNS``, one row per non-reference group.
        cycles: the cycles in order (plain Python values: ints for numeric cycles), and the
            numeric value of each used in the model.
    """

    per_cycle: pd.DataFrame
    interaction: pd.DataFrame
    change: pd.DataFrame
    verdict: pd.DataFrame
    cycles: dict[object, float]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name: ``per_cycle``, ``interaction``, ``change``, ``verdict``."""
        return {
            "per_cycle": self.per_cycle,
            "interaction": self.interaction,
            "change": self.change,
            "verdict": self.verdict,
        }


_EMPTY = -1
"""Position of the empty cell (n and events 0, rates NaN) that :func:`_cell_values` appends after
the cells: where a design has no cell for a cycle and group."""


@dataclass(frozen=True)
class _Design:
    """One design among the cells of :func:`gap_trend_cells` (one value of its ``by`` keys).

    Attributes:
        keys: the ``by`` values.
        rows: positions of the design's cells among all cells.
        cycle_values: its cycles in order (plain values) -> numeric value for the model.
        groups: its groups, sorted.
        where: (cycle, group) -> position among all cells.
    """

    keys: tuple[object, ...]
    rows: np.ndarray
    cycle_values: dict[object, float]
    groups: list[str]
    where: dict[tuple[object, str], int]

    @property
    def cycles(self) -> list[object]:
        """The cycles in order."""
        return list(self.cycle_values)

    def others(self, reference: str) -> list[str]:
        """The groups other than ``reference``, sorted."""
        return [g for g in self.groups if g != reference]

    def at(self, cycle: object, group: str) -> int:
        """Position of the cell of ``cycle`` x ``group`` (:data:`_EMPTY` when there is none)."""
        return self.where.get((cycle, group), _EMPTY)


def _z(level: float) -> float:
    """Two-sided normal quantile for a confidence level."""
    return float(stats.norm.ppf(0.5 + level / 2))


def _prepare(
    data: pd.DataFrame,
    outcome: str,
    group: str,
    cycle: str,
    weights: str | None,
    covariates: Sequence[str],
) -> pd.DataFrame:
    """Keep complete rows; outcome as 0/1 float, group as text, weights as float (1 if none)."""
    needed = [outcome, group, cycle, *covariates] + ([weights] if weights else [])
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise PtwError(
            code="stats.missing_column",
            message="a trend column is missing",
            column=missing[0],
            expected=f"one of {list(data.columns)}",
            fix="check the indicator, dimension and cycle names in the plan",
        )
    frame = data.dropna(subset=needed).copy()
    frame[outcome] = pd.to_numeric(frame[outcome].astype(float))
    if not frame[outcome].isin([0.0, 1.0]).all():
        raise PtwError(
            code="stats.outcome_not_binary",
            message="the outcome must be 0 or 1",
            column=outcome,
            value=sorted(set(frame[outcome]) - {0.0, 1.0})[:5],
            expected="0/1 or True/False",
            fix="dichotomise the item first (e.g. top two boxes = 1)",
        )
    frame[group] = frame[group].astype(str)
    frame["_w"] = frame[weights].astype(float) if weights else 1.0
    return frame


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value (a whole float as int); anything else unchanged."""
    value = value.item() if isinstance(value, np.generic) else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _cycle_values(cycles: pd.Series | np.ndarray) -> dict[object, float]:
    """Numeric value of each cycle for the model: the value itself when numeric, else its rank.

    Keys are plain Python values (:func:`_plain`), e.g. ``{2023: 2023.0, 2024: 2024.0}``.
    """
    ordered = [_plain(c) for c in sorted(pd.unique(cycles))]
    if pd.api.types.is_numeric_dtype(cycles):
        return {c: float(c) for c in ordered}
    return {c: float(i) for i, c in enumerate(ordered)}


CELL_COLUMNS = ["cycle", "group", "n", "events", "sum_w", "sum_wy", "sum_w2", "sum_w2y", "cycle_n"]
"""The sufficient statistics of one cycle x group cell (:func:`cell_statistics`)."""


@dataclass(frozen=True)
class CodedKey:
    """A key column coded once: ``codes`` per row (-1 = missing) into its sorted ``levels``
    (``pandas.factorize(sort=True)``), so that passes over its rows move integers, never text."""

    codes: np.ndarray
    levels: np.ndarray


def coded_key(column: pd.Series) -> CodedKey:
    """:class:`CodedKey` of ``column``."""
    codes, levels = pd.factorize(column, sort=True)
    return CodedKey(codes, np.asarray(levels))


@dataclass(frozen=True)
class CellIndex:
    """Each row's cell of several coded keys (the last two ``"cycle"`` and ``"group"``; any
    before them, e.g. region, make each of their values a separate design), combined into one
    code per row once, for the passes of several outcomes over subsets of the rows.

    Attributes:
        names: the keys' names, in order.
        levels: each key's levels (:class:`CodedKey`).
        cell: each row's cell, ``numpy.ravel_multi_index`` of its codes (-1 where a key is
            missing).
    """

    names: tuple[str, ...]
    levels: tuple[np.ndarray, ...]
    cell: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        """Levels per key."""
        return tuple(len(levels) for levels in self.levels)


def cell_index(keys: Mapping[str, CodedKey]) -> CellIndex:
    """:class:`CellIndex` of ``keys`` (key name -> :class:`CodedKey`, one code per row)."""
    coded = list(keys.values())
    complete = np.logical_and.reduce([k.codes >= 0 for k in coded])
    cell = np.full(len(complete), -1, dtype=np.int64)
    if complete.any():
        cell[complete] = np.ravel_multi_index([k.codes[complete] for k in coded],
                                              [len(k.levels) for k in coded])  # fmt: skip
    return CellIndex(tuple(keys), tuple(k.levels for k in coded), cell)


def cell_statistics(
    frame: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    cycle: str,
    weights: str | None = None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Sufficient statistics per ``by`` x cycle x group cell, in one grouped pass
    (:func:`coded_cell_statistics` of the columns, each factorized once).

    Args:
        frame: one row per response, complete in every column used, ``outcome`` 0/1.
        outcome, group, cycle: column names; ``weights`` optional (1 per row without).
        by: further keys (e.g. region): each key's cells are a separate design.

    Returns:
        :func:`coded_cell_statistics`.
    """
    keys = {**{k: coded_key(frame[k]) for k in by}, "cycle": coded_key(frame[cycle]),
            "group": coded_key(frame[group])}  # fmt: skip
    w = frame[weights].to_numpy(dtype=float) if weights else None
    return coded_cell_statistics(cell_index(keys), np.arange(len(frame)),
                                 frame[outcome].to_numpy(dtype=float), w)  # fmt: skip


def coded_cell_statistics(
    index: CellIndex, rows: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
) -> pd.DataFrame:
    """Sufficient statistics per cell of ``index`` among the rows at positions ``rows`` (rows
    with a missing key are left out); without weights every sum is a count, added by
    ``numpy.bincount``.

    Args:
        index: each row's cell (:func:`cell_index`).
        rows: the positions of the rows counted, in order.
        y: the 0/1 outcome per row of ``index``.
        w: the weight per row of ``index`` (1 per row when None).

    Returns:
        ``[*index.names, *CELL_COLUMNS[2:]]`` sorted by the keys: n, events, sum w, sum w y,
        sum w^2, sum w^2 y (y is 0/1, so y^2 = y) and ``cycle_n``, the rows of the cell's cycle
        (the design's sample size m within the leading keys). Every trend estimate is a
        function of these.
    """
    cell = index.cell[rows]
    complete = cell >= 0
    if not complete.any():
        return pd.DataFrame(columns=[*index.names, *CELL_COLUMNS[2:]])
    rows, cell = rows[complete], cell[complete]
    y = y[rows]
    if w is not None:
        w = w[rows]
        sums = (
            pd.DataFrame({"n": np.ones(len(cell), dtype=np.int64), "events": y, "sum_w": w,
                          "sum_wy": w * y, "sum_w2": w * w, "sum_w2y": w * w * y})
            .groupby(cell, sort=True)
            .sum()
        )  # fmt: skip
    else:
        # every sum is a count (w = 1): bincount adds whole numbers exactly
        counts = np.bincount(cell)
        found_cells = np.flatnonzero(counts)
        events = np.bincount(cell, weights=y)[found_cells]
        total = counts[found_cells].astype(float)
        sums = pd.DataFrame({"n": counts[found_cells], "events": events, "sum_w": total,
                             "sum_wy": events, "sum_w2": total, "sum_w2y": events},
                            index=found_cells)  # fmt: skip
    found = sums.index.to_numpy()
    positions = np.unravel_index(found, index.shape)
    _, design_cycle = np.unique(found // index.shape[-1], return_inverse=True)
    n = sums["n"].to_numpy()
    return pd.DataFrame(
        {
            **{name: levels[pos] for name, levels, pos in
               zip(index.names, index.levels, positions, strict=True)},
            "n": n,
            "events": sums["events"].to_numpy().astype(np.int64),
            **{c: sums[c].to_numpy() for c in ("sum_w", "sum_wy", "sum_w2", "sum_w2y")},
            "cycle_n": np.bincount(design_cycle, weights=n)[design_cycle].astype(np.int64),
        }
    )  # fmt: skip


def _design_rows(
    cells: pd.DataFrame, by: Sequence[str]
) -> list[tuple[tuple[object, ...], np.ndarray]]:
    """(``by`` values, positions of the cells) of each design, in order of first appearance; all
    cells are one design when ``by`` is empty."""
    if not by:
        return [((), np.arange(len(cells)))]
    codes = cells.groupby(list(by), sort=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]
    parts = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    keys = cells[list(by)].to_numpy(dtype=object)
    return [(tuple(keys[rows[0]]), rows) for rows in parts if len(rows)]


def _designs(
    cells: pd.DataFrame, by: Sequence[str], cycle_values: dict[object, float] | None
) -> list[_Design]:
    """The designs of :func:`cell_statistics` output, one per value of ``by``; each design's
    cycle values are ``cycle_values``, else :func:`_cycle_values` of its own cells."""
    cycles = cells["cycle"].to_numpy()
    plain = [_plain(c) for c in cycles]
    groups = cells["group"].astype(str).to_numpy()
    return [
        _Design(
            keys=keys,
            rows=rows,
            cycle_values=_cycle_values(cycles[rows]) if cycle_values is None else cycle_values,
            groups=sorted(set(groups[rows])),
            where={(plain[i], groups[i]): int(i) for i in rows},
        )
        for keys, rows in _design_rows(cells, by)
    ]


def _cell_values(cells: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every cell's cycle (plain value), group, sums (``CELL_COLUMNS``), rate, its SE and Kish
    deff as arrays, with an empty cell appended last (:data:`_EMPTY`).

    p = sum(w y) / sum(w); SE^2 = m/(m-1) sum(w^2 (y - p)^2) / (sum w)^2 with m the cycle's sample
    size (the domain stays inside its cycle's design), where
    sum(w^2 (y - p)^2) = sum(w^2 y) (1 - 2p) + p^2 sum(w^2); Kish deff = n sum(w^2) / (sum w)^2.
    """
    sums = {c: cells[c].to_numpy(dtype=float) for c in CELL_COLUMNS[4:-1]}
    total = sums["sum_w"]
    p = sums["sum_wy"] / total
    squares = sums["sum_w2y"] * (1 - 2 * p) + p**2 * sums["sum_w2"]
    m = cells["cycle_n"].to_numpy(dtype=float)
    se = np.sqrt(m / np.maximum(m - 1, 1) * np.maximum(squares, 0)) / total
    n = cells["n"].to_numpy().astype(np.int64)
    values = {
        "cycle": np.array([_plain(c) for c in cells["cycle"].to_numpy()], dtype=object),
        "group": cells["group"].astype(str).to_numpy(dtype=object),
        "n": n,
        "events": cells["events"].to_numpy().astype(np.int64),
        **sums,
        "estimate": p,
        "se": se,
        "deff": n * sums["sum_w2"] / total**2,
    }
    empty = {"cycle": None, "group": "", "n": 0, "events": 0}
    return {name: np.append(v, empty.get(name, np.nan)) for name, v in values.items()}


def _take(values: dict[str, np.ndarray], positions: Sequence[int]) -> dict[str, np.ndarray]:
    """The cells at ``positions`` (:data:`_EMPTY` for none) of :func:`_cell_values`."""
    index = np.asarray(positions, dtype=np.intp)
    return {name: v[index] for name, v in values.items()}


def _key_columns(by: Sequence[str], keys: Sequence[tuple[object, ...]]) -> dict[str, list[object]]:
    """The ``by`` columns of rows whose design keys are ``keys``."""
    return {name: [k[i] for k in keys] for i, name in enumerate(by)}


def _unweighted_comparison(
    g: dict[str, np.ndarray], r: dict[str, np.ndarray], alpha: float
) -> tuple[np.ndarray, ...]:
    """Newcombe interval for p_g - p_r and Katz interval for p_g / p_r (NaN on a zero cell),
    for arrays of cells with n > 0 (statsmodels ``confint_proportions_2indep``, element-wise)."""
    counts = (g["events"], g["n"], r["events"], r["n"])
    diff_low, diff_high = confint_proportions_2indep(
        *counts, method="newcomb", compare="diff", alpha=alpha
    )
    rl_low, rl_high = np.full(len(g["n"]), np.nan), np.full(len(g["n"]), np.nan)
    some = np.minimum(g["events"], r["events"]) > 0
    if some.any():
        rl_low[some], rl_high[some] = confint_proportions_2indep(
            *(c[some] for c in counts), method="log", compare="ratio", alpha=alpha
        )
    return diff_low, diff_high, rl_low, rl_high


def _weighted_comparison(
    g: dict[str, np.ndarray], r: dict[str, np.ndarray], z: float
) -> tuple[np.ndarray, ...]:
    """Wald intervals from linearised SEs: diff +/- z sqrt(se_g^2 + se_r^2); ratio on the log scale
    with se(log RL)^2 = (se_g / p_g)^2 + (se_r / p_r)^2 (NaN when either rate is 0)."""
    diff = g["estimate"] - r["estimate"]
    se_diff = np.hypot(g["se"], r["se"])
    positive = np.minimum(g["estimate"], r["estimate"]) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rl = np.log(g["estimate"] / r["estimate"])
        se_log = np.hypot(g["se"] / g["estimate"], r["se"] / r["estimate"])
    return (
        diff - z * se_diff,
        diff + z * se_diff,
        np.where(positive, np.exp(log_rl - z * se_log), np.nan),
        np.where(positive, np.exp(log_rl + z * se_log), np.nan),
    )


def _per_cycle(
    designs: list[_Design],
    values: dict[str, np.ndarray],
    by: Sequence[str],
    reference: str,
    weighted: bool,
    level: float,
) -> pd.DataFrame:
    """The comparison of each group with the reference in each cycle of each design
    (``[*by, *PER_CYCLE_COLUMNS]``)."""
    pairs = [(d, cy, grp) for d in designs for cy in d.cycles for grp in d.others(reference)]
    g = _take(values, [d.at(cy, grp) for d, cy, grp in pairs])
    r = _take(values, [d.at(cy, reference) for d, cy, _ in pairs])
    both = (g["n"] > 0) & (r["n"] > 0)
    limits = [np.full(len(pairs), np.nan) for _ in range(4)]
    if both.any():
        g_both = {k: g[k][both] for k in ("n", "events", "estimate", "se")}
        r_both = {k: r[k][both] for k in ("n", "events", "estimate", "se")}
        values_both = (
            _weighted_comparison(g_both, r_both, _z(level))
            if weighted
            else _unweighted_comparison(g_both, r_both, 1 - level)
        )
        for column, value in zip(limits, values_both, strict=True):
            column[both] = value
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(both & (r["estimate"] > 0), g["estimate"] / r["estimate"], np.nan)
    notes = np.where(
        ~both,
        "no responses from this group or the reference in this cycle",
        np.where(
            r["events"] == 0,
            "reference rate is 0: relative likelihood undefined",
            np.where(g["events"] == 0,
                     "no events in this group: relative likelihood interval undefined", ""),
        ),
    )  # fmt: skip
    return pd.DataFrame(
        {
            **_key_columns(by, [d.keys for d, _, _ in pairs]),
            "cycle": [cy for _, cy, _ in pairs],
            "group": [grp for _, _, grp in pairs],
            "reference_group": reference,
            "n": g["n"],
            "events": g["events"],
            "estimate": g["estimate"],
            "reference_estimate": r["estimate"],
            "diff": g["estimate"] - r["estimate"],
            "diff_ci_low": limits[0],
            "diff_ci_high": limits[1],
            "rel_likelihood": ratio,
            "rl_ci_low": limits[2],
            "rl_ci_high": limits[3],
            "ci_method": WEIGHTED_CI if weighted else UNWEIGHTED_CI,
            "note": notes.astype(object),
        },
        columns=[*by, *PER_CYCLE_COLUMNS],
    )


def _design(
    frame: pd.DataFrame,
    group: str,
    reference: str,
    others: list[str],
    cycle_c: pd.Series,
    covariates: Sequence[str],
) -> pd.DataFrame:
    """Model matrix: intercept, group dummies, centred cycle, group x cycle, covariates.

    Text covariates are dummy-coded against their first level in sorted order (R's default).
    """
    columns: dict[str, pd.Series] = {"(Intercept)": pd.Series(1.0, index=frame.index)}
    for grp in others:
        columns[f"group={grp}"] = (frame[group] == grp).astype(float)
    columns["cycle"] = cycle_c
    for grp in others:
        columns[f"group={grp}:cycle"] = columns[f"group={grp}"] * cycle_c
    for covariate in covariates:
        values = frame[covariate]
        if pd.api.types.is_numeric_dtype(values):
            columns[covariate] = values.astype(float)
            continue
        text = values.astype(str)
        for level in sorted(text.unique())[1:]:
            columns[f"{covariate}={level}"] = (text == level).astype(float)
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class _Fit:
    """Coefficients and standard errors by model term, test distribution degrees of freedom and
    a problem note."""

    params: dict[str, float]
    se: dict[str, float]
    df_resid: float
    note: str


def _named(names: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    """Model term -> value."""
    return dict(zip(names, values, strict=True))


def _failed(names: Sequence[str], note: str) -> _Fit:
    """A fit that could not be made: NaN for every term, with why."""
    nan = dict.fromkeys(names, np.nan)
    return _Fit(nan, nan, np.nan, note)


def _fit_logistic(y: np.ndarray, x: pd.DataFrame, w: np.ndarray, weighted: bool) -> _Fit:
    """Fit the logistic model; weighted fits get the survey sandwich covariance.

    Sandwich: A = X' diag(w mu (1 - mu)) X, U_i = w_i x_i (y_i - mu_i),
    V = A^-1 [m/(m-1) sum (U_i - mean U)(U_i - mean U)'] A^-1, df = m - p (R svyglm, ids = ~1).
    Separation or non-convergence gives NaN coefficients and a note.
    """
    names = list(x.columns)
    if not weighted:
        return _fit_cells(y, x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GLM(y, x, family=Binomial(), var_weights=w)
        try:
            result = model.fit(tol=1e-12, maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as error:
            return _failed(names, f"model failed: {error}")
    if any(issubclass(c.category, PerfectSeparationWarning) for c in caught):
        return _failed(names, "perfect separation: a group has all or no events")
    if not result.converged:
        return _failed(names, "model did not converge")
    xm, mu = x.to_numpy(), result.mu
    bread = np.linalg.inv(xm.T @ (xm * (w * mu * (1 - mu))[:, None]))
    scores = xm * (w * (y - mu))[:, None]
    centred = scores - scores.mean(axis=0)
    m = len(y)
    meat = m / (m - 1) * centred.T @ centred
    cov = bread @ meat @ bread
    return _Fit(
        _named(names, result.params),
        _named(names, np.sqrt(np.diag(cov))),
        float(m - len(names)),
        "",
    )


def _fit_cells(y: np.ndarray, x: pd.DataFrame) -> _Fit:
    """The unweighted fit of row-level data (``y`` 0/1, model matrix ``x``) on its covariate
    patterns: rows with the same pattern collapse to (events, non-events)
    (:func:`_fit_binomial_cells`)."""
    cells = (
        x.assign(_y=y).groupby(list(x.columns), sort=True)["_y"].agg(["sum", "count"]).reset_index()
    )
    return _fit_binomial_cells(
        cells["sum"].to_numpy(dtype=float),
        cells["count"].to_numpy(dtype=float),
        cells[list(x.columns)].to_numpy(dtype=float),
        list(x.columns),
    )


def _separated(result: object) -> bool:
    """Separation in a cell-level fit: fitted probabilities at 0 or 1, or coefficients beyond
    any real effect (statsmodels' separation warning fires on every saturated cell fit, so it
    cannot be used)."""
    mu = np.asarray(result.mu)
    return bool((mu < 1e-8).any() or (mu > 1 - 1e-8).any() or (np.abs(result.params) > 15).any())


@dataclass(frozen=True)
class _IrlsFit:
    """What the cell fits read of a binomial GLM: coefficients, model-based standard errors,
    fitted probabilities (at the coefficients) and whether IRLS converged."""

    params: np.ndarray
    bse: np.ndarray
    mu: np.ndarray
    converged: bool


_IRLS_TOL = 1e-12
"""Convergence: successive deviances within this (absolute)."""
_IRLS_MAXITER = 100
_FIRST_DEVIANCE_NAN = (
    "The first guess on the deviance function returned a nan.  This could be a boundary "
    " problem and should be reported."
)
_NOT_FINITE = "NaN, inf or invalid value detected in {0}, estimation infeasible."
"""statsmodels' messages for a model that cannot be fitted (they end up in the table's note)."""


def _irls_binomial(endog: np.ndarray, exog: np.ndarray, var_weights: np.ndarray) -> _IrlsFit:
    """statsmodels' ``GLM(endog, exog, family=Binomial(), var_weights=...).fit(tol=1e-12,
    maxiter=100)`` (IRLS, logit link) without building its model and results objects: the
    same family functions, least squares and pseudo-inverse in the same order, so the same
    numbers. ``endog``: (events, non-events) per row, or a 0-1 response with ``var_weights``.

    From mu0 = the family's starting value, each step solves the weighted least squares of the
    working response z = eta + (y - mu) g'(mu) on ``exog`` with weights w = n v / (g'(mu)^2
    V(mu)) (``lstsq``) until the deviance changes by at most :data:`_IRLS_TOL`; the reported
    coefficients are those of the last step's weighted least squares by pseudo-inverse P, with
    covariance P P' (the binomial scale is 1).
    """
    family = Binomial()
    freq_weights = np.ones(endog.shape[0])
    y, n_trials = family.initialize(endog, freq_weights)
    iweights = np.asarray(freq_weights * var_weights)
    mu = family.starting_mu(y)
    lin_pred = family.predict(mu)
    deviances = [family.deviance(y, mu, var_weights, freq_weights, 1.0)]
    if np.isnan(deviances[0]):
        raise ValueError(_FIRST_DEVIANCE_NAN)
    converged = False
    for _ in range(_IRLS_MAXITER):
        weights = iweights * n_trials * family.weights(mu)
        working = lin_pred + family.link.deriv(mu) * (y - mu)
        half = np.sqrt(weights)
        for name, values in (("weights", half), ("endog", working)):
            if not np.all(np.isfinite(values)):
                raise ValueError(_NOT_FINITE.format(name))
        params = np.linalg.lstsq(half[:, None] * exog, half * working, rcond=-1)[0]
        lin_pred = np.dot(exog, params)
        mu = family.fitted(lin_pred)
        deviances.append(family.deviance(y, mu, var_weights, freq_weights, 1.0))
        if np.allclose(deviances[-2], deviances[-1], atol=_IRLS_TOL, rtol=0.0):
            converged = True
            break
    pinv, _ = pinv_extended(np.sqrt(weights)[:, None] * exog)
    params = pinv.dot(working * np.sqrt(weights))
    covariance = np.dot(pinv, np.transpose(pinv))
    mu = family.fitted(np.dot(exog, params))
    return _IrlsFit(params, np.sqrt(np.diag(covariance)), mu, converged)


def _glm_cells(
    endog: np.ndarray, design: np.ndarray, names: list[str], var_weights: np.ndarray | None = None
) -> tuple[_IrlsFit | None, _Fit | None]:
    """Binomial GLM on cells (:func:`_irls_binomial`).

    Returns the fit, and the failed :class:`_Fit` when the model failed, separated or did
    not converge (else None).
    """
    # Column-major, as a DataFrame's values: BLAS rounds the same way as the fits the
    # published numbers came from (the IRLS stopping point is sensitive to the last bit).
    exog = np.asfortranarray(design)
    weights = np.ones(exog.shape[0]) if var_weights is None else np.asarray(var_weights, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            result = _irls_binomial(endog, exog, weights)
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, _failed(names, f"model failed: {error}")
    if _separated(result):
        return result, _failed(names, "perfect separation: a group has all or no events")
    if not result.converged:
        return result, _failed(names, "model did not converge")
    return result, None


def _fit_binomial_cells(
    events: np.ndarray, counts: np.ndarray, design: np.ndarray, names: list[str]
) -> _Fit:
    """The unweighted fit on cell-level sufficient statistics: one row per covariate pattern
    (``design``, columns ``names``) with its (events, non-events), which gives the same
    maximum-likelihood estimates and model-based standard errors as the row-level fit, in time
    independent of the rows."""
    result, failed = _glm_cells(np.column_stack([events, counts - events]), design, names)
    if failed is not None:
        return failed
    return _Fit(_named(names, result.params), _named(names, result.bse), np.inf, "")


def _fit_weighted_cells(sums: dict[str, np.ndarray], design: np.ndarray, names: list[str]) -> _Fit:
    """The survey-weighted fit and its sandwich covariance from cell sums (no clusters).

    ``sums``: per cell (rows of ``design``), ``n``, ``sum_w``, ``sum_wy``, ``sum_w2``,
    ``sum_w2y``. Within a cell x and mu are constant, so the pseudo-likelihood's estimating
    equations sum_i w_i x_i (y_i - mu_i) = sum_c x_c (sum w y - mu_c sum w) are those of a
    binomial GLM on the cells with response sum(w y) / sum(w) and weight sum(w). Sandwich as
    :func:`_fit_logistic`: A = sum_c sum(w) mu (1 - mu) x x';
    sum_i U_i U_i' = sum_c x x' [sum(w^2 y) (1 - 2 mu) + mu^2 sum(w^2)] and
    sum_i U_i = sum_c x_c (sum(w y) - mu sum(w)), so the centred meat is
    m/(m-1) [sum U U' - (sum U)(sum U)' / m] with m the rows; df = m - p.
    """
    sum_w, sum_wy = sums["sum_w"], sums["sum_wy"]
    result, failed = _glm_cells(sum_wy / sum_w, design, names, var_weights=sum_w)
    if failed is not None:
        return failed
    mu = np.asarray(result.mu)
    bread = np.linalg.inv(design.T @ (design * (sum_w * mu * (1 - mu))[:, None]))
    squares = sums["sum_w2y"] * (1 - 2 * mu) + mu**2 * sums["sum_w2"]
    total = (design * (sum_wy - mu * sum_w)[:, None]).sum(axis=0)
    m = float(sums["n"].sum())
    meat = m / (m - 1) * (design.T @ (design * squares[:, None]) - np.outer(total, total) / m)
    cov = bread @ meat @ bread
    return _Fit(_named(names, result.params), _named(names, np.sqrt(np.diag(cov))),
                m - design.shape[1], "")  # fmt: skip


def _cell_design(
    groups: np.ndarray, others: list[str], cycle_c: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """The model matrix of :func:`_design` with one row per cell (no covariates), and its
    column names."""
    dummies = {f"group={grp}": (groups == grp).astype(float) for grp in others}
    columns = {"(Intercept)": np.ones(len(groups)), **dummies, "cycle": cycle_c}
    columns |= {f"{name}:cycle": dummy * cycle_c for name, dummy in dummies.items()}
    return np.column_stack(list(columns.values())), list(columns)


def _cell_model_fit(
    values: dict[str, np.ndarray], design: _Design, reference: str, weighted: bool
) -> _Fit:
    """Fit the interaction model on one design's cells (:func:`_cell_values`), or explain why not.

    The cells are ordered as the row-level fit groups its covariate patterns (sorted by the
    model matrix), so both give the same numbers.
    """
    rows = design.rows
    centre = float(np.mean(list(design.cycle_values.values())))
    cycle_c = (
        np.array([design.cycle_values[c] for c in values["cycle"][rows]], dtype=float) - centre
    )
    groups = values["group"][rows]
    matrix, names = _cell_design(groups, design.others(reference), cycle_c)
    sums = {c: values[c][rows].astype(float) for c in CELL_COLUMNS[2:-1]}
    labels, inverse = np.unique(groups, return_inverse=True)
    rates = np.bincount(inverse, sums["events"]) / np.bincount(inverse, sums["n"])
    problem = _unfittable(reference, list(labels), rates, len(set(cycle_c)))
    if problem:
        return _failed(names, problem)
    order = np.lexsort(matrix.T[::-1])
    matrix = matrix[order]
    sums = {name: v[order] for name, v in sums.items()}
    if weighted:
        return _fit_weighted_cells(sums, matrix, names)
    return _fit_binomial_cells(sums["events"], sums["n"], matrix, names)


def _unfittable(reference: str, groups: list[str], rates: np.ndarray, n_cycles: int) -> str:
    """Why the interaction model cannot be fitted ("" when it can): no reference responses,
    fewer than two cycles, or a group with all or no events in every cycle (``rates``: each
    of the ``groups``' crude rate over all cycles)."""
    if reference not in groups:
        return f"reference group {reference!r} has no responses"
    if n_cycles < 2:
        return "fewer than two cycles: no trend"
    degenerate = sorted(g for g, rate in zip(groups, rates, strict=True) if rate in (0, 1))
    if degenerate:
        return f"separation: {', '.join(degenerate)} has all or no events in every cycle"
    return ""


def _interaction(design: _Design, fit: _Fit, reference: str, level: float) -> dict[str, np.ndarray]:
    """Per group of the design other than the reference: the ``group:cycle`` coefficient
    (``estimate``), its ``se``, interval and two-sided p-value (normal, or t(df) for the sandwich
    fit), and the group's main effect (``main``)."""
    others = design.others(reference)
    params, errors = fit.params, fit.se
    estimate = np.array([params[f"group={grp}:cycle"] for grp in others], dtype=float)
    se = np.array([errors[f"group={grp}:cycle"] for grp in others], dtype=float)
    main = np.array([params.get(f"group={grp}", np.nan) for grp in others], dtype=float)
    if not others:
        return {"estimate": estimate, "se": se, "ci_low": estimate, "ci_high": estimate,
                "p_value": estimate, "main": main}  # fmt: skip
    dist = stats.norm if np.isinf(fit.df_resid) else stats.t(fit.df_resid)
    q = float(dist.ppf(0.5 + level / 2))
    return {
        "estimate": estimate,
        "se": se,
        "ci_low": estimate - q * se,
        "ci_high": estimate + q * se,
        "p_value": 2 * dist.sf(np.abs(estimate / se)),
        "main": main,
    }


def _interaction_rows(
    designs: list[_Design],
    fits: list[_Fit],
    interactions: list[dict[str, np.ndarray]],
    by: Sequence[str],
    reference: str,
    weighted: bool,
) -> pd.DataFrame:
    """One row per design and group (``[*by, *INTERACTION_COLUMNS]``): the ``group:cycle``
    coefficient with its interval and p-value."""
    others = [(d, fit, grp) for d, fit in zip(designs, fits, strict=True)
              for grp in d.others(reference)]  # fmt: skip
    joined = {
        name: np.concatenate([np.empty(0), *(inter[name] for inter in interactions)])
        for name in ("estimate", "ci_low", "ci_high", "p_value", "se")
    }
    return pd.DataFrame(
        {
            **_key_columns(by, [d.keys for d, _, _ in others]),
            "term": [f"group={grp}:cycle" for _, _, grp in others],
            "group": [grp for _, _, grp in others],
            **joined,
            "model": WEIGHTED_MODEL if weighted else UNWEIGHTED_MODEL,
            "note": [fit.note for _, fit, _ in others],
        },
        columns=[*by, *INTERACTION_COLUMNS],
    )


def _z_test(change: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z = change / sqrt(variance) and its two-sided normal p-value (NaN where the variance is 0
    or undefined)."""
    tested = variance > 0
    z = np.where(tested, change / np.sqrt(np.where(tested, variance, 1.0)), np.nan)
    return z, np.where(tested, 2 * stats.norm.sf(np.abs(z)), np.nan)


def _deff_variance(cells: dict[str, np.ndarray]) -> np.ndarray:
    """deff p q / n: the design-effect variance of each rate (DOMAIN.md section 4; NaN when
    n = 0)."""
    n = cells["n"]
    estimate = cells["estimate"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, cells["deff"] * estimate * (1 - estimate) / np.maximum(n, 1), np.nan)


def _change_rows(
    designs: list[_Design], values: dict[str, np.ndarray], by: Sequence[str], reference: str
) -> pd.DataFrame:
    """Latest cycle against the previous one in each design with two cycles or more: the group
    rate and the gap, each with a z test (variance: the sum of deff p q / n of the two group
    cells for the rate, of all four cells for the gap)."""
    quads = [(d, d.cycles[-1], d.cycles[-2], grp) for d in designs if len(d.cycle_values) > 1
             for grp in d.others(reference)]  # fmt: skip
    if not quads:
        return pd.DataFrame(columns=[*by, *CHANGE_COLUMNS])
    g1 = _take(values, [d.at(latest, grp) for d, latest, _, grp in quads])
    g0 = _take(values, [d.at(previous, grp) for d, _, previous, grp in quads])
    r1 = _take(values, [d.at(latest, reference) for d, latest, _, _ in quads])
    r0 = _take(values, [d.at(previous, reference) for d, _, previous, _ in quads])
    rate_change = g1["estimate"] - g0["estimate"]
    gap_change = (g1["estimate"] - r1["estimate"]) - (g0["estimate"] - r0["estimate"])
    variances = [_deff_variance(c) for c in (g1, g0, r1, r0)]
    rate_z, rate_p = _z_test(rate_change, variances[0] + variances[1])
    gap_z, gap_p = _z_test(gap_change, variances[0] + variances[1] + variances[2] + variances[3])
    complete = np.minimum.reduce([c["n"] for c in (g1, g0, r1, r0)]) > 0
    note = np.where(complete, "", "a group is missing from a cycle")
    gap_note = np.where(complete, "gap variance adds deff p q / n of all four cells", note)

    def twice(column: Sequence[object]) -> list[object]:
        return [value for value in column for _ in range(2)]

    def interleaved(rate: np.ndarray, gap: np.ndarray) -> np.ndarray:
        return np.column_stack([rate, gap]).ravel()

    return pd.DataFrame(
        {
            **{name: twice(column) for name, column in
               _key_columns(by, [d.keys for d, _, _, _ in quads]).items()},
            "cycle": twice([latest for _, latest, _, _ in quads]),
            "previous_cycle": twice([previous for _, _, previous, _ in quads]),
            "group": twice([grp for _, _, _, grp in quads]),
            "measure": np.tile(np.array(["group rate", "gap"], dtype=object), len(quads)),
            "change": interleaved(rate_change, gap_change),
            "z": interleaved(rate_z, gap_z),
            "p_value": interleaved(rate_p, gap_p),
            "deff": np.repeat(g1["deff"], 2),
            "previous_deff": np.repeat(g0["deff"], 2),
            "note": interleaved(note.astype(object), gap_note.astype(object)),
        },
        columns=[*by, *CHANGE_COLUMNS],
    )  # fmt: skip


def _smallest_n(design: _Design, values: dict[str, np.ndarray], grp: str, reference: str) -> int:
    """The smallest group or reference count over the design's cycles (0 when one is missing)."""
    cells = [design.at(cy, g) for cy in design.cycles for g in (grp, reference)]
    return int(values["n"][cells].min())


def decide(row: Mapping[str, object], significant: bool) -> tuple[str, str]:
    """The verdict and its reason for one verdict-table row.

    "too few responses to say" when a cycle's group or reference n is below ``min_n`` or the model
    failed; otherwise "no clear change" unless ``significant`` (the interaction's interval
    excludes 0, or its adjusted p-value is below 1 - level). A significant change is "narrowing"
    when the interaction has the opposite sign to the fitted log-odds gap at the first cycle
    (the absolute gap moves toward zero), else "widening".
    """
    if row["smallest_n"] < row["min_n"]:
        return TOO_FEW, (
            f"a cycle has only {row['smallest_n']} responses in this group or the "
            f"reference (minimum {row['min_n']})"
        )
    if not row["model_ok"]:
        return TOO_FEW, "the trend model could not be estimated"
    slope = (
        f"the log-odds gap changes by {row['interaction']:+.3f} per cycle "
        f"({row['level']:.0%} CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}"
        + (
            f", BH-adjusted p = {row['p_adjusted']:.3g})"
            if row["adjust_method"] != methods.NO_ADJUSTMENT
            else ")"
        )
    )
    if not significant:
        return NO_CLEAR_CHANGE, f"{slope}: consistent with no change"
    toward_zero = np.sign(row["interaction"]) == -np.sign(row["first_cycle_gap"])
    direction = "toward" if toward_zero else "away from"
    return (
        NARROWING if toward_zero else WIDENING,
        f"{slope}, {direction} zero from a first-cycle gap of {row['first_cycle_gap']:+.3f}",
    )


def _verdict_table(
    designs: list[_Design],
    interactions: list[dict[str, np.ndarray]],
    values: dict[str, np.ndarray],
    by: Sequence[str],
    reference: str,
    min_n: int,
    level: float,
) -> pd.DataFrame:
    """Verdict rows (``[*by, *VERDICT_COLUMNS]``) from the interactions, decided by their
    confidence intervals; the first-cycle gap is main + interaction x (first cycle - centre)."""
    rows = []
    for design, inter in zip(designs, interactions, strict=True):
        centre = float(np.mean(list(design.cycle_values.values())))
        first_c = design.cycle_values[design.cycles[0]] - centre if design.cycles else np.nan
        for i, grp in enumerate(design.others(reference)):
            row: dict[str, object] = {
                **dict(zip(by, design.keys, strict=True)),
                "group": grp,
                "reference_group": reference,
                "interaction": inter["estimate"][i],
                "ci_low": inter["ci_low"][i],
                "ci_high": inter["ci_high"][i],
                "p_value": inter["p_value"][i],
                "p_adjusted": np.nan,
                "adjust_method": methods.NO_ADJUSTMENT,
                "first_cycle_gap": inter["main"][i] + inter["estimate"][i] * first_c,
                "smallest_n": _smallest_n(design, values, grp, reference),
                "min_n": min_n,
                "level": level,
                "model_ok": bool(np.isfinite(inter["se"][i])),
            }
            excludes_zero = bool(row["ci_low"] > 0 or row["ci_high"] < 0)
            row["verdict"], row["reason"] = decide(row, excludes_zero)
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, *VERDICT_COLUMNS])


def gap_trend(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    reference: str,
    cycle: str,
    weights: str | None = None,
    covariates: Sequence[str] = (),
    level: float = 0.95,
    min_n: int = 10,
) -> GapTrend:
    """The gap between each group and ``reference`` across cycles, and whether it is closing.

    Args:
        data: one row per response, with a 0/1 ``outcome``.
        outcome: the indicator column (1 = the outcome, e.g. experienced discrimination).
        group: the equality dimension column (text labels).
        reference: the reference group label (e.g. "White").
        cycle: the cycle column (years, or labels ordered by sorting).
        weights: optional survey weight column; switches to design-based SEs.
        covariates: adjustment columns for the model (not for the crude per-cycle rates).
        level: confidence level.
        min_n: below this many responses in any cycle for a group or the reference the verdict
            is "too few responses to say".

    Returns:
        :class:`GapTrend`, a result object holding four DataFrames (``per_cycle``,
        ``interaction``, ``change``, ``verdict``; :meth:`GapTrend.tables` gives them as a dict),
        described in the module docstring.
    """
    frame = _prepare(data, outcome, group, cycle, weights, covariates)
    require_reference(declared_levels(data[group]), reference, group)
    stats_ = cell_statistics(frame, outcome=outcome, group=group, cycle=cycle, weights="_w")
    if not covariates:
        return gap_trend_cells(stats_, reference=reference, weighted=weights is not None,
                               level=level, min_n=min_n, cycle_values=_cycle_values(frame[cycle]))  # fmt: skip
    cycle_values = _cycle_values(frame[cycle])
    others = sorted(set(frame[group].unique()) - {reference})
    centre = float(np.mean(list(cycle_values.values())))
    cycle_c = frame[cycle].map(cycle_values).astype(float) - centre
    x = _design(frame, group, reference, others, cycle_c, covariates)
    rates = frame.groupby(group)[outcome].mean()
    problem = _unfittable(reference, list(rates.index), rates.to_numpy(), cycle_c.nunique())
    fit = (
        _failed(list(x.columns), problem)
        if problem
        else _fit_logistic(
            frame[outcome].to_numpy(), x, frame["_w"].to_numpy(), weights is not None
        )
    )
    designs = _designs(stats_, (), cycle_values)
    return _gap_trend(designs, [fit], _cell_values(stats_), (), reference, weights is not None,
                      level, min_n)  # fmt: skip


def gap_trend_cells(
    cells: pd.DataFrame,
    *,
    reference: str,
    weighted: bool = False,
    level: float = 0.95,
    min_n: int = 10,
    cycle_values: dict[object, float] | None = None,
    by: Sequence[str] = (),
) -> GapTrend:
    """:func:`gap_trend` without covariates, from the cells' sufficient statistics alone.

    Args:
        cells: :func:`cell_statistics` output: ``[*by, *CELL_COLUMNS]``.
        reference: the reference group label; it must be one of each design's groups.
        weighted: whether the sums carry survey weights (design-based SEs, sandwich t model).
        level, min_n: as :func:`gap_trend`.
        cycle_values: the numeric value of each cycle (default :func:`_cycle_values` of each
            design's cycles).
        by: the keys of separate designs (e.g. region): each value's cells are compared and
            fitted on their own, exactly as a call with those cells alone.

    Returns:
        :class:`GapTrend`, the same numbers as :func:`gap_trend` on the rows (the binomial GLM
        on cells has the row-level fit's estimating equations, and the sandwich's sums are
        sums over cells; :func:`_fit_binomial_cells`, :func:`_fit_weighted_cells`). With
        ``by``, each table starts with the ``by`` columns, designs in order of first appearance
        in ``cells``, and ``cycles`` holds every design's cycles.
    """
    designs = _designs(cells, by, cycle_values)
    for design in designs:
        require_reference(design.groups, reference, "group")
    values = _cell_values(cells)
    fits = [_cell_model_fit(values, design, reference, weighted) for design in designs]
    return _gap_trend(designs, fits, values, by, reference, weighted, level, min_n)


def _gap_trend(
    designs: list[_Design],
    fits: list[_Fit],
    values: dict[str, np.ndarray],
    by: Sequence[str],
    reference: str,
    weighted: bool,
    level: float,
    min_n: int,
) -> GapTrend:
    """The four tables of every design from the cells (:func:`_cell_values`) and its fit."""
    interactions = [
        _interaction(d, fit, reference, level) for d, fit in zip(designs, fits, strict=True)
    ]
    return GapTrend(
        per_cycle=_per_cycle(designs, values, by, reference, weighted, level),
        interaction=_interaction_rows(designs, fits, interactions, by, reference, weighted),
        change=_change_rows(designs, values, by, reference),
        verdict=_verdict_table(designs, interactions, values, by, reference, min_n, level),
        cycles={c: v for d in designs for c, v in d.cycle_values.items()},
    )


def verdicts_with_multiplicity(
    table: pd.DataFrame, *, family_cols: Sequence[str] = (), method: str = "fdr_bh"
) -> pd.DataFrame:
    """Re-decide verdicts with Benjamini-Hochberg adjusted interaction p-values per family.

    Args:
        table: verdict tables (``VERDICT_COLUMNS`` plus identifying columns such as indicator and
            dimension) concatenated.
        family_cols: the columns that define a family (e.g. ``("dimension",)``: all indicators and
            groups of a dimension form one family); empty = the whole table is one family.
        method: ``"fdr_bh"`` or ``"holm"`` (statsmodels ``multipletests``); its label
            (:data:`toolkit.stats.multiplicity.ADJUST_METHODS`) is written into ``adjust_method``.

    Returns:
        The same rows and columns with ``p_adjusted``, ``adjust_method``, ``verdict`` and
        ``reason`` replaced; a change is significant when p_adjusted < 1 - level. Rows whose model
        failed or that have too few responses keep their verdict and are not in the family.
    """
    out = table.copy().reset_index(drop=True)
    eligible = out["model_ok"].astype(bool) & (out["smallest_n"] >= out["min_n"])
    eligible &= out["p_value"].notna()
    family = (
        out[list(family_cols)].astype(str).agg("\x1f".join, axis=1)
        if family_cols
        else pd.Series("", index=out.index)
    )
    for key in family[eligible].unique():
        index = out.index[eligible & (family == key)]
        out.loc[index, "p_adjusted"] = multipletests(out.loc[index, "p_value"], method=method)[1]
    out["adjust_method"] = ADJUST_METHODS[method]
    decided = [
        decide(row, bool(ok and row["p_adjusted"] < 1 - row["level"]))
        for row, ok in zip(out.to_dict(orient="records"), eligible, strict=True)
    ]
    out["verdict"] = [verdict for verdict, _ in decided]
    out["reason"] = [reason for _, reason in decided]
    return out
