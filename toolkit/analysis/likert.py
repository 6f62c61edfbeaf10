"""Likert items and NHS Staff Survey style scales for the results bundle.

Three tables, national level, every cycle:

``likert``
    the answer distribution of each Likert item by group (for diverging stacked bars):
    survey, cycle, region, item, dimension, level, group, answer (code), answer_label,
    order, n (respondents in the group who answered the item), count, share.
``scales``
    the mean NHS Staff Survey style score (0-10, favourable end 10) of each scale by group,
    with a CI: survey, cycle, region, scale, dimension, level, group, n, estimate, ci_low,
    ci_high, ci_method, note.
``reliability``
    Cronbach's alpha of each scale per cycle: survey, cycle, scale, n, n_items, alpha,
    ci_low, ci_high, note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.instruments.model import Instrument
from toolkit.stats.likert import cronbach_alpha, distribution_counts, mean_score, scale_scores
from toolkit.stats.models import factor_codes

DIMENSION_GROUPINGS = ("ethnicity", "disability")


def numeric_answers(column: pd.Series) -> np.ndarray:
    """``pd.to_numeric(column, errors="coerce")`` as floats (NaN = missing or not a number),
    converted on the column's distinct values only: factorized once, each distinct answer
    converted once, then taken by code."""
    codes, uniques = pd.factorize(column)
    values = pd.to_numeric(pd.Series(uniques, dtype=column.dtype), errors="coerce")
    return np.append(values.to_numpy(dtype=float, na_value=np.nan), np.nan)[codes]


LIKERT_COLUMNS = (
    "survey", "cycle", "region", "item", "dimension", "level", "group", "answer", "answer_label",
    "order", "n", "count", "share",
)  # fmt: skip


def likert_table(
    instrument: Instrument, frame: pd.DataFrame, groupings: list[tuple[str, str, str]]
) -> pd.DataFrame:
    """Answer distributions of every Likert item by each grouping ``(column, dimension, level)``
    in every cycle (columns :data:`LIKERT_COLUMNS`).

    Each item's answers and each grouping's labels are coded once for the whole survey; per
    cycle, item and grouping the groups are those with an answer (a categorical grouping: all
    its categories) and the counts and shares are
    :func:`toolkit.stats.likert.distribution_counts`. ``n`` is the group's answers within the
    item's levels, ``order`` the answer's rank among them (1 = first code).
    """
    items = [i for i in instrument.items if i.base_type == "likert" and i.name in frame]
    answers = {item.name: numeric_answers(frame[item.name]) for item in items}
    coded = {column: _group_codes(frame[column]) for column, *_ in groupings}
    blocks = []
    for cycle, rows in sorted(frame.groupby("cycle").indices.items()):
        for item in items:
            labels = {float(c.code): c.label for c in instrument.choices(item) if not c.missing}
            for column, dimension, level in groupings:
                keys = {"survey": instrument.name, "cycle": int(cycle), "region": "England",
                        "item": item.name, "dimension": dimension, "level": level}  # fmt: skip
                blocks.append(_distribution_block(answers[item.name][rows], coded[column], rows,
                                                  labels, keys))  # fmt: skip
    if not blocks:
        return pd.DataFrame()
    return pd.DataFrame(
        {column: np.concatenate([block[column] for block in blocks]) for column in LIKERT_COLUMNS}
    )


def _group_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """A grouping column's codes (-1 missing), its labels (sorted values, or its categories)
    as text, and whether every category counts as a group (categorical)."""
    levels, codes = factor_codes(column)
    return codes, np.asarray(levels, dtype=object), isinstance(column.dtype, pd.CategoricalDtype)


def _distribution_block(answers: np.ndarray, coded: tuple[np.ndarray, np.ndarray, bool],
                        rows: np.ndarray, labels: dict[float, str],
                        keys: dict[str, object]) -> dict[str, np.ndarray]:  # fmt: skip
    """One cycle x item x grouping's rows of :data:`LIKERT_COLUMNS` as arrays: one per group
    and answer level (levels in code order)."""
    codes, names, categorical = coded
    codes = codes[rows]
    answered = ~np.isnan(answers) & (codes >= 0)
    if categorical:
        groups = np.arange(len(names))
    else:  # the codes with an answer, in order (a count, not a sort)
        groups = np.flatnonzero(np.bincount(codes[answered], minlength=len(names)))
    local = np.where(answered, np.searchsorted(groups, codes), -1)
    levels = sorted(labels)
    counts, shares = distribution_counts(answers, local, len(groups), levels)
    size = counts.size
    block = {column: np.repeat(np.array([value], dtype=object), size)
             for column, value in keys.items()}  # fmt: skip
    block["cycle"] = np.full(size, keys["cycle"], dtype=np.int64)
    block["group"] = np.repeat(names[groups], len(levels))
    block["answer"] = np.tile(np.array([str(int(v)) for v in levels], dtype=object), len(groups))
    block["answer_label"] = np.tile(np.array([labels[v] for v in levels], dtype=object),
                                    len(groups))  # fmt: skip
    block["order"] = np.tile(np.arange(1, len(levels) + 1, dtype=float), len(groups))
    block["n"] = np.repeat(counts.sum(axis=1), len(levels))
    block["count"] = counts.ravel()
    block["share"] = shares.ravel()
    return block


def scale_tables(
    instrument: Instrument,
    frame: pd.DataFrame,
    groupings: list[tuple[str, str, str]],
    *,
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale scores by group and Cronbach's alpha per scale, every cycle (module docstring).

    Each item's answers (:func:`numeric_answers`) and each grouping's labels are read once for
    the survey and taken by each cycle's row positions.
    """
    items = {item for scale in instrument.scales for item in scale.items if item in frame}
    numeric = {item: numeric_answers(frame[item]) for item in items}
    labels = {column: frame[column].to_numpy() for column, *_ in groupings}
    scores, reliability = [], []
    for cycle, rows in sorted(frame.groupby("cycle").indices.items()):
        for scale in instrument.scales:
            if not all(item in frame for item in scale.items):
                continue
            answers = pd.DataFrame({item: numeric[item][rows] for item in scale.items},
                                   index=frame.index[rows])  # fmt: skip
            score = scale_scores(
                answers,
                items=list(scale.items),
                reversed_items=list(scale.reversed),
                min_answered=scale.min_answered,
            )
            alpha = cronbach_alpha(answers, items=list(scale.items), level=level)
            reliability.append(
                alpha.assign(survey=instrument.name, cycle=int(cycle), scale=scale.name)
            )
            for column, dimension, lvl in groupings:
                data = pd.DataFrame(
                    {"score": score.to_numpy(), "group": labels[column][rows]}
                ).dropna()
                table = mean_score(data, item="score", group="group", level=level)
                scores.append(
                    table.assign(
                        survey=instrument.name,
                        cycle=int(cycle),
                        region="England",
                        scale=scale.name,
                        dimension=dimension,
                        level=lvl,
                    )
                )
    score_table = pd.concat(scores, ignore_index=True) if scores else pd.DataFrame()
    alpha_table = pd.concat(reliability, ignore_index=True) if reliability else pd.DataFrame()
    return score_table, alpha_table
