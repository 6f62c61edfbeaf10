"""Unit tests for toolkit.disclosure.suppression: one small hand-made table per rule, exact expected output.

The expected suppression patterns are derived by hand in each test's comments from the
additive relations (partition total = sum of its groups; parent = sum of its children).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from toolkit.disclosure.audit import HIERARCHY_TABLE, attack
from toolkit.disclosure.suppression import (
    REASON_REFERENCE,
    REASON_SECONDARY,
    REASON_ZERO,
    TOTAL_GROUP,
    Link,
    SuppressionPolicy,
    TableLayout,
    assert_no_disclosure,
    audit_disclosure,
    audit_text,
    linked_reason,
    primary_reason,
    suppress_linked,
    suppress_small_cells,
)
from toolkit.errors import DisclosureError, PtwError

POLICY = SuppressionPolicy()
PRIMARY = primary_reason(10)
POPULATION = {"survey": "culture", "cycle": 2024, "region": "England", "indicator": "harassment"}


def estimates(cells: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """An estimates table: (dimension, level, group, n) with events = n // 5."""
    frame = pd.DataFrame(cells, columns=["dimension", "level", "group", "n"])
    frame["events"] = frame["n"] // 5
    frame["weighted_n"] = frame["n"] * 1.1
    frame["estimate"] = frame["events"] / frame["n"].where(frame["n"] > 0)
    frame["ci_low"] = frame["estimate"] - 0.05
    frame["ci_high"] = frame["estimate"] + 0.05
    return frame.assign(**POPULATION)


def status(frame: pd.DataFrame) -> dict[str, str | None]:
    """group -> suppression reason (None when published)."""
    return dict(zip(frame["group"], frame["suppression_reason"], strict=True))


ETHNICITY_WITH_TOTAL = [
    ("ethnicity", "binary", "White", 50),
    ("ethnicity", "binary", "Ethnic minority", 30),
    ("ethnicity", "binary", "Prefer not to say", 6),
    ("All", "All", TOTAL_GROUP, 86),
]

# A three-level hierarchy: detailed d1..d6 -> grouped g1..g3 -> binary b1, b2.
HIERARCHY = pd.DataFrame(
    [
        ("ethnicity", "detailed", "d1", "grouped", "g1"),
        ("ethnicity", "detailed", "d2", "grouped", "g1"),
        ("ethnicity", "detailed", "d3", "grouped", "g2"),
        ("ethnicity", "detailed", "d4", "grouped", "g2"),
        ("ethnicity", "detailed", "d5", "grouped", "g3"),
        ("ethnicity", "detailed", "d6", "grouped", "g3"),
        ("ethnicity", "grouped", "g1", "binary", "b1"),
        ("ethnicity", "grouped", "g2", "binary", "b2"),
        ("ethnicity", "grouped", "g3", "binary", "b2"),
    ],
    columns=["dimension", "level", "group", "parent_level", "parent_group"],
)


def three_levels(detailed: list[int]) -> list[tuple[str, str, str, int]]:
    """Cells of all three levels (and the total) from the six detailed counts."""
    g = [detailed[0] + detailed[1], detailed[2] + detailed[3], detailed[4] + detailed[5]]
    b = [g[0], g[1] + g[2]]
    cells = [("ethnicity", "detailed", f"d{i + 1}", n) for i, n in enumerate(detailed)]
    cells += [("ethnicity", "grouped", f"g{i + 1}", n) for i, n in enumerate(g)]
    cells += [("ethnicity", "binary", f"b{i + 1}", n) for i, n in enumerate(b)]
    return [*cells, ("All", "All", TOTAL_GROUP, sum(detailed))]


# --- policy ------------------------------------------------------------------------------------


def test_policy_defaults_and_validation():
    assert (POLICY.threshold, POLICY.rounding, POLICY.secondary) == (10, "none", True)
    assert SuppressionPolicy(threshold=5).threshold == 5
    with pytest.raises(DisclosureError) as err:
        SuppressionPolicy(threshold=4)
    assert err.value.code == "disclosure.threshold_too_low"
    assert isinstance(err.value, PtwError)
    with pytest.raises(DisclosureError, match="unknown count rounding"):
        SuppressionPolicy(rounding="round_to_3")  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        POLICY.threshold = 3  # type: ignore[misc]


# --- primary ----------------------------------------------------------------------------------


def test_primary_blanks_every_number_and_keeps_identifiers():
    table = estimates([("ethnicity", "binary", "White", 40), ("ethnicity", "binary", "Asian", 9)])
    out = suppress_small_cells(table, policy=POLICY)
    asian = out.iloc[1]
    assert asian["suppressed"] and asian["suppression_reason"] == PRIMARY
    for col in ["n", "events", "weighted_n", "estimate", "ci_low", "ci_high"]:
        assert pd.isna(asian[col]), col
    assert asian[
        ["survey", "cycle", "region", "indicator", "dimension", "level", "group"]
    ].tolist() == ["culture", 2024, "England", "harassment", "ethnicity", "binary", "Asian"]
    # No total and a single partition: the suppressed cell cannot be derived, nothing more goes.
    assert status(out) == {"White": None, "Asian": PRIMARY}
    assert out["n"].dtype == "Int64" and out["events"].tolist()[0] == 8


def test_zero_base_is_suppressed_with_its_own_reason_and_protects_nothing():
    # Mixed has no respondents: suppressed (no estimate) but its 0 is public, so it cannot
    # hide the 6 in "Prefer not to say": the next smallest real group (30) must go.
    out = suppress_small_cells(
        estimates([*ETHNICITY_WITH_TOTAL, ("ethnicity", "binary", "Mixed", 0)]), policy=POLICY
    )
    assert status(out) == {
        "White": None,
        "Ethnic minority": REASON_SECONDARY,
        "Prefer not to say": PRIMARY,
        TOTAL_GROUP: None,
        "Mixed": REASON_ZERO,
    }
    assert "0 reveals no one" in REASON_ZERO


def test_a_table_of_counts_prints_its_zeros_and_still_protects_the_small_group():
    """A count table with ``zeros_shown`` (who responded) prints Mixed's 0 as 0, not as a
    suppressed row; the 0 is as public as before, so the protection is the same: the 6 in
    "Prefer not to say" is hidden with the next smallest real group."""
    counts = estimates([*ETHNICITY_WITH_TOTAL, ("ethnicity", "binary", "Mixed", 0)])[
        ["survey", "cycle", "region", "dimension", "level", "group", "n"]
    ]
    layout = TableLayout(partition_cols=("survey", "cycle", "region", "dimension", "level"),
                         zeros_shown=True)  # fmt: skip
    out = suppress_linked({"profile": counts}, policy=POLICY, layouts={"profile": layout})
    out = out["profile"]
    assert status(out) == {"White": None, "Ethnic minority": REASON_SECONDARY,
                           "Prefer not to say": PRIMARY, TOTAL_GROUP: None, "Mixed": None}  # fmt: skip
    assert out.loc[out["group"] == "Mixed", "n"].tolist() == [0]
    assert_no_disclosure({"profile": out}, policy=POLICY, layouts={"profile": layout})


# --- secondary within a table --------------------------------------------------------------------


def test_single_suppressed_cell_with_total_gets_next_smallest_partner():
    # 86 - 50 - 30 = 6 would reveal "Prefer not to say"; the next smallest group (30) goes too.
    out = suppress_small_cells(estimates(ETHNICITY_WITH_TOTAL), policy=POLICY)
    assert status(out) == {
        "White": None,
        "Ethnic minority": REASON_SECONDARY,
        "Prefer not to say": PRIMARY,
        TOTAL_GROUP: None,
    }
    assert out.loc[out["group"] == "Ethnic minority", ["n", "estimate"]].isna().all(axis=None)


def test_tie_break_is_by_cell_key_not_row_order():
    cells = [
        ("sector", "binary", "Hospital", 20),
        ("sector", "binary", "Community", 20),
        ("sector", "binary", "Primary care", 4),
        ("All", "All", TOTAL_GROUP, 44),
    ]
    expected = {"Hospital": None, "Community": REASON_SECONDARY, "Primary care": PRIMARY}
    for order in ([0, 1, 2, 3], [3, 2, 0, 1]):
        out = suppress_small_cells(estimates([cells[i] for i in order]), policy=POLICY)
        assert {k: v for k, v in status(out).items() if k != TOTAL_GROUP} == expected


def test_unpublished_total_derived_from_another_dimension():
    # No total row, but ethnicity (50 + 30) tells the reader the total is 80, so
    # disability's 5 would follow as 80 - 75: "Not disabled" must go too.
    out = suppress_small_cells(
        estimates(
            [
                ("ethnicity", "binary", "White", 50),
                ("ethnicity", "binary", "Ethnic minority", 30),
                ("disability", "binary", "Disabled", 5),
                ("disability", "binary", "Not disabled", 75),
            ]
        ),
        policy=POLICY,
    )
    assert status(out) == {
        "White": None,
        "Ethnic minority": None,
        "Disabled": PRIMARY,
        "Not disabled": REASON_SECONDARY,
    }


def test_populations_are_protected_separately():
    table = pd.concat(
        [estimates(ETHNICITY_WITH_TOTAL), estimates(ETHNICITY_WITH_TOTAL).assign(cycle=2025)]
    )
    out = suppress_small_cells(table, policy=POLICY)
    assert out.groupby("cycle")["suppressed"].sum().tolist() == [2, 2]
    assert out.index.tolist() == table.index.tolist()


# --- hierarchy ----------------------------------------------------------------------------------


def test_hierarchy_child_partner_is_a_sibling_under_the_same_parent():
    # d1 = 3 is primary. The detailed partition alone would accept any partner (d3 = 25 is the
    # smallest), but g1 = d1 + d2 is published, so only d2 (40) hides d1.
    out = suppress_small_cells(
        estimates(three_levels([3, 40, 25, 30, 35, 45])), policy=POLICY, hierarchy=HIERARCHY
    )
    assert {g: r for g, r in status(out).items() if r} == {"d1": PRIMARY, "d2": REASON_SECONDARY}


def test_hierarchy_small_parent_propagates_across_levels():
    # d1 = 3, d2 = 4, so g1 = b1 = 7 are primary at every level. g1 and b1 are then fixed by
    # total - (g2 + g3) and total - b2. Suppressing b2 (135) does not help (b2 = g2 + g3 is
    # published); suppressing the total (142) does: g1 = b1 = d1 + d2 = total - 135, unknown.
    out = suppress_small_cells(
        estimates(three_levels([3, 4, 25, 30, 35, 45])), policy=POLICY, hierarchy=HIERARCHY
    )
    assert {g: r for g, r in status(out).items() if r} == {
        "d1": PRIMARY,
        "d2": PRIMARY,
        "g1": PRIMARY,
        "b1": PRIMARY,
        TOTAL_GROUP: REASON_SECONDARY,
    }
    assert audit_disclosure({"t": out}, policy=POLICY, hierarchy=HIERARCHY).empty


def test_intersection_margins_via_parent_dimension():
    # White x Disabled (4) and EM x Disabled (8) are primary. A margin is at least the sum of
    # its crossings (someone may leave the other question blank), but here both margins add
    # up to the same total (102), so a reader knows no one did: WD <= 64 - 60 and
    # ED <= 38 - 30 with WD + ED = 12 pin both. More cells must go; whichever the suppressor
    # picks, the independent auditor must find every hidden cell protected and the
    # ethnicity margins stay published.
    cells = [
        ("ethnicity × disability", "binary", "White × Disabled", 4),
        ("ethnicity × disability", "binary", "White × Not disabled", 60),
        ("ethnicity × disability", "binary", "EM × Disabled", 8),
        ("ethnicity × disability", "binary", "EM × Not disabled", 30),
        ("ethnicity", "binary", "White", 64),
        ("ethnicity", "binary", "EM", 38),
        ("disability", "binary", "Disabled", 12),
        ("disability", "binary", "Not disabled", 90),
    ]
    margins = pd.DataFrame(
        [
            ("ethnicity × disability", "binary", f"{e} × {d}", p_dim, "binary", parent)
            for e in ("White", "EM")
            for d in ("Disabled", "Not disabled")
            for p_dim, parent in (("ethnicity", e), ("disability", d))
        ],
        columns=["dimension", "level", "group", "parent_dimension", "parent_level", "parent_group"],
    )
    out = suppress_small_cells(estimates(cells), policy=POLICY, hierarchy=margins)
    reasons = {g: r for g, r in status(out).items() if r}
    assert reasons["White × Disabled"] == reasons["EM × Disabled"] == PRIMARY
    assert set(reasons.values()) == {PRIMARY, REASON_SECONDARY}
    assert not {"White", "EM"} & set(reasons)
    assert audit_disclosure({"t": out}, policy=POLICY, hierarchy=margins).empty
    attacked = attack({"response_profile": out, HIERARCHY_TABLE: margins}, threshold=10)
    assert len(attacked) == len(reasons)
    assert attacked["protected"].all()


# --- linked tables and comparisons -----------------------------------------------------------


def comparisons(groups: list[tuple[str, int]], reference: str) -> pd.DataFrame:
    """A comparison table: rl and diff against ``reference`` (no total row)."""
    frame = estimates([("ethnicity", "binary", g, n) for g, n in groups])
    frame["reference_group"] = reference
    frame["is_reference"] = frame["group"] == reference
    frame["rel_likelihood"] = 1.5
    frame["rl_ci_low"] = 1.1
    frame["rl_ci_high"] = 2.0
    frame["diff"] = 0.1
    frame["p_value"] = 0.03
    frame["outside_band"] = True
    return frame


KEYS = ("survey", "cycle", "region", "indicator", "dimension", "level", "group")


def test_linked_tables_share_secondary_suppression():
    # The estimates table has the total, so "Ethnic minority" is secondary there; the comparison
    # table has no total but publishes the same cells, so it must follow.
    tables = {
        "estimates": estimates(ETHNICITY_WITH_TOTAL),
        "comparisons": comparisons([("White", 50), ("Ethnic minority", 30)], "White"),
    }
    out = suppress_linked(tables, policy=POLICY, links=[Link(tuple(tables), KEYS)])
    assert status(out["comparisons"]) == {
        "White": None,
        "Ethnic minority": linked_reason("estimates"),
    }
    row = out["comparisons"].iloc[1]
    assert pd.isna(row["rel_likelihood"]) and pd.isna(row["outside_band"])
    links = [Link(tuple(tables), KEYS)]
    assert audit_disclosure(out, policy=POLICY, links=links).empty
    # Without the link the comparison table alone looks safe but republishes the 30.
    alone = suppress_linked(tables, policy=POLICY)
    assert not audit_disclosure(alone, policy=POLICY, links=links).empty


def test_comparison_against_suppressed_reference_is_withheld():
    table = comparisons([("White", 8), ("Ethnic minority", 70), ("Prefer not to say", 12)], "White")
    table = pd.concat([table, estimates([("All", "All", TOTAL_GROUP, 90)])], ignore_index=True)
    out = suppress_small_cells(table, policy=POLICY)
    assert status(out) == {
        "White": PRIMARY,
        "Ethnic minority": REASON_REFERENCE,
        "Prefer not to say": REASON_SECONDARY,
        TOTAL_GROUP: None,
    }
    minority = out.iloc[1]
    assert not minority["suppressed"]
    assert minority["n"] == 70 and minority["estimate"] == pytest.approx(14 / 70)
    for col in ["rel_likelihood", "rl_ci_low", "rl_ci_high", "diff", "p_value", "outside_band"]:
        assert pd.isna(minority[col]), col


# --- rounding ------------------------------------------------------------------------------------


def headcounts() -> pd.DataFrame:
    """A workforce counts table (no survey or indicator columns)."""
    return pd.DataFrame(
        {
            "region": "London",
            "dimension": "sector",
            "level": "binary",
            "group": ["A", "B", "C", "D", "E"],
            "headcount": [12, 13, 22, 40, 0],
            "leavers": [0, 3, 7, 8, 0],
        }
    )


@pytest.mark.parametrize(
    ("rounding", "headcount", "leavers", "limit"),
    [
        ("nhs_digital", [10, 15, 20, 40, None], [0, None, None, 10, None], 8),
        ("ons_10_5", [10, 15, 20, 40, None], [0, None, None, None, None], 10),
        ("none", [12, 13, 22, 40, None], [0, 3, 7, 8, None], None),
    ],
)
def test_rounding_policies(rounding, headcount, leavers, limit):
    policy = SuppressionPolicy(rounding=rounding)
    out = suppress_small_cells(
        headcounts(), policy=policy, base_col="headcount", count_cols=("headcount", "leavers")
    )
    assert (
        out["headcount"].astype(object).where(out["headcount"].notna(), None).tolist() == headcount
    )
    assert out["leavers"].astype(object).where(out["leavers"].notna(), None).tolist() == leavers
    assert out["suppression_reason"].iloc[4] == REASON_ZERO
    if limit:
        assert out["suppression_reason"].iloc[1].startswith(f"rounded: counts 1-{limit - 1}")
    layout = {"t": TableLayout(base_col="headcount", count_cols=("headcount", "leavers"))}
    assert audit_disclosure({"t": out}, policy=policy, layouts=layout).empty


# --- audit ------------------------------------------------------------------------------------


def published(frame: pd.DataFrame, hidden: tuple[str, ...] = ()) -> pd.DataFrame:
    """Mark ``hidden`` groups suppressed and blank their numbers (a hand-built output)."""
    flag = frame["group"].isin(hidden)
    out = frame.assign(suppressed=flag, suppression_reason=np.where(flag, PRIMARY, None))
    out.loc[flag, ["n", "events", "weighted_n", "estimate", "ci_low", "ci_high"]] = np.nan
    return out


def problems(audit: pd.DataFrame) -> list[tuple[int, str, str]]:
    return list(zip(audit["row"], audit["column"], audit["problem"], strict=True))


def test_secondary_off_leaks_and_the_audit_catches_it():
    leaky = suppress_small_cells(
        estimates(ETHNICITY_WITH_TOTAL), policy=SuppressionPolicy(secondary=False)
    )
    audit = audit_disclosure({"estimates": leaky}, policy=POLICY)
    assert problems(audit) == [
        (2, "n", "suppressed base recoverable by differencing the published cells")
    ]
    assert audit["value"].tolist() == [6.0]  # 86 - 50 - 30
    with pytest.raises(DisclosureError) as err:
        assert_no_disclosure({"estimates": leaky}, policy=POLICY)
    assert err.value.code == "disclosure.leak" and err.value.row == 3


def test_audit_finds_small_published_base_and_numbers_in_suppressed_rows():
    frame = published(estimates([("sector", "binary", "A", 5), ("sector", "binary", "B", 30)]))
    frame.loc[1, "suppressed"] = True  # flagged but numbers left in
    audit = audit_disclosure({"t": frame}, policy=POLICY)
    assert problems(audit) == [(0, "n", "base under 10 shown")] + [
        (1, col, "number left in a suppressed row")
        for col in ["n", "events", "weighted_n", "estimate", "ci_low", "ci_high"]
    ]


def test_audit_derives_a_hidden_base_in_a_published_row():
    # n is not shown for "Prefer not to say" but 86 - 50 - 30 = 6 < 10.
    frame = published(estimates(ETHNICITY_WITH_TOTAL))
    frame.loc[2, "n"] = np.nan
    audit = audit_disclosure({"t": frame}, policy=POLICY)
    assert problems(audit) == [
        (2, "n", "base not shown but derivable as total minus others, under 10")
    ]
    assert audit["value"].tolist() == [6.0]


def test_audit_reference_rounding_links_and_missing_columns():
    comp = published(comparisons([("White", 8), ("EM", 70), ("Other", 12)], "White"), ("White",))
    comp_findings = problems(audit_disclosure({"c": comp}, policy=POLICY))
    assert (1, "rel_likelihood", REASON_REFERENCE + " but shown") in comp_findings

    counts = headcounts().assign(suppressed=False, suppression_reason=None).iloc[:4]
    layout = {"t": TableLayout(base_col="headcount", count_cols=("leavers",))}
    rounded = audit_disclosure(
        {"t": counts}, policy=SuppressionPolicy(rounding="ons_10_5"), layouts=layout
    )
    assert problems(rounded) == [(r, "leavers", "count not rounded (ons_10_5)") for r in (1, 2, 3)]

    hidden = published(estimates(ETHNICITY_WITH_TOTAL), ("Prefer not to say", "White"))
    shown = published(estimates(ETHNICITY_WITH_TOTAL[:2]))
    tables = {"a": hidden, "b": shown}
    linked = audit_disclosure(tables, policy=POLICY, links=[Link(("a", "b"), KEYS)])
    assert problems_with_table(linked) == [
        ("b", 0, "n", "published here but suppressed in linked table 'a'")
    ]

    raw = audit_disclosure({"raw": estimates(ETHNICITY_WITH_TOTAL)}, policy=POLICY)
    assert ("raw", -1, "not passed through suppression") in [
        (t, r, p) for t, r, _, p in problems_with_table(raw)
    ]


def problems_with_table(audit: pd.DataFrame) -> list[tuple[str, int, str, str]]:
    return list(zip(audit["table"], audit["row"], audit["column"], audit["problem"], strict=True))


def test_suppression_is_idempotent_and_audit_clean():
    out = suppress_small_cells(
        estimates(three_levels([3, 9, 25, 0, 35, 6])), policy=POLICY, hierarchy=HIERARCHY
    )
    again = suppress_small_cells(out, policy=POLICY, hierarchy=HIERARCHY)
    pd.testing.assert_frame_equal(out, again)
    assert audit_disclosure({"t": out}, policy=POLICY, hierarchy=HIERARCHY).empty


def test_audit_text_matches_whole_tokens():
    text = "<td>Roma</td><td>17</td><td>7.5%</td><td>n = 7</td>"
    assert audit_text(text, forbidden=["Roma", "7", "Gypsy", "17", "5"]) == ["Roma", "7", "17"]
