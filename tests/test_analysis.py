"""The analysis recovers every injected effect (issue 5 acceptance).

Known truth: :mod:`toolkit.synth.responses` multiplies one factor per characteristic, so the
population relative likelihood of each group against its reference is exactly the injected
ratio (``truth_table``). Here the synthetic respondents (6,000 per cycle, fixed seed) are
written as platform exports, ingested into the real DuckDB store and the real plan runs over them; every injected RL
(ethnicity, disability, each sector, each career stage, the ethnicity x disability
intersection) must lie inside its reported 99% CI. 99% rather than 95% because some 60 true
values are checked at once: at 95% about three would be expected to fall outside by chance.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest

from toolkit.analysis.plan import load_plan
from toolkit.analysis.runner import (
    COMPARISON_COLUMNS,
    SurveyFrame,
    response_profile,
    run_plan,
    survey_comparisons,
    unprinted_profile,
    unprinted_regional_comparisons,
)
from toolkit.disclosure import audit
from toolkit.disclosure.suppression import SuppressionPolicy, audit_disclosure
from toolkit.ingest.pipeline import ingest_survey_file
from toolkit.instruments.model import load_instrument
from toolkit.resources import analysis_dir, surveys_dir
from toolkit.stats.sweep import Grouping
from toolkit.store.database import ResponseStore
from toolkit.synth.responses import SynthSpec, truth_table, write_platform_exports

SPEC = SynthSpec(cycles=(2024, 2025), responses_per_cycle=6000, seed=99)


def _ingest_exports(store: ResponseStore, folder: Path) -> None:
    """Write the synthetic platform exports and ingest each one for real."""
    instruments = {
        name: load_instrument(surveys_dir() / f"{name}.yaml") for name in ("culture", "retention")
    }
    for path in write_platform_exports(SPEC, instruments, folder):
        survey, cycle, region = path.stem.split("_")
        report = ingest_survey_file(
            store,
            path,
            instrument=instruments[survey],
            cycle=int(cycle),
            region=region,
            secret=b"k" * 32,
        )
        assert report.batch.quarantined == 0


PLAN = load_plan(analysis_dir() / "plan.yaml").model_copy(update={"regions": False, "level": 0.99})


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "ptw.duckdb"
    with ResponseStore(path) as store:
        _ingest_exports(store, path.parent / "exports")
    return path


def _run(store_path: Path):
    with ResponseStore(store_path, read_only=True) as store:
        return run_plan(
            PLAN,
            store=store,
            surveys_dir=surveys_dir(),
            policy=SuppressionPolicy(),
            plan_dir=analysis_dir(),
        )


audit_fits = audit._fits
GATE_READINGS_FIT: list[bool] = []
"""Whether the release gate could use the reading made beside the suppressor, per attack."""


@pytest.fixture(scope="module")
def bundle(store_path: Path):
    def fits(*args: object) -> bool:
        GATE_READINGS_FIT.append(audit_fits(*args))
        return GATE_READINGS_FIT[-1]

    with patch.object(audit, "_fits", fits):
        return _run(store_path)


@cache
def _choice_labels(dimension: str) -> dict[str, str]:
    """Code -> label of the culture instrument's ``dimension`` (read once: 0.2 s a load)."""
    culture = load_instrument(surveys_dir() / "culture.yaml")
    return {c.code: c.label for c in culture.choices(dimension)}


def _labels(dimension: str, code: str) -> str:
    return _choice_labels(dimension)[code]


def test_every_injected_relative_likelihood_is_inside_its_ci(bundle) -> None:
    rows = bundle.table("comparisons")
    truth = truth_table(SPEC)
    truth = truth[truth["item"] == "harassment_public"].copy()
    for dimension in ("sector", "career_stage"):
        chosen = truth["dimension"] == dimension
        truth.loc[chosen, "group"] = [_labels(dimension, g) for g in truth.loc[chosen, "group"]]
        truth.loc[chosen, "reference_group"] = [
            _labels(dimension, g) for g in truth.loc[chosen, "reference_group"]
        ]
    truth = truth[truth["group"] != truth["reference_group"]]
    levels = {"ethnicity": "binary", "disability": "binary", "sector": "detailed", "career_stage": "detailed",
              "ethnicity × disability": "binary×binary"}  # fmt: skip
    found = rows[(rows["indicator"] == "harassment_public") & (rows["region"] == "England")]
    checked = 0
    for row in truth.itertuples():
        match = found[(found["cycle"] == row.cycle) & (found["dimension"] == row.dimension)
                      & (found["level"] == levels[row.dimension]) & (found["group"] == row.group)]  # fmt: skip
        assert len(match) == 1, (row.dimension, row.group)
        got = match.iloc[0]
        assert got["reference_group"] == row.reference_group
        assert got["rl_ci_low"] <= row.true_rel_likelihood <= got["rl_ci_high"], (
            row,
            got[["rel_likelihood", "rl_ci_low", "rl_ci_high"]],
        )
        checked += 1
    assert (
        checked == len(truth) == 28
    )  # 2 cycles x (ethnicity, disability, intersection, 7 sectors, 4 stages)


def test_comparisons_have_the_documented_columns_and_name_their_methods(bundle) -> None:
    rows = bundle.table("comparisons")
    assert list(rows.columns) == list(COMPARISON_COLUMNS)
    compared = rows[~rows["is_reference"] & rows["rel_likelihood"].notna()]
    assert set(compared["ci_method"]) == {"wilson"}
    assert set(compared["rl_ci_method"]) == {"katz-log"}
    assert set(compared["adjust_method"].dropna()) == {"benjamini-hochberg"}
    tested = compared[compared["p_value"].notna()]
    assert tested["p_adjusted"].notna().all()
    assert (tested["p_adjusted"] >= tested["p_value"] - 1e-12).all()
    zero_events = compared[compared["events"] == 0]
    assert (
        zero_events["rl_ci_low"].isna().all()
        and zero_events["note"].str.contains("no events").all()
    )


def test_adjusted_models_recover_the_injected_ethnicity_effect_direction(bundle) -> None:
    models = bundle.table("models")
    adjusted = models[(models["model"] == "adjusted") & (models["indicator"] == "harassment_public")
                      & (models["dimension"] == "ethnicity") & (models["region"] == "England")]  # fmt: skip
    assert len(adjusted) == len(SPEC.cycles)
    assert (adjusted["ci_low"] > 1).all(), "ethnic minority staff were injected with a higher risk"
    assert set(adjusted["covariates"]) == {"sector, career_stage, region"}


def test_reliability_and_scales_are_present_and_bounded(bundle) -> None:
    reliability = bundle.table("reliability")
    assert not reliability.empty and reliability["alpha"].between(-1, 1).all()
    scales = bundle.table("scales")
    published = scales[~scales["suppressed"]]
    assert published["estimate"].between(0, 10).all()


def test_the_bundle_passes_the_disclosure_audit_for_its_own_tables(bundle) -> None:
    from toolkit.analysis.runner import LAYOUTS

    tables = {k: v for k, v in bundle.tables.items() if k in LAYOUTS}
    assert audit_disclosure(
        tables, policy=SuppressionPolicy(), layouts={k: LAYOUTS[k] for k in tables}
    ).empty


def test_the_same_inputs_give_the_same_bundle(bundle, store_path: Path, tmp_path: Path) -> None:
    from toolkit.bundle import write_bundle

    sealed = {
        "key": b"a workspace secret",
        "audited_threshold": 10,
    }  # the seal is deterministic too
    first = write_bundle(bundle, tmp_path / "a", **sealed)
    second = write_bundle(_run(store_path), tmp_path / "b", **sealed)
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_the_manifest_lists_batches_in_a_fixed_order(bundle) -> None:
    """Ingest order (and time) must not change the bundle: batches are listed by batch id."""
    ids = [batch["batch_id"] for batch in bundle.manifest["batches"]]
    assert len(ids) > 1
    assert ids == sorted(ids)


NEW_INDICATORS = {  # item -> truths per cycle (2 cycles x comparisons in truth_table)
    "dev_clinical_skills": 28,
    "dev_mh_ld": 28,
    "dev_digital": 28,
    "adequate_adjustments": 8,
    "discrimination_public": 6,
}
LEVELS = {"ethnicity": "binary", "disability": "binary", "sector": "detailed",
          "career_stage": "detailed", "ethnicity × disability": "binary×binary"}  # fmt: skip


def _truth_in_labels(items: list[str]) -> pd.DataFrame:
    """The injected RLs of ``items`` with sector and career stage codes as group labels."""
    truth = truth_table(SPEC)
    truth = truth[truth["item"].isin(items)].copy()
    for dimension in ("sector", "career_stage"):
        chosen = truth["dimension"] == dimension
        for column in ("group", "reference_group"):
            truth.loc[chosen, column] = [_labels(dimension, g) for g in truth.loc[chosen, column]]
    return truth[truth["group"] != truth["reference_group"]]


def test_reform_and_new_standards_recover_the_injected_relative_likelihoods(bundle) -> None:
    """Access to development (WRES 4 analogue), WDES 8 and discrimination from the public.

    Tolerance: 98 true values are checked at once, so each must lie inside its interval widened
    to a family-wise 95% level (Bonferroni: z = 3.47 instead of the 99% intervals' 2.576); the
    interval comes from the bundle's own 99% Katz interval (its log-scale SE).
    """
    rows = bundle.table("comparisons")
    rows = rows[rows["region"] == "England"]
    truth = _truth_in_labels(list(NEW_INDICATORS))
    z_reported, z_family = 2.5758, 3.4655
    for item, expected in NEW_INDICATORS.items():
        checked = 0
        for row in truth[truth["item"] == item].itertuples():
            match = rows[(rows["indicator"] == item) & (rows["cycle"] == row.cycle)
                         & (rows["dimension"] == row.dimension)
                         & (rows["level"] == LEVELS[row.dimension]) & (rows["group"] == row.group)]  # fmt: skip
            assert len(match) == 1, (item, row.dimension, row.group)
            got = match.iloc[0]
            assert got["reference_group"] == row.reference_group
            assert not got["suppressed"], (item, row.group)
            se = (np.log(got["rl_ci_high"]) - np.log(got["rl_ci_low"])) / (2 * z_reported)
            distance = abs(np.log(got["rel_likelihood"]) - np.log(row.true_rel_likelihood))
            assert distance <= z_family * se, (item, row, got["rel_likelihood"])
            checked += 1
        assert checked == expected, item


def test_ethnic_minority_staff_are_less_likely_to_be_offered_development(bundle) -> None:
    """Clinical skills training: injected RL 0.80 in the first of the two cycles (SPEC keeps the
    last two of 0.70, 0.80, 0.90); the 99% interval and the adjusted odds ratio exclude 1."""
    rows = bundle.table("comparisons")
    first = rows[(rows["region"] == "England") & (rows["cycle"] == SPEC.cycles[0])
                 & (rows["dimension"] == "ethnicity") & (rows["level"] == "binary")
                 & (rows["group"] == "Ethnic minority")]  # fmt: skip
    got = first[first["indicator"] == "dev_clinical_skills"].iloc[0]
    assert got["rl_ci_high"] < 1, got["rel_likelihood"]
    models = bundle.table("models")
    adjusted = models[(models["model"] == "adjusted") & (models["indicator"] == "dev_clinical_skills")
                      & (models["dimension"] == "ethnicity") & (models["cycle"] == SPEC.cycles[0])]  # fmt: skip
    assert len(adjusted) == 1 and adjusted["ci_high"].iloc[0] < 1
    pairs = set(zip(models["group"], models["reference_group"], strict=True))
    assert pairs == {("Ethnic minority", "White"), ("Disabled", "Not disabled")}


def test_wdes_8_has_no_disabled_vs_non_disabled_comparison(bundle) -> None:
    """WDES 8 is asked of disabled staff only: compared within them, never by disability."""
    for name in ("comparisons", "models", "trend_gaps", "trend_interactions"):
        table = bundle.table(name)
        wdes8 = table[table["indicator"] == "adequate_adjustments"]
        assert not wdes8.empty, name
        assert not wdes8["dimension"].str.contains("disability").any(), name
        assert "ethnicity" in set(wdes8["dimension"]), name
    plan = {i.name: i for i in PLAN.indicators}
    assert plan["adequate_adjustments"].not_compared_by == ("disability", "ethnicity × sector")
    assert plan["adequate_adjustments"].asked_of == "Disabled staff"


def test_every_indicator_names_its_programme_aim_and_standard() -> None:
    aims = {i.name: i.programme_aim for i in PLAN.indicators}
    assert set(aims.values()) <= {"train", "retain", "reform"} and None not in aims.values()
    assert {n for n, a in aims.items() if a == "reform"} == {"dev_clinical_skills", "dev_mh_ld",
                                                             "dev_digital"}  # fmt: skip
    assert all(i.standard_label for i in PLAN.indicators)


def test_response_profile_counts_each_respondent_once(bundle) -> None:
    """The "All respondents" row is the number of people (6,000 per survey and cycle), not a
    sum over groupings; the regions add up to England."""
    profile = bundle.table("response_profile")
    totals = profile[(profile["dimension"] == "all") & (profile["group"] == "All respondents")]
    england = totals[totals["region"] == "England"].set_index(["survey", "cycle"])["n"]
    assert set(england) == {SPEC.responses_per_cycle} and len(england) == 2 * len(SPEC.cycles)
    regions = totals[totals["region"] != "England"].groupby(["survey", "cycle"])["n"].sum()
    assert (regions == england.loc[regions.index]).all()
    binary = profile[(profile["region"] == "England") & (profile["dimension"] == "ethnicity")
                     & (profile["level"] == "binary")]  # fmt: skip
    assert not binary["suppressed"].any()
    assert set(binary.groupby(["survey", "cycle"])["n"].sum()) == {SPEC.responses_per_cycle}
    rates = bundle.table("response_rates")
    assert len(rates) == len(totals) and rates["response_rate"].isna().all()  # no workforce here
    assert rates["note"].str.contains("no workforce headcount").all()


def test_groups_follow_the_instrument_order_reference_first(bundle) -> None:
    order = bundle.table("group_order")
    stages = order[(order["dimension"] == "career_stage") & (order["group_order"] > 0)]
    stages = stages.sort_values("group_order")["group"]
    assert list(stages) == [
        "Registered over 10 years",
        "Pre-registration trainee pharmacy technician",
        "Registered under 2 years",
        "Registered 2 to 5 years",
        "Registered 5 to 10 years",
        "Not stated",
    ]
    rows = bundle.table("comparisons")
    one = rows[(rows["region"] == "England") & (rows["indicator"] == "harassment_public")
               & (rows["cycle"] == SPEC.cycles[0]) & (rows["dimension"] == "career_stage")]  # fmt: skip
    assert list(one["group"]) == list(stages[:-1])
    assert one["is_reference"].iloc[0]
    binary = rows[(rows["region"] == "England") & (rows["indicator"] == "harassment_public")
                  & (rows["cycle"] == SPEC.cycles[0]) & (rows["level"] == "binary×binary")]  # fmt: skip
    assert binary["group"].iloc[0] == "White × Not disabled"
    for name, table in bundle.tables.items():
        if {"dimension", "level", "group"} <= set(table.columns) and name != "group_order":
            known = table.merge(order, on=["dimension", "level", "group"], how="left")
            assert known["group_order"].notna().all(), (
                name,
                set(known.loc[known["group_order"].isna(), "group"]),
            )


def _gate_survey(size: int = 400) -> SurveyFrame:
    """Respondents in three regions and two cycles, grouped by ethnicity (binary, compared in
    regions by the default plan; detailed, England only) and their intersection with
    disability, answering one indicator (about a tenth not answering it)."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "cycle": rng.choice([2024, 2025], size),
        "region": rng.choice(["LON", "MID", "NW"], size),
        "_g_ethnicity_binary": rng.choice(["White", "Ethnic minority", None], size),
        "_g_ethnicity_detailed": rng.choice(["Irish", "Roma", "African", None], size),
        "_g_cross": rng.choice(["White × Disabled", "Ethnic minority × Disabled", None], size),
        "_y": rng.choice([0.0, 1.0, np.nan], size, p=[0.5, 0.4, 0.1]),
    })  # fmt: skip
    return SurveyFrame(
        instrument=load_instrument(surveys_dir() / "culture.yaml"),
        frame=frame,
        groupings=[Grouping("_g_ethnicity_binary", "White", "ethnicity", "binary"),
                   Grouping("_g_ethnicity_detailed", "Irish", "ethnicity", "detailed"),
                   Grouping("_g_cross", "White × Disabled", "ethnicity × disability",
                            "binary×binary")],
        outcomes={"an_indicator": "_y"},
        weights=None,
    )  # fmt: skip


def test_the_gates_profile_holds_what_the_release_never_prints() -> None:
    """``unprinted_profile`` (the release gate's true values, never published) counts by
    region each grouping that ``response_profile`` prints for England only, and intersections
    (never printed) for England and by region: the regions add up to England's count,
    "Not stated" included, and it repeats no printed row."""
    regional_plan = load_plan(analysis_dir() / "plan.yaml")
    survey = _gate_survey()
    printed = response_profile(regional_plan, survey)
    hidden = unprinted_profile(regional_plan, survey)
    single = hidden[hidden["level"] == "detailed"]
    assert set(hidden["level"]) == {"detailed", "binary×binary"}
    assert "England" not in set(single["region"])
    assert set(printed[printed["region"] != "England"]["level"]) == {"all", "binary"}
    assert "binary×binary" not in set(printed["level"])
    sums = single.groupby(["cycle", "group"])["n"].sum()
    england = printed[(printed["region"] == "England") & (printed["level"] == "detailed")]
    assert sums.to_dict() == england.set_index(["cycle", "group"])["n"].to_dict()
    assert "Not stated" in set(single["group"]) and single["n"].sum() == len(survey.frame)
    crossed = hidden[hidden["level"] == "binary×binary"]
    by_area = crossed.groupby(crossed["region"] == "England")["n"].sum()
    assert by_area[True] == by_area[False] == len(survey.frame)


def test_the_gates_regional_comparison_counts_add_up_to_englands() -> None:
    """``unprinted_regional_comparisons`` (the release gate's true values, never published)
    holds each region's answers and events for the groupings compared for England only: the
    regions add up to the comparison sweep's England counts group by group, "Not stated" is
    the answers left over, and no row repeats one the sweep prints for a region."""
    regional_plan = load_plan(analysis_dir() / "plan.yaml")
    survey = _gate_survey()
    printed = survey_comparisons(regional_plan, survey, threshold=10)
    hidden = unprinted_regional_comparisons(regional_plan, survey)
    assert "England" not in set(hidden["region"])
    assert set(hidden["level"]) == {"detailed", "binary×binary"}
    assert set(printed[printed["region"] != "England"]["level"]) == {"all", "binary"}
    keys = ["cycle", "indicator", "dimension", "level", "group"]
    sums = hidden.groupby(keys)[["n", "events"]].sum()
    england = printed[
        (printed["region"] == "England") & printed["level"].isin(set(hidden["level"]))
    ]
    joined = england.set_index(keys)[["n", "events"]].merge(
        sums, left_index=True, right_index=True, suffixes=("", "_r")
    )
    assert len(joined) == len(england) > 0
    assert (joined["n"] == joined["n_r"]).all() and (joined["events"] == joined["events_r"]).all()
    answered = survey.frame.groupby("cycle")["_y"].agg(["count", "sum"])
    for _, part in hidden.groupby(["dimension", "level"]):
        totals = part.groupby("cycle")[["n", "events"]].sum()
        assert (totals["n"] == answered["count"]).all()
        assert (totals["events"] == answered["sum"]).all()


def test_the_response_profile_prints_a_group_nobody_is_in_as_a_zero() -> None:
    """Known truth: in 2025 nobody in the North West is of an ethnic minority or left the
    question blank, and Midlands has no respondents at all. The North West still lists both
    groups and "Not stated", with 0 where nobody is in them (an absent row would stand for a
    count only the reader's arithmetic could give); the Midlands get no rows in 2025."""
    regional_plan = load_plan(analysis_dir() / "plan.yaml")
    groups = pd.CategoricalDtype(["White", "Ethnic minority"])
    frame = pd.DataFrame({
        "cycle": [2024, 2024, 2024, 2025, 2025],
        "region": ["NW", "NW", "MID", "NW", "NW"],
        "_g_ethnicity_binary": pd.Series(["White", "Ethnic minority", None, "White", "White"],
                                         dtype=groups),
    })  # fmt: skip
    survey = SurveyFrame(
        instrument=load_instrument(surveys_dir() / "culture.yaml"),
        frame=frame,
        groupings=[Grouping("_g_ethnicity_binary", "White", "ethnicity", "binary")],
        outcomes={},
        weights=None,
    )  # fmt: skip
    profile = response_profile(regional_plan, survey)
    binary = profile[profile["level"] == "binary"].set_index(["cycle", "region", "group"])["n"]
    assert binary.to_dict() == {
        (2024, "England", "White"): 1, (2024, "England", "Ethnic minority"): 1,
        (2024, "England", "Not stated"): 1, (2025, "England", "White"): 2,
        (2025, "England", "Ethnic minority"): 0, (2025, "England", "Not stated"): 0,
        (2024, "MID", "White"): 0, (2024, "MID", "Ethnic minority"): 0,
        (2024, "MID", "Not stated"): 1, (2024, "NW", "White"): 1,
        (2024, "NW", "Ethnic minority"): 1, (2024, "NW", "Not stated"): 0,
        (2025, "NW", "White"): 2, (2025, "NW", "Ethnic minority"): 0,
        (2025, "NW", "Not stated"): 0,
    }  # fmt: skip


def test_the_gate_reads_the_release_beside_the_suppressor_and_the_reading_fits(bundle) -> None:
    """``run_plan`` reads the release's tables for the gate (``read_release``) while the
    suppressor works; the attack uses that reading only if the release has the same rows and
    prints the same values (else it reads the release again). On a real run it fits: the gate
    does not pay for reading the release twice."""
    assert bundle.table("comparisons")["suppressed"].any()
    assert GATE_READINGS_FIT == [True]
