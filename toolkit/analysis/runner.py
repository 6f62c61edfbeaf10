"""Run an analysis plan over the store and produce a results bundle.

The steps read as a list (STYLE.md, "a top-level script that reads as a list of steps"):

1. load the instruments the plan uses and read each survey's responses from the store;
2. derive the equality groups (dimensions, levels, intersections) and the indicators' 0/1
   outcomes, and the survey weights the plan asks for;
3. compare groups: rates with CIs, relative likelihood and gap against the reference group
   and a test of association, for every indicator x cycle x (England and each region) x
   dimension x level, in one vectorised sweep (:func:`toolkit.stats.sweep.comparison_sweep`);
4. adjusted odds ratios, Likert distributions, scale scores and their reliability;
5. apply disclosure control to every table together (primary and secondary suppression,
   linked across tables) and withhold tests that would involve a suppressed group;
6. adjust p-values of the published comparisons within the plan's multiplicity family;
7. audit the disclosure control (the independent auditor's attack) and, beside it in a second
   process, small numbers: funnels of regions and partially pooled estimates for the headline
   indicators, from the published comparison cells only (:mod:`toolkit.analysis.small_numbers`),
   then rounding and the suppressor's own audit;
8. return the bundle with its manifest.

Comparison rows have the columns :data:`COMPARISON_COLUMNS` (DESIGN.md decision 4).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit import __version__
from toolkit.analysis import records as analysis_records
from toolkit.analysis import small_numbers as analysis_small
from toolkit.analysis import trends as analysis_trends
from toolkit.analysis.likert import likert_table, scale_tables
from toolkit.analysis.models import covariate_references, model_table
from toolkit.analysis.over_time import OverTimeResult, over_time_tables
from toolkit.analysis.plan import IndicatorSpec, Plan
from toolkit.analysis.weights import plan_weights
from toolkit.background import start_in_background
from toolkit.bundle import Bundle
from toolkit.disclosure.audit import (
    HIERARCHY_TABLE,
    RELEASE_TABLES,
    assert_protected,
    read_release,
)
from toolkit.disclosure.suppression import (
    TOTAL_GROUP,
    Link,
    SuppressionPolicy,
    TableLayout,
    assert_no_disclosure,
    round_counts,
    suppress_linked,
)
from toolkit.errors import PtwError
from toolkit.ingest.batch import PROVENANCE_COLUMNS, RECORD_KINDS, table_name
from toolkit.instruments.dimensions import (
    INTERSECTION_SEPARATOR,
    NOT_STATED,
    categories,
    distinct_codes,
    every_group,
    group_hierarchy,
    group_labels,
    intersect,
    level_groups,
)
from toolkit.instruments.model import Instrument, instrument_path, load_instrument
from toolkit.instruments.versions import instrument_versions
from toolkit.stats.multiplicity import adjust_p_values
from toolkit.stats.proportions import answers_and_events
from toolkit.stats.sweep import Grouping, comparison_sweep
from toolkit.store.database import ResponseStore

NATIONAL = "England"
WEIGHT = "_weight"
NOT_ANALYSED = tuple(c for c in PROVENANCE_COLUMNS if c not in ("cycle", "region"))
"""Stored columns of a response that no analysis reads (its batch, keyed identifier, row in
the export and warning flag): left in the store, so that no analysis frame, worker process or
bundle holds an identifier (and, at 700,000 responses a survey, about 230 MB of text less)."""
COMPARISON_COLUMNS = (
    "survey", "cycle", "region", "indicator", "item", "dimension", "level", "group", "reference_group",
    "is_reference", "n", "events", "weighted_n", "estimate", "se", "ci_low", "ci_high", "ci_method",
    "rel_likelihood", "rl_ci_low", "rl_ci_high", "rl_ci_method", "p_value", "p_adjusted",
    "adjust_method", "outside_band", "band_convention", "diff", "diff_ci_low", "diff_ci_high",
    "diff_ci_method", "test", "statistic", "dof", "test_p_value", "suppressed",
    "suppression_reason", "note",
)  # fmt: skip
"""Columns of the bundle's ``comparisons`` table (one row per survey x cycle x region x
indicator x dimension x level x group; ``p_value`` tests the group against the reference,
``test_p_value`` the association over the whole dimension level)."""
PARTITION = ("survey", "cycle", "region", "indicator", "dimension", "level")
PROFILE_PARTITION = ("survey", "cycle", "region", "dimension", "level")
CELL = ("survey", "cycle", "region", "dimension", "level", "group")
TEST_RESULT = ("test", "statistic", "dof", "test_p_value")
LAYOUTS = {
    "comparisons": TableLayout(
        partition_cols=PARTITION, complete=False, within_base=("events",), lists_everyone=True
    ),
    "response_profile": TableLayout(
        partition_cols=PROFILE_PARTITION, lists_everyone=True, zeros_shown=True
    ),
    "models": TableLayout(
        partition_cols=PARTITION, complete=False, reference_col="reference_group"
    ),
    "likert": TableLayout(
        partition_cols=("survey", "cycle", "region", "item", "dimension", "level"),
        complete=False,
        key_cols=("answer", "order"),
    ),
    "scales": TableLayout(
        partition_cols=("survey", "cycle", "region", "scale", "dimension", "level"), complete=False
    ),
    "reliability": TableLayout(partition_cols=("survey", "cycle", "scale", "dimension", "level")),
}
LINKS = (
    Link(("comparisons", "models"), (*CELL, "indicator")),
    Link(("comparisons", "likert"), (*CELL, "item")),
    Link(("response_profile", "comparisons"), CELL, one_way=True),
)
"""Cells that are the same count in two tables: the group's respondents answering one item
(an indicator's comparison row, its model rows and the item's Likert rows). The response
profile counts a group's respondents, which bound those answering each item; nearly everyone
answers most items, so a group hidden in the profile (say to protect a "Not stated" of 8) would
be pinned by its item rows (784 answered, so at least 784 responded): its item rows are hidden
with it (one way: an item row hidden for its own small n says nothing the profile must hide)."""


TIME_LINK = Link(("comparisons", "trend_gaps"), (*CELL, "indicator"))
PROFILE_TIME_LINK = Link(
    ("response_profile", "trend_gaps", "intention_to_leave"), CELL, one_way=True
)
"""A group hidden in the response profile is hidden in the over-time rows of the same cycle too
(the same people answering each item, as for ``comparisons``)."""
BUNDLE_LAYOUTS = {**LAYOUTS, **analysis_trends.LAYOUTS, **analysis_records.LAYOUTS,
                  **analysis_small.LAYOUTS}  # fmt: skip
BUNDLE_LINKS = (*LINKS, *analysis_trends.LINKS, TIME_LINK, PROFILE_TIME_LINK,
                *analysis_small.LINKS)  # fmt: skip
"""How every suppressed table of a bundle is laid out and linked, for audits after the fact."""
ORDER_TABLE = "group_order"
GROUP_ORDER_COLUMNS = ("dimension", "level", "group", "dimension_order", "level_order",
                       "group_order", "is_reference")  # fmt: skip
"""Columns of the bundle's ``group_order`` table: one row per dimension x level x group that a
table can hold. ``dimension_order`` and ``level_order`` follow the plan (ethnicity, disability,
sector, career stage, then intersections; coarsest level first); ``group_order`` sorts a
level's groups as a report shows them: 0 for a total row ("All respondents", "All staff", ...),
then the reference group, then the other groups in the instrument's (questionnaire) order, then
"Not stated" last. Intersections sort by their margins' orders in turn."""
TOTAL_ROWS = ("All respondents", "All staff", "All trainees", "All shortlisted")
LEVEL_TOTAL_ROWS = ("All who stated", "all groups")
"""Rows about a whole dimension level (representation's total, the log-rank test's row)."""
ROW_KEYS = ("survey", "source", "cycle", "year", "cohort", "region", "indicator", "item", "scale",
            "standard", "measure")  # fmt: skip
"""Columns that place a row in a table before its dimension and group (sorted in table order)."""
WITHIN_GROUP_KEYS = ("model", "statistic", "time")
"""Columns that order a group's own rows (models, survival statistics, curve times)."""
RESPONSE_RATE_COLUMNS = ("survey", "cycle", "region", "respondents", "headcount", "headcount_date",
                         "response_rate", "note", "suppressed")  # fmt: skip
"""Columns of the bundle's ``response_rates`` table: respondents (the "All respondents" row of
``response_profile``) against the technicians in post in the region on the first day of the
cycle's workforce year (``workforce_rates`` "All staff" ``headcount_start``)."""


@dataclass(frozen=True)
class SurveyFrame:
    """One survey's respondents with derived columns, ready for the statistics.

    Attributes:
        instrument: the survey's instrument.
        frame: stored answers plus one column per grouping and per indicator outcome, and
            ``_weight`` when the plan weights.
        groupings: the groupings compared (column, reference, dimension, level).
        outcomes: indicator name -> outcome column.
        weights: the weight column, or ``None``.
        weighting: raking diagnostics (empty when unweighted).
    """

    instrument: Instrument
    frame: pd.DataFrame
    groupings: list[Grouping]
    outcomes: dict[str, str]
    weights: str | None
    weighting: pd.DataFrame = field(default_factory=pd.DataFrame)

    @cached_property
    def stated_groups(self) -> dict[str, pd.Series]:
        """Each grouping's column with missing groups as "Not stated", categorical over every
        group (:func:`~toolkit.instruments.dimensions.every_group`), made once for the
        response profile and the gate's counts."""
        return {g.column: every_group(self.frame[g.column]) for g in self.groupings}

    @cached_property
    def place_codes(self) -> dict[str, tuple[np.ndarray, pd.Index]]:
        """``cycle`` and ``region`` factorized once (:func:`pandas.factorize`, sorted): each
        row's code (-1 missing) and the sorted distinct values, for counts by place."""
        return {key: pd.factorize(self.frame[key], sort=True) for key in ("cycle", "region")}


def grouping_columns(
    plan: Plan, instrument: Instrument, answers: pd.DataFrame
) -> tuple[pd.DataFrame, list[Grouping]]:
    """One group-label column per dimension x level and per intersection (plan order)."""
    columns: dict[str, pd.Series] = {}
    found: list[Grouping] = []
    for spec in plan.dimensions:
        dimension = instrument.dimension(spec.name)
        for level, labels in level_groups(answers, instrument, dimension, spec.levels).items():
            column = f"_g_{spec.name}_{level}"
            columns[column] = labels
            found.append(Grouping(column, dimension.reference[level], spec.name, level))
    for spec in plan.intersections:
        dims = [instrument.dimension(name) for name in spec.dimensions]
        levels = [spec.level_of(i) for i in range(len(dims))]
        parts = [
            columns[f"_g_{d.name}_{lv}"]
            if f"_g_{d.name}_{lv}" in columns
            else group_labels(answers, instrument, d, lv)
            for d, lv in zip(dims, levels, strict=True)
        ]
        column = f"_g_{'_'.join(spec.dimensions)}_{'_'.join(levels)}"
        columns[column] = intersect(parts)
        reference = " × ".join(d.reference[lv] for d, lv in zip(dims, levels, strict=True))
        found.append(Grouping(column, reference, spec.name, "×".join(levels)))
    return answers.assign(**columns), found


def indicator_outcome(
    answers: pd.DataFrame, instrument: Instrument, indicator: IndicatorSpec
) -> pd.Series:
    """1 if the answer is one of the indicator's events, 0 if another substantive answer,
    NaN if blank or a non-substantive answer ("Prefer not to say", "Don't know"); decided once
    per distinct answer (:func:`~toolkit.instruments.dimensions.distinct_codes`)."""
    coded = distinct_codes(answers[indicator.item])
    missing = {c.code for c in instrument.choices(indicator.item) if c.missing}
    outcome = [np.nan if code in missing else float(code in indicator.events)
               for code in coded.values]  # fmt: skip
    return pd.Series(np.array([*outcome, np.nan])[coded.codes], index=answers.index,
                     name=indicator.item)  # fmt: skip


def prepare_survey(
    plan: Plan, instrument: Instrument, answers: pd.DataFrame, *, plan_dir: Path
) -> SurveyFrame:
    """Steps 2: groups, outcomes and weights for one survey's stored answers."""
    frame, found = grouping_columns(plan, instrument, answers.reset_index(drop=True))
    indicators = [i for i in plan.indicators if i.survey == instrument.name]
    outcomes = {i.name: f"_y_{i.name}" for i in indicators}
    frame = frame.assign(
        **{outcomes[i.name]: indicator_outcome(frame, instrument, i) for i in indicators}
    )
    weights, weighting = plan_weights(
        plan.weights, frame, survey=instrument.name, plan_dir=plan_dir
    )
    if weights is not None:
        frame[WEIGHT] = weights
    return SurveyFrame(
        instrument, frame, found, outcomes, WEIGHT if weights is not None else None, weighting
    )


def survey_comparisons(plan: Plan, survey: SurveyFrame, *, threshold: int) -> pd.DataFrame:
    """Step 3: the comparison rows of one survey, nationally and (if planned) by region at the
    plan's ``regional_levels``.

    A dimension's test of association is not run where a group has fewer than ``threshold``
    answers: that group will be suppressed, and the test with it.
    """
    options = {
        "weights": survey.weights,
        "level": plan.level,
        "band": plan.band,
        "test_min_n": threshold,
    }
    outcome_columns = list(survey.outcomes.values())
    parts = [
        comparison_sweep(
            survey.frame,
            outcomes=outcome_columns,
            groupings=survey.groupings,
            split_by=("cycle",),
            **options,
        ).assign(region=NATIONAL)
    ]
    regional = [g for g in survey.groupings if plan.compared_in_regions(g.dimension, g.level)]
    if regional:
        parts.append(
            comparison_sweep(
                survey.frame,
                outcomes=outcome_columns,
                groupings=regional,
                split_by=("cycle", "region"),
                **options,
            )
        )
    table = pd.concat(parts, ignore_index=True)
    indicator = {column: name for name, column in survey.outcomes.items()}
    items = {i.name: i.item for i in plan.indicators}
    table = table.assign(survey=survey.instrument.name, indicator=table["outcome"].map(indicator))
    table = table[compared_rows(table, plan.indicators)].reset_index(drop=True)
    return table.assign(item=table["indicator"].map(items))


def unprinted_regional_comparisons(plan: Plan, survey: SurveyFrame) -> pd.DataFrame:
    """Answers (``n``) and events per group in each region, for every indicator and each
    grouping the release compares for England only (columns ``survey, cycle, region, indicator,
    dimension, level, group, n, events``; counts as :func:`survey_comparisons` has them,
    unweighted). Never published: like :func:`unprinted_profile`, the release gate's
    true value of regional cells that an attacker's sums over regions bring in, which it would
    otherwise solve for."""
    parts = []
    for grouping in survey.groupings:
        if plan.compared_in_regions(grouping.dimension, grouping.level):
            continue
        labels = survey.stated_groups[grouping.column]
        counts = _answers_and_events_by_place(survey, labels)
        parts.append(counts.assign(dimension=grouping.dimension, level=grouping.level))
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    indicator = {column: name for name, column in survey.outcomes.items()}
    table = table.assign(survey=survey.instrument.name, indicator=table["outcome"].map(indicator))
    table = table[compared_rows(table, plan.indicators)]
    return table[["survey", "cycle", "region", "indicator", "dimension", "level", "group", "n",
                  "events"]].reset_index(drop=True)  # fmt: skip


def _answers_and_events_by_place(survey: SurveyFrame, labels: pd.Series) -> pd.DataFrame:
    """Answers and events of every outcome per group of categorical ``labels`` (every
    category) in each cycle x region that has respondents (rows missing a cycle or region not
    counted), from :func:`~toolkit.stats.proportions.answers_and_events` on the cell code
    ``(cycle x region) x groups + group`` (:attr:`SurveyFrame.place_codes`).

    Output columns: cycle, region, group (``labels``' categorical), outcome, n, events; cells
    in key order (sorted cycles, sorted regions, categories), outcomes in the survey's order
    within a cell.
    """
    (cycle, cycles), (region, regions) = survey.place_codes["cycle"], survey.place_codes["region"]
    groups, places = len(labels.cat.categories), len(cycles) * len(regions)
    recorded = (cycle >= 0) & (region >= 0)
    place = np.where(recorded, cycle * len(regions) + region, -1)
    cell = np.where(recorded, place * groups + labels.cat.codes.to_numpy(), -1)
    outcomes = {o: survey.frame[o].to_numpy(dtype=float) for o in survey.outcomes.values()}
    counts = answers_and_events(outcomes, cell, places * groups)
    seen = np.bincount(place[recorded], minlength=places) > 0  # places with respondents
    counts = counts[seen[counts["cell"].to_numpy() // groups]]
    place_of, group = np.divmod(counts["cell"].to_numpy(), groups)
    return pd.DataFrame({
        **_place_columns(survey, ("cycle", "region"), place_of),
        "group": pd.Categorical.from_codes(group, dtype=labels.dtype),
        "outcome": counts["outcome"].to_numpy(),
        "n": counts["n"].to_numpy(),
        "events": counts["events"].to_numpy(),
    })  # fmt: skip


def compared_rows(table: pd.DataFrame, indicators: Sequence[IndicatorSpec]) -> pd.Series:
    """True for rows whose dimension the row's indicator is compared by
    (:meth:`IndicatorSpec.compared_by`; e.g. WDES 8 has no disability comparison)."""
    specs = {i.name: i for i in indicators}
    pairs = table[["indicator", "dimension"]].drop_duplicates()
    kept = {
        (name, dim)
        for name, dim in pairs.itertuples(index=False)
        if name not in specs or specs[name].compared_by(dim)
    }
    keys = pd.Series(
        list(zip(table["indicator"], table["dimension"], strict=True)), index=table.index
    )
    return keys.isin(kept)


def response_profile(plan: Plan, survey: SurveyFrame) -> pd.DataFrame:
    """Respondents per group of every (non-intersection) grouping, nationally and, for the
    groupings compared within regions (``plan.regional_levels``), by region.

    Non-substantive answers are counted as the group "Not stated" (the declaration rate). Each
    survey x cycle x region also has one "All respondents" row (dimension and level "all"): the
    number of people who responded, the one count a report quotes (never a sum over groupings,
    which would count each person once per grouping).
    """
    frame = survey.frame
    rows = []
    for keys in (("cycle",), ("cycle", "region")):
        counts = frame.groupby(list(keys)).size().rename("n").reset_index()
        rows.append(counts.assign(dimension="all", level="all", group=TOTAL_GROUP))

    def printed(grouping: Grouping) -> tuple[tuple[str, ...], ...]:
        if _crossed(grouping):
            return ()
        regional = plan.compared_in_regions(grouping.dimension, grouping.level)
        return (("cycle",), ("cycle", "region")) if regional else (("cycle",),)

    return _profile_table(survey, rows + _group_counts(survey, printed))


def unprinted_profile(plan: Plan, survey: SurveyFrame) -> pd.DataFrame:
    """Respondents per group in the cells the response profile never prints: each region for
    the groupings it prints for England only, and England and each region for intersections
    (columns as :func:`response_profile`). Never published: the release gate's true value of
    cells an attacker's sums over regions, or an item's answers within its group's respondents,
    bring in, which it would otherwise solve for (:func:`~toolkit.disclosure.audit.attack`'s
    ``truth``)."""

    def unprinted(grouping: Grouping) -> tuple[tuple[str, ...], ...]:
        if _crossed(grouping):
            return (("cycle",), ("cycle", "region"))
        regional = plan.compared_in_regions(grouping.dimension, grouping.level)
        return () if regional else (("cycle", "region"),)

    return _profile_table(survey, _group_counts(survey, unprinted))


def _crossed(grouping: Grouping) -> bool:
    """Whether ``grouping`` is an intersection of dimensions."""
    return INTERSECTION_SEPARATOR in grouping.dimension


def _group_counts(survey: SurveyFrame,
                  keys_of: Callable[[Grouping], tuple[tuple[str, ...], ...]]) -> list[pd.DataFrame]:  # fmt: skip
    """Respondents per group of each grouping, counted within each set of columns ``keys_of``
    gives for it (``("cycle",)``: England; none: not counted); non-substantive answers are the
    group "Not stated". Every group of the grouping (and "Not stated") has a row in each
    cycle (and region) that has respondents: ``n`` 0 where nobody is in it."""
    rows = []
    for grouping in survey.groupings:
        labels = survey.stated_groups[grouping.column]
        for keys in keys_of(grouping):
            counts = _counts_by_group(survey, keys, labels)
            rows.append(counts.assign(dimension=grouping.dimension, level=grouping.level))
    return rows


def _counts_by_group(survey: SurveyFrame, keys: tuple[str, ...],
                     labels: pd.Series) -> pd.DataFrame:  # fmt: skip
    """Respondents in each group of categorical ``labels`` (every category) within each
    combination of the place columns ``keys`` that has respondents (a row missing a key is
    not counted).

    One ``np.bincount`` of the cell code ``place x groups + group`` over the rows
    (:attr:`SurveyFrame.place_codes`), places numbered in mixed radix over the keys' sorted
    values. Output: columns ``keys``, ``group`` (text), ``n``; sorted by the keys, then the
    group's text.
    """
    place = np.zeros(len(labels), dtype=np.int64)
    recorded = np.ones(len(labels), dtype=bool)
    for key in keys:
        codes, values = survey.place_codes[key]
        place = place * len(values) + codes
        recorded &= codes >= 0
    groups = [str(group) for group in labels.cat.categories]
    cells = place[recorded] * len(groups) + labels.cat.codes.to_numpy()[recorded]
    sizes = [len(survey.place_codes[key][1]) for key in keys]
    n = np.bincount(cells, minlength=int(np.prod(sizes)) * len(groups)).reshape(-1, len(groups))
    present = np.flatnonzero(n.sum(axis=1) > 0)
    order = sorted(range(len(groups)), key=groups.__getitem__)
    return pd.DataFrame({
        **_place_columns(survey, keys, np.repeat(present, len(groups))),
        "group": pd.array([groups[g] for g in order] * len(present), dtype="string"),
        "n": n[present][:, order].ravel(),
    })  # fmt: skip


def _place_columns(survey: SurveyFrame, keys: tuple[str, ...],
                   places: np.ndarray) -> dict[str, pd.Index]:  # fmt: skip
    """The values of the place columns ``keys`` at each of ``places`` (codes in mixed radix
    over the keys' sorted values, :func:`_counts_by_group`), in ``keys`` order."""
    columns = {}
    for key in reversed(keys):
        values = survey.place_codes[key][1]
        places, code = np.divmod(places, len(values))
        columns[key] = values.take(code)
    return {key: columns[key] for key in keys}


def _profile_table(survey: SurveyFrame, rows: list[pd.DataFrame]) -> pd.DataFrame:
    """``rows`` as one table in :func:`response_profile`'s columns (no region: England)."""
    columns = ["survey", "cycle", "region", "dimension", "level", "group", "n"]
    if not rows:
        return pd.DataFrame(columns=columns)
    profile = pd.concat(rows, ignore_index=True).assign(survey=survey.instrument.name)
    profile["region"] = profile["region"].fillna(NATIONAL)
    return profile[columns]


def extra_survey_tables(plan: Plan, survey: SurveyFrame) -> dict[str, pd.DataFrame]:
    """Step 4: adjusted models, Likert distributions, scale scores and reliability."""
    binary = [
        g for g in survey.groupings if g.dimension in plan.models.dimensions and g.level == "binary"
    ]
    models = model_table(
        plan,
        survey.frame,
        survey=survey.instrument.name,
        groupings=[(g.column, g.reference, g.dimension, g.level) for g in binary],
        outcomes=survey.outcomes,
        weights=survey.weights,
        references=covariate_references(survey.instrument, plan.models.covariates),
    )
    by_group = [(g.column, g.dimension, g.level) for g in binary]
    scales, reliability = scale_tables(survey.instrument, survey.frame, by_group, level=plan.level)
    reliability = reliability.assign(
        region=NATIONAL, dimension="all", level="all", group=TOTAL_GROUP
    )
    return {
        "models": models,
        "likert": likert_table(survey.instrument, survey.frame, by_group),
        "scales": scales,
        "reliability": reliability,
    }


def withhold_tests_with_suppressed_groups(table: pd.DataFrame) -> pd.DataFrame:
    """Blank the association test of any partition in which a group is suppressed.

    The test is computed over every group of the partition, so publishing it next to a
    suppressed group would release information about that group.
    """
    touched = table.groupby(list(PARTITION), dropna=False)["suppressed"].transform("any")
    affected = touched & ~table["suppressed"] & table["dimension"].ne("all")
    table = table.copy()
    for column in TEST_RESULT:
        table[column] = table[column].astype("object").where(~affected, None)
    note = table["note"].fillna("").astype(str)
    table.loc[affected, "note"] = (
        note[affected] + "; test withheld: a group is suppressed"
    ).str.lstrip("; ")
    return table


def over_time_step(
    plan: Plan,
    store: ResponseStore,
    surveys_dir: Path,
    surveys: dict[str, SurveyFrame],
    policy: SuppressionPolicy,
) -> Callable[[], OverTimeResult]:
    """Trends across cycles, retention, training and recruitment tables (already suppressed),
    as a step to run: the store and the instruments are read now, the tables computed when
    the step is called (so it can run in a worker process without the store)."""
    return partial(
        over_time_tables,
        responses={name: survey.frame for name, survey in surveys.items()},
        instruments={name: survey.instrument for name, survey in surveys.items()},
        records={kind: store.read_table(table_name("records", kind)) for kind in RECORD_KINDS},
        record_instruments={
            kind: load_instrument(instrument_path(surveys_dir, f"{kind}_records"))
            for kind in RECORD_KINDS
        },
        indicators=plan.indicators,
        spec=plan.over_time,
        policy=policy,
        level=plan.level,
        versions={name: instrument_versions(surveys_dir, name) for name in surveys},
    )


def small_numbers(plan: Plan, comparisons: pd.DataFrame) -> analysis_small.SmallNumbers:
    """Funnels of regions and partially pooled estimates, from the published comparisons
    (after suppression, so no fit sees a suppressed cell; see
    :mod:`toolkit.analysis.small_numbers`)."""
    return analysis_small.small_numbers_tables(
        plan.small_numbers,
        comparisons,
        indicators=[i.name for i in plan.indicators],
        intersections=[
            (spec.name, "×".join(spec.crossing().levels)) for spec in plan.intersections
        ],
        level=plan.level,
    )


def finished_release(
    plan: Plan,
    tables: Mapping[str, pd.DataFrame],
    *,
    order: pd.DataFrame,
    policy: SuppressionPolicy,
    layouts: Mapping[str, TableLayout],
    links: Sequence[Link],
    hierarchy: pd.DataFrame,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The release's last steps, none of which the independent auditor's attack reads, so they
    can run beside it: the small-numbers tables (from the published comparisons), count
    rounding under the policy, the suppressor's own audit of blanking, links and rounding over
    every table, then every table in group order and the suppression log.

    Args:
        plan: the analysis plan.
        tables: every suppressed table (``comparisons`` with its adjusted p-values).
        order: :func:`group_order_table`.
        policy: disclosure control policy (its rounding is applied here).
        layouts, links, hierarchy: how ``tables`` were suppressed.

    Returns:
        The tables with ``funnel_units``, ``pooled_estimates`` and ``suppression_log`` added,
        counts rounded, rows in group order; and the ``funnel_limits`` curves.

    Raises:
        DisclosureError: the suppressor's audit found a number that would reveal a small group.
    """
    small = small_numbers(plan, tables["comparisons"])
    layouts = {**layouts, **{name: analysis_small.LAYOUTS[name] for name in small.tables}}
    links = (*links, *(_present(link, {**tables, **small.tables}) for link in analysis_small.LINKS))
    rounded = round_counts({**tables, **small.tables}, policy=policy, layouts=layouts)
    assert_no_disclosure(rounded, policy=policy, layouts=layouts, links=links, hierarchy=hierarchy)
    ordered = {name: in_group_order(frame, order) for name, frame in rounded.items()}
    ordered["suppression_log"] = _suppression_log(ordered)
    return ordered, small.limits


def _ordered_groups(instrument: Instrument, name: str, level: str) -> list[str]:
    """The groups of one dimension level: the reference, then the others in questionnaire order."""
    dimension = instrument.dimension(name)
    reference = dimension.reference[level]
    return [reference, *(g for g in categories(instrument, dimension, level) if g != reference)]


def group_order_table(instrument: Instrument, plan: Plan) -> pd.DataFrame:
    """The bundle's ``group_order`` table (:data:`GROUP_ORDER_COLUMNS`) for every dimension,
    level and intersection the plan publishes (survey comparisons and over-time tables)."""
    spec = plan.over_time
    pairs = [(d.name, lv) for d in plan.dimensions for lv in d.levels]
    pairs += [(d.name, d.level) for d in (*spec.trend_dimensions, *spec.record_dimensions,
                                          *spec.survival_dimensions, *spec.regional_dimensions)]  # fmt: skip
    pairs = list(dict.fromkeys(pairs))
    rows = [{"dimension": "all", "level": "all", "group": total, "group_order": 0,
             "is_reference": False} for total in TOTAL_ROWS]  # fmt: skip
    for name, level in pairs:
        groups = _ordered_groups(instrument, name, level)
        rows += [{"dimension": name, "level": level, "group": total, "group_order": 0,
                  "is_reference": False} for total in LEVEL_TOTAL_ROWS]  # fmt: skip
        rows += [{"dimension": name, "level": level, "group": group, "group_order": i + 1,
                  "is_reference": i == 0} for i, group in enumerate([*groups, NOT_STATED])]  # fmt: skip
    for crossing in (spec.crossing() for spec in plan.intersections):
        margins = [
            _ordered_groups(instrument, name, level)
            for name, level in zip(crossing.dimensions, crossing.levels, strict=True)
        ]
        combos = sorted(itertools.product(*(range(len(m)) for m in margins)))
        rows += [{"dimension": crossing.name, "level": "×".join(crossing.levels),
                  "group": " × ".join(m[i] for m, i in zip(margins, combo, strict=True)),
                  "group_order": rank + 1, "is_reference": not any(combo)}
                 for rank, combo in enumerate(combos)]  # fmt: skip
    table = pd.DataFrame(rows)
    dimensions = ["all", *dict.fromkeys(name for name, _ in pairs),
                  *(spec.name for spec in plan.intersections)]  # fmt: skip
    table["dimension_order"] = table["dimension"].map({d: i for i, d in enumerate(dimensions)})
    levels = ["all", "binary", "grouped", "detailed"]
    table["level_order"] = [levels.index(lv) if lv in levels else len(levels)
                            for lv in table["level"]]  # fmt: skip
    return table.reindex(columns=list(GROUP_ORDER_COLUMNS))


def in_group_order(table: pd.DataFrame, order: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its rows sorted by :data:`ROW_KEYS` (England before the regions), then by
    dimension and level, ``group_order`` and :data:`WITHIN_GROUP_KEYS`; groups the order does
    not know go last."""
    if not {"dimension", "level", "group"} <= set(table.columns) or table.empty:
        return table
    keys = [c for c in table.columns if c in ROW_KEYS]
    ranks = table[["dimension", "level", "group"]].merge(
        order[["dimension", "level", "group", "dimension_order", "level_order", "group_order"]],
        how="left",
    ).fillna({"dimension_order": len(order), "level_order": len(order),
              "group_order": len(order)})  # fmt: skip
    sort = pd.DataFrame({f"_k{i}": table[c].to_numpy() for i, c in enumerate(keys)})
    if "region" in keys:
        sort[f"_k{keys.index('region')}"] = table["region"].ne(NATIONAL).astype(int).astype(str) + (
            table["region"].astype(str)).to_numpy()  # fmt: skip
    sort = sort.assign(_dim=ranks["dimension_order"].to_numpy(),
                       _level=ranks["level_order"].to_numpy(),
                       _rank=ranks["group_order"].to_numpy())  # fmt: skip
    for column in (c for c in WITHIN_GROUP_KEYS if c in table):
        sort[f"_w_{column}"] = table[column].to_numpy()
    sort = sort.astype({c: str for c in sort.columns if sort[c].dtype == object})
    positions = sort.sort_values(list(sort.columns), kind="stable", na_position="first").index
    return table.iloc[positions].reset_index(drop=True)


def response_rates(profile: pd.DataFrame, workforce: pd.DataFrame, year_start_month: int) -> pd.DataFrame:  # fmt: skip
    """The bundle's ``response_rates`` table (:data:`RESPONSE_RATE_COLUMNS`).

    Respondents per survey x cycle x region are the "All respondents" rows of the (suppressed)
    response profile; the workforce is the "All staff" headcount at the start of workforce year
    ``cycle`` in the (suppressed) ``workforce_rates``. Without workforce records, or where either
    count is suppressed, the rate is blank and ``note`` says why.
    """
    totals = profile[(profile["dimension"] == "all") & (profile["group"] == TOTAL_GROUP)]
    table = totals[["survey", "cycle", "region", "n", "suppressed"]].rename(
        columns={"n": "respondents"}
    )
    staff = pd.DataFrame(columns=["cycle", "region", "headcount", "staff_suppressed"])
    if not workforce.empty:
        everyone = workforce[workforce["dimension"] == "all"]
        staff = pd.DataFrame({
            "cycle": everyone["year"].astype(int).to_numpy(),
            "region": everyone["region"].to_numpy(),
            "headcount": everyone["headcount_start"].to_numpy(),
            "staff_suppressed": everyone["suppressed"].fillna(False).astype(bool).to_numpy(),
        })  # fmt: skip
    table = table.astype({"cycle": int}).merge(staff, on=["cycle", "region"], how="left")
    known = table["headcount"].notna() & ~table["staff_suppressed"].fillna(False).astype(bool)
    known &= ~table["suppressed"].fillna(False).astype(bool)
    headcount = pd.to_numeric(table["headcount"], errors="coerce")
    table["headcount"] = headcount.where(known).astype("Int64")
    table["response_rate"] = (table["respondents"] / headcount).where(known)
    table["headcount_date"] = [
        f"{int(c)}-{year_start_month:02d}-01" if k else None
        for c, k in zip(table["cycle"], known, strict=True)
    ]
    table["note"] = np.where(known, "", "no workforce headcount for this region and year, or a "
                             "count is suppressed")  # fmt: skip
    return table.reindex(columns=list(RESPONSE_RATE_COLUMNS)).reset_index(drop=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _manifest(plan: Plan, store: ResponseStore, instruments: dict[str, str], policy: SuppressionPolicy,
              cycles: list[int]) -> dict[str, object]:  # fmt: skip
    batches = store.batches()
    return {
        "plan": plan.model_dump(mode="json"),
        "instruments": instruments,
        "batches": batches.sort_values("batch_id")[
            ["batch_id", "kind", "survey", "cycle", "region", "sha256", "accepted"]
        ].to_dict(orient="records"),
        "data_as_of": str(batches["ingested_at"].max()) if not batches.empty else None,
        "suppression": {"threshold": policy.threshold, "rounding": policy.rounding},
        "weights": plan.weights.model_dump(mode="json"),
        "toolkit_version": __version__,
        "cycles": cycles,
    }


def run_plan(plan: Plan, *, store: ResponseStore, surveys_dir: Path, policy: SuppressionPolicy,
             plan_dir: Path) -> Bundle:  # fmt: skip
    """Run ``plan`` over ``store`` and return the (suppressed, audited) results bundle.

    Disclosure control, in order: suppression over the whole release
    (:func:`~toolkit.disclosure.suppression.suppress_linked`), while a second process reads
    the release's tables for the auditor (:func:`~toolkit.disclosure.audit.read_release`:
    unknowns and relations follow from which rows exist, never from which are hidden); the
    independent auditor's attack on every count the release publishes, given the true values
    so that it can prove protection quickly (:func:`~toolkit.disclosure.audit.assert_protected`,
    which shares no code with the suppressor, and applies the release's flags to the reading
    only if the release has the same rows and values). Beside the attack, in a second process
    (:func:`finished_release`): the small-numbers tables, count rounding under the policy
    (rounding only widens what a reader can infer, so the attack's verdict holds), the
    suppressor's own audit of blanking, links and rounding, and group order. Both audits must
    pass.

    Args:
        plan: the analysis plan.
        store: an open store (read-only is enough).
        surveys_dir: where the plan's instruments are defined.
        policy: disclosure control policy.
        plan_dir: the plan's folder (relative paths in the plan, e.g. margins, start there).

    Raises:
        PtwError: the store holds no responses for the plan's surveys.
        DisclosureError: the disclosure audit found a number that would reveal a small group
            (``disclosure.recoverable`` names the table, cell, range and route of the first).
    """
    raw: dict[str, list[pd.DataFrame]] = {name: [] for name in ("comparisons", "response_profile", "models", "likert",
                                                                "scales", "reliability", "weighting")}  # fmt: skip
    instruments, surveys = {}, {}
    for name in plan.surveys:
        instrument = load_instrument(instrument_path(surveys_dir, name))
        instruments[name] = instrument.version
        answers = store.read_table(table_name("responses", name), leave_out=NOT_ANALYSED)
        if not answers.empty:
            surveys[name] = prepare_survey(plan, instrument, answers, plan_dir=plan_dir)
    if not surveys:
        raise PtwError(
            code="analysis.no_responses",
            message="the store has no responses for the surveys in the plan",
            file=str(store.path),
            fix="ingest survey exports first with `ptw ingest`",
        )
    unrounded = replace(policy, rounding="none")  # rounded after the attack (it only widens)
    with start_in_background(
        over_time_step(plan, store, surveys_dir, surveys, unrounded)
    ) as over_time:
        hierarchies: list[pd.DataFrame] = []
        unprinted: dict[str, list[pd.DataFrame]] = {"response_profile": [], "comparisons": []}
        for survey in surveys.values():
            raw["comparisons"].append(survey_comparisons(plan, survey, threshold=policy.threshold))
            raw["response_profile"].append(response_profile(plan, survey))
            unprinted["response_profile"].append(unprinted_profile(plan, survey))
            unprinted["comparisons"].append(unprinted_regional_comparisons(plan, survey))
            for table, frame in extra_survey_tables(plan, survey).items():
                raw[table].append(frame)
            raw["weighting"].append(survey.weighting)
            hierarchies.append(
                group_hierarchy(
                    survey.instrument,
                    levels={spec.name: spec.levels for spec in plan.dimensions},
                    crossings=[spec.crossing() for spec in plan.intersections],
                )
            )
        unprinted["intention_to_leave"] = [analysis_trends.unprinted_regional_leaving(
            {name: survey.frame for name, survey in surveys.items()},
            {name: survey.instrument for name, survey in surveys.items()},
            plan.over_time,
        )]  # fmt: skip
        timed = over_time.result()
    published = {name: _concat(frames) for name, frames in raw.items() if name != "weighting"}
    published = {name: frame for name, frame in published.items() if not frame.empty}
    layouts = {name: LAYOUTS[name] for name in published}
    links = tuple(_present(link, published) for link in LINKS)
    published |= timed.tables
    layouts |= timed.layouts
    links += (*timed.links, TIME_LINK, _present(PROFILE_TIME_LINK, published))
    hierarchy = _concat([*hierarchies, timed.hierarchy]).drop_duplicates(ignore_index=True)
    truth = {name: frame for name, frame in {**published, **timed.raw}.items()
             if name in RELEASE_TABLES}  # fmt: skip
    for name, frames in unprinted.items():
        truth[name] = _concat([truth.get(name, pd.DataFrame()), *frames])
    unsuppressed = {name: frame for name, frame in published.items() if name in RELEASE_TABLES}
    reading = partial(read_release, {**unsuppressed, HIERARCHY_TABLE: hierarchy}, truth=truth)
    with start_in_background(reading) as read:  # the gate's reading, while the suppressor works
        tables = suppress_linked(
            published, policy=unrounded, layouts=layouts, links=links, hierarchy=hierarchy
        )
        comparisons = withhold_tests_with_suppressed_groups(tables["comparisons"])
        comparisons = adjust_p_values(
            comparisons,
            p_col="p_value",
            family_cols=plan.multiplicity.family,
            method=plan.multiplicity.method,
        )
        tables["comparisons"] = comparisons[list(COMPARISON_COLUMNS)]
        release_reading = read.result()
    release = {name: frame for name, frame in tables.items() if name in RELEASE_TABLES}
    order = group_order_table(next(iter(surveys.values())).instrument, plan)
    finishing = partial(finished_release, plan, tables, order=order, policy=policy,
                        layouts=layouts, links=links, hierarchy=hierarchy)  # fmt: skip
    with start_in_background(finishing) as finished:  # the gate does not read these tables
        assert_protected({**release, HIERARCHY_TABLE: hierarchy}, threshold=policy.threshold,
                         reading=release_reading)  # fmt: skip
        tables, limits = finished.result()
    tables["funnel_limits"] = limits
    tables["weighting"] = _concat(raw["weighting"])
    tables[HIERARCHY_TABLE] = hierarchy
    tables[ORDER_TABLE] = order
    tables["response_rates"] = response_rates(
        tables["response_profile"],
        tables.get("workforce_rates", pd.DataFrame()),
        plan.over_time.year_start_month,
    )
    cycles = sorted(int(c) for c in tables["comparisons"]["cycle"].unique())
    return Bundle(tables=tables, manifest=_manifest(plan, store, instruments, policy, cycles))


def _present(link: Link, tables: Mapping[str, pd.DataFrame]) -> Link:
    """``link`` over the tables the release has (a survey without responses has none). A
    one-way link whose leading table is absent links nothing (its followers never lead)."""
    if link.one_way and link.tables[0] not in tables:
        return replace(link, tables=())
    return replace(link, tables=tuple(t for t in link.tables if t in tables))


def _suppression_log(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every suppressed row of every table, with its reason (what was hidden, and why)."""
    keys = (
        "survey",
        "cycle",
        "region",
        "indicator",
        "item",
        "scale",
        "dimension",
        "level",
        "group",
    )
    logged = []
    for name, frame in tables.items():
        hidden = frame[frame["suppressed"].fillna(False).astype(bool)]
        present = [c for c in keys if c in hidden]
        logged.append(
            hidden[present].assign(table=name, suppression_reason=hidden["suppression_reason"])
        )
    log = _concat(logged)
    return log.astype("object").replace({np.nan: None}) if not log.empty else log
