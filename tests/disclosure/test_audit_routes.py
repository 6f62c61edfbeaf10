"""The independent auditor on small constructed releases whose answer is known by hand.

One release per route of issue 11 that leaks (the auditor must find the cell and name the
route) and one that is protected (the auditor passes it).
"""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.disclosure.audit import (
    ROUTE_ELSEWHERE,
    ROUTE_LINKED,
    ROUTE_PARTITION,
    ROUTE_PUBLISHED,
    ROUTE_REGIONS,
    ROUTE_ZERO,
    assert_protected,
    attack,
)
from toolkit.errors import DisclosureError

S = None  # a suppressed count


def comparisons(rows: list[tuple[str, str, str, str, int | None, int | None]]) -> pd.DataFrame:
    """Rows (region, dimension, level, group, n, events); ``None`` marks a suppressed cell."""
    frame = pd.DataFrame(rows, columns=["region", "dimension", "level", "group", "n", "events"])
    frame.insert(0, "indicator", "harassment_public")
    frame.insert(0, "cycle", 2024)
    frame.insert(0, "survey", "culture")
    frame["suppressed"] = frame["n"].isna()
    return frame.astype({"n": "Int64", "events": "Int64"})


def profile(rows: list[tuple[str, str, str, str, int | None]]) -> pd.DataFrame:
    """Response profile rows (region, dimension, level, group, n)."""
    frame = pd.DataFrame(rows, columns=["region", "dimension", "level", "group", "n"])
    frame.insert(0, "cycle", 2024)
    frame.insert(0, "survey", "culture")
    frame["suppressed"] = frame["n"].isna()
    return frame.astype({"n": "Int64"})


def hierarchy(rows: list[tuple[str, str, str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["dimension", "level", "group", "parent_dimension",
                                       "parent_level", "parent_group"])  # fmt: skip


def only(result: pd.DataFrame, **key: object) -> pd.Series:
    mask = pd.Series(True, index=result.index)
    for column, value in key.items():
        mask &= result[column] == value
    assert mask.sum() == 1, result[mask]
    return result[mask].iloc[0]


def ethnic(region: str, total: int, white: int, arab: int | None, other: int | None) -> list[tuple]:
    """One region's ethnicity partition (events not printed)."""
    return [
        (region, "all", "all", "All respondents", total, S),
        (region, "ethnicity", "grouped", "White", white, S),
        (region, "ethnicity", "grouped", "Arab", arab, S),
        (region, "ethnicity", "grouped", "Other", other, S),
    ]


def test_england_minus_the_regions_recovers_a_regional_cell() -> None:
    # London Arab 3 is hidden with Other 7; England Arab 67 minus Midlands Arab 64 gives it.
    table = comparisons(
        ethnic("LON", 100, 90, S, S)
        + ethnic("MID", 200, 120, 64, 16)
        + ethnic("England", 300, 210, 67, 23)
    )
    result = attack({"comparisons": table}, threshold=10)
    arab = only(result, region="LON", group="Arab", measure="n")
    assert (arab["lower"], arab["upper"], arab["protected"]) == (3, 3, False)
    assert ROUTE_REGIONS in arab["route"]
    with pytest.raises(DisclosureError, match="England minus regions") as error:
        assert_protected({"comparisons": table}, threshold=10)
    assert "table 'comparisons'" in str(error.value) and "group Arab" in str(error.value)


def test_a_level_with_no_row_is_a_zero() -> None:
    # White 456 - British 401 - Other White 42 - Irish 10 - (no Roma row: 0) = Gypsy 3.
    tree = hierarchy([
        ("ethnicity", "detailed", d, "ethnicity", "grouped", "White")
        for d in ("British", "Irish", "Gypsy", "Roma", "Other White")
    ] + [
        ("ethnicity", "detailed", d, "ethnicity", "grouped", "Asian")
        for d in ("Indian", "Pakistani")
    ])  # fmt: skip
    table = profile([
        ("England", "ethnicity", "grouped", "White", 456),
        ("England", "ethnicity", "grouped", "Asian", 50),
        ("England", "ethnicity", "detailed", "British", 401),
        ("England", "ethnicity", "detailed", "Irish", 10),
        ("England", "ethnicity", "detailed", "Other White", 42),
        ("England", "ethnicity", "detailed", "Gypsy", S),
        ("England", "ethnicity", "detailed", "Indian", S),
        ("England", "ethnicity", "detailed", "Pakistani", S),
    ])  # fmt: skip
    result = attack({"response_profile": table, "group_hierarchy": tree}, threshold=10,
                    exact=True)  # fmt: skip
    gypsy = only(result, group="Gypsy")
    assert (gypsy["lower"], gypsy["upper"], gypsy["protected"]) == (3, 3, False)
    assert ROUTE_ZERO in gypsy["route"] and "hierarchy" in gypsy["route"]
    # Indian and Pakistani share 50 between them: each anywhere in 0-50 (exact bounds),
    # protected.
    assert only(result, group="Pakistani")["protected"]
    assert only(result, group="Indian")["width"] == 50


def test_a_group_that_is_pinned_to_nobody_reveals_no_one() -> None:
    # Nobody in the sector answered: its comparison row is hidden (no estimate) and the trend
    # table, which counts the same people, has no row for it, so a reader knows it is 0. An
    # empty group reveals no one, like a published zero: protected, unless the true values
    # say someone is there (then the absent row misleads and the auditor says so).
    rows = [("England", "all", "all", "All respondents", 100, 20),
            ("England", "sector", "detailed", "Hospital", 100, 20)]  # fmt: skip
    tables = {
        "comparisons": comparisons([*rows, ("England", "sector", "detailed", "Community", S, S)]),
        "trend_gaps": comparisons(rows),
    }
    result = attack(tables, threshold=10)
    community = only(result, group="Community", measure="n")
    assert (community["upper"], community["protected"]) == (0, True)

    truth = {"comparisons": comparisons(
        [*rows, ("England", "sector", "detailed", "Community", 3, 1)]
    ).assign(suppressed=False)}  # fmt: skip
    misled = only(attack(tables, threshold=10, truth=truth), group="Community", measure="n")
    assert (misled["value"], misled["upper"], misled["protected"]) == (3, 0, False)
    assert misled["route"]


def test_total_minus_what_is_listed() -> None:
    table = comparisons([
        ("England", "all", "all", "All respondents", 100, 20),
        ("England", "disability", "binary", "Not disabled", 96, 19),
        ("England", "disability", "binary", "Disabled", S, S),
    ])  # fmt: skip
    result = attack({"comparisons": table}, threshold=10)
    disabled = only(result, group="Disabled", measure="n")
    assert (disabled["lower"], disabled["upper"], disabled["protected"]) == (0, 4, False)
    assert disabled["route"] == ROUTE_PARTITION
    events = only(result, group="Disabled", measure="events")
    assert (events["lower"], events["upper"], events["protected"]) == (0, 1, True)


def test_linked_tables_that_count_the_same_people() -> None:
    # Who responded hides Ethnic minority (84) with Not stated (8); the item prints the same
    # group's n (84 of 84 answered), so Not stated is at most 8.
    who = profile([
        ("England", "ethnicity", "binary", "White", 700),
        ("England", "ethnicity", "binary", "Ethnic minority", S),
        ("England", "ethnicity", "binary", "Not stated", S),
        ("England", "disability", "binary", "Disabled", 100),
        ("England", "disability", "binary", "Not disabled", 692),
    ])  # fmt: skip
    item = comparisons([
        ("England", "all", "all", "All respondents", 784, 100),
        ("England", "ethnicity", "binary", "White", 700, 90),
        ("England", "ethnicity", "binary", "Ethnic minority", 84, 10),
    ])  # fmt: skip
    result = attack({"response_profile": who, "comparisons": item}, threshold=10)
    not_stated = only(result, group="Not stated")
    assert (not_stated["lower"], not_stated["upper"], not_stated["protected"]) == (0, 8, False)
    assert ROUTE_LINKED in not_stated["route"]
    # Without the item table the same profile is protected (0 to 92).
    alone = attack({"response_profile": who}, threshold=10)
    assert only(alone, group="Not stated")["protected"]


def test_the_same_cell_published_in_another_table() -> None:
    table = comparisons(ethnic("England", 300, 250, S, S))
    gaps = table.drop(columns="suppressed").assign(suppressed=False)
    gaps.loc[gaps["group"] == "Arab", ["n", "events"]] = (4, 1)
    gaps.loc[gaps["group"] == "Other", ["n", "events"]] = (46, 9)
    result = attack({"comparisons": table, "trend_gaps": gaps}, threshold=10)
    arab = only(result, table="comparisons", group="Arab", measure="n")
    assert (arab["lower"], arab["upper"]) == (4, 4)
    assert arab["route"] == f"{ROUTE_ELSEWHERE} ('trend_gaps')"
    small = only(result, table="trend_gaps", group="Arab", measure="n")
    assert small["route"] == ROUTE_PUBLISHED and not small["protected"]


def test_a_protected_release_passes() -> None:
    table = comparisons(
        ethnic("LON", 200, 180, S, S)
        + ethnic("MID", 200, 170, S, S)
        + ethnic("England", 400, 350, S, S)
    )
    result = assert_protected({"comparisons": table}, threshold=10)
    assert result["protected"].all() and len(result) == 12  # n and events of six cells
    london = only(result, region="LON", group="Arab", measure="n")
    assert london["upper"] - london["lower"] >= 10  # the span seen: within the true range
    exact = only(attack({"comparisons": table}, threshold=10, exact=True), region="LON",
                 group="Arab", measure="n")  # fmt: skip
    assert (exact["lower"], exact["upper"]) == (0, 20)  # London's 20 hidden people, all Arab


def test_the_same_release_fails_a_higher_threshold() -> None:
    table = comparisons(ethnic("LON", 200, 180, S, S) + ethnic("England", 200, 180, S, S))
    assert attack({"comparisons": table}, threshold=10)["protected"].all()
    # 20 people share the two hidden cells: not wide enough for a threshold of 25.
    assert not attack({"comparisons": table}, threshold=25)["protected"].all()


def test_exact_bounds_agree_with_the_shortcut_on_failures() -> None:
    table = comparisons(
        ethnic("LON", 100, 90, S, S)
        + ethnic("MID", 200, 120, 64, 16)
        + ethnic("England", 300, 210, 67, 23)
    )
    fast = attack({"comparisons": table}, threshold=10)
    exact = attack({"comparisons": table}, threshold=10, exact=True)
    pd.testing.assert_series_equal(fast["protected"], exact["protected"])
    failed = ~exact["protected"]
    pd.testing.assert_frame_equal(fast[failed], exact[failed])


def test_a_group_that_can_only_be_empty_reveals_no_one() -> None:
    # 90 White + 10 Other = 100: the hidden Arab group can only be 0, like a published zero.
    empty = comparisons([
        ("England", "all", "all", "All respondents", 100, 20),
        ("England", "ethnicity", "grouped", "White", 90, 18),
        ("England", "ethnicity", "grouped", "Arab", S, S),
        ("England", "ethnicity", "grouped", "Other", 10, 2),
    ])  # fmt: skip
    arab = attack({"comparisons": empty}, threshold=10)
    assert (arab["upper"] == 0).all() and arab["protected"].all()
    # Arab and Other share 10 people, so their size is protected, but the 20 events are all
    # White's: "none of them" is pinned for a group that may not be empty.
    shared = comparisons([
        ("England", "all", "all", "All respondents", 100, 20),
        ("England", "ethnicity", "grouped", "White", 90, 20),
        ("England", "ethnicity", "grouped", "Arab", S, S),
        ("England", "ethnicity", "grouped", "Other", S, S),
    ])  # fmt: skip
    result = attack({"comparisons": shared}, threshold=10)
    assert only(result, group="Arab", measure="n")["protected"]
    events = only(result, group="Arab", measure="events")
    assert (events["lower"], events["upper"], events["protected"]) == (0, 0, False)


def test_a_models_complete_cases_bound_the_items_answers() -> None:
    # The item hides Ethnic minority (6 answered) beside a hidden "Not stated" remainder: 0 to
    # 10 on its own. The adjusted model prints the group's complete cases, 6, so the item's n
    # is at least 6: 6 to 10.
    item = comparisons([
        ("England", "all", "all", "All respondents", 100, 30),
        ("England", "ethnicity", "binary", "White", 90, 27),
        ("England", "ethnicity", "binary", "Ethnic minority", S, S),
    ])  # fmt: skip
    alone = attack({"comparisons": item}, threshold=10)
    assert only(alone, group="Ethnic minority", measure="n")["protected"]
    models = item[item["group"] == "Ethnic minority"][["survey", "cycle", "region", "indicator",
                                                       "dimension", "level", "group"]]  # fmt: skip
    models = models.assign(model="adjusted", n=6, odds_ratio=1.4, suppressed=False)
    result = attack({"comparisons": item, "models": models}, threshold=10)
    hidden = only(result, table="comparisons", group="Ethnic minority", measure="n")
    assert (hidden["lower"], hidden["upper"], hidden["protected"]) == (6, 10, False)
    assert ROUTE_LINKED in hidden["route"]
