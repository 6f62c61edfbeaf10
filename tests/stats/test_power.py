"""minimum_detectable_difference(): the documented closed form, checked by hand and by power."""

import numpy as np
import pytest
from scipy import stats

from toolkit.stats.power import MDD_COLUMNS, minimum_detectable_difference


def test_closed_form_value():
    """n = 100 vs 400, p0 = 0.3: (1.959964 + 0.841621) * sqrt(0.21 * (1/100 + 1/400))."""
    row = minimum_detectable_difference(n_group=100, n_reference=400, p_reference=0.3).iloc[0]
    assert row["mdd"] == pytest.approx(2.8015852 * np.sqrt(0.21 * 0.0125), rel=1e-6)
    assert list(row.index) == list(MDD_COLUMNS)


def test_mdd_gives_the_requested_power_under_its_own_approximation():
    table = minimum_detectable_difference(
        n_group=[50, 200], n_reference=[1000, 1000], p_reference=0.2, deff=[1.0, 1.5]
    )
    se = np.sqrt(
        table["p_reference"] * 0.8 * (1 / table["n_group"] + 1 / table["n_reference"]) * [1.0, 1.5]
    )
    achieved = stats.norm.sf(stats.norm.ppf(0.975) - table["mdd"] / se)
    np.testing.assert_allclose(achieved, 0.8, atol=1e-12)
    assert table["mdd"].iloc[1] < table["mdd"].iloc[0]


def test_impossible_inputs_give_nan():
    table = minimum_detectable_difference(
        n_group=[0, 10, 10], n_reference=[10, 10, 10], p_reference=[0.5, 0.0, 1.0]
    )
    assert table["mdd"].isna().all()
