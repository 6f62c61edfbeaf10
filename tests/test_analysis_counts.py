"""The runner's counts by cell (response profile, regional answers and events) against pandas'
row-level counts."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.analysis.runner import SurveyFrame, _answers_and_events_by_place, _counts_by_group
from toolkit.instruments.dimensions import every_group


def _row_level(frame: pd.DataFrame, keys: list[str], labels: pd.Series) -> pd.DataFrame:
    """The count as pandas gives it on the rows: group by keys and labels, keep the places
    with respondents, sort by keys and group."""
    counts = frame.groupby([*keys, labels], observed=False).size().rename("n")
    counts = counts.reset_index().merge(frame[keys].drop_duplicates(), on=keys)
    counts = counts.rename(columns={"g": "group"}).astype({"group": "string"})
    return counts.sort_values([*keys, "group"], ignore_index=True)


def _survey() -> SurveyFrame:
    """Six respondents: a missing region, a declared group nobody is in, a cycle x region with
    nobody, outcomes with missing answers."""
    frame = pd.DataFrame({
        "cycle": [2024, 2024, 2025, 2025, 2025, 2023],
        "region": pd.Series(["London", None, "North", "London", "London", "North"], dtype="str"),
        "g": pd.Series(["b", "a", None, "b", "b", "a"], dtype="string"),
        "_y_p": [1.0, 0.0, None, 1.0, 0.0, 1.0],
        "_y_q": [None, 1.0, 1.0, 1.0, 0.0, None],
    })  # fmt: skip
    frame["g"] = frame["g"].astype(pd.CategoricalDtype(["b", "a", "zero"]))
    return SurveyFrame(None, frame, [], {"p": "_y_p", "q": "_y_q"}, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("keys", [["cycle"], ["cycle", "region"]])
def test_counts_by_group_equal_the_row_level_count(keys: list[str]) -> None:
    survey = _survey()
    labels = every_group(survey.frame["g"])
    expected = _row_level(survey.frame, keys, labels)
    pd.testing.assert_frame_equal(
        _counts_by_group(survey, tuple(keys), labels), expected, check_exact=True
    )
    assert (expected["group"] == "zero").any()


def test_answers_and_events_by_place_equal_the_row_level_sums() -> None:
    survey = _survey()
    frame, labels = survey.frame, every_group(survey.frame["g"]).rename("group")
    grouped = frame[["_y_p", "_y_q"]].groupby([frame["cycle"], frame["region"], labels],
                                              observed=False)  # fmt: skip
    expected = pd.concat({"n": grouped.count(), "events": grouped.sum()}, names=["count"])
    expected = expected.rename_axis(columns="outcome").stack().unstack("count").reset_index()
    result = _answers_and_events_by_place(survey, labels)
    pd.testing.assert_frame_equal(result, expected.rename_axis(columns=None), check_exact=True)
