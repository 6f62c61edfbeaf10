"""Kaplan-Meier, Cox and log-rank against R's survival package (tests/reference/time_reference.R).

The expected values were produced by R 4.2 / survival 3.5 on tests/reference/data/time_survival.csv;
every number is compared to 1e-6 (absolute).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.survival import (
    AT_COLUMNS,
    COX_COLUMNS,
    CURVE_COLUMNS,
    LOGRANK_COLUMNS,
    SUMMARY_COLUMNS,
    cox,
    kaplan_meier,
    logrank,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def survival_data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "time_survival.csv")


def expected(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / f"time_{name}.csv", keep_default_na=True)


def assert_close(ours: pd.Series, theirs: pd.Series) -> None:
    """Equal to TOLERANCE, with NaN only where R has NA."""
    ours_values, theirs_values = ours.to_numpy(float), theirs.to_numpy(float)
    np.testing.assert_array_equal(np.isnan(ours_values), np.isnan(theirs_values))
    np.testing.assert_allclose(ours_values, theirs_values, rtol=0, atol=TOLERANCE, equal_nan=True)


def test_km_curve_matches_survfit_log_ci(survival_data):
    ours = kaplan_meier(survival_data, time="time", event="event", group="group").curve
    theirs = expected("km_curve")
    merged = theirs.merge(ours, on=["group", "time"], suffixes=("_r", ""), how="outer")
    assert len(merged) == len(theirs) == len(ours)
    for column in CURVE_COLUMNS[2:]:
        assert_close(merged[column], merged[f"{column}_r"])


def test_km_median_and_interval_match_quantile_survfit(survival_data):
    ours = kaplan_meier(survival_data, time="time", event="event", group="group").summary
    merged = expected("km_summary").merge(ours, on="group", suffixes=("_r", ""))
    assert len(merged) == 3
    for column in ["n", "events", "median", "median_ci_low", "median_ci_high"]:
        assert_close(merged[column], merged[f"{column}_r"])
    # R's upper limit for White is NA: the lower curve never reaches 0.5
    assert np.isnan(ours.set_index("group").loc["White", "median_ci_high"])


def test_km_survival_at_1_2_3_years_matches_summary_times(survival_data):
    ours = kaplan_meier(survival_data, time="time", event="event", group="group").at
    merged = expected("km_at").merge(ours, on=["group", "time"], suffixes=("_r", ""))
    assert len(merged) == 9
    for column in ["survival", "ci_low", "ci_high"]:
        assert_close(merged[column], merged[f"{column}_r"])


def test_km_columns_fixed_and_beyond_follow_up_is_a_note():
    data = pd.DataFrame({"t": [0.5, 1.0, 1.5], "e": [1, 0, 1]})
    result = kaplan_meier(data, time="t", event="e", at=(0.25, 1.2, 4.0))
    assert list(result.curve.columns) == CURVE_COLUMNS
    assert list(result.summary.columns) == SUMMARY_COLUMNS
    assert list(result.at.columns) == AT_COLUMNS
    at = result.at.set_index("time")
    assert at.loc[0.25, "survival"] == 1.0
    # S(1.2) = (1 - 1/3) = 2/3: the step at 0.5; the censoring at 1.0 does not move it
    assert at.loc[1.2, "survival"] == pytest.approx(2 / 3)
    assert np.isnan(at.loc[4.0, "survival"]) and "beyond" in at.loc[4.0, "note"]
    # the last person leaves: S = 0 and the log interval is undefined, not a crash
    assert result.curve["survival"].iloc[-1] == 0
    assert np.isnan(result.curve["ci_low"].iloc[-1])


def test_km_rejects_bad_event_codes():
    with pytest.raises(PtwError, match="0 \\(censored\\)"):
        kaplan_meier(pd.DataFrame({"t": [1.0], "e": [2]}), time="t", event="e")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", ["group", "group + age + sector"])
def test_cox_matches_coxph(survival_data, ties, model):
    covariates = ("age", "sector") if "age" in model else ()
    ours = cox(
        survival_data,
        time="time",
        event="event",
        group="group",
        reference="White",
        covariates=covariates,
        ties=ties,
    )
    theirs = expected("cox").query("ties == @ties and model == @model").reset_index(drop=True)
    assert list(ours.columns) == COX_COLUMNS
    assert (ours["ties"] == ties).all()
    # R's terms, in the same order: groupAsian, groupBlack[, age, sectorhospital]
    assert list(ours["level"]) == ["Asian", "Black"] + (["", "hospital"] if covariates else [])
    for column in ["hazard_ratio", "ci_low", "ci_high", "p_value", "se"]:
        assert_close(ours[column], theirs[column])
    assert (ours["n"] == 250).all() and (ours["events"] == 161).all()


def test_cox_efron_and_breslow_differ_on_tied_times(survival_data):
    efron = cox(
        survival_data, time="time", event="event", group="group", reference="White", ties="efron"
    )
    breslow = cox(
        survival_data, time="time", event="event", group="group", reference="White", ties="breslow"
    )
    assert abs(efron["hazard_ratio"].iloc[0] - breslow["hazard_ratio"].iloc[0]) > 0.01


def test_cox_group_without_events_gets_a_note_not_an_absurd_ratio(survival_data):
    data = pd.concat(
        [
            survival_data,
            pd.DataFrame({"time": [1.0, 2.0, 3.0], "event": [0, 0, 0], "group": "Mixed"}),
        ],
        ignore_index=True,
    )
    ours = cox(data, time="time", event="event", group="group", reference="White").set_index(
        "level"
    )
    assert np.isnan(ours.loc["Mixed", "hazard_ratio"])
    assert "no events" in ours.loc["Mixed", "note"]
    assert ours.loc["Asian", "hazard_ratio"] == pytest.approx(1.88315964170132, abs=TOLERANCE)


def test_cox_unknown_reference_raises_and_empty_reference_is_a_note(survival_data):
    with pytest.raises(PtwError) as raised:
        cox(survival_data, time="time", event="event", group="group", reference="Chinese")
    assert raised.value.code == "stats.unknown_reference" and raised.value.column == "group"
    levels = sorted({*survival_data["group"].astype(str), "Chinese"})
    declared = survival_data.assign(group=pd.Categorical(survival_data["group"], levels))
    ours = cox(declared, time="time", event="event", group="group", reference="Chinese")
    assert ours["hazard_ratio"].isna().all()
    assert ours["note"].str.contains("reference group").all()


def test_logrank_matches_survdiff(survival_data):
    ours = logrank(survival_data, time="time", event="event", group="group")
    theirs = expected("logrank")
    assert list(ours.columns) == LOGRANK_COLUMNS
    assert ours["test"].iloc[0] == "log-rank"
    for column in ["statistic", "dof", "p_value"]:
        assert_close(ours[column], theirs[column])


def test_logrank_one_group_is_a_note():
    ours = logrank(
        pd.DataFrame({"t": [1.0, 2.0], "e": [1, 1], "g": ["a", "a"]}),
        time="t",
        event="e",
        group="g",
    )
    assert np.isnan(ours["statistic"].iloc[0])
    assert "fewer than two groups" in ours["note"].iloc[0]
