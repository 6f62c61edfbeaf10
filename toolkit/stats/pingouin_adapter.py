"""The one place where pingouin output is read.

pingouin 0.7 renamed its output columns (``p_unc``, ``p_val``, ``CI95``, ``cohen_d``), rounds
some confidence intervals (``cronbach_alpha`` rounds its interval to 3 decimals) and, through
pandas, raises ``pandas.errors.Pandas4Warning`` in some functions. This adapter pins what we read:
it returns plain dataclasses with our names, recomputes rounded intervals at full precision from
the formula pingouin uses, and silences exactly ``Pandas4Warning`` around each call (nothing
else).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy import stats

T = TypeVar("T")

# Above this many (x, y) pairs pingouin.mwu's pairwise difference matrix (n1 x n2 floats) would
# need gigabytes; the same U, p, CLES and rank-biserial values are then computed from U itself.
MWU_PAIRWISE_LIMIT = 20_000_000


@dataclass(frozen=True)
class MannWhitney:
    """Two-sided Mann-Whitney U test of ``x`` against ``y``.

    Attributes:
        u: U statistic of ``x`` (pairs with x > y, ties counting one half); R ``wilcox.test``'s W.
        p_value: two-sided p (normal approximation with continuity correction when there are
            ties or large samples, exact otherwise: SciPy's ``method="auto"``).
        rank_biserial: ``2 U / (n_x n_y) - 1`` (Wendt 1972), positive when ``x`` tends higher.
        cles: common-language effect size ``P(x > y) + P(x = y) / 2 = U / (n_x n_y)``.
        n_x, n_y: sample sizes.
    """

    u: float
    p_value: float
    rank_biserial: float
    cles: float
    n_x: int
    n_y: int


@dataclass(frozen=True)
class KruskalWallis:
    """Kruskal-Wallis H test (tie-corrected) with epsilon-squared.

    Attributes:
        h: H statistic; dof: groups - 1; p_value: chi-square p;
        epsilon_squared: ``H / (n - 1)`` (Tomczak & Tomczak 2014: ``H / ((n^2 - 1) / (n + 1))``).
        n: observations.
    """

    h: float
    dof: int
    p_value: float
    epsilon_squared: float
    n: int


@dataclass(frozen=True)
class CronbachAlpha:
    """Cronbach's alpha with Feldt's F interval, listwise.

    ``alpha = k / (k - 1) * (1 - sum(item variances) / var(total))``;
    interval ``1 - (1 - alpha) * F_{1-a/2}(n-1, (n-1)(k-1))`` to ``1 - (1 - alpha) F_{a/2}(...)``.
    """

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    n_items: int


def _pingouin() -> ModuleType:
    """pingouin, imported on first use: importing it imports matplotlib, seaborn and xarray for
    its plots (about 0.7 s of a command's start-up), and most commands never call it."""
    import pingouin

    return pingouin


def _quietly(call: Callable[[], T]) -> T:
    """Run a pingouin call with exactly ``Pandas4Warning`` silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)
        return call()


def mann_whitney(x: np.ndarray, y: np.ndarray) -> MannWhitney:
    """Two-sided Mann-Whitney U test via ``pingouin.mwu`` (columns ``U_val, p_val, RBC, CLES``).

    Inputs: two 1-d numeric arrays without missing values, each non-empty.
    Output: :class:`MannWhitney`. For very large samples (more than
    :data:`MWU_PAIRWISE_LIMIT` pairs) SciPy's ``mannwhitneyu`` (which pingouin calls) gives U and p
    and the effect sizes come from U by the identities in :class:`MannWhitney`.
    """
    n_x, n_y = len(x), len(y)
    if n_x * n_y <= MWU_PAIRWISE_LIMIT:
        table = _quietly(lambda: _pingouin().mwu(x, y, alternative="two-sided"))
        row = table.iloc[0]
        return MannWhitney(
            float(row["U_val"]),
            float(row["p_val"]),
            float(row["RBC"]),
            float(row["CLES"]),
            n_x,
            n_y,
        )
    result = stats.mannwhitneyu(x, y, alternative="two-sided")
    u = float(result.statistic)
    return MannWhitney(u, float(result.pvalue), 2 * u / (n_x * n_y) - 1, u / (n_x * n_y), n_x, n_y)


def kruskal_wallis(values: np.ndarray, groups: np.ndarray) -> KruskalWallis:
    """Kruskal-Wallis test via ``pingouin.kruskal`` (columns ``ddof1, H, p_unc``).

    Inputs: the values and the group label of each (no missing values, at least two groups).
    Output: :class:`KruskalWallis`.
    """
    frame = pd.DataFrame({"value": values, "group": groups})
    row = _quietly(lambda: _pingouin().kruskal(frame, dv="value", between="group")).iloc[0]
    n = len(frame)
    h = float(row["H"])
    return KruskalWallis(h, int(row["ddof1"]), float(row["p_unc"]), h / (n - 1), n)


def cronbach_alpha(items: pd.DataFrame, level: float = 0.95) -> CronbachAlpha:
    """Cronbach's alpha via ``pingouin.cronbach_alpha(nan_policy="listwise")``.

    Inputs: one numeric column per item (NaN = not answered; incomplete rows are dropped).
    Output: :class:`CronbachAlpha`. pingouin rounds its interval to 3 decimals, so the Feldt
    interval is recomputed here at full precision with pingouin's own formula.
    """
    complete = items.dropna(axis=0, how="any")
    n, k = complete.shape
    alpha, _rounded = _quietly(
        lambda: _pingouin().cronbach_alpha(complete, nan_policy="listwise", ci=level)
    )
    tail = (1 - level) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    ci_low = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    ci_high = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    return CronbachAlpha(float(alpha), float(ci_low), float(ci_high), n, k)
