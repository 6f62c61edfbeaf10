"""Unit tests of the coder: dates, numbers, column-wise skip logic against the row-wise
evaluator of toolkit.instruments.relevance, multi-select separators, and header matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.ingest.coding import code_number, code_select_multiple, parse_date, relevant_mask
from toolkit.ingest.mapping import match_columns
from toolkit.ingest.raw_export import TEXT_DTYPE, text_cells
from toolkit.instruments.model import Item
from toolkit.instruments.relevance import evaluate_relevant


@pytest.mark.parametrize(
    ("text", "serials", "expected"),
    [
        ("2024-03-01", False, ("2024-03-01", None)),
        ("2024-03-01 00:00:00", False, ("2024-03-01", None)),
        ("01/03/2024", False, ("2024-03-01", None)),  # UK day first
        ("1.3.2024", False, ("2024-03-01", None)),
        ("3 Mar 2024", False, ("2024-03-03", None)),
        ("45352", True, ("2024-03-01", None)),  # Excel serial: 1899-12-30 + 45352 days
        ("45352", False, (None, "not_a_date")),  # a bare number in a CSV is not a date
        ("03/13/2024", False, (None, "ambiguous_date")),  # month first
        ("01/03/24", False, (None, "ambiguous_date")),  # two-digit year
        ("30/02/2024", False, (None, "not_a_date")),
        ("1850-01-01", False, (None, "date_out_of_range")),
        ("soon", False, (None, "not_a_date")),
    ],
)
def test_parse_date(text, serials, expected):
    assert parse_date(text, serials=serials) == expected


def test_numbers_accept_percent_and_thousands_and_check_range():
    item = Item(name="count", type="integer", label="Count", min=0, max=300_000)
    raw = pd.Series(["12%", "220,419", " 7 ", "1,5", "", "3.5", "400,000"], dtype=TEXT_DTYPE)
    values, problems = code_number(item, raw)
    assert values.iloc[:3].tolist() == [12.0, 220419.0, 7.0]
    rules = {p.rule: np.flatnonzero(p.mask).tolist() for p in problems}
    assert rules == {"not_a_number": [3], "out_of_range": [6], "not_whole": [5]}


def test_multi_select_accepts_labels_codes_and_spaces(instruments):
    culture = instruments["culture"]
    item = culture.item_map["discrimination_grounds"]
    raw = pd.Series(
        ["Age; gender", "AGE|ETHNIC", "ETHNIC AGE", "Age;Star sign", None], dtype=TEXT_DTYPE
    )
    coded, problems = code_select_multiple(culture, item, raw)
    assert coded.iloc[:3].tolist() == ["GENDER AGE", "ETHNIC AGE", "ETHNIC AGE"]
    assert np.flatnonzero(problems[0].mask).tolist() == [3]


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "dictionary-encoded"])
def test_column_wise_skip_logic_equals_row_wise_evaluator(instruments, encoded):
    """Truth: toolkit.instruments.relevance.evaluate_relevant, row by row, on random answers
    (held as one text per row, or as categoricals evaluated once per distinct answer)."""
    rng = np.random.default_rng(5)
    for instrument in instruments.values():
        codes = {
            item.name: [None, *[c.code for c in instrument.choices(item)]]
            for item in instrument.items
            if instrument.choices(item)
        }
        answers = pd.DataFrame(
            {n: rng.choice(np.array(v, dtype=object), 400) for n, v in codes.items()}
        )
        answers = answers.astype(TEXT_DTYPE)
        if encoded:
            answers = text_cells(answers)
        for item in instrument.items:
            if not item.relevant:
                continue
            got = relevant_mask(item.relevant, answers)
            rows = answers.astype(object).where(answers.notna(), None).to_dict(orient="records")
            expected = [evaluate_relevant(item.relevant, row) for row in rows]
            assert got.tolist() == expected, item.name


def test_headers_match_by_label_any_case_and_report_near_misses(instruments):
    culture = instruments["culture"]
    label = culture.item_map["harassment_public"].label
    columns = [
        "RESPONDENT_ID",
        "  " + label.upper() + " ",
        "Ethnicty",
        "discrimination_grounds_age",
    ]
    match = match_columns(columns, culture)
    assert match.items == {"RESPONDENT_ID": "respondent_id", columns[1]: "harassment_public"}
    assert match.spread == {"discrimination_grounds": {"discrimination_grounds_age": "AGE"}}
    assert match.near_misses == {"Ethnicty": "ethnicity"}
