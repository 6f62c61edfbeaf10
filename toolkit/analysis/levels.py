"""Every level of a partition is a row: absent groups become published zero rows.

A reader who sees a table list some groups of a dimension level and not others reads the
missing ones as zero (no one in them). That reading is right, but it is information the
disclosure control must see as published, and a row that is absent in one region and present
in another is easy to misread. So before disclosure control the analysis adds, to each count
table, a row with a base of 0 (and zero counts within it) for every group the release knows at
that dimension level (from the group hierarchy, or from any slice of the same table) that a
slice lacks. Disclosure control then treats the row as any other: a zero is published as zero.

Input: a tidy table (one row per slice x group, see
:class:`toolkit.disclosure.suppression.TableLayout`) and the ``group_hierarchy`` table
(``dimension, level, group, parent_dimension, parent_level, parent_group``). Output: the same
table with the zero rows appended (other value columns empty).
"""

from __future__ import annotations

import pandas as pd

from toolkit.disclosure.suppression import TableLayout

TOTAL_DIMENSION = "all"


def level_groups(table: pd.DataFrame, hierarchy: pd.DataFrame | None) -> dict[tuple, set]:
    """(dimension, level) -> every group the hierarchy or the table itself lists there."""
    groups: dict[tuple, set] = {}
    if hierarchy is not None and not hierarchy.empty:
        parent_dim = hierarchy.get("parent_dimension", hierarchy["dimension"])
        for dim, level, group, p_dim, p_level, p_group in zip(
            hierarchy["dimension"], hierarchy["level"], hierarchy["group"],
            parent_dim, hierarchy["parent_level"], hierarchy["parent_group"], strict=True,
        ):  # fmt: skip
            groups.setdefault((dim, level), set()).add(group)
            groups.setdefault((p_dim, p_level), set()).add(p_group)
    for (dim, level), group in table.groupby(["dimension", "level"], dropna=False)["group"]:
        groups.setdefault((dim, level), set()).update(group.dropna())
    return groups


def complete_levels(
    table: pd.DataFrame, *, layout: TableLayout, hierarchy: pd.DataFrame | None
) -> pd.DataFrame:
    """``table`` with a zero row for every known group a slice lacks.

    A slice is one value of the layout's partition columns and key columns (survey, cycle,
    region, indicator, dimension, level ...). New rows copy the slice's identifying columns
    (and its reference group), take ``group``, a base of 0, zero in each ``within_cols`` and
    ``count_cols`` column, ``is_reference`` False, and leave everything else empty. Rows of the
    total dimension (``"all"``) are never completed.
    """
    needed = {layout.group_col, layout.dimension_col, layout.level_col, layout.base_col}
    if table.empty or not needed <= set(table.columns):
        return table
    keys = [c for c in (*layout.partition_cols, *layout.key_cols) if c in table.columns]
    if layout.group_col in keys:
        return table
    known = level_groups(table, hierarchy)
    copied = [c for c in (*keys, layout.reference_col, "item") if c in table.columns]
    zeros = [c for c in (layout.base_col, *layout.within_cols, *layout.count_cols) if c in table]
    added = []
    listed = table[table[layout.dimension_col] != TOTAL_DIMENSION]
    for _, part in listed.groupby(keys, dropna=False, sort=False):
        first = part.iloc[0]
        slice_key = (first[layout.dimension_col], first[layout.level_col])
        for group in sorted(known.get(slice_key, set()) - set(part[layout.group_col]), key=str):
            row = {c: first[c] for c in dict.fromkeys(copied)}
            row |= {layout.group_col: group} | dict.fromkeys(zeros, 0)
            if "is_reference" in table.columns:
                row["is_reference"] = False
            added.append(row)
    if not added:
        return table
    return pd.concat([table, pd.DataFrame(added)], ignore_index=True)[list(table.columns)]
