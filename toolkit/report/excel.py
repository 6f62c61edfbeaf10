"""Write a results bundle as an Excel workbook that reads like a publication.

A "Contents" sheet comes first: each sheet's name, what it holds and its number of rows. Then
one sheet per bundle table, named for readers ("Rates by group", not ``comparisons``), with
human column names ("95% CI low", not ``ci_low``), rates formatted as percentages (a score
row of a mixed table keeps its scale), a bold, filled header row, frozen panes below the
header, an autofilter and column widths fitted to the content (capped). Suppression is
preserved: in a row flagged ``suppressed`` every blank number cell reads "suppressed" (the
reason stays in its column). Text cells go through :func:`toolkit.ingest.sheets.sheet_text`, as in every sheet ptw
writes: text a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, or
a tab or carriage return, the OWASP CSV-injection list) is prefixed with an apostrophe and
stored as text, so it is shown literally and never runs, and control characters are escaped. An
"About this release" sheet lists the manifest's top-level entries.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from toolkit.bundle import Bundle
from toolkit.ingest.sheets import sheet_text

SUPPRESSED = "suppressed"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
MAX_WIDTH = 60
PERCENT_FORMAT = "0.0%"
#: Excel's sheet-name limit.
SHEET_NAME_LENGTH = 31
CONTENTS = "Contents"
#: Bundle tables that only tell the reports how to sort rows: not part of the publication.
INTERNAL_TABLES = frozenset({"group_order"})
ABOUT = "About this release"
#: Bundle table -> (sheet title, what it holds).
TABLE_TITLES: dict[str, tuple[str, str]] = {
    "comparisons": ("Rates by group", "Each indicator's rate by group with 95% CIs, relative likelihoods and tests"),
    "response_profile": ("Respondents", "Respondents by survey, cycle, region and group"),
    "representation": ("Representation", "Respondents and workforce against the Census 2021 population"),
    "models": ("Adjusted models", "Odds ratios before and after adjusting for sector, career stage and region"),
    "intention_to_leave": ("Intention to leave", "Intention-to-leave items (% agreeing) and score (0 to 10)"),
    "workforce_rates": ("Turnover", "Leaver and joiner rates and the stability index by year"),
    "survival_curves": ("Time in post curves", "Kaplan-Meier estimates of staying in post"),
    "survival_summary": ("Time in post", "Still in post after each year, and the median time in post"),
    "survival_cox": ("Hazard of leaving", "Cox model hazard ratios of leaving"),
    "survival_logrank": ("Log-rank tests", "Log-rank tests of time in post between groups"),
    "trainee_outcomes": ("Trainees", "Trainee attrition and registration by cohort and group"),
    "recruitment": ("Recruitment", "Appointment from shortlisting (WRES 2, WDES 2)"),
    "trend_gaps": ("Gaps by cycle", "Each gap between groups in every survey cycle"),
    "trend_interactions": ("Is the gap narrowing", "Tests of whether each gap is narrowing or widening"),
    "trend_changes": ("Change since last cycle", "Change in rates and gaps since the previous cycle"),
    "likert": ("Answers", "The share giving each answer to each question"),
    "scales": ("Scale scores", "Mean scale scores (0 to 10) by group"),
    "reliability": ("Scale reliability", "Cronbach's alpha per scale"),
    "weighting": ("Weights", "Survey weighting diagnostics"),
    "suppression_log": ("Suppression log", "Every suppressed figure and why"),
    "group_hierarchy": ("Group hierarchy", "Which groups add up to which"),
    "response_rates": ("Response rates", "Respondents against the staff in post, by survey and region"),
    "pooled_estimates": ("Pooled estimates", "Intersections: pooled (multilevel) rates beside raw rates"),
    "funnel_units": ("Funnel plot points", "Each region's rate for a group, with its funnel-plot position"),
    "funnel_limits": ("Funnel plot limits", "The 95% and 99.8% control limits of each funnel plot"),
}  # fmt: skip
#: Bundle column -> reader's column name (others: underscores to spaces, first letter capital).
COLUMN_TITLES: dict[str, str] = {
    "n": "Respondents", "estimate": "Estimate", "ci_low": "95% CI low", "ci_high": "95% CI high",
    "ci_method": "CI method", "rel_likelihood": "Relative likelihood", "rl_ci_low": "RL 95% CI low",
    "rl_ci_high": "RL 95% CI high", "rl_ci_method": "RL CI method", "p_value": "p-value",
    "p_adjusted": "Adjusted p-value", "adjust_method": "Adjustment method",
    "outside_band": "Whole CI outside 0.80-1.25", "diff": "Difference", "diff_ci_low":
    "Difference 95% CI low", "diff_ci_high": "Difference 95% CI high", "test_p_value":
    "Test p-value", "dof": "Degrees of freedom", "is_reference": "Reference group?",
    "reference_group": "Reference group", "suppressed": "Suppressed?", "suppression_reason":
    "Why suppressed", "weighted_n": "Weighted respondents", "se": "Standard error",
    "sample_share": "Share of respondents", "benchmark_share": "Share in Census 2021",
    "representation_ratio": "Representation ratio", "odds_ratio": "Odds ratio",
    "hazard_ratio": "Hazard ratio", "leaver_rate": "Leaver rate", "joiner_rate": "Joiner rate",
    "stability_index": "Stability index", "registered_within_6m": "Registered within 6 months",
    "attrition_rl": "Attrition RL", "conversion_rl": "Registration RL", "conversion":
    "Registration rate", "n_risk": "Still at risk", "fte_start": "FTE at start", "fte_end": "FTE at end",
}  # fmt: skip
#: Columns holding proportions, shown as percentages (per table; a score row keeps its scale).
PERCENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "comparisons": ("estimate", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"),
    "trend_gaps": ("estimate", "ci_low", "ci_high", "reference_estimate", "diff", "diff_ci_low",
                   "diff_ci_high"),
    "intention_to_leave": ("estimate", "ci_low", "ci_high"),
    "workforce_rates": ("leaver_rate", "joiner_rate", "stability_index"),
    "trainee_outcomes": ("attrition", "attrition_ci_low", "attrition_ci_high", "conversion",
                         "conversion_ci_low", "conversion_ci_high", "conversion_of_completers",
                         "conversion_of_completers_ci_low", "conversion_of_completers_ci_high"),
    "recruitment": ("rate", "ci_low", "ci_high"),
    "representation": ("sample_share", "benchmark_share"),
    "survival_summary": ("estimate", "ci_low", "ci_high"),
    "survival_curves": ("survival", "ci_low", "ci_high"),
    "likert": ("share",),
}  # fmt: skip


def _cell_value(value: object, *, suppressed: bool) -> object:
    """The value written: NaN/None -> blank, or "suppressed" in a suppressed row."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return SUPPRESSED if suppressed else None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return sheet_text(value)


def column_title(column: str) -> str:
    """The reader's name of a bundle column (:data:`COLUMN_TITLES`, else words from the name)."""
    return COLUMN_TITLES.get(column) or column.replace("_", " ").capitalize()


def _percent_rows(name: str, table: pd.DataFrame) -> list[bool]:
    """Which rows' percentage columns hold proportions (a score or a median time does not)."""
    if "measure" in table.columns:
        return [("score" not in str(m)) for m in table["measure"]]
    if "statistic" in table.columns:
        return [("still in post" in str(m)) for m in table["statistic"]]
    return [True] * len(table)


def _write_sheet(sheet: Worksheet, table: pd.DataFrame, *, name: str = "") -> None:
    columns = [str(column) for column in table.columns]
    sheet.append([sheet_text(column_title(column)) for column in columns])
    flags = (
        table["suppressed"].astype("boolean").fillna(False).astype(bool).tolist()
        if "suppressed" in table.columns
        else [False] * len(table)
    )
    percent = [i for i, c in enumerate(columns, 1) if c in PERCENT_COLUMNS.get(name, ())]
    proportions = _percent_rows(name, table)
    for values, hidden, rate in zip(
        table.itertuples(index=False, name=None), flags, proportions, strict=True
    ):
        sheet.append([_cell_value(value, suppressed=hidden) for value in values])
        if rate:
            for index in percent:
                cell = sheet.cell(row=sheet.max_row, column=index)
                if isinstance(cell.value, float):
                    cell.number_format = PERCENT_FORMAT
    _format(sheet, len(columns))


def _format(sheet: Worksheet, n_columns: int) -> None:
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=False, vertical="center")
    sheet.freeze_panes = "A2"
    if n_columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(n_columns)}{max(sheet.max_row, 1)}"
    for index, column in enumerate(sheet.iter_cols(min_row=1, max_row=min(sheet.max_row, 500)),
                                   start=1):  # fmt: skip
        longest = max(
            (len(str(cell.value)) for cell in column if cell.value is not None), default=8
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, longest + 2)


def sheet_name(table: str, used: set[str]) -> str:
    """An Excel-legal, unique sheet name for ``table`` (31 characters, no ``[]:*?/\\``)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in table)[:SHEET_NAME_LENGTH]
    name, number = clean, 2
    while name.lower() in used:
        suffix = f"_{number}"
        name, number = clean[: SHEET_NAME_LENGTH - len(suffix)] + suffix, number + 1
    used.add(name.lower())
    return name


def _manifest_rows(manifest: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entry": [str(key).replace("_", " ").capitalize() for key in manifest],
            "value": [
                value if isinstance(value, str | int | float) else json.dumps(value, default=str)
                for value in manifest.values()
            ],
        }
    )


def workbook_contents(bundle: Bundle) -> pd.DataFrame:
    """The workbook's sheets after "Contents", in order: one per published bundle table (those
    :data:`TABLE_TITLES` names first, in its order, then the rest alphabetically), then
    :data:`ABOUT`.

    Output columns: ``table`` (the bundle table; "" for :data:`ABOUT`), ``sheet`` (its
    Excel-legal, unique name), ``what_it_holds`` and ``rows``. The reports name the same
    sheets when they send a reader to the workbook.
    """
    used: set[str] = {CONTENTS.lower()}
    published = set(bundle.tables) - INTERNAL_TABLES
    known = [n for n in TABLE_TITLES if n in published]
    entries = []
    for name in [*known, *sorted(published - set(known))]:
        title, about = TABLE_TITLES.get(name, (name.replace("_", " ").capitalize(), ""))
        entries.append((name, sheet_name(title, used), about, len(bundle.tables[name])))
    entries.append(("", sheet_name(ABOUT, used),
                    "Plan, instrument versions, data batches and settings", None))  # fmt: skip
    return pd.DataFrame(entries, columns=["table", "sheet", "what_it_holds", "rows"])


def write_bundle_excel(bundle: Bundle, path: Path) -> Path:
    """Write every table of ``bundle`` (readers' order) and its manifest to the workbook ``path``.

    Output: ``path``. The workbook has one sheet per table (except :data:`INTERNAL_TABLES`) plus
    ``manifest``; see the module
    docstring for formatting, suppression and formula-injection rules.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    contents = workbook.create_sheet(CONTENTS)
    entries = workbook_contents(bundle)
    for row in entries.itertuples(index=False):
        sheet = workbook.create_sheet(row.sheet)
        table = bundle.tables[row.table] if row.table else _manifest_rows(bundle.manifest)
        _write_sheet(sheet, table, name=row.table)
    _write_sheet(contents, entries.drop(columns="table"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
