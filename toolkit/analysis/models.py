"""Adjusted comparisons for the results bundle: logistic regression per indicator.

For each indicator, cycle and binary dimension (e.g. ethnicity: ethnic minority vs White), in
England and, for the dimensions the plan compares within regions, in each region (the latest
cycle), the odds ratio of the outcome is estimated unadjusted and adjusted for the plan's
covariates (sector, career stage and region by default; within a region, region is constant
and is dropped, as ``note`` says), with :func:`toolkit.stats.models.logistic_rows` (the array
form of :func:`toolkit.stats.models.logistic`: sandwich standard errors when weighted;
separation detected and reported). Only the rows for the compared group are kept: covariate
odds ratios are nuisance terms here. The survey's columns are coded to integers once
(:class:`_Coded`) and every fit takes its respondents by position.

Columns: survey, cycle, region, indicator, dimension, level, group, reference_group,
model, odds_ratio, ci_low, ci_high, p_value, se, n, converged, separation, covariates,
note. ``n`` is the number of respondents in the group who answered (the disclosure base).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.analysis.plan import Plan
from toolkit.instruments.model import Instrument
from toolkit.stats.design import make_design, outcome_values
from toolkit.stats.models import MODEL_COLUMNS, Factor, coded_factor, factor_codes, logistic_rows

_TERM_COLUMNS = ("variable", "level", "reference_level", "note")
NATIONAL = "England"
MODEL_TABLE_COLUMNS = (
    *("survey", "cycle", "region", "indicator", "dimension", "level", "group", "reference_group"),
    *(column for column in MODEL_COLUMNS if column not in _TERM_COLUMNS),
    "covariates",
    "note",
)
"""The fit's columns (:data:`toolkit.stats.models.MODEL_COLUMNS`) without the term names, which
become the bundle's group and reference group, after the cell's identifying columns."""


def covariate_references(instrument: Instrument, covariates: Sequence[str]) -> dict[str, str]:
    """Covariate column -> answer code of its dimension's reference group at the detailed level.

    Covariates that are no dimension's item are left out (the model takes their largest level).
    """
    references = {}
    for dimension in instrument.dimensions:
        label = dimension.reference.get("detailed")
        if dimension.item in covariates and label is not None:
            choices = (
                instrument.choices(dimension.item) if dimension.item in instrument.item_map else ()
            )
            codes = [c.code for c in choices if c.label == label]
            references[dimension.item] = codes[0] if codes else label
    return references


@dataclass(frozen=True)
class _Coded:
    """One survey's model columns as arrays, coded once for every fit.

    Attributes:
        factors: column -> (level labels, each row's level code, -1 missing)
            (:func:`toolkit.stats.models.factor_codes`), for the group and covariate columns
            present.
        outcomes: outcome column -> its 0/1 values (NaN = not answered).
        weights: each row's weight (ones when unweighted).
        weighted: whether the plan weights.
    """

    factors: dict[str, tuple[tuple[str, ...], np.ndarray]]
    outcomes: dict[str, np.ndarray]
    weights: np.ndarray
    weighted: bool


def _coded(frame: pd.DataFrame, factors: Sequence[str], outcomes: Sequence[str],
           weights: str | None) -> _Coded:  # fmt: skip
    """``frame``'s ``factors`` (those present), ``outcomes`` and ``weights`` as :class:`_Coded`;
    the outcomes and weights are checked here once (PtwError as
    :func:`toolkit.stats.models.logistic` raises)."""
    return _Coded(
        factors={c: factor_codes(frame[c]) for c in dict.fromkeys(factors) if c in frame},
        outcomes={c: outcome_values(frame, c) for c in outcomes},
        weights=make_design(frame, weights=weights).weights,
        weighted=weights is not None,
    )


@dataclass(frozen=True)
class _Cell:
    """What one call of :func:`_indicator_models` compares."""

    outcome: str
    group_column: str
    reference: str
    covariates: tuple[str, ...]
    references: dict[str, str]


def _usable(coded: _Coded, rows: np.ndarray, covariates: Sequence[str]) -> tuple[str, ...]:
    """The ``covariates`` present with more than one level among ``rows``."""
    return tuple(
        c
        for c in covariates
        if c in coded.factors and np.count_nonzero(_level_counts(coded, c, rows)) > 1
    )


def _level_counts(coded: _Coded, column: str, rows: np.ndarray) -> np.ndarray:
    """Rows among ``rows`` at each level of factor ``column`` (missing not counted)."""
    levels, codes = coded.factors[column]
    values = codes[rows]
    return np.bincount(values[values >= 0], minlength=len(levels))


def _covariate(coded: _Coded, column: str, rows: np.ndarray, reference: str | None) -> Factor:
    """Covariate ``column`` at ``rows`` as a factor against ``reference`` if that level has
    respondents among ``rows``, else against its largest level."""
    levels, codes = coded.factors[column]
    if reference is not None and not (
        reference in levels and _level_counts(coded, column, rows)[levels.index(reference)] > 0
    ):
        reference = None
    return coded_factor(column, levels, codes[rows], reference)


def _indicator_models(coded: _Coded, rows: np.ndarray, cell: _Cell, *,
                     level: float) -> list[dict[str, object]]:  # fmt: skip
    """Unadjusted and adjusted odds ratios of ``cell.outcome`` for each group vs
    ``cell.reference``, among the respondents at positions ``rows`` of the coded survey.

    Respondents count when the group and the outcome are recorded. Covariates absent or
    constant among them are dropped and named in ``note``; the others must be recorded too
    (both models are fitted on the same respondents). A covariate's reference
    (``cell.references``) with no respondents leaves it at its largest level. Output: the rows
    of the group's levels (:data:`toolkit.stats.models.MODEL_COLUMNS` with ``group`` and
    ``reference_group`` for the term names; ``n`` the group's respondents) and ``covariates``.
    """
    group_codes = coded.factors[cell.group_column][1]
    y = coded.outcomes[cell.outcome]
    rows = rows[(group_codes[rows] >= 0) & ~np.isnan(y[rows])]
    usable = _usable(coded, rows, cell.covariates)
    dropped = sorted(set(cell.covariates) - set(usable))
    for c in usable:
        rows = rows[coded.factors[c][1][rows] >= 0]
    group = coded_factor(cell.group_column, coded.factors[cell.group_column][0],
                         group_codes[rows], cell.reference)  # fmt: skip
    extra = [_covariate(coded, c, rows, cell.references.get(c)) for c in usable]
    models = [("unadjusted", [group])] + ([("adjusted", [group, *extra])] if extra else [])
    fits = logistic_rows(y[rows], coded.weights[rows], models, weighted=coded.weighted, level=level)
    note = f" covariates not used (constant or absent): {', '.join(dropped)}" if dropped else ""
    return [
        {
            **{k: v for k, v in row.items() if k not in _TERM_COLUMNS},
            "group": row["level"],
            "reference_group": row["reference_level"],
            "covariates": ", ".join(usable) if row["model"] == "adjusted" else "",
            "note": f"{row['note']}{note}",
        }
        for row in fits
        if row["variable"] == cell.group_column
    ]


def model_table(
    plan: Plan,
    frame: pd.DataFrame,
    *,
    survey: str,
    groupings: list[tuple[str, str, str, str]],
    outcomes: dict[str, str],
    weights: str | None,
    references: dict[str, str],
) -> pd.DataFrame:
    """The bundle's ``models`` table for one survey: England in every cycle, each region in
    the latest (what the regional report shows; every cycle for every region would fit 2.4
    times as many models on the demo's three cycles, for tables no report reads).

    Args:
        plan: the analysis plan (covariates, confidence level, the levels compared in regions).
        frame: respondents with group columns, outcome columns, covariate columns and
            ``region`` (missing: counted for England only).
        survey: the survey name written into each row.
        groupings: ``(column, reference, dimension, level)`` for each binary dimension to model.
        outcomes: indicator name -> outcome column in ``frame``.
        weights: weight column or ``None``.
        references: covariate column -> its reference level (the plan's dimension reference).
    """
    specs = {i.name: i for i in plan.indicators}
    coded = _coded(frame, [*(g[0] for g in groupings), *plan.models.covariates],
                   list(outcomes.values()), weights)  # fmt: skip
    rows = []
    for region, cycle, positions in _slices(plan, frame, groupings):
        for indicator, outcome in outcomes.items():
            for column, reference, dimension, level in groupings:
                if not specs[indicator].compared_by(dimension) or (
                    region != NATIONAL and not plan.compared_in_regions(dimension, level)
                ):
                    continue
                cell = _Cell(outcome, column, reference, plan.models.covariates, references)
                keys = {"survey": survey, "cycle": cycle, "region": region,
                        "indicator": indicator, "dimension": dimension, "level": level}  # fmt: skip
                rows += [
                    {**row, **keys}
                    for row in _indicator_models(coded, positions, cell, level=plan.level)
                ]
    if not rows:
        return pd.DataFrame(columns=list(MODEL_TABLE_COLUMNS))
    table = pd.DataFrame(rows)
    table = table.assign(_regional=table["region"].ne(NATIONAL))
    return table.sort_values(
        ["survey", "cycle", "_regional", "region", "indicator", "dimension", "group", "model"],
        kind="stable",
    )[list(MODEL_TABLE_COLUMNS)]


def _slices(plan: Plan, frame: pd.DataFrame,
            groupings: list[tuple[str, str, str, str]]) -> list[tuple[str, int, np.ndarray]]:  # fmt: skip
    """``(region, cycle, row positions)`` of each slice modelled: England in every cycle, then
    each region in the latest cycle if a grouping is compared within regions; rows in frame
    order, slices in sorted order."""
    slices = [(NATIONAL, int(cycle), rows)
              for cycle, rows in sorted(frame.groupby("cycle").indices.items())]  # fmt: skip
    if len(frame) and any(plan.compared_in_regions(d, lvl) for *_, d, lvl in groupings):
        latest = frame["cycle"].max()
        in_latest = np.flatnonzero((frame["cycle"] == latest).to_numpy(dtype=bool))
        regions = frame["region"].iloc[in_latest]
        slices += [(str(region), int(latest), in_latest[rows])
                   for region, rows in sorted(regions.groupby(regions).indices.items())]  # fmt: skip
    return slices
