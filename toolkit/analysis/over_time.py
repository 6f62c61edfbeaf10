"""Over time: is bias reducing, and are we keeping people? (issue 6)

The plan section :class:`OverTimeSpec` and :func:`over_time_tables`, which turns the store's
survey cycles and records into the bundle tables, each already suppressed:

1. survey trends (:mod:`toolkit.analysis.trends`): ``trend_gaps``, ``trend_interactions``,
   ``trend_changes``, ``intention_to_leave`` and the respondents' half of ``representation``;
2. records (:mod:`toolkit.analysis.records`): ``workforce_rates``, ``survival_curves``,
   ``survival_summary``, ``survival_cox``, ``survival_logrank``, ``trainee_outcomes``,
   ``recruitment`` and the workforce's half of ``representation``;
3. disclosure control over all of them at once (:func:`toolkit.disclosure.suppression.suppress_linked`),
   with the layouts, links and hierarchy returned so the bundle writer can run
   :func:`toolkit.disclosure.suppression.assert_no_disclosure` again.

Suppression rules beyond the usual primary/secondary ones (DOMAIN.md section 7):

* the minimum n for a trend verdict is never below the suppression threshold, and a verdict row
  whose group or reference has fewer than the threshold in a cycle keeps its words ("too few
  responses to say") but no numbers;
* ``trend_interactions`` and ``trend_changes`` rows are withheld when any cell they are computed
  from is suppressed in ``trend_gaps``; the changes' p-values are adjusted for multiplicity after
  that, so a withheld row's p-value never enters a published adjustment;
* Kaplan-Meier curves are published on a monthly grid and stop where fewer than the threshold are
  still at risk (the later rows are kept, suppressed, with the reason); a group under the
  threshold is suppressed at every time; S(t) and the median are withheld when fewer than the
  threshold are at risk at that time; Cox and log-rank are fitted without groups under the
  threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from toolkit.analysis import records as analysis_records
from toolkit.analysis import trends as analysis_trends
from toolkit.analysis.plan import DimensionLevel, IndicatorSpec, OverTimeSpec
from toolkit.disclosure.suppression import Link, SuppressionPolicy, TableLayout, suppress_linked
from toolkit.instruments.dimensions import group_hierarchy
from toolkit.instruments.model import Instrument


@dataclass(frozen=True)
class OverTimeResult:
    """The over-time bundle tables and how they were protected.

    Attributes:
        tables: name -> suppressed table (``suppressed`` and ``suppression_reason`` columns).
        layouts, links, hierarchy: what :func:`toolkit.disclosure.suppression.assert_no_disclosure` needs.
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
    return group_hierarchy(instrument, levels=levels)


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
            :func:`toolkit.instruments.versions.instrument_versions`) so trends use only comparable
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
    tables["trend_changes"] = analysis_trends.changes_with_multiplicity(
        tables["trend_changes"], spec
    )
    return OverTimeResult(tables=tables, layouts=layouts, links=links, hierarchy=hierarchy, raw=raw)
