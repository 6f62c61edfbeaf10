"""Proportions by group with confidence intervals, unweighted or design-based.

Unweighted intervals (``ci_method``):

* ``"wilson"`` (default): Wilson score interval,
  ``(x + z^2/2)/(n + z^2) ± z/(n + z^2) * sqrt(x (n - x)/n + z^2/4)``; valid at 0 and n events.
* ``"clopper-pearson"``: exact beta interval ``Beta(a/2; x, n-x+1)``, ``Beta(1-a/2; x+1, n-x)``
  (statsmodels ``proportion_confint(method="beta")``, R ``binom.test``).

``se`` is the binomial ``sqrt(p (1 - p) / n)`` and ``df`` is NaN.

Design-based intervals (weights, optionally strata and clusters; see :mod:`toolkit.stats.design`
for the estimate, its linearised ``se`` and the domain ``df``):

* ``"logit"`` (default when weighted): ``expit(logit(p) ± t_df * se / (p (1 - p)))``, as R
  ``svyciprop(method = "logit")``.
* ``"beta"``: R ``svyciprop(method = "beta")`` (Korn-Graubard): effective size
  ``n_eff = p (1 - p) / se^2 * (t_{n-1} / t_df)^2`` in a Clopper-Pearson interval.

A group with no answers, no events, all events, or too few PSUs gets a row with a ``note``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.design import (
    DomainMeans,
    Domains,
    count_domains,
    domain_means,
    make_design,
    make_domains,
    outcome_values,
)

PROPORTION_COLUMNS = (
    "group",
    "n",
    "events",
    "weighted_n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "df",
    "note",
)
UNWEIGHTED_METHODS = (methods.WILSON, methods.CLOPPER_PEARSON)
WEIGHTED_METHODS = (methods.LOGIT, methods.BETA)


def critical_value(level: float, df: np.ndarray | float = np.inf) -> np.ndarray:
    """Two-sided critical value: normal quantile, or Student t where ``df`` is finite."""
    upper = 1 - (1 - level) / 2
    df_array = np.asarray(df, dtype=float)
    return np.where(np.isinf(df_array), stats.norm.ppf(upper), stats.t.ppf(upper, df_array))


def wilson_interval(
    events: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``events`` out of ``n`` (NaN where ``n == 0``)."""
    z = stats.norm.ppf(1 - (1 - level) / 2)
    n = np.asarray(n, dtype=float)
    events = np.asarray(events, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (events + z**2 / 2) / (n + z**2)
        half = z / (n + z**2) * np.sqrt(events * (n - events) / n + z**2 / 4)
    valid = n > 0
    return np.where(valid, centre - half, np.nan), np.where(valid, centre + half, np.nan)


def clopper_pearson_interval(
    events: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson (exact beta) interval; also used with a fractional effective size."""
    alpha = 1 - level
    n = np.asarray(n, dtype=float)
    events = np.asarray(events, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(events > 0, stats.beta.ppf(alpha / 2, events, n - events + 1), 0.0)
        high = np.where(events < n, stats.beta.ppf(1 - alpha / 2, events + 1, n - events), 1.0)
    valid = n > 0
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def _logit_interval(
    p: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        half = critical_value(level, df) * se / (p * (1 - p))
        centre = special.logit(p)
        return special.expit(centre - half), special.expit(centre + half)


def _design_beta_interval(
    p: np.ndarray, se: np.ndarray, n: np.ndarray, df: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = stats.t.ppf(alpha / 2, n - 1) / stats.t.ppf(alpha / 2, df)
        n_eff = p * (1 - p) / se**2 * ratio**2
        low = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
        high = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
    return low, high


def resolve_ci_method(ci_method: str | None, weighted: bool) -> str:
    """The interval method to use; None means Wilson unweighted, logit weighted."""
    allowed = WEIGHTED_METHODS if weighted else UNWEIGHTED_METHODS
    chosen = ci_method or allowed[0]
    if chosen not in allowed:
        raise PtwError(
            code="stats.bad_ci_method",
            message="this confidence interval method does not fit the design",
            value=ci_method,
            expected=f"one of {allowed} {'with' if weighted else 'without'} survey weights",
            fix="use 'wilson' or 'clopper-pearson' unweighted, 'logit' or 'beta' weighted",
        )
    return chosen


def proportion_notes(means: DomainMeans, domains: Domains, weighted: bool) -> list[str]:
    """One plain-words note per group: empty, all missing, no events, all events, too few PSUs."""
    notes = []
    for rows, n, events, df in zip(domains.rows, means.n, means.events, means.df, strict=True):
        if rows == 0:
            notes.append("empty group: no rows")
        elif n == 0:
            notes.append("no answers: all values missing")
        elif events in (0, n):
            what = "no events" if events == 0 else "all events"
            suffix = (
                "design-based interval undefined (zero variance)"
                if weighted
                else "score interval still valid"
            )
            notes.append(f"{what}: {suffix}")
        elif weighted and not df >= 1:
            notes.append("fewer than two PSUs: design degrees of freedom are zero")
        else:
            notes.append("")
    return notes


def _intervals(
    means: DomainMeans, method: str, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(se, ci_low, ci_high) for the chosen method."""
    if method in UNWEIGHTED_METHODS:
        p, n = means.estimate, means.n
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(p * (1 - p) / n)
        interval = wilson_interval if method == methods.WILSON else clopper_pearson_interval
        return (se, *interval(means.events, n, level))
    se = np.sqrt(means.variance)
    inside = (means.estimate > 0) & (means.estimate < 1) & (means.df >= 1)
    if method == methods.LOGIT:
        low, high = _logit_interval(means.estimate, se, means.df, level)
    else:
        low, high = _design_beta_interval(means.estimate, se, means.n, means.df, level)
    return se, np.where(inside, low, np.nan), np.where(inside, high, np.nan)


def proportions(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str | Sequence[str] | Domains | None = None,
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    ci_method: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Proportion of a 0/1 ``outcome`` per group of ``group`` with a confidence interval.

    Inputs: ``data``; ``outcome`` a 0/1 column (NaN = not answered, excluded from the
    denominator); ``group`` a column, a list of columns (intersection, labels joined with " × "),
    None (one group "All") or :class:`~toolkit.stats.design.Domains` made for ``data``; design columns ``weights``, ``strata``, ``clusters`` (any of them makes
    the estimate design-based); ``ci_method`` (None: "wilson" unweighted, "logit" weighted; see the
    module docstring); ``level``.
    Output: one row per group with columns :data:`PROPORTION_COLUMNS`. ``weighted_n`` is the sum
    of weights of those who answered (``n`` when unweighted).
    """
    design = make_design(data, weights=weights, strata=strata, clusters=clusters)
    method = resolve_ci_method(ci_method, design.weighted)
    domains = make_domains(data, group)
    means = domain_means(outcome_values(data, outcome), domains, design)
    return proportion_table(means, domains, method, level, design.weighted)


def proportions_from_counts(
    counts: pd.DataFrame,
    *,
    events: str,
    n: str,
    group: str | Sequence[str] | None = None,
    ci_method: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """:func:`proportions` of a published table of counts, unweighted.

    Inputs: ``counts`` with one row per group (rows of the same group are added); ``events``
    the column counting people with the outcome; ``n`` the column counting those who answered
    (the base); ``group`` as in :func:`proportions`; ``ci_method`` "wilson" (default) or
    "clopper-pearson"; ``level``.
    Output: exactly :func:`proportions` on the counts expanded to 0/1 rows: the columns
    :data:`PROPORTION_COLUMNS`, ``weighted_n = n``, binomial ``se``, ``df`` NaN.
    """
    method = resolve_ci_method(ci_method, weighted=False)
    domains, means = count_domains(counts, events=events, n=n, group=group)
    return proportion_table(means, domains, method, level, weighted=False)


def proportion_table(
    means: DomainMeans, domains: Domains, method: str, level: float, weighted: bool
) -> pd.DataFrame:
    """Assemble the :data:`PROPORTION_COLUMNS` table from computed domain means."""
    se, low, high = _intervals(means, method, level)
    return pd.DataFrame(
        {
            "group": list(domains.labels),
            "n": means.n.astype(np.int64),
            "events": means.events.astype(np.int64),
            "weighted_n": means.weighted_n,
            "estimate": means.estimate,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "ci_method": method,
            "df": means.df,
            "note": proportion_notes(means, domains, weighted),
        },
        columns=list(PROPORTION_COLUMNS),
    )


def answers_and_events(outcomes: Mapping[str, np.ndarray], cell: np.ndarray, cells: int) -> pd.DataFrame:  # fmt: skip
    """Unweighted answers and events of each outcome in each of ``cells`` cells, one
    ``numpy.bincount`` per outcome and count (no text, no grouping per row).

    Inputs: ``outcomes`` name -> one 0/1 value per row (NaN = not answered); ``cell`` each
    row's cell code, ``0 <= cell < cells`` (-1: counted nowhere).

    Output: one row per cell x outcome, cells in code order, outcomes in ``outcomes`` order:
    ``cell``, ``outcome`` (the name), ``n`` (answers) and ``events`` (their sum), as floats.
    """
    counted = cell >= 0
    n, events = [], []
    for y in outcomes.values():
        answered = counted & ~np.isnan(y)
        n.append(np.bincount(cell[answered], minlength=cells).astype(float))
        events.append(np.bincount(cell[answered], weights=y[answered], minlength=cells))
    return pd.DataFrame({
        "cell": np.repeat(np.arange(cells), len(outcomes)),
        "outcome": np.tile(np.array(list(outcomes), dtype=object), cells),
        "n": np.column_stack(n).ravel() if n else np.zeros(0),
        "events": np.column_stack(events).ravel() if n else np.zeros(0),
    })  # fmt: skip
