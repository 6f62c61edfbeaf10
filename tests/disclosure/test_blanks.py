"""A number left in a suppressed row of a table without an audit layout is found and refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.disclosure.blanks import assert_blanked, numbers_in_suppressed_rows
from toolkit.errors import DisclosureError


def _rates() -> pd.DataFrame:
    return pd.DataFrame({
        "cycle": [2025, 2025, 2025], "group": ["Asian", "Roma", "White"],
        "respondents": [40.0, np.nan, 400.0], "rate": [0.3, np.nan, 0.2],
        "suppressed": [False, True, False],
    })  # fmt: skip


def test_blank_suppressed_rows_pass() -> None:
    assert numbers_in_suppressed_rows({"response_rates": _rates()}).empty
    assert_blanked(
        {"response_rates": _rates(), "no_suppression_column": pd.DataFrame({"x": [1.0]})}
    )


def test_a_number_in_a_suppressed_row_is_named_and_refused() -> None:
    rates = _rates()
    rates.loc[1, "rate"] = 0.5
    found = numbers_in_suppressed_rows({"response_rates": rates})
    assert found[["table", "row", "column", "value"]].values.tolist() == [
        ["response_rates", 1, "rate", 0.5]
    ]
    with pytest.raises(DisclosureError, match="response_rates") as error:
        assert_blanked({"response_rates": rates})
    assert (error.value.row, error.value.column) == (2, "rate")
