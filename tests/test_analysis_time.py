"""Over-time tables recover the injected synthetic truth and publish nothing disclosive.

Truths come from toolkit.synth.responses (survey gaps; harassment_public ethnicity RL 1.6 -> 1.4 -> 1.2)
and toolkit.synth.records (leaving HR 1.4 / 1.3, PTPT attrition RL 1.5, conversion RL 0.85,
WRES 2 RL 1.5 -> 1.35 -> 1.2, WDES 2 RL 1.25). The generators' unbiasedness over large samples
is checked in tests/test_synth_records.py; here each truth must lie inside the analysis' own
95% interval for the fixed seed (each interval would miss 5% of seeds).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.analysis.over_time import (
    DimensionLevel,
    OverTimeResult,
    OverTimeSpec,
    over_time_tables,
)
from toolkit.analysis.plan import Plan, load_plan
from toolkit.analysis.trends import (
    TREND_CHANGE_COLUMNS,
    _leaving_measures,
    changes_with_multiplicity,
    comparable_cycles,
    ethnic_groups,
    event_flags,
    per_distinct_value,
    read_benchmark,
    region_names,
    representation_table,
    trend_tables,
    unprinted_regional_leaving,
)
from toolkit.disclosure.suppression import SuppressionPolicy, assert_no_disclosure
from toolkit.instruments.dimensions import group_labels
from toolkit.instruments.model import Instrument, load_instrument
from toolkit.instruments.versions import instrument_versions
from toolkit.resources import surveys_dir
from toolkit.stats.likert import mean_score
from toolkit.stats.proportions import proportions
from toolkit.synth.records import RECORD_KINDS, RecordsSpec, synthetic_records
from toolkit.synth.responses import HARASSMENT_CODES, IndicatorTruth, SynthSpec, synthetic_responses

REPO = Path(__file__).resolve().parents[1]
POLICY = SuppressionPolicy(threshold=10)
SPEC = OverTimeSpec(
    trend_dimensions=(DimensionLevel(name="ethnicity", level="binary"),
                      DimensionLevel(name="ethnicity", level="grouped"),
                      DimensionLevel(name="disability", level="binary")),
    indicators=("harassment_public", "discrimination_colleagues", "think_leaving",
                "dev_clinical_skills"),
)  # fmt: skip


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(REPO / "analysis" / "plan.yaml")


@pytest.fixture(scope="module")
def record_instruments() -> dict[str, Instrument]:
    return {k: load_instrument(surveys_dir() / f"{k}_records.yaml") for k in RECORD_KINDS}


def _responses(spec: SynthSpec, surveys: list[str]) -> dict[str, pd.DataFrame]:
    return {s: synthetic_responses(spec, s).drop(columns=["_minority", "_disabled"])
            for s in surveys}  # fmt: skip


def _records(spec: RecordsSpec) -> dict[str, pd.DataFrame]:
    return {k: synthetic_records(spec, k).drop(columns=["_minority", "_disabled"])
            for k in RECORD_KINDS}  # fmt: skip


def _run(instruments, record_instruments, plan, responses, records_spec) -> OverTimeResult:
    return over_time_tables(
        responses=responses,
        instruments=instruments,
        records=_records(records_spec),
        record_instruments=record_instruments,
        indicators=plan.indicators,
        spec=SPEC,
        policy=POLICY,
    )


@pytest.fixture(scope="module")
def full_responses() -> dict[str, pd.DataFrame]:
    """5,000 responses per survey per cycle."""
    return _responses(SynthSpec(responses_per_cycle=5000), ["culture", "retention"])


@pytest.fixture(scope="module")
def full(instruments, record_instruments, plan, full_responses) -> OverTimeResult:
    """5,000 responses per survey per cycle; 20,000 staff, 1,500 trainees per cohort."""
    return _run(instruments, record_instruments, plan, full_responses, RecordsSpec(staff=20000))


@pytest.fixture(scope="module")
def small(instruments, record_instruments, plan) -> OverTimeResult:
    """Small samples, so that suppression has work to do."""
    return _run(instruments, record_instruments, plan,
                _responses(SynthSpec(responses_per_cycle=400), ["culture", "retention"]),
                RecordsSpec(staff=400, trainees_per_cohort=120, shortlisted_per_year=150))  # fmt: skip


def _row(table: pd.DataFrame, **where: object) -> pd.Series:
    """The one row matching ``where`` (England's unless a region is named)."""
    if "region" in table:
        where = {"region": "England", **where}
    mask = np.ones(len(table), dtype=bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    assert mask.sum() == 1, where
    return table[mask].iloc[0]


def test_narrowing_synthetic_gap_gives_gap_narrowing(full):
    verdict = _row(full.tables["trend_interactions"], indicator="harassment_public",
                   dimension="ethnicity", level="binary", group="Ethnic minority")  # fmt: skip
    assert verdict["verdict"] == "gap narrowing"
    assert verdict["interaction"] < 0 and verdict["adjust_method"] == "benjamini-hochberg"


def test_per_cycle_gaps_shrink_with_the_injected_gap(full):
    """Injected RL 1.6, 1.4, 1.2 (2023-2025): the published RL falls cycle on cycle and the
    reference row carries the reference rate."""
    gaps = full.tables["trend_gaps"]
    picked = gaps[(gaps["region"] == "England") & (gaps["indicator"] == "harassment_public")
                  & (gaps["level"] == "binary") & (gaps["group"] == "Ethnic minority")
                  ].sort_values("cycle")  # fmt: skip
    assert picked["rel_likelihood"].is_monotonic_decreasing
    white = _row(gaps, indicator="harassment_public", level="binary", group="White", cycle=2025)
    minority = _row(gaps, indicator="harassment_public", level="binary",
                    group="Ethnic minority", cycle=2025)  # fmt: skip
    assert white["is_reference"] and minority["reference_estimate"] == white["estimate"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_constant_gap_gives_no_trend(seed, instruments, plan):
    """Constant multipliers (RL 1.5 ethnicity, 1.4 disability every cycle): neither narrowing nor
    widening. A 5% false-positive rate is expected of any 95% rule: the default seed 20240626
    gives one for ethnicity (interaction p = 0.0097), so three other seeds are used, and all six
    verdicts must be "no clear change"."""
    constant = IndicatorTruth("culture", "harassment_public", HARASSMENT_CODES, 0.22,
                              (1.5, 1.5, 1.5), (1.4, 1.4, 1.4))  # fmt: skip
    spec = SynthSpec(responses_per_cycle=5000, indicators=(constant,), seed=seed)
    tables = trend_tables(_responses(spec, ["culture"]), instruments, plan.indicators,
                          SPEC.model_copy(update={"indicators": ("harassment_public",)}),
                          level=0.95, min_n=30)  # fmt: skip
    verdicts = tables["trend_interactions"]
    binary = verdicts[(verdicts["level"] == "binary") & (verdicts["region"] == "England")]
    assert len(binary) == 2
    assert set(binary["verdict"]) == {"no clear change"}


def test_leaving_hazard_ratios_cover_the_truth(full):
    cox = full.tables["survival_cox"]
    for dimension, group, truth in (("ethnicity", "Ethnic minority", 1.4),
                                    ("disability", "Disabled", 1.3)):  # fmt: skip
        row = _row(cox, dimension=dimension, group=group)
        assert row["ties"] == "efron"
        assert row["ci_low"] < truth < row["ci_high"], (row["hazard_ratio"], truth)
    logrank = _row(full.tables["survival_logrank"], dimension="ethnicity")
    assert logrank["p_value"] < 0.05


def test_trainee_relative_likelihoods_cover_the_truth(full):
    trainees = full.tables["trainee_outcomes"]
    for cohort in (2023, 2024, 2025):
        row = _row(trainees, cohort=cohort, dimension="ethnicity", level="binary",
                   group="Ethnic minority")  # fmt: skip
        assert row["reference_group"] == "White"
        assert row["attrition_rl_ci_low"] < 1.5 < row["attrition_rl_ci_high"], cohort
        assert row["conversion_rl_ci_low"] < 0.85 < row["conversion_rl_ci_high"], cohort


def test_recruitment_relative_likelihoods_cover_the_truth(full):
    recruitment = full.tables["recruitment"]
    for year, truth in zip((2023, 2024, 2025), (1.5, 1.35, 1.2), strict=True):
        wres = _row(recruitment, year=year, standard="WRES 2", group="White")
        assert wres["reference_group"] == "Ethnic minority"
        assert wres["rl_ci_low"] < truth < wres["rl_ci_high"], year
        wdes = _row(recruitment, year=year, standard="WDES 2", group="Not disabled")
        assert wdes["rl_ci_low"] < 1.25 < wdes["rl_ci_high"], year


def test_workforce_rates_follow_their_definitions(full):
    """leaver rate = leavers / mean headcount; stability = stable / headcount at start;
    headcount_end = headcount_start + joiners - leavers (one record per person)."""
    rates = full.tables["workforce_rates"]
    total = rates[rates["group"] == "All staff"].astype({"leavers": float})
    mean = (total["headcount_start"] + total["headcount_end"]) / 2
    np.testing.assert_allclose(total["leaver_rate"], total["leavers"] / mean)
    np.testing.assert_allclose(total["stability_index"],
                               total["stable_staff"] / total["headcount_start"])  # fmt: skip
    np.testing.assert_array_equal(
        total["headcount_end"], total["headcount_start"] + total["joiners"] - total["leavers"]
    )
    assert set(rates["dimension"]) == {"all", "ethnicity", "disability", "sector",
                                       "career_stage", "region"}  # fmt: skip


def test_intention_to_leave_has_items_and_score(full):
    table = full.tables["intention_to_leave"]
    assert {"think_leaving", "look_new_job", "leave_asap", "thinking_about_leaving"} <= set(
        table["indicator"]
    )
    score = table[table["indicator"] == "thinking_about_leaving"]["estimate"].dropna()
    assert score.between(0, 10).all()


def test_representation_against_census(full):
    table = full.tables["representation"]
    assert {"respondents: culture", "workforce"} <= set(table["source"])
    london = _row(table, source="workforce", cycle=2023, region="LON", level="binary",
                  group="Ethnic minority")  # fmt: skip
    assert london["benchmark_share"] == pytest.approx(0.4623, abs=1e-3)


def test_representation_lists_a_group_nobody_is_in_as_a_zero(instruments):
    """Known truth: three respondents in one region, none of them in "Other ethnic group"
    (nor of Mixed, Black or Asian background). Every group of the level has a row; the empty
    ones say n = 0, so an absent row can never stand for a hidden count."""
    culture = instruments["culture"]
    codes = {c.label: c.code for c in culture.choices(culture.dimension("ethnicity").item)}
    people = pd.DataFrame({
        "region": ["SW", "SW", "SW"],
        culture.dimension("ethnicity").item: [codes["Indian"], codes["Roma"], codes["Irish"]],
    })  # fmt: skip
    labels = ethnic_groups(people, culture, ["grouped"])
    table = representation_table("respondents: culture", 2025, people["region"], labels,
                                 read_benchmark(SPEC), 0.95, region_names(culture))  # fmt: skip
    shown = dict(zip(table["group"], table["n"], strict=True))
    assert shown == {"White": 2, "Mixed or Multiple ethnic groups": 0, "Asian or Asian British": 1,
                     "Black, Black British, Caribbean or African": 0, "Other ethnic group": 0,
                     "All who stated": 3}  # fmt: skip


def _base_col(result: OverTimeResult, name: str) -> str:
    return result.layouts[name].base_col


@pytest.mark.parametrize("fixture", ["full", "small"])
def test_nothing_published_under_the_threshold(fixture, request):
    result: OverTimeResult = request.getfixturevalue(fixture)
    for name, table in result.tables.items():
        published = table[~table["suppressed"].astype(bool)]
        base = pd.to_numeric(published[_base_col(result, name)], errors="coerce")
        assert not ((base > 0) & (base < POLICY.threshold)).any(), name
    assert_no_disclosure(result.tables, policy=POLICY, layouts=result.layouts,
                         links=result.links, hierarchy=result.hierarchy)  # fmt: skip


def test_small_samples_are_suppressed_with_reasons(small):
    suppressed = {name: int(t["suppressed"].sum()) for name, t in small.tables.items()}
    assert suppressed["trend_gaps"] > 0 and suppressed["trainee_outcomes"] > 0
    for table in small.tables.values():
        hidden = table[table["suppressed"].astype(bool)]
        assert hidden["suppression_reason"].notna().all()


def test_km_curves_stop_below_the_threshold(small):
    curves = small.tables["survival_curves"]
    for _, curve in curves.groupby(["region", "dimension", "level", "group"]):
        raw_hidden = curve["suppressed"].to_numpy()
        if raw_hidden.any():
            first = int(np.argmax(raw_hidden))
            assert raw_hidden[first:].all(), "a curve resumes after a suppressed step"
        assert curve.loc[~curve["suppressed"], "n_risk"].ge(POLICY.threshold).all()


def test_too_few_verdict_names_no_count(small):
    verdicts = small.tables["trend_interactions"]
    few = verdicts[verdicts["verdict"] == "too few responses to say"]
    generic = few["reason"].str.startswith("a cycle has fewer than 30 responses")
    assert generic.any()
    assert (few.loc[~generic, "reason"] == "the trend model could not be estimated").all()
    assert not few["reason"].str.contains("only").any()  # "a cycle has only N responses"


def test_comparable_cycles_follow_version_mappings():
    """retention 2026.1 recodes intend_leave_12m with a full mapping (comparable) and rewords
    dev_digital (the trend breaks at 2026)."""
    versions = instrument_versions(surveys_dir(), "retention")
    kept, note = comparable_cycles(versions, "intend_leave_12m", [2024, 2025, 2026])
    assert kept == [2024, 2025, 2026] and "breaks" not in note
    kept, note = comparable_cycles(versions, "dev_digital", [2024, 2025, 2026])
    assert kept == [2026] and "trend breaks at 2026" in note
    assert comparable_cycles(None, "dev_digital", [2025, 2024])[0] == [2024, 2025]


def test_spec_reads_the_yaml_shape():
    spec = OverTimeSpec.model_validate(
        {
            "trend_dimensions": [{"name": "ethnicity", "level": "binary"}],
            "ties": "breslow",
            "km_times": [1, 5],
        }
    )
    assert spec.trend_dimensions[0].level == "binary" and spec.km_times == (1.0, 5.0)
    with pytest.raises(ValueError):
        OverTimeSpec.model_validate({"ties": "exact"})


REGIONS = {"England", "EOE", "LON", "MID", "NEY", "NW", "SE", "SW"}
REGIONAL_TABLES = ("trend_gaps", "trend_interactions", "trend_changes", "intention_to_leave",
                   "workforce_rates", "survival_summary", "survival_cox", "trainee_outcomes",
                   "recruitment")  # fmt: skip


@pytest.mark.parametrize("name", REGIONAL_TABLES)
def test_over_time_tables_cover_england_and_every_region(full, name):
    table = full.tables[name]
    assert set(table["region"]) == REGIONS, name
    regional = table[table["region"] != "England"]
    assert set(regional["dimension"]) <= {"all", "ethnicity", "disability"}
    assert "binary" in set(regional["level"]) or name == "recruitment"


def test_regional_verdicts_are_adjusted_within_their_region(full):
    """BH within survey x region x dimension x level: recomputing it per region gives the
    published adjusted p-values, and a region's verdicts never borrow England's."""
    from statsmodels.stats.multitest import multipletests

    table = full.tables["trend_interactions"]
    tested = table[table["p_adjusted"].notna()]
    for _, family in tested.groupby(["survey", "region", "dimension", "level"]):
        expected = multipletests(family["p_value"], method="fdr_bh")[1]
        assert np.allclose(family["p_adjusted"], expected)
    assert set(tested["region"]) == REGIONS


def test_change_tests_are_adjusted_within_their_family_after_suppression(full):
    """Each change test's p-value is BH-adjusted within survey x cycle x area x dimension x
    level x measure, over the published rows only: recomputing it with statsmodels from the
    published p-values gives the bundle's; a withheld row has neither p-value, so it cannot be
    read back from its family's adjustment."""
    from statsmodels.stats.multitest import multipletests

    table = full.tables["trend_changes"]
    tested = table[table["p_value"].notna()]
    assert tested["p_adjusted"].notna().all()
    assert (tested["p_adjusted"] >= tested["p_value"] - 1e-12).all()
    families = tested.groupby(["survey", "cycle", "region", "dimension", "level", "measure"])
    assert families.ngroups > len(REGIONS)
    for _, family in families:
        expected = multipletests(family["p_value"], method="fdr_bh")[1]
        assert np.allclose(family["p_adjusted"], expected, rtol=0, atol=1e-12)
    assert set(tested["adjust_method"]) == {"benjamini-hochberg"}


def test_a_withheld_change_is_outside_its_family():
    """Four changes in one family, one withheld by suppression (its p-value blanked): the other
    three are adjusted among themselves (BH by hand: 0.01 x 3/1, 0.02 x 3/2, 0.04 x 3/3), so
    nothing about the withheld p-value can be read back."""
    keys = {"survey": "culture", "cycle": 2025, "region": "LON", "dimension": "ethnicity",
            "level": "binary", "measure": "gap"}  # fmt: skip
    changes = pd.DataFrame(
        [
            {**keys, "group": g, "p_value": p, "suppressed": p is None}
            for g, p in (("A", 0.01), ("B", None), ("C", 0.02), ("D", 0.04))
        ]
    ).reindex(columns=[*TREND_CHANGE_COLUMNS, "suppressed"])
    changes["p_value"] = changes["p_value"].astype(float)
    adjusted = changes_with_multiplicity(changes, OverTimeSpec())
    assert list(adjusted.columns) == list(changes.columns)
    assert np.allclose(adjusted["p_adjusted"], [0.03, np.nan, 0.03, 0.04], equal_nan=True)
    assert adjusted["adjust_method"].isna().tolist() == [False, True, False, False]
    assert set(adjusted["adjust_method"].dropna()) == {"benjamini-hochberg"}


def test_london_trend_gap_recovers_the_injected_relative_likelihood(full):
    """Harassment from the public, ethnic minority vs White in London (injected RL 1.6, 1.4,
    1.2 in 2023-2025; the same in every region): the truth is inside each cycle's 95% CI."""
    gaps = full.tables["trend_gaps"]
    for cycle, truth in zip((2023, 2024, 2025), (1.6, 1.4, 1.2), strict=True):
        row = _row(gaps, region="LON", indicator="harassment_public", dimension="ethnicity",
                   level="binary", cycle=cycle, group="Ethnic minority")  # fmt: skip
        assert row["rl_ci_low"] <= truth <= row["rl_ci_high"], (cycle, row["rel_likelihood"])
    regions = gaps[(gaps["region"] != "England") & (gaps["indicator"] == "harassment_public")
                   & (gaps["level"] == "binary") & (gaps["group"] == "Ethnic minority")
                   & (gaps["cycle"] == 2025)]  # fmt: skip
    england = _row(gaps, indicator="harassment_public", dimension="ethnicity", level="binary",
                   cycle=2025, group="Ethnic minority")  # fmt: skip
    assert len(regions) == 7 and regions["n"].sum() == england["n"]


def test_development_gap_narrows_as_injected(full):
    """Offered clinical skills training: ethnic minority RL 0.70 -> 0.80 -> 0.90 (narrowing)."""
    verdict = _row(full.tables["trend_interactions"], region="England",
                   indicator="dev_clinical_skills", dimension="ethnicity", level="binary",
                   group="Ethnic minority")  # fmt: skip
    assert verdict["verdict"] == "gap narrowing"
    gaps = full.tables["trend_gaps"]
    for cycle, truth in zip((2023, 2024, 2025), (0.70, 0.80, 0.90), strict=True):
        row = _row(gaps, region="England", indicator="dev_clinical_skills", dimension="ethnicity",
                   level="binary", cycle=cycle, group="Ethnic minority")  # fmt: skip
        assert row["rl_ci_low"] <= truth <= row["rl_ci_high"], (cycle, row["rel_likelihood"])


def test_retention_tables_carry_their_measures(full):
    rates = full.tables["workforce_rates"]
    for column in ("year", "leaver_rate", "stability_index", "headcount_start", "leavers"):
        assert rates.loc[~rates["suppressed"], column].notna().all(), column
    summary = full.tables["survival_summary"]
    still = summary[(summary["statistic"] == "still in post") & (summary["region"] == "England")]
    assert set(still["time"]) == {1.0, 2.0, 3.0}
    assert set(still.groupby(["dimension", "group"]).size()) == {3}
    cox = full.tables["survival_cox"]
    assert set(cox.loc[cox["dimension"] == "disability", "group"]) == {"Disabled", "Not disabled"}
    assert set(cox["reference_group"]) == {"White", "Not disabled"}
    assert not cox["group"].isin(["binary", "detailed"]).any()
    trainees = full.tables["trainee_outcomes"]
    shown = trainees[~trainees["suppressed"]]
    for column in ("starters", "withdrawals", "attrition", "conversion"):
        assert shown[column].notna().all(), column
    recruitment = full.tables["recruitment"]
    total = recruitment[recruitment["group"] == "All shortlisted"]
    assert np.allclose(total["rate"], total["appointed"] / total["shortlisted"])
    assert (total["ci_low"] < total["rate"]).all() and (total["rate"] < total["ci_high"]).all()
    assert set(total["year"]) == {2023, 2024, 2025}


def test_intention_to_leave_says_whether_a_value_is_a_rate_or_a_score(full):
    leaving = full.tables["intention_to_leave"]
    score = leaving[leaving["indicator"] == "thinking_about_leaving"]
    assert set(score["unit"]) == {"score 0-10"}
    assert set(leaving.loc[leaving["indicator"] != "thinking_about_leaving", "unit"]) == {
        "proportion"
    }


def test_the_gates_regional_leaving_counts_add_up_to_englands(full, full_responses, instruments):
    """``unprinted_regional_leaving`` (the release gate's true values, never published) holds
    each region's answers and events for the dimensions ``intention_to_leave`` gives for
    England only: its regions add up to England's (unsuppressed) counts, group by group, and
    its "Not stated" is the answers left over; it repeats no printed row."""
    hidden = unprinted_regional_leaving(full_responses, instruments, SPEC)
    printed = full.raw["intention_to_leave"]
    regional = {(d.name, d.level) for d in SPEC.regional_dimensions}
    assert not hidden.empty and "England" not in set(hidden["region"])
    assert not set(zip(hidden["dimension"], hidden["level"], strict=True)) & regional
    keys = ["cycle", "indicator", "measure", "dimension", "level", "group"]
    sums = hidden.groupby(keys)[["n", "events"]].sum(min_count=1)
    england = printed[printed["region"] == "England"].set_index(keys)[["n", "events"]]
    only_england = [(d, lv) not in regional and d != "all"
                    for d, lv in zip(england.index.get_level_values("dimension"),
                                     england.index.get_level_values("level"), strict=True)]  # fmt: skip
    joined = england[only_england].merge(sums, left_index=True, right_index=True,
                                         suffixes=("", "_regions"))  # fmt: skip
    assert len(joined) == sum(only_england) > 0
    assert (joined["n"] == joined["n_regions"]).all()
    proportions = joined["events"].notna()
    assert proportions.any() and (~proportions).any()  # the 0-10 score has no events
    assert (joined.loc[proportions, "events"] == joined.loc[proportions, "events_regions"]).all()
    total = england.xs("all", level="dimension")["n"].droplevel(["level", "group"])
    for (dimension, level), part in sums.groupby(["dimension", "level"]):
        answered = part["n"].groupby(["cycle", "indicator", "measure"]).sum()
        assert (answered == total.loc[answered.index]).all(), (dimension, level)


@pytest.mark.parametrize(
    ("indicator", "region", "dimension", "group"),
    [("thinking_about_leaving", "England", "ethnicity", "Ethnic minority"),
     ("thinking_about_leaving", "LON", "all", "All respondents"),
     ("look_new_job", "England", "disability", "Disabled"),
     ("leave_asap", "NW", "ethnicity", "White"),
     ("intend_leave_12m", "England", "all", "All respondents")],
)  # fmt: skip
def test_intention_to_leave_cells_are_those_of_their_own_responses(
    full, full_responses, instruments, indicator, region, dimension, group
):
    """Known truth: each row's rate (Wilson) or mean score (t) is :func:`proportions` or
    :func:`mean_score` on exactly the responses of its cycle, area and group, computed row by
    row here (the table codes every area and group once and estimates them all together)."""
    answers = full_responses["retention"]
    retention = instruments["retention"]
    measures = _leaving_measures(answers, retention, SPEC)
    table = full.raw["intention_to_leave"]
    level = "binary" if dimension != "all" else "all"
    for cycle in sorted(answers["cycle"].unique()):
        row = _row(table, cycle=cycle, region=region, indicator=indicator, dimension=dimension,
                   level=level, group=group)  # fmt: skip
        mine = answers["cycle"].eq(cycle) & (region == "England" or answers["region"].eq(region))
        if dimension != "all":
            dim = retention.dimension(dimension)
            mine &= group_labels(answers, retention, dim, "binary").eq(group).fillna(False)
        own = measures.loc[mine.to_numpy(), [indicator]]
        if indicator == SPEC.leaving_scale:
            expected = mean_score(own, item=indicator).iloc[0]
        else:
            expected = proportions(own, outcome=indicator).iloc[0]
        assert row["n"] == expected["n"] > 0
        for column in ("estimate", "ci_low", "ci_high"):
            assert row[column] == pytest.approx(expected[column], rel=1e-12, abs=1e-12)


def test_a_transform_of_each_distinct_value_is_the_transform_of_every_row():
    """Known truth: ``transform(column)`` row by row; per_distinct_value decides each distinct
    value once (text codes, blanks, missing values and a numeric column)."""
    text = pd.Series(["1", "2", None, "x", "", "2", None, "5"], dtype=str, name="q")
    as_number = partial(pd.to_numeric, errors="coerce")
    pd.testing.assert_series_equal(
        per_distinct_value(text, as_number), as_number(text).astype(float)
    )
    numbers = pd.Series([3, 1, 3], index=[10, 11, 12])
    pd.testing.assert_series_equal(per_distinct_value(numbers, as_number), numbers.astype(float))
    flags = event_flags(text, events=["1", "5"], missing=["x"])
    assert flags.tolist()[:2] == [1.0, 0.0] and flags.iloc[7] == 1.0
    assert flags.iloc[[2, 3, 4, 6]].isna().all() and flags.name == "q"
