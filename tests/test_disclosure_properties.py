"""Property tests (hypothesis) for toolkit.disclosure.suppression over random tables.

Each example is one or two populations (cycles) of an indicator with a three-level ethnicity
hierarchy (six detailed groups -> three grouped -> two binary), counts 0-60 with many small
ones, and at random: a published total row, a published grouped level, a disability dimension
that splits the same respondents. The oracle below is written independently of the library:
it rebuilds the additive equations from how the example was generated and asks, by matrix
rank, whether the published numbers pin a suppressed count to one value
(cell i is pinned iff adding the unit row e_i to the unknowns' equations leaves the rank unchanged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.disclosure.suppression import (
    TOTAL_GROUP,
    Link,
    SuppressionPolicy,
    TableLayout,
    audit_disclosure,
    suppress_linked,
    suppress_small_cells,
)

# Deterministic for CI; about 20 s of CPU for the file on these machines.
FAST = settings(max_examples=200, derandomize=True, deadline=None)
LIGHT = settings(max_examples=100, derandomize=True, deadline=None)

DETAILED_PARENT = {"d1": "g1", "d2": "g1", "d3": "g2", "d4": "g2", "d5": "g3", "d6": "g3"}
GROUPED_PARENT = {"g1": "b1", "g2": "b2", "g3": "b2"}
DISABILITY = ("Disabled", "Not disabled", "Prefer not to say")
HIERARCHY = pd.DataFrame(
    [("ethnicity", "detailed", d, "grouped", g) for d, g in DETAILED_PARENT.items()]
    + [("ethnicity", "grouped", g, "binary", b) for g, b in GROUPED_PARENT.items()],
    columns=["dimension", "level", "group", "parent_level", "parent_group"],
)
VALUES = ["n", "events", "estimate", "ci_low", "ci_high"]
KEY = ["cycle", "dimension", "level", "group"]


def cell(cycle: int, dimension: str, level: str, group: str, n: int) -> dict[str, object]:
    events = n // 3
    estimate = events / n if n else np.nan
    return {
        "survey": "culture",
        "cycle": cycle,
        "region": "England",
        "indicator": "discrimination",
        "dimension": dimension,
        "level": level,
        "group": group,
        "n": n,
        "events": events,
        "estimate": estimate,
        "ci_low": estimate - 0.1,
        "ci_high": estimate + 0.1,
    }


@st.composite
def populations(draw: st.DrawFn, cycle: int) -> list[dict[str, object]]:
    """One population's rows (see the module docstring)."""
    count = st.one_of(st.integers(0, 12), st.integers(0, 60))
    detailed = dict(
        zip(DETAILED_PARENT, draw(st.lists(count, min_size=6, max_size=6)), strict=True)
    )
    grouped = {
        g: sum(n for d, n in detailed.items() if DETAILED_PARENT[d] == g) for g in GROUPED_PARENT
    }
    binary = {b: sum(n for g, n in grouped.items() if GROUPED_PARENT[g] == b) for b in ("b1", "b2")}
    total = sum(detailed.values())
    rows = [cell(cycle, "ethnicity", "detailed", g, n) for g, n in detailed.items()]
    rows += [cell(cycle, "ethnicity", "binary", g, n) for g, n in binary.items()]
    if draw(st.booleans()):
        rows += [cell(cycle, "ethnicity", "grouped", g, n) for g, n in grouped.items()]
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(0, total), min_size=2, max_size=2)))
        parts = [cuts[0], cuts[1] - cuts[0], total - cuts[1]]
        rows += [
            cell(cycle, "disability", "binary", g, n)
            for g, n in zip(DISABILITY, parts, strict=True)
        ]
    if draw(st.booleans()):
        rows.append(cell(cycle, "All", "All", TOTAL_GROUP, total))
    return rows


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    cycles = draw(st.integers(1, 2))
    rows = [row for c in range(cycles) for row in draw(populations(2024 + c))]
    return pd.DataFrame(rows)


policies = st.builds(SuppressionPolicy, threshold=st.sampled_from([5, 10, 11]))


# --- the independent oracle ------------------------------------------------------------------


def equations(cycle: int) -> list[tuple[tuple[str, str, str], list[tuple[str, str, str]]]]:
    """parent = sum(children) for one population, as generated (keys: dimension, level, group)."""
    total = ("All", "All", TOTAL_GROUP)
    detailed = [("ethnicity", "detailed", d) for d in DETAILED_PARENT]
    grouped = [("ethnicity", "grouped", g) for g in GROUPED_PARENT]
    eqs = [
        (total, detailed),
        (total, grouped),
        (total, [("ethnicity", "binary", b) for b in ("b1", "b2")]),
        (total, [("disability", "binary", g) for g in DISABILITY]),
    ]
    eqs += [(g, [d for d in detailed if DETAILED_PARENT[d[2]] == g[2]]) for g in grouped]
    eqs += [
        (("ethnicity", "binary", b), [g for g in grouped if GROUPED_PARENT[g[2]] == b])
        for b in ("b1", "b2")
    ]
    return eqs


def pinned(out: pd.DataFrame) -> set[tuple[object, ...]]:
    """Keys of suppressed, non-zero cells that the published cells determine exactly."""
    found: set[tuple[object, ...]] = set()
    for cycle, part in out.groupby("cycle"):
        shown = {
            tuple(k): r
            for k, r in zip(part[KEY[1:]].to_numpy(), part.to_dict("records"), strict=True)
        }
        eqs = equations(cycle)
        cells = sorted({k for p, c in eqs for k in (p, *c)})
        known = {
            k
            for k in cells
            if k in shown
            and not shown[k]["suppressed"]
        }
        unknown = [k for k in cells if k not in known]
        if not unknown:
            continue
        col = {k: i for i, k in enumerate(unknown)}
        a = np.zeros((len(eqs), len(unknown)))
        for r, (p, children) in enumerate(eqs):
            for k, sign in [(p, 1.0)] + [(c, -1.0) for c in children]:
                if k in col:
                    a[r, col[k]] += sign
        rank = np.linalg.matrix_rank(a)
        for k in unknown:
            if k in shown and shown[k]["suppressed"]:
                unit = np.zeros((1, len(unknown)))
                unit[0, col[k]] = 1.0
                if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
                    found.add((cycle, *k))
    return found


def relations_with_one_hidden(out: pd.DataFrame) -> list[tuple[object, ...]]:
    """Published relations (parent and children all shown as rows) with one suppressed count."""
    bad = []
    for cycle, part in out.groupby("cycle"):
        hidden = {
            tuple(k): s for k, s in zip(part[KEY[1:]].to_numpy(), part["suppressed"], strict=True)
        }
        for parent, children in equations(cycle):
            members = [parent, *children]
            if all(m in hidden for m in members) and sum(hidden[m] for m in members) == 1:
                bad.append((cycle, parent))
    return bad


def statuses(out: pd.DataFrame) -> dict[tuple[object, ...], bool]:
    return {tuple(k): bool(s) for k, s in zip(out[KEY].to_numpy(), out["suppressed"], strict=True)}


# --- properties -----------------------------------------------------------------------------


@FAST
@given(table=tables(), policy=policies)
def test_nothing_small_is_published_or_recoverable(table, policy):
    out = suppress_small_cells(table, policy=policy, hierarchy=HIERARCHY)
    small = (table["n"] > 0) & (table["n"] < policy.threshold)
    assert out.loc[small, "suppressed"].all()
    assert out.loc[out["suppressed"], VALUES].isna().all(axis=None)
    assert relations_with_one_hidden(out) == []
    assert pinned(out) == set()
    assert audit_disclosure({"t": out}, policy=policy, hierarchy=HIERARCHY).empty
    if not (small & (table["n"] > 0)).any():
        assert out.loc[table["n"] > 0, "suppressed"].sum() == 0


@FAST
@given(table=tables(), policy=policies)
def test_without_secondary_the_audit_finds_exactly_the_leaks(table, policy):
    off = SuppressionPolicy(threshold=policy.threshold, secondary=False)
    out = suppress_small_cells(table, policy=off, hierarchy=HIERARCHY)
    audit = audit_disclosure({"t": out}, policy=off, hierarchy=HIERARCHY)
    flagged = {tuple(out.iloc[r][KEY]) for r in audit["row"]}
    assert flagged == pinned(out)
    # Each finding is a blanked count, and the value the audit derives is the true one.
    assert out.loc[audit["row"], "n"].isna().all()
    assert np.allclose(audit["value"], table.loc[audit["row"], "n"])


@LIGHT
@given(table=tables(), policy=policies, seed=st.integers(0, 2**16))
def test_row_order_does_not_matter_and_suppression_is_idempotent(table, policy, seed):
    out = suppress_small_cells(table, policy=policy, hierarchy=HIERARCHY)
    shuffled = table.sample(frac=1.0, random_state=seed)
    assert statuses(suppress_small_cells(shuffled, policy=policy, hierarchy=HIERARCHY)) == statuses(
        out
    )
    again = suppress_small_cells(out, policy=policy, hierarchy=HIERARCHY)
    pd.testing.assert_frame_equal(again, out)


@LIGHT
@given(table=tables(), policy=policies, keep=st.lists(st.booleans(), min_size=40, max_size=40))
def test_linked_tables_agree_and_pass_the_audit(table, policy, keep):
    # A comparison table republishing a random subset of the same cells, without the total.
    subset = table[[k and g != TOTAL_GROUP for k, g in zip(keep, table["group"], strict=False)]]
    links = [Link(("estimates", "comparisons"), tuple(KEY))]
    layouts = {"comparisons": TableLayout(complete=False)}
    out = suppress_linked(
        {"estimates": table, "comparisons": subset},
        policy=policy,
        layouts=layouts,
        links=links,
        hierarchy=HIERARCHY,
    )
    both = statuses(out["estimates"])
    assert all(both[k] == s for k, s in statuses(out["comparisons"]).items())
    assert pinned(out["estimates"]) == set()
    audit = audit_disclosure(out, policy=policy, layouts=layouts, links=links, hierarchy=HIERARCHY)
    assert audit.empty
