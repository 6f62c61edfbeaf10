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

import pandas as pd

from toolkit.instruments.model import Instrument
from toolkit.stats.likert import cronbach_alpha, likert_distribution, mean_score, scale_scores

DIMENSION_GROUPINGS = ("ethnicity", "disability")


def _numeric(frame: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    return frame[items].apply(pd.to_numeric, errors="coerce")


def likert_table(
    instrument: Instrument, frame: pd.DataFrame, groupings: list[tuple[str, str, str]]
) -> pd.DataFrame:
    """Answer distributions of every Likert item by each grouping ``(column, dimension, level)``."""
    items = [i for i in instrument.items if i.base_type == "likert" and i.name in frame]
    parts = []
    for cycle, part in frame.groupby("cycle", sort=True):
        numeric = _numeric(part, [i.name for i in items])
        for item in items:
            choices = [c for c in instrument.choices(item) if not c.missing]
            labels = {float(c.code): c.label for c in choices}
            for column, dimension, level in groupings:
                data = pd.DataFrame({"answer": numeric[item.name], "group": part[column]}).dropna()
                table = likert_distribution(
                    data, item="answer", group="group", levels=sorted(labels)
                )
                parts.append(
                    table.assign(
                        survey=instrument.name,
                        cycle=int(cycle),
                        region="England",
                        item=item.name,
                        dimension=dimension,
                        level_name=level,
                        answer_label=table["level"].map(labels),
                        order=table["level"].rank(method="dense"),
                    )
                )
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    table = table.rename(columns={"level": "answer", "level_name": "level", "n": "count"})
    table["n"] = table.groupby(["survey", "cycle", "item", "dimension", "level", "group"])[
        "count"
    ].transform("sum")
    table["answer"] = table["answer"].astype(int).astype(str)
    return table[
        [
            "survey",
            "cycle",
            "region",
            "item",
            "dimension",
            "level",
            "group",
            "answer",
            "answer_label",
            "order",
            "n",
            "count",
            "share",
        ]
    ]


def scale_tables(
    instrument: Instrument,
    frame: pd.DataFrame,
    groupings: list[tuple[str, str, str]],
    *,
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale scores by group and Cronbach's alpha per scale, every cycle (module docstring)."""
    scores, reliability = [], []
    for cycle, part in frame.groupby("cycle", sort=True):
        for scale in instrument.scales:
            if not all(item in part for item in scale.items):
                continue
            answers = _numeric(part, list(scale.items))
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
                    {"score": score.to_numpy(), "group": part[column].to_numpy()}
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
