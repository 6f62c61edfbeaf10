"""Workforce, training and recruitment measures from person-level records (DOMAIN.md section 6).

Each derived field is defined once, here, with its formula:

- :func:`leaver_rate` = leavers in period / mean(headcount at start, headcount at end)
- :func:`joiner_rate` = joiners in period / mean(headcount at start, headcount at end)
- :func:`stability_index` = staff in post at start still in post at end / headcount at start
- :func:`vacancy_rate` = vacant FTE / (FTE in post + vacant FTE)
- PTPT attrition = withdrawals / starters; conversion = registered with the GPhC within 182 days
  of the planned end (cohort start + 104 weeks unless given) / starters; conversion of
  completers = registered within 182 days / completers (ptw's definitions: none are official).

Record layouts (column names are fixed; group columns are free):

- workforce: ``person`` (or ``person_id``, the template's name), ``start_date, end_date`` (end
  empty = still in post), optional FTE column.
  A person is in post on day d when start_date <= d <= end_date (end_date is the last day).
- training: ``trainee, cohort, start_date`` and optional ``planned_end_date, withdrawn_date,
  completed_date, registered_date``.
- recruitment: ``applicant, year, shortlisted, appointed`` (0/1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.comparisons import relative_likelihood, standard_relative_likelihood
from toolkit.stats.design import declared_levels, require_reference
from toolkit.stats.proportions import wilson_interval

WORKFORCE_COLUMNS = [
    "period",
    "dimension",
    "group",
    "headcount_start",
    "headcount_end",
    "mean_headcount",
    "leavers",
    "joiners",
    "leaver_rate",
    "joiner_rate",
    "stable_staff",
    "stability_index",
    "fte_start",
    "fte_end",
    "note",
]
TRAINING_COLUMNS = [
    "cohort",
    "dimension",
    "group",
    "starters",
    "withdrawals",
    "completers",
    "registered_within_6m",
    "attrition",
    "attrition_ci_low",
    "attrition_ci_high",
    "conversion",
    "conversion_ci_low",
    "conversion_ci_high",
    "conversion_of_completers",
    "conversion_of_completers_ci_low",
    "conversion_of_completers_ci_high",
    "ci_method",
    "reference_group",
    "attrition_rl",
    "attrition_rl_ci_low",
    "attrition_rl_ci_high",
    "conversion_rl",
    "conversion_rl_ci_low",
    "conversion_rl_ci_high",
    "note",
]
APPOINTMENT_COLUMNS = [
    "year",
    "dimension",
    "group",
    "shortlisted",
    "appointed",
    "rate",
    "ci_low",
    "ci_high",
    "ci_method",
    "note",
]
PLANNED_LENGTH = pd.Timedelta(weeks=104)
REGISTRATION_WINDOW = pd.Timedelta(days=182)
ALL_GROUP = "All"


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def leaver_rate(
    *,
    leavers: np.ndarray | float,
    headcount_start: np.ndarray | float,
    headcount_end: np.ndarray | float,
) -> np.ndarray:
    """Leaver rate = leavers / ((headcount_start + headcount_end) / 2); NaN if no headcount."""
    return _ratio(leavers, (np.asarray(headcount_start) + np.asarray(headcount_end)) / 2)


def joiner_rate(
    *,
    joiners: np.ndarray | float,
    headcount_start: np.ndarray | float,
    headcount_end: np.ndarray | float,
) -> np.ndarray:
    """Joiner rate = joiners / ((headcount_start + headcount_end) / 2); NaN if no headcount."""
    return _ratio(joiners, (np.asarray(headcount_start) + np.asarray(headcount_end)) / 2)


def stability_index(
    *, stable_staff: np.ndarray | float, headcount_start: np.ndarray | float
) -> np.ndarray:
    """Stability index = staff in post at both start and end / headcount at start."""
    return _ratio(stable_staff, headcount_start)


def vacancy_rate(*, vacant_fte: np.ndarray | float, fte_in_post: np.ndarray | float) -> np.ndarray:
    """Vacancy rate = vacant FTE / (FTE in post + vacant FTE)."""
    return _ratio(vacant_fte, np.asarray(fte_in_post) + np.asarray(vacant_fte))


def _require(records: pd.DataFrame, columns: Sequence[str], kind: str) -> None:
    """Raise a located error naming the first missing column of a record layout."""
    for column in columns:
        if column not in records.columns:
            raise PtwError(
                code="stats.records_column",
                message=f"{kind} records lack a required column",
                column=column,
                expected=", ".join(columns),
                fix=f"rename the column in the {kind} file or map it when ingesting",
            )


def _dates(records: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy with the given columns (those present) parsed as dates; a bad date raises."""
    frame = records.copy()
    for column in columns:
        if column in frame.columns:
            try:
                frame[column] = pd.to_datetime(frame[column])
            except (ValueError, TypeError) as error:
                raise PtwError(
                    code="stats.bad_date",
                    message="a date cannot be read",
                    column=column,
                    value=str(error),
                    expected="YYYY-MM-DD",
                    fix="write dates as YYYY-MM-DD",
                ) from error
    return frame


def _groups(frame: pd.DataFrame, group: str | None) -> tuple[str, pd.Series]:
    """(dimension name, group label per row): ``group`` as text, or ("all", "All")."""
    if group is None:
        return "all", pd.Series(ALL_GROUP, index=frame.index)
    _require(frame, [group], "the")
    return group, frame[group].astype(str)


#: Other names of the ``person`` column: the workforce records template's ``person_id``.
PERSON_ALIASES = ("person_id",)


def _workforce_records(records: pd.DataFrame) -> pd.DataFrame:
    """Checked workforce records: the person column named ``person`` (also when it came as
    ``person_id``, as the template names it), dates parsed, no end before start."""
    alias = next((a for a in PERSON_ALIASES if a in records.columns), None)
    if "person" not in records.columns and alias is not None:
        records = records.rename(columns={alias: "person"})
    _require(records, ["person", "start_date", "end_date"], "workforce")
    frame = _dates(records, ["start_date", "end_date"])
    backwards = frame["end_date"] < frame["start_date"]
    if backwards.any():
        first = int(np.flatnonzero(backwards.to_numpy())[0])
        raise PtwError(
            code="stats.end_before_start",
            message="a record ends before it starts",
            row=first + 1,
            column="end_date",
            value=str(frame["end_date"].iloc[first].date()),
            expected="an end date on or after the start date",
            fix="correct the dates in the workforce file",
        )
    return frame


def _in_post(frame: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Rows in post on ``day``: start_date <= day <= end_date (or no end date)."""
    return (frame["start_date"] <= day) & (frame["end_date"].isna() | (frame["end_date"] >= day))


def _period_counts(
    frame: pd.DataFrame, labels: pd.Series, start: pd.Timestamp, end: pd.Timestamp,
    fte: str | None,
) -> pd.DataFrame:  # fmt: skip
    """Headcounts (distinct people), leavers, joiners and stable staff of every group at once.

    Leaver: has a record ending in [start, end) and is not in post at ``end``. Joiner: has a
    record starting in (start, end] and was not in post at ``start``. Then headcount_end =
    headcount_start + joiners - leavers. Each person is counted once per group: their records'
    flags are combined (any record in post, any record ending ...) per group x person, then
    summed per group. Output: one row per group label (sorted), ``WORKFORCE_COLUMNS`` counts.
    """
    at_start, at_end = _in_post(frame, start), _in_post(frame, end)
    flags = pd.DataFrame(
        {
            "group": labels.to_numpy(),
            "person": frame["person"].to_numpy(),
            "at_start": at_start.to_numpy(dtype=bool),
            "at_end": at_end.to_numpy(dtype=bool),
            "ended": (frame["end_date"].ge(start) & frame["end_date"].lt(end)).to_numpy(bool),
            "began": (frame["start_date"].gt(start) & frame["start_date"].le(end)).to_numpy(bool),
        }
    )
    people = flags.groupby(["group", "person"], sort=False, observed=True).any()
    counted = pd.DataFrame(
        {
            "headcount_start": people["at_start"],
            "headcount_end": people["at_end"],
            "leavers": people["ended"] & ~people["at_end"],
            "joiners": people["began"] & ~people["at_start"],
            "stable_staff": people["at_start"] & people["at_end"],
        }
    )
    counts = counted.groupby(level="group", sort=True, observed=True).sum().astype(int)
    if fte:
        values = frame[fte].to_numpy(dtype=float)
        in_post = pd.DataFrame(
            {"fte_start": np.where(flags["at_start"], values, 0.0),
             "fte_end": np.where(flags["at_end"], values, 0.0)}
        ).groupby(flags["group"], sort=True, observed=True).sum()  # fmt: skip
        counts = counts.join(in_post)
    else:
        counts = counts.assign(fte_start=np.nan, fte_end=np.nan)
    return counts


def workforce_metrics(
    records: pd.DataFrame,
    *,
    period_start: str | pd.Timestamp,
    period_end: str | pd.Timestamp,
    group: str | None = None,
    fte: str | None = None,
) -> pd.DataFrame:
    """Headcount, leaver and joiner rates and stability index per group for one period.

    Args:
        records: workforce records (module docstring layout).
        period_start, period_end: the period's first and last day (e.g. 2024-04-01, 2025-03-31).
        group: optional group column (ethnicity, disability, sector, career stage, region).
        fte: optional FTE column summed over records in post at start and end.

    Returns:
        One row per group (``WORKFORCE_COLUMNS``); rates from :func:`leaver_rate`,
        :func:`joiner_rate` and :func:`stability_index`, NaN with a note when undefined.
    """
    frame = _workforce_records(records)
    if fte is not None:
        _require(frame, [fte], "workforce")
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    dimension, labels = _groups(frame, group)
    counts = _period_counts(frame, labels, start, end, fte)
    table = counts.reset_index().assign(
        period=f"{start.date()} to {end.date()}",
        dimension=dimension,
        note=np.where(
            counts["headcount_start"].to_numpy() > 0, "", "no staff in post at the start"
        ),
    )
    table = table.reindex(columns=WORKFORCE_COLUMNS)
    table["mean_headcount"] = (table["headcount_start"] + table["headcount_end"]) / 2
    table["leaver_rate"] = leaver_rate(
        leavers=table["leavers"],
        headcount_start=table["headcount_start"],
        headcount_end=table["headcount_end"],
    )
    table["joiner_rate"] = joiner_rate(
        joiners=table["joiners"],
        headcount_start=table["headcount_start"],
        headcount_end=table["headcount_end"],
    )
    table["stability_index"] = stability_index(
        stable_staff=table["stable_staff"], headcount_start=table["headcount_start"]
    )
    return table


def time_in_post(records: pd.DataFrame, *, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Time in post per record for Kaplan-Meier / Cox, censored at ``as_of``.

    Returns the records that had started by ``as_of`` with two added columns:
    ``duration_years`` = (min(end_date, as_of) - start_date) in days / 365.25 and ``event`` =
    1 when the record ended on or before ``as_of`` (left), 0 when still in post (censored).
    """
    frame = _workforce_records(records)
    day = pd.Timestamp(as_of)
    frame = frame[frame["start_date"] <= day].copy()
    left = frame["end_date"].notna() & (frame["end_date"] <= day)
    stop = frame["end_date"].where(left, day)
    frame["duration_years"] = (stop - frame["start_date"]).dt.days / 365.25
    frame["event"] = left.astype(int)
    return frame.reset_index(drop=True)


def _with_wilson(table: pd.DataFrame, name: str, events: str, total: str, level: float) -> None:
    """Add ``name`` = events / total and its Wilson interval columns in place."""
    table[name] = _ratio(table[events], table[total])
    low, high = wilson_interval(table[events].to_numpy(), table[total].to_numpy(), level)
    table[f"{name}_ci_low"], table[f"{name}_ci_high"] = low, high


def _trainee_flags(records: pd.DataFrame) -> pd.DataFrame:
    """Per trainee: withdrew, completed, registered within 182 days of the planned end."""
    _require(records, ["trainee", "cohort", "start_date"], "training")
    frame = _dates(
        records,
        ["start_date", "planned_end_date", "withdrawn_date", "completed_date", "registered_date"],
    )
    for column in ("planned_end_date", "withdrawn_date", "completed_date", "registered_date"):
        if column not in frame.columns:
            frame[column] = pd.NaT
    planned_end = frame["planned_end_date"].fillna(frame["start_date"] + PLANNED_LENGTH)
    frame["withdrew"] = frame["withdrawn_date"].notna().astype(int)
    frame["completed"] = frame["completed_date"].notna().astype(int)
    frame["registered"] = (
        frame["registered_date"].notna()
        & (frame["registered_date"] <= planned_end + REGISTRATION_WINDOW)
    ).astype(int)
    return frame


def _rl_columns(
    frame: pd.DataFrame, labels: pd.Series, outcome: str, reference: str, level: float
) -> dict[str, tuple[float, float, float, str]]:
    """Katz relative likelihood of ``outcome`` per group against ``reference`` (one cohort):
    group -> (relative likelihood, interval low, high, note)."""
    rl = relative_likelihood(
        frame[[outcome]].assign(_group=labels),
        outcome=outcome,
        group="_group",
        reference=reference,
        level=level,
    )
    columns = (rl[c] for c in ("rel_likelihood", "rl_ci_low", "rl_ci_high", "note"))
    return dict(zip(rl["group"], zip(*columns, strict=True), strict=True))


def _cohort_counts(
    frame: pd.DataFrame, labels: pd.Series
) -> dict[tuple[object, str], tuple[int, int, int, int]]:
    """(cohort, group as text) -> (starters, withdrawals, completers, registered within 6
    months): counts of the trainees with a group by one combined cohort x group code
    (``frame``: :func:`_trainee_flags`)."""
    known = labels.notna().to_numpy()
    cohorts, cohort_code = np.unique(frame["cohort"].to_numpy()[known], return_inverse=True)
    groups, group_code = np.unique(labels[known].astype(str).to_numpy(), return_inverse=True)
    cell = cohort_code * len(groups) + group_code
    size = len(cohorts) * len(groups)
    columns = [np.bincount(cell, minlength=size)] + [
        np.bincount(cell, weights=frame[flag].to_numpy(dtype=float)[known], minlength=size)
        for flag in ("withdrew", "completed", "registered")
    ]
    return {(cohorts[i // len(groups)], groups[i % len(groups)]): tuple(int(c[i]) for c in columns)
            for i in np.flatnonzero(columns[0])}  # fmt: skip


def trainee_outcomes(
    records: pd.DataFrame,
    *,
    group: str | None = None,
    reference: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """PTPT attrition and registration conversion per cohort and group.

    Args:
        records: one row per trainee (module docstring layout).
        group: optional equality group column.
        reference: optional reference group for relative likelihoods of attrition and
            conversion (Katz log intervals, :func:`toolkit.stats.comparisons.relative_likelihood`).
        level: confidence level.

    Returns:
        One row per cohort and group (``TRAINING_COLUMNS``); rates with Wilson intervals; the RL
        columns are NaN without ``reference`` and for the reference itself RL = 1.
    """
    frame = _trainee_flags(records)
    dimension, labels = _groups(frame, group)
    if reference is not None:
        # a reference that is no level of the column (categories count) is a mistake in the
        # call; a cohort without it keeps a note
        levels = declared_levels(frame[group]) if group is not None else [ALL_GROUP]
        require_reference(levels, reference, dimension)
        labels = labels.astype(pd.CategoricalDtype(levels))
    counts = _cohort_counts(frame, labels)
    rows = []
    for cohort, cohort_rows in frame.groupby("cohort", sort=True):
        cohort_labels = labels[cohort_rows.index]
        rl = (
            {
                name: _rl_columns(cohort_rows, cohort_labels, flag, reference, level)
                for name, flag in (("attrition", "withdrew"), ("conversion", "registered"))
            }
            if reference is not None
            else {}
        )
        for label in sorted(cohort_labels.dropna().unique().astype(str)):
            starters, withdrawals, completers, registered = counts[(cohort, label)]
            row: dict[str, object] = {
                "cohort": cohort,
                "dimension": dimension,
                "group": label,
                "starters": starters,
                "withdrawals": withdrawals,
                "completers": completers,
                "registered_within_6m": registered,
                "reference_group": reference or "",
                "note": "",
            }
            for name, table in rl.items():
                row[f"{name}_rl"], row[f"{name}_rl_ci_low"], row[f"{name}_rl_ci_high"], note = (
                    table[label]
                )
                row["note"] = "; ".join(filter(None, [row["note"], note and f"{name}: {note}"]))
            rows.append(row)
    table = pd.DataFrame(rows, columns=TRAINING_COLUMNS)
    _with_wilson(table, "attrition", "withdrawals", "starters", level)
    _with_wilson(table, "conversion", "registered_within_6m", "starters", level)
    _with_wilson(table, "conversion_of_completers", "registered_within_6m", "completers", level)
    table["ci_method"] = methods.WILSON
    return table


def _shortlisted(records: pd.DataFrame) -> pd.DataFrame:
    """Shortlisted applicants only, ``appointed`` as 0/1."""
    _require(records, ["applicant", "year", "shortlisted", "appointed"], "recruitment")
    frame = records[records["shortlisted"].astype(bool)].copy()
    frame["appointed"] = frame["appointed"].astype(int)
    return frame


def appointment_from_shortlisting(
    records: pd.DataFrame, *, group: str, level: float = 0.95
) -> pd.DataFrame:
    """Rate of appointment from shortlisting per group per year, with Wilson intervals.

    Returns:
        One row per year and group (``APPOINTMENT_COLUMNS``): shortlisted, appointed,
        rate = appointed / shortlisted.
    """
    frame = _shortlisted(records)
    dimension, labels = _groups(frame, group)
    counts = (
        frame.assign(group=labels)
        .groupby(["year", "group"], sort=True)["appointed"]
        .agg(shortlisted="size", appointed="sum")
        .reset_index()
    )
    counts["dimension"] = dimension
    _with_wilson(counts, "rate", "appointed", "shortlisted", level)
    counts = counts.rename(columns={"rate_ci_low": "ci_low", "rate_ci_high": "ci_high"})
    counts["ci_method"] = methods.WILSON
    counts["note"] = ""
    return counts[APPOINTMENT_COLUMNS]


def appointment_relative_likelihood(
    records: pd.DataFrame,
    *,
    group: str,
    preset_code: str,
    groups: Mapping[str, str],
    level: float = 0.95,
) -> pd.DataFrame:
    """WRES 2 / WDES 2 relative likelihood of appointment from shortlisting, per year.

    ``preset_code`` is "WRES 2" (White vs BME) or "WDES 2" (non-disabled vs Disabled);
    ``groups`` maps the preset's roles to labels in ``group``, e.g. ``{"White": "White",
    "BME": "Ethnic minority"}``. Returns one row per year: ``year`` followed by the columns of
    :func:`toolkit.stats.comparisons.standard_relative_likelihood`.
    """
    frame = _shortlisted(records)
    tables = [
        standard_relative_likelihood(
            rows,
            preset_code=preset_code,
            outcome="appointed",
            group=group,
            groups=groups,
            level=level,
        ).assign(year=year)
        for year, rows in frame.groupby("year", sort=True)
    ]
    table = pd.concat(tables, ignore_index=True)
    return table[["year", *[c for c in table.columns if c != "year"]]]
