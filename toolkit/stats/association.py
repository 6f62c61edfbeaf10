"""Test of association between a 0/1 outcome and a grouping (groups x outcome table).

Rules (one table, written into every row's ``test``):

* unweighted, every expected count >= 5: ``"pearson-chi-square"`` (no continuity correction,
  R ``chisq.test(correct = FALSE)``);
* unweighted, some expected count < 5, 2 x 2 table: ``"fisher-exact"`` (scipy, as R
  ``fisher.test``);
* unweighted, some expected count < 5, larger table: ``"fisher-freeman-halton-monte-carlo"``.
  SciPy 1.17's ``fisher_exact`` accepts R x C tables only through Monte Carlo or permutation
  resampling (its default draws 9,999 unseeded tables), not by exact enumeration as R's network
  algorithm does. We draw :data:`MONTE_CARLO_TABLES` tables with the fixed seed
  :data:`MONTE_CARLO_SEED`, so results are reproducible; the p-value carries Monte Carlo error
  of at most ``0.5 / sqrt(MONTE_CARLO_TABLES)`` (about 0.0016) standard error.
* weighted (any design column): ``"rao-scott-f"``, the second-order Rao-Scott F test of R
  ``svychisq(statistic = "F")``: Pearson X^2 of the weighted table scaled to the number of
  respondents N, divided by ``tr(Delta)``, referred to ``F(d0, d0 * nu)`` with
  ``d0 = tr(Delta)^2 / tr(Delta^2)`` and ``nu`` the design degrees of freedom; ``Delta`` is the
  generalised design-effect matrix of the interaction contrasts of the cell proportions.

Only respondents who answered and belong to a group enter the table; groups without answers are
dropped (and named in ``note``). ``min_expected`` is the smallest expected count of the unweighted
table; ``dof`` is the chi-square or numerator degrees of freedom, ``dof_denominator`` the F
denominator degrees of freedom (NaN otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.stats import methods
from toolkit.stats.design import (
    Design,
    domain_df,
    make_design,
    make_domains,
    outcome_values,
    psu_covariance,
)

ASSOCIATION_COLUMNS = (
    "test",
    "statistic",
    "dof",
    "dof_denominator",
    "p_value",
    "min_expected",
    "note",
)
MIN_EXPECTED = 5.0
MONTE_CARLO_TABLES = 100_000
MONTE_CARLO_SEED = 20240626


def _result(
    test: str,
    statistic: float = np.nan,
    dof: float = np.nan,
    ddf: float = np.nan,
    p_value: float = np.nan,
    min_expected: float = np.nan,
    note: str = "",
) -> pd.DataFrame:
    return pd.DataFrame(
        [[test, statistic, dof, ddf, p_value, min_expected, note]],
        columns=list(ASSOCIATION_COLUMNS),
    )


def _expected_counts(table: np.ndarray) -> np.ndarray:
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()


def unweighted_test(
    table: np.ndarray, note: str, monte_carlo_tables: int = MONTE_CARLO_TABLES
) -> pd.DataFrame:
    """Pearson chi-square, Fisher exact or Monte Carlo Fisher on a groups x 2 count table.

    The rule (module docstring) picks the test from the smallest expected count and the table
    size; output is one row of :data:`ASSOCIATION_COLUMNS` carrying ``note``.
    """
    min_expected = float(_expected_counts(table).min())
    if min_expected >= MIN_EXPECTED:
        chi = stats.chi2_contingency(table, correction=False)
        return _result(
            methods.PEARSON_CHI_SQUARE,
            float(chi.statistic),
            float(chi.dof),
            np.nan,
            float(chi.pvalue),
            min_expected,
            note,
        )
    if table.shape == (2, 2):
        return _result(
            methods.FISHER_EXACT,
            p_value=float(stats.fisher_exact(table).pvalue),
            min_expected=min_expected,
            note=note,
        )
    method = stats.MonteCarloMethod(
        n_resamples=monte_carlo_tables, rng=np.random.default_rng(MONTE_CARLO_SEED)
    )
    p_value = float(stats.fisher_exact(table, method=method).pvalue)
    return _result(
        methods.FISHER_MONTE_CARLO, p_value=p_value, min_expected=min_expected, note=note
    )


def _interaction_contrasts(n_rows: int, n_cols: int) -> np.ndarray:
    """Interaction columns of ``~rows * cols`` made orthogonal to ``~rows + cols``.

    Cells are ordered with rows varying fastest, as R's ``interaction()`` and ``expand.grid``.
    """
    rows = np.tile(np.arange(n_rows), n_cols)
    cols = np.repeat(np.arange(n_cols), n_rows)
    row_dummies = (rows[:, None] == np.arange(1, n_rows)).astype(float)
    col_dummies = (cols[:, None] == np.arange(1, n_cols)).astype(float)
    main = np.column_stack([np.ones(len(rows)), row_dummies, col_dummies])
    interaction = np.column_stack(
        [
            row_dummies[:, i] * col_dummies[:, j]
            for j in range(n_cols - 1)
            for i in range(n_rows - 1)
        ]
    )
    coefficients, *_ = np.linalg.lstsq(main, interaction, rcond=None)
    return interaction - main @ coefficients


def _rao_scott(
    cell: np.ndarray,
    n_cells: tuple[int, int],
    design: Design,
    inside: np.ndarray,
    note: str,
    min_expected: float,
) -> pd.DataFrame:
    """Second-order Rao-Scott F test (R ``svychisq(statistic = "F")``).

    ``cell`` is each row's cell index (rows fastest) or -1 outside the table.
    """
    n_rows, n_cols = n_cells
    k = n_rows * n_cols
    w = np.where(inside, design.weights, 0.0)
    indicator = (cell[:, None] == np.arange(k)).astype(float)
    total = w.sum()
    mean = (indicator * w[:, None]).sum(axis=0) / total
    influence = w[:, None] * (indicator - mean) / total
    variance = psu_covariance(influence, design)
    respondents = int(inside.sum())
    pearson = stats.chi2_contingency(
        (mean * respondents).reshape(n_cols, n_rows).T, correction=False
    ).statistic
    contrasts = _interaction_contrasts(n_rows, n_cols)
    inverse_mean = np.diag(np.divide(1.0, mean, out=np.zeros(k), where=mean > 0))
    denominator = contrasts.T @ (inverse_mean / respondents) @ contrasts
    numerator = contrasts.T @ inverse_mean @ variance @ inverse_mean @ contrasts
    delta = np.linalg.solve(denominator, numerator)
    trace = float(np.trace(delta))
    d0 = trace**2 / float(np.trace(delta @ delta))
    nu = domain_df(inside, design)
    statistic = float(pearson) / trace
    p_value = float(stats.f.sf(statistic, d0, d0 * nu))
    return _result(methods.RAO_SCOTT_F, statistic, d0, d0 * nu, p_value, min_expected, note)


def association(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str | Sequence[str],
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    monte_carlo_tables: int = MONTE_CARLO_TABLES,
) -> pd.DataFrame:
    """Test whether the rate of a 0/1 ``outcome`` differs between the groups of ``group``.

    Inputs: ``data``; ``outcome`` 0/1 with NaN = not answered; ``group`` a column or list of columns
    (intersection); optional design columns (any of them selects the Rao-Scott test);
    ``monte_carlo_tables`` the number of seeded tables of the R x C Fisher test.
    Output: one row with columns :data:`ASSOCIATION_COLUMNS`; the rules are in the module
    docstring. Fewer than two groups or outcome values give NaN and a note.
    """
    design = make_design(data, weights=weights, strata=strata, clusters=clusters)
    domains = make_domains(data, group)
    y = outcome_values(data, outcome)
    inside = (domains.codes >= 0) & ~np.isnan(y)
    counts = np.zeros((len(domains.labels), 2))
    np.add.at(counts, (domains.codes[inside], y[inside].astype(np.int64)), 1)
    present_rows = counts.sum(axis=1) > 0
    present_cols = counts.sum(axis=0) > 0
    dropped = [label for label, keep in zip(domains.labels, present_rows, strict=True) if not keep]
    note = f"groups without answers left out: {', '.join(dropped)}" if dropped else ""
    test = methods.RAO_SCOTT_F if design.weighted else methods.PEARSON_CHI_SQUARE
    if present_rows.sum() < 2:
        return _result(test, note="fewer than two groups with answers: no test")
    if present_cols.sum() < 2:
        return _result(test, note="the outcome takes a single value: no test")
    table = counts[present_rows]
    if not design.weighted:
        return unweighted_test(table, note, monte_carlo_tables)
    row_index = np.cumsum(present_rows) - 1
    cell = np.where(inside, row_index[domains.codes] + len(table) * np.nan_to_num(y), -1)
    return _rao_scott(
        cell.astype(np.int64),
        (len(table), 2),
        design,
        inside,
        note,
        float(_expected_counts(table).min()),
    )
