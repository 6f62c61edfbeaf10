"""Over time: is bias reducing, and are we keeping people? (issue 6)

The plan section :class:`OverTimeSpec` and :func:`over_time_tables`, which turns the store's
survey cycles and records into the bundle tables, each already suppressed:

1. survey trends (:mod:`toolkit.analysis_trends`): ``trend_gaps``, ``trend_interactions``,
   ``trend_changes``, ``intention_to_leave`` and the respondents' half of ``representation``;
2. records (:mod:`toolkit.analysis_records`): ``workforce_rates``, ``survival_curves``,
   ``survival_summary``, ``survival_cox``, ``survival_logrank``, ``trainee_outcomes``,
   ``recruitment`` and the workforce's half of ``representation``;
3. disclosure control over all of them at once (:func:`toolkit.disclosure.suppress_linked`),
   with the layouts, links and hierarchy returned so the bundle writer can run
   :func:`toolkit.disclosure.assert_no_disclosure` again.

Suppression rules beyond the usual primary/secondary ones (DOMAIN.md section 7):

* the minimum n for a trend verdict is never below the suppression threshold, and a verdict row
  whose group or reference has fewer than the threshold in a cycle keeps its words ("too few
  responses to say") but no numbers;
* ``trend_interactions`` and ``trend_changes`` rows are withheld when any cell they are computed
  from is suppressed in ``trend_gaps``;
* Kaplan-Meier curves are published on a monthly grid and stop where fewer than the threshold are
  still at risk (the later rows are kept, suppressed, with the reason); a group under the
  threshold is suppressed at every time; S(t) and the median are withheld when fewer than the
  threshold are at risk at that time; Cox and log-rank are fitted without groups under the
  threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from toolkit import analysis_records, analysis_trends
from toolkit.analysis_trends import DimensionLevel
from toolkit.dimensions import group_hierarchy
from toolkit.disclosure import Link, SuppressionPolicy, TableLayout, suppress_linked
from toolkit.instrument import Instrument
from toolkit.plan import DimensionSpec, IndicatorSpec, Plan


def _dims(*pairs: tuple[str, str]) -> tuple[DimensionLevel, ...]:
    return tuple(DimensionLevel(name=name, level=level) for name, level in pairs)


class OverTimeSpec(BaseModel):
    """The ``over_time`` section of ``analysis/plan.yaml``.

    Attributes:
        indicators: plan indicator names that get trends; None = every plan indicator.
        trend_dimensions: dimensions and levels compared across cycles.
        min_n: fewest responses per cycle in a group and in the reference for a trend verdict
            (raised to the suppression threshold when lower).
        weights: optional survey weight column for the trend models (design-based SEs).
        multiplicity_method: p-value adjustment of the trend interactions.
        multiplicity_family: columns of ``trend_interactions`` that define one family.
        retention_survey: the survey holding the intention-to-leave items.
        leaving_items: items reported in ``intention_to_leave`` (their ``outcome`` codes count).
        leaving_scale: the combined score (an instrument scale), NHS 0-10 scoring.
        record_dimensions: dimensions of the workforce rates and trainee outcomes.
        survival_dimensions: dimensions of the time-in-post curves, Cox and log-rank.
        km_times: years at which S(t) is reported.
        km_grid_months: spacing of the published Kaplan-Meier grid.
        ties: Cox ties method (``efron`` as R's coxph, or ``breslow``).
        years: workforce years; None = the survey cycles (or, without responses, the records'
            cycles). Year Y runs from the 1st of ``year_start_month`` in Y for twelve months.
        year_start_month: 4 = NHS financial years (April to March).
        benchmark: CSV with ``region, group, share`` (and optional ``level``) to use instead of
            the packaged Census 2021 benchmark.
        representation_levels: ethnicity levels compared with the benchmark.
        recruitment_standards: appointment-from-shortlisting presets reported.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicators: tuple[str, ...] | None = None
    trend_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"),
        ("ethnicity", "grouped"),
        ("disability", "binary"),
        ("sector", "detailed"),
        ("career_stage", "detailed"),
    )
    min_n: int = 30
    weights: str | None = None
    multiplicity_method: Literal["fdr_bh", "holm"] = "fdr_bh"
    multiplicity_family: tuple[str, ...] = ("dimension", "level")
    retention_survey: str = "retention"
    leaving_items: tuple[str, ...] = ("think_leaving", "look_new_job", "leave_asap",
                                      "intend_leave_12m")  # fmt: skip
    leaving_scale: str = "thinking_about_leaving"
    record_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"),
        ("ethnicity", "grouped"),
        ("disability", "binary"),
        ("sector", "detailed"),
        ("career_stage", "detailed"),
        ("region", "detailed"),
    )
    survival_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"), ("disability", "binary")
    )
    km_times: tuple[float, ...] = (1.0, 2.0, 3.0)
    km_grid_months: int = 1
    ties: Literal["efron", "breslow"] = "efron"
    years: tuple[int, ...] | None = None
    year_start_month: int = 4
    benchmark: Path | None = None
    representation_levels: tuple[str, ...] = ("binary", "grouped")
    recruitment_standards: tuple[Literal["WRES 2", "WDES 2"], ...] = ("WRES 2", "WDES 2")


@dataclass(frozen=True)
class OverTimeResult:
    """The over-time bundle tables and how they were protected.

    Attributes:
        tables: name -> suppressed table (``suppressed`` and ``suppression_reason`` columns).
        layouts, links, hierarchy: what :func:`toolkit.disclosure.assert_no_disclosure` needs.
        raw: the same tables before suppression (to suppress jointly with other tables).
    """

    tables: dict[str, pd.DataFrame]
    layouts: dict[str, TableLayout]
    links: tuple[Link, ...]
    hierarchy: pd.DataFrame
    raw: dict[str, pd.DataFrame] = field(repr=False)


def dimension_hierarchy(
    instrument: Instrument, dimensions: Sequence[DimensionLevel]
) -> pd.DataFrame:
    """``group -> parent group`` rows between the levels of each dimension used."""
    levels: dict[str, list[str]] = {}
    for dim in dimensions:
        known = levels.setdefault(dim.name, [])
        if dim.level not in known:
            known.append(dim.level)
    plan = Plan(
        name="over_time",
        title="over time",
        dimensions=tuple(DimensionSpec(name=n, levels=tuple(lv)) for n, lv in levels.items()),
        indicators=(),
    )
    return group_hierarchy(plan, instrument)


def workforce_years(
    spec: OverTimeSpec, responses: Mapping[str, pd.DataFrame], records: Mapping[str, pd.DataFrame]
) -> tuple[int, ...]:
    """The workforce years: the spec's, else the survey cycles, else the records' cycles."""
    if spec.years:
        return spec.years
    for tables in (responses, records):
        cycles = {int(c) for t in tables.values() if "cycle" in t for c in t["cycle"].dropna()}
        if cycles:
            return tuple(sorted(cycles))
    return ()


def _withhold_derived(tables: dict[str, pd.DataFrame]) -> None:
    """Pre-suppress trend rows computed from a cell suppressed in ``trend_gaps`` (in place)."""
    gaps = tables["trend_gaps"]
    hidden = gaps[gaps["suppressed"]]
    for name in ("trend_interactions", "trend_changes"):
        table = tables[name]
        marked = analysis_trends.computed_from_hidden(table, hidden)
        table["suppressed"] = marked
        table["suppression_reason"] = pd.Series(
            [analysis_trends.REASON_DERIVED if m else None for m in marked],
            index=table.index,
            dtype=object,
        )


def over_time_tables(
    *,
    responses: Mapping[str, pd.DataFrame],
    instruments: Mapping[str, Instrument],
    records: Mapping[str, pd.DataFrame],
    record_instruments: Mapping[str, Instrument],
    indicators: Sequence[IndicatorSpec],
    spec: OverTimeSpec,
    policy: SuppressionPolicy,
    level: float = 0.95,
    versions: Mapping[str, Sequence[Instrument]] | None = None,
) -> OverTimeResult:
    """Every over-time table, suppressed.

    Args:
        responses: survey name -> its store table (``responses_<survey>``, every cycle).
        instruments: survey name -> its current instrument.
        records: record kind (workforce, training, recruitment) -> its store table
            (``records_<kind>``); a kind that is absent or empty gives empty tables.
        record_instruments: record kind -> its record instrument.
        indicators: the plan's indicators (``spec.indicators`` picks among them).
        spec: the plan's ``over_time`` section.
        policy: the suppression policy of the bundle.
        level: confidence level.
        versions: survey name -> every version of its instrument (oldest first, e.g.
            :func:`toolkit.survey_versions.instrument_versions`) so trends use only comparable
            cycles; without it items are compared by name and the tables say so.

    Returns:
        :class:`OverTimeResult`.
    """
    min_n = max(spec.min_n, policy.threshold)
    raw = analysis_trends.survey_tables(
        responses, instruments, indicators, spec, level=level, min_n=min_n, versions=versions
    )
    years = workforce_years(spec, responses, records)
    raw |= analysis_records.record_tables(
        records, record_instruments, spec, years=years, level=level, threshold=policy.threshold
    )
    raw["representation"] = pd.concat(
        [raw.pop("representation_respondents"), raw.pop("representation_workforce")],
        ignore_index=True,
    )
    layouts = {**analysis_trends.LAYOUTS, **analysis_records.LAYOUTS}
    links = analysis_trends.LINKS
    some_instrument = next(iter({**instruments, **record_instruments}.values()), None)
    used = (*spec.trend_dimensions, *spec.record_dimensions,
            *(DimensionLevel(name="ethnicity", level=lv) for lv in spec.representation_levels))  # fmt: skip
    hierarchy = dimension_hierarchy(some_instrument, used) if some_instrument else pd.DataFrame()
    gaps = suppress_linked(
        {"trend_gaps": raw["trend_gaps"]}, policy=policy, layouts=layouts, hierarchy=hierarchy
    )
    staged = {**raw, **gaps}
    _withhold_derived(staged)
    tables = suppress_linked(
        staged, policy=policy, layouts=layouts, links=links, hierarchy=hierarchy
    )
    return OverTimeResult(tables=tables, layouts=layouts, links=links, hierarchy=hierarchy, raw=raw)
