"""Coding and row validation: raw cells -> stored values, findings -> the issues table.

Answers may arrive as labels or codes, in any case or spacing, or as a synonym declared in
the instrument (e.g. NHS ETHNIC CATEGORY code "N" for African); SPSS cells arrive as codes
with value labels and user-missing codes, which are applied first. Stored values:

- ``select_one`` / ``likert``: the option code (text); an answer the instrument lists as
  "not known" (``missing_values``) or an SPSS user-missing code is stored as no answer.
- ``select_multiple``: the option codes in list order joined by one space (XLSForm), from
  labels or codes joined by ``;`` or ``|``, codes joined by spaces (as stored), or one
  column per option (see ``mapping``).
- ``integer`` / ``decimal``: DOUBLE, read with :func:`toolkit.ingest.readers.parse_number`
  (``"12%"`` -> 12, ``"220,419"`` -> 220419). Within the item's ``min``/``max`` and never
  beyond +-(2**53 - 1) (:data:`LARGEST_NUMBER`, past which a DOUBLE no longer holds every
  whole number, and an int64 or a double may overflow): ``"1e400"`` is out of range, not
  infinity.
- ``date``: ISO text ``YYYY-MM-DD`` (see :func:`parse_date`).
- ``text``: the text, stripped.

Every column is coded once per distinct value (``pandas.factorize``, or the categories of
the reader's dictionary-encoded cells, :func:`toolkit.ingest.raw_export.by_text`), and
skip logic is evaluated once per distinct answer, so a million rows code in well under a
second. The issues table has the columns :data:`ISSUE_COLUMNS` plus ``position`` (the
0-based row in the file's data); ``severity`` is ``"error"`` (the row goes to quarantine) or
``"warning"`` (the row is stored and flagged).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.ingest.mapping import ColumnMatch, normalise
from toolkit.ingest.raw_export import (
    TEXT_DTYPE,
    RawExport,
    by_text,
    is_user_missing,
    parse_number,
)
from toolkit.instruments.model import Instrument, Item
from toolkit.instruments.relevance import BoolOp, Compare, Literal, Not, Selected, parse_relevant

ISSUE_COLUMNS = ("source_row", "respondent", "column", "value", "rule", "severity", "message")
MULTI_SEPARATOR = re.compile(r"\s*[;|]\s*")
_SPACES = re.compile(r"\s+")
#: Cells of a spread multi-select column that mean "not chosen" (besides blank).
NOT_SELECTED = frozenset({"0", "false", "no", "n", "not selected", "unchecked"})
#: Excel's day 0 for serial dates (1900 system, with Lotus's leap-year bug folded in).
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: The largest magnitude a number item may have whatever its bounds: 2**53 - 1, the largest
#: whole number below which a DOUBLE holds every whole number exactly (a text past it parses
#: to at least 2**53, so it is always caught).
LARGEST_NUMBER = float(2**53 - 1)
#: Dates outside these years are refused as implausible.
DATE_YEARS = (1900, 2100)
_MISSING = object()

_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")
_SERIAL = re.compile(r"\d{1,7}(?:\.0+)?")
_NAMED_MONTH = ("%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%B-%Y", "%d %b %y", "%d-%b-%y")


@dataclass(frozen=True)
class Problem:
    """One rule broken by some rows of a column: a boolean mask and its explanation."""

    mask: np.ndarray
    rule: str
    severity: str
    message: str


@dataclass(frozen=True)
class CodedAnswers:
    """Coded values of one file, aligned with the raw rows.

    Attributes:
        values: one column per matched item (see the module docstring); missing when blank.
            Option codes of ``select_one`` / ``likert`` items are categoricals.
        issues: findings (:data:`ISSUE_COLUMNS` plus ``position``).
    """

    values: pd.DataFrame
    issues: pd.DataFrame


def empty_issues() -> pd.DataFrame:
    """An issues table with no rows and the standard columns plus ``position``."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in (*ISSUE_COLUMNS, "position")})


def issue_rows(
    mask: np.ndarray,
    *,
    source_rows: np.ndarray,
    respondents: pd.Series,
    column: str,
    values: pd.Series,
    rule: str,
    severity: str,
    message: str,
) -> pd.DataFrame:
    """Issues for the rows where ``mask`` holds, with the value each row had."""
    return pd.DataFrame(
        {
            "source_row": source_rows[mask],
            "respondent": respondents[mask].astype("string").to_numpy(),
            "column": column,
            "value": values[mask].astype("string").to_numpy(),
            "rule": rule,
            "severity": severity,
            "message": message,
            "position": np.flatnonzero(mask),
        }
    )


def _blank(texts: pd.Series) -> pd.Series:
    """True for a text that is missing, empty or only whitespace."""
    cells = pa.array(texts.array)
    blank = pc.fill_null(pc.or_(pc.equal(cells, ""), pc.utf8_is_space(cells)), True)
    return pd.Series(blank.to_numpy(zero_copy_only=False), index=texts.index)


def blank_mask(series: pd.Series) -> np.ndarray:
    """True where a cell is missing, empty or only whitespace."""
    return by_text(series, _blank).to_numpy(dtype=bool)


@dataclass(frozen=True)
class Decoded:
    """A column decoded once per distinct value.

    Attributes:
        positions: for each row, the index of its value in ``values``; -1 for a missing cell.
        values: the decoded distinct values.
    """

    positions: np.ndarray
    values: list[object]

    def rows(self, predicate: Callable[[object], bool]) -> np.ndarray:
        """Rows whose decoded value satisfies ``predicate`` (missing cells never do)."""
        flags = np.array([bool(predicate(v)) for v in self.values] + [False], dtype=bool)
        return flags[self.positions]

    def text(self, index: pd.Index) -> pd.Series:
        """The decoded values as text per row (non-text values and missing cells -> ``<NA>``)."""
        values = [v if isinstance(v, str) else None for v in self.values]
        taken = pa.array(values, type=pa.large_string()).take(
            pa.array(self.positions, mask=self.positions < 0)
        )
        return pd.Series(pd.array(taken, dtype=TEXT_DTYPE), index=index)

    def categories(self, index: pd.Index) -> pd.Series:
        """What :meth:`text` gives, as a categorical of the distinct texts: no text is copied
        per row (the store writes it as text, like a text column)."""
        texts = pd.array([v if isinstance(v, str) else None for v in self.values], dtype=TEXT_DTYPE)
        slots, distinct = pd.factorize(texts)
        codes = np.append(slots, -1)[self.positions]
        kinds = pd.Index(distinct, dtype=TEXT_DTYPE)
        return pd.Series(pd.Categorical.from_codes(codes, categories=kinds), index=index)

    def objects(self) -> np.ndarray:
        """The decoded value of each row as an object array (``None`` for a missing cell)."""
        table = np.empty(len(self.values) + 1, dtype=object)
        for k, value in enumerate(self.values):
            table[k] = value
        return table[self.positions]


def _by_value(raw: pd.Series, decode: Callable[[str], object]) -> Decoded:
    """Apply ``decode`` once per distinct non-missing value of ``raw`` (a text categorical's
    categories and codes are its distinct values and positions already)."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        positions, uniques = raw.cat.codes.to_numpy(), raw.cat.categories
    else:
        positions, uniques = pd.factorize(raw)
    return Decoded(np.asarray(positions), [decode(value) for value in uniques.tolist()])


def _text_series(values: np.ndarray | list, index: pd.Index) -> pd.Series:
    """Object values (``None`` for blank) as a ``string[pyarrow]`` series."""
    return pd.Series(pd.array(pa.array(values, type=pa.string()), dtype=TEXT_DTYPE), index=index)


def spss_cells(raw: pd.Series, column: str, export: RawExport) -> pd.Series:
    """SPSS user-missing codes blanked and value labels applied; other formats unchanged."""
    missing = export.missing_values.get(column)
    labels = export.value_labels.get(column)
    if not missing and not labels:
        return raw

    def decode(text: str) -> str | None:
        if missing and is_user_missing(text, missing):
            return None
        return (labels or {}).get(text, text)

    return _by_value(raw, decode).text(raw.index)


def _choice_lookup(instrument: Instrument, item: Item) -> dict[str, str | None]:
    """Normalised accepted text -> option code (``None``: a "not known" answer)."""
    return instrument.accepted_answers(item)


def _accepted_text(instrument: Instrument, item: Item) -> str:
    return "; ".join(f"{c.label} ({c.code})" for c in instrument.choices(item))


def code_select_one(
    instrument: Instrument, item: Item, raw: pd.Series
) -> tuple[pd.Series, list[Problem]]:
    """Option codes of a ``select_one`` / ``likert`` column (a categorical), and unknown
    answers."""
    lookup = _choice_lookup(instrument, item)
    decoded = _by_value(raw, lambda v: lookup.get(normalise(v), _MISSING) if v.strip() else None)
    unknown = decoded.rows(lambda v: v is _MISSING)
    message = f"not an option of {item.name}; accepted: {_accepted_text(instrument, item)}"
    return decoded.categories(raw.index), [Problem(unknown, "unknown_option", "error", message)]


def _join_codes(codes: list[str], order: dict[str, int]) -> str | None:
    """Distinct codes in list order joined by a space; ``None`` when there are none."""
    unique = sorted(set(codes), key=order.__getitem__)
    return " ".join(unique) or None


#: The separator platforms join several choices with when ``;`` and ``|`` are not used
#: (Qualtrics by default, Google Forms with ", ").
PLATFORM_SEPARATOR = ","
_AMBIGUOUS = object()


def split_platform_joined(value: str, lookup: dict[str, str | None]) -> object:
    """Codes of a multi-select answer joined by :data:`PLATFORM_SEPARATOR`.

    Labels may hold the separator themselves ("Any other Black, Black British, or Caribbean
    background"), so the answer is cut at the commas into the fewest known options (the
    longest known labels win). Returns the codes (``None`` for a "not known" answer),
    ``_MISSING`` when no cut gives only known options, or ``_AMBIGUOUS`` when two cuts into
    the fewest options read as different choices.
    """
    parts = value.split(PLATFORM_SEPARATOR)
    readings: list[list[str | None]] = []

    def walk(start: int, codes: list[str | None]) -> None:
        if start == len(parts):
            readings.append(codes)
            return
        for end in range(start + 1, len(parts) + 1):
            key = normalise(PLATFORM_SEPARATOR.join(parts[start:end]))
            if key and key in lookup:
                walk(end, [*codes, lookup[key]])

    walk(0, [])
    if not readings:
        return _MISSING
    fewest = min(len(r) for r in readings)
    choices = {frozenset(r) for r in readings if len(r) == fewest}
    return next(r for r in readings if len(r) == fewest) if len(choices) == 1 else _AMBIGUOUS


def code_select_multiple(
    instrument: Instrument, item: Item, raw: pd.Series
) -> tuple[pd.Series, list[Problem]]:
    """Codes of a multi-select column whose answers are joined by ``;``, ``|`` or spaces
    (codes), else by a platform's ``,`` (:func:`split_platform_joined`, reported as an info
    issue saying the rule was used; an ambiguous cut is an error)."""
    lookup = _choice_lookup(instrument, item)
    order = {c.code: k for k, c in enumerate(instrument.choices(item))}

    def decode(value: str) -> tuple[object, bool]:
        for separator in (MULTI_SEPARATOR, _SPACES):
            parts = [
                lookup.get(normalise(p), _MISSING) for p in separator.split(value.strip()) if p
            ]
            if not any(p is _MISSING for p in parts):
                return _join_codes([p for p in parts if p is not None], order), False
        codes = split_platform_joined(value, lookup)
        if isinstance(codes, list):
            return _join_codes([c for c in codes if c is not None], order), True
        return codes, False

    decoded = _by_value(raw, decode)
    coded = Decoded(decoded.positions, [v[0] for v in decoded.values])
    accepted = _accepted_text(instrument, item)
    return coded.text(raw.index), [
        Problem(coded.rows(lambda v: v is _MISSING), "unknown_option", "error",
                f"an answer is not an option of {item.name} (separate several answers with ';'); "
                f"accepted: {accepted}"),
        Problem(coded.rows(lambda v: v is _AMBIGUOUS), "ambiguous_answers", "error",
                f"the answer can be cut at its commas into options of {item.name} in more than "
                "one way; separate the answers with ';'"),
        Problem(decoded.rows(lambda v: v[1]), "platform_separator", "info",
                f"several answers to {item.name} joined by '{PLATFORM_SEPARATOR}' (as Qualtrics "
                "and Google Forms export them) were split into its options, keeping the longest "
                "known labels whole"),
    ]  # fmt: skip


def combine_spread(
    instrument: Instrument, item: Item, frame: pd.DataFrame, columns: dict[str, str]
) -> tuple[pd.Series, list[tuple[str, Problem]]]:
    """One multi-select answer from one column per option.

    A cell counts as chosen when it is not blank and not one of :data:`NOT_SELECTED`
    (Qualtrics writes the option label or ``1``; Forms writes the label).

    Returns:
        The joined codes and, per source column, nothing (every non-blank cell is read).
    """
    order = {c.code: k for k, c in enumerate(instrument.choices(item))}
    chosen = np.zeros((len(frame), len(order)), dtype=bool)
    for column, code in columns.items():
        cells = frame[column]
        picked = _by_value(cells, lambda v: normalise(v) not in NOT_SELECTED and bool(v.strip()))
        chosen[:, order[code]] |= picked.rows(bool)
    codes = [c.code for c in instrument.choices(item)]
    joined = [" ".join(codes[k] for k in np.flatnonzero(row)) or None for row in chosen]
    return _text_series(joined, frame.index), []


def code_number(item: Item, raw: pd.Series) -> tuple[pd.Series, list[Problem]]:
    """DOUBLE values of an ``integer`` / ``decimal`` column with type and range checks."""
    blank = blank_mask(raw)
    number = np.array(pd.to_numeric(raw.astype(TEXT_DTYPE), errors="coerce"), dtype="float64")
    retry = ~blank & ~np.isfinite(number)
    if retry.any():
        parsed = _by_value(raw[retry], lambda v: parse_number(v)).objects()
        number[retry] = np.array([np.nan if v is None else v for v in parsed], dtype=float)
    number[blank] = np.nan
    bad = ~blank & np.isnan(number)
    low = max(item.min, -LARGEST_NUMBER) if item.min is not None else -LARGEST_NUMBER
    high = min(item.max, LARGEST_NUMBER) if item.max is not None else LARGEST_NUMBER
    with np.errstate(invalid="ignore"):
        problems = [
            Problem(bad, "not_a_number", "error", f"{item.name} must be a number"),
            Problem((number < low) | (number > high), "out_of_range", "error",
                    f"{item.name} must be between {_show(low)} and {_show(high)}"),
        ]  # fmt: skip
        if item.base_type == "integer":
            whole = np.isfinite(number) & (number % 1 != 0)
            problems.append(
                Problem(whole, "not_whole", "error", f"{item.name} must be a whole number")
            )
    return pd.Series(number, index=raw.index, dtype="float64"), problems


def _show(bound: float) -> str:
    return str(int(bound)) if np.isfinite(bound) and float(bound).is_integer() else str(bound)


def parse_date(text: str, *, serials: bool) -> tuple[str | None, str | None]:
    """ISO text of a date cell, or ``(None, rule)`` saying why it is not one.

    Accepted: ISO ``YYYY-MM-DD`` (a time after it is ignored), UK day-first ``dd/mm/yyyy``
    (also with ``-`` or ``.``), ``3 Jan 2024`` / ``03-Jan-2024``, and, when ``serials`` (a
    workbook), Excel serial day numbers (days since 1899-12-30). Rules: ``ambiguous_date``
    for a two-digit year or a month-first date (second part above 12), ``not_a_date``
    otherwise; ``date_out_of_range`` outside :data:`DATE_YEARS`.
    """
    text = text.strip()
    found: dt.date | None = None
    try:
        if match := _ISO.fullmatch(text):
            found = dt.date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _DAY_FIRST.fullmatch(text):
            day, month, year = int(match[1]), int(match[2]), match[3]
            if len(year) == 2 or (month > 12 and day <= 12):
                return None, "ambiguous_date"
            found = dt.date(int(year), month, day)
        elif serials and _SERIAL.fullmatch(text):
            found = EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
        else:
            found = _named_month(text)
    except (ValueError, OverflowError):
        return None, "not_a_date"
    if found is None:
        return None, "not_a_date"
    if not DATE_YEARS[0] <= found.year <= DATE_YEARS[1]:
        return None, "date_out_of_range"
    return found.isoformat(), None


def _named_month(text: str) -> dt.date | None:
    for pattern in _NAMED_MONTH:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


_DATE_MESSAGES = {
    "not_a_date": "{name} must be a date written YYYY-MM-DD or dd/mm/yyyy",
    "ambiguous_date": "{name} is ambiguous: write it YYYY-MM-DD (ptw reads dd/mm/yyyy day "
    "first; a two-digit year or a month-first date cannot be read safely)",
    "date_out_of_range": "{name} must fall between the years "
    f"{DATE_YEARS[0]} and {DATE_YEARS[1]}",
}


def code_date(item: Item, raw: pd.Series, *, serials: bool) -> tuple[pd.Series, list[Problem]]:
    """ISO dates of a ``date`` column.

    When some cells of the column are month-first (US) dates, the day-first cells that
    could be read either way are warned about (``ambiguous_date``, severity warning).
    """
    parsed = _by_value(raw, lambda v: parse_date(v, serials=serials) if v.strip() else (None, None))
    iso = Decoded(parsed.positions, [p[0] for p in parsed.values]).text(raw.index)
    rules = Decoded(parsed.positions, [p[1] for p in parsed.values]).objects()
    problems = [
        Problem(rules == rule, rule, "error", message.format(name=item.name))
        for rule, message in _DATE_MESSAGES.items()
    ]
    parts = raw.astype(TEXT_DTYPE).str.strip().str.extract(f"^{_DAY_FIRST.pattern}$")
    day, month = (pd.to_numeric(parts[k], errors="coerce").to_numpy(dtype=float) for k in (0, 1))
    if ((month > 12) & (day <= 12)).any():
        either = (day <= 12) & (month <= 12) & np.array([r is None for r in rules], dtype=bool)
        problems.append(Problem(either, "ambiguous_date", "warning",
                                f"{item.name} read day-first, but other rows of this column are "
                                "month-first: check the file's date format"))  # fmt: skip
    return iso, problems


def code_item(
    instrument: Instrument, item: Item, raw: pd.Series, *, serials: bool
) -> tuple[pd.Series, list[Problem]]:
    """Code one column of answers to ``item`` (module docstring); blanks become ``<NA>``."""
    if item.base_type in ("select_one", "likert"):
        return code_select_one(instrument, item, raw)
    if item.base_type == "select_multiple":
        return code_select_multiple(instrument, item, raw)
    if item.base_type in ("integer", "decimal"):
        return code_number(item, raw)
    if item.base_type == "date":
        return code_date(item, raw, serials=serials)
    return by_text(raw, _stripped_text), []


def _stripped_text(texts: pd.Series) -> pd.Series:
    """A ``text`` answer as stored: stripped, ``<NA>`` when nothing is left."""
    text = texts.str.strip()
    return text.mask(text == "")


def relevant_mask(expression: str, values: pd.DataFrame) -> np.ndarray | None:
    """Rows where an item with this ``relevant`` is asked, evaluated column-wise.

    Same semantics as :func:`toolkit.instruments.relevance.evaluate_relevant` (an unanswered item
    compares as ``''``; ``selected`` reads space-separated codes). ``None`` when an item the
    expression reads is not in ``values`` (the check cannot be made).
    """
    node = parse_relevant(expression)
    try:
        return _evaluate_columns(node, values).to_numpy(dtype=bool)
    except KeyError:
        return None


def _operand(operand: object, values: pd.DataFrame) -> pd.Series | str:
    """A literal's text, or the coded column of the item it names."""
    if isinstance(operand, Literal):
        return operand.value
    return values[operand.name]  # KeyError when the item is not in the file


def _answer_text(texts: pd.Series) -> pd.Series:
    """Answers as skip logic reads them: stripped text, ``''`` when unanswered."""
    return texts.fillna("").str.strip()


def _compare(left: pd.Series | str, right: pd.Series | str, index: pd.Index) -> pd.Series:
    """Where ``left`` equals ``right`` as answer texts (once per distinct answer when one side
    is a literal)."""
    if isinstance(left, str) and isinstance(right, str):
        return pd.Series(left == right, index=index)
    if isinstance(left, str) or isinstance(right, str):
        column, literal = (right, left) if isinstance(left, str) else (left, right)
        return by_text(column, lambda texts: _answer_text(texts) == literal)
    return by_text(left, _answer_text) == by_text(right, _answer_text)


def _selected(column: pd.Series, code: str) -> pd.Series:
    """Where the space- or ``;``-separated codes of ``column`` include ``code``."""

    def chosen(texts: pd.Series) -> pd.Series:
        answers = " " + _answer_text(texts).str.replace(";", " ", regex=False) + " "
        return answers.str.contains(f" {code} ", regex=False)

    return by_text(column, chosen)


def _evaluate_columns(node: object, values: pd.DataFrame) -> pd.Series:
    if isinstance(node, Compare):
        left, right = _operand(node.left, values), _operand(node.right, values)
        equal = _compare(left, right, values.index).astype(bool)
        return equal if node.operator == "=" else ~equal
    if isinstance(node, Selected):
        return _selected(_operand(node.ref, values), node.value.value).astype(bool)
    if isinstance(node, Not):
        return ~_evaluate_columns(node.operand, values)
    assert isinstance(node, BoolOp)
    parts = [_evaluate_columns(operand, values) for operand in node.operands]
    result = parts[0]
    for part in parts[1:]:
        result = (result & part) if node.operator == "and" else (result | part)
    return result


def row_problems(
    instrument: Instrument, values: pd.DataFrame, given: dict[str, np.ndarray]
) -> dict[str, list[Problem]]:
    """Required answers and skip-logic consistency, per item column of ``values``.

    Args:
        instrument: the definition.
        values: coded answers.
        given: required item -> rows whose raw cell was not blank (an unreadable answer is
            reported by its own rule, not again as missing); an item without an entry counts
            its coded answers.

    ``required``: a required item left blank where it is asked (error).
    ``not_relevant``: an answer given where the item's ``relevant`` says it is not asked
    (warning: the row is stored and flagged).
    """
    found: dict[str, list[Problem]] = {}
    for name in values.columns:
        item = instrument.item_map.get(name)
        if item is None:
            continue
        asked = relevant_mask(item.relevant, values) if item.relevant else None
        answered = values[name].notna().to_numpy(dtype=bool)
        problems = found.setdefault(name, [])
        if item.required:
            blank = ~given.get(name, answered)
            need = blank if asked is None else blank & asked
            problems.append(Problem(need, "required", "error", f"{item.name} is required"))
        if asked is not None:
            problems.append(Problem(answered & ~asked, "not_relevant", "warning",
                                    f"{item.name} is answered although its skip logic "
                                    f"({item.relevant}) says it is not asked"))  # fmt: skip
    return found


def formula_problem(raw: pd.Series) -> Problem:
    """Workbook cells holding a formula saved without its value (the reader keeps ``=...``)."""
    formula = raw.astype(TEXT_DTYPE).str.startswith("=").fillna(False).to_numpy(dtype=bool)
    return Problem(formula, "formula_cell", "error",
                   "the cell holds a formula saved without its value; open the workbook, "
                   "let it calculate, save it, or type the value")  # fmt: skip


def code_answers(
    export: RawExport, instrument: Instrument, match: ColumnMatch, respondents: pd.Series
) -> CodedAnswers:
    """Code every matched column of ``export`` and collect the issues.

    Args:
        export: the file as read (cells, source rows, SPSS metadata).
        instrument: the survey or record definition.
        match: the column match from :func:`toolkit.ingest.mapping.match_columns`.
        respondents: the raw identifier of each row, for the issues table.
    """
    frame = export.frame
    serials = export.reader in ("xlsx", "xls", "ods")
    values: dict[str, pd.Series] = {}
    found: list[pd.DataFrame | None] = []
    where = {"source_rows": export.source_rows, "respondents": respondents}
    sources: dict[str, tuple[str, pd.Series]] = {}
    given: dict[str, np.ndarray] = {}
    for column, name in match.items.items():
        raw = spss_cells(frame[column], column, export)
        coded, problems = code_item(instrument, instrument.item_map[name], raw, serials=serials)
        if serials:
            problems = [formula_problem(raw), *problems]
        values[name], sources[name] = coded, (column, raw)
        if instrument.item_map[name].required:  # only a required item's blanks are looked for
            given[name] = ~blank_mask(raw)
        found += [
            _report(p, column=column, values=raw, header_row=export.header_row, **where)
            for p in problems
        ]
    for name, columns in match.spread.items():
        values[name], _ = combine_spread(instrument, instrument.item_map[name], frame, columns)
        sources[name] = (" + ".join(columns), values[name])
    coded_frame = pd.DataFrame(values, index=frame.index)
    for name, problems in row_problems(instrument, coded_frame, given).items():
        column, raw = sources[name]
        found += [
            _report(p, column=column, values=raw, header_row=export.header_row, **where)
            for p in problems
        ]
    found = [chunk for chunk in found if chunk is not None]
    issues = pd.concat(found, ignore_index=True) if found else empty_issues()
    return CodedAnswers(values=coded_frame, issues=issues)


def _report(problem: Problem, *, header_row: int, **where: object) -> pd.DataFrame | None:
    """The issues of one problem, or ``None`` when no row has it.

    An ``info`` problem (a rule ptw applied, not a fault of the rows) is one issue for the
    column, on no row (position -1), counting the rows and showing the first value.
    """
    mask = np.asarray(problem.mask, dtype=bool)
    if not mask.any():
        return None
    rows = issue_rows(
        mask, rule=problem.rule, severity=problem.severity, message=problem.message, **where
    )  # type: ignore[arg-type]
    if problem.severity != "info":
        return rows
    note = rows.head(1).assign(respondent=None, position=-1,
                               message=f"{int(mask.sum())} row(s): {problem.message}")  # fmt: skip
    return note.assign(source_row=header_row)
