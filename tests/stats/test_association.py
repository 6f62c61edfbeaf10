"""association(): test choice by expected counts, and values against R.

Known truth: tests/reference/expected/core_association.csv from tests/reference/core_reference.R
(chisq.test(correct = FALSE), fisher.test, survey::svychisq(statistic = "F")).
Tolerances: 1e-9 for chi-square and the Rao-Scott F statistic and degrees of freedom, 1e-8 for
its p-value; 0.01 for the Monte Carlo Fisher-Freeman-Halton p-value against R's exact network
algorithm (100,000 tables: Monte Carlo standard error <= 0.0016).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.stats.association import ASSOCIATION_COLUMNS, association

REFERENCE = Path(__file__).parents[1] / "reference"
DESIGNS = {
    "weights": {"weights": "w"},
    "clusters": {"weights": "w", "clusters": "psu"},
    "strata_clusters": {"weights": "w", "strata": "stratum", "clusters": "psu"},
}


@pytest.fixture(scope="module")
def core_input() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "core_input.csv")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / "core_association.csv")


def test_unweighted_matches_r(core_input, reference):
    rows = reference[reference["design"] == "none"]
    tests_seen = set()
    for row in rows.itertuples():
        ours = association(core_input, outcome=row.outcome, group=row.dimension).iloc[0]
        assert ours["min_expected"] == pytest.approx(row.min_expected, rel=1e-12)
        tests_seen.add(ours["test"])
        if row.min_expected >= 5:
            assert ours["test"] == "pearson-chi-square"
            assert ours["statistic"] == pytest.approx(row.chisq_statistic, rel=1e-9)
            assert ours["dof"] == row.chisq_dof
            assert ours["p_value"] == pytest.approx(row.chisq_p, rel=1e-9)
        else:
            assert ours["test"] == "fisher-freeman-halton-monte-carlo"
            assert ours["p_value"] == pytest.approx(row.fisher_p, abs=0.01)
    assert tests_seen == {"pearson-chi-square", "fisher-freeman-halton-monte-carlo"}


@pytest.mark.parametrize("design", list(DESIGNS))
def test_rao_scott_matches_svychisq(core_input, reference, design):
    rows = reference[reference["design"] == design]
    for row in rows.itertuples():
        ours = association(
            core_input, outcome=row.outcome, group=row.dimension, **DESIGNS[design]
        ).iloc[0]
        assert ours["test"] == "rao-scott-f"
        assert ours["statistic"] == pytest.approx(row.rs_statistic, rel=1e-9)
        assert ours["dof"] == pytest.approx(row.rs_ndf, rel=1e-9)
        assert ours["dof_denominator"] == pytest.approx(row.rs_ddf, rel=1e-9)
        assert ours["p_value"] == pytest.approx(row.rs_p, rel=1e-8)


def test_two_by_two_fisher_is_exact():
    """2 x 2 with a small expected count: scipy's exact test.

    R: fisher.test(matrix(c(2, 6, 6, 2), 2))$p.value = 0.13193473193473204.
    """
    data = pd.DataFrame({"g": ["a"] * 8 + ["b"] * 8, "y": [1] * 6 + [0] * 2 + [1] * 2 + [0] * 6})
    row = association(data, outcome="y", group="g").iloc[0]
    assert row["test"] == "fisher-exact"
    assert row["p_value"] == pytest.approx(0.13193473193473204, rel=1e-9)


def test_degenerate_tables_give_notes():
    single = pd.DataFrame({"g": ["a"] * 6, "y": [0, 1] * 3})
    row = association(single, outcome="y", group="g").iloc[0]
    assert list(row.index) == list(ASSOCIATION_COLUMNS)
    assert np.isnan(row["p_value"]) and "fewer than two groups" in row["note"]
    constant = pd.DataFrame({"g": ["a", "b"] * 3, "y": [1] * 6, "w": 1.5})
    row = association(constant, outcome="y", group="g", weights="w").iloc[0]
    assert np.isnan(row["p_value"]) and "single value" in row["note"]
    empty_group = pd.DataFrame(
        {"g": pd.Categorical(["a", "b"] * 10, categories=["a", "b", "c"]), "y": [0, 1, 1, 1] * 5}
    )
    assert "c" in association(empty_group, outcome="y", group="g").iloc[0]["note"]
