"""Funnel plots for comparing units (regions, sectors, intersections) against a target.

Spiegelhalter DJ (2005), "Funnel plots for comparing institutional performance", Stat Med
24:1185-1202; Spiegelhalter DJ (2005), "Handling over-dispersion of performance indicators",
Qual Saf Health Care 14:347-351; DerSimonian R, Laird N (1986), "Meta-analysis in clinical
trials", Control Clin Trials 7:177-188. The conventions (transformations, 10% winsorisation or
truncation, the tau-squared estimator, the unadjusted limits and the z values) are those of the
NHS-R Community's FunnelPlotR 0.6.0, which the tests reproduce to 1e-8.

Each unit ``i`` has ``events`` ``O_i`` and a denominator ``n_i``:

* ``kind="proportion"``: ``n_i`` is the number of people; estimate ``p_i = O_i / n_i``; target
  ``p_0 = sum(O) / sum(n)`` (the pooled rate) unless given. Arcsine scale:
  ``y_i = asin(sqrt(p_i))``, ``theta = asin(sqrt(p_0))``, ``s_i = 1 / (2 sqrt(n_i))``.
* ``kind="ratio"``: an indirectly standardised ratio, ``n_i`` the expected events ``E_i``
  (from England's rates); estimate ``O_i / E_i``; target 1 unless given. Log scale:
  ``y_i = log(O_i / E_i)``, ``theta = log(target)``, ``s_i = 1 / sqrt(E_i)`` (FunnelPlotR's
  ``sr_method = "SHMI"``; its square-root "CQC" method is left out: its limits are not
  transformed back, FunnelPlotR issue #33).

``z_i = (y_i - theta) / s_i``. Over-dispersion is estimated from z-scores trimmed at
``trim_fraction`` (f) at each end:

* ``trim="winsorise"`` (FunnelPlotR for proportions): z below the f quantile (or above the 1 - f
  quantile; quantiles interpolated as R's type 7) are set to that quantile; all units count.
* ``trim="truncate"`` (FunnelPlotR's SHMI method): with ``k = 1 / f`` and ``r_i`` the average
  rank of ``z_i`` among N units, unit i is dropped when ``floor(r_i k / (N + 1))`` is 0 or at
  least ``k - 1``. With f = 0.1 and fewer than 9 units nothing is dropped.

Dispersion ratio ``phi = sum(zw_i^2) / m`` over the m units kept (zw the trimmed z). Additive
random-effects variance (DerSimonian-Laird, with the target in place of the weighted mean):
``tau2 = max(0, (m phi - (m - 1)) / (sum(w) - sum(w^2) / sum(w)))`` with ``w_i = 1 / s_i^2``,
and 0 when ``m phi < m - 1``.

Control limits at a denominator with standard error ``s`` (``z_L`` = 1.959964 for 95% and
3.090232 for 99.8%, the normal quantiles to six decimals as FunnelPlotR uses them):

* ``adjust="none"``: proportions ``sin^2(theta ± z_L s)``; ratios exact Poisson,
  ``target * qchisq(a/2, 2E) / (2E)`` and ``target * qchisq(1 - a/2, 2E + 2) / (2E)``
  (FunnelPlotR's ``draw_unadjusted``).
* ``adjust="additive"``: ``theta ± z_L sqrt(s^2 + tau2)`` transformed back (FunnelPlotR's
  ``draw_adjusted``, Spiegelhalter's random-effects limits).
* ``adjust="multiplicative"``: ``theta ± z_L sqrt(phi) s`` transformed back (Spiegelhalter's
  multiplicative over-dispersion; FunnelPlotR has none: its ``multiplier`` only rescales the
  axis, e.g. to percentages).

On the arcsine scale ``theta ± z_L sigma`` is cut to ``[0, pi/2]``, so proportion limits stay in
[0, 1]. As in FunnelPlotR and Spiegelhalter's papers, an adjustment is only applied when
``phi > 1``; otherwise the unadjusted limits are used and the row says so. A unit is flagged
"above"/"below" a level when its estimate lies strictly outside that level's limits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.errors import PtwError
from toolkit.stats import methods

FUNNEL_COLUMNS = (
    "group",
    "n",
    "events",
    "estimate",
    "target",
    "z",
    "trimmed",
    "lower_998",
    "lower_95",
    "upper_95",
    "upper_998",
    "flag",
    "kind",
    "limits_method",
    "adjust",
    "phi",
    "tau2",
    "trim",
    "trim_fraction",
    "n_units",
    "note",
)
FUNNEL_LIMIT_COLUMNS = ("denominator", "limit", "level", "side", "kind", "limits_method", "adjust")
FUNNEL_FLAGS = ("inside", "above 95%", "above 99.8%", "below 95%", "below 99.8%")

KINDS = ("proportion", "ratio")
ADJUSTMENTS = ("none", "multiplicative", "additive")
TRIMS = ("winsorise", "truncate")
DEFAULT_TRIM = {"proportion": "winsorise", "ratio": "truncate"}  # as FunnelPlotR
# (level label, FunnelPlotR's normal quantile, two-sided tail probability)
LEVELS = (("95%", 1.959964, 0.05), ("99.8%", 3.090232, 0.002))
# The first denominator of the default plotting grid, as FunnelPlotR's.
GRID_START = {"proportion": 3.0, "ratio": 1.1}


def _choice(value: str, allowed: Sequence[str], option: str) -> str:
    if value not in allowed:
        raise PtwError(
            code="stats.bad_option",
            message=f"unknown {option} for a funnel plot",
            value=value,
            expected=f"one of {tuple(allowed)}",
            fix=f"pass {option}= as one of {tuple(allowed)}",
        )
    return value


def _check_counts(events: np.ndarray, n: np.ndarray, kind: str, names: tuple[str, str]) -> None:
    problems = {
        names[0]: ~np.isfinite(events) | (events < 0),
        names[1]: ~np.isfinite(n) | (n < 0),
    }
    if kind == "proportion":
        problems[names[0]] = problems[names[0]] | (events > n)
    for column, bad in problems.items():
        if bad.any():
            raise PtwError(
                code="stats.bad_funnel_counts",
                message="funnel plot counts must be finite and non-negative"
                + (", with events at most n" if kind == "proportion" else ""),
                column=column,
                value=_first_value(events if column == names[0] else n, bad),
                fix="aggregate the units' counts first and remove missing values",
            )


def _first_value(values: np.ndarray, bad: np.ndarray) -> float:
    """The first offending value, for an error message."""
    return float(values[np.argmax(bad)])


def _transform(values: np.ndarray | float, kind: str) -> np.ndarray:
    """Arcsine square root (proportions) or log (ratios)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(values, dtype=float)
        return np.arcsin(np.sqrt(values)) if kind == "proportion" else np.log(values)


def _standard_error(n: np.ndarray, kind: str) -> np.ndarray:
    """Standard error on the transformed scale at denominator ``n``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (0.5 if kind == "proportion" else 1.0) / np.sqrt(n)


def _trim(z: np.ndarray, trim: str, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(trimmed z, or NaN where truncated; whether each z was winsorised or truncated)."""
    if trim == "winsorise":
        low, high = np.quantile(z, [fraction, 1 - fraction])
        return np.clip(z, low, high), ~((z > low) & (z < high))
    k = 1 / fraction
    band = np.floor(stats.rankdata(z) * k / (len(z) + 1))
    dropped = (band <= 0) | (band >= k - 1)
    return np.where(dropped, np.nan, z), dropped


def _dispersion(zw: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(phi, tau2) from the kept trimmed z-scores and their standard errors."""
    m = len(zw)
    phi = float(np.sum(zw**2) / m)
    if m * phi < m - 1:
        return phi, 0.0
    w = 1 / s**2
    return phi, max(0.0, (m * phi - (m - 1)) / (w.sum() - (w**2).sum() / w.sum()))


def _limits(
    n: np.ndarray, target: float, kind: str, adjust: str, phi: float, tau2: float
) -> dict[tuple[str, str], np.ndarray]:
    """Limits at denominators ``n``, keyed by (level, side)."""
    n = np.asarray(n, dtype=float)
    theta = _transform(target, kind)
    s = _standard_error(n, kind)
    with np.errstate(divide="ignore", invalid="ignore"):
        if adjust == "additive":
            sigma = np.sqrt(s**2 + tau2)
        elif adjust == "multiplicative":
            sigma = np.sqrt(phi) * s
        else:
            sigma = s
        out = {}
        for label, z, alpha in LEVELS:
            if kind == "ratio" and adjust == "none":
                lower = target * stats.chi2.ppf(alpha / 2, 2 * n) / (2 * n)
                upper = target * stats.chi2.ppf(1 - alpha / 2, 2 * n + 2) / (2 * n)
            elif kind == "ratio":
                lower, upper = np.exp(theta - z * sigma), np.exp(theta + z * sigma)
            else:
                lower = np.sin(np.clip(theta - z * sigma, 0, np.pi / 2)) ** 2
                upper = np.sin(np.clip(theta + z * sigma, 0, np.pi / 2)) ** 2
            out[(label, "lower")] = lower
            out[(label, "upper")] = upper
    return out


def _flags(estimate: np.ndarray, limits: dict[tuple[str, str], np.ndarray]) -> list[str | None]:
    flags: list[str | None] = []
    for i, value in enumerate(estimate):
        if np.isnan(limits[("95%", "lower")][i]):
            flags.append(None)
        elif value > limits[("99.8%", "upper")][i]:
            flags.append("above 99.8%")
        elif value > limits[("95%", "upper")][i]:
            flags.append("above 95%")
        elif value < limits[("99.8%", "lower")][i]:
            flags.append("below 99.8%")
        elif value < limits[("95%", "lower")][i]:
            flags.append("below 95%")
        else:
            flags.append("inside")
    return flags


def _limits_method(kind: str, adjust: str) -> str:
    if kind == "ratio":
        return methods.EXACT_POISSON if adjust == "none" else methods.LOG_RATIO
    return methods.ARCSINE


def funnel(
    data: pd.DataFrame,
    *,
    group: str,
    events: str = "events",
    n: str = "n",
    kind: str = "proportion",
    adjust: str = "additive",
    trim: str | None = None,
    trim_fraction: float = 0.1,
    target: float | None = None,
) -> pd.DataFrame:
    """Funnel-plot statistics: each unit's estimate, z-score, control limits and flag.

    Inputs: ``data`` with one row per unit (rows sharing a ``group`` value are summed first);
    ``group`` the unit column; ``events`` the numerator (events, or observed events for a
    ratio); ``n`` the denominator (people, or expected events for a ratio); ``kind``
    ("proportion" or "ratio"); ``adjust`` ("none", "multiplicative", "additive"); ``trim``
    ("winsorise" or "truncate"; None: FunnelPlotR's choice, winsorise for proportions and
    truncate for ratios); ``trim_fraction``; ``target`` (None: the pooled proportion, or 1 for a
    ratio). Formulas in the module docstring.
    Output: one row per unit with columns :data:`FUNNEL_COLUMNS`: the limits at the unit's own
    denominator, the ``flag`` (one of :data:`FUNNEL_FLAGS`), whether its z was ``trimmed``, and
    the model-wide ``phi``, ``tau2``, ``n_units`` (units in phi) and the ``adjust`` actually
    applied. A unit with n = 0 (or, for a ratio, no events: no log) gets NaN where undefined and
    a ``note``; it does not count towards phi.
    """
    units = data.groupby(group, sort=False, observed=True, dropna=False)[[events, n]].sum()
    columns = funnel_columns(
        units[events].to_numpy(dtype=float),
        units[n].to_numpy(dtype=float),
        kind=kind,
        adjust=adjust,
        trim=trim,
        trim_fraction=trim_fraction,
        target=target,
        names=(events, n),
    )
    return pd.DataFrame({"group": units.index.to_list(), **columns}, columns=list(FUNNEL_COLUMNS))


def funnel_columns(
    events: np.ndarray,
    n: np.ndarray,
    *,
    kind: str,
    adjust: str,
    trim: str | None,
    trim_fraction: float,
    target: float | None,
    names: tuple[str, str] = ("events", "n"),
) -> dict[str, object]:
    """The columns of :func:`funnel` but ``group``, from one funnel's unit counts as arrays.

    Inputs: ``events`` and ``n``, one entry per unit, and the options of :func:`funnel`
    (``names``: the count columns to name in an error). Output: column name -> array (one entry
    per unit) or scalar, by the formulas of the module docstring. For callers that place many
    funnels without building a DataFrame per funnel.
    """
    _choice(kind, KINDS, "kind")
    _choice(adjust, ADJUSTMENTS, "adjust")
    trim = _choice(trim or DEFAULT_TRIM[kind], TRIMS, "trim")
    if not 0 < trim_fraction < 0.5:
        raise PtwError(
            code="stats.bad_option",
            message="the trimming fraction must lie strictly between 0 and 0.5",
            value=trim_fraction,
            fix="use trim_fraction=0.1, as FunnelPlotR",
        )
    o, d = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    _check_counts(o, d, kind, names)
    valid = d > 0
    if target is None:
        target = float(o.sum() / d.sum()) if kind == "proportion" else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(valid, o / d, np.nan)
    s = _standard_error(d, kind)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (_transform(estimate, kind) - _transform(target, kind)) / s
    assessed = valid & np.isfinite(z)
    zw = np.full_like(z, np.nan)
    trimmed = np.zeros(len(z), dtype=bool)
    if assessed.sum() >= 2:
        zw[assessed], trimmed[assessed] = _trim(z[assessed], trim, trim_fraction)
    kept = ~np.isnan(zw)
    phi, tau2 = _dispersion(zw[kept], s[kept]) if kept.sum() >= 2 else (np.nan, np.nan)
    applied = adjust if phi > 1 else "none"
    limits = _limits(np.where(valid, d, np.nan), target, kind, applied, phi, tau2)
    notes = []
    for ok, finite in zip(valid, np.isfinite(z), strict=True):
        if not ok:
            notes.append("no denominator (n = 0): not assessed")
        elif not finite:
            notes.append("no events: log ratio undefined, left out of phi")
        elif adjust != applied:
            notes.append(
                f"{adjust} adjustment not applied: no over-dispersion (phi <= 1)"
                if kept.sum() >= 2
                else f"{adjust} adjustment not applied: fewer than 2 units to estimate phi"
            )
        else:
            notes.append("")
    return {
        "n": d,
        "events": o,
        "estimate": estimate,
        "target": target,
        "z": np.where(assessed, z, np.nan),
        "trimmed": trimmed,
        "lower_998": limits[("99.8%", "lower")],
        "lower_95": limits[("95%", "lower")],
        "upper_95": limits[("95%", "upper")],
        "upper_998": limits[("99.8%", "upper")],
        "flag": _flags(estimate, limits),
        "kind": kind,
        "limits_method": _limits_method(kind, applied),
        "adjust": applied,
        "phi": np.full(len(d), phi),
        "tau2": np.full(len(d), tau2),
        "trim": trim,
        "trim_fraction": trim_fraction,
        "n_units": int(kept.sum()),
        "note": notes,
    }


def funnel_limits(
    result: pd.DataFrame,
    *,
    denominators: Sequence[float] | np.ndarray | None = None,
    points: int = 1000,
) -> pd.DataFrame:
    """Control-limit curves for drawing a funnel plot from a :func:`funnel` result.

    Inputs: ``result`` from :func:`funnel` (its ``kind``, ``target``, applied ``adjust``, ``phi``
    and ``tau2`` are used); ``denominators`` to evaluate the limits at (None: ``points`` evenly
    spaced from 3 people, or 1.1 expected events, to the largest denominator rounded up, as
    FunnelPlotR's grid).
    Output: columns :data:`FUNNEL_LIMIT_COLUMNS`, one row per denominator, level ("95%",
    "99.8%") and side ("lower", "upper"), sorted by level, side and denominator.
    """
    first = result.iloc[0]
    kind, adjust = str(first["kind"]), str(first["adjust"])
    if denominators is None:
        grid = limit_grid(kind, float(result["n"].max()), points)
    else:
        grid = np.sort(np.asarray(denominators, dtype=float))
    curves = limit_curves(grid, target=float(first["target"]), kind=kind, adjust=adjust,
                          phi=first["phi"], tau2=first["tau2"])  # fmt: skip
    frames = [
        pd.DataFrame({"denominator": grid, "limit": values, "level": level, "side": side})
        for level, side, values in curves
    ]
    table = pd.concat(frames, ignore_index=True)
    table["kind"] = kind
    table["limits_method"] = _limits_method(kind, adjust)
    table["adjust"] = adjust
    return table[list(FUNNEL_LIMIT_COLUMNS)]


def limit_grid(kind: str, largest: float, points: int) -> np.ndarray:
    """FunnelPlotR's plotting grid: ``points`` denominators evenly spaced from 3 people (1.1
    expected events for a ratio) to the ``largest`` denominator rounded up."""
    return np.linspace(GRID_START[kind], float(np.ceil(largest)), points)


def limit_curves(
    grid: np.ndarray, *, target: float, kind: str, adjust: str, phi: float, tau2: float
) -> list[tuple[str, str, np.ndarray]]:
    """``(level, side, limits at grid)`` in the row order of :func:`funnel_limits`, from one
    funnel's ``target``, applied ``adjust``, ``phi`` and ``tau2`` (no DataFrame per funnel)."""
    limits = _limits(grid, target, kind, adjust, phi, tau2)
    return [(level, side, values) for (level, side), values in sorted(limits.items())]
