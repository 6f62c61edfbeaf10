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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

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


@dataclass(frozen=True)
class _Cell:
    """Summary of one group in one cycle: counts, (weighted) rate, its SE and Kish deff."""

    n: int
    events: int
    estimate: float
    se: float
    deff: float


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


def _cycle_values(cycles: pd.Series) -> dict[object, float]:
    """Numeric value of each cycle for the model: the value itself when numeric, else its rank.

    Keys are plain Python values (:func:`_plain`), e.g. ``{2023: 2023.0, 2024: 2024.0}``.
    """
    ordered = [_plain(c) for c in sorted(cycles.unique())]
    if pd.api.types.is_numeric_dtype(cycles):
        return {c: float(c) for c in ordered}
    return {c: float(i) for i, c in enumerate(ordered)}


def _cell(y: np.ndarray, w: np.ndarray, design_n: int) -> _Cell:
    """Rate, SE and Kish design effect of one group in one cycle.

    p = sum(w y) / sum(w); SE^2 = m/(m-1) sum(w^2 (y - p)^2) / (sum w)^2 with m the cycle's sample
    size (the domain stays inside its cycle's design); unweighted SE^2 = p q / n for the z test.
    """
    n = len(y)
    if n == 0:
        return _Cell(0, 0, np.nan, np.nan, np.nan)
    total = w.sum()
    p = float((w * y).sum() / total)
    se = float(np.sqrt(design_n / max(design_n - 1, 1) * (w**2 * (y - p) ** 2).sum()) / total)
    deff = float(n * (w**2).sum() / total**2)
    return _Cell(n, int(y.sum()), p, se, deff)


def _unweighted_comparison(g: _Cell, r: _Cell, alpha: float) -> tuple[float, ...]:
    """Newcombe interval for p_g - p_r and Katz interval for p_g / p_r (NaN on a zero cell)."""
    diff_ci = confint_proportions_2indep(
        g.events, g.n, r.events, r.n, method="newcomb", compare="diff", alpha=alpha
    )
    if min(g.events, r.events) == 0:
        return (*diff_ci, np.nan, np.nan)
    rl_ci = confint_proportions_2indep(
        g.events, g.n, r.events, r.n, method="log", compare="ratio", alpha=alpha
    )
    return (*diff_ci, *rl_ci)


def _weighted_comparison(g: _Cell, r: _Cell, z: float) -> tuple[float, ...]:
    """Wald intervals from linearised SEs: diff +/- z sqrt(se_g^2 + se_r^2); ratio on the log scale
    with se(log RL)^2 = (se_g / p_g)^2 + (se_r / p_r)^2 (NaN when either rate is 0)."""
    diff = g.estimate - r.estimate
    se_diff = np.hypot(g.se, r.se)
    if min(g.estimate, r.estimate) <= 0:
        return diff - z * se_diff, diff + z * se_diff, np.nan, np.nan
    log_rl = np.log(g.estimate / r.estimate)
    se_log = np.hypot(g.se / g.estimate, r.se / r.estimate)
    return (
        diff - z * se_diff,
        diff + z * se_diff,
        np.exp(log_rl - z * se_log),
        np.exp(log_rl + z * se_log),
    )


def _cycle_cells(
    frame: pd.DataFrame, outcome: str, group: str, cycle: str
) -> dict[tuple[object, str], _Cell]:
    """One :class:`_Cell` per (cycle, group) present in the data."""
    cells: dict[tuple[object, str], _Cell] = {}
    for cy, rows in frame.groupby(cycle, sort=True):
        for grp, sub in rows.groupby(group):
            cells[(cy, str(grp))] = _cell(sub[outcome].to_numpy(), sub["_w"].to_numpy(), len(rows))
    return cells


def _per_cycle_row(
    cy: object,
    grp: str,
    reference: str,
    cells: dict[tuple[object, str], _Cell],
    weighted: bool,
    level: float,
) -> dict[str, object]:
    """The comparison of one group with the reference in one cycle."""
    empty = _Cell(0, 0, np.nan, np.nan, np.nan)
    g, r = cells.get((cy, grp), empty), cells.get((cy, reference), empty)
    row: dict[str, object] = {
        "cycle": cy,
        "group": grp,
        "reference_group": reference,
        "n": g.n,
        "events": g.events,
        "estimate": g.estimate,
        "reference_estimate": r.estimate,
        "diff": g.estimate - r.estimate,
        "rel_likelihood": np.nan,
        "ci_method": WEIGHTED_CI if weighted else UNWEIGHTED_CI,
        "note": "",
    }
    limits = ["diff_ci_low", "diff_ci_high", "rl_ci_low", "rl_ci_high"]
    if g.n == 0 or r.n == 0:
        row.update(dict.fromkeys(limits, np.nan))
        row["note"] = "no responses from this group or the reference in this cycle"
        return row
    alpha = 1 - level
    values = (
        _weighted_comparison(g, r, _z(level)) if weighted else _unweighted_comparison(g, r, alpha)
    )
    row.update(zip(limits, values, strict=True))
    if r.estimate > 0:
        row["rel_likelihood"] = g.estimate / r.estimate
    if g.events == 0 or r.events == 0:
        row["note"] = (
            "reference rate is 0: relative likelihood undefined"
            if r.events == 0
            else "no events in this group: relative likelihood interval undefined"
        )
    return row


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
    """Coefficients, standard errors, test distribution degrees of freedom and a problem note."""

    params: pd.Series
    se: pd.Series
    df_resid: float
    note: str


def _fit_logistic(y: np.ndarray, x: pd.DataFrame, w: np.ndarray, weighted: bool) -> _Fit:
    """Fit the logistic model; weighted fits get the survey sandwich covariance.

    Sandwich: A = X' diag(w mu (1 - mu)) X, U_i = w_i x_i (y_i - mu_i),
    V = A^-1 [m/(m-1) sum (U_i - mean U)(U_i - mean U)'] A^-1, df = m - p (R svyglm, ids = ~1).
    Separation or non-convergence gives NaN coefficients and a note.
    """
    nan = pd.Series(np.nan, index=x.columns)
    if not weighted:
        return _fit_cells(y, x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.GLM(y, x, family=sm.families.Binomial(), var_weights=w)
        try:
            result = model.fit(tol=1e-12, maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as error:
            return _Fit(nan, nan, np.nan, f"model failed: {error}")
    if any(issubclass(c.category, PerfectSeparationWarning) for c in caught):
        return _Fit(nan, nan, np.nan, "perfect separation: a group has all or no events")
    if not result.converged:
        return _Fit(nan, nan, np.nan, "model did not converge")
    xm, mu = x.to_numpy(), result.mu
    bread = np.linalg.inv(xm.T @ (xm * (w * mu * (1 - mu))[:, None]))
    scores = xm * (w * (y - mu))[:, None]
    centred = scores - scores.mean(axis=0)
    m = len(y)
    meat = m / (m - 1) * centred.T @ centred
    cov = bread @ meat @ bread
    return _Fit(
        result.params, pd.Series(np.sqrt(np.diag(cov)), index=x.columns), float(m - x.shape[1]), ""
    )


def _fit_cells(y: np.ndarray, x: pd.DataFrame) -> _Fit:
    """The unweighted fit on cell-level sufficient statistics: rows with the same covariate
    pattern collapse to (events, non-events), which gives the same maximum-likelihood
    estimates and standard errors as the row-level fit, in time independent of the rows.

    Separation: a pattern set can make the cell fit saturated (two cycles), where
    statsmodels' separation warning fires on every fit, so it is detected directly instead:
    a cell with no events or only events in a group that has no other cell to borrow from
    shows as fitted probabilities at 0 or 1, or coefficients beyond any real effect.
    """
    nan = pd.Series(np.nan, index=x.columns)
    cells = (
        x.assign(_y=y).groupby(list(x.columns), sort=True)["_y"].agg(["sum", "count"]).reset_index()
    )
    events = cells["sum"].to_numpy(dtype=float)
    endog = np.column_stack([events, cells["count"].to_numpy(dtype=float) - events])
    design = cells[list(x.columns)].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        # A saturated cell fit has no residual df; statsmodels then divides by zero while
        # computing a Pearson scale the binomial family never uses (its scale is fixed at 1).
        warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)
        try:
            result = sm.GLM(endog, design, family=sm.families.Binomial()).fit(
                tol=1e-12, maxiter=100
            )
        except (np.linalg.LinAlgError, ValueError) as error:
            return _Fit(nan, nan, np.nan, f"model failed: {error}")
    mu = np.asarray(result.mu)
    if (mu < 1e-8).any() or (mu > 1 - 1e-8).any() or (np.abs(result.params) > 15).any():
        return _Fit(nan, nan, np.nan, "perfect separation: a group has all or no events")
    if not result.converged:
        return _Fit(nan, nan, np.nan, "model did not converge")
    return _Fit(result.params, result.bse, np.inf, "")


def _interaction_rows(fit: _Fit, others: list[str], weighted: bool, level: float) -> pd.DataFrame:
    """One row per group: the ``group:cycle`` coefficient with its interval and p-value."""
    rows = []
    for grp in others:
        term = f"group={grp}:cycle"
        est, se = float(fit.params[term]), float(fit.se[term])
        dist = stats.norm if np.isinf(fit.df_resid) else stats.t(fit.df_resid)
        q = float(dist.ppf(0.5 + level / 2))
        rows.append(
            {
                "term": term,
                "group": grp,
                "estimate": est,
                "ci_low": est - q * se,
                "ci_high": est + q * se,
                "p_value": float(2 * dist.sf(abs(est / se))),
                "se": se,
                "model": WEIGHTED_MODEL if weighted else UNWEIGHTED_MODEL,
                "note": fit.note,
            }
        )
    return pd.DataFrame(rows, columns=INTERACTION_COLUMNS)


def _z_test(change: float, variance: float) -> tuple[float, float]:
    """z = change / sqrt(variance) and its two-sided normal p-value (NaN when variance is 0)."""
    if not variance > 0:
        return np.nan, np.nan
    z = change / np.sqrt(variance)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def _deff_variance(cell: _Cell) -> float:
    """deff p q / n: the design-effect variance of one rate (DOMAIN.md section 4)."""
    return cell.deff * cell.estimate * (1 - cell.estimate) / cell.n if cell.n else np.nan


def _change_rows(
    cells: dict[tuple[object, str], _Cell], cycles: list[object], others: list[str], reference: str
) -> pd.DataFrame:
    """Latest cycle against the previous one: the group rate and the gap, each with a z test."""
    if len(cycles) < 2:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    latest, previous = cycles[-1], cycles[-2]
    empty = _Cell(0, 0, np.nan, np.nan, np.nan)
    rows = []
    for grp in others:
        g1, g0 = cells.get((latest, grp), empty), cells.get((previous, grp), empty)
        r1, r0 = cells.get((latest, reference), empty), cells.get((previous, reference), empty)
        base = {
            "cycle": latest,
            "previous_cycle": previous,
            "group": grp,
            "deff": g1.deff,
            "previous_deff": g0.deff,
        }
        note = "" if min(g1.n, g0.n, r1.n, r0.n) > 0 else "a group is missing from a cycle"
        rate_change = g1.estimate - g0.estimate
        z, p = _z_test(rate_change, _deff_variance(g1) + _deff_variance(g0))
        rows.append(
            {
                **base,
                "measure": "group rate",
                "change": rate_change,
                "z": z,
                "p_value": p,
                "note": note,
            }
        )
        gap_change = (g1.estimate - r1.estimate) - (g0.estimate - r0.estimate)
        variance = sum(_deff_variance(c) for c in (g1, g0, r1, r0))
        z, p = _z_test(gap_change, variance)
        rows.append(
            {
                **base,
                "measure": "gap",
                "change": gap_change,
                "z": z,
                "p_value": p,
                "note": note or "gap variance adds deff p q / n of all four cells",
            }
        )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _smallest_n(
    cells: dict[tuple[object, str], _Cell], cycles: list[object], grp: str, reference: str
) -> int:
    """The smallest group or reference count over all cycles (0 when one is missing)."""
    empty = _Cell(0, 0, np.nan, np.nan, np.nan)
    return min(
        min(cells.get((cy, grp), empty).n, cells.get((cy, reference), empty).n) for cy in cycles
    )


def decide(row: pd.Series, significant: bool) -> tuple[str, str]:
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
    interaction: pd.DataFrame,
    fit: _Fit,
    first_c: float,
    smallest: dict[str, int],
    reference: str,
    min_n: int,
    level: float,
) -> pd.DataFrame:
    """Verdict rows from the interaction table, decided by its confidence intervals."""
    rows = []
    for _, inter in interaction.iterrows():
        grp = inter["group"]
        main = fit.params.get(f"group={grp}", np.nan)
        row = pd.Series(
            {
                "group": grp,
                "reference_group": reference,
                "interaction": inter["estimate"],
                "ci_low": inter["ci_low"],
                "ci_high": inter["ci_high"],
                "p_value": inter["p_value"],
                "p_adjusted": np.nan,
                "adjust_method": methods.NO_ADJUSTMENT,
                "first_cycle_gap": main + inter["estimate"] * first_c,
                "smallest_n": smallest[grp],
                "min_n": min_n,
                "level": level,
                "model_ok": bool(np.isfinite(inter["se"])),
            }
        )
        excludes_zero = bool(row["ci_low"] > 0 or row["ci_high"] < 0)
        row["verdict"], row["reason"] = decide(row, excludes_zero)
        rows.append(row)
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


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
    cycle_values = _cycle_values(frame[cycle])
    cycles = list(cycle_values)
    others = sorted(set(frame[group].unique()) - {reference})
    cells = _cycle_cells(frame, outcome, group, cycle)
    weighted = weights is not None
    per_cycle = pd.DataFrame(
        [
            _per_cycle_row(cy, grp, reference, cells, weighted, level)
            for cy in cycles
            for grp in others
        ],
        columns=PER_CYCLE_COLUMNS,
    )
    centre = float(np.mean(list(cycle_values.values())))
    cycle_c = frame[cycle].map(cycle_values).astype(float) - centre
    fit = _model_fit(frame, outcome, group, reference, others, cycle_c, covariates, weighted)
    interaction = _interaction_rows(fit, others, weighted, level)
    smallest = {grp: _smallest_n(cells, cycles, grp, reference) for grp in others}
    first_c = cycle_values[cycles[0]] - centre if cycles else np.nan
    return GapTrend(
        per_cycle=per_cycle,
        interaction=interaction,
        change=_change_rows(cells, cycles, others, reference),
        verdict=_verdict_table(interaction, fit, first_c, smallest, reference, min_n, level),
        cycles=cycle_values,
    )


def _model_fit(
    frame: pd.DataFrame,
    outcome: str,
    group: str,
    reference: str,
    others: list[str],
    cycle_c: pd.Series,
    covariates: Sequence[str],
    weighted: bool,
) -> _Fit:
    """Fit the interaction model, or explain why it cannot be fitted."""
    x = _design(frame, group, reference, others, cycle_c, covariates)
    nan = pd.Series(np.nan, index=x.columns)
    if reference not in set(frame[group].unique()):
        return _Fit(nan, nan, np.nan, f"reference group {reference!r} has no responses")
    if cycle_c.nunique() < 2:
        return _Fit(nan, nan, np.nan, "fewer than two cycles: no trend")
    rates = frame.groupby(group)[outcome].mean()
    degenerate = sorted(rates.index[(rates == 0) | (rates == 1)])
    if degenerate:
        return _Fit(
            nan,
            nan,
            np.nan,
            f"separation: {', '.join(degenerate)} has all or no events in every cycle",
        )
    return _fit_logistic(frame[outcome].to_numpy(), x, frame["_w"].to_numpy(), weighted)


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
    for i, row in out.iterrows():
        significant = bool(eligible[i] and row["p_adjusted"] < 1 - row["level"])
        out.loc[i, ["verdict", "reason"]] = decide(row, significant)
    return out
