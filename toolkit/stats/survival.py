"""Time-to-event statistics: Kaplan-Meier curves, Cox hazard ratios and the log-rank test.

All three follow R's ``survival`` package (DOMAIN.md section 6) and are checked against it in
``tests/reference/time_reference.R``:

- :func:`kaplan_meier` = ``survfit(Surv(time, event) ~ group, conf.type = "log")``: Greenwood
  variance, log confidence interval, median and its interval by ``quantile.survfit``'s rule.
- :func:`cox` = ``coxph(..., ties = "efron" | "breslow")`` via statsmodels ``PHReg`` (whose own
  default is Breslow; we default to Efron, as R does, and write the method into every row).
- :func:`logrank` = ``survdiff(Surv(time, event) ~ group)`` (rho = 0).

A group that cannot be estimated gives NaN and a ``note``, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.design import declared_levels, require_columns, require_reference

CURVE_COLUMNS = [
    "group",
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "survival",
    "se",
    "ci_low",
    "ci_high",
]
SUMMARY_COLUMNS = ["group", "n", "events", "median", "median_ci_low", "median_ci_high", "note"]
AT_COLUMNS = ["group", "time", "survival", "ci_low", "ci_high", "note"]
COX_COLUMNS = [
    "variable",
    "level",
    "reference_level",
    "hazard_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "se",
    "ties",
    "n",
    "events",
    "note",
]
LOGRANK_COLUMNS = ["test", "statistic", "dof", "p_value", "note"]
ALL_GROUP = "All"
TIES_METHODS = (methods.EFRON, methods.BRESLOW)
# quantile.survfit's tolerance for "the curve sits exactly on the probability"
_QUANTILE_TOLERANCE = np.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan-Meier estimates in three tidy tables.

    A result object, not a DataFrame: :meth:`tables` gives the tables as a dict (the same method
    as :class:`toolkit.stats.trends.GapTrend`).

    Attributes:
        curve: one row per group and distinct time (``CURVE_COLUMNS``); ``se`` is the Greenwood
            standard error of S(t), ``ci_low``/``ci_high`` the log interval.
        summary: one row per group (``SUMMARY_COLUMNS``): records, events, median time and its
            interval (NaN when the curve or its limit never reaches 0.5).
        at: one row per group and requested time (``AT_COLUMNS``): S(t) and its interval.
        level: the confidence level used.
    """

    curve: pd.DataFrame
    summary: pd.DataFrame
    at: pd.DataFrame
    level: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name: ``curve``, ``summary``, ``at``."""
        return {"curve": self.curve, "summary": self.summary, "at": self.at}


def _clean_times(data: pd.DataFrame, time: str, event: str) -> pd.DataFrame:
    """Check and coerce the time and event columns; drop rows where either is missing.

    Raises :class:`PtwError` when a column is absent, a time is negative or an event is not 0/1.
    """
    for column in (time, event):
        if column not in data.columns:
            raise PtwError(
                code="stats.missing_column",
                message="a survival column is missing",
                column=column,
                expected=f"one of {list(data.columns)}",
                fix="pass the name of the column holding time in post or the leaving flag",
            )
    frame = data.dropna(subset=[time, event]).copy()
    frame[time] = pd.to_numeric(frame[time]).astype(float)
    frame[event] = pd.to_numeric(frame[event]).astype(int)
    if (frame[time] < 0).any():
        raise PtwError(
            code="stats.negative_time",
            message="a time to event is negative",
            column=time,
            value=float(frame[time].min()),
            expected="times of zero or more",
            fix="check that start dates come before end dates",
        )
    if not frame[event].isin([0, 1]).all():
        raise PtwError(
            code="stats.bad_event",
            message="the event flag must be 0 (censored) or 1 (event)",
            column=event,
            value=sorted(set(frame[event]) - {0, 1}),
            expected="0 or 1",
            fix="code leavers as 1 and people still in post as 0",
        )
    return frame


def _group_labels(frame: pd.DataFrame, group: str | None) -> pd.Series:
    """The group of each row: the ``group`` column as text, or ``"All"`` when ``group`` is None."""
    if group is None:
        return pd.Series(ALL_GROUP, index=frame.index)
    return frame[group].astype(str)


def _z(level: float) -> float:
    """Two-sided normal quantile for a confidence level."""
    return float(stats.norm.ppf(0.5 + level / 2))


def _km_curve(times: np.ndarray, events: np.ndarray, z: float) -> pd.DataFrame:
    """Kaplan-Meier curve for one group, one row per distinct time.

    d_j (events) and the rows at each distinct time by one pass over the times, n_j (at risk)
    = the rows at t_j or later (a reverse cumulative sum).
    S(t) = prod_{t_j <= t} (1 - d_j / n_j); Greenwood var(log S) = sum d_j / (n_j (n_j - d_j));
    se = S sqrt(var); log interval exp(log S +/- z sqrt(var)), upper capped at 1; NaN once S = 0.
    """
    distinct, at_time, counts = np.unique(times, return_inverse=True, return_counts=True)
    n_event = np.bincount(at_time, weights=events, minlength=len(distinct)).astype(float)
    n_all = counts.astype(float)
    n_risk = np.cumsum(counts[::-1])[::-1].astype(float)
    surv = np.cumprod(1.0 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
        sd_log = np.where(surv > 0, np.sqrt(var_log), np.nan)
        log_s = np.log(np.where(surv > 0, surv, np.nan))
    return pd.DataFrame(
        {
            "time": distinct,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_all - n_event).astype(int),
            "survival": surv,
            "se": surv * sd_log,
            "ci_low": np.exp(log_s - z * sd_log),
            "ci_high": np.minimum(np.exp(log_s + z * sd_log), 1),
        }
    )


def _find_quantile(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """The time at which the cumulative curve ``y`` (= 1 - S, starting at 0) first reaches ``p``.

    R's ``survival:::findq``: where the curve sits on ``p`` (within a tolerance) over an
    interval, the midpoint of that interval is returned (the last observed time closes an open
    interval); NaN when the curve never reaches ``p``.
    """
    tol = _QUANTILE_TOLERANCE
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    x_max = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    valid = ~np.isnan(y)

    def first_reaching(shift: float) -> float:
        reach = valid & (y + shift >= p)
        if not reach.any():
            return float("nan")
        candidates = np.flatnonzero(reach)
        return float(x[candidates[np.argmin(y[candidates])]])

    quantile = (first_reaching(tol) + first_reaching(-tol)) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quantile = (first_reaching(tol) + x_max) / 2
    return quantile


def _median_row(group: str, curve: pd.DataFrame) -> dict[str, object]:
    """Median time in post and its interval for one group (``quantile.survfit`` at 0.5)."""
    x = np.concatenate([[0.0], curve["time"].to_numpy()])

    def median_of(column: str) -> float:
        return _find_quantile(x, np.concatenate([[0.0], 1 - curve[column].to_numpy()]), 0.5)

    median = median_of("survival")
    return {
        "group": group,
        "n": int(curve["n_event"].sum() + curve["n_censor"].sum()),
        "events": int(curve["n_event"].sum()),
        "median": median,
        "median_ci_low": median_of("ci_low"),
        "median_ci_high": median_of("ci_high"),
        "note": "median not reached: survival stays above 0.5" if np.isnan(median) else "",
    }


def _at_rows(group: str, curve: pd.DataFrame, at: Sequence[float]) -> list[dict[str, object]]:
    """S(t) and its interval at each requested time: the last step at or before t.

    Before the first time S = 1 with a zero-width interval (as R); after the last observed time
    the value is NaN with a note (R's ``summary(fit, times =)`` drops such times).
    """
    rows: list[dict[str, object]] = []
    last_time = curve["time"].max()
    for t in at:
        row: dict[str, object] = {"group": group, "time": float(t), "note": ""}
        if t > last_time:
            row.update(
                survival=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                note=f"beyond the last follow-up time ({last_time:g})",
            )
        elif t < curve["time"].iloc[0]:
            row.update(survival=1.0, ci_low=1.0, ci_high=1.0)
        else:
            step = curve[curve["time"] <= t].iloc[-1]
            row.update(survival=step["survival"], ci_low=step["ci_low"], ci_high=step["ci_high"])
        rows.append(row)
    return rows


def kaplan_meier(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    level: float = 0.95,
    at: Sequence[float] = (1.0, 2.0, 3.0),
) -> KaplanMeierResult:
    """Kaplan-Meier survival curves by group (R ``survfit(conf.type = "log")``).

    Args:
        data: one row per person (or episode).
        time: column with time in post, e.g. years from
            :func:`toolkit.stats.workforce.time_in_post`.
        event: column with 1 = left (event), 0 = still in post (censored).
        group: optional group column; without it one curve labelled ``"All"``.
        level: confidence level of the pointwise intervals.
        at: times at which to report S(t) (default 1, 2 and 3 years).

    Returns:
        :class:`KaplanMeierResult`, a result object holding the ``curve``, ``summary`` and
        ``at`` DataFrames (:meth:`KaplanMeierResult.tables` gives them as a dict).
    """
    frame = _clean_times(data, time, event)
    groups = _group_labels(frame, group)
    z = _z(level)
    curves, summaries, at_rows = [], [], []
    for label in sorted(groups.unique()):
        rows = frame[groups == label]
        curve = _km_curve(rows[time].to_numpy(), rows[event].to_numpy(), z)
        curve.insert(0, "group", label)
        curves.append(curve)
        summaries.append(_median_row(label, curve))
        at_rows.extend(_at_rows(label, curve, at))
    curve_table = (
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    )
    return KaplanMeierResult(
        curve=curve_table[CURVE_COLUMNS],
        summary=pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
        at=pd.DataFrame(at_rows, columns=AT_COLUMNS),
        level=level,
    )


def _design_matrix(
    frame: pd.DataFrame, group: str, reference: str, covariates: Sequence[str]
) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Treatment-coded design: group levels against ``reference``, then covariates.

    Numeric covariates enter as they are; text covariates are dummy-coded against their first
    level in sorted order. Returns the matrix and, per column, (variable, level, reference_level).
    """
    columns: dict[str, pd.Series] = {}
    labels: list[tuple[str, str, str]] = []
    for variable, ref in [(group, reference)] + [(c, None) for c in covariates]:
        values = frame[variable]
        if variable != group and pd.api.types.is_numeric_dtype(values):
            columns[variable] = values.astype(float)
            labels.append((variable, "", ""))
            continue
        text = values.astype(str)
        levels = sorted(text.unique())
        base = ref if ref is not None else levels[0]
        for level in levels:
            if level != base:
                columns[f"{variable}={level}"] = (text == level).astype(float)
                labels.append((variable, level, base))
    return pd.DataFrame(columns, index=frame.index), labels


def _cox_unestimable(
    group: str, reference: str, levels: Sequence[str], ties: str, note: str
) -> pd.DataFrame:
    """Rows of NaN with a note, one per non-reference group level."""
    rows = [
        {"variable": group, "level": lvl, "reference_level": reference, "ties": ties, "note": note}
        for lvl in levels
        if lvl != reference
    ]
    return pd.DataFrame(rows, columns=COX_COLUMNS)


def cox(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    reference: str,
    covariates: Sequence[str] = (),
    ties: str = methods.EFRON,
    level: float = 0.95,
) -> pd.DataFrame:
    """Cox proportional hazards ratios of each group against ``reference`` (R ``coxph``).

    Args:
        data: one row per person (or episode).
        time, event: as :func:`kaplan_meier`.
        group: the equality group column; each other level is compared with ``reference``.
        reference: the reference level (hazard ratio 1).
        covariates: adjustment columns (numeric as is, text dummy-coded against the first level).
        ties: ``"efron"`` (R's default) or ``"breslow"`` (statsmodels' default); written into
            the ``ties`` column.
        level: confidence level of the Wald interval exp(b +/- z se).

    Returns:
        One row per model term (``COX_COLUMNS``); ``p_value`` is the Wald z test, ``n`` and
        ``events`` are the records and events in the fitted model. A group level with no events
        is left out of the fit and reported with NaN and a note.
    """
    if ties not in TIES_METHODS:
        raise PtwError(
            code="stats.bad_ties",
            message="unknown ties method",
            value=ties,
            expected=" or ".join(TIES_METHODS),
            fix='use ties="efron" as R does',
        )
    require_columns(data, [group, *covariates])
    require_reference(declared_levels(data[group]), reference, group)
    frame = _clean_times(data, time, event).dropna(subset=[group, *covariates])
    text_group = frame[group].astype(str)
    levels = sorted(text_group.unique())
    if reference not in levels:
        return _cox_unestimable(
            group, reference, levels, ties, f"reference group {reference!r} has no records"
        )
    events_by_level = frame.groupby(text_group)[event].sum()
    empty = [lvl for lvl in levels if events_by_level[lvl] == 0 and lvl != reference]
    if events_by_level[reference] == 0:
        return _cox_unestimable(
            group,
            reference,
            levels,
            ties,
            "no events in the reference group: hazard ratios undefined",
        )
    fitted = frame[~text_group.isin(empty)]
    exog, labels = _design_matrix(fitted, group, reference, covariates)
    table = _fit_cox(fitted, time, event, exog, labels, ties, level)
    if empty:
        table = pd.concat(
            [
                table,
                _cox_unestimable(
                    group,
                    reference,
                    empty,
                    ties,
                    "no events in this group: hazard ratio not estimable",
                ),
            ],
            ignore_index=True,
        )
    return table[COX_COLUMNS]


def _fit_cox(
    frame: pd.DataFrame,
    time: str,
    event: str,
    exog: pd.DataFrame,
    labels: list[tuple[str, str, str]],
    ties: str,
    level: float,
) -> pd.DataFrame:
    """Fit PHReg (Newton, tight tolerance) and lay the coefficients out as ``COX_COLUMNS``."""
    if exog.shape[1] == 0:
        return pd.DataFrame(columns=COX_COLUMNS)
    model = PHReg(
        frame[time].to_numpy(), exog.to_numpy(), status=frame[event].to_numpy(), ties=ties
    )
    result = model.fit(method="newton", tol=1e-12, maxiter=200)
    beta, se = np.asarray(result.params), np.asarray(result.bse)
    z = _z(level)
    return pd.DataFrame(
        {
            "variable": [v for v, _, _ in labels],
            "level": [lv for _, lv, _ in labels],
            "reference_level": [r for _, _, r in labels],
            "hazard_ratio": np.exp(beta),
            "ci_low": np.exp(beta - z * se),
            "ci_high": np.exp(beta + z * se),
            "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
            "se": se,
            "ties": ties,
            "n": len(frame),
            "events": int(frame[event].sum()),
            "note": "",
        }
    )


def logrank(data: pd.DataFrame, *, time: str, event: str, group: str) -> pd.DataFrame:
    """Log-rank test that the survival curves of all groups are equal (R ``survdiff``, rho 0).

    At each distinct event time t with n_t at risk and d_t events, group g expects
    e_gt = d_t n_gt / n_t; V_gh = sum_t d_t (n_t - d_t) / (n_t - 1) * n_gt / n_t * (1[g=h] -
    n_ht / n_t). Groups with zero expected events are dropped; with O - E and V over the rest,
    minus the first group, chi-square = (O - E)' V^-1 (O - E) on (groups - 1) degrees of freedom.

    Returns:
        One row (``LOGRANK_COLUMNS``), test = ``"log-rank"``.
    """
    frame = _clean_times(data, time, event).dropna(subset=[group])
    labels = frame[group].astype(str).to_numpy()
    levels = sorted(set(labels))
    observed, expected, variance = _logrank_parts(
        frame[time].to_numpy(), frame[event].to_numpy(), labels, levels
    )
    kept = expected > 0
    row: dict[str, object] = {
        "test": methods.LOG_RANK,
        "statistic": np.nan,
        "dof": np.nan,
        "p_value": np.nan,
        "note": "",
    }
    if kept.sum() < 2:
        row["note"] = "fewer than two groups with expected events: no test"
        return pd.DataFrame([row], columns=LOGRANK_COLUMNS)
    diff = (observed - expected)[kept][1:]
    v = variance[np.ix_(kept, kept)][1:, 1:]
    statistic = float(diff @ np.linalg.solve(v, diff))
    dof = int(kept.sum() - 1)
    row.update(statistic=statistic, dof=dof, p_value=float(stats.chi2.sf(statistic, dof)))
    return pd.DataFrame([row], columns=LOGRANK_COLUMNS)


def _logrank_parts(
    times: np.ndarray, events: np.ndarray, labels: np.ndarray, levels: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected events per group and their covariance matrix (see :func:`logrank`).

    The counts at each event time (events d_t; at risk per group, n_gt = the group's times at or
    after t, by binary search in its sorted times) are found at once; expected events and the
    covariance are then added up time by time."""
    group_times = [np.sort(times[labels == lvl]) for lvl in levels]
    observed = np.array([events[labels == lvl].sum() for lvl in levels], dtype=float)
    event_times, deaths = np.unique(times[events == 1], return_counts=True)
    at_risk = np.zeros((len(event_times), len(levels)))
    for column, group_time in enumerate(group_times):
        at_risk[:, column] = len(group_time) - np.searchsorted(group_time, event_times, "left")
    expected = np.zeros(len(levels))
    variance = np.zeros((len(levels), len(levels)))
    for d, risk in zip(deaths.astype(float), at_risk, strict=True):
        n = risk.sum()
        share = risk / n
        expected += d * share
        if n > 1:
            variance += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    return observed, expected, variance
