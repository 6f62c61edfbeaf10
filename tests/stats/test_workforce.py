"""Workforce field definitions (one test per formula) and the record-level measures."""

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.survival import kaplan_meier
from toolkit.stats.workforce import (
    APPOINTMENT_COLUMNS,
    TRAINING_COLUMNS,
    WORKFORCE_COLUMNS,
    appointment_from_shortlisting,
    appointment_relative_likelihood,
    joiner_rate,
    leaver_rate,
    stability_index,
    time_in_post,
    trainee_outcomes,
    vacancy_rate,
    workforce_metrics,
)


def test_leaver_rate_is_leavers_over_mean_headcount():
    """leaver rate = leavers / mean(headcount at start, headcount at end)."""
    assert leaver_rate(leavers=10, headcount_start=100, headcount_end=80) == pytest.approx(10 / 90)
    assert np.isnan(leaver_rate(leavers=0, headcount_start=0, headcount_end=0))


def test_joiner_rate_is_joiners_over_mean_headcount():
    """joiner rate = joiners / mean(headcount at start, headcount at end)."""
    assert joiner_rate(joiners=12, headcount_start=100, headcount_end=110) == pytest.approx(
        12 / 105
    )


def test_stability_index_is_stable_staff_over_start_headcount():
    """stability index = in post at start and still at end / headcount at start."""
    assert stability_index(stable_staff=85, headcount_start=100) == pytest.approx(0.85)
    assert np.isnan(stability_index(stable_staff=0, headcount_start=0))


def test_vacancy_rate_is_vacant_over_establishment():
    """vacancy rate = vacant FTE / (FTE in post + vacant FTE)."""
    assert vacancy_rate(vacant_fte=5.0, fte_in_post=45.0) == pytest.approx(0.1)
    np.testing.assert_allclose(
        vacancy_rate(vacant_fte=np.array([1.0, 0.0]), fte_in_post=np.array([9.0, 0.0])),
        [0.1, np.nan],
    )


@pytest.fixture
def records() -> pd.DataFrame:
    """Period 2024-04-01 to 2025-03-31. A: c leaves in October, d stays, e joins and leaves.
    W: a stays, b joins, f leaves in June and rejoins in September (not a leaver)."""
    return pd.DataFrame(
        {
            "person": ["a", "b", "c", "d", "e", "f", "f"],
            "start_date": [
                "2020-01-01",
                "2024-06-01",
                "2019-01-01",
                "2023-01-01",
                "2024-05-01",
                "2018-01-01",
                "2024-09-01",
            ],
            "end_date": [None, None, "2024-10-01", None, "2024-12-31", "2024-06-30", None],
            "ethnicity": ["White", "White", "Asian", "Asian", "Asian", "White", "White"],
            "fte": [1.0, 0.8, 1.0, 0.6, 1.0, 1.0, 1.0],
        }
    )


def test_workforce_metrics_counts_by_hand(records):
    table = workforce_metrics(
        records, period_start="2024-04-01", period_end="2025-03-31", group="ethnicity", fte="fte"
    ).set_index("group")
    assert sorted(table.reset_index().columns) == sorted(WORKFORCE_COLUMNS)
    asian, white = table.loc["Asian"], table.loc["White"]
    assert (asian["headcount_start"], asian["headcount_end"]) == (2, 1)
    assert (asian["leavers"], asian["joiners"], asian["stable_staff"]) == (2, 1, 1)
    assert asian["leaver_rate"] == pytest.approx(2 / 1.5)
    assert asian["stability_index"] == pytest.approx(0.5)
    assert (white["headcount_start"], white["headcount_end"]) == (2, 3)
    assert (white["leavers"], white["joiners"], white["stable_staff"]) == (0, 1, 2)
    assert (asian["fte_start"], asian["fte_end"]) == pytest.approx((1.6, 0.6))
    # the headcount identity holds for every group
    assert (
        (table["headcount_start"] + table["joiners"] - table["leavers"]) == table["headcount_end"]
    ).all()


def test_workforce_metrics_without_groups_or_fte(records):
    table = workforce_metrics(records, period_start="2024-04-01", period_end="2025-03-31")
    row = table.iloc[0]
    assert (row["dimension"], row["group"]) == ("all", "All")
    assert (row["headcount_start"], row["headcount_end"], row["leavers"]) == (4, 4, 2)
    assert np.isnan(row["fte_start"])


def test_group_without_staff_at_start_is_a_note(records):
    table = workforce_metrics(
        records, period_start="2019-06-01", period_end="2019-12-31", group="ethnicity"
    ).set_index("group")
    assert table.loc["Asian", "headcount_start"] == 1
    table = workforce_metrics(
        records, period_start="2017-01-01", period_end="2017-12-31", group="ethnicity"
    )
    assert table["stability_index"].isna().all()
    assert (table["note"] == "no staff in post at the start").all()


def test_end_before_start_is_a_located_error(records):
    records.loc[2, "end_date"] = "2018-01-01"
    with pytest.raises(PtwError, match="source row 3"):
        workforce_metrics(records, period_start="2024-04-01", period_end="2025-03-31")


def test_time_in_post_censors_at_as_of_and_feeds_kaplan_meier(records):
    table = time_in_post(records, as_of="2025-03-31").set_index("person")
    assert table.loc["a", "event"] == 0
    assert table.loc["a", "duration_years"] == pytest.approx(
        (pd.Timestamp("2025-03-31") - pd.Timestamp("2020-01-01")).days / 365.25
    )
    assert table.loc["e", "event"] == 1
    assert table.loc["e", "duration_years"] == pytest.approx(244 / 365.25)
    km = kaplan_meier(table, time="duration_years", event="event", group="ethnicity")
    assert set(km.summary["group"]) == {"Asian", "White"}


def test_trainee_outcomes_by_hand():
    """Planned end 2022-09-01 + 104 weeks = 2024-08-29; registration counts until 2025-02-27."""
    trainees = pd.DataFrame(
        {
            "trainee": range(8),
            "cohort": "2022",
            "start_date": "2022-09-01",
            "withdrawn_date": [None, "2023-01-01", None, None, None, None, None, "2023-05-01"],
            "completed_date": [
                "2024-08-20",
                None,
                "2024-08-25",
                "2024-08-30",
                "2024-08-30",
                "2024-08-01",
                "2024-08-01",
                None,
            ],
            "registered_date": [
                "2024-10-01",
                None,
                "2025-02-28",
                "2025-02-27",
                None,
                "2024-09-01",
                "2024-09-15",
                None,
            ],
            "ethnicity": ["White"] * 4 + ["Black"] * 4,
        }
    )
    table = trainee_outcomes(trainees, group="ethnicity", reference="White").set_index("group")
    assert sorted(table.reset_index().columns) == sorted(TRAINING_COLUMNS)
    white, black = table.loc["White"], table.loc["Black"]
    assert (white["starters"], white["withdrawals"], white["completers"]) == (4, 1, 3)
    assert white["registered_within_6m"] == 2  # 2025-02-28 is one day late
    assert white["conversion_of_completers"] == pytest.approx(2 / 3)
    assert black["attrition"] == pytest.approx(0.25)
    # Wilson interval for 1 of 4 at 95%
    assert (black["attrition_ci_low"], black["attrition_ci_high"]) == pytest.approx(
        (0.0455869, 0.6993582), abs=1e-6
    )
    assert black["conversion_rl"] == pytest.approx(1.0)
    assert white["conversion_rl"] == 1.0 and np.isnan(white["conversion_rl_ci_low"])
    assert (table["ci_method"] == "wilson").all()


def test_trainee_planned_end_given_overrides_104_weeks():
    trainees = pd.DataFrame(
        {
            "trainee": [1],
            "cohort": ["2023"],
            "start_date": ["2023-01-01"],
            "planned_end_date": ["2025-06-30"],
            "registered_date": ["2025-12-01"],
        }
    )
    assert trainee_outcomes(trainees)["registered_within_6m"].iloc[0] == 1


def test_appointment_from_shortlisting_and_wres2_direction():
    applicants = pd.DataFrame(
        {
            "applicant": range(12),
            "year": 2024,
            "shortlisted": [1] * 11 + [0],
            "appointed": [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0],
            "ethnicity": ["White"] * 6 + ["Ethnic minority"] * 6,
        }
    )
    rates = appointment_from_shortlisting(applicants, group="ethnicity").set_index("group")
    assert sorted(rates.reset_index().columns) == sorted(APPOINTMENT_COLUMNS)
    assert (rates.loc["White", "shortlisted"], rates.loc["White", "appointed"]) == (6, 3)
    assert rates.loc["Ethnic minority", "shortlisted"] == 5  # the unshortlisted one is out
    rl = appointment_relative_likelihood(
        applicants,
        group="ethnicity",
        preset_code="WRES 2",
        groups={"White": "White", "BME": "Ethnic minority"},
    ).iloc[0]
    # WRES 2: rate(White) / rate(BME) = 0.5 / 0.4
    assert rl["rel_likelihood"] == pytest.approx(1.25)
    assert rl["year"] == 2024 and rl["standard_code"] == "WRES 2"


def test_missing_column_is_a_located_error():
    with pytest.raises(PtwError, match='column "end_date"'):
        workforce_metrics(
            pd.DataFrame({"person": [1], "start_date": ["2024-01-01"]}),
            period_start="2024-01-01",
            period_end="2024-12-31",
        )
