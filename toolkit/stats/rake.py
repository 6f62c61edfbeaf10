"""Raking: survey weights calibrated to population margins by iterative proportional fitting.

:func:`rake` adjusts starting weights (design weights, or 1) so that the weighted count of each
level of each raking variable equals its population total (e.g. region and sector totals from
the workforce records), as R ``survey::rake`` (equivalently ``calibrate(calfun = "raking")``)
does. One iteration visits every variable in turn and multiplies the weights of each level by
``target / current weighted total``. Diagnostics (convergence history, design effect, effective
sample size, achieved margins) are returned, never printed.

Capping (``cap``): after each full iteration, weights above ``cap`` times the mean weight are set
to that bound and the next iteration re-rakes; the loop stops when every margin is met within
``tol`` *and* no weight exceeds the bound (the usual rake-cap-rake loop). If the margins cannot be
met under the cap, ``converged`` is False and ``margins_check`` shows the shortfall.

Trimming (``trim``): a one-off truncation after raking to ``[low, high]`` times the mean weight,
rescaled to the population total; margins are then no longer met exactly and ``margins_check``
shows by how much. Use ``cap`` to keep the margins, ``trim`` to bound weights whatever happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import PtwError

MARGIN_COLUMNS = ("variable", "level", "total")
# Margins whose grand totals differ by more than this (relative) describe different populations.
TOTALS_AGREEMENT = 1e-6


@dataclass(frozen=True)
class RakingResult:
    """Raked weights and their diagnostics.

    Attributes:
        weights: raked weight per row, aligned to the input's index.
        history: one row per iteration: ``iteration``, ``max_margin_error`` (largest
            ``|achieved - target| / target`` over all levels after that iteration).
        converged: every margin met within ``tol`` (and the cap respected, if one was set).
        iterations: iterations run.
        design_effect: Kish's ``n sum(w^2) / (sum w)^2``.
        effective_sample_size: ``(sum w)^2 / sum(w^2)``.
        margins_check: ``variable, level, target, achieved`` for every margin level.
    """

    weights: pd.Series
    history: pd.DataFrame
    converged: bool
    iterations: int
    design_effect: float
    effective_sample_size: float
    margins_check: pd.DataFrame


@dataclass(frozen=True)
class _Margin:
    """One raking variable: level code per row and the target total per level."""

    variable: str
    levels: tuple[str, ...]
    codes: np.ndarray
    targets: np.ndarray


def _margin_error(code: str, message: str, variable: str, value: object, fix: str) -> PtwError:
    return PtwError(code=code, message=message, column=variable, value=value, fix=fix)


def _as_totals(variable: str, spec: pd.DataFrame | pd.Series) -> pd.Series:
    """Population totals per level from a Series (index = level) or a DataFrame."""
    if isinstance(spec, pd.Series):
        return spec
    if {"level", "total"} <= set(spec.columns):
        return spec.set_index("level")["total"]
    if spec.shape[1] == 1:
        return spec.iloc[:, 0]
    raise _margin_error(
        "weights.bad_margins",
        "a margin table has neither level/total columns nor one column",
        variable,
        list(spec.columns),
        "give a Series indexed by level, or a DataFrame with columns level and total",
    )


def normalise_margins(
    margins: Mapping[str, pd.DataFrame | pd.Series] | pd.DataFrame,
) -> dict[str, pd.Series]:
    """Margins as ``{variable: Series of totals indexed by level (as text)}``.

    Accepts a mapping of column name to a Series (index = level) or a DataFrame (``level`` and
    ``total`` columns, or a single column indexed by level), or one tidy DataFrame with columns
    ``variable, level, total`` (the form of a margins file in an analysis plan).
    """
    if isinstance(margins, pd.DataFrame):
        missing = [c for c in MARGIN_COLUMNS if c not in margins.columns]
        if missing:
            raise PtwError(
                code="weights.bad_margins",
                message="the margins table lacks a required column",
                column=missing[0],
                expected="columns variable, level, total",
                fix="write the margins file with one row per variable and level",
            )
        margins = {str(v): part[["level", "total"]] for v, part in margins.groupby("variable")}
    normalised = {}
    for variable, spec in margins.items():
        totals = _as_totals(variable, spec).astype(float)
        totals.index = totals.index.map(str)
        normalised[variable] = totals
    return normalised


def _check_totals(variable: str, totals: pd.Series) -> None:
    bad = ~np.isfinite(totals.to_numpy()) | (totals.to_numpy() <= 0)
    if bad.any():
        level = totals.index[np.flatnonzero(bad)[0]]
        raise _margin_error(
            "weights.bad_margin_total",
            f'population total for level "{level}" is not positive',
            variable,
            totals[level],
            "give a positive population total for every level",
        )


def _build_margin(
    data: pd.DataFrame, variable: str, totals: pd.Series, base: np.ndarray
) -> _Margin:
    """Codes of ``data[variable]`` against the margin's levels, with every level checked."""
    if variable not in data.columns:
        raise _margin_error(
            "weights.unknown_variable",
            "a raking variable is not in the data",
            variable,
            None,
            "rake only on columns of the response data",
        )
    _check_totals(variable, totals)
    column = data[variable]
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise PtwError(
            code="weights.missing_raking_value",
            message="a row has no value of a raking variable",
            row=row + 1,
            column=variable,
            fix="impute or drop rows with a missing raking variable before raking",
        )
    levels = tuple(totals.index)
    codes = pd.Index(levels).get_indexer(column.map(str)).astype(np.int64)
    if (codes < 0).any():
        value = column.iloc[int(np.flatnonzero(codes < 0)[0])]
        raise _margin_error(
            "weights.level_without_margin",
            f'level "{value}" of "{variable}" is in the data but has no population total',
            variable,
            value,
            "add the level to the margins or recode it into a level that has one",
        )
    sample = np.bincount(codes, weights=base, minlength=len(levels))
    if (sample <= 0).any():
        level = levels[int(np.flatnonzero(sample <= 0)[0])]
        raise _margin_error(
            "weights.empty_margin_level",
            f'level "{level}" of "{variable}" has a population total but no sample to weight',
            variable,
            level,
            "collapse the level with a neighbouring one in the margins",
        )
    return _Margin(variable, levels, codes, totals.to_numpy())


def _base_weights(data: pd.DataFrame, weights: str | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(data))
    values = data[weights].to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PtwError(
            code="weights.bad_base_weight",
            message="a starting weight is missing or negative",
            row=row + 1,
            column=weights,
            value=values[row],
            expected="a finite weight >= 0",
            fix="repair the design weights or rake from equal weights (weights=None)",
        )
    return values


def _check_grand_totals(margins: list[_Margin]) -> None:
    grand = np.array([m.targets.sum() for m in margins])
    if np.ptp(grand) > TOTALS_AGREEMENT * grand.max():
        raise PtwError(
            code="weights.inconsistent_margins",
            message="the margins describe populations of different sizes, so raking cannot "
            "meet them all",
            value={m.variable: float(m.targets.sum()) for m in margins},
            fix="take every margin from the same population count",
        )


def _achieved(margin: _Margin, w: np.ndarray) -> np.ndarray:
    return np.bincount(margin.codes, weights=w, minlength=len(margin.levels))


def _max_error(margins: list[_Margin], w: np.ndarray) -> float:
    return max(float(np.max(np.abs(_achieved(m, w) - m.targets) / m.targets)) for m in margins)


def _rake_pass(margins: list[_Margin], w: np.ndarray) -> np.ndarray:
    """One IPF iteration: scale each variable's levels to their targets in turn."""
    for margin in margins:
        achieved = _achieved(margin, w)
        factor = np.divide(
            margin.targets, achieved, out=np.zeros_like(achieved), where=achieved > 0
        )
        w = w * factor[margin.codes]
    return w


def _bounds_respected(w: np.ndarray, cap: float | None, tol: float) -> bool:
    return cap is None or float(w.max()) <= cap * float(w.mean()) * (1 + tol)


def _trimmed(w: np.ndarray, trim: tuple[float, float]) -> np.ndarray:
    """Truncate to ``[low, high]`` times the mean weight, then restore the total."""
    low, high = trim
    mean = w.mean()
    clipped = np.clip(w, low * mean, high * mean)
    return clipped * (w.sum() / clipped.sum())


def _margins_check(margins: list[_Margin], w: np.ndarray) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "variable": m.variable,
                "level": list(m.levels),
                "target": m.targets,
                "achieved": _achieved(m, w),
            }
        )
        for m in margins
    ]
    return pd.concat(parts, ignore_index=True)


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, pd.DataFrame | pd.Series] | pd.DataFrame,
    *,
    weights: str | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
    cap: float | None = None,
    trim: tuple[float, float] | None = None,
) -> RakingResult:
    """Rake weights to population margins (iterative proportional fitting).

    Inputs: ``data`` (one row per respondent); ``margins`` (see :func:`normalise_margins`;
    levels are matched to the data as text); ``weights`` (column of starting design weights,
    default 1); ``max_iter`` full iterations at most; ``tol`` on the largest relative margin
    error; ``cap`` (bound on weights as a multiple of the mean weight, kept while raking);
    ``trim`` (``(low, high)`` multiples of the mean, applied once after raking).
    Output: :class:`RakingResult`. A data level without a margin, a margin level without sample,
    a missing raking value, a non-positive total or margins of different grand totals raise
    :class:`PtwError` naming the variable and level.
    """
    base = _base_weights(data, weights)
    raking = [_build_margin(data, v, t, base) for v, t in normalise_margins(margins).items()]
    _check_grand_totals(raking)
    w = base.copy()
    history: list[tuple[int, float]] = []
    converged = False
    for iteration in range(1, max_iter + 1):
        w = _rake_pass(raking, w)
        if cap is not None:
            w = np.minimum(w, cap * w.mean())
        error = _max_error(raking, w)
        history.append((iteration, error))
        if error < tol and _bounds_respected(w, cap, tol):
            converged = True
            break
    if trim is not None:
        w = _trimmed(w, trim)
    sum_w, sum_w2 = float(w.sum()), float(np.square(w).sum())
    return RakingResult(
        weights=pd.Series(w, index=data.index, name="weight"),
        history=pd.DataFrame(history, columns=["iteration", "max_margin_error"]),
        converged=converged,
        iterations=len(history),
        design_effect=len(w) * sum_w2 / sum_w**2,
        effective_sample_size=sum_w**2 / sum_w2,
        margins_check=_margins_check(raking, w),
    )
