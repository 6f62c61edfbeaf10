"""Adjustment of p-values for multiple comparisons within declared families.

Methods (the label of :mod:`toolkit.stats.methods` is written into ``adjust_method`` on every row):

* ``"fdr_bh"`` (default), label "benjamini-hochberg": with the m p-values of a family sorted,
  ``p_(i) * m / i``, made monotone from the largest down, capped at 1 (R ``p.adjust("BH")``).
* ``"holm"``, label "holm": ``p_(i) * (m - i + 1)``, made monotone from the smallest up, capped at 1
  (R ``p.adjust("holm")``).

A family is the set of rows sharing the values of ``family_cols`` (all rows when empty). Missing
p-values stay missing and do not count in the family size ``m``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.errors import PtwError
from toolkit.stats import methods

ADJUST_METHODS = {"fdr_bh": methods.BENJAMINI_HOCHBERG, "holm": methods.HOLM}
ALL_ROWS_FAMILY = "all rows"


def _adjust(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family without missing values."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    ranked = p_values[order]
    rank = np.arange(1, m + 1)
    if method == "fdr_bh":
        adjusted = np.minimum.accumulate((ranked * m / rank)[::-1])[::-1]
    else:
        adjusted = np.maximum.accumulate(ranked * (m - rank + 1))
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    return result


def _family_labels(table: pd.DataFrame, family_cols: Sequence[str]) -> pd.Series:
    if not family_cols:
        return pd.Series(ALL_ROWS_FAMILY, index=table.index)
    parts = [column + "=" + table[column].astype(str) for column in family_cols]
    label = parts[0]
    for part in parts[1:]:
        label = label + "; " + part
    return label


def adjust_p_values(
    table: pd.DataFrame,
    *,
    p_col: str = "p_value",
    family_cols: Sequence[str] = (),
    method: str = "fdr_bh",
) -> pd.DataFrame:
    """Add ``p_adjusted``, ``adjust_method``, ``family`` and ``family_size`` to a results table.

    Inputs: ``table`` with a p-value column ``p_col``; ``family_cols`` the columns whose values
    define a family (e.g. ``("cycle", "indicator", "dimension")``); ``method`` "fdr_bh" or
    "holm". Output: a copy of ``table`` with the four columns; ``family`` reads like
    "indicator=q1; dimension=ethnicity" ("all rows" without family columns) and ``family_size``
    counts the non-missing p-values of the family.
    """
    if method not in ADJUST_METHODS:
        raise PtwError(
            code="stats.bad_adjust_method",
            message="unknown multiple-comparison adjustment",
            value=method,
            expected=" or ".join(ADJUST_METHODS),
            fix="use 'fdr_bh' (Benjamini-Hochberg, the default) or 'holm'",
        )
    missing = [c for c in (p_col, *family_cols) if c not in table.columns]
    if missing:
        raise PtwError(
            code="stats.unknown_column",
            message="column not in the results table",
            column=missing[0],
            fix="name an existing p-value or family column",
        )
    result = table.copy()
    family = _family_labels(table, family_cols)
    p_values = table[p_col].to_numpy(dtype=float)
    adjusted = np.full(len(table), np.nan)
    size = np.zeros(len(table), dtype=np.int64)
    for positions in family.groupby(family, sort=False).indices.values():
        present = positions[~np.isnan(p_values[positions])]
        adjusted[present] = _adjust(p_values[present], method)
        size[positions] = len(present)
    result["p_adjusted"] = adjusted
    result["adjust_method"] = ADJUST_METHODS[method]
    result["family"] = family.to_numpy()
    result["family_size"] = size
    return result
