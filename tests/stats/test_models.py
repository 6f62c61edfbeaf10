"""toolkit.stats.models.logistic against R glm / svyglm, plus separation and edge cases.

Expected values: tests/reference/expected/models_logistic.csv, written by
tests/reference/models_reference.R from tests/reference/data/models_input.csv (R glm(binomial)
and survey::svyglm(quasibinomial) on svydesign(ids = ~1, weights = ~w)). Iterative fits are
compared to 1e-6.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.design import outcome_values
from toolkit.stats.models import (
    MODEL_COLUMNS,
    Factor,
    aggregate_cells,
    aggregate_counted_cells,
    factor,
    logistic,
    logistic_count_rows,
    logistic_rows,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
COVARIATES = ["sector", "career_stage", "region"]
# R relevels sector and career_stage; region keeps R's default, its first level
REFERENCES = {"sector": "Hospital", "career_stage": "Over 10 years", "region": "East of England"}
TOL = 1e-6


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "models_input.csv")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / "models_logistic.csv")


@pytest.mark.parametrize(("design", "weights"), [("unweighted", None), ("weights", "w")])
def test_logistic_matches_r(data, expected, design, weights):
    # R fitted the data without the separable group "Arab"; so do we, to compare like with like.
    without_separable = data[data["ethnicity"] != "Arab"]
    result = logistic(
        without_separable,
        outcome="outcome",
        group="ethnicity",
        reference="White",
        covariates=COVARIATES,
        references=REFERENCES,
        weights=weights,
    )
    merged = expected[expected["design"] == design].merge(
        result, on=["model", "variable", "level"], suffixes=("_r", ""), validate="one_to_one"
    )
    assert len(merged) == (expected["design"] == design).sum() == 21
    np.testing.assert_allclose(np.log(merged["odds_ratio"]), merged["estimate"], rtol=0, atol=TOL)
    for column in ("se", "p_value", "ci_low", "ci_high"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_r"], rtol=0, atol=TOL)
    assert merged["converged"].all()
    assert not merged["separation"].any()


def test_columns_and_models(data):
    result = logistic(
        data, outcome="outcome", group="ethnicity", reference="White", covariates=["sector"]
    )
    assert tuple(result.columns) == MODEL_COLUMNS
    assert set(result["model"]) == {"unadjusted", "adjusted"}
    assert set(result.loc[result["model"] == "adjusted", "variable"]) == {"ethnicity", "sector"}
    unadjusted_only = logistic(data, outcome="outcome", group="ethnicity", reference="White")
    assert tuple(unadjusted_only.columns) == MODEL_COLUMNS
    assert set(unadjusted_only["model"]) == {"unadjusted"}


@pytest.mark.parametrize("weights", [None, "w"])
def test_logistic_rows_on_arrays_are_the_logistic_table(data, weights):
    result = logistic(data, outcome="outcome", group="ethnicity", reference="White",
                      covariates=COVARIATES, references=REFERENCES, weights=weights)  # fmt: skip
    group = factor(data, "ethnicity", "White")
    covariates = [factor(data, c, REFERENCES[c]) for c in COVARIATES]
    w = np.ones(len(data)) if weights is None else data[weights].to_numpy(dtype=float)
    rows = logistic_rows(
        outcome_values(data, "outcome"),
        w,
        [("unadjusted", [group]), ("adjusted", [group, *covariates])],
        weighted=weights is not None,
        level=0.95,
    )
    pd.testing.assert_frame_equal(pd.DataFrame(rows, columns=list(MODEL_COLUMNS)), result)


@pytest.mark.parametrize("weights", [None, "w"])
def test_separated_group_is_reported_not_estimated(data, expected, weights):
    # "Arab" (9 respondents) has no events: quasi-complete separation.
    result = logistic(
        data,
        outcome="outcome",
        group="ethnicity",
        reference="White",
        covariates=COVARIATES,
        references=REFERENCES,
        weights=weights,
    )
    arab = result[result["level"] == "Arab"]
    assert len(arab) == 2
    assert arab["separation"].all()
    assert arab["odds_ratio"].isna().all() and arab["ci_high"].isna().all()
    assert arab["note"].str.startswith("separation").all()
    assert (arab["n"] == 9).all()
    # Leaving the level out reproduces R's point estimates for the other groups exactly.
    others = result[(result["level"] != "Arab") & (result["model"] == "unadjusted")]
    design = "weights" if weights else "unweighted"
    ref = expected[(expected["design"] == design) & (expected["model"] == "unadjusted")]
    merged = ref.merge(others, on=["model", "variable", "level"])
    np.testing.assert_allclose(np.log(merged["odds_ratio"]), merged["estimate"], atol=TOL)


def test_all_events_in_a_group_is_separation():
    frame = pd.DataFrame(
        {
            "y": [1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0],
            "g": ["A"] * 3 + ["B"] * 9,
        }
    )
    result = logistic(frame, outcome="y", group="g", reference="B")
    row = result.iloc[0]
    assert row["separation"] and np.isnan(row["odds_ratio"])
    assert "highest" in row["note"]


def test_separation_in_a_combination_is_caught_after_the_fit():
    # Every level has events and non-events, but group B in sector S1 are all events and group
    # A in sector S2 all non-events: the direction (B up, S2 down) separates the data, so the
    # adjusted fit diverges only through that combination.
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "g": rng.choice(["A", "B"], n),
            "sector": rng.choice(["S1", "S2"], n),
            "y": rng.integers(0, 2, n).astype(float),
        }
    )
    frame.loc[(frame["g"] == "B") & (frame["sector"] == "S1"), "y"] = 1.0
    frame.loc[(frame["g"] == "A") & (frame["sector"] == "S2"), "y"] = 0.0
    result = logistic(frame, outcome="y", group="g", reference="A", covariates=["sector"])
    adjusted = result[result["model"] == "adjusted"]
    assert adjusted["separation"].all()
    assert adjusted["odds_ratio"].isna().all()
    assert adjusted["note"].str.contains("diverged").all()
    assert np.isfinite(result.loc[result["model"] == "unadjusted", "odds_ratio"]).all()


def test_absent_level_and_absent_reference_give_notes(data):
    frame = data.assign(
        ethnicity=pd.Categorical(
            data["ethnicity"],
            categories=["White", "Asian", "Black", "Mixed", "Other", "Arab", "Chinese"],
        )
    )
    result = logistic(frame, outcome="outcome", group="ethnicity", reference="White")
    chinese = result[result["level"] == "Chinese"].iloc[0]
    assert chinese["n"] == 0 and np.isnan(chinese["odds_ratio"])
    assert "no respondents" in chinese["note"]
    no_reference = logistic(
        frame[frame["ethnicity"] != "White"],
        outcome="outcome",
        group="ethnicity",
        reference="White",
    )
    assert no_reference["odds_ratio"].isna().all()
    assert no_reference["note"].str.contains('reference level "White"').all()
    with pytest.raises(PtwError) as raised:
        logistic(
            data[data["ethnicity"] != "White"],
            outcome="outcome",
            group="ethnicity",
            reference="White",
        )
    assert raised.value.code == "stats.unknown_reference"
    assert raised.value.column == "ethnicity" and "Asian" in raised.value.expected


def test_single_category_and_all_missing(data):
    single = logistic(data.assign(g="only"), outcome="outcome", group="g", reference="only")
    assert len(single) == 1 and "only the reference level" in single["note"].iloc[0]
    missing = logistic(
        data.assign(outcome=np.nan), outcome="outcome", group="ethnicity", reference="White"
    )
    assert missing["odds_ratio"].isna().all()
    assert missing["note"].str.startswith("no respondent").all()


def test_injected_effect_is_recovered():
    # Synthetic truth: log odds ratio 0.7 for group B against A, adjusted for a sector effect.
    rng = np.random.default_rng(11)
    n = 60_000
    g = rng.choice(["A", "B"], n)
    sector = rng.choice(["S1", "S2", "S3"], n)
    eta = -1 + 0.7 * (g == "B") + 0.5 * (sector == "S2") - 0.4 * (sector == "S3")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    frame = pd.DataFrame({"g": g, "sector": sector, "y": y, "w": w})
    result = logistic(
        frame, outcome="y", group="g", reference="A", covariates=["sector"], weights="w"
    )
    row = result[(result["model"] == "adjusted") & (result["level"] == "B")].iloc[0]
    assert row["ci_low"] < np.exp(0.7) < row["ci_high"]


def _counted(y: np.ndarray, factors: list[Factor]) -> tuple[np.ndarray, np.ndarray, list[Factor]]:
    """The rows counted per (outcome, levels) pattern in order of first appearance: each
    pattern's outcome, count and factors coded on the patterns."""
    patterns = pd.DataFrame({"y": np.nan_to_num(y, nan=-9.0)}
                            | {f.variable: f.codes for f in factors})  # fmt: skip
    sizes = patterns.groupby(list(patterns.columns), sort=False).size().reset_index()
    cells = [replace(f, codes=sizes[f.variable].to_numpy()) for f in factors]
    outcome = sizes["y"].replace(-9.0, np.nan).to_numpy(dtype=float)
    return outcome, sizes[0].to_numpy(dtype=float), cells


def test_counted_cells_fit_exactly_as_the_respondents(data):
    # missing outcomes and levels, and a declared level nobody is at
    frame = data.assign(outcome=data["outcome"].where(data["id"] % 7 != 0),
                        sector=data["sector"].where(data["id"] % 11 != 0))  # fmt: skip
    frame["ethnicity"] = frame["ethnicity"].astype(
        pd.CategoricalDtype([*sorted(frame["ethnicity"].dropna().unique()), "Nobody"])
    )
    y = outcome_values(frame, "outcome")
    group = factor(frame, "ethnicity", "White")
    factors = [group, *(factor(frame, c, REFERENCES[c]) for c in COVARIATES)]
    models = [("unadjusted", [group]), ("adjusted", factors)]
    outcome, count, cells = _counted(y, factors)
    counted = aggregate_counted_cells(outcome, count, cells)
    by_row = aggregate_cells(y, np.ones(len(y)), factors)
    for name in ("sum_w", "sum_wy", "sum_w2", "sum_w2y", "n_complete", "n_design"):
        np.testing.assert_array_equal(getattr(counted, name), getattr(by_row, name))
    for name in ("codes", "count", "at_low", "at_high"):
        np.testing.assert_array_equal(getattr(counted.units, name), getattr(by_row.units, name))
    cell_rows = logistic_count_rows(outcome, count, [("unadjusted", [cells[0]]),
                                                     ("adjusted", cells)], level=0.95)  # fmt: skip
    rows = logistic_rows(y, np.ones(len(y)), models, weighted=False, level=0.95)
    pd.testing.assert_frame_equal(pd.DataFrame(cell_rows), pd.DataFrame(rows), check_exact=True)
