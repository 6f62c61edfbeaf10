"""Adjusted comparisons for the results bundle: logistic regression per indicator.

For each indicator, cycle and binary dimension (e.g. ethnicity: ethnic minority vs White), in
England and, for the dimensions the plan compares within regions, in each region (the latest
cycle), the odds ratio of the outcome is estimated unadjusted and adjusted for the plan's
covariates (sector, career stage and region by default; within a region, region is constant
and is dropped, as ``note`` says), with :func:`toolkit.stats.models.logistic` (sandwich standard
errors when weighted; separation detected and reported). Only the rows for the compared group
are kept: covariate odds ratios are nuisance terms here.

Columns: survey, cycle, region, indicator, dimension, level, group, reference_group,
model, odds_ratio, ci_low, ci_high, p_value, se, n, converged, separation, covariates,
note. ``n`` is the number of respondents in the group who answered (the disclosure base).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from toolkit.analysis.plan import Plan
from toolkit.instruments.model import Instrument
from toolkit.stats.models import MODEL_COLUMNS, logistic

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


def _group_rows(fit: pd.DataFrame, group_column: str, counts: pd.Series) -> pd.DataFrame:
    rows = fit[fit["variable"] == group_column].rename(
        columns={"level": "group", "reference_level": "reference_group"}
    )
    rows = rows.drop(columns=["n"]).assign(n=rows["group"].map(counts).fillna(0).astype("int64"))
    return rows


def indicator_models(
    frame: pd.DataFrame,
    *,
    outcome: str,
    group_column: str,
    reference: str,
    covariates: tuple[str, ...],
    references: dict[str, str],
    weights: str | None,
    level: float,
) -> pd.DataFrame:
    """Unadjusted and adjusted odds ratios of ``outcome`` for each group vs ``reference``.

    Args:
        frame: respondents of one slice with the outcome (0/1/NaN), the group column and
            the covariate columns.
        outcome, group_column, reference: what is compared.
        covariates: adjustment columns (categorical); absent or constant ones are dropped
            and named in ``note``.
        references: covariate -> reference level from the plan's dimensions; one not in the
            data leaves the covariate at its largest level.
        weights: weight column or ``None``.
        level: confidence level.
    """
    data = frame[frame[group_column].notna() & frame[outcome].notna()]
    usable = tuple(c for c in covariates if c in data and data[c].nunique(dropna=True) > 1)
    dropped = sorted(set(covariates) - set(usable))
    data = data.dropna(subset=list(usable))
    fit = logistic(
        data,
        outcome=outcome,
        group=group_column,
        reference=reference,
        covariates=usable,
        references={c: r for c, r in references.items() if c in usable and data[c].eq(r).any()},
        weights=weights,
        level=level,
    )
    counts = data[group_column].value_counts()
    rows = _group_rows(fit, group_column, counts)
    rows["covariates"] = (
        rows["model"].map({"adjusted": ", ".join(usable), "unadjusted": ""}).fillna("")
    )
    if dropped:
        rows["note"] = (
            rows["note"].fillna("").astype(str)
            + f" covariates not used (constant or absent): {', '.join(dropped)}"
        )
    return rows


def _compact(
    frame: pd.DataFrame, factors: Sequence[str], others: Sequence[str | None]
) -> pd.DataFrame:
    """The columns of ``frame`` the fits use, its text ``factors`` as categoricals: the many
    fits then filter a few columns of codes instead of copying every answer's text."""
    keep = list(dict.fromkeys(c for c in (*factors, *others) if c is not None and c in frame))
    text = [
        c for c in factors if c in frame and not isinstance(frame[c].dtype, pd.CategoricalDtype)
    ]
    return frame[keep].astype(dict.fromkeys(text, "category"))


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
    frame = _compact(frame, [*(g[0] for g in groupings), *plan.models.covariates],
                     ["cycle", "region", *outcomes.values(), weights])  # fmt: skip
    slices = [(NATIONAL, cycle, part) for cycle, part in frame.groupby("cycle", sort=True)]
    if len(frame) and any(plan.compared_in_regions(d, lvl) for *_, d, lvl in groupings):
        latest = frame[frame["cycle"] == frame["cycle"].max()]
        slices += [(region, latest["cycle"].iloc[0], part)
                   for region, part in latest.groupby("region", sort=True, observed=True)]  # fmt: skip
    parts = []
    for region, cycle, part in slices:
        for indicator, outcome in outcomes.items():
            for column, reference, dimension, level in groupings:
                if not specs[indicator].compared_by(dimension) or (
                    region != NATIONAL and not plan.compared_in_regions(dimension, level)
                ):
                    continue
                rows = indicator_models(
                    part,
                    outcome=outcome,
                    group_column=column,
                    reference=reference,
                    covariates=plan.models.covariates,
                    references=references,
                    weights=weights,
                    level=plan.level,
                )
                parts.append(
                    rows.assign(
                        survey=survey,
                        cycle=int(cycle),
                        region=str(region),
                        indicator=indicator,
                        dimension=dimension,
                        level=level,
                    )
                )
    if not parts:
        return pd.DataFrame(columns=list(MODEL_TABLE_COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    table = table.assign(_regional=table["region"].ne(NATIONAL))
    return table.sort_values(
        ["survey", "cycle", "_regional", "region", "indicator", "dimension", "group", "model"],
        kind="stable",
    )[list(MODEL_TABLE_COLUMNS)]
