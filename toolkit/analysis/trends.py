"""Survey tables over cycles: gap trends, intention to leave, representation of respondents.

Called by :func:`toolkit.analysis.over_time.over_time_tables`, which applies disclosure control with
:data:`LAYOUTS` and :data:`LINKS`. Inputs are store tables as read (``responses_<survey>``: one
row per response with ``cycle``, ``region`` (code) and one column per item holding answer codes).

* ``trend_gaps``: per indicator x dimension x level x cycle x group (reference included): n,
  events, rate with its Wilson interval, and against the reference the gap in percentage points
  (Newcombe) and relative likelihood (Katz), from :func:`toolkit.stats.trends.gap_trend_cells` on each
  cell's sufficient statistics (per survey x dimension level, each response's cell coded once
  for England and, for a regional dimension, once for the regions; one ``numpy.bincount`` pass
  per indicator and area; then one call with every indicator x area a design).
* ``trend_interactions``: the group x cycle interaction of the logistic trend model, with the
  verdict in plain words decided by Benjamini-Hochberg adjusted p-values across the family
  (:func:`toolkit.stats.trends.verdicts_with_multiplicity`).
* ``trend_changes``: latest vs previous cycle, group rate and gap, design-effect z test.
* ``intention_to_leave``: % agreeing with each intention-to-leave item, % intending to leave
  within 12 months, and the mean combined score (NHS 0-10, higher = less likely to leave), per
  cycle, region and group, with an "All respondents" row; ``unit`` says rate or score.

Every trend table has a ``region`` column: "England", and each NHS England region's code for the
dimensions in ``OverTimeSpec.regional_dimensions``.
* ``representation_respondents``: respondents' ethnic make-up per region against the benchmark.

Trends use only comparable cycles: with the instrument's versions, an item whose wording,
type or options changed without a mapping breaks the trend, and only the cycles after the last
break are modelled (answers of earlier versions are brought forward with their mappings);
without versions, items are compared by name. The ``comparability`` column says which.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.analysis.likert import numeric_answers
from toolkit.analysis.plan import DimensionLevel, IndicatorSpec, OverTimeSpec
from toolkit.disclosure.suppression import Link, TableLayout
from toolkit.instruments.dimensions import categories, every_group, group_labels
from toolkit.instruments.model import Instrument
from toolkit.instruments.versions import bring_forward, comparable_items, diff_instruments
from toolkit.stats.design import coded_domains
from toolkit.stats.likert import mean_score, scale_scores
from toolkit.stats.multiplicity import adjust_p_values
from toolkit.stats.proportions import (
    answers_and_events,
    proportions_from_counts,
    wilson_interval,
)
from toolkit.stats.representation import load_census_benchmark, representation_ratio
from toolkit.stats.trends import (
    CELL_COLUMNS,
    CodedKey,
    GapTrend,
    cell_index,
    coded_cell_statistics,
    coded_key,
    gap_trend_cells,
    verdicts_with_multiplicity,
)

NATIONAL = "England"
ALL_RESPONDENTS = "All respondents"
TREND_KEYS = ("survey", "region", "indicator", "dimension", "level")
TREND_GAP_COLUMNS = [
    *TREND_KEYS, "cycle", "group", "reference_group", "is_reference", "n", "events", "estimate",
    "ci_low", "ci_high", "reference_estimate", "diff", "diff_ci_low", "diff_ci_high",
    "rel_likelihood", "rl_ci_low", "rl_ci_high", "ci_method", "comparability", "note",
]  # fmt: skip
TREND_INTERACTION_COLUMNS = [
    *TREND_KEYS, "group", "reference_group", "cycles", "interaction", "ci_low", "ci_high",
    "p_value", "p_adjusted", "adjust_method", "verdict", "reason", "smallest_n", "min_n",
    "confidence_level", "model", "comparability", "note",
]  # fmt: skip
TREND_CHANGE_COLUMNS = [
    *TREND_KEYS, "cycle", "previous_cycle", "group", "reference_group", "measure", "n",
    "change", "z", "p_value", "p_adjusted", "adjust_method", "deff", "previous_deff", "note",
]  # fmt: skip
CHANGE_FAMILY = ("survey", "cycle", "region", "dimension", "level", "measure")
"""One family of change tests: every indicator and group of one survey, cycle, area, dimension
level and measure (group rates, or gaps), as the comparisons are adjusted per cycle."""
LEAVING_COLUMNS = [
    "survey", "cycle", "region", "indicator", "measure", "unit", "dimension", "level", "group",
    "n", "events", "estimate", "ci_low", "ci_high", "ci_method", "note",
]  # fmt: skip
REPRESENTATION_COLUMNS = [
    "source", "cycle", "region", "dimension", "level", "group", "n", "sample_share",
    "benchmark_share", "representation_ratio", "ci_low", "ci_high", "ci_method", "note",
]  # fmt: skip
AGREEING = "% with the outcome"
MEAN_SCORE = "mean score (0-10, higher = less likely to leave)"
PROPORTION_UNIT = "proportion"
"""``unit`` of a rate (0-1; a report prints it as a percentage)."""
SCORE_UNIT = "score 0-10"
"""``unit`` of a mean score on the NHS 0-10 scale (never a percentage)."""
REASON_DERIVED = "withheld: computed from a cell suppressed in trend_gaps"
BY_NAME = "compared by item name (no version history given)"
ALL_STATED = "All who stated"

_CELL = ("survey", "region", "indicator", "dimension", "level", "cycle", "group")
_ONE_ROW_PER_PARTITION = ("indicator", "dimension", "level", "group", "measure")
LAYOUTS: dict[str, TableLayout] = {
    "trend_gaps": TableLayout(
        partition_cols=("survey", "region", "indicator", "dimension", "level", "cycle"),
        population_cols=("survey", "region", "indicator", "cycle"),
        complete=False,
        within_base=("events",),
        lists_everyone=True,
    ),
    "trend_interactions": TableLayout(
        base_col="smallest_n",
        partition_cols=("survey", "region", *_ONE_ROW_PER_PARTITION),
        population_cols=("survey", "region"),
        complete=False,
        comparison_cols=(),
        region_col=None,
    ),
    "trend_changes": TableLayout(
        partition_cols=("survey", "cycle", "region", *_ONE_ROW_PER_PARTITION),
        population_cols=("survey", "cycle", "region"),
        complete=False,
        comparison_cols=(),
        region_col=None,
    ),
    "intention_to_leave": TableLayout(
        partition_cols=("survey", "cycle", "region", "indicator", "dimension", "level"),
        population_cols=("survey", "cycle", "region", "indicator"),
        complete=False,
        within_base=("events",),
        lists_everyone=True,
    ),
    "representation": TableLayout(
        partition_cols=("source", "cycle", "region", "dimension", "level"),
        population_cols=("source", "cycle", "region"),
        total_group=ALL_STATED,
    ),
}
"""Disclosure layouts. A trend interaction's or change's base is the smallest group's n, not a
count that adds up over regions, so those two tables have no area column (``region_col=None``)."""
LINKS: tuple[Link, ...] = (Link(("trend_gaps", "intention_to_leave"), _CELL),)


def event_flags(codes: pd.Series, events: Sequence[str], missing: Sequence[str]) -> pd.Series:
    """1.0 if the code is an event, 0.0 if another substantive answer, NaN if blank or missing
    (decided once per distinct code, :func:`per_distinct_value`)."""

    def flags(text: pd.Series) -> pd.Series:
        text = text.astype("string").replace("", pd.NA)
        return text.isin(list(events)).astype(float).where(text.notna() & ~text.isin(list(missing)))

    return per_distinct_value(codes, flags)


def per_distinct_value(column: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform`` (element-wise, to floats) applied to each distinct value of ``column`` once
    and spread to its rows (missing values give what ``transform`` gives a missing value): the
    same numbers as ``transform(column)`` without reading text per row."""
    positions, uniques = pd.factorize(column)
    distinct = pd.Series(uniques).reindex(range(len(uniques) + 1))  # and a missing value
    values = transform(distinct).to_numpy(dtype=float)[positions]  # -1 (missing) -> the last
    return pd.Series(values, index=column.index, name=column.name)


def _version_for(versions: Sequence[Instrument], cycle: int) -> Instrument:
    """The version applying to ``cycle`` (the earliest when none applies that early)."""
    applicable = [v for v in versions if v.applies_from <= cycle]
    return applicable[-1] if applicable else versions[0]


def _break_between(old: Instrument, new: Instrument, item: str) -> str:
    """Why the trend of ``item`` breaks from ``old`` to ``new`` ("" when comparable)."""
    if new.previous is None or new.previous.version != old.version:
        return f"version {new.version} declares no mapping onto {old.version}"
    table = comparable_items(diff_instruments(old, new))
    row = table[(table["kind"] == "item") & (table["name"] == item)]
    if row.empty or not bool(row["comparable"].iloc[0]):
        changes = row["changes"].iloc[0] if not row.empty else "not asked"
        return f"{item} changed in version {new.version} ({changes})"
    return ""


def comparable_cycles(
    versions: Sequence[Instrument] | None, item: str, cycles: Sequence[int]
) -> tuple[list[int], str]:
    """The cycles whose answers to ``item`` are comparable with the latest, and a note.

    Walks the cycles in order; where the applying version changes and the item is not
    comparable (:func:`toolkit.instruments.versions.diff_instruments`), the trend restarts.
    """
    ordered = sorted(cycles)
    if not versions or not ordered:
        return ordered, BY_NAME
    kept, breaks = [ordered[0]], []
    for before, after in itertools.pairwise(ordered):
        old, new = _version_for(versions, before), _version_for(versions, after)
        reason = "" if old.version == new.version else _break_between(old, new, item)
        if reason:
            kept, breaks = [], [*breaks, f"trend breaks at {after}: {reason}"]
        kept.append(after)
    span = f"cycles {kept[0]}-{kept[-1]} comparable" if len(kept) > 1 else f"cycle {kept[0]} only"
    return kept, "; ".join([span, *breaks])


def harmonised(answers: pd.DataFrame, versions: Sequence[Instrument] | None) -> pd.DataFrame:
    """Answers of every cycle renamed and recoded to the latest version's items.

    Rows of cycles answered under an older version go through
    :func:`toolkit.instruments.versions.bring_forward` once per later version.
    """
    if not versions or answers.empty:
        return answers
    parts = []
    for cycle, rows in answers.groupby("cycle", sort=True):
        applied = _version_for(versions, int(cycle))
        for later in versions[versions.index(applied) + 1 :]:
            renamed = set((later.previous.renamed if later.previous else {}).keys())
            rows = bring_forward(rows.drop(columns=[c for c in renamed if c in rows]), later)
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def _grouped(answers: pd.DataFrame, instrument: Instrument, dim: DimensionLevel) -> tuple[pd.Series, str]:  # fmt: skip
    """Group labels of ``dim`` and its reference group."""
    dimension = instrument.dimension(dim.name)
    return group_labels(answers, instrument, dimension, dim.level), dimension.reference[dim.level]


@dataclass(frozen=True)
class _TrendKeys:
    """One survey's responses coded once for every dimension level's trend cells.

    Attributes:
        cycle: each response's cycle (as an integer).
        region: each response's region code (as text).
        weight: each response's weight, or ``None`` (1 each).
    """

    cycle: CodedKey
    region: CodedKey
    weight: np.ndarray | None


def _trend_keys(answers: pd.DataFrame, weights: str | None) -> _TrendKeys:
    """:class:`_TrendKeys` of ``answers`` (``weights`` the weight column, if any)."""
    return _TrendKeys(
        cycle=coded_key(answers["cycle"].astype(int)),
        region=coded_key(answers["region"].astype(str)),
        weight=answers[weights].to_numpy(dtype=float) if weights else None,
    )


@dataclass(frozen=True)
class _Trended:
    """An indicator ready to trend on one survey's harmonised answers.

    Attributes:
        rank: its position among the chosen indicators (the tables' order).
        indicator: the indicator.
        flags: 1.0 / 0.0 per response, NaN when not answered (:func:`event_flags`).
        cycles, note: its comparable cycles and their note (:func:`comparable_cycles`).
    """

    rank: int
    indicator: IndicatorSpec
    flags: pd.Series
    cycles: list[int]
    note: str


def _trended(
    rank: int, indicator: IndicatorSpec, answers: pd.DataFrame, instrument: Instrument,
    history: Sequence[Instrument] | None,
) -> _Trended:  # fmt: skip
    """:class:`_Trended` of ``indicator`` on ``answers`` (harmonised with ``history``)."""
    cycles, note = comparable_cycles(history, indicator.item, answers["cycle"].unique())
    missing = [c.code for c in instrument.choices(indicator.item) if c.missing]
    flags = event_flags(answers[indicator.item], indicator.events, missing)
    return _Trended(rank=rank, indicator=indicator, flags=flags, cycles=cycles, note=note)


def _indicator_cells(
    keys: _TrendKeys, groups: CodedKey, trended: Sequence[_Trended], *, regional: bool
) -> pd.DataFrame:
    """Sufficient statistics per indicator x area x cycle x group of each indicator's comparable
    cycles, one design per indicator and area (:func:`toolkit.stats.trends.coded_cell_statistics`):
    each response's cell made once for England (``region`` "England", every response) and, if
    ``regional``, once for the regions (:func:`toolkit.stats.trends.cell_index`), then for each
    indicator one pass over its answered responses with a group (and a weight) per area.

    ``groups``: each response's group of the dimension level. Returns
    ``["indicator", "region", *CELL_COLUMNS]`` with ``indicator`` = the rank; rows by indicator,
    then England and the regions in code order, then cycle and group.
    """
    cycle = keys.cycle.levels[keys.cycle.codes]
    grouped = groups.codes >= 0
    if keys.weight is not None:
        grouped &= ~np.isnan(keys.weight)
    cells = {"cycle": keys.cycle, "group": groups}
    areas = [(cell_index(cells), {"region": NATIONAL})]
    if regional:
        areas.append((cell_index({"region": keys.region, **cells}), {}))
    parts = []
    for t in trended:
        y = t.flags.to_numpy(dtype=float)
        rows = np.flatnonzero(grouped & np.isin(cycle, t.cycles) & ~np.isnan(y))
        for index, area in areas:
            stats = coded_cell_statistics(index, rows, y, keys.weight)
            parts.append(stats.assign(indicator=t.rank, **area))
    table = pd.concat(parts, ignore_index=True)[["indicator", "region", *CELL_COLUMNS]]
    return table.sort_values("indicator", kind="stable", ignore_index=True)


def _spans(cells: pd.DataFrame) -> dict[tuple[object, str], str]:
    """The cycles each design's trend spans ("first-last") by (indicator, region)."""
    bounds = cells.groupby(["indicator", "region"], sort=False)["cycle"].agg(["min", "max"])
    return {key: f"{lo}-{hi}"
            for key, lo, hi in zip(bounds.index, bounds["min"], bounds["max"], strict=True)}  # fmt: skip


def _change_n(change: pd.DataFrame, cells: pd.DataFrame, reference: str) -> list[int]:
    """The smallest of the four cells (group and reference, both cycles, in the row's indicator
    and region) behind each change row (0 when one is missing)."""
    where = ["indicator", "region", "cycle", "group"]
    n_cells = dict(zip(zip(*(cells[c] for c in where), strict=True), cells["n"], strict=True))
    return [min(n_cells.get((i, a, c, g), 0), n_cells.get((i, a, p, g), 0),
                n_cells.get((i, a, c, reference), 0), n_cells.get((i, a, p, reference), 0))
            for i, a, c, p, g in
            change[["indicator", "region", "cycle", "previous_cycle", "group"]].to_numpy()]  # fmt: skip


def _trend_block(
    trended: Sequence[_Trended], dim: DimensionLevel, dim_rank: int, reference: str,
    cells: pd.DataFrame, trend: GapTrend,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """One survey x dimension level's rows of the trend tables from its cells and
    :func:`toolkit.stats.trends.gap_trend_cells` fit (``indicator`` = rank in both):
    ``cells`` (counts of ``trend_gaps``), ``per_cycle`` (its comparisons), ``verdict``
    (``trend_interactions`` before multiplicity, ``dimension_level`` for the level) and
    ``change``; each row with its keys, ``_rank`` and ``_dim`` (the indicator's and the
    dimension level's positions, the tables' order)."""
    by_rank = {t.rank: t for t in trended}
    survey = trended[0].indicator.survey

    def keyed(table: pd.DataFrame, level_col: str = "level") -> pd.DataFrame:
        ranks = table["indicator"].to_numpy()
        return table.assign(survey=survey, dimension=dim.name, **{level_col: dim.level},
                            indicator=[by_rank[r].indicator.name for r in ranks],
                            comparability=[by_rank[r].note for r in ranks], _rank=ranks,
                            _dim=dim_rank)  # fmt: skip

    spans = _spans(cells)
    verdict = trend.verdict.assign(
        cycles=[spans[key] for key in zip(trend.verdict["indicator"], trend.verdict["region"],
                                           strict=True)],
        model=trend.interaction["model"].to_numpy(),
        note=trend.interaction["note"].to_numpy(),
    )  # fmt: skip
    change = trend.change.assign(reference_group=reference,
                                 n=_change_n(trend.change, cells, reference))  # fmt: skip
    return {
        "cells": keyed(cells.assign(reference_group=reference)),
        "per_cycle": keyed(trend.per_cycle),
        "verdict": keyed(verdict, level_col="dimension_level"),
        "change": keyed(change).drop(columns=["comparability"]),
    }


def _ordered(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The blocks' rows one below the other, by indicator, then dimension level (each block's
    rows in their order)."""
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["_rank", "_dim"], kind="stable", ignore_index=True)
    return table.drop(columns=["_rank", "_dim"])


def _gap_table(cells: pd.DataFrame, per_cycle: pd.DataFrame, level: float) -> pd.DataFrame:
    """``trend_gaps``: every cell's n, events, rate and Wilson interval, with its comparison
    against the reference (none for the reference's own rows); ``cells`` and ``per_cycle``
    as :func:`_trend_block`'s, ``cells`` ordered."""
    counts = cells[[*TREND_KEYS, "cycle", "group", "n", "events", "reference_group",
                    "comparability"]].copy()  # fmt: skip
    counts["estimate"] = counts["events"] / counts["n"]
    counts["ci_low"], counts["ci_high"] = wilson_interval(counts["events"], counts["n"], level)
    counts["is_reference"] = counts["group"] == counts["reference_group"]
    comparison = per_cycle.drop(
        columns=["n", "events", "estimate", "reference_group", "comparability", "_rank", "_dim"]
    )
    gaps = counts.merge(comparison, on=[*TREND_KEYS, "cycle", "group"], how="left")
    gaps["note"] = gaps["note"].fillna("")
    return gaps


def _too_few_reason(table: pd.DataFrame) -> pd.Series:
    """Reasons that name no count: "fewer than min_n" instead of the cell's own n."""
    few = table["smallest_n"] < table["min_n"]
    generic = (
        "a cycle has fewer than "
        + table["min_n"].astype(str)
        + (" responses in this group or the reference")
    )
    return table["reason"].where(~few, generic)


def trend_tables(
    responses: Mapping[str, pd.DataFrame],
    instruments: Mapping[str, Instrument],
    indicators: Sequence[IndicatorSpec],
    spec: OverTimeSpec,
    *,
    level: float,
    min_n: int,
    versions: Mapping[str, Sequence[Instrument]] | None = None,
) -> dict[str, pd.DataFrame]:
    """``trend_gaps``, ``trend_interactions`` and ``trend_changes`` (unsuppressed).

    Every indicator in ``spec.indicators`` (all when None) whose survey has responses, over the
    comparable cycles: for England (``region`` "England") by every ``spec.trend_dimensions``
    entry, and for each region (its code) by those also in ``spec.regional_dimensions``. An
    indicator is never trended by a dimension it is not compared by (WDES 8: disability).
    Verdicts are adjusted for multiplicity within ``spec.multiplicity_family`` (by default
    survey x region x dimension x level). Per survey and dimension level, every indicator's
    cells come from each response's cell coded once (:func:`_indicator_cells`) and are fitted
    in one
    :func:`toolkit.stats.trends.gap_trend_cells` call (each indicator and area its own design);
    rows are by indicator, then dimension level, then area.
    """
    chosen = [i for i in indicators if spec.indicators is None or i.name in spec.indicators]
    by_survey: dict[str, list[tuple[int, IndicatorSpec]]] = {}
    for rank, indicator in enumerate(chosen):
        answers = responses.get(indicator.survey)
        if answers is not None and not answers.empty and indicator.item in answers:
            by_survey.setdefault(indicator.survey, []).append((rank, indicator))
    blocks = []
    for survey, ranked in by_survey.items():
        history = (versions or {}).get(survey)
        answers = harmonised(responses[survey], history)
        instrument = instruments[survey]
        keys = _trend_keys(answers, spec.weights)
        trended = [_trended(rank, indicator, answers, instrument, history)
                   for rank, indicator in ranked]  # fmt: skip
        for dim_rank, dim in enumerate(spec.trend_dimensions):
            compared = [t for t in trended if t.indicator.compared_by(dim.name)]
            if not compared:
                continue
            labels, reference = _grouped(answers, instrument, dim)
            cells = _indicator_cells(keys, coded_key(labels), compared,
                                     regional=dim in spec.regional_dimensions)  # fmt: skip
            if cells.empty:
                continue
            trend = gap_trend_cells(cells, reference=reference, weighted=spec.weights is not None,
                                    level=level, min_n=min_n, by=("indicator", "region"))  # fmt: skip
            blocks.append(_trend_block(compared, dim, dim_rank, reference, cells, trend))
    columns = {"trend_gaps": TREND_GAP_COLUMNS, "trend_interactions": TREND_INTERACTION_COLUMNS,
               "trend_changes": TREND_CHANGE_COLUMNS}  # fmt: skip
    if not blocks:
        return {name: pd.DataFrame(columns=cols) for name, cols in columns.items()}
    per_cycle = pd.concat([b["per_cycle"] for b in blocks], ignore_index=True)
    tables = {
        "trend_gaps": _gap_table(_ordered([b["cells"] for b in blocks]), per_cycle, level),
        "trend_interactions": _ordered([b["verdict"] for b in blocks]),
        "trend_changes": _ordered([b["change"] for b in blocks]),
    }
    verdicts = tables["trend_interactions"]
    if not verdicts.empty:
        family = ["survey", *("dimension_level" if c == "level" else c
                              for c in spec.multiplicity_family)]  # fmt: skip
        verdicts = verdicts_with_multiplicity(
            verdicts, family_cols=family, method=spec.multiplicity_method
        )
        verdicts["reason"] = _too_few_reason(verdicts)
        verdicts = verdicts.rename(columns={"level": "confidence_level"}).rename(
            columns={"dimension_level": "level"}
        )
    tables["trend_interactions"] = verdicts
    return {name: table.reindex(columns=columns[name]) for name, table in tables.items()}


def computed_from_hidden(table: pd.DataFrame, hidden_cells: pd.DataFrame) -> np.ndarray:
    """Rows of ``trend_interactions`` / ``trend_changes`` that use a suppressed gap cell.

    A row uses its group's and its reference's cells: every cycle for an interaction, the two
    cycles it compares for a change.
    """
    keys = ["survey", "region", "indicator", "dimension", "level"]
    hidden = {(*k, c, g) for *k, c, g in hidden_cells[[*keys, "cycle", "group"]].to_numpy()}
    groups = {(*k, g) for *k, _, g in hidden}
    marked = []
    for row in table.to_dict(orient="records"):
        base = tuple(row[k] for k in keys)
        pair = (row["group"], row["reference_group"])
        if "previous_cycle" in row:
            cells = [(*base, c, g) for c in (row["cycle"], row["previous_cycle"]) for g in pair]
            marked.append(any(cell in hidden for cell in cells))
        else:
            marked.append(any((*base, g) in groups for g in pair))
    return np.array(marked, dtype=bool)


def changes_with_multiplicity(changes: pd.DataFrame, spec: OverTimeSpec) -> pd.DataFrame:
    """``trend_changes`` with ``p_adjusted`` and ``adjust_method``: each change test's p-value
    adjusted (``spec.multiplicity_method``, Benjamini-Hochberg by default) within its family,
    :data:`CHANGE_FAMILY`. Run it after suppression: a withheld row has no p-value, so it is
    not in its family and its p-value cannot be read back from the others' adjustment."""
    adjusted = adjust_p_values(changes, p_col="p_value", family_cols=CHANGE_FAMILY,
                               method=spec.multiplicity_method)  # fmt: skip
    adjusted.loc[adjusted["p_adjusted"].isna(), "adjust_method"] = None
    return adjusted[list(changes.columns)]


def _leaving_measures(
    answers: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec
) -> pd.DataFrame:
    """One column per reported measure: 0/1 outcome per item, and the combined score."""
    measures = pd.DataFrame(index=answers.index)
    for item in spec.leaving_items:
        definition = instrument.item_map.get(item)
        if definition is None or definition.outcome is None or item not in answers:
            continue
        missing = [c.code for c in instrument.choices(item) if c.missing]
        measures[item] = event_flags(answers[item], definition.outcome.codes, missing)
    scale = next((s for s in instrument.scales if s.name == spec.leaving_scale), None)
    if scale is not None and all(item in answers for item in scale.items):
        coded = pd.DataFrame({item: numeric_answers(answers[item]) for item in scale.items},
                             index=answers.index)  # fmt: skip
        measures[scale.name] = scale_scores(coded, items=scale.items, reversed_items=scale.reversed,
                                            min_answered=scale.min_answered)  # fmt: skip
    return measures


_KEY = "\x1f"


@dataclass(frozen=True)
class _AreaKeys:
    """Each response's area and area x group for one trend dimension and one kind of area
    (England, or each region), as integer codes, and the text key of each code.

    A key is ``cycle, dimension rank, area[, group]`` joined with :data:`_KEY`, so that every
    cycle, dimension level and area is its own domain and the keys sort as the rows of
    :func:`intention_to_leave` do before its final order.

    Attributes:
        area: per response, the code of its cycle x area.
        area_keys: each area code's key.
        group: per response, the code of its cycle x area x group (-1 without a group).
        group_keys: each group code's key.
    """

    area: np.ndarray
    area_keys: list[str]
    group: np.ndarray
    group_keys: list[str]


def _area_keys(answers: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec) -> list[_AreaKeys]:  # fmt: skip
    """:class:`_AreaKeys` for England by every ``spec.trend_dimensions`` entry and for the
    regions by those also in ``spec.regional_dimensions``; codes are combined arithmetically
    from each key's factorized values (text is only read once per distinct value)."""
    cycle_code, cycles = pd.factorize(answers["cycle"].astype(int), sort=True)
    region_code, regions = pd.factorize(answers["region"].astype(str), sort=True)
    keys = []
    for rank, dim in enumerate(spec.trend_dimensions):
        group_code, groups = pd.factorize(_grouped(answers, instrument, dim)[0], sort=True)
        areas = [(cycle_code, [f"{c}{_KEY}{rank:04d}{_KEY}{NATIONAL}" for c in cycles])]
        if dim in spec.regional_dimensions:
            areas.append((cycle_code * len(regions) + region_code,
                          [f"{c}{_KEY}{rank:04d}{_KEY}{r}" for c in cycles for r in regions]))  # fmt: skip
        for area, area_keys in areas:
            group = np.where(group_code < 0, -1, area * len(groups) + group_code)
            group_keys = [f"{a}{_KEY}{g}" for a in area_keys for g in groups]
            keys.append(_AreaKeys(area, area_keys, group, group_keys))
    return keys


def _answered_estimates(values: np.ndarray, codes: np.ndarray, keys: list[str], *, is_score: bool,
                        level: float) -> pd.DataFrame:  # fmt: skip
    """Rate (Wilson) or mean score (t) of ``values`` in each domain of ``codes`` that has an
    answer (NaN = not answered); ``group`` is the domain's key. A rate needs only each domain's
    answers and events (:func:`~toolkit.stats.proportions.proportions_from_counts`); a mean
    score is computed on the rows, in their order (:func:`~toolkit.stats.likert.mean_score`)."""
    answered = np.where(np.isnan(values), -1, codes)
    if is_score:
        domains = coded_domains(answered, keys)
        table = mean_score(pd.DataFrame({"_y": values}), item="_y", group=domains, level=level)
        return table[domains.rows > 0]
    inside = answered >= 0
    counts = pd.DataFrame({
        "group": keys,
        "n": np.bincount(answered[inside], minlength=len(keys)),
        "events": np.bincount(answered[inside], weights=values[inside], minlength=len(keys)),
    })  # fmt: skip
    counts = counts[counts["n"] > 0]
    return proportions_from_counts(counts, events="events", n="n", group="group", level=level)


def _leaving_rows(values: np.ndarray, keys: Sequence[_AreaKeys], is_score: bool, level: float) -> pd.DataFrame:  # fmt: skip
    """Rate or mean score of one measure per area x group and for all respondents of each area
    (:func:`_answered_estimates`, each domain its own design); ``region`` is the area's key,
    rows are the areas in key order, then the groups in key order."""
    overall = pd.concat([_answered_estimates(values, k.area, k.area_keys, is_score=is_score,
                                             level=level) for k in keys], ignore_index=True)  # fmt: skip
    if overall.empty:
        return pd.DataFrame()
    by_group = pd.concat([_answered_estimates(values, k.group, k.group_keys, is_score=is_score,
                                              level=level) for k in keys], ignore_index=True)  # fmt: skip
    overall = overall.sort_values("group", ignore_index=True)
    by_group = by_group.sort_values("group", ignore_index=True)
    split = by_group["group"].astype(str).str.rsplit(_KEY, n=1, expand=True)
    by_group = by_group.assign(region=split[0], group=split[1])
    overall = overall.assign(region=overall["group"].astype(str), group=ALL_RESPONDENTS, dimension="all",
                             level="all")  # fmt: skip
    return pd.concat([overall, by_group], ignore_index=True).assign(
        measure=MEAN_SCORE if is_score else AGREEING
    )


def intention_to_leave(
    responses: Mapping[str, pd.DataFrame],
    instruments: Mapping[str, Instrument],
    spec: OverTimeSpec,
    *,
    level: float,
) -> pd.DataFrame:
    """``intention_to_leave`` (unsuppressed): :data:`LEAVING_COLUMNS`, one row per cycle x
    region x indicator x dimension x level x group, plus "All respondents" (dimension "all").

    England by every ``spec.trend_dimensions`` entry, each region (its code) by those in
    ``spec.regional_dimensions``. ``unit`` says what ``estimate`` is: a proportion (0-1) or a
    mean score on the NHS 0-10 scale. Every cycle x dimension level x area is its own domain
    (:func:`_area_keys`), coded once for every measure (:func:`_leaving_rows`); rows by cycle,
    dimension level, measure, then area and group.
    """
    answers = responses.get(spec.retention_survey)
    if answers is None or answers.empty:
        return pd.DataFrame(columns=LEAVING_COLUMNS)
    instrument = instruments[spec.retention_survey]
    measures = _leaving_measures(answers, instrument, spec)
    keys = _area_keys(answers, instrument, spec)
    dims = spec.trend_dimensions
    parts = []
    for position, measure in enumerate(measures.columns):
        values = measures[measure].to_numpy(dtype=float)
        table = _leaving_rows(values, keys, measure == spec.leaving_scale, level)
        if table.empty:
            continue
        keys_of_rows = table["region"].str.split(_KEY, n=2, expand=True)
        rank = keys_of_rows[1].astype(int).to_numpy()
        table = table.assign(survey=spec.retention_survey, indicator=measure,
                             cycle=keys_of_rows[0].astype(int), region=keys_of_rows[2], _dim=rank,
                             _measure=position)  # fmt: skip
        grouped = table["dimension"].isna().to_numpy()
        table.loc[grouped, "dimension"] = [dims[r].name for r in rank[grouped]]
        table.loc[grouped, "level"] = [dims[r].level for r in rank[grouped]]
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=LEAVING_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table = table.iloc[np.lexsort((table["_measure"], table["_dim"], table["cycle"]))]
    table = table.drop_duplicates(["cycle", "region", "indicator", "dimension", "level", "group"])
    if "events" not in table:
        table["events"] = np.nan
    table["unit"] = np.where(table["measure"] == MEAN_SCORE, SCORE_UNIT, PROPORTION_UNIT)
    return table.reindex(columns=LEAVING_COLUMNS).reset_index(drop=True)


def unprinted_regional_leaving(
    responses: Mapping[str, pd.DataFrame], instruments: Mapping[str, Instrument], spec: OverTimeSpec
) -> pd.DataFrame:
    """Answers (``n``) and events (proportions only) per group in each region, for each
    intention-to-leave measure and each trend dimension :func:`intention_to_leave` gives for
    England only (columns ``survey, cycle, region, indicator, measure, dimension, level,
    group, n, events``; "Not stated" for the respondents without a group; every group in
    every cycle x region that has responses). Never published: the release gate's true value
    of the regional cells an attacker's sums over regions bring in, which it would otherwise
    solve for. Counted with ``numpy.bincount`` on codes made once per distinct value."""
    answers = responses.get(spec.retention_survey)
    unprinted = [dim for dim in spec.trend_dimensions if dim not in spec.regional_dimensions]
    if answers is None or answers.empty or not unprinted:
        return pd.DataFrame()
    instrument = instruments[spec.retention_survey]
    measures = _leaving_measures(answers, instrument, spec)
    keys = _trend_keys(answers, None)
    pair = keys.cycle.codes * len(keys.region.levels) + keys.region.codes
    pairs, pair = np.unique(pair, return_inverse=True)  # the cycle x region pairs with responses
    outcomes = {m: measures[m].to_numpy(dtype=float) for m in measures.columns}
    parts = []
    for dim in unprinted:
        groups = every_group(_grouped(answers, instrument, dim)[0])
        n_groups = len(groups.cat.categories)
        cell = pair * n_groups + groups.cat.codes.to_numpy()
        counts = answers_and_events(outcomes, cell, len(pairs) * n_groups)
        pair_of, group = np.divmod(counts["cell"].to_numpy(), n_groups)
        pair_of = pairs[pair_of]
        parts.append(pd.DataFrame({
            "indicator": counts["outcome"].to_numpy(),
            "n": counts["n"].to_numpy(),
            "events": counts["events"].to_numpy(),
            "cycle": keys.cycle.levels[pair_of // len(keys.region.levels)],
            "region": pd.array(keys.region.levels[pair_of % len(keys.region.levels)], dtype=str),
            "group": pd.Categorical.from_codes(group, dtype=groups.dtype),
            "dimension": dim.name, "level": dim.level,
        }))  # fmt: skip
    table = pd.concat(parts, ignore_index=True)
    score = table["indicator"] == spec.leaving_scale
    table["measure"] = np.where(score, MEAN_SCORE, AGREEING)
    table["events"] = table["events"].where(~score)
    table["survey"] = spec.retention_survey
    return table[["survey", "cycle", "region", "indicator", "measure", "dimension", "level",
                  "group", "n", "events"]]  # fmt: skip


def read_benchmark(spec: OverTimeSpec) -> pd.DataFrame:
    """The representation benchmark: the spec's CSV (``region, group, share`` [``level``]) or the
    packaged Census 2021 one."""
    if spec.benchmark is None:
        return load_census_benchmark()
    return pd.read_csv(spec.benchmark)


def representation_table(
    source: str, cycle: int | pd.Series, regions: pd.Series, labels: Mapping[str, pd.Series],
    benchmark: pd.DataFrame, level: float, names: Mapping[str, str],
) -> pd.DataFrame:  # fmt: skip
    """Representation ratios per cycle and region for each ethnicity level, with an ``All who
    stated`` row; rows by cycle, level, then region and group (totals after the groups).

    The benchmark is keyed by region name; the table's ``region`` holds the store's region
    codes, as every other bundle table does. Every cycle x region is its own key in one
    :func:`toolkit.stats.representation.representation_ratio` call per level (the benchmark's
    rows repeated for each cycle), so its numbers are those of a call per cycle.

    Args:
        source: e.g. "respondents: culture" or "workforce".
        cycle: the cycle or year, or each person's.
        regions: NHS England region code per person.
        labels: level -> ethnicity group per person (NA = not stated), categorical over every
            group of the level (:func:`ethnic_groups`): a group nobody in a region is in is a
            row with ``n`` 0 there, so no group is missing from a region's rows.
        benchmark: ``region, group, share`` [``level``].
        level: confidence level.
        names: region code -> region name (the benchmark's key).
    """
    codes = {name: code for code, name in names.items()}
    cycles = cycle.astype(int) if isinstance(cycle, pd.Series) else pd.Series(cycle, regions.index)
    keys = _cycle_region_keys(cycles, regions, names)
    keyed_benchmark = pd.concat(
        [benchmark.assign(region=f"{c}{_KEY}" + benchmark["region"].astype(str))
         for c in sorted(cycles.unique())],
        ignore_index=True,
    )  # fmt: skip
    parts = []
    for position, (lvl, groups) in enumerate(labels.items()):
        known = pd.DataFrame({"region": keys, "group": groups}).dropna()
        if known.empty:
            continue
        counts = known.groupby(["region", "group"], observed=False).size().rename("n")
        counts = counts.reset_index().astype({"group": "string"})
        bench = (keyed_benchmark[keyed_benchmark["level"] == lvl] if "level" in keyed_benchmark
                 else keyed_benchmark)  # fmt: skip
        ratios = representation_ratio(counts, benchmark=bench, level=level)
        totals = counts.groupby("region")["n"].sum().reset_index().assign(group=ALL_STATED)
        parts += [ratios.assign(level=lvl, _level=position, _total=False),
                  totals.assign(level=lvl, _level=position, _total=True)]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=REPRESENTATION_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    split = table["region"].str.split(_KEY, n=1, expand=True)
    table = table.assign(source=source, cycle=split[0].astype(int).to_numpy(),
                         region=split[1].astype("string"), dimension="ethnicity")  # fmt: skip
    table = table.iloc[np.lexsort((table["_total"], table["_level"], table["cycle"]))]
    table["region"] = table["region"].map(lambda name: codes.get(name, name))
    table["n"] = pd.to_numeric(table["n"]).astype("Int64")
    table["note"] = table["note"].fillna("")
    return table.reindex(columns=REPRESENTATION_COLUMNS).reset_index(drop=True)


def _cycle_region_keys(cycles: pd.Series, regions: pd.Series, names: Mapping[str, str]) -> pd.Series:  # fmt: skip
    """Each person's ``cycle`` and region name joined with :data:`_KEY` (NA without a region),
    made once per distinct cycle x region, never per person."""
    cycle_code, cycle_values = pd.factorize(cycles, sort=True)
    region_code, region_values = pd.factorize(regions.astype("string"), sort=True)
    labels = np.array([f"{c}{_KEY}{names.get(r, r)}" for c in cycle_values for r in region_values]
                      + [None], dtype=object)  # fmt: skip
    known = (cycle_code >= 0) & (region_code >= 0)
    code = np.where(known, cycle_code * len(region_values) + region_code, len(labels) - 1)
    return pd.Series(labels[code], index=regions.index, dtype=str)


def ethnic_groups(
    people: pd.DataFrame, instrument: Instrument, levels: Sequence[str]
) -> dict[str, pd.Series]:
    """Level -> each person's ethnic group (NA = not stated), categorical over every group of
    the level in questionnaire order (the ``labels`` of :func:`representation_table`)."""
    dimension = instrument.dimension("ethnicity")
    return {
        level: pd.Series(
            pd.Categorical(group_labels(people, instrument, dimension, level),
                           categories=categories(instrument, dimension, level)),
            index=people.index,
        )
        for level in levels
    }  # fmt: skip


def region_names(instrument: Instrument) -> dict[str, str]:
    """NHS England region code -> name, from the instrument's region list."""
    return {c.code: c.label for c in instrument.choices("region")}


def respondent_representation(
    responses: Mapping[str, pd.DataFrame],
    instruments: Mapping[str, Instrument],
    spec: OverTimeSpec,
    *,
    level: float,
) -> pd.DataFrame:
    """Respondents' ethnic make-up per survey, cycle and region against the benchmark."""
    benchmark = read_benchmark(spec)
    parts = []
    for survey, answers in sorted(responses.items()):
        if answers.empty:
            continue
        instrument = instruments[survey]
        labels = ethnic_groups(answers, instrument, spec.representation_levels)
        parts.append(representation_table(f"respondents: {survey}", answers["cycle"],
                                          answers["region"], labels, benchmark, level,
                                          region_names(instrument)))  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=REPRESENTATION_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def survey_tables(
    responses: Mapping[str, pd.DataFrame],
    instruments: Mapping[str, Instrument],
    indicators: Sequence[IndicatorSpec],
    spec: OverTimeSpec,
    *,
    level: float,
    min_n: int,
    versions: Mapping[str, Sequence[Instrument]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every survey-based over-time table, unsuppressed (module docstring)."""
    tables = trend_tables(responses, instruments, indicators, spec, level=level, min_n=min_n,
                          versions=versions)  # fmt: skip
    tables["intention_to_leave"] = intention_to_leave(responses, instruments, spec, level=level)
    tables["representation_respondents"] = respondent_representation(
        responses, instruments, spec, level=level
    )
    return tables
