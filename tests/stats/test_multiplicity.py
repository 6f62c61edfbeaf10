"""adjust_p_values() against R p.adjust (tests/reference/expected/core_multiplicity.csv), 1e-12."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.multiplicity import adjust_p_values

REFERENCE = Path(__file__).parents[1] / "reference" / "expected" / "core_multiplicity.csv"


@pytest.mark.parametrize(
    ("method", "column", "name"), [("fdr_bh", "bh", "benjamini-hochberg"), ("holm", "holm", "holm")]
)
def test_matches_r_p_adjust_within_families(method, column, name):
    reference = pd.read_csv(REFERENCE)
    ours = adjust_p_values(reference, family_cols=("family",), method=method)
    np.testing.assert_allclose(ours["p_adjusted"], reference[column], rtol=0, atol=1e-12)
    assert ours["p_adjusted"].isna().sum() == reference["p_value"].isna().sum() == 2
    assert (ours["adjust_method"] == name).all()
    assert set(ours["family"]) == {"family=a", "family=b"}
    # NaN p-values do not count in the family size: 12 of 13 and 9 of 10
    assert ours.groupby("family")["family_size"].first().to_dict() == {
        "family=a": 12,
        "family=b": 9,
    }


def test_default_is_benjamini_hochberg_over_all_rows():
    table = pd.DataFrame({"p_value": [0.01, 0.04, 0.03]})
    ours = adjust_p_values(table)
    assert ours["adjust_method"].iloc[0] == "benjamini-hochberg"
    assert ours["family"].iloc[0] == "all rows"
    np.testing.assert_allclose(ours["p_adjusted"], [0.03, 0.04, 0.04])
    with pytest.raises(PtwError):
        adjust_p_values(table, method="sidak")
