"""Record tables over years: workforce rates, time in post, PTPT outcomes, recruitment.

Called by :func:`toolkit.analysis.over_time.over_time_tables`, which applies disclosure control with
:data:`LAYOUTS`. Inputs are store tables as read (``records_workforce``, ``records_training``,
``records_recruitment``: provenance columns, then one column per record-instrument item holding
answer codes, numbers, and dates as ISO text or DATE). They are renamed to the layouts of
:mod:`toolkit.stats.workforce` here (:data:`WORKFORCE_FIELDS`, :data:`TRAINING_FIELDS`).

* ``workforce_rates``: per year x dimension x level x group (and "All staff"): headcount and FTE
  at the start and end, leavers, joiners, leaver and joiner rates, stability index.
  ``n`` = the smaller of the two headcounts (the disclosure base).
* ``survival_*``: time in post of staff who joined from the first day of the first year, censored
  at the last day of the last year (no left truncation: staff already in post then are not
  followed, because their earlier exits are unseen). Kaplan-Meier curves on a monthly grid,
  median and S(t) at ``km_times``, Cox hazard ratios against the reference (ties method in the
  ``ties`` column), log-rank test; groups under the threshold are left out of the models.
* ``trainee_outcomes``: attrition and registration conversion per cohort (year of the start date).
* ``recruitment``: appointment from shortlisting per year and group with the WRES 2 / WDES 2
  relative likelihood on the numerator group's row.
* ``representation_workforce``: staff in post at the end of each year against the benchmark.

Every table has a ``region`` column: "England" (every record, by ``record_dimensions`` or
``survival_dimensions``) and each NHS England region's code (its records, by those dimensions
that are also in ``regional_dimensions``), so a regional report has its own region's figures.
Every area's groupings are stacked with one key per grouping and group (:func:`_stack`), so the
rates, Kaplan-Meier, trainee and recruitment tables each take one call of their statistics
function (relative likelihoods from the counts of every stratum at once); Cox and log-rank,
fitted on each grouping's rows, take one call per area and dimension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.analysis.plan import DimensionLevel, OverTimeSpec
from toolkit.analysis.trends import (
    NATIONAL,
    REPRESENTATION_COLUMNS,
    ethnic_groups,
    read_benchmark,
    region_names,
    representation_table,
)
from toolkit.disclosure.suppression import TableLayout
from toolkit.instruments.dimensions import group_labels
from toolkit.instruments.model import Instrument
from toolkit.stats.comparisons import preset
from toolkit.stats.survival import cox, kaplan_meier, logrank
from toolkit.stats.sweep import count_relative_likelihoods
from toolkit.stats.workforce import (
    appointment_from_shortlisting,
    time_in_post,
    trainee_outcomes,
    workforce_metrics,
)

ALL_STAFF = "All staff"
ALL_TRAINEES = "All trainees"
ALL_SHORTLISTED = "All shortlisted"
ALL_GROUPS = "all groups"
WORKFORCE_FIELDS = {"person_id": "person", "start_date": "start_date", "end_date": "end_date"}
TRAINING_FIELDS = {
    "trainee_id": "trainee", "cohort_start": "start_date", "planned_end": "planned_end_date",
    "withdrawal_date": "withdrawn_date", "completion_date": "completed_date",
    "registration_date": "registered_date",
}  # fmt: skip
STANDARD_GROUPS = {
    "WRES 2": ("ethnicity", "binary", {"White": "White", "BME": "Ethnic minority"}),
    "WDES 2": ("disability", "binary", {"non-disabled": "Not disabled", "Disabled": "Disabled"}),
}
RATE_COLUMNS = [
    "year", "period", "region", "dimension", "level", "group", "n", "headcount_start", "headcount_end",
    "mean_headcount", "leavers", "joiners", "leaver_rate", "joiner_rate", "stable_staff",
    "stability_index", "fte_start", "fte_end", "note",
]  # fmt: skip
CURVE_COLUMNS = ["region", "dimension", "level", "group", "time", "n_risk", "survival", "ci_low",
                 "ci_high", "note"]  # fmt: skip
SUMMARY_COLUMNS = ["region", "dimension", "level", "group", "statistic", "time", "n", "events", "n_risk",
                   "estimate", "ci_low", "ci_high", "note"]  # fmt: skip
COX_COLUMNS = ["region", "dimension", "level", "group", "reference_group", "is_reference", "n", "events",
               "hazard_ratio", "ci_low", "ci_high", "p_value", "se", "ties", "note"]  # fmt: skip
LOGRANK_COLUMNS = ["region", "dimension", "level", "group", "n", "groups_tested", "test", "statistic",
                   "dof", "p_value", "note"]  # fmt: skip
TRAINEE_COLUMNS = ["cohort", "region", "dimension", "level", "group", "starters", "withdrawals",
                   "completers", "registered_within_6m", "attrition", "attrition_ci_low",
                   "attrition_ci_high", "conversion", "conversion_ci_low", "conversion_ci_high",
                   "conversion_of_completers", "conversion_of_completers_ci_low",
                   "conversion_of_completers_ci_high", "ci_method", "reference_group",
                   "attrition_rl", "attrition_rl_ci_low", "attrition_rl_ci_high",
                   "conversion_rl", "conversion_rl_ci_low", "conversion_rl_ci_high",
                   "note"]  # fmt: skip
RECRUITMENT_COLUMNS = ["year", "region", "standard", "dimension", "level", "group", "reference_group",
                       "is_reference", "shortlisted", "appointed", "rate", "ci_low", "ci_high",
                       "ci_method", "rel_likelihood", "rl_ci_low", "rl_ci_high", "wording",
                       "note"]  # fmt: skip
MEDIAN = "median years in post"
STILL_IN_POST = "still in post"
_COUNTS = ("headcount_start", "headcount_end", "leavers", "joiners", "stable_staff")
LAYOUTS: dict[str, TableLayout] = {
    "workforce_rates": TableLayout(
        partition_cols=("year", "region", "dimension", "level"),
        population_cols=("year", "region"), total_group=ALL_STAFF, complete=False, count_cols=_COUNTS,
        exact_sums=False, lists_everyone=True,
    ),
    "survival_curves": TableLayout(
        base_col="n_risk", partition_cols=("region", "time", "dimension", "level"),
        population_cols=("region", "time"), total_group=ALL_STAFF, complete=False, key_cols=("time",),
        region_col=None, ranges=False, exact_sums=False,
    ),
    "survival_summary": TableLayout(
        partition_cols=("region", "statistic", "time", "dimension", "level"),
        population_cols=("region", "statistic", "time"), total_group=ALL_STAFF, complete=False,
        key_cols=("time",), region_col=None, exact_sums=False,
    ),
    "survival_cox": TableLayout(
        partition_cols=("region", "dimension", "level"), population_cols=("region",), complete=False,
        comparison_cols=("hazard_ratio", "ci_low", "ci_high", "p_value", "se"), exact_sums=False,
    ),
    "survival_logrank": TableLayout(
        partition_cols=("region", "dimension", "level"), population_cols=("region",), complete=False,
        exact_sums=False,
    ),
    "trainee_outcomes": TableLayout(
        base_col="starters", partition_cols=("cohort", "region", "dimension", "level"),
        population_cols=("cohort", "region"), total_group=ALL_TRAINEES, complete=False,
        within_base=("withdrawals", "completers", "registered_within_6m"),
        comparison_cols=("attrition_rl", "attrition_rl_ci_low", "attrition_rl_ci_high",
                         "conversion_rl", "conversion_rl_ci_low", "conversion_rl_ci_high"),
        exact_sums=False, lists_everyone=True,
    ),
    "recruitment": TableLayout(
        base_col="shortlisted", partition_cols=("year", "region", "dimension", "level"),
        population_cols=("year", "region"), total_group=ALL_SHORTLISTED, complete=False,
        within_base=("appointed",),
        comparison_cols=("rel_likelihood", "rl_ci_low", "rl_ci_high"), exact_sums=False,
        lists_everyone=True,
    ),
}  # fmt: skip
"""Disclosure layouts. The time-in-post curves and their summaries are not tied across areas
(``region_col=None``) and the curves get the exact test only (``ranges=False``): a curve is
published until fewer than the threshold are at risk and hidden from there on, which a
complement at an earlier step would break. Issue 11 leaves England minus the regions, and
bounds from the remainder, open for the numbers at risk (see the closing note). Records are
administrative extracts: England also counts records with no region and a coarse code may lack
a finer one, so their sums are not exact (``exact_sums=False``)."""


def _labelled(
    records: pd.DataFrame, instrument: Instrument, dim: DimensionLevel
) -> tuple[pd.Series, str]:
    """Group labels of ``dim`` per record and the reference group."""
    dimension = instrument.dimension(dim.name)
    return group_labels(records, instrument, dimension, dim.level), dimension.reference[dim.level]


def areas(
    frame: pd.DataFrame, dims: Sequence[DimensionLevel], spec: OverTimeSpec
) -> list[tuple[str, pd.DataFrame, tuple[DimensionLevel, ...]]]:
    """``(region, rows, dimensions)``: England ("England", every record, ``dims``), then each
    NHS England region (its code, its records, the ``dims`` also in
    ``spec.regional_dimensions``), regions in code order."""
    found = [(NATIONAL, frame, tuple(dims))]
    if "region" in frame:
        regional = tuple(d for d in dims if d in spec.regional_dimensions)
        found += [(str(code), part, regional)
                  for code, part in frame.groupby(frame["region"].astype(str), sort=True)]  # fmt: skip
    return found


def _narrow(
    frame: pd.DataFrame, columns: Sequence[str], instrument: Instrument,
    dims: Sequence[DimensionLevel],
) -> tuple[pd.DataFrame, dict[tuple[str, str], tuple[str, str]]]:  # fmt: skip
    """``frame``'s ``columns`` and ``region`` only, with one group-label column per dimension
    level (read once on every record), so that slicing areas and groups moves no other column;
    and (dimension, level) -> (its label column, the reference group)."""
    narrow = frame[[*columns, *(["region"] if "region" in frame else [])]].copy()
    label_columns = {}
    for i, dim in enumerate(dims):
        labels, reference = _labelled(frame, instrument, dim)
        narrow[f"_label{i}"] = labels
        label_columns[(dim.name, dim.level)] = (f"_label{i}", reference)
    return narrow, label_columns


def _by_group(frame: pd.DataFrame, columns: Sequence[str], labels: tuple[str, str]) -> pd.DataFrame:
    """``frame``'s ``columns`` with ``_g`` = the label column ``labels[0]`` (:func:`_narrow`),
    records without a group left out."""
    return frame[list(columns)].assign(_g=frame[labels[0]]).dropna(subset=["_g"])


def _as_dates(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Date columns (ISO text, "" or DATE) as timestamps; blank = NaT."""
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = pd.to_datetime(out[column].replace("", None), errors="raise")
    return out


def year_period(year: int, start_month: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of workforce year ``year`` starting in ``start_month``."""
    first = pd.Timestamp(year, start_month, 1)
    return first, first + pd.DateOffset(years=1) - pd.Timedelta(days=1)


def workforce_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Store workforce records in the :mod:`toolkit.stats.workforce` layout (``person``, dates,
    ``fte`` as a number)."""
    frame = records.copy()
    if "person_id" not in frame:
        frame["person_id"] = frame["respondent"]
    frame = _as_dates(frame.rename(columns=WORKFORCE_FIELDS), ["start_date", "end_date"])
    frame["fte"] = pd.to_numeric(frame.get("fte", pd.Series(np.nan, index=frame.index)))
    return frame


_KEY = "\x1f"
"""Joins a grouping's number and a group label into one group key (:func:`_stacked`)."""


def _stack(
    groupings: list[tuple[dict[str, str], pd.DataFrame, pd.Series]], columns: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The groupings' records one below the other, so that one call grouped by ``_g`` computes
    them all: for each ``(keys, records, labels)``, the ``columns`` of its records in their
    order with ``_g`` = the grouping's number (zero-padded, so keys sort by grouping, then
    group), :data:`_KEY` and the record's label (records without one left out). Returns the
    stacked records and the groupings' ``keys`` by number."""
    pieces = [
        part[list(columns)].assign(_g=f"{number:05d}{_KEY}" + labels.astype("string"))
        for number, (_, part, labels) in enumerate(groupings)
    ]
    stacked = pd.concat(pieces, ignore_index=True).dropna(subset=["_g"])
    return stacked, pd.DataFrame([keys for keys, _, _ in groupings])


def _stacked(
    frame: pd.DataFrame, columns: list[str], instrument: Instrument,
    dims: Sequence[DimensionLevel], spec: OverTimeSpec, everyone: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """:func:`_stack` of every area's groupings (:func:`areas`): first everyone, all in group
    ``everyone``, then each of the area's dimensions (labels read once on every record,
    :func:`_narrow`); the keys are ``region``, ``dimension``, ``level`` (``"all"`` for
    everyone) and ``reference_group`` (``""`` for everyone)."""
    narrow, labelled = _narrow(frame, columns, instrument, dims)
    groupings = []
    for region, part, part_dims in areas(narrow, dims, spec):
        everyone_labels = pd.Series(everyone, index=part.index, dtype="string")
        groupings.append(({"region": region, "dimension": "all", "level": "all",
                           "reference_group": ""}, part, everyone_labels))  # fmt: skip
        for dim in part_dims:
            label_column, reference = labelled[(dim.name, dim.level)]
            keys = {"region": region, "dimension": dim.name, "level": dim.level,
                    "reference_group": reference}  # fmt: skip
            groupings.append((keys, part, part[label_column]))
    return _stack(groupings, columns)


def _unstacked(table: pd.DataFrame, keys: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """``table``'s ``group`` keys (:func:`_stacked`) split back into the group label and its
    grouping's ``region``, ``dimension``, ``level`` and ``reference_group``; and each row's
    grouping number."""
    split = table["group"].astype(str).str.split(_KEY, n=1, expand=True)
    number = split[0].astype(int).to_numpy()
    columns = {name: keys[name].to_numpy()[number] for name in keys.columns}
    return table.assign(group=split[1].to_numpy(), **columns), number


def _rates_for(data: pd.DataFrame, year: int, spec: OverTimeSpec) -> pd.DataFrame:
    """workforce_metrics of one year by the ``_g`` column."""
    start, end = year_period(year, spec.year_start_month)
    table = workforce_metrics(data, period_start=start, period_end=end, group="_g", fte="fte")
    return table.assign(year=year)


def workforce_rates(
    records: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec, years: Sequence[int]
) -> pd.DataFrame:
    """``workforce_rates`` (unsuppressed, :data:`RATE_COLUMNS`): England by
    ``spec.record_dimensions``, each region by the regional ones, with an "All staff" row;
    every area and grouping in one :func:`toolkit.stats.workforce.workforce_metrics` call per
    year (:func:`_stacked`); rows by area, then year, grouping and group."""
    if records.empty or not years:
        return pd.DataFrame(columns=RATE_COLUMNS)
    columns = ["person", "start_date", "end_date", "fte"]
    stacked, keys = _stacked(workforce_frame(records), columns, instrument,
                             spec.record_dimensions, spec, ALL_STAFF)  # fmt: skip
    table = pd.concat([_rates_for(stacked, year, spec) for year in years], ignore_index=True)
    table, number = _unstacked(table, keys)
    area_order = pd.factorize(keys["region"])[0][number]
    year_order = table["year"].map({year: i for i, year in enumerate(years)}).to_numpy()
    table = table.iloc[np.lexsort((number, year_order, area_order))].reset_index(drop=True)
    table["n"] = table[["headcount_start", "headcount_end"]].min(axis=1)
    return table.reindex(columns=RATE_COLUMNS)


def _entrants(records: pd.DataFrame, spec: OverTimeSpec, years: Sequence[int]) -> pd.DataFrame:
    """Time in post of staff who started on or after the first day of the first year."""
    frame = workforce_frame(records)
    first, _ = year_period(years[0], spec.year_start_month)
    _, as_of = year_period(years[-1], spec.year_start_month)
    return time_in_post(frame[frame["start_date"] >= first], as_of=as_of)


def _still_at_risk(durations: np.ndarray, times: np.ndarray) -> np.ndarray:
    """How many of the sorted ``durations`` are at least each of ``times`` (still in post)."""
    return len(durations) - np.searchsorted(durations, times, side="left")


def _km_tables(data: pd.DataFrame, spec: OverTimeSpec, threshold: int,
               level: float) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Grid curves and summary rows of every group of ``_g`` in ``data``, from one
    :func:`toolkit.stats.survival.kaplan_meier` call.

    Each group's curve is read on its grid (0 to its longest time in post by
    ``spec.km_grid_months``): the last step at or before each time (S = 1 before the first)
    and the number still at risk (time in post >= t). Its summary has the median and S(t) at
    ``spec.km_times``, each with the number still at risk then; estimates at a time with fewer
    than ``threshold`` at risk are withheld with a note. Rows by group, then time.
    """
    km = kaplan_meier(
        data, time="duration_years", event="event", group="_g", level=level, at=spec.km_times
    )
    codes, groups = pd.factorize(data["_g"].astype(str), sort=True)
    order = np.argsort(codes, kind="stable")
    row_bounds = np.searchsorted(codes[order], np.arange(len(groups) + 1))
    curve_codes = pd.Index(groups).get_indexer(km.curve["group"].astype(str))
    curve_bounds = np.searchsorted(curve_codes, np.arange(len(groups) + 1))
    curve_times = km.curve["time"].to_numpy(dtype=float)
    durations = data["duration_years"].to_numpy(dtype=float)[order]
    events = data["event"].to_numpy()[order]
    step, n_at = spec.km_grid_months / 12, len(spec.km_times)
    grid, read = {"group": [], "time": [], "n_risk": []}, {"step": [], "before": []}
    summary = {"group": [], "n": [], "events": [], "n_risk": [], "row": []}
    for i, group in enumerate(groups):
        own = np.sort(durations[row_bounds[i] : row_bounds[i + 1]])
        times = np.round(np.arange(0, own.max() + 1e-9, step), 6)
        first, last = curve_bounds[i], curve_bounds[i + 1]
        steps = np.searchsorted(curve_times[first:last], times, side="right") - 1
        grid["group"] += [group] * len(times)
        grid["time"].append(times)
        grid["n_risk"].append(_still_at_risk(own, times))
        read["step"].append(np.maximum(steps, 0) + first)
        read["before"].append(steps < 0)
        median = km.summary["median"].iloc[i]
        at = np.array([median if np.isfinite(median) else -np.inf, *spec.km_times])
        summary["group"] += [group] * len(at)
        summary["n"] += [len(own)] * len(at)
        summary["events"] += [int(events[row_bounds[i] : row_bounds[i + 1]].sum())] * len(at)
        summary["n_risk"] += _still_at_risk(own, at).tolist()
        summary["row"] += [i, *(len(groups) + i * n_at + np.arange(n_at))]
    taken, before = np.concatenate(read["step"]), np.concatenate(read["before"])
    curves = pd.DataFrame(
        {
            "time": np.concatenate(grid["time"]),
            "n_risk": np.concatenate(grid["n_risk"]),
            **{c: np.where(before, 1.0, km.curve[c].to_numpy(dtype=float)[taken])
               for c in ("survival", "ci_low", "ci_high")},
            "group": grid["group"],
            "note": "",
        }
    )  # fmt: skip
    statistics = pd.concat(
        [km.summary.rename(columns={"median": "estimate", "median_ci_low": "ci_low",
                                    "median_ci_high": "ci_high"}).assign(statistic=MEDIAN,
                                                                         time=np.nan),
         km.at.rename(columns={"survival": "estimate"}).assign(statistic=STILL_IN_POST)],
        ignore_index=True,
    ).iloc[summary.pop("row")]  # fmt: skip
    columns = ["statistic", "time", "estimate", "ci_low", "ci_high", "note"]
    table = pd.DataFrame(summary).assign(**{c: statistics[c].to_numpy() for c in columns})
    few = table["n_risk"] < threshold
    table.loc[few, ["estimate", "ci_low", "ci_high"]] = np.nan
    table.loc[few, "note"] = f"withheld: fewer than {threshold} still at risk"
    return curves, table


def _cox_rows(data: pd.DataFrame, reference: str, spec: OverTimeSpec, threshold: int,
              level: float) -> pd.DataFrame:  # fmt: skip
    """Hazard ratio of each group against ``reference``, groups under the threshold left out."""
    by_group = data.groupby("_g")["event"]
    counts = pd.DataFrame({"n": by_group.size(), "events": by_group.sum()})
    counts = counts.rename_axis("group").reset_index()
    fitted = data[data["_g"].isin(counts.loc[counts["n"] >= threshold, "group"])]
    # the reference stays a declared level when too few: cox notes it instead of raising
    fitted = fitted.astype({"_g": pd.CategoricalDtype(sorted({*counts["group"], reference}))})
    ratios = cox(fitted, time="duration_years", event="event", group="_g", reference=reference, ties=spec.ties,
                 level=level)  # fmt: skip
    ratios = ratios.rename(columns={"level": "group", "n": "model_n", "events": "model_events"})
    table = counts.merge(ratios.drop(columns=["variable", "reference_level"]), on="group",
                         how="left")  # fmt: skip
    table["is_reference"] = table["group"] == reference
    table.loc[table["is_reference"], "hazard_ratio"] = 1.0
    table["reference_group"] = reference
    table["ties"] = spec.ties
    small = table["n"] < threshold
    table["note"] = np.where(small, f"left out of the model: fewer than {threshold} records",
                             table["note"].fillna(""))  # fmt: skip
    return table


def _logrank_row(data: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Log-rank test over the groups with at least ``threshold`` records."""
    sizes = data["_g"].value_counts()
    kept = data[data["_g"].isin(sizes.index[sizes >= threshold])]
    row = logrank(kept, time="duration_years", event="event", group="_g")
    left_out = int((sizes < threshold).sum())
    note = f"{left_out} group(s) under {threshold} records left out" if left_out else ""
    row["note"] = "; ".join(filter(None, [row["note"].iloc[0], note]))
    return row.assign(n=len(kept), groups_tested=int((sizes >= threshold).sum()),
                      group=ALL_GROUPS)  # fmt: skip


def survival_tables(
    records: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec, years: Sequence[int], *,
    threshold: int, level: float,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """``survival_curves``, ``survival_summary``, ``survival_cox``, ``survival_logrank``."""
    columns = {"survival_curves": CURVE_COLUMNS, "survival_summary": SUMMARY_COLUMNS,
               "survival_cox": COX_COLUMNS, "survival_logrank": LOGRANK_COLUMNS}  # fmt: skip
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in columns}
    entrants = _entrants(records, spec, years) if not records.empty and years else None
    if entrants is None or entrants.empty:
        return {name: pd.DataFrame(columns=columns[name]) for name in columns}
    times = ["duration_years", "event"]
    stacked, keys = _stacked(entrants, times, instrument, spec.survival_dimensions, spec,
                             ALL_STAFF)  # fmt: skip
    curves, summary = _km_tables(stacked, spec, threshold, level)
    parts["survival_curves"].append(_unstacked(curves, keys)[0])
    parts["survival_summary"].append(_unstacked(summary, keys)[0])
    narrow, labelled = _narrow(entrants, times, instrument, spec.survival_dimensions)
    for region, area, dims in areas(narrow, spec.survival_dimensions, spec):
        for dim in dims:
            data = _by_group(area, times, labelled[(dim.name, dim.level)])
            data["_g"] = data["_g"].astype(str)
            reference = labelled[(dim.name, dim.level)][1]
            keys = {"region": region, "dimension": dim.name, "level": dim.level}
            parts["survival_cox"].append(_cox_rows(data, reference, spec, threshold, level)
                                         .assign(**keys))  # fmt: skip
            parts["survival_logrank"].append(_logrank_row(data, threshold).assign(**keys))
    return {
        name: (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()).reindex(
            columns=columns[name]
        )
        for name, frames in parts.items()
    }


def training_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Store training records in the :func:`toolkit.stats.workforce.trainee_outcomes` layout;
    ``cohort`` = the year of the start date."""
    frame = records.copy()
    if "trainee_id" not in frame:
        frame["trainee_id"] = frame["respondent"]
    frame = _as_dates(frame.rename(columns=TRAINING_FIELDS), list(TRAINING_FIELDS.values())[1:])
    frame["cohort"] = frame["start_date"].dt.year
    return frame


def _relative_likelihoods(
    table: pd.DataFrame, strata: Sequence[str], events: str, n: str, level: float
) -> pd.DataFrame:
    """Relative likelihood of ``events`` out of ``n`` of each row of ``table`` with a
    ``reference_group`` (not ``""``) against the row of that group in its stratum (the ``strata``
    columns), indexed as those rows: :func:`toolkit.stats.sweep.count_relative_likelihoods`, so
    each equals :func:`toolkit.stats.comparisons.relative_likelihood` on the stratum's rows with
    the reference a declared group (a stratum without a row of it: 0 of 0, "has no answers")."""
    compared = table[table["reference_group"] != ""]
    stratum = compared.groupby(list(strata), sort=False).ngroup().to_numpy()
    labels = compared["reference_group"].to_numpy(dtype=object)
    own = np.flatnonzero(compared["group"].to_numpy(dtype=object) == labels)
    reference_at = np.full(int(stratum.max(initial=-1)) + 1, -1)
    reference_at[stratum[own]] = own
    absent = np.flatnonzero(reference_at < 0)
    reference_at[absent] = len(compared) + np.arange(len(absent))
    first = np.unique(stratum, return_index=True)[1]
    found = count_relative_likelihoods(
        np.concatenate([compared[events].to_numpy(dtype=float), np.zeros(len(absent))]),
        np.concatenate([compared[n].to_numpy(dtype=np.int64), np.zeros(len(absent), np.int64)]),
        reference_at[np.concatenate([stratum, absent])],
        np.concatenate([labels, labels[first][absent]]),
        level=level,
    )
    return found.iloc[: len(compared)].set_axis(compared.index)


def trainee_table(
    records: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec, *, level: float
) -> pd.DataFrame:
    """``trainee_outcomes`` (unsuppressed, :data:`TRAINEE_COLUMNS`): per area, all trainees and
    each of the area's ``spec.record_dimensions`` groupings, by cohort and group. Counts and
    Wilson intervals of every area and grouping come from one
    :func:`toolkit.stats.workforce.trainee_outcomes` call (:func:`_stacked`), the relative
    likelihoods of attrition and conversion against each grouping's reference per cohort from
    their counts (:func:`_relative_likelihoods`); rows by area, grouping, cohort and group."""
    if records.empty:
        return pd.DataFrame(columns=TRAINEE_COLUMNS)
    trainees = training_frame(records)
    columns = [c for c in ["cohort", *TRAINING_FIELDS.values()] if c in trainees]
    stacked, keys = _stacked(trainees, columns, instrument, spec.record_dimensions, spec,
                             ALL_TRAINEES)  # fmt: skip
    table, number = _unstacked(trainee_outcomes(stacked, group="_g", level=level), keys)
    table = table.assign(_number=number).iloc[np.argsort(number, kind="stable")]
    notes = pd.Series("", index=table.index)
    for name, events in (("attrition", "withdrawals"), ("conversion", "registered_within_6m")):
        rl = _relative_likelihoods(table, ["_number", "cohort"], events, "starters", level)
        table[f"{name}_rl"] = rl["rel_likelihood"]
        table[f"{name}_rl_ci_low"], table[f"{name}_rl_ci_high"] = rl["rl_ci_low"], rl["rl_ci_high"]
        said = rl["note"] != ""
        notes[rl.index[said]] = [
            f"{note}; {name}: {text}" if note else f"{name}: {text}"
            for note, text in zip(notes[rl.index[said]], rl["note"][said], strict=True)
        ]
    table["note"] = notes
    return table.reset_index(drop=True).reindex(columns=TRAINEE_COLUMNS)


_APPLICATION_COLUMNS = ["applicant", "year", "shortlisted", "appointed"]
"""The columns of :func:`recruitment_frame` the recruitment table reads (besides groups)."""


def recruitment_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Store recruitment records as ``applicant, year, shortlisted, appointed`` (0/1) plus the
    demographic columns: shortlisted = stage SHORTLISTED or APPOINTED."""
    frame = records.copy()
    frame["applicant"] = frame["application_id"] if "application_id" in frame else frame[
        "respondent"]  # fmt: skip
    frame["year"] = pd.to_numeric(frame["year"]).astype(int)
    stage = frame["stage"].astype("string")
    frame["shortlisted"] = stage.isin(["SHORTLISTED", "APPOINTED"]).astype(int)
    frame["appointed"] = (stage == "APPOINTED").astype(int)
    return frame


def recruitment_table(
    records: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec, *, level: float
) -> pd.DataFrame:
    """``recruitment`` (unsuppressed, :data:`RECRUITMENT_COLUMNS`): appointment from
    shortlisting per year for England and each region, all shortlisted (rate with its Wilson
    interval) and the groups of each standard in ``spec.recruitment_standards``, whose
    numerator group's row has the standard's relative likelihood against its denominator group
    (:func:`toolkit.stats.workforce.appointment_relative_likelihood`, from the counts of every
    area and year at once, :func:`_relative_likelihoods`). Rates of every area and grouping come
    from one :func:`toolkit.stats.workforce.appointment_from_shortlisting` call (:func:`_stack`);
    rows by area, grouping (all, then the standards), year and group."""
    if records.empty:
        return pd.DataFrame(columns=RECRUITMENT_COLUMNS)
    standards = {code: STANDARD_GROUPS[code] for code in spec.recruitment_standards}
    dims = [DimensionLevel(name=name, level=lvl) for name, lvl, _ in standards.values()]
    narrow, labelled = _narrow(recruitment_frame(records), _APPLICATION_COLUMNS, instrument, dims)
    groupings = []
    for region, part, _ in areas(narrow, (), spec):
        everyone = pd.Series(ALL_SHORTLISTED, index=part.index, dtype="string")
        groupings.append(({"region": region, "standard": "", "dimension": "all", "level": "all",
                           "reference_group": ""}, part, everyone))  # fmt: skip
        for code, (name, lvl, roles) in standards.items():
            keys = {"region": region, "standard": code, "dimension": name, "level": lvl,
                    "reference_group": roles[preset(code).denominator]}  # fmt: skip
            groupings.append((keys, part, part[labelled[(name, lvl)][0]]))
    stacked, keys = _stack(groupings, _APPLICATION_COLUMNS)
    rates = appointment_from_shortlisting(stacked, group="_g", level=level)
    table, number = _unstacked(rates, keys)
    table = table.assign(_number=number).iloc[np.argsort(number, kind="stable")]
    rl = _relative_likelihoods(table, ["_number", "year"], "appointed", "shortlisted", level)
    numerators = {code: roles[preset(code).numerator] for code, (_, _, roles) in standards.items()}
    compared = table.loc[rl.index]
    numerator = (compared["group"] == compared["standard"].map(numerators)).to_numpy()
    rl = rl[numerator]
    table[["rel_likelihood", "rl_ci_low", "rl_ci_high"]] = rl[["rel_likelihood", "rl_ci_low",
                                                               "rl_ci_high"]]  # fmt: skip
    table["wording"] = table["standard"].map({code: preset(code).wording for code in standards})
    table["wording"] = table["wording"].where(table.index.isin(rl.index))
    table["note"] = rl["note"].reindex(table.index).fillna("")
    table["is_reference"] = (table["group"] == table["reference_group"]).astype(object)
    everyone = table["standard"] == ""
    table.loc[everyone, ["reference_group", "is_reference"]] = np.nan
    return table.reset_index(drop=True).reindex(columns=RECRUITMENT_COLUMNS)


def workforce_representation(
    records: pd.DataFrame, instrument: Instrument, spec: OverTimeSpec, years: Sequence[int], *,
    level: float,
) -> pd.DataFrame:  # fmt: skip
    """Staff in post on the last day of each year by region and ethnicity vs the benchmark (the
    years' staff in one :func:`toolkit.analysis.trends.representation_table` call)."""
    if records.empty or not years:
        return pd.DataFrame()
    frame = workforce_frame(records)
    in_post = []
    for year in years:
        _, end = year_period(year, spec.year_start_month)
        staff = frame[(frame["start_date"] <= end)
                      & (frame["end_date"].isna() | (frame["end_date"] >= end))]  # fmt: skip
        in_post.append(staff.drop_duplicates("person").assign(_year=year))
    staff = pd.concat(in_post, ignore_index=True)
    labels = ethnic_groups(staff, instrument, spec.representation_levels)
    return representation_table("workforce", staff["_year"], staff["region"], labels,
                                read_benchmark(spec), level, region_names(instrument))  # fmt: skip


def record_tables(
    records: Mapping[str, pd.DataFrame],
    instruments: Mapping[str, Instrument],
    spec: OverTimeSpec,
    *,
    years: Sequence[int],
    level: float,
    threshold: int,
) -> dict[str, pd.DataFrame]:
    """Every record-based over-time table, unsuppressed (module docstring).

    A kind without records or without its instrument gives empty tables.
    """

    def usable(kind: str) -> bool:
        return kind in instruments and not records.get(kind, pd.DataFrame()).empty

    tables = {name: pd.DataFrame(columns=columns) for name, columns in (
        ("workforce_rates", RATE_COLUMNS), ("survival_curves", CURVE_COLUMNS),
        ("survival_summary", SUMMARY_COLUMNS), ("survival_cox", COX_COLUMNS),
        ("survival_logrank", LOGRANK_COLUMNS), ("trainee_outcomes", TRAINEE_COLUMNS),
        ("recruitment", RECRUITMENT_COLUMNS),
        ("representation_workforce", REPRESENTATION_COLUMNS))}  # fmt: skip
    if usable("workforce") and years:
        workforce, instrument = records["workforce"], instruments["workforce"]
        tables["workforce_rates"] = workforce_rates(workforce, instrument, spec, years)
        tables |= survival_tables(workforce, instrument, spec, years, threshold=threshold,
                                  level=level)  # fmt: skip
        tables["representation_workforce"] = workforce_representation(
            workforce, instrument, spec, years, level=level
        )
    if usable("training"):
        tables["trainee_outcomes"] = trainee_table(
            records["training"], instruments["training"], spec, level=level
        )
    if usable("recruitment"):
        tables["recruitment"] = recruitment_table(
            records["recruitment"], instruments["recruitment"], spec, level=level
        )
    return tables
