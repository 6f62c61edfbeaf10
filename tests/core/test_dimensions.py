"""Equality groups derived from answer codes (DOMAIN.md section 2)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from toolkit.instruments.dimensions import equality_act_disability, group_labels, intersect
from toolkit.instruments.model import load_instrument
from toolkit.resources import surveys_dir

culture = load_instrument(surveys_dir() / "culture.yaml")


def test_disabled_means_a_condition_that_limits_activity_a_lot_or_a_little() -> None:
    answers = pd.DataFrame(
        {
            "long_term_condition": ["Y", "Y", "Y", "N", "PNTS", None, "Y"],
            "condition_reduces_activity": ["LOT", "LITTLE", "NONE", None, None, None, "PNTS"],
        }
    )
    expected = ["Disabled", "Disabled", "Not disabled", "Not disabled", pd.NA, pd.NA, pd.NA]
    assert equality_act_disability(answers).tolist() == expected


def test_ethnicity_levels_follow_the_census_hierarchy() -> None:
    dimension = culture.dimension("ethnicity")
    answers = pd.DataFrame({"ethnicity": ["WROM", "BAFR", "OARB", "PNTS", None]})
    binary = group_labels(answers, culture, dimension, "binary").tolist()
    grouped = group_labels(answers, culture, dimension, "grouped").tolist()
    detailed = group_labels(answers, culture, dimension, "detailed").tolist()
    assert binary == ["White", "Ethnic minority", "Ethnic minority", pd.NA, pd.NA]
    assert grouped[:3] == [
        "White",
        "Black, Black British, Caribbean or African",
        "Other ethnic group",
    ]
    assert detailed[:3] == ["Roma", "African", "Arab"]


@given(
    st.lists(
        st.sampled_from(
            ["WBRI", "WIRI", "WGRT", "WROM", "WOTH", "MWBC", "AIND", "BCRB", "OARB", "OOTH", "PNTS"]
        ),
        min_size=1,
        max_size=40,
    )
)
def test_every_detailed_category_maps_to_exactly_one_binary_group(codes) -> None:
    answers = pd.DataFrame({"ethnicity": codes})
    dimension = culture.dimension("ethnicity")
    binary = group_labels(answers, culture, dimension, "binary")
    known = answers["ethnicity"] != "PNTS"
    assert binary[known].isin(["White", "Ethnic minority"]).all()
    assert binary[~known].isna().all()
    white_codes = answers["ethnicity"].str.startswith("W")
    assert (binary[known & white_codes] == "White").all()


def test_intersection_is_unknown_when_any_part_is() -> None:
    combined = intersect(
        [
            pd.Series(["White", pd.NA, "Ethnic minority"], dtype="string"),
            pd.Series(["Disabled", "Disabled", pd.NA], dtype="string"),
        ]
    )
    assert combined.tolist() == ["White × Disabled", pd.NA, pd.NA]
