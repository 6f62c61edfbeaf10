"""comparison_sweep equals the per-slice calls of proportions / relative_likelihood / difference /
association (the truth here: those functions match R survey to 1e-9 in their own tests).

Tolerance 1e-12 (relative and absolute) for every number; Monte Carlo p-values are equal because
both sides draw the same number of tables with the same seed. Text columns (methods, tests,
notes) must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.association import association
from toolkit.stats.comparisons import difference, relative_likelihood
from toolkit.stats.proportions import proportions
from toolkit.stats.sweep import (
    ALL_RESPONDENTS,
    SWEEP_COLUMNS,
    Grouping,
    comparison_sweep,
    count_relative_likelihoods,
)
from toolkit.synth.responses import SynthSpec, synthetic_responses

TABLES = 2_000  # Monte Carlo tables on both sides; small to keep the test fast
SPLIT = ("cycle", "region")
NUMBERS = [
    "n", "events", "weighted_n", "estimate", "se", "ci_low", "ci_high", "rel_likelihood",
    "rl_ci_low", "rl_ci_high", "p_value", "diff", "diff_ci_low", "diff_ci_high", "statistic",
    "dof", "test_p_value",
]  # fmt: skip
TEXT = ["ci_method", "rl_ci_method", "band_convention", "diff_ci_method", "test", "note"]
GROUPINGS = [
    Grouping("ethnic_group", "White", "ethnicity", "binary"),
    Grouping("disability", "Not disabled", "disability", "binary"),
    Grouping("sector", "HOSP", "sector", "detailed"),
    Grouping("career_stage", "GT10", "career_stage", "detailed"),
]
ABSENT_SLICE = (2025, "SW")  # hospital staff moved out: the sector reference is absent here


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    """Synthetic culture survey, two cycles x 7 regions, with edge cases planted:

    * ``harassment`` is 0 for every health-and-justice respondent (a group with zero events);
    * in 2025 / SW no respondent works in a hospital (the sector reference group is absent).
    """
    raw = synthetic_responses(SynthSpec(responses_per_cycle=1500, cycles=(2024, 2025)), "culture")
    answered = raw["harassment_public"] != ""
    harassment = raw["harassment_public"].isin(["2", "3", "4", "5"]).astype(float)
    harassment[~answered | (raw["sector"] == "HJ")] = np.where(~answered, np.nan, 0.0)[
        ~answered | (raw["sector"] == "HJ")
    ]
    opportunities = raw["equal_opportunities"].map({"Y": 1.0, "N": 0.0})
    sector = raw["sector"].where(
        ~(
            (raw["cycle"] == ABSENT_SLICE[0])
            & (raw["region"] == ABSENT_SLICE[1])
            & (raw["sector"] == "HOSP")
        ),
        "CHS",
    )
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "cycle": raw["cycle"],
            "region": raw["region"],
            "ethnic_group": np.where(raw["ethnicity"] == "PNTS", None,
                                     np.where(raw["_minority"], "Ethnic minority", "White")),
            "disability": np.where(raw["_disabled"], "Disabled", "Not disabled"),
            "sector": sector,
            "career_stage": raw["career_stage"],
            "harassment": harassment,
            "opportunities": opportunities,
            "w": rng.uniform(0.4, 3.0, len(raw)),
        }
    )  # fmt: skip


def _joined(*notes: str) -> str:
    return "; ".join(dict.fromkeys(n for n in notes if n))


def _compare_slice(function, subset, outcome, grouping, **design):
    """``function`` on one slice's subset. The per-call functions refuse a reference that is not
    a level of the column; the sweep notes it, so for a slice without the reference the oracle is
    the call with the reference declared (a category) minus its empty row, noted as the sweep does.
    """
    column, reference = grouping.column, grouping.reference
    if reference in set(subset[column].dropna()):
        return function(subset, outcome=outcome, group=column, reference=reference, **design)
    levels = sorted({*subset[column].dropna(), reference})
    declared = subset.assign(**{column: pd.Categorical(subset[column], categories=levels)})
    table = function(declared, outcome=outcome, group=column, reference=reference, **design)
    table = table[table["group"] != reference].reset_index(drop=True)
    return table.assign(note=f"reference group {reference!r} not present")


def _slice_rows(subset, outcome, grouping, keys, tables, **design):
    """What the per-call functions say about one grouping of one slice's subset."""
    rates = proportions(subset, outcome=outcome, group=grouping.column, **design)
    rl = _compare_slice(relative_likelihood, subset, outcome, grouping, **design)
    gap = _compare_slice(difference, subset, outcome, grouping, **design)
    test = association(
        subset, outcome=outcome, group=grouping.column, **design, monte_carlo_tables=tables
    )
    test = test.iloc[0]
    merged = rates.merge(
        rl.drop(columns=["n", "events", "weighted_n", "estimate"]), on="group", suffixes=("", "_rl")
    )
    merged = merged.merge(gap, on="group", suffixes=("", "_diff"))
    merged["note"] = [
        _joined(a, b, c, test["note"])
        for a, b, c in zip(merged["note"], merged["note_rl"], merged["note_diff"], strict=True)
    ]
    return merged.assign(
        outcome=outcome, **keys, dimension=grouping.dimension, level=grouping.level,
        test=test["test"], statistic=test["statistic"], dof=test["dof"],
        test_p_value=test["p_value"],
    )  # fmt: skip


def _per_slice(data: pd.DataFrame, outcomes, tables: int) -> pd.DataFrame:
    """The oracle: every per-call function on every slice's subset, rows in the sweep's order."""
    rows = []
    for outcome in outcomes:
        for (cycle, region), subset in data.groupby(list(SPLIT), sort=True):
            keys = {"cycle": cycle, "region": region}
            overall = proportions(subset, outcome=outcome).assign(
                outcome=outcome, **keys, dimension="all", level="all", group=ALL_RESPONDENTS,
                is_reference=False,
            )  # fmt: skip
            rows.append(overall)
            rows += [_slice_rows(subset, outcome, g, keys, tables) for g in GROUPINGS]
    return pd.concat(rows, ignore_index=True).reindex(
        columns=list(SWEEP_COLUMNS[:1]) + list(SPLIT) + list(SWEEP_COLUMNS[1:])
    )


def _assert_same(sweep: pd.DataFrame, oracle: pd.DataFrame, text=TEXT) -> None:
    assert len(sweep) == len(oracle)
    for column in ["outcome", *SPLIT, "dimension", "level", "group"]:
        assert sweep[column].tolist() == oracle[column].tolist(), column
    assert sweep["is_reference"].tolist() == oracle["is_reference"].fillna(False).tolist()
    _assert_numbers(sweep, oracle[NUMBERS])
    for column in text:
        got = sweep[column].fillna("").tolist()
        want = oracle[column].fillna("").tolist()
        assert got == want, column
    got_band = sweep["outside_band"].astype("object").where(sweep["outside_band"].notna(), None)
    want_band = oracle["outside_band"].astype("object").where(oracle["outside_band"].notna(), None)
    assert got_band.tolist() == want_band.tolist()


def _with_comparisons(rates: pd.DataFrame, rl: pd.DataFrame, gap: pd.DataFrame) -> pd.DataFrame:
    """Rates indexed by group joined with the RL and difference numbers."""
    rl_numbers = rl.set_index("group")[["rel_likelihood", "rl_ci_low", "rl_ci_high", "p_value"]]
    gap_numbers = gap.set_index("group")[["diff", "diff_ci_low", "diff_ci_high"]]
    return rates.join(rl_numbers).join(gap_numbers)


def _assert_numbers(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Every number column ``want`` has equals ``got``'s to 1e-12 (rows in the same order)."""
    for column in want.columns.intersection(NUMBERS):
        np.testing.assert_allclose(
            got[column].to_numpy(float),
            want[column].to_numpy(float),
            rtol=1e-12,
            atol=1e-12,
            equal_nan=True,
            err_msg=column,
        )


OUTCOMES = ["harassment", "opportunities"]


@pytest.fixture(scope="module")
def unweighted(responses):
    return comparison_sweep(
        responses, outcomes=OUTCOMES, groupings=GROUPINGS, monte_carlo_tables=TABLES
    )


def test_unweighted_sweep_equals_per_slice_calls(responses, unweighted):
    _assert_same(unweighted, _per_slice(responses, OUTCOMES, TABLES))


def test_sweep_covers_the_edge_cases(unweighted):
    """The planted cases are in the data, with the per-call notes."""
    absent = unweighted[(unweighted["cycle"] == ABSENT_SLICE[0]) & (unweighted["region"] == ABSENT_SLICE[1])
                        & (unweighted["dimension"] == "sector")]  # fmt: skip
    assert not absent.empty and "HOSP" not in set(absent["group"])
    assert absent["note"].str.contains("reference group 'HOSP' not present").all()
    assert absent["rel_likelihood"].isna().all()
    zero = unweighted[(unweighted["outcome"] == "harassment") & (unweighted["group"] == "HJ")]
    assert (zero["events"] == 0).all() and zero["rel_likelihood"].eq(0).any()
    with_reference = zero[~zero["note"].str.contains("not present")]
    assert len(with_reference) == len(zero) - 1
    assert with_reference["note"].str.contains("no events in group: log interval undefined").all()
    tests = set(unweighted["test"].dropna())
    assert {"pearson-chi-square", "fisher-freeman-halton-monte-carlo"} <= tests
    assert list(unweighted.columns) == ["outcome", *SPLIT, *SWEEP_COLUMNS[1:]]


def test_weighted_sweep_is_domain_estimation_in_the_full_design(responses):
    """Numbers equal the per-call functions on the FULL data with slice x group domains
    (R svyby(~y, ~group + cycle + region, design)); notes equal the per-slice calls."""
    sweep = comparison_sweep(responses, outcomes=["harassment"], groupings=GROUPINGS, weights="w")
    for grouping in GROUPINGS:
        by = [*SPLIT, grouping.column]
        rates = proportions(responses, outcome="harassment", group=by, weights="w")
        part = sweep[sweep["dimension"] == grouping.dimension]
        for (cycle, region), rows in part.groupby(list(SPLIT), sort=True):
            prefix = f"{cycle} × {region} × "
            rl = relative_likelihood(
                responses,
                outcome="harassment",
                group=by,
                reference=prefix + grouping.reference,
                weights="w",
            )
            gap = difference(
                responses,
                outcome="harassment",
                group=by,
                reference=prefix + grouping.reference,
                weights="w",
            )
            labels = [prefix + g for g in rows["group"]]
            want = rates.set_index("group").loc[labels]
            got = rows.set_index(pd.Index(labels))
            if grouping.reference in set(rows["group"]):
                _assert_numbers(got, _with_comparisons(want, rl, gap))
            else:
                assert got[["rel_likelihood", "diff", "diff_ci_low"]].isna().all().all()
                _assert_numbers(got, want)
            subset = responses[(responses["cycle"] == cycle) & (responses["region"] == region)]
            # notes depend on counts and domain df only: the subset calls give them too
            expected_notes = _slice_rows(subset, "harassment", grouping, {}, TABLES, weights="w")
            masked = responses.assign(
                harassment=responses["harassment"].where(
                    (responses["cycle"] == cycle) & (responses["region"] == region)
                )
            )
            test = association(
                masked, outcome="harassment", group=grouping.column, weights="w"
            ).iloc[0]
            assert set(got["test"]) == {"rao-scott-f"}
            np.testing.assert_allclose(
                got[["statistic", "dof", "test_p_value"]].to_numpy(float)[0],
                test[["statistic", "dof", "p_value"]].to_numpy(float),
                rtol=1e-12,
            )
            assert got["note"].tolist() == expected_notes["note"].tolist()


def test_weights_only_se_is_the_subset_se_rescaled(responses):
    """Known relation (design.py formulas): with weights only, a domain of the full design and
    the same rows analysed as their own design differ by sqrt((N/(N-1)) / (n_s/(n_s-1)))."""
    sweep = comparison_sweep(responses, outcomes=["opportunities"], groupings=GROUPINGS[:1], weights="w",
                             association=False)  # fmt: skip
    big_n = len(responses)
    for (cycle, region), subset in responses.groupby(list(SPLIT)):
        rows = sweep[(sweep["cycle"] == cycle) & (sweep["region"] == region)
                     & (sweep["dimension"] == "ethnicity")]  # fmt: skip
        alone = proportions(subset, outcome="opportunities", group="ethnic_group", weights="w")
        factor = np.sqrt((big_n / (big_n - 1)) / (len(subset) / (len(subset) - 1)))
        np.testing.assert_allclose(
            rows["se"].to_numpy(), alone["se"].to_numpy() * factor, rtol=1e-12
        )
        np.testing.assert_allclose(
            rows["estimate"].to_numpy(), alone["estimate"].to_numpy(), rtol=1e-12
        )


@pytest.mark.parametrize("clusters", [None, "site"], ids=["strata", "strata-and-clusters"])
def test_stratified_and_clustered_designs(responses, clusters):
    """A small case (two regions) with strata = region and, optionally, 6 clusters a stratum."""
    small = responses[responses["region"].isin(["LON", "NW"]) & (responses["cycle"] == 2024)].copy()
    small["site"] = np.arange(len(small)) % 6
    design = {"weights": "w", "strata": "region", "clusters": clusters}
    sweep = comparison_sweep(small, outcomes=["harassment"], groupings=GROUPINGS[:3], split_by=("cycle",), **design,
                             association=False)  # fmt: skip
    for grouping in GROUPINGS[:3]:
        rows = sweep[sweep["dimension"] == grouping.dimension]
        by = ["cycle", grouping.column]
        labels = [f"2024 × {g}" for g in rows["group"]]
        want = (
            proportions(small, outcome="harassment", group=by, **design)
            .set_index("group")
            .loc[labels]
        )
        rl = relative_likelihood(
            small,
            outcome="harassment",
            group=by,
            reference=f"2024 × {grouping.reference}",
            **design,
        )
        gap = difference(
            small,
            outcome="harassment",
            group=by,
            reference=f"2024 × {grouping.reference}",
            **design,
        )
        _assert_numbers(rows, _with_comparisons(want, rl, gap))


def test_no_split_and_association_off(responses):
    """split_by=() is one slice of all rows; association=False leaves the test columns empty."""
    sweep = comparison_sweep(responses, outcomes=["opportunities"], groupings=GROUPINGS[:1], split_by=(),
                             association=False)  # fmt: skip
    assert list(sweep["group"]) == [ALL_RESPONDENTS, "Ethnic minority", "White"]
    assert sweep["test"].isna().all() and sweep["statistic"].isna().all()
    whole = proportions(responses, outcome="opportunities", group="ethnic_group")
    np.testing.assert_allclose(
        sweep["ci_low"].to_numpy()[1:], whole["ci_low"].to_numpy(), rtol=1e-12
    )


def test_zero_weights_count_only_positive_psus_in_df(responses):
    """Rows with weight 0 stay in the design but not in a domain's degrees of freedom: the logit
    interval (t on df) equals the per-call one on the full design."""
    zeroed = responses.assign(w=np.where(np.arange(len(responses)) % 9 == 0, 0.0, responses["w"]))
    sweep = comparison_sweep(
        zeroed, outcomes=["harassment"], groupings=GROUPINGS[:1], weights="w", association=False
    )
    rows = sweep[sweep["dimension"] == "ethnicity"]
    labels = [
        f"{c} × {r} × {g}"
        for c, r, g in zip(rows["cycle"], rows["region"], rows["group"], strict=True)
    ]
    want = proportions(zeroed, outcome="harassment", group=[*SPLIT, "ethnic_group"], weights="w")
    _assert_numbers(rows, want.set_index("group").loc[labels])


def test_no_outcomes_is_refused(responses):
    with pytest.raises(PtwError, match="no outcome columns"):
        comparison_sweep(responses, outcomes=[], groupings=GROUPINGS)


def test_outcome_other_than_0_1_is_refused_with_its_row(responses):
    """The per-call rule (design.outcome_values): a value other than 0, 1 or missing is refused."""
    bad = responses.assign(harassment=responses["harassment"].where(responses.index != 5, 2.0))
    with pytest.raises(PtwError, match="row 6") as raised:
        comparison_sweep(bad, outcomes=["harassment"], groupings=GROUPINGS[:1], association=False)
    assert raised.value.code == "stats.outcome_not_binary"


def test_association_is_not_run_where_a_group_is_below_test_min_n() -> None:
    """A table with a group under ``test_min_n`` answers gets no test and says why; others do."""
    data = pd.DataFrame(
        {
            "y": [1.0, 0.0] * 30 + [1.0, 0.0, 1.0],
            "g": ["a"] * 30 + ["b"] * 30 + ["c"] * 3,
            "cycle": 2025,
        }
    )
    grouping = Grouping("g", "a", "dim", "detailed")
    skipped = comparison_sweep(
        data, outcomes=["y"], groupings=[grouping], split_by=("cycle",), test_min_n=10
    )
    run = comparison_sweep(
        data, outcomes=["y"], groupings=[grouping], split_by=("cycle",), test_min_n=3
    )
    compared = skipped[skipped["dimension"] == "dim"]
    assert set(compared["test"]) == {"not run"}
    assert compared["test_p_value"].isna().all()
    assert compared["note"].str.contains("fewer than 10 answers").all()
    assert set(run.loc[run["dimension"] == "dim", "test"]) != {"not run"}


def test_count_relative_likelihoods_equal_relative_likelihood_per_stratum():
    """Each stratum's groups from their counts alone: the numbers and notes of
    relative_likelihood on the stratum's rows, zero cells and an absent (declared) reference
    included."""
    rng = np.random.default_rng(7)
    expected, events, n, reference_index, references = [], [], [], [], []
    for stratum in range(60):
        labels = ["a", "b", "c"]
        listed = labels[:-1] if stratum % 4 == 0 else labels  # "c" declared, no rows
        size = int(rng.integers(1, 30))
        rate = rng.choice([0.0, 0.3, 1.0])
        rows = pd.DataFrame({
            "y": (rng.random(size) < rate).astype(float),
            "g": pd.Categorical(rng.choice(listed, size), categories=labels),
        })  # fmt: skip
        reference = "c" if stratum % 4 == 0 else str(rng.choice(labels))
        table = relative_likelihood(rows, outcome="y", group="g", reference=reference)
        offset = len(n)
        expected.append(table)
        events += list(table["events"])
        n += list(table["n"])
        reference_index += [offset + labels.index(reference)] * len(table)
        references += [reference] * len(table)
    found = count_relative_likelihoods(
        np.array(events), np.array(n), np.array(reference_index), references
    )
    expected_table = pd.concat(expected, ignore_index=True)
    for column in ("rel_likelihood", "rl_ci_low", "rl_ci_high", "p_value"):
        assert np.array_equal(
            found[column].to_numpy(float), expected_table[column].to_numpy(float), equal_nan=True
        )
    assert list(found["note"]) == list(expected_table["note"])
