"""toolkit.stats.funnel against FunnelPlotR 0.6.0, plus the options FunnelPlotR lacks.

Expected values: tests/reference/expected/funnel_units.csv and funnel_limits.csv, written by
tests/reference/funnel_reference.R (FunnelPlotR::funnel_plot, data_type "PR" and "SR" with
sr_method "SHMI", trim_by 0.1, draw_adjusted or draw_unadjusted) from
tests/reference/data/funnel_input.csv. Closed-form calculations: estimates, z, limits, phi and
tau2 are compared to 1e-8 absolute (measured: 3e-14); flags and trimming exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.funnel import (
    FUNNEL_COLUMNS,
    FUNNEL_FLAGS,
    FUNNEL_LIMIT_COLUMNS,
    funnel,
    funnel_limits,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
TOL = 1e-8
KIND = {"proportions": "proportion", "proportions_null": "proportion", "ratios": "ratio"}
LIMITS = ("lower_998", "lower_95", "upper_95", "upper_998")


@pytest.fixture(scope="module")
def inputs() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "funnel_input.csv")


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / "funnel_units.csv")


@pytest.fixture(scope="module")
def limits() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / "funnel_limits.csv")


CASES = [(d, a) for d in KIND for a in ("none", "additive")]


def _fit(inputs: pd.DataFrame, dataset: str, adjust: str) -> pd.DataFrame:
    return funnel(
        inputs[inputs["dataset"] == dataset], group="group", kind=KIND[dataset], adjust=adjust
    )


@pytest.mark.parametrize(("dataset", "adjust"), CASES)
def test_units_match_funnelplotr(inputs, units, dataset, adjust):
    expected = units[(units["dataset"] == dataset) & (units["adjust"] == adjust)]
    result = _fit(inputs, dataset, adjust)
    assert tuple(result.columns) == FUNNEL_COLUMNS
    merged = expected.merge(result, on="group", suffixes=("_r", ""), validate="one_to_one")
    assert len(merged) == len(expected) == len(result)
    for column in ("n", "events", "estimate", "target", "z", *LIMITS):
        np.testing.assert_allclose(merged[column], merged[f"{column}_r"], rtol=0, atol=TOL)
    assert (merged["flag"] == merged["flag_r"]).all()
    assert (merged["trimmed"] == merged["trimmed_r"]).all()
    # FunnelPlotR reports phi and tau2 only when it draws adjusted limits (0 otherwise).
    if adjust == "additive":
        np.testing.assert_allclose(merged["phi"], merged["phi_r"], rtol=0, atol=TOL)
        np.testing.assert_allclose(merged["tau2"], merged["tau2_r"], rtol=0, atol=TOL)
    # FunnelPlotR falls back to unadjusted limits when phi <= 1; so do we, and say so.
    applied = np.where(merged["draw_adjusted"], "additive", "none")
    assert (merged["adjust"] == applied).all()


def test_reference_data_exercise_the_cases(units):
    # Guards the reference data: real over-dispersion, a fallback case and every flag kind.
    first = units.drop_duplicates(["dataset", "adjust"]).set_index(["dataset", "adjust"])
    assert first.loc[("proportions", "additive"), "phi"] > 2
    assert first.loc[("ratios", "additive"), "tau2"] > 0
    assert first.loc[("proportions_null", "additive"), "phi"] < 1
    assert set(units["flag"]) == set(FUNNEL_FLAGS)
    assert (units["lower_998"] == 0).any()


@pytest.mark.parametrize(("dataset", "adjust"), CASES)
def test_limit_curves_match_funnelplotr(inputs, limits, dataset, adjust):
    expected = limits[(limits["dataset"] == dataset) & (limits["adjust"] == adjust)]
    result = funnel_limits(
        _fit(inputs, dataset, adjust), denominators=expected["denominator"].unique()
    )
    assert tuple(result.columns) == FUNNEL_LIMIT_COLUMNS
    merged = expected.merge(result, on=["denominator", "level", "side"], suffixes=("_r", ""))
    assert len(merged) == len(expected) == len(result)
    differ = np.abs(merged["limit"] - merged["limit_r"]) > TOL
    # FunnelPlotR cuts an arcsine limit that has crossed 0 by comparing neighbouring grid
    # points, so at the one grid point just past the crossing it keeps sin^2 of a small
    # negative angle; we cut at the crossing itself. Only such points may differ, by < 1e-4.
    assert (merged.loc[differ, "limit"] == 0).all()
    assert (merged.loc[differ, "limit_r"] < 1e-4).all()
    assert merged[differ].groupby(["level", "side"]).size().le(1).all()


def test_multiplicative_limits_scale_the_standard_error(inputs):
    data = inputs[inputs["dataset"] == "proportions"]
    result = funnel(data, group="group", adjust="multiplicative")
    assert (result["adjust"] == "multiplicative").all()
    assert (result["limits_method"] == "arcsine").all()
    phi, p0 = result["phi"].iloc[0], result["target"].iloc[0]
    sigma = np.sqrt(phi) / (2 * np.sqrt(result["n"]))
    theta = np.arcsin(np.sqrt(p0))
    upper = np.sin(np.minimum(theta + 1.959964 * sigma, np.pi / 2)) ** 2
    lower = np.sin(np.maximum(theta - 3.090232 * sigma, 0)) ** 2
    np.testing.assert_allclose(result["upper_95"], upper, rtol=0, atol=1e-14)
    np.testing.assert_allclose(result["lower_998"], lower, rtol=0, atol=1e-14)
    # Equivalently, a unit is outside the 95% limits when |z| / sqrt(phi) > 1.959964.
    outside = result["flag"] != "inside"
    assert (outside == (np.abs(result["z"]) / np.sqrt(phi) > 1.959964)).all()


def test_truncation_and_winsorisation_are_options(inputs):
    data = inputs[inputs["dataset"] == "proportions"]
    winsorised = funnel(data, group="group")
    truncated = funnel(data, group="group", trim="truncate")
    assert (winsorised["trim"] == "winsorise").all() and (truncated["trim"] == "truncate").all()
    # 25 units, k = 10: rank r is dropped when floor(10 r / 26) is 0 or 9 (r = 1, 2, 24, 25).
    assert truncated["trimmed"].sum() == 4
    assert (truncated["n_units"] == 21).all() and (winsorised["n_units"] == 25).all()
    ranks = truncated["z"].rank()
    assert set(ranks[truncated["trimmed"]]) == {1, 2, 24, 25}
    kept = truncated.loc[~truncated["trimmed"], "z"]
    assert truncated["phi"].iloc[0] == pytest.approx(np.mean(kept**2), abs=1e-14)


def test_empty_unit_and_zero_events_get_rows_and_notes():
    data = pd.DataFrame(
        {
            "unit": ["A", "B", "C", "D", "E", "F"],
            "events": [30, 12, 0, 9, 0, 50],
            "n": [20.5, 10.2, 0, 8.7, 3.1, 40.0],
        }
    )
    result = funnel(data, group="unit", kind="ratio")
    empty = result.set_index("group").loc["C"]
    assert empty[["estimate", "z", "upper_95", "flag"]].isna().all()
    assert empty["note"].startswith("no denominator")
    no_events = result.set_index("group").loc["E"]
    assert no_events["estimate"] == 0 and np.isnan(no_events["z"])
    assert no_events["note"].startswith("no events")
    assert no_events["flag"] in FUNNEL_FLAGS  # the exact Poisson limits still apply
    assert (result["n_units"] == 4).all()


def test_units_are_aggregated_and_target_can_be_given():
    data = pd.DataFrame(
        {"region": ["X", "X", "Y", "Z"], "events": [5, 5, 30, 2], "n": [40, 60, 80, 20]}
    )
    result = funnel(data, group="region", adjust="none", target=0.25)
    assert result["group"].tolist() == ["X", "Y", "Z"]
    assert result["n"].tolist() == [100, 80, 20]
    assert (result["target"] == 0.25).all()
    assert result.loc[0, "z"] == pytest.approx(
        (np.arcsin(np.sqrt(0.1)) - np.arcsin(0.5)) * 2 * np.sqrt(100), abs=1e-14
    )


def test_too_few_units_for_phi():
    data = pd.DataFrame({"g": ["A", "B"], "events": [3, 0], "n": [10, 0]})
    result = funnel(data, group="g")
    assert np.isnan(result["phi"]).all() and (result["adjust"] == "none").all()
    assert result.loc[0, "note"].startswith("additive adjustment not applied: fewer than 2")


def test_default_grid_and_sides(inputs):
    result = _fit(inputs, "ratios", "additive")
    curves = funnel_limits(result)
    assert len(curves) == 4 * 1000
    assert curves["denominator"].min() == pytest.approx(1.1)
    assert curves["denominator"].max() == np.ceil(result["n"].max())
    wide = curves.pivot_table(index="denominator", columns=["level", "side"], values="limit")
    assert (wide[("99.8%", "lower")] < wide[("95%", "lower")]).all()
    assert (wide[("95%", "upper")] < wide[("99.8%", "upper")]).all()


@pytest.mark.parametrize(
    "options", [{"adjust": "scaled"}, {"kind": "rate"}, {"trim": "trim"}, {"trim_fraction": 0.5}]
)
def test_bad_options_are_errors(options):
    data = pd.DataFrame({"g": ["A", "B"], "events": [3, 4], "n": [10, 12]})
    with pytest.raises(PtwError) as caught:
        funnel(data, group="g", **options)
    assert caught.value.code == "stats.bad_option"


def test_bad_counts_are_errors():
    data = pd.DataFrame({"g": ["A", "B"], "events": [13, 4], "n": [10, 12]})
    with pytest.raises(PtwError) as caught:
        funnel(data, group="g")
    assert caught.value.code == "stats.bad_funnel_counts"
    assert caught.value.column == "events" and caught.value.value == 13
