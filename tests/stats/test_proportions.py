"""proportions(): checked against R (tests/reference/core_reference.R) and on edge cases.

Known truth: tests/reference/expected/core_proportions_*.csv, written by R 4 with survey 4.1
(svymean, svyciprop logit and beta, degf) and base R (Wilson by formula, binom.test).
Tolerances: 1e-9 for closed forms and linearised SEs, 1e-6 for svyciprop logit (R fits it with
svyglm's iterations).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.proportions import PROPORTION_COLUMNS, proportions

REFERENCE = Path(__file__).parents[1] / "reference"
DESIGNS = {
    "weights": {"weights": "w"},
    "clusters": {"weights": "w", "clusters": "psu"},
    "strata_clusters": {"weights": "w", "strata": "stratum", "clusters": "psu"},
}
BY = {"group": "group", "disability": "disability", "group_disability": ["group", "disability"]}


@pytest.fixture(scope="module")
def core_input() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "core_input.csv")


def expected(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / f"core_{name}.csv")


def merged(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    table = theirs.merge(ours, on="group", suffixes=("_r", ""), validate="one_to_one")
    assert len(table) == len(theirs)
    return table


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_unweighted_matches_r(core_input, method):
    reference = expected("proportions_unweighted")
    prefix = "wilson" if method == "wilson" else "cp"
    for (outcome, dimension), theirs in reference.groupby(["outcome", "dimension"]):
        ours = proportions(core_input, outcome=outcome, group=BY[dimension], ci_method=method)
        table = merged(ours, theirs)
        assert (table["n"] == table["n_r"]).all()
        assert (table["events"] == table["events_r"]).all()
        np.testing.assert_allclose(table["estimate"], table["estimate_r"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(table["ci_low"], table[f"{prefix}_low"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(table["ci_high"], table[f"{prefix}_high"], rtol=0, atol=1e-9)
        assert (table["ci_method"] == method).all()


@pytest.mark.parametrize("design", list(DESIGNS))
@pytest.mark.parametrize("method", ["logit", "beta"])
def test_weighted_matches_r_survey(core_input, design, method):
    reference = expected("proportions_weighted")
    reference = reference[reference["design"] == design]
    for (outcome, dimension), theirs in reference.groupby(["outcome", "dimension"]):
        ours = proportions(
            core_input, outcome=outcome, group=BY[dimension], ci_method=method, **DESIGNS[design]
        )
        table = merged(ours, theirs)
        assert (table["n"] == table["n_r"]).all()
        for column in ("weighted_n", "estimate", "se", "df"):
            np.testing.assert_allclose(table[column], table[f"{column}_r"], rtol=1e-9, atol=1e-12)
        finite = table[f"{method}_low"].notna() & (table["estimate"] % 1 != 0)
        tolerance = 1e-6 if method == "logit" else 1e-9
        for side in ("low", "high"):
            np.testing.assert_allclose(
                table.loc[finite, f"ci_{side}"],
                table.loc[finite, f"{method}_{side}"],
                rtol=0,
                atol=tolerance,
            )


def test_weights_only_se_is_the_domain_formula(core_input):
    """DOMAIN.md section 5 for a weights-only design, over the whole sample (one domain)."""
    answered = core_input.dropna(subset=["outcome1"])
    y, w = answered["outcome1"].to_numpy(), answered["w"].to_numpy()
    p = (w * y).sum() / w.sum()
    n = len(core_input)  # rows that did not answer stay in the design with zero influence
    se = np.sqrt(n / (n - 1) * (w**2 * (y - p) ** 2).sum() / w.sum() ** 2)
    row = proportions(core_input, outcome="outcome1", weights="w").iloc[0]
    assert row["group"] == "All"
    assert row["estimate"] == pytest.approx(p, abs=1e-14)
    assert row["se"] == pytest.approx(se, rel=1e-12)
    assert row["df"] == len(answered) - 1


def test_edge_groups_give_notes_not_errors():
    data = pd.DataFrame(
        {
            "group": pd.Categorical(
                ["a"] * 4 + ["b"] * 3 + ["c"] * 2, categories=["a", "b", "c", "empty"]
            ),
            "y": [0, 0, 0, 0, 1, 1, 1, np.nan, np.nan],
            "w": [1.0, 2, 1, 1, 1, 2, 1, 1, 1],
        }
    )
    for kwargs in ({}, {"weights": "w"}):
        table = proportions(data, outcome="y", group="group", **kwargs).set_index("group")
        assert list(table.columns) == list(PROPORTION_COLUMNS[1:])
        assert table.loc["a", "note"].startswith("no events")
        assert table.loc["b", "note"].startswith("all events")
        assert table.loc["c", "note"] == "no answers: all values missing"
        assert table.loc["empty", "note"] == "empty group: no rows"
        assert table.loc[["c", "empty"], "n"].tolist() == [0, 0]
        assert table.loc[["c", "empty"], "estimate"].isna().all()
    unweighted = proportions(data, outcome="y", group="group").set_index("group")
    assert unweighted.loc["a", "ci_low"] == 0
    assert 0 < unweighted.loc["a", "ci_high"] < 1  # Wilson at zero events is not zero-width
    weighted = proportions(data, outcome="y", group="group", weights="w").set_index("group")
    assert weighted.loc[["a", "b"], ["ci_low", "ci_high"]].isna().all().all()


def test_intersection_labels_and_wald_is_refused(core_input):
    table = proportions(core_input, outcome="outcome1", group=["group", "disability"])
    assert "White × Disabled" in set(table["group"])
    with pytest.raises(PtwError, match="wald"):
        proportions(core_input, outcome="outcome1", group="group", ci_method="wald")
    with pytest.raises(PtwError):
        proportions(core_input, outcome="outcome1", group="group", weights="w", ci_method="wilson")


def test_non_binary_outcome_is_located():
    data = pd.DataFrame({"y": [0, 1, 2], "g": ["a", "a", "b"]})
    with pytest.raises(PtwError) as error:
        proportions(data, outcome="y", group="g")
    assert error.value.row == 3
    assert error.value.column == "y"


def test_strata_without_clusters_equals_one_row_clusters(core_input):
    """Rows as PSUs within strata (the bincount path) equals the general clustered path."""
    for function_kwargs in ({"ci_method": "logit"}, {"ci_method": "beta"}):
        fast = proportions(
            core_input,
            outcome="outcome1",
            group="group",
            weights="w",
            strata="stratum",
            **function_kwargs,
        )
        general = proportions(
            core_input,
            outcome="outcome1",
            group="group",
            weights="w",
            strata="stratum",
            clusters="id",
            **function_kwargs,
        )
        numbers = ["weighted_n", "estimate", "se", "ci_low", "ci_high", "df"]
        np.testing.assert_allclose(fast[numbers], general[numbers], rtol=1e-10)


def test_bad_weight_and_missing_stratum_are_located(core_input):
    data = core_input.head(20).copy()
    data.loc[4, "w"] = -1.0
    with pytest.raises(PtwError) as error:
        proportions(data, outcome="outcome1", group="group", weights="w")
    assert (error.value.code, error.value.row) == ("stats.bad_weight", 5)
    data = core_input.head(20).copy()
    data.loc[2, "stratum"] = None
    with pytest.raises(PtwError) as error:
        proportions(data, outcome="outcome1", group="group", weights="w", strata="stratum")
    assert (error.value.code, error.value.row) == ("stats.missing_design_variable", 3)
