"""Minimum detectable difference (MDD) between a group's proportion and the reference's.

Formula (two-sided test of two independent proportions, normal approximation, variance taken at
the reference proportion for both groups)::

    mdd = (z_{1 - alpha/2} + z_{power}) * sqrt(deff * p0 (1 - p0) * (1/n_group + 1/n_reference))

``mdd`` is a proportion difference (0.05 = 5 percentage points); ``deff`` is the design effect
(1 for simple random sampling; e.g. Kish's ``n sum w^2 / (sum w)^2`` for weights). A group or
reference size of 0, or ``p_reference`` outside (0, 1), gives NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from toolkit.stats import methods

MDD_COLUMNS = ("n_group", "n_reference", "p_reference", "mdd", "alpha", "power", "method")
MDD_METHOD = methods.TWO_PROPORTION_NORMAL


def minimum_detectable_difference(
    *,
    n_group: npt.ArrayLike,
    n_reference: npt.ArrayLike,
    p_reference: npt.ArrayLike,
    alpha: float = 0.05,
    power: float = 0.8,
    deff: npt.ArrayLike = 1.0,
) -> pd.DataFrame:
    """Smallest difference in proportions detectable with the given sizes (formula above).

    Inputs: group sizes, reference sizes, reference proportions and design effects (scalars or
    arrays, broadcast together); ``alpha`` and ``power``. Output: one row per broadcast element
    with columns :data:`MDD_COLUMNS`.
    """
    n1, n0, p0, design_effect = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (n_group, n_reference, p_reference, deff))
    )
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    valid = (n1 > 0) & (n0 > 0) & (p0 > 0) & (p0 < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mdd = z * np.sqrt(design_effect * p0 * (1 - p0) * (1 / n1 + 1 / n0))
    return pd.DataFrame(
        {
            "n_group": n1.ravel(),
            "n_reference": n0.ravel(),
            "p_reference": p0.ravel(),
            "mdd": np.where(valid, mdd, np.nan).ravel(),
            "alpha": alpha,
            "power": power,
            "method": MDD_METHOD,
        },
        columns=list(MDD_COLUMNS),
    )
