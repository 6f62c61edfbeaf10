"""toolkit.stats.likert against R (tests/reference/models_reference.R over models_input.csv).

Closed forms (Wilson via prop.test, svyciprop logit, means, svymean, wilcox.test, kruskal.test,
scale scores, Cronbach's alpha with Feldt's interval) are compared to 1e-9; the
proportional-odds fit (MASS::polr) to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats import likert, pingouin_adapter
from toolkit.stats.models import MODEL_COLUMNS

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CLOSED = 1e-9
ITERATIVE = 1e-6
COVARIATES = ["sector", "career_stage", "region"]
# R relevels sector and career_stage; region keeps R's default, its first level
REFERENCES = {"sector": "Hospital", "career_stage": "Over 10 years", "region": "East of England"}
ITEMS = ["q1", "q2", "q3", "q4", "q5"]


def expected(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / f"models_{name}.csv")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "models_input.csv")


def test_percent_favourable_wilson_matches_r(data):
    result = likert.percent_favourable(data, item="q1", group="ethnicity")
    assert tuple(result.columns) == likert.FAVOURABLE_COLUMNS
    merged = expected("favourable").merge(result, on="group", suffixes=("_r", ""))
    assert len(merged) == 6
    assert (merged["n_r"] == merged["n"]).all()
    assert (merged["favourable_r"] == merged["favourable"]).all()
    for column in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_r"], atol=CLOSED)
    assert set(result["ci_method"]) == {"wilson"}


def test_percent_favourable_weighted_matches_svyciprop(data):
    result = likert.percent_favourable(data, item="q1", group="ethnicity", weights="w")
    merged = expected("favourable").merge(result, on="group")
    np.testing.assert_allclose(merged["estimate_y"], merged["weighted_estimate"], atol=CLOSED)
    # R's svyciprop gives a meaningless interval at 0 events; we give NaN and a note.
    defined = merged[merged["favourable_y"] > 0]
    np.testing.assert_allclose(defined["ci_low_y"], defined["weighted_ci_low"], atol=CLOSED)
    np.testing.assert_allclose(defined["ci_high_y"], defined["weighted_ci_high"], atol=CLOSED)
    arab = merged[merged["group"] == "Arab"].iloc[0]
    assert np.isnan(arab["ci_low_y"]) and arab["note"].startswith("no events")
    assert set(result["ci_method"]) == {"logit"}


def test_mean_score_matches_r(data):
    plain = likert.mean_score(data, item="q1", group="ethnicity")
    weighted = likert.mean_score(data, item="q1", group="ethnicity", weights="w")
    assert tuple(plain.columns) == tuple(weighted.columns) == likert.MEAN_COLUMNS
    merged = (
        expected("mean").merge(plain, on="group").merge(weighted, on="group", suffixes=("", "_w"))
    )
    np.testing.assert_allclose(merged["estimate"], merged["mean"], atol=CLOSED)
    np.testing.assert_allclose(merged["sd_x"], merged["sd_y"], atol=CLOSED)
    np.testing.assert_allclose(merged["estimate_w"], merged["weighted_mean"], atol=CLOSED)
    np.testing.assert_allclose(merged["se_w"], merged["weighted_se"], atol=CLOSED)
    assert set(plain["ci_method"]) == {"t"} and set(weighted["ci_method"]) == {"taylor-t"}


def test_likert_distribution_counts_and_shares(data):
    result = likert.likert_distribution(data, item="q1", group="ethnicity", levels=[1, 2, 3, 4, 5])
    assert tuple(result.columns) == likert.DISTRIBUTION_COLUMNS
    answered = data.dropna(subset=["q1", "ethnicity"])
    counts = answered.groupby(["ethnicity", "q1"]).size()
    white = result[result["group"] == "White"].set_index("level")
    for level in range(1, 6):
        assert white.loc[level, "n"] == counts.get(("White", float(level)), 0)
    shares = result.groupby("group")["share"].sum()
    np.testing.assert_allclose(shares, 1.0, atol=1e-12)
    # Codes outside the given levels (here 5) leave the denominator.
    four = likert.likert_distribution(data, item="q1", group=None, levels=[1, 2, 3, 4])
    assert four["n"].sum() == (data["q1"] <= 4).sum()
    assert (four["group"] == "All").all()


def test_rank_tests_match_r(data):
    result = likert.rank_tests(data, item="q1", group="ethnicity", reference="White")
    assert tuple(result.columns) == likert.RANK_TEST_COLUMNS
    # the R script labels its tests with underscores; ours are toolkit.stats.methods labels
    ref = expected("rank").assign(test=lambda t: t["test"].str.replace("_", "-"))
    mwu = ref[ref["test"] == "mann-whitney"].merge(
        result[result["effect_size_name"] == "cles"], on=["test", "group"]
    )
    assert len(mwu) == 5
    np.testing.assert_allclose(mwu["statistic_x"], mwu["statistic_y"], atol=CLOSED)
    np.testing.assert_allclose(mwu["p_value_x"], mwu["p_value_y"], atol=CLOSED)
    np.testing.assert_allclose(mwu["cles"], mwu["effect_size"], atol=CLOSED)
    rbc = result[result["effect_size_name"] == "rank_biserial"].set_index("group")
    cles = result[result["effect_size_name"] == "cles"].set_index("group")
    np.testing.assert_allclose(rbc["effect_size"], 2 * cles["effect_size"] - 1, atol=1e-12)
    kw = result[result["test"] == "kruskal-wallis"].iloc[0]
    kw_r = ref[ref["test"] == "kruskal-wallis"].iloc[0]
    assert kw["statistic"] == pytest.approx(kw_r["statistic"], abs=CLOSED)
    assert kw["p_value"] == pytest.approx(kw_r["p_value"], abs=CLOSED)
    assert kw["dof"] == kw_r["dof"]
    assert kw["effect_size"] == pytest.approx(kw_r["statistic"] / (kw["n"] - 1), rel=1e-12)


def test_rank_tests_two_groups_and_no_groups(data):
    two = data[data["ethnicity"].isin(["White", "Black"])]
    result = likert.rank_tests(two, item="q1", group="ethnicity")
    assert set(result["test"]) == {"mann-whitney"}
    assert set(result["reference_group"]) == {"Black"}  # first level when none is stated
    single = likert.rank_tests(data.assign(g="x"), item="q1", group="g")
    assert len(single) == 1 and "fewer than two groups" in single["note"].iloc[0]


def test_mann_whitney_large_sample_path_agrees_with_pingouin():
    rng = np.random.default_rng(3)
    x, y = rng.integers(1, 6, 300).astype(float), rng.integers(1, 6, 200).astype(float)
    small = pingouin_adapter.mann_whitney(x, y)
    limit = pingouin_adapter.MWU_PAIRWISE_LIMIT
    try:
        pingouin_adapter.MWU_PAIRWISE_LIMIT = 0
        large = pingouin_adapter.mann_whitney(x, y)
    finally:
        pingouin_adapter.MWU_PAIRWISE_LIMIT = limit
    for field in ("u", "p_value", "rank_biserial", "cles"):
        assert getattr(large, field) == pytest.approx(getattr(small, field), abs=1e-12)


def test_proportional_odds_matches_polr(data):
    result = likert.proportional_odds(
        data,
        item="q1",
        group="ethnicity",
        reference="White",
        covariates=COVARIATES,
        references=REFERENCES,
    )
    assert tuple(result.columns) == MODEL_COLUMNS
    merged = expected("polr").merge(result, on=["model", "variable", "level"])
    assert len(merged) == 21
    np.testing.assert_allclose(np.log(merged["odds_ratio"]), merged["estimate"], atol=ITERATIVE)
    np.testing.assert_allclose(merged["se_x"], merged["se_y"], atol=ITERATIVE)
    assert merged["converged"].all()
    # "Arab" answered 1 every time: separated, reported with a note, left out (as in R).
    arab = result[result["level"] == "Arab"]
    assert len(arab) == 2 and arab["separation"].all() and arab["odds_ratio"].isna().all()


def test_scale_scores_match_r(data):
    scores = likert.scale_scores(data, items=ITEMS, reversed_items=["q3"], min_answered=3)
    ref = expected("scale_scores")
    assert scores.index.equals(data.index)
    assert (scores.isna().to_numpy() == ref["score"].isna().to_numpy()).all()
    np.testing.assert_allclose(scores.dropna(), ref["score"].dropna(), atol=CLOSED)


def test_scale_scores_rules():
    frame = pd.DataFrame({"a": [5, 1, np.nan], "b": [4, np.nan, np.nan]})
    scores = likert.scale_scores(frame, items=["a", "b"], reversed_items=["b"], min_answered=1)
    assert scores.iloc[0] == pytest.approx((10 + 2.5) / 2)
    assert scores.iloc[1] == 0.0 and np.isnan(scores.iloc[2])
    with pytest.raises(PtwError, match="outside the scale"):
        likert.scale_scores(frame.assign(a=[6, 1, 2]), items=["a", "b"], min_answered=1)
    with pytest.raises(PtwError, match="reversed item"):
        likert.scale_scores(frame, items=["a"], reversed_items=["b"], min_answered=1)
    with pytest.raises(PtwError, match="min_answered"):
        likert.scale_scores(frame, items=["a", "b"], min_answered=3)


def test_cronbach_alpha_matches_closed_form(data):
    ref = expected("alpha")
    reversed_q3 = data.assign(q3=6 - data["q3"])
    for frame, items, row in ((data, ["q1", "q2", "q4", "q5"], 0), (reversed_q3, ITEMS, 1)):
        result = likert.cronbach_alpha(frame, items=items)
        assert tuple(result.columns) == likert.ALPHA_COLUMNS
        for column in ("alpha", "ci_low", "ci_high"):
            assert result[column].iloc[0] == pytest.approx(ref[column].iloc[row], abs=CLOSED)
        assert result["n"].iloc[0] == ref["n"].iloc[row]
        assert result["n_items"].iloc[0] == ref["n_items"].iloc[row]


def test_edge_cases_give_notes_not_crashes(data):
    missing = data.assign(q1=np.nan)
    fav = likert.percent_favourable(missing, item="q1", group="ethnicity")
    assert fav["estimate"].isna().all() and (fav["note"] != "").all()
    assert likert.mean_score(missing, item="q1", group="ethnicity")["note"].eq("no answers").all()
    alpha = likert.cronbach_alpha(data, items=["q1"])
    assert np.isnan(alpha["alpha"].iloc[0]) and alpha["note"].iloc[0]
    model = likert.proportional_odds(missing, item="q1", group="ethnicity", reference="White")
    assert model["odds_ratio"].isna().all()
    with pytest.raises(PtwError, match="not a numeric code"):
        likert.percent_favourable(data.assign(q1="Agree"), item="q1")
