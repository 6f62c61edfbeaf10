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

import numpy as np
import pandas as pd

from toolkit.instruments.model import Dimension, Instrument

INTERSECTION_SEPARATOR = " × "
NOT_STATED = "Not stated"
"""The group of everyone whose answer to a dimension's question is missing or non-substantive."""


def equality_act_disability(answers: pd.DataFrame) -> pd.Series:
    """Equality Act 2010 disability status from the two GSS questions (module docstring).

    Each question is coded once (:func:`distinct_codes`); the status is chosen on the codes'
    few distinct answers and taken by code, never compared row by row as text.
    """
    q1 = _answer_codes(answers, "long_term_condition")
    q2 = _answer_codes(answers, "condition_reduces_activity")
    disabled = q1.has("Y") & q2.has("LOT", "LITTLE")
    not_disabled = q1.has("N") | (q1.has("Y") & q2.has("NONE"))
    status = np.select([not_disabled, disabled], [1, 0], default=-1)
    labels = pd.array(["Disabled", "Not disabled"], dtype="string")
    return pd.Series(labels.take(status, allow_fill=True), index=answers.index)


@dataclass(frozen=True)
class DistinctCodes:
    """A column coded once: each row's code (-1 missing) into its distinct values as text."""

    codes: np.ndarray
    values: tuple[str, ...]

    def has(self, *answers: str) -> np.ndarray:
        """True for the rows whose value is one of ``answers`` (missing: False)."""
        chosen = np.array([value in answers for value in self.values] + [False], dtype=bool)
        return chosen[self.codes]

    def take(self, labels: pd.api.extensions.ExtensionArray) -> pd.api.extensions.ExtensionArray:
        """Each row's entry of ``labels`` (one per distinct value), missing where the row is."""
        return labels.take(self.codes, allow_fill=True)


def distinct_codes(column: pd.Series) -> DistinctCodes:
    """``column`` factorized once (:func:`pandas.factorize`, order of appearance), its distinct
    values as ``column.astype("string")`` has them: per-row text work done on those few values
    only."""
    codes, uniques = pd.factorize(column)
    values = pd.Series(uniques, dtype=column.dtype).astype("string")
    return DistinctCodes(codes, tuple(values.tolist()))


def _answer_codes(answers: pd.DataFrame, item: str) -> DistinctCodes:
    """:func:`distinct_codes` of ``answers[item]``; every row missing if there is no such item."""
    if item not in answers:
        return DistinctCodes(np.full(len(answers), -1, dtype=np.intp), ())
    return distinct_codes(answers[item])


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
    return level_groups(answers, instrument, dimension, (level,))[level]


def level_groups(answers: pd.DataFrame, instrument: Instrument, dimension: Dimension,
                 levels: Sequence[str]) -> dict[str, pd.Series]:  # fmt: skip
    """:func:`group_labels` at each of ``levels``, the dimension's answers coded once
    (:func:`distinct_codes`) and each level's labels chosen on the distinct answers."""
    if dimension.derived:
        derived = DERIVATIONS[dimension.derived](answers)
        return dict.fromkeys(levels, derived)
    if dimension.item not in answers:
        return {level: pd.Series(pd.NA, index=answers.index, dtype="string") for level in levels}
    coded = distinct_codes(answers[dimension.item])
    labels = {level: _level_labels(instrument, dimension, level, coded.values) for level in levels}
    return {
        level: pd.Series(coded.take(groups), index=answers.index, name=dimension.item)
        for level, groups in labels.items()
    }


def _level_labels(instrument: Instrument, dimension: Dimension, level: str,
                  answers: Sequence[str]) -> pd.api.extensions.ExtensionArray:  # fmt: skip
    """The group at ``level`` of each of the distinct ``answers`` (``<NA>``: non-substantive or
    not a choice)."""
    mapping = {
        choice.code: (choice.label if level == "detailed" else choice.groups.get(level))
        for choice in instrument.choices(dimension.item)
        if not choice.missing
    }
    return pd.array([mapping.get(answer) for answer in answers], dtype="string")


def every_group(column: pd.Series) -> pd.Series:
    """``column``'s groups, missing as "Not stated", categorical over every group: the column's
    categories (else the groups seen, sorted as text), then "Not stated".

    The column is coded once (:func:`distinct_codes`) and the categorical built from codes:
    each distinct group's category found once, not each row's text.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        groups = [str(group) for group in column.dtype.categories]
        codes, values = column.cat.codes.to_numpy(), groups
    else:
        coded = distinct_codes(column)
        groups, codes, values = sorted(coded.values), coded.codes, list(coded.values)
    categories = list(dict.fromkeys([*groups, NOT_STATED]))
    position = np.array([categories.index(value) for value in values]
                        + [categories.index(NOT_STATED)], dtype=np.int64)  # fmt: skip
    return pd.Series(pd.Categorical.from_codes(position[codes], categories=categories),
                     index=column.index, name=column.name)  # fmt: skip


def intersect(parts: list[pd.Series]) -> pd.Series:
    """Intersection groups such as ``"Ethnic minority × Disabled"`` (unknown if any part is).

    Each part is coded once (:func:`distinct_codes`); the labels are joined for the
    combinations that occur, not for every row.
    """
    coded = [distinct_codes(part) for part in parts]
    key = np.zeros(len(parts[0]), dtype=np.int64)
    for part in coded:
        key = np.where((key < 0) | (part.codes < 0), -1, key * len(part.values) + part.codes)
    combinations, keys = pd.factorize(key, use_na_sentinel=False)
    labels = [_joined_label(int(k), coded) for k in keys]
    combined = pd.array(labels, dtype="string").take(combinations)
    names = {part.name for part in parts}
    return pd.Series(combined, index=parts[0].index, name=names.pop() if len(names) == 1 else None)


def _joined_label(key: int, coded: list[DistinctCodes]) -> str | None:
    """The intersection label of combined code ``key`` (:func:`intersect`), ``None`` if -1."""
    if key < 0:
        return None
    values = []
    for part in reversed(coded):
        key, code = divmod(key, len(part.values))
        values.append(part.values[code])
    return INTERSECTION_SEPARATOR.join(reversed(values))


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
