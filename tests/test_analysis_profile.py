"""The response profile's counts per group, by cell, against pandas' row-level count."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.analysis.runner import SurveyFrame, _counts_by_group
from toolkit.instruments.dimensions import every_group


def _row_level(frame: pd.DataFrame, keys: list[str], labels: pd.Series) -> pd.DataFrame:
    """The count as pandas gives it on the rows: group by keys and labels, keep the places
    with respondents, sort by keys and group."""
    counts = frame.groupby([*keys, labels], observed=False).size().rename("n")
    counts = counts.reset_index().merge(frame[keys].drop_duplicates(), on=keys)
    counts = counts.rename(columns={"g": "group"}).astype({"group": "string"})
    return counts.sort_values([*keys, "group"], ignore_index=True)


@pytest.mark.parametrize("keys", [["cycle"], ["cycle", "region"]])
def test_counts_by_group_equal_the_row_level_count(keys: list[str]) -> None:
    # a missing region, a declared group nobody is in, a cycle x region with nobody
    frame = pd.DataFrame({
        "cycle": [2024, 2024, 2025, 2025, 2025, 2023],
        "region": pd.Series(["London", None, "North", "London", "London", "North"], dtype="str"),
        "g": pd.Series(["b", "a", None, "b", "b", "a"], dtype="string"),
    })  # fmt: skip
    frame["g"] = frame["g"].astype(pd.CategoricalDtype(["b", "a", "zero"]))
    survey = SurveyFrame(None, frame, [], {}, None)  # type: ignore[arg-type]
    labels = every_group(frame["g"])
    expected = _row_level(frame, keys, labels)
    pd.testing.assert_frame_equal(
        _counts_by_group(survey, tuple(keys), labels), expected, check_exact=True
    )
    assert (expected["group"] == "zero").any()
