"""Equality groups derived from answer codes (DOMAIN.md section 2)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from toolkit.instruments.dimensions import (
    INTERSECTION_SEPARATOR,
    NOT_STATED,
    distinct_codes,
    equality_act_disability,
    every_group,
    group_labels,
    intersect,
    level_groups,
)
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


def test_distinct_codes_code_each_value_once_and_leave_missing_out() -> None:
    coded = distinct_codes(pd.Series(["Y", None, "N", "Y", pd.NA], dtype="string"))
    assert coded.values == ("Y", "N")
    assert coded.codes.tolist() == [0, -1, 1, 0, -1]
    assert coded.has("N", "X").tolist() == [False, False, True, False, False]


def test_group_labels_on_codes_equal_the_row_by_row_mapping() -> None:
    dimension = culture.dimension("ethnicity")
    answers = pd.DataFrame({"ethnicity": pd.Series(["WROM", None, "PNTS", "XXXX", "WROM", "BAFR"],
                                                   dtype="str")})  # fmt: skip
    mapping = {c.code: c.groups.get("grouped") for c in culture.choices("ethnicity")
               if not c.missing}  # fmt: skip
    expected = answers["ethnicity"].astype("string").map(mapping).astype("string")
    pd.testing.assert_series_equal(
        group_labels(answers, culture, dimension, "grouped"), expected, check_exact=True
    )


def test_every_group_is_the_row_by_row_categorical_with_not_stated_last() -> None:
    column = pd.Series(["b", None, "a", "b", pd.NA], dtype="string", name="g")
    expected = pd.Series(pd.Categorical(["b", NOT_STATED, "a", "b", NOT_STATED],
                                        categories=["a", "b", NOT_STATED]), name="g")  # fmt: skip
    pd.testing.assert_series_equal(every_group(column), expected, check_exact=True)
    declared = column.astype(pd.CategoricalDtype(["c", "b", "a"]))
    assert every_group(declared).cat.categories.tolist() == ["c", "b", "a", NOT_STATED]
    assert every_group(declared).tolist() == ["b", NOT_STATED, "a", "b", NOT_STATED]
    assert every_group(pd.Series([], dtype="string")).cat.categories.tolist() == [NOT_STATED]


def test_intersection_on_codes_equals_joining_the_text() -> None:
    first = pd.Series(["a", "b", None, "a", "b"], dtype="string")
    second = pd.Series(["x", "y", "x", pd.NA, "x"], dtype="string")
    expected = first + INTERSECTION_SEPARATOR + second
    pd.testing.assert_series_equal(intersect([first, second]), expected, check_exact=True)


def test_level_groups_are_group_labels_at_each_level() -> None:
    answers = pd.DataFrame({"ethnicity": ["WROM", None, "PNTS", "BAFR"],
                            "long_term_condition": ["Y", "N", None, "Y"],
                            "condition_reduces_activity": ["LOT", None, None, "NONE"]})  # fmt: skip
    for name, levels in (
        ("ethnicity", ("binary", "grouped", "detailed")),
        ("disability", ("binary",)),
    ):
        dimension = culture.dimension(name)
        for level, labels in level_groups(answers, culture, dimension, levels).items():
            expected = group_labels(answers, culture, dimension, level)
            pd.testing.assert_series_equal(labels, expected, check_exact=True)
