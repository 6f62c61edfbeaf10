"""Trend in the gap: R glm/svyglm reference, synthetic known truth, z test and verdict rules."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.stats.trends import (
    CELL_COLUMNS,
    CHANGE_COLUMNS,
    INTERACTION_COLUMNS,
    NARROWING,
    NO_CLEAR_CHANGE,
    PER_CYCLE_COLUMNS,
    TOO_FEW,
    VERDICT_COLUMNS,
    WIDENING,
    _design,
    _fit_logistic,
    cell_statistics,
    gap_trend,
    gap_trend_cells,
    verdicts_with_multiplicity,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def trend_data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "time_trend.csv")


@pytest.mark.parametrize("weights", [None, "weight"])
@pytest.mark.parametrize("covariates", [(), ("sector",)])
def test_interaction_matches_r_glm_and_svyglm(trend_data, weights, covariates):
    """Known truth: R glm(binomial) / svyglm(quasibinomial) on the same data, to 1e-6."""
    model = "svyglm quasibinomial" if weights else "glm binomial"
    covariate_label = "sector" if covariates else ""
    theirs = pd.read_csv(REFERENCE / "expected" / "time_trend_models.csv", keep_default_na=False)
    theirs = theirs[(theirs["model"] == model) & (theirs["covariates"] == covariate_label)]
    theirs = theirs[theirs["term"].str.endswith(":cycle_c")].reset_index(drop=True)
    ours = gap_trend(
        trend_data,
        outcome="outcome",
        group="group",
        reference="White",
        cycle="cycle",
        weights=weights,
        covariates=covariates,
    ).interaction
    assert list(ours.columns) == INTERACTION_COLUMNS
    assert list(ours["group"]) == ["Asian", "Black"]
    assert list(theirs["term"]) == ["groupAsian:cycle_c", "groupBlack:cycle_c"]
    for column in ["estimate", "se", "p_value", "ci_low", "ci_high"]:
        np.testing.assert_allclose(
            ours[column].to_numpy(float), theirs[column].astype(float), rtol=0, atol=TOLERANCE
        )


def test_reference_data_verdicts_follow_the_injected_gaps(trend_data):
    """The R data set injects a narrowing Asian gap and a constant Black gap."""
    verdict = gap_trend(
        trend_data,
        outcome="outcome",
        group="group",
        reference="White",
        cycle="cycle",
        weights="weight",
    ).verdict.set_index("group")
    assert list(verdict.reset_index().columns) == VERDICT_COLUMNS
    assert verdict.loc["Asian", "verdict"] == NARROWING
    assert verdict.loc["Black", "verdict"] == NO_CLEAR_CHANGE


def simulate(rates_group, rate_reference, per_cycle, seed, first_cycle=2022):
    """Half of each cycle in the group, half in the reference, with the given true rates."""
    rng = np.random.default_rng(seed)
    half = per_cycle // 2
    frames = []
    for step, rate in enumerate(rates_group):
        frames.append(
            pd.DataFrame(
                {
                    "cycle": first_cycle + step,
                    "group": ["Black"] * half + ["White"] * half,
                    "y": np.concatenate(
                        [rng.random(half) < rate, rng.random(half) < rate_reference]
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_known_narrowing_gap_is_called_narrowing():
    """Known truth: RL 1.8 -> 1.6 -> 1.4 -> 1.2 (reference 20%), 3,000 responses per cycle."""
    data = simulate([0.36, 0.32, 0.28, 0.24], 0.20, 3000, seed=1)
    result = gap_trend(data, outcome="y", group="group", reference="White", cycle="cycle")
    assert result.verdict["verdict"].iloc[0] == NARROWING
    assert result.interaction["ci_high"].iloc[0] < 0
    true_rl = np.array([1.8, 1.6, 1.4, 1.2])
    per_cycle = result.per_cycle
    assert ((per_cycle["rl_ci_low"] < true_rl) & (true_rl < per_cycle["rl_ci_high"])).all()


def test_known_widening_gap_is_called_widening():
    data = simulate([0.24, 0.28, 0.32, 0.36], 0.20, 3000, seed=2)
    assert (
        gap_trend(data, outcome="y", group="group", reference="White", cycle="cycle")
        .verdict["verdict"]
        .iloc[0]
        == WIDENING
    )


def test_constant_gap_is_rarely_called_a_change():
    """Known truth: RL 1.5 in every cycle. At least 38 of 40 seeded replicates must say neither
    narrowing nor widening. (The verdict is a 95% interval, so about 5% of replicates say a
    change by chance: 47 of seeds 0-999 did; 95% of 40 is near that limit.)"""
    verdicts = [
        gap_trend(
            simulate([0.30] * 4, 0.20, 3000, seed=seed),
            outcome="y",
            group="group",
            reference="White",
            cycle="cycle",
        )
        .verdict["verdict"]
        .iloc[0]
        for seed in range(40)
    ]
    assert sum(v == NO_CLEAR_CHANGE for v in verdicts) >= 38


def test_small_cycle_gives_too_few_responses():
    data = simulate([0.36, 0.32, 0.28, 0.24], 0.20, 3000, seed=3)
    small = data[(data["cycle"] == 2023) & (data["group"] == "Black")].index[9:]
    verdict = gap_trend(
        data.drop(small), outcome="y", group="group", reference="White", cycle="cycle"
    ).verdict.iloc[0]
    assert verdict["verdict"] == TOO_FEW
    assert verdict["smallest_n"] == 9
    assert "minimum 10" in verdict["reason"]


def test_group_with_no_events_is_too_few_not_a_crash():
    data = simulate([0.36, 0.32, 0.28, 0.24], 0.20, 400, seed=4)
    data.loc[data["group"] == "Black", "y"] = False
    result = gap_trend(data, outcome="y", group="group", reference="White", cycle="cycle")
    assert result.verdict["verdict"].iloc[0] == TOO_FEW
    assert result.interaction["estimate"].isna().all()
    assert result.interaction["note"].iloc[0] != ""
    assert (result.per_cycle["note"].str.contains("no events")).all()


def test_per_cycle_unweighted_uses_newcombe_and_katz():
    """Known truth by hand: 30/100 vs 20/100 gives diff 0.1, Newcombe (-0.02025, 0.21673)
    from the Wilson limits, RL 1.5, Katz exp(ln 1.5 +/- 1.96 sqrt(1/30 - 1/100 + 1/20 - 1/100))."""
    data = pd.DataFrame(
        {
            "cycle": [1] * 200 + [2] * 200,
            "group": (["B"] * 100 + ["A"] * 100) * 2,
            "y": ([1] * 30 + [0] * 70 + [1] * 20 + [0] * 80) * 2,
        }
    )
    row = gap_trend(data, outcome="y", group="group", reference="A", cycle="cycle").per_cycle.iloc[
        0
    ]
    assert list(row.index) == PER_CYCLE_COLUMNS
    assert row["diff"] == pytest.approx(0.1)
    assert row["diff_ci_low"] == pytest.approx(-0.0202494, abs=1e-6)
    assert row["diff_ci_high"] == pytest.approx(0.2167344, abs=1e-6)
    se = np.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert row["rl_ci_low"] == pytest.approx(1.5 * np.exp(-1.959964 * se), abs=1e-6)
    assert row["rl_ci_high"] == pytest.approx(1.5 * np.exp(1.959964 * se), abs=1e-6)


def test_change_z_test_uses_design_effects():
    """z = (p1 - p2) / sqrt(deff1 p1 q1 / n1 + deff2 p2 q2 / n2), Kish deff = n sum w^2 / (sum w)^2."""
    rng = np.random.default_rng(5)
    data = simulate([0.36, 0.30], 0.20, 1000, seed=5)
    data["w"] = rng.uniform(0.5, 2.0, len(data))
    change = gap_trend(
        data, outcome="y", group="group", reference="White", cycle="cycle", weights="w"
    ).change
    assert list(change.columns) == CHANGE_COLUMNS
    rate = change[change["measure"] == "group rate"].iloc[0]

    def cell(cycle):
        rows = data[(data["cycle"] == cycle) & (data["group"] == "Black")]
        w, y = rows["w"].to_numpy(), rows["y"].to_numpy(float)
        p = (w * y).sum() / w.sum()
        deff = len(w) * (w**2).sum() / w.sum() ** 2
        return p, deff, len(w)

    p1, d1, n1 = cell(2023)
    p2, d2, n2 = cell(2022)
    z = (p1 - p2) / np.sqrt(d1 * p1 * (1 - p1) / n1 + d2 * p2 * (1 - p2) / n2)
    assert rate["change"] == pytest.approx(p1 - p2)
    assert rate["deff"] == pytest.approx(d1) and rate["previous_deff"] == pytest.approx(d2)
    assert rate["z"] == pytest.approx(z)
    assert (rate["cycle"], rate["previous_cycle"]) == (2023, 2022)


def test_unweighted_deff_is_one():
    change = gap_trend(
        simulate([0.3, 0.3], 0.2, 200, seed=6),
        outcome="y",
        group="group",
        reference="White",
        cycle="cycle",
    ).change
    assert (change["deff"] == 1).all()


def test_multiplicity_applies_bh_within_each_family(trend_data):
    """BH across a family can turn a marginal narrowing into "no clear change"."""
    verdict = gap_trend(
        trend_data,
        outcome="outcome",
        group="group",
        reference="White",
        cycle="cycle",
        weights="weight",
    ).verdict
    family = pd.concat([verdict.assign(indicator="q1"), verdict.assign(indicator="q2")])
    # make q2's Asian p-value marginal: adjusted it exceeds 0.05 alongside three others
    family.loc[(family["indicator"] == "q2") & (family["group"] == "Asian"), "p_value"] = 0.04
    adjusted = verdicts_with_multiplicity(family, family_cols=["indicator"])
    assert (adjusted["adjust_method"] == "benjamini-hochberg").all()
    q2 = adjusted[adjusted["indicator"] == "q2"].set_index("group")
    assert q2.loc["Asian", "p_adjusted"] == pytest.approx(0.08)  # 0.04 * 2 / 1
    assert q2.loc["Asian", "verdict"] == NO_CLEAR_CHANGE
    q1 = adjusted[adjusted["indicator"] == "q1"].set_index("group")
    assert q1.loc["Asian", "verdict"] == NARROWING
    assert "BH-adjusted" in q1.loc["Asian", "reason"]


def test_multiplicity_leaves_too_few_rows_alone():
    data = simulate([0.36, 0.32, 0.28, 0.24], 0.20, 60, seed=7)
    verdict = gap_trend(
        data, outcome="y", group="group", reference="White", cycle="cycle", min_n=100
    ).verdict
    adjusted = verdicts_with_multiplicity(verdict)
    assert adjusted["verdict"].iloc[0] == TOO_FEW
    assert np.isnan(adjusted["p_adjusted"].iloc[0])


def test_single_cycle_has_no_trend_but_does_not_crash():
    data = simulate([0.3], 0.2, 400, seed=8)
    result = gap_trend(data, outcome="y", group="group", reference="White", cycle="cycle")
    assert result.change.empty and list(result.change.columns) == CHANGE_COLUMNS
    assert result.verdict["verdict"].iloc[0] == TOO_FEW
    assert "fewer than two cycles" in result.interaction["note"].iloc[0]


@pytest.mark.parametrize("weights", [None, "weight"])
def test_cell_fit_matches_the_row_level_fit(trend_data, weights):
    """Known truth: the model fitted on the cells' sums has the row-level fit's coefficients and
    standard errors (model-based, or the survey sandwich over rows, :func:`_fit_logistic`)."""
    frame = trend_data.assign(_w=trend_data["weight"] if weights else 1.0)
    frame["group"] = frame["group"].astype(str)
    others = ["Asian", "Black"]
    cycle_c = frame["cycle"].astype(float) - frame["cycle"].drop_duplicates().mean()
    x = _design(frame, "group", "White", others, cycle_c, ())
    rows = _fit_logistic(frame["outcome"].to_numpy(float), x, frame["_w"].to_numpy(), bool(weights))
    ours = gap_trend(
        trend_data, outcome="outcome", group="group", reference="White", cycle="cycle",
        weights=weights,
    ).interaction.set_index("group")  # fmt: skip
    for grp in others:
        term = f"group={grp}:cycle"
        assert ours.loc[grp, "estimate"] == pytest.approx(rows.params[term], rel=1e-8)
        assert ours.loc[grp, "se"] == pytest.approx(rows.se[term], rel=1e-8)


def test_cell_statistics_are_the_sums_of_each_cell():
    """n, events and the weighted sums per region x cycle x group, by hand."""
    data = pd.DataFrame(
        {
            "region": ["A", "A", "A", "B"],
            "cycle": [2024, 2024, 2024, 2024],
            "group": ["x", "x", "y", "x"],
            "y": [1.0, 0.0, 1.0, 1.0],
            "w": [2.0, 3.0, 1.0, 4.0],
        }
    )
    cells = cell_statistics(data, outcome="y", group="group", cycle="cycle", weights="w",
                            by=("region",))  # fmt: skip
    assert list(cells.columns) == ["region", *CELL_COLUMNS]
    first = cells.iloc[0]
    assert (first["region"], first["cycle"], first["group"]) == ("A", 2024, "x")
    assert (first["n"], first["events"], first["sum_w"], first["sum_wy"]) == (2, 1, 5.0, 2.0)
    assert (first["sum_w2"], first["sum_w2y"], first["cycle_n"]) == (13.0, 4.0, 3)
    assert list(cells["cycle_n"]) == [3, 3, 1]


@pytest.mark.parametrize("weights", [None, "weight"])
def test_gap_trend_from_cells_equals_gap_trend_from_rows(trend_data, weights):
    """The cell path is what :func:`gap_trend` runs without covariates: identical tables."""
    rows = gap_trend(trend_data, outcome="outcome", group="group", reference="White",
                     cycle="cycle", weights=weights)  # fmt: skip
    cells = cell_statistics(trend_data.assign(group=trend_data["group"].astype(str)),
                            outcome="outcome", group="group", cycle="cycle", weights=weights)  # fmt: skip
    from_cells = gap_trend_cells(cells, reference="White", weighted=weights is not None)
    for name, table in rows.tables().items():
        pd.testing.assert_frame_equal(from_cells.tables()[name], table)


@pytest.mark.parametrize("weighted", [False, True])
def test_cell_irls_is_statsmodels_glm_to_the_bit(weighted):
    """The cell fits' IRLS gives exactly statsmodels GLM's coefficients, standard errors and
    fitted values (same operations in the same order), counts or weighted responses."""
    import statsmodels.api as sm

    from toolkit.stats.trends import _irls_binomial

    rng = np.random.default_rng(11)
    for _ in range(40):
        cells = int(rng.integers(6, 16))
        design = np.asfortranarray(
            np.column_stack([np.ones(cells), rng.integers(0, 2, cells), rng.normal(size=cells)])
        )
        n = rng.integers(5, 200, cells).astype(float)
        events = rng.binomial(n.astype(int), rng.uniform(0.1, 0.9, cells)).astype(float)
        if weighted:
            endog, weights = events / n, n * rng.uniform(0.5, 2.0, cells)
            expected = sm.GLM(endog, design, family=sm.families.Binomial(), var_weights=weights)
        else:
            endog, weights = np.column_stack([events, n - events]), np.ones(cells)
            expected = sm.GLM(endog, design, family=sm.families.Binomial())
        reference = expected.fit(tol=1e-12, maxiter=100)
        found = _irls_binomial(endog, design, weights)
        assert np.array_equal(found.params, reference.params)
        assert np.array_equal(found.bse, reference.bse)
        assert np.array_equal(found.mu, reference.mu)
        assert found.converged == reference.converged
