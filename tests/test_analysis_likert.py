"""toolkit.analysis.likert's helpers against the row-by-row pandas they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.analysis.likert import numeric_answers


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["4", None, "1", "4", "x", "2.5", None], dtype="str"),
        pd.Series(["3", pd.NA, "3"], dtype="string"),
        pd.Series(["5", "1"], dtype="str"),
        pd.Series([None, None], dtype="str"),
        pd.Series([2.0, np.nan, 1.0]),
        pd.Series([], dtype="str"),
    ],
)
def test_numeric_answers_equal_to_numeric_row_by_row(column: pd.Series) -> None:
    expected = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(numeric_answers(column), expected)
