"""Publication tables from bundle tables (great_tables: accessible HTML, real Word tables).

Functions take suppressed bundle tables, format them and return a ``GT`` object; a
suppressed row shows "suppressed" in every number column and its reason in the note column,
never a number. great_tables escapes cell text, so a group named ``<script>`` is shown as
text, and every column has a header (no empty header cell for axe-core to flag).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
from great_tables import GT

from toolkit.report.sentences import (
    SUPPRESSED,
    is_suppressed,
    p_text,
    percent,
    ratio,
    readable_reason,
)

NOTE = "Note"


def _integer(value: float) -> str:
    return "" if pd.isna(value) else f"{round(float(value)):,}"


def _plain(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _number(value: float) -> str:
    return "" if pd.isna(value) else f"{float(value):.3g}"


#: Formatters by kind: how a number column is written.
FORMATTERS: dict[str, Callable[[object], str]] = {
    "percent": percent,
    "ratio": ratio,
    "integer": _integer,
    "number": _number,
    "p": p_text,
    "text": _plain,
}


@dataclass(frozen=True)
class Column:
    """One shown column: the bundle column, its header and its formatter kind.

    ``ci`` names the (low, high) columns shown after the value as "low to high".
    """

    name: str
    header: str
    kind: str = "text"
    ci: tuple[str, str] | None = None
    identifying: bool = False


@dataclass(frozen=True)
class TableSpec:
    """The columns of a published table, in order (those absent from the data are skipped)."""

    columns: tuple[Column, ...]
    note_column: str = "note"


def _cell(row: Mapping[str, object], column: Column) -> str:
    if is_suppressed(row) and not column.identifying:
        return SUPPRESSED
    formatter = FORMATTERS[column.kind]
    text = formatter(row.get(column.name))
    if column.ci and text:
        low, high = (formatter(row.get(name)) for name in column.ci)
        if low and high:
            text = f"{text} ({low} to {high})"
    return text


def _note(row: Mapping[str, object], note_column: str) -> str:
    if is_suppressed(row):
        reason = _plain(row.get("suppression_reason"))
        return readable_reason(reason) if reason else SUPPRESSED
    return _plain(row.get(note_column))


def formatted_frame(table: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """``table`` as strings for publication: the spec's columns present in ``table`` and a note.

    Suppressed rows keep their identifying columns, show "suppressed" elsewhere and their
    reason as the note. The note column is left out when no row has a note.
    """
    shown = [column for column in spec.columns if column.name in table.columns]
    records = table.to_dict(orient="records")
    frame = pd.DataFrame(
        {column.header: [_cell(row, column) for row in records] for column in shown}
    )
    notes = [_note(row, spec.note_column) for row in records]
    if any(notes):
        frame[NOTE] = notes
    return frame


def bundle_table(
    table: pd.DataFrame, spec: TableSpec, *, title: str, source_note: str | None = None
) -> GT:
    """A great_tables table of ``table`` formatted by ``spec`` under ``title``.

    ``source_note`` is a line under the table (e.g. the test across all groups). The HTML id
    is derived from the title and content (great_tables' default is random), so the same
    bundle gives byte-identical reports. A column of single numbers (a count, a p-value, a
    rate without its interval) is right-aligned whatever its cells hold: great_tables would
    left-align it as text as soon as one cell reads "< 0.001" or "suppressed".
    """
    frame = formatted_frame(table, spec)
    digest = hashlib.sha1((title + frame.to_csv()).encode("utf-8")).hexdigest()[:12]
    table_ = GT(frame, id=f"tbl-{digest}").tab_header(title=title)
    numbers = [column.header for column in spec.columns
               if column.header in frame.columns and column.kind != "text" and column.ci is None]  # fmt: skip
    if numbers:
        table_ = table_.cols_align("right", columns=numbers)
    return table_.tab_source_note(source_note) if source_note else table_


RATES = TableSpec(
    columns=(
        Column("group", "Group", identifying=True),
        Column("n", "Respondents", "integer"),
        Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
        Column(
            "rel_likelihood",
            "Relative likelihood (95% CI)",
            "ratio",
            ci=("rl_ci_low", "rl_ci_high"),
        ),
        Column("p_adjusted", "Adjusted p", "p"),
    ),
    note_column="table_note",
)


def mark_reference(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with " (reference)" after the reference group's name (``is_reference``)."""
    rows = rows.copy()
    if "is_reference" in rows.columns:
        reference = rows["is_reference"].astype("boolean").fillna(False).astype(bool)
        rows["group"] = (
            rows["group"].astype(str).where(~reference, rows["group"].astype(str) + " (reference)")
        )
    return rows


def rates_table(
    comparisons: pd.DataFrame,
    *,
    title: str,
    spec: TableSpec = RATES,
    source_note: str | None = None,
) -> GT:
    """Rates with 95% CIs and relative likelihoods by group (rows in the order given).

    Columns shown (default :data:`RATES`): group (the reference marked), respondents, rate
    (95% CI), relative likelihood (95% CI), adjusted p, and a note only when a row has one.
    """
    return bundle_table(mark_reference(comparisons), spec, title=title, source_note=source_note)
