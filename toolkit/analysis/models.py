"""Adjusted comparisons for the results bundle: logistic regression per indicator.

For each indicator, cycle and binary dimension (e.g. ethnicity: ethnic minority vs White), in
England and, for the dimensions the plan compares within regions, in each region (the latest
cycle), the odds ratio of the outcome is estimated unadjusted and adjusted for the plan's
covariates (sector, career stage and region by default; within a region, region is constant
and is dropped, as ``note`` says), with :func:`toolkit.stats.models.logistic_rows` (the array
form of :func:`toolkit.stats.models.logistic`: sandwich standard errors when weighted;
separation detected and reported). Only the rows for the compared group are kept: covariate
odds ratios are nuisance terms here. The survey's columns are coded to integers once
(:class:`_Coded`); unweighted, each slice's respondents are counted into cells once per
indicator (:func:`_counted_cells`) and every fit works on those counts (exactly the fit on the
respondents); weighted, every fit takes its respondents by position.

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
from toolkit.stats.models import (
    MODEL_COLUMNS,
    Factor,
    coded_factor,
    factor_codes,
    logistic_count_rows,
    logistic_rows,
)

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

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        """Factor column -> its level labels."""
        return {column: labels for column, (labels, _) in self.factors.items()}


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


@dataclass(frozen=True)
class _Units:
    """One slice's respondents for one outcome, as the fits see them.

    Unweighted, the units are cells: the slice's respondents counted by outcome (0, 1 or
    missing) and level of every model column (missing included), in order of first
    appearance; weighted, they are the respondents, one unit each.

    Attributes:
        levels: factor column -> its level labels.
        codes: factor column -> each unit's level code (-1 missing).
        y: each unit's outcome (0/1, NaN = not answered).
        count: respondents per unit.
        weights: each unit's weight, or ``None`` for counted cells (unweighted).
    """

    levels: dict[str, tuple[str, ...]]
    codes: dict[str, np.ndarray]
    y: np.ndarray
    count: np.ndarray
    weights: np.ndarray | None


def _slice_units(coded: _Coded, rows: np.ndarray, outcome: str) -> _Units:
    """The respondents at positions ``rows`` for ``outcome`` as :class:`_Units`: counted
    cells (unweighted, :func:`_counted_cells`), else one unit per respondent."""
    y = coded.outcomes[outcome][rows]
    if not coded.weighted:
        return _counted_cells(coded, rows, y)
    codes = {column: codes[rows] for column, (_, codes) in coded.factors.items()}
    return _Units(coded.levels, codes, y, np.ones(len(rows)), coded.weights[rows])


def _counted_cells(coded: _Coded, rows: np.ndarray, y: np.ndarray) -> _Units:
    """Respondents at positions ``rows`` (outcome ``y``) counted per cell, a cell being one
    outcome state (missing, 0, 1) and one code (missing included) of every factor, with
    ``np.bincount`` on a mixed-radix key; cells numbered in order of first appearance
    (:func:`pandas.factorize`), so that every coarser cell a fit makes of them comes in the
    order the respondents would give it (:func:`toolkit.stats.models.aggregate_counted_cells`).
    """
    key = np.where(np.isnan(y), 0, y + 1).astype(np.int64)
    for labels, codes in coded.factors.values():
        key = key * (len(labels) + 1) + codes[rows] + 1
    cell, keys = pd.factorize(key)
    decoded = {}
    for column, (labels, _) in reversed(coded.factors.items()):
        keys, code = np.divmod(keys, len(labels) + 1)
        decoded[column] = code - 1
    count = np.bincount(cell, minlength=len(keys)).astype(float)
    outcome = np.array([np.nan, 0.0, 1.0])[keys]  # what is left of each key: the outcome state
    return _Units(coded.levels, decoded, outcome, count, None)


def _usable(units: _Units, kept: np.ndarray, covariates: Sequence[str]) -> tuple[str, ...]:
    """The ``covariates`` present with more than one level among the ``kept`` units."""
    return tuple(
        c
        for c in covariates
        if c in units.codes and np.count_nonzero(_level_counts(units, c, kept)) > 1
    )


def _level_counts(units: _Units, column: str, kept: np.ndarray) -> np.ndarray:
    """Respondents among the ``kept`` units at each level of factor ``column`` (missing not
    counted)."""
    codes, count = units.codes[column][kept], units.count[kept]
    recorded = codes >= 0
    return np.bincount(
        codes[recorded], weights=count[recorded], minlength=len(units.levels[column])
    )


def _covariate(units: _Units, column: str, kept: np.ndarray, reference: str | None) -> Factor:
    """Covariate ``column`` at the ``kept`` units as a factor against ``reference`` if that
    level has respondents among them, else against its largest level (most respondents, ties
    to the first, as :func:`toolkit.stats.models.largest_level`)."""
    levels = units.levels[column]
    counts = _level_counts(units, column, kept)
    if reference is None or reference not in levels or counts[levels.index(reference)] == 0:
        reference = levels[int(np.argmax(counts))]
    return coded_factor(column, levels, units.codes[column][kept], reference)


def _indicator_models(units: _Units, cell: _Cell, *, level: float) -> list[dict[str, object]]:
    """Unadjusted and adjusted odds ratios of ``cell.outcome`` for each group vs
    ``cell.reference``, among a slice's respondents (``units``, :func:`_slice_units`).

    Respondents count when the group and the outcome are recorded. Covariates absent or
    constant among them are dropped and named in ``note``; the others must be recorded too
    (both models are fitted on the same respondents). A covariate's reference
    (``cell.references``) with no respondents leaves it at its largest level. Counted cells
    are fitted with :func:`toolkit.stats.models.logistic_count_rows`, respondents with
    :func:`toolkit.stats.models.logistic_rows`: the same rows. Output: the rows of the group's
    levels (:data:`toolkit.stats.models.MODEL_COLUMNS` with ``group`` and ``reference_group``
    for the term names; ``n`` the group's respondents) and ``covariates``.
    """
    group_codes = units.codes[cell.group_column]
    kept = (group_codes >= 0) & ~np.isnan(units.y)
    usable = _usable(units, kept, cell.covariates)
    dropped = sorted(set(cell.covariates) - set(usable))
    for c in usable:
        kept &= units.codes[c] >= 0
    group = coded_factor(cell.group_column, units.levels[cell.group_column],
                         group_codes[kept], cell.reference)  # fmt: skip
    extra = [_covariate(units, c, kept, cell.references.get(c)) for c in usable]
    models = [("unadjusted", [group])] + ([("adjusted", [group, *extra])] if extra else [])
    if units.weights is None:
        fits = logistic_count_rows(units.y[kept], units.count[kept], models, level=level)
    else:
        fits = logistic_rows(units.y[kept], units.weights[kept], models, weighted=True,
                             level=level)  # fmt: skip
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
            units = _slice_units(coded, positions, outcome)
            for column, reference, dimension, level in groupings:
                if not specs[indicator].compared_by(dimension) or (
                    region != NATIONAL and not plan.compared_in_regions(dimension, level)
                ):
                    continue
                cell = _Cell(outcome, column, reference, plan.models.covariates, references)
                keys = {"survey": survey, "cycle": cycle, "region": region,
                        "indicator": indicator, "dimension": dimension, "level": level}  # fmt: skip
                rows += [
                    {**row, **keys} for row in _indicator_models(units, cell, level=plan.level)
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
