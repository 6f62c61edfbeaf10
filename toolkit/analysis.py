"""Run an analysis plan over the store and produce a results bundle.

The steps read as a list (STYLE.md, "a top-level script that reads as a list of steps"):

1. load the plan and the instruments it uses;
2. read each survey's responses from the store;
3. derive the equality groups (dimensions, levels, intersections);
4. for every indicator x cycle x region x dimension x level: rates with CIs, relative
   likelihood and gap against the reference group, and a test of association;
5. adjust p-values within the plan's multiplicity family;
6. apply disclosure control (primary and secondary suppression) and audit it;
7. return the bundle: comparisons, response profile, suppression log and manifest.

Comparison rows have the columns :data:`COMPARISON_COLUMNS` (DESIGN.md decision 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit import __version__
from toolkit.bundle import Bundle
from toolkit.dimensions import group_hierarchy, group_labels, intersect
from toolkit.disclosure import (
    Link,
    SuppressionPolicy,
    TableLayout,
    assert_no_disclosure,
    suppress_linked,
)
from toolkit.errors import PtwError
from toolkit.instrument import Instrument, instrument_path, load_instrument
from toolkit.plan import IndicatorSpec, Plan
from toolkit.stats.association import association
from toolkit.stats.comparisons import difference, relative_likelihood
from toolkit.stats.multiplicity import adjust_p_values
from toolkit.stats.proportions import proportions
from toolkit.store import ResponseStore, table_name

NATIONAL = "England"
ALL_RESPONDENTS = "All respondents"
COMPARISON_COLUMNS = (
    "survey", "cycle", "region", "indicator", "dimension", "level", "group", "reference_group",
    "is_reference", "n", "events", "weighted_n", "estimate", "ci_low", "ci_high", "ci_method",
    "rel_likelihood", "rl_ci_low", "rl_ci_high", "diff", "diff_ci_low", "diff_ci_high",
    "test", "statistic", "dof", "p_value", "p_adjusted", "adjust_method", "outside_band",
    "suppressed", "suppression_reason", "note",
)  # fmt: skip
PARTITION = ("survey", "cycle", "region", "indicator", "dimension", "level")
PROFILE_PARTITION = ("survey", "cycle", "region", "dimension", "level")


@dataclass(frozen=True)
class GroupingColumn:
    """One way of grouping respondents: a derived column in the working frame."""

    column: str
    dimension: str
    level: str
    reference: str


def groupings(
    plan: Plan, instrument: Instrument, answers: pd.DataFrame
) -> tuple[pd.DataFrame, list[GroupingColumn]]:
    """Add one group-label column per dimension x level and per intersection.

    Returns:
        ``answers`` with the new columns, and their descriptions.
    """
    frame = answers.copy()
    found: list[GroupingColumn] = []
    for spec in plan.dimensions:
        dimension = instrument.dimension(spec.name)
        for level in spec.levels:
            column = f"_g_{spec.name}_{level}"
            frame[column] = group_labels(answers, instrument, dimension, level)
            found.append(GroupingColumn(column, spec.name, level, dimension.reference[level]))
    for spec in plan.intersections:
        dims = [instrument.dimension(name) for name in spec.dimensions]
        parts = [frame[f"_g_{d.name}_{spec.level_of(i)}"] for i, d in enumerate(dims)]
        level = "×".join(spec.level_of(i) for i in range(len(dims)))
        column = f"_g_{'_'.join(spec.dimensions)}_{level}"
        frame[column] = intersect(parts)
        reference = " × ".join(d.reference[spec.level_of(i)] for i, d in enumerate(dims))
        found.append(GroupingColumn(column, spec.name, level, reference))
    return frame, found


def indicator_outcome(
    answers: pd.DataFrame, instrument: Instrument, indicator: IndicatorSpec
) -> pd.Series:
    """1 if the answer is one of the indicator's events, 0 if another substantive answer,
    NaN if blank or a non-substantive answer ("Prefer not to say", "Don't know")."""
    codes = answers[indicator.item].astype("string")
    missing = {c.code for c in instrument.choices(indicator.item) if c.missing}
    outcome = codes.isin(list(indicator.events)).astype(float)
    return outcome.where(codes.notna() & ~codes.isin(list(missing)))


def _comparison_rows(frame: pd.DataFrame, grouping: GroupingColumn, plan: Plan) -> pd.DataFrame:
    """Rates, RL, gap and the association test for one grouping of one slice of data."""
    data = frame[frame[grouping.column].notna() & frame["_outcome"].notna()]
    if data.empty:
        return pd.DataFrame()
    rates = proportions(data, "_outcome", grouping.column, level=plan.level)
    present = set(rates["group"])
    note = (
        ""
        if grouping.reference in present
        else f"reference group {grouping.reference!r} has no responses"
    )
    if note:
        rates = rates.assign(reference_group=grouping.reference, is_reference=False, note=note)
        return rates
    rl = relative_likelihood(
        data, "_outcome", grouping.column, grouping.reference, level=plan.level, band=plan.band
    )
    gap = difference(data, "_outcome", grouping.column, grouping.reference, level=plan.level)
    test = association(data, "_outcome", grouping.column)
    merged = rates.drop(columns=["note"]).merge(
        rl[["group", "reference_group", "is_reference", "rel_likelihood", "rl_ci_low", "rl_ci_high",
            "p_value", "outside_band", "note"]],
        on="group",
        how="left",
    ).merge(gap[["group", "diff", "diff_ci_low", "diff_ci_high"]], on="group", how="left")  # fmt: skip
    merged["test"] = f"relative likelihood (Katz log); dimension: {test['test'].iloc[0]}"
    merged["statistic"] = test["statistic"].iloc[0]
    merged["dof"] = test["dof"].iloc[0]
    return merged


def _slices(frame: pd.DataFrame, plan: Plan) -> Iterator[tuple[int, str, pd.DataFrame]]:
    """(cycle, region, rows): each cycle nationally, then each region if the plan asks."""
    for cycle, by_cycle in frame.groupby("cycle", sort=True):
        yield int(cycle), NATIONAL, by_cycle
        if plan.regions:
            for region, by_region in by_cycle.groupby("region", sort=True):
                yield int(cycle), str(region), by_region


def survey_comparisons(
    plan: Plan, instrument: Instrument, answers: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Comparison rows and the response profile for one survey's responses.

    Returns:
        ``(comparisons, profile)``: comparisons have :data:`COMPARISON_COLUMNS` except
        multiplicity and suppression; the profile counts respondents per group.
    """
    frame, found = groupings(plan, instrument, answers)
    rows: list[pd.DataFrame] = []
    profile: list[pd.DataFrame] = []
    for cycle, region, part in _slices(frame, plan):
        keys = {"survey": instrument.name, "cycle": cycle, "region": region}
        for grouping in (g for g in found if " × " not in g.dimension):
            counts = part[grouping.column].value_counts(dropna=False)
            profile.append(
                pd.DataFrame({**keys, "dimension": grouping.dimension, "level": grouping.level,
                              "group": counts.index.astype("string").fillna("Not stated"), "n": counts.to_numpy()})
            )  # fmt: skip
        for indicator in (i for i in plan.indicators if i.survey == instrument.name):
            part = part.assign(_outcome=indicator_outcome(part, instrument, indicator))
            overall = proportions(part, "_outcome", level=plan.level).assign(group=ALL_RESPONDENTS)
            rows.append(
                overall.assign(**keys, indicator=indicator.name, dimension="all", level="all")
            )
            for grouping in found:
                table = _comparison_rows(part, grouping, plan)
                if not table.empty:
                    rows.append(
                        table.assign(
                            **keys,
                            indicator=indicator.name,
                            dimension=grouping.dimension,
                            level=grouping.level,
                        )
                    )
    comparisons = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return comparisons, pd.concat(profile, ignore_index=True) if profile else pd.DataFrame()


def _finish_columns(table: pd.DataFrame) -> pd.DataFrame:
    for column in COMPARISON_COLUMNS:
        if column not in table:
            table[column] = pd.NA
    table["is_reference"] = table["is_reference"].fillna(False).astype(bool)
    table["note"] = table["note"].fillna("").astype("string")
    return (
        table[list(COMPARISON_COLUMNS)]
        .sort_values([*PARTITION, "group"], kind="stable")
        .reset_index(drop=True)
    )


def run_plan(
    plan: Plan, *, store: ResponseStore, surveys_dir: Path, policy: SuppressionPolicy
) -> Bundle:
    """Run ``plan`` over ``store`` and return the (suppressed, audited) results bundle.

    Raises:
        PtwError: the store holds no responses for the plan's surveys.
        DisclosureError: the disclosure audit found a number that would reveal a small group.
    """
    comparisons: list[pd.DataFrame] = []
    profiles: list[pd.DataFrame] = []
    hierarchies: list[pd.DataFrame] = []
    instruments: dict[str, str] = {}
    for survey in plan.surveys:
        instrument = load_instrument(instrument_path(surveys_dir, survey))
        instruments[survey] = instrument.version
        answers = store.read_table(table_name("responses", survey))
        if answers.empty:
            continue
        table, profile = survey_comparisons(plan, instrument, answers)
        comparisons.append(table)
        profiles.append(profile)
        hierarchies.append(group_hierarchy(plan, instrument))
    if not comparisons:
        raise PtwError(
            code="analysis.no_responses",
            message="the store has no responses for the surveys in the plan",
            file=str(store.path),
            fix="ingest survey exports first with `ptw ingest`",
        )
    table = _finish_columns(pd.concat(comparisons, ignore_index=True))
    table = adjust_p_values(
        table,
        p_col="p_value",
        family_cols=plan.multiplicity.family,
        method=plan.multiplicity.method,
    )
    published = {"comparisons": table, "response_profile": pd.concat(profiles, ignore_index=True)}
    layouts = {"comparisons": TableLayout(partition_cols=PARTITION, complete=False),
               "response_profile": TableLayout(partition_cols=PROFILE_PARTITION)}  # fmt: skip
    links = (
        Link(
            ("comparisons", "response_profile"),
            ("survey", "cycle", "region", "dimension", "level", "group"),
        ),
    )
    hierarchy = pd.concat(hierarchies, ignore_index=True)
    tables = suppress_linked(
        published, policy=policy, layouts=layouts, links=links, hierarchy=hierarchy
    )
    assert_no_disclosure(tables, policy=policy, layouts=layouts, links=links, hierarchy=hierarchy)
    tables["comparisons"] = tables["comparisons"][list(COMPARISON_COLUMNS)]
    tables["suppression_log"] = _suppression_log(tables)
    batches = store.batches()
    manifest = {
        "plan": plan.model_dump(mode="json"),
        "instruments": instruments,
        "batches": batches[["batch_id", "survey", "cycle", "region", "sha256", "accepted"]].to_dict(
            orient="records"
        ),
        "data_as_of": str(batches["ingested_at"].max()) if not batches.empty else None,
        "suppression": {"threshold": policy.threshold, "rounding": policy.rounding},
        "toolkit_version": __version__,
        "cycles": sorted(int(c) for c in tables["comparisons"]["cycle"].unique()),
    }
    return Bundle(tables=tables, manifest=manifest)


def _suppression_log(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every suppressed row of every table, with its reason (what was hidden, and why)."""
    logged = []
    for name, frame in tables.items():
        hidden = frame[frame["suppressed"].fillna(False).astype(bool)]
        keep = [
            c
            for c in ("survey", "cycle", "region", "indicator", "dimension", "level", "group")
            if c in hidden
        ]
        logged.append(
            hidden[keep].assign(table=name, suppression_reason=hidden["suppression_reason"])
        )
    log = pd.concat(logged, ignore_index=True) if logged else pd.DataFrame()
    return log.replace({np.nan: None})
