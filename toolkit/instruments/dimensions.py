"""Equality dimensions: from stored answer codes to the groups that are compared.

Each dimension has levels from detailed to coarse (ethnicity: detailed -> grouped ->
binary) and a reference group per level, all declared in ``surveys/demographics.yaml``.
Non-substantive answers ("Prefer not to say", blank) give ``<NA>``: they are excluded
from comparisons and reported as a declaration rate instead.

Derived dimensions:

``equality_act_disability``
    Disabled = a long-term condition (GSS Q1 "Yes") that reduces day-to-day activity
    "a lot" or "a little" (Q2); Not disabled = Q1 "No", or Q1 "Yes" and Q2 "Not at all".
    Anything else (Prefer not to say, blank) is unknown.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from toolkit.instruments.model import Dimension, Instrument

INTERSECTION_SEPARATOR = " × "
NOT_STATED = "Not stated"
"""The group of everyone whose answer to a dimension's question is missing or non-substantive."""


def equality_act_disability(answers: pd.DataFrame) -> pd.Series:
    """Equality Act 2010 disability status from the two GSS questions (module docstring)."""
    q1 = answers.get("long_term_condition", pd.Series(pd.NA, index=answers.index)).astype("string")
    q2 = answers.get("condition_reduces_activity", pd.Series(pd.NA, index=answers.index)).astype(
        "string"
    )
    status = pd.Series(pd.NA, index=answers.index, dtype="string")
    status[(q1 == "Y") & q2.isin(["LOT", "LITTLE"])] = "Disabled"
    status[(q1 == "N") | ((q1 == "Y") & (q2 == "NONE"))] = "Not disabled"
    return status


DERIVATIONS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "equality_act_disability": equality_act_disability,
}


def group_labels(
    answers: pd.DataFrame, instrument: Instrument, dimension: Dimension, level: str
) -> pd.Series:
    """The group of each respondent for ``dimension`` at ``level`` (``<NA>`` if unknown).

    Args:
        answers: stored responses (answer codes per item).
        instrument: the instrument that defines the dimension's item and choices.
        dimension: the dimension.
        level: one of ``dimension.levels``; ``detailed`` is the choice label, other
            levels read the choice's ``groups`` entry.
    """
    if dimension.derived:
        return DERIVATIONS[dimension.derived](answers)
    if dimension.item not in answers:
        return pd.Series(pd.NA, index=answers.index, dtype="string")
    mapping = {
        choice.code: (choice.label if level == "detailed" else choice.groups.get(level))
        for choice in instrument.choices(dimension.item)
        if not choice.missing
    }
    return answers[dimension.item].astype("string").map(mapping).astype("string")


def every_group(column: pd.Series) -> pd.Series:
    """``column``'s groups, missing as "Not stated", categorical over every group: the column's
    categories (else the groups seen), then "Not stated"."""
    dtype = column.dtype
    groups = (list(dtype.categories) if isinstance(dtype, pd.CategoricalDtype)
              else sorted(column.dropna().astype(str).unique()))  # fmt: skip
    values = column.astype("string").fillna(NOT_STATED)
    return pd.Series(pd.Categorical(values, categories=list(dict.fromkeys([*groups, NOT_STATED]))),
                     index=column.index, name=column.name)  # fmt: skip


def intersect(parts: list[pd.Series]) -> pd.Series:
    """Intersection groups such as ``"Ethnic minority × Disabled"`` (unknown if any part is)."""
    combined = parts[0].astype("string")
    for part in parts[1:]:
        combined = combined + INTERSECTION_SEPARATOR + part.astype("string")
    return combined


def _level_hierarchy(
    instrument: Instrument, dimension: Dimension, levels: tuple[str, ...]
) -> list[dict[str, str]]:
    """Rows ``group -> parent group`` between consecutive levels (finest to coarsest), each
    once (several answer choices share a grouped group)."""
    if dimension.item is None:
        return []
    ordered = sorted(levels, key=dimension.levels.index, reverse=True)
    links: dict[tuple[str, str, str, str], None] = {}
    for child_level, parent_level in itertools.pairwise(ordered):
        for choice in instrument.choices(dimension.item):
            if not choice.missing:
                child = choice.label if child_level == "detailed" else choice.groups[child_level]
                links[(child_level, child, parent_level, choice.groups[parent_level])] = None
    return [{"dimension": dimension.name, "level": level, "group": group,
             "parent_dimension": dimension.name, "parent_level": parent_level,
             "parent_group": parent} for level, group, parent_level, parent in links]  # fmt: skip


@dataclass(frozen=True)
class Crossing:
    """An intersection of dimensions, each at one level (e.g. ethnicity x disability, binary)."""

    name: str
    dimensions: tuple[str, ...]
    levels: tuple[str, ...]


def group_hierarchy(
    instrument: Instrument,
    *,
    levels: Mapping[str, Sequence[str]],
    crossings: Sequence[Crossing] = (),
) -> pd.DataFrame:
    """Which published groups add up to which (for secondary suppression).

    Args:
        instrument: the instrument whose choice lists define the groups.
        levels: dimension name -> the levels published for it (e.g. ``ethnicity`` ->
            ``("detailed", "grouped", "binary")``).
        crossings: the intersections published.

    Returns:
        Columns dimension, level, group, parent_dimension, parent_level, parent_group.
        Covers detailed -> grouped -> binary within a dimension, and each intersection cell
        -> its margin in every crossed dimension.
    """
    rows: list[dict[str, str]] = []
    for name, used in levels.items():
        rows += _level_hierarchy(instrument, instrument.dimension(name), tuple(used))
    for crossing in crossings:
        margins = [
            categories(instrument, instrument.dimension(n), lv)
            for n, lv in zip(crossing.dimensions, crossing.levels, strict=True)
        ]
        for combo in itertools.product(*margins):
            for name, level, group in zip(crossing.dimensions, crossing.levels, combo, strict=True):
                rows.append({"dimension": crossing.name, "level": "×".join(crossing.levels),
                             "group": INTERSECTION_SEPARATOR.join(combo), "parent_dimension": name,
                             "parent_level": level, "parent_group": group})  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["dimension", "level", "group", "parent_dimension", "parent_level", "parent_group"],
    )


def categories(instrument: Instrument, dimension: Dimension, level: str) -> list[str]:
    """The substantive groups of ``dimension`` at ``level``, in questionnaire order."""
    if dimension.derived:
        return list(dimension.categories[level])
    labels = [
        c.label if level == "detailed" else c.groups[level]
        for c in instrument.choices(dimension.item)
        if not c.missing
    ]
    return list(dict.fromkeys(labels))
