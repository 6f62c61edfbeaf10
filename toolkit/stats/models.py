"""Adjusted comparisons: logistic regression with odds ratios against a reference group.

:func:`logistic` fits ``outcome ~ group`` (unadjusted) and ``outcome ~ group + covariates``
(adjusted), every term a categorical factor treatment-coded against its reference level.

Cell-level sufficient statistics
    The design matrix has one row per unique pattern of factor levels (a *cell*), so the fit
    never touches the respondents again after one aggregation: for each cell ``c`` we keep the
    trials ``n_c``, events, and with weights ``S_w = sum w``, ``S_wy = sum w y``,
    ``S_w2 = sum w^2``, ``S_w2y = sum w^2 y``. This is exact, not an approximation:

    * Point estimates solve ``sum_c x_c (S_wy,c - S_w,c p_c) = 0`` (``S_w = n_c``,
      ``S_wy = events`` unweighted): a binomial GLM on cell proportions ``S_wy / S_w`` with
      weights ``S_w``, solved by Newton-Raphson on the cells to a step below
      :data:`NEWTON_TOL`. Weighted, this is R ``svyglm(family = quasibinomial)`` (whose
      rescaling of weights to mean 1 does not change the estimates).
    * Unweighted covariance: ``A^-1`` with ``A = sum_c S_w,c p_c (1 - p_c) x_c x_c'`` (R ``glm``);
      Wald intervals and p values on the normal distribution (R ``confint.default``).
    * Weighted covariance (R ``svyglm`` with ``svydesign(ids = ~1, weights = ~w)`` declared on
      the whole of ``data``): the sandwich ``N/(N-1) A^-1 B A^-1`` with
      ``B = sum_i w_i^2 (y_i - p_i)^2 x_i x_i'``, per cell
      ``sum w^2 (y - p)^2 = S_w2y (1 - 2 p) + p^2 S_w2`` since ``y^2 = y``. ``N`` is the number
      of rows of ``data``: svyglm drops incomplete rows from the fit but keeps them in the
      design (their estimating-function rows are zero). Intervals and p values use Student t on
      svyglm's residual df: complete cases minus coefficients (separated levels included, as R
      would estimate them), as ``confint.svyglm`` / ``summary.svyglm`` do.

Separation
    A level whose respondents all have the lowest outcome value (no events) or all the highest
    (all events) has an infinite maximum-likelihood coefficient (quasi-complete separation).
    Such a level is reported with ``separation=True``, NaN estimates and a note, its rows are
    left out and the model is refitted; the remaining coefficients are then the limit of the
    full-data fit (those rows' likelihood contributions tend to 1). Separation that the level
    counts do not reveal (a combination of levels) is caught after the fit: a coefficient beyond
    :data:`SEPARATED_LOG_ODDS` or a standard error beyond :data:`SEPARATED_SE`; those levels are
    blanked the same way. (statsmodels' ``PerfectSeparationWarning`` would be no help here: it
    compares fitted and observed proportions, which coincide on cell data for any saturated model
    such as the unadjusted one; the proportional-odds fit in :mod:`toolkit.stats.likert` catches
    it.)

Output: the columns :data:`MODEL_COLUMNS`; one row per non-reference level of each factor in
each model. ``n`` counts the respondents at the level among the model's complete cases. A level
declared (categorical dtype) but absent, and a model whose reference level is absent, give rows
with NaN and a note, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from toolkit.errors import PtwError
from toolkit.stats.design import level_codes, make_design, outcome_values, require_reference

MODEL_COLUMNS = (
    "model",
    "variable",
    "level",
    "reference_level",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "se",
    "n",
    "converged",
    "separation",
    "note",
)
# A fitted log odds ratio beyond +/- 10 (odds ratio beyond 22,000) or a standard error above 50
# only arises when the likelihood has no finite maximum for that level.
SEPARATED_LOG_ODDS = 10.0
SEPARATED_SE = 50.0
NEWTON_TOL = 1e-11
NEWTON_MAX_ITER = 60

NOTE_ABSENT = "no respondents at this level in the model sample"
NOTE_EMPTY = "no respondent has the outcome and every model variable recorded"
NOTE_SINGLE_LEVEL = "only the reference level is present: nothing to compare"
NOTE_REFERENCE_ABSENT = 'reference level "{reference}" of "{variable}" has no respondents'
NOTE_SEPARATED = (
    "separation: every respondent at this level has the same {which} outcome, so the odds "
    "ratio is infinite; left out of the fit"
)
NOTE_SEPARATED_FIT = (
    "separation: the fitted coefficient diverged (no finite estimate); estimate not reported"
)
NOTE_REFERENCE_SEPARATED = (
    'separation: every respondent at reference level "{reference}" of "{variable}" has the same '
    "outcome, so no odds ratio against it is finite"
)


@dataclass(frozen=True)
class Factor:
    """A categorical term: level labels, the reference, and each row's level code (-1 missing)."""

    variable: str
    levels: tuple[str, ...]
    reference: str
    codes: np.ndarray


@dataclass(frozen=True)
class Units:
    """What a fit sees: respondents, or cells of respondents sharing every level.

    Attributes:
        codes: level code of each factor per unit, shape ``(units, factors)``, no missing.
        count: respondents per unit.
        at_low, at_high: respondents per unit at the lowest / highest outcome value of the sample.
    """

    codes: np.ndarray
    count: np.ndarray
    at_low: np.ndarray
    at_high: np.ndarray


@dataclass
class ModelSample:
    """Units and terms of one model after separation handling.

    Attributes:
        units: the complete cases as :class:`Units`.
        keep: units used in the fit.
        factors: the model's terms, the compared group first.
        n_level: respondents per level among complete cases, one array per factor.
        notes: ``(factor index, level code) -> note`` for levels not estimated.
        separated: the ``(factor index, level code)`` pairs left out for separation.
        blocked: a note when the model cannot be fitted at all, else None.
    """

    units: Units
    keep: np.ndarray
    factors: list[Factor]
    n_level: list[np.ndarray]
    notes: dict[tuple[int, int], str]
    separated: set[tuple[int, int]]
    blocked: str | None = None

    def level_counts(self, j: int, what: np.ndarray | None = None) -> np.ndarray:
        """Per level of factor ``j``, the sum of ``what`` (default respondents) over kept units."""
        values = self.units.count if what is None else what
        return np.bincount(
            self.units.codes[self.keep, j],
            weights=values[self.keep],
            minlength=len(self.factors[j].levels),
        )

    def dummies(self) -> list[tuple[int, int]]:
        """The estimated ``(factor index, level code)`` pairs, in design-matrix column order."""
        return [
            (j, code)
            for j, factor in enumerate(self.factors)
            for code in np.flatnonzero(self.level_counts(j) > 0).tolist()
            if factor.levels[code] != factor.reference
        ]

    def design_matrix(self, intercept: bool) -> np.ndarray:
        """0/1 dummy columns (after an intercept column if asked) for the kept units."""
        codes = self.units.codes[self.keep]
        columns = [codes[:, j] == code for j, code in self.dummies()]
        if intercept:
            columns.insert(0, np.ones(len(codes), dtype=bool))
        return np.column_stack(columns).astype(float) if columns else np.empty((len(codes), 0))


@dataclass(frozen=True)
class Fit:
    """Estimated coefficients (log odds ratios) of the dummies, in :meth:`ModelSample.dummies`
    order, with standard errors, the df for intervals (inf = normal) and convergence."""

    coef: np.ndarray
    se: np.ndarray
    df: float
    converged: bool
    diverged: np.ndarray


def largest_level(levels: Sequence[str], codes: np.ndarray) -> str:
    """The level with the most rows (``codes`` index ``levels``, -1 = missing); ties: first."""
    counts = np.bincount(codes[codes >= 0], minlength=len(levels))
    return levels[int(np.argmax(counts))]


def factor_codes(column: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """A column's level labels and each row's level code (-1 missing), as
    :func:`toolkit.stats.design.level_codes` codes them."""
    codes, labels = level_codes(column)
    return tuple(labels), codes


def coded_factor(
    variable: str, levels: tuple[str, ...], codes: np.ndarray, reference: str | None = None
) -> Factor:
    """A :class:`Factor` from level labels and row codes (:func:`factor_codes`).

    ``reference`` defaults to the level with the most rows (:func:`largest_level`), not the
    alphabetically first one; a reference that is not a level raises PtwError.
    """
    if not levels:
        return Factor(variable, levels, "" if reference is None else str(reference), codes)
    chosen = largest_level(levels, codes) if reference is None else str(reference)
    require_reference(levels, chosen, variable)
    return Factor(variable, levels, chosen, codes)


def factor(data: pd.DataFrame, variable: str, reference: str | None = None) -> Factor:
    """A :class:`Factor` from a column of ``data`` (:func:`factor_codes`, :func:`coded_factor`):
    categories in order if categorical, else sorted values; the reference defaults to the
    level with the most rows of ``data``."""
    levels, codes = factor_codes(data[variable])
    return coded_factor(variable, levels, codes, reference)


def complete_cases(y: np.ndarray, factors: list[Factor]) -> np.ndarray:
    """Rows with the outcome and every factor recorded."""
    keep = ~np.isnan(y)
    for f in factors:
        keep &= f.codes >= 0
    return keep


def respondent_units(y: np.ndarray, factors: list[Factor], rows: np.ndarray) -> Units:
    """One unit per respondent in ``rows`` (a boolean mask of complete cases)."""
    yk = y[rows]
    codes = np.column_stack([f.codes[rows] for f in factors])
    low, high = (yk.min(), yk.max()) if len(yk) else (0.0, 0.0)
    return Units(codes, np.ones(len(yk)), (yk == low).astype(float), (yk == high).astype(float))


def _separation_pass(sample: ModelSample) -> bool:
    """Leave out units of newly separated levels; True if anything changed."""
    changed = False
    for j, f in enumerate(sample.factors):
        count = sample.level_counts(j)
        present = count > 0
        lowest = set(
            np.flatnonzero(
                present & (sample.level_counts(j, sample.units.at_low) == count)
            ).tolist()
        )
        highest = set(
            np.flatnonzero(
                present & (sample.level_counts(j, sample.units.at_high) == count)
            ).tolist()
        )
        if f.levels.index(f.reference) in lowest | highest:
            sample.blocked = NOTE_REFERENCE_SEPARATED.format(
                reference=f.reference, variable=f.variable
            )
            return False
        for code in sorted(lowest | highest):
            which = "lowest" if code in lowest else "highest"
            sample.notes[(j, code)] = NOTE_SEPARATED.format(which=which)
            sample.separated.add((j, code))
            sample.keep &= sample.units.codes[:, j] != code
            changed = True
    return changed


def _reference_missing(sample: ModelSample) -> str | None:
    """A note if some factor's reference level has no respondents left in the sample."""
    for j, f in enumerate(sample.factors):
        if f.reference not in f.levels or sample.level_counts(j)[f.levels.index(f.reference)] == 0:
            return NOTE_REFERENCE_ABSENT.format(reference=f.reference, variable=f.variable)
    return None


def prepare_sample(units: Units, factors: list[Factor]) -> ModelSample:
    """The model sample: separated levels left out (and their units) until none remain.

    Separation means a level's respondents are all at the lowest or all at the highest outcome
    value of the sample (no events / all events for a 0/1 outcome). ``blocked`` is set when no
    respondent is left or a reference level has none.
    """
    keep = np.ones(len(units.count), dtype=bool)
    sample = ModelSample(units, keep, factors, [], {}, set())
    sample.n_level = [sample.level_counts(j) for j in range(len(factors))]
    for j in range(len(factors)):
        for code in np.flatnonzero(sample.n_level[j] == 0).tolist():
            sample.notes[(j, code)] = NOTE_ABSENT
    changed = True
    while changed and sample.blocked is None:
        sample.blocked = NOTE_EMPTY if not sample.keep.any() else _reference_missing(sample)
        changed = sample.blocked is None and _separation_pass(sample)
    return sample


def wald(
    coef: np.ndarray, se: np.ndarray, df: float, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided p value and interval ``coef ± q se`` (q from t on ``df``, normal if inf).

    The distribution functions are scipy's own kernels (``ndtri``/``ndtr`` for the normal,
    ``stdtrit``/``stdtr`` for t), what ``stats.norm`` and ``stats.t(df)`` ``ppf`` and ``sf``
    evaluate, without building a distribution object per fit.
    """
    upper = 1 - (1 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(coef / se)
    if np.isinf(df):
        q, p_value = special.ndtri(upper), 2 * special.ndtr(-z)
    else:
        q, p_value = special.stdtrit(df, upper), 2 * special.stdtr(df, -z)
    return p_value, coef - q * se, coef + q * se


def _level_row(model: str, f: Factor, label: str, n: int) -> dict[str, object]:
    """A row of :data:`MODEL_COLUMNS` with identifiers set and every estimate missing."""
    return {
        "model": model,
        "variable": f.variable,
        "level": label,
        "reference_level": f.reference,
        "odds_ratio": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "se": np.nan,
        "n": n,
        "converged": False,
        "separation": False,
        "note": "",
    }


def coefficient_rows(
    model: str, sample: ModelSample, fit: Fit | None, level: float
) -> list[dict[str, object]]:
    """Rows (dicts of :data:`MODEL_COLUMNS`) for every non-reference level of every factor.

    A factor with no level besides its reference gives one row with an empty ``level`` and a
    note, so the comparison is visibly missing rather than silently absent.
    """
    estimated = {key: i for i, key in enumerate(sample.dummies())} if fit is not None else {}
    if fit is not None:
        p_value, low, high = wald(fit.coef, fit.se, fit.df, level)
    blocked_by_separation = (sample.blocked or "").startswith("separation")
    rows = []
    for j, f in enumerate(sample.factors):
        others = [(code, label) for code, label in enumerate(f.levels) if label != f.reference]
        if not others:
            row = _level_row(model, f, "", 0)
            row["note"] = NOTE_SINGLE_LEVEL
            rows.append(row)
        for code, label in others:
            row = _level_row(model, f, label, int(sample.n_level[j][code]))
            row["note"] = sample.blocked or sample.notes.get((j, code), "")
            row["separation"] = (j, code) in sample.separated or blocked_by_separation
            i = estimated.get((j, code))
            if fit is not None:
                row["converged"] = fit.converged
            if i is not None and fit.diverged[i]:
                row.update(separation=True, note=NOTE_SEPARATED_FIT)
            elif i is not None:
                row.update(
                    odds_ratio=np.exp(fit.coef[i]),
                    ci_low=np.exp(low[i]),
                    ci_high=np.exp(high[i]),
                    p_value=p_value[i],
                    se=fit.se[i],
                )
            rows.append(row)
    return rows


def coefficient_table(
    model: str, sample: ModelSample, fit: Fit | None, level: float
) -> pd.DataFrame:
    """:func:`coefficient_rows` as a table of :data:`MODEL_COLUMNS`."""
    return pd.DataFrame(coefficient_rows(model, sample, fit, level), columns=list(MODEL_COLUMNS))


@dataclass(frozen=True)
class Cells:
    """Sufficient statistics per cell (unique pattern of levels among complete cases)."""

    units: Units
    sum_w: np.ndarray
    sum_wy: np.ndarray
    sum_w2: np.ndarray
    sum_w2y: np.ndarray
    n_complete: int
    n_design: int


def aggregate_cells(y: np.ndarray, w: np.ndarray, factors: list[Factor]) -> Cells:
    """Collapse the complete cases of ``y`` and ``factors`` to cells in one pass.

    Inputs: ``y`` (0/1, NaN = not answered) and ``w`` per row; ``factors`` coded on the rows.
    Output: per cell (unique pattern of levels, in order of first appearance) the trials
    ``sum 1``, ``S_w = sum w``, ``S_wy = sum w y``, ``S_w2 = sum w^2``, ``S_w2y = sum w^2 y``.
    """
    return _aggregate(y, np.ones(len(y)), w, factors)


def aggregate_counted_cells(y: np.ndarray, count: np.ndarray, factors: list[Factor]) -> Cells:
    """:func:`aggregate_cells` without weights for units that each stand for ``count``
    respondents sharing the outcome and every level (cells counted beforehand).

    Inputs: per unit ``y`` (0/1, NaN), ``count`` (respondents, integer-valued floats) and the
    ``factors``' codes, units in order of their respondents' first appearance.
    Output: the :class:`Cells` that :func:`aggregate_cells` gives on the respondents one row
    each with unit weights, exactly: ``S_w = S_w2 = sum count``, ``S_wy = S_w2y =
    sum count y`` (sums of whole numbers), cells in the same order.
    """
    return _aggregate(y, count, np.ones(len(y)), factors)


def _aggregate(y: np.ndarray, count: np.ndarray, w: np.ndarray, factors: list[Factor]) -> Cells:
    """The cells of units that each stand for ``count`` respondents of weight ``w``: the
    trials add ``count``, each weighted sum ``count * w * ...`` (one factor being 1, every sum
    is the same float as without it)."""
    units = complete_cases(y, factors)
    yk, nk, wk = y[units], count[units], w[units]
    cell, codes = _cell_index(factors, units)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=values, minlength=len(codes))

    at_low, at_high = _at_extremes(yk)
    counted = Units(codes, total(nk), total(nk * at_low), total(nk * at_high))
    nw, nw2 = nk * wk, nk * wk * wk
    return Cells(counted, total(nw), total(nw * yk), total(nw2), total(nw2 * yk), int(nk.sum()),
                 int(count.sum()))  # fmt: skip


def _cell_index(factors: list[Factor], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each selected row's cell (its pattern of ``factors``' levels, numbered in order of
    first appearance) and each cell's level codes, shape ``(cells, factors)``."""
    key = np.zeros(np.count_nonzero(rows), dtype=np.int64)
    for f in factors:
        key = key * len(f.levels) + f.codes[rows]
    cell, uniques = pd.factorize(key)
    codes = np.zeros((len(uniques), len(factors)), dtype=np.int64)
    for j in range(len(factors) - 1, -1, -1):
        codes[:, j] = uniques % len(factors[j].levels)
        uniques = uniques // len(factors[j].levels)
    return cell, codes


def _at_extremes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1.0 where ``y`` is at its lowest value, and where at its highest (0 and 0 if empty)."""
    low, high = (y.min(), y.max()) if len(y) else (0.0, 0.0)
    return (y == low).astype(float), (y == high).astype(float)


def newton_logistic(
    x: np.ndarray, sum_w: np.ndarray, sum_wy: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Solve ``x' (sum_wy - sum_w p) = 0``, ``p = expit(x b)``, by Newton-Raphson.

    Starts from the overall log odds; converged when the largest step is below
    :data:`NEWTON_TOL` within :data:`NEWTON_MAX_ITER` steps.
    """
    beta = np.zeros(x.shape[1])
    beta[0] = special.logit(sum_wy.sum() / sum_w.sum())
    for _ in range(NEWTON_MAX_ITER):
        p = special.expit(x @ beta)
        information = (x * (sum_w * p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(information, x.T @ (sum_wy - sum_w * p), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < NEWTON_TOL:
            return beta, True
    return beta, False


def fit_cells(sample: ModelSample, cells: Cells, weighted: bool) -> Fit:
    """Point estimates and model-based (unweighted) or sandwich (weighted) standard errors.

    See the module docstring for the sandwich factor ``N/(N-1)`` and the residual df.
    """
    keep = sample.keep
    x = sample.design_matrix(intercept=True)
    sum_w, sum_wy = cells.sum_w[keep], cells.sum_wy[keep]
    beta, converged = newton_logistic(x, sum_w, sum_wy)
    p = special.expit(x @ beta)
    bread = np.linalg.pinv((x * (sum_w * p * (1 - p))[:, None]).T @ x)
    if weighted:
        meat_weight = cells.sum_w2y[keep] * (1 - 2 * p) + p**2 * cells.sum_w2[keep]
        meat = (x * meat_weight[:, None]).T @ x
        n = cells.n_design
        covariance = n / (n - 1) * bread @ meat @ bread
        df = float(cells.n_complete - len(beta) - len(sample.separated))
    else:
        covariance, df = bread, np.inf
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    coef, se = beta[1:], se[1:]
    diverged = (np.abs(coef) > SEPARATED_LOG_ODDS) | (se > SEPARATED_SE) | (not converged)
    return Fit(coef, se, df, converged, diverged)


def fit_rows(
    model: str,
    units: Units,
    factors: list[Factor],
    level: float,
    fitter: Callable[[ModelSample], Fit],
) -> list[dict[str, object]]:
    """Prepare the sample, fit it with ``fitter`` unless blocked, and give the
    :func:`coefficient_rows`."""
    sample = prepare_sample(units, factors)
    fit = fitter(sample) if sample.blocked is None else None
    return coefficient_rows(model, sample, fit, level)


def fit_table(
    model: str,
    units: Units,
    factors: list[Factor],
    level: float,
    fitter: Callable[[ModelSample], Fit],
) -> pd.DataFrame:
    """:func:`fit_rows` as a table of :data:`MODEL_COLUMNS`."""
    rows = fit_rows(model, units, factors, level, fitter)
    return pd.DataFrame(rows, columns=list(MODEL_COLUMNS))


def model_factors(
    data: pd.DataFrame,
    group: str,
    reference: str,
    covariates: Sequence[str],
    references: Mapping[str, str] | None = None,
) -> tuple[list[Factor], list[Factor]]:
    """Terms of the unadjusted (group only) and adjusted (group + covariates) models.

    ``references`` maps a covariate to its reference level; a covariate not in it takes its
    largest level (:func:`factor`). A key that is not a covariate raises PtwError.
    """
    chosen = dict(references or {})
    unknown = sorted(set(chosen) - set(covariates))
    if unknown:
        raise PtwError(
            code="stats.unknown_covariate",
            message="a reference level is given for a column that is not a covariate",
            column=unknown[0],
            expected=f"one of the covariates {list(covariates)}",
            fix="add the column to covariates= or drop it from references=",
        )
    group_factor = factor(data, group, reference)
    extra = [factor(data, column, chosen.get(column)) for column in covariates]
    return [group_factor], [group_factor, *extra]


def logistic(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    reference: str,
    covariates: Sequence[str] = (),
    references: Mapping[str, str] | None = None,
    weights: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Odds ratios of a 0/1 ``outcome`` for each level of ``group`` against ``reference``.

    Inputs: ``data``; ``outcome`` (0/1, NaN = not answered); ``group`` (categorical column);
    ``reference`` (its reference level); ``covariates`` (categorical adjustment columns);
    ``references`` (covariate column -> its reference level; a covariate left out takes its
    largest level, the one with most rows in ``data``, ties to the first in level order);
    ``weights`` (survey weight column: svyglm point estimates and sandwich SEs, see the module
    docstring); ``level`` (interval coverage).
    Output: :data:`MODEL_COLUMNS`; ``model`` is "unadjusted", plus "adjusted" rows for the group
    and every covariate level when covariates are given; ``reference_level`` states each
    factor's reference on every row. Each model uses its own complete cases. A reference that is
    not a level of its column raises PtwError.
    """
    y = outcome_values(data, outcome)
    w = make_design(data, weights=weights).weights
    unadjusted, adjusted = model_factors(data, group, reference, covariates, references)
    models = [("unadjusted", unadjusted)] + ([("adjusted", adjusted)] if covariates else [])
    rows = logistic_rows(y, w, models, weighted=weights is not None, level=level)
    return pd.DataFrame(rows, columns=list(MODEL_COLUMNS))


def logistic_rows(
    y: np.ndarray,
    w: np.ndarray,
    models: Sequence[tuple[str, list[Factor]]],
    *,
    weighted: bool,
    level: float,
) -> list[dict[str, object]]:
    """:func:`logistic` on arrays: rows (dicts of :data:`MODEL_COLUMNS`) of each model.

    Inputs: ``y`` the 0/1 outcome (NaN = not answered); ``w`` the weights (ones when
    unweighted); ``models`` ``(name, factors)`` pairs, factors coded on the rows of ``y`` (the
    compared group first); ``weighted`` whether ``w`` are survey weights (sandwich standard
    errors and t intervals, see the module docstring); ``level`` the interval coverage.
    Each model is fitted on its own complete cases, collapsed to cells
    (:func:`aggregate_cells`, :func:`fit_cells`).
    """
    return _fitted_rows(models, lambda factors: aggregate_cells(y, w, factors), weighted, level)


def logistic_count_rows(
    y: np.ndarray, count: np.ndarray, models: Sequence[tuple[str, list[Factor]]], *, level: float
) -> list[dict[str, object]]:
    """Unweighted :func:`logistic_rows` on counted cells: unit ``i`` stands for ``count[i]``
    respondents with outcome ``y[i]`` and the factors' levels at ``i``, units in order of
    their respondents' first appearance (:func:`aggregate_counted_cells`). Gives exactly the
    rows :func:`logistic_rows` gives on the respondents with unit weights."""
    return _fitted_rows(
        models, lambda factors: aggregate_counted_cells(y, count, factors), False, level
    )


def _fitted_rows(models: Sequence[tuple[str, list[Factor]]],
                 cells_of: Callable[[list[Factor]], Cells], weighted: bool,
                 level: float) -> list[dict[str, object]]:  # fmt: skip
    """The :func:`coefficient_rows` of each ``(name, factors)`` model, fitted
    (:func:`fit_cells`) on the cells ``cells_of`` gives for its factors."""
    rows: list[dict[str, object]] = []
    for model, factors in models:
        cells = cells_of(factors)
        rows += fit_rows(
            model,
            cells.units,
            factors,
            level,
            lambda sample, c=cells: fit_cells(sample, c, weighted),
        )
    return rows
