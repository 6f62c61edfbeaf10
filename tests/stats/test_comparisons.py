"""relative_likelihood(), difference() and the WRES/WDES presets.

Known truth: tests/reference/expected/core_comparisons_*.csv from
tests/reference/core_reference.R (Katz and Newcombe by formula in base R; weighted values from
R survey's svyby(covmat = TRUE) + svycontrast). Tolerance 1e-9 (closed forms and delta method);
the published WRES/WDES worked checks (DOMAIN.md section 3) to the one decimal they quote.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.comparisons import (
    DIFFERENCE_COLUMNS,
    RELATIVE_LIKELIHOOD_COLUMNS,
    STANDARD_PRESETS,
    difference,
    relative_likelihood,
    standard_relative_likelihood,
)

REFERENCE = Path(__file__).parents[1] / "reference"
DESIGNS = {
    "none": {},
    "weights": {"weights": "w"},
    "clusters": {"weights": "w", "clusters": "psu"},
    "strata_clusters": {"weights": "w", "strata": "stratum", "clusters": "psu"},
}
BY = {"group": "group", "disability": "disability", "group_disability": ["group", "disability"]}


@pytest.fixture(scope="module")
def core_input() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "core_input.csv")


@pytest.fixture(scope="module")
def reference_rows() -> pd.DataFrame:
    unweighted = pd.read_csv(REFERENCE / "expected" / "core_comparisons_unweighted.csv")
    weighted = pd.read_csv(REFERENCE / "expected" / "core_comparisons_weighted.csv")
    return pd.concat([unweighted.assign(design="none"), weighted], ignore_index=True)


def ours_against_r(core_input, reference_rows, function, design):
    theirs_all = reference_rows[
        (reference_rows["design"] == design)
        & (reference_rows["group"] != reference_rows["reference_group"])
    ]
    for (outcome, dimension, ref), theirs in theirs_all.groupby(
        ["outcome", "dimension", "reference_group"]
    ):
        ours = function(
            core_input, outcome=outcome, group=BY[dimension], reference=ref, **DESIGNS[design]
        )
        table = theirs.merge(ours, on=["group", "reference_group"], suffixes=("_r", ""))
        assert len(table) == len(theirs)
        yield table


@pytest.mark.parametrize("design", list(DESIGNS))
def test_relative_likelihood_matches_r(core_input, reference_rows, design):
    compared = 0
    for table in ours_against_r(core_input, reference_rows, relative_likelihood, design):
        defined = np.isfinite(table["rl_ci_low_r"]) & (table["note"] == "")
        compared += defined.sum()
        for column in ("rel_likelihood", "rl_ci_low", "rl_ci_high", "p_value"):
            np.testing.assert_allclose(
                table.loc[defined, column], table.loc[defined, f"{column}_r"], rtol=1e-9
            )
        # zero events (outcome3 in the tiny group): NaN and a note, never a capped number
        assert table.loc[~defined, ["rl_ci_low", "rl_ci_high"]].isna().all().all()
        assert (table.loc[~defined, "note"] != "").all()
    assert compared > 30


@pytest.mark.parametrize("design", list(DESIGNS))
def test_difference_matches_r(core_input, reference_rows, design):
    for table in ours_against_r(core_input, reference_rows, difference, design):
        defined = np.isfinite(table["diff_ci_low_r"])
        for column in ("diff", "diff_ci_low", "diff_ci_high"):
            np.testing.assert_allclose(
                table.loc[defined, column], table.loc[defined, f"{column}_r"], rtol=0, atol=1e-9
            )
        expected_method = "newcombe-hybrid-score" if design == "none" else "linearised-wald"
        assert (table["diff_ci_method"] == expected_method).all()


def test_columns_reference_row_and_band(core_input):
    table = relative_likelihood(core_input, outcome="outcome1", group="group", reference="White")
    assert list(table.columns) == list(RELATIVE_LIKELIHOOD_COLUMNS)
    white = table[table["is_reference"]].iloc[0]
    assert white["rel_likelihood"] == 1 and np.isnan(white["rl_ci_low"])
    assert white["note"] == "reference group"
    assert (table["band_convention"] == "four-fifths convention (0.80-1.25)").all()
    compared = table[table["outside_band"].notna()]
    expected = (compared["rl_ci_low"] > 1.25) | (compared["rl_ci_high"] < 0.8)
    assert (compared["outside_band"].astype(bool) == expected).all()
    black = table.set_index("group").loc["Black"]
    assert black["rl_ci_low"] > 1  # the injected effect (logit +0.6) is detected
    narrow = relative_likelihood(
        core_input, outcome="outcome1", group="group", reference="White", band=(0.9, 1.11)
    )
    assert narrow["band_convention"].iloc[0] == "configured band (0.90-1.11)"
    assert list(
        difference(core_input, outcome="outcome1", group="group", reference="White").columns
    ) == list(DIFFERENCE_COLUMNS)


def test_zero_reference_rate_and_empty_reference_give_notes():
    data = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "y": [0] * 5 + [1, 0, 1, 0, 0]})
    table = relative_likelihood(data, outcome="y", group="g", reference="a").set_index("group")
    assert np.isnan(table.loc["b", "rel_likelihood"])
    assert table.loc["b", "note"] == "reference rate is zero: ratio undefined"
    declared = data.assign(g=pd.Categorical(data["g"], categories=["a", "b", "c"]))
    empty = relative_likelihood(declared, outcome="y", group="g", reference="c")
    assert empty["rel_likelihood"].drop(index=2).isna().all()
    assert (empty["note"].drop(index=2) == "reference group 'c' has no answers").all()
    assert difference(declared, outcome="y", group="g", reference="c")["diff"].isna().all()


def aggregate_rows(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Individual 0/1 rows from (events, total) per group."""
    frames = [
        pd.DataFrame({"ethnicity": label, "y": [1] * events + [0] * (total - events)})
        for label, (events, total) in counts.items()
    ]
    return pd.concat(frames, ignore_index=True)


def test_wres_2_worked_check():
    """DOMAIN.md: 46.99% / 14.65% = 3.2, White over BME appointed from shortlisting."""
    data = aggregate_rows({"White": (4699, 10000), "Ethnic minority": (1465, 10000)})
    row = standard_relative_likelihood(
        data,
        preset_code="WRES 2",
        outcome="y",
        group="ethnicity",
        groups={"White": "White", "BME": "Ethnic minority"},
    ).iloc[0]
    assert row["group"] == "White" and row["reference_group"] == "Ethnic minority"
    assert round(row["rel_likelihood"], 1) == 3.2
    assert row["disadvantage"] == "above 1 disadvantages BME staff"


def test_wres_3_worked_check():
    """DOMAIN.md: 1.2% / 0.7% = 1.7, BME over White entering the disciplinary process."""
    data = aggregate_rows({"White": (70, 10000), "BME": (120, 10000)})
    row = standard_relative_likelihood(
        data,
        preset_code="WRES 3",
        outcome="y",
        group="ethnicity",
        groups={"White": "White", "BME": "BME"},
    ).iloc[0]
    assert row["group"] == "BME" and row["reference_group"] == "White"
    assert round(row["rel_likelihood"], 1) == 1.7


def test_presets_cover_the_standards():
    codes = [p.code for p in STANDARD_PRESETS]
    assert codes == ["WRES 2", "WRES 3", "WRES 4", "WDES 2", "WDES 3"]
    wdes3 = STANDARD_PRESETS[-1]
    assert (wdes3.numerator, wdes3.denominator) == ("Disabled", "non-disabled")
    with pytest.raises(PtwError):
        standard_relative_likelihood(
            aggregate_rows({"a": (1, 2)}),
            preset_code="WRES 9",
            outcome="y",
            group="ethnicity",
            groups={},
        )


def test_strata_without_clusters_covariance_equals_general_path(core_input):
    """The covariance shortcut for row PSUs equals the clustered computation with 1-row PSUs."""
    design = {"weights": "w", "strata": "stratum"}
    fast = relative_likelihood(
        core_input, outcome="outcome1", group="group", reference="White", **design
    )
    general = relative_likelihood(
        core_input, outcome="outcome1", group="group", reference="White", clusters="id", **design
    )
    numbers = ["rel_likelihood", "rl_ci_low", "rl_ci_high", "p_value"]
    np.testing.assert_allclose(fast[numbers], general[numbers], rtol=1e-10)
