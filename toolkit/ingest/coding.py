"""Coding and row validation: source columns -> items, answers -> codes, findings -> issues.

Answers may arrive as labels or codes, in any case or spacing, or as a synonym declared in
the instrument (e.g. NHS ETHNIC CATEGORY code "N" for African). Everything is vectorised
per column, so a million rows code in seconds.

The issues table has the columns :data:`ISSUE_COLUMNS`; ``severity`` is ``"error"`` (the row
goes to quarantine) or ``"warning"`` (the row is stored and flagged).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.instrument import Instrument, Item

ISSUE_COLUMNS = ("source_row", "respondent", "column", "value", "rule", "severity", "message")
MULTI_SEPARATOR = re.compile(r"\s*[;|]\s*")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case- and space-insensitive key for matching labels, codes and headers."""
    return _SPACES.sub(" ", str(text)).strip().casefold()


@dataclass(frozen=True)
class ColumnMatch:
    """How the columns of a file map onto an instrument.

    Attributes:
        items: source column -> item name.
        unknown: source columns that match no item (ignored, reported as warnings).
        missing_required: required items with no column.
    """

    items: dict[str, str]
    unknown: tuple[str, ...]
    missing_required: tuple[str, ...]


def match_columns(
    columns: list[str], instrument: Instrument, mapping: Mapping[str, str] | None = None
) -> ColumnMatch:
    """Match source headers to items by explicit mapping, item name, or item label.

    Args:
        columns: the file's headers.
        instrument: the survey being ingested.
        mapping: optional explicit ``source header -> item name`` (from ``--mapping``).
    """
    by_key: dict[str, str] = {}
    for item in instrument.items:
        by_key.setdefault(normalise(item.label), item.name)
        by_key[normalise(item.name)] = item.name
    explicit = {normalise(k): v for k, v in (mapping or {}).items()}
    matched: dict[str, str] = {}
    unknown: list[str] = []
    for column in columns:
        key = normalise(column)
        name = explicit.get(key) or by_key.get(key)
        if name is None or name in matched.values():
            unknown.append(column)
        else:
            matched[column] = name
    present = set(matched.values())
    missing = tuple(i.name for i in instrument.items if i.required and i.name not in present)
    return ColumnMatch(items=matched, unknown=tuple(unknown), missing_required=missing)


def answer_lookup(instrument: Instrument, item: Item) -> dict[str, str]:
    """Normalised label / code / synonym -> code, for one select or likert item."""
    lookup: dict[str, str] = {}
    for choice in instrument.choices(item):
        for text in (choice.label, *choice.synonyms, choice.code):
            lookup[normalise(text)] = choice.code
    return lookup


def _issues(
    rows: np.ndarray,
    respondents: pd.Series,
    column: str,
    values: pd.Series,
    rule: str,
    severity: str,
    message: str,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_row": rows,
            "respondent": respondents.to_numpy(),
            "column": column,
            "value": values.astype("string").to_numpy(),
            "rule": rule,
            "severity": severity,
            "message": message,
        }
    )


@dataclass(frozen=True)
class CodedAnswers:
    """Coded values of one file, aligned with the raw rows.

    Attributes:
        values: one column per matched item: codes (text) for select/likert items, floats
            for numbers, text as given; ``<NA>`` when blank.
        issues: findings, one row per cell or row problem (:data:`ISSUE_COLUMNS`) plus a
            ``position`` column (0-based row position in the file's data).
    """

    values: pd.DataFrame
    issues: pd.DataFrame


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("string").str.strip() == "")


def _parse_numbers(series: pd.Series) -> pd.Series:
    cleaned = (
        series.astype("string")
        .str.strip()
        .str.replace("\u2212", "-", regex=False)
        .str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True)
        .str.rstrip("%")
    )
    return pd.to_numeric(cleaned, errors="coerce")


def _code_item(
    instrument: Instrument, item: Item, raw: pd.Series
) -> tuple[pd.Series, list[tuple[pd.Series, str, str]]]:
    """Code one column. Returns the coded values and a list of (bad mask, rule, message)."""
    blank = _blank(raw)
    problems: list[tuple[pd.Series, str, str]] = []
    if item.base_type in ("select_one", "likert"):
        lookup = answer_lookup(instrument, item)
        coded = raw.astype("string").map(
            lambda v: lookup.get(normalise(v)) if isinstance(v, str) else None
        )
        coded = coded.astype("string")
        accepted = ", ".join(c.label for c in instrument.choices(item))
        problems.append(
            (
                ~blank & coded.isna(),
                "unknown_option",
                f"not an option of {item.name}; accepted: {accepted}",
            )
        )
    elif item.base_type == "select_multiple":
        lookup = answer_lookup(instrument, item)

        def code_many(value: object) -> str | None:
            if not isinstance(value, str) or not value.strip():
                return None
            parts = [lookup.get(normalise(p)) for p in MULTI_SEPARATOR.split(value.strip()) if p]
            return None if any(p is None for p in parts) else " ".join(parts)

        coded = raw.map(code_many).astype("string")
        problems.append(
            (~blank & coded.isna(), "unknown_option", f"an answer is not an option of {item.name}")
        )
    elif item.base_type in ("integer", "decimal"):
        coded = _parse_numbers(raw)
        problems.append((~blank & coded.isna(), "not_a_number", f"{item.name} must be a number"))
        if item.base_type == "integer":
            problems.append(
                (
                    coded.notna() & (coded % 1 != 0),
                    "not_whole",
                    f"{item.name} must be a whole number",
                )
            )
        low = item.min if item.min is not None else -np.inf
        high = item.max if item.max is not None else np.inf
        problems.append(
            (
                (coded < low) | (coded > high),
                "out_of_range",
                f"{item.name} must be between {low} and {high}",
            )
        )
    else:
        coded = raw.astype("string").str.strip()
    coded = coded.mask(blank)
    if item.required:
        problems.append((blank, "required", f"{item.name} is required"))
    return coded, problems


def code_answers(
    frame: pd.DataFrame, source_rows: np.ndarray, instrument: Instrument, match: ColumnMatch
) -> CodedAnswers:
    """Code every matched column of ``frame`` and collect the issues.

    Args:
        frame: the raw cells (text).
        source_rows: the 1-based row number of each frame row in the file.
        instrument: the survey being ingested.
        match: the column match from :func:`match_columns`.
    """
    respondent_column = next((c for c, i in match.items.items() if i == "respondent_id"), None)
    respondents = (
        frame[respondent_column].astype("string")
        if respondent_column
        else pd.Series(pd.NA, index=frame.index)
    )
    values: dict[str, pd.Series] = {}
    found: list[pd.DataFrame] = []
    for column, name in match.items.items():
        coded, problems = _code_item(instrument, instrument.item_map[name], frame[column])
        values[name] = coded
        for mask, rule, message in problems:
            bad = mask.fillna(False).to_numpy(dtype=bool)
            if bad.any():
                chunk = _issues(
                    source_rows[bad],
                    respondents[bad],
                    column,
                    frame[column][bad],
                    rule,
                    "error",
                    message,
                )
                chunk["position"] = np.flatnonzero(bad)
                found.append(chunk)
    issues = pd.concat(found, ignore_index=True) if found else empty_issues()
    return CodedAnswers(values=pd.DataFrame(values, index=frame.index), issues=issues)


def empty_issues() -> pd.DataFrame:
    """An issues table with no rows and the standard columns plus ``position``."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in (*ISSUE_COLUMNS, "position")})


def duplicate_issues(
    keys: pd.Series, source_rows: np.ndarray, respondents: pd.Series, already_stored: set[str]
) -> pd.DataFrame:
    """Errors for respondents repeated within the file (after the first) or already stored.

    Args:
        keys: pseudonymised respondent keys, aligned with the rows (``<NA>`` if blank).
        source_rows: 1-based file row numbers.
        respondents: the raw identifiers, for the message.
        already_stored: keys of the same survey and cycle already in the store.
    """
    present = keys.notna().to_numpy()
    repeated = keys.duplicated(keep="first").to_numpy() & present
    stored = keys.isin(already_stored).to_numpy() & present
    chunks = []
    for mask, rule, message in (
        (repeated, "duplicate_respondent", "this respondent already appears earlier in the file"),
        (
            stored & ~repeated,
            "respondent_already_stored",
            "this respondent is already in the store for this cycle",
        ),
    ):
        if mask.any():
            chunk = _issues(
                source_rows[mask],
                respondents[mask],
                "respondent_id",
                respondents[mask],
                rule,
                "error",
                message,
            )
            chunk["position"] = np.flatnonzero(mask)
            chunks.append(chunk)
    return pd.concat(chunks, ignore_index=True) if chunks else empty_issues()
