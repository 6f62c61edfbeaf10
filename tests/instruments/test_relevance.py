"""The XLSForm subset of `relevant` that ingest validation evaluates."""

from __future__ import annotations

import pytest

from toolkit.errors import InstrumentError
from toolkit.instruments.relevance import compared_codes, evaluate_relevant, referenced_items

ANSWERS = {
    "q1": "Y",
    "q2": "LOT",
    "reasons": "PAY WORKLOAD",
    "template": "PAY;SCOPE",
    "blank": None,
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("", True),
        ("${q1} = 'Y'", True),
        ('${q1} = "N"', False),
        ("${q1} != 'N'", True),
        ("${blank} != 'N'", True),  # unanswered compares as '' (XLSForm)
        ("${blank} = 'N'", False),
        ("${missing_item} = ''", True),
        ("${q1} = 'Y' and ${q2} = 'NONE'", False),
        ("${q1} = 'Y' and (${q2} = 'NONE' or ${q2} = 'LOT')", True),
        ("${q1} = 'N' or ${q2} = 'LOT' and ${q1} = 'N'", False),  # and binds tighter than or
        ("not(${q1} = 'N')", True),
        ("not(${q1} = 'Y' and ${q2} = 'LOT')", False),
        ("selected(${reasons}, 'WORKLOAD')", True),
        ("selected(${template}, 'SCOPE')", True),
        ("selected(${reasons}, 'SCOPE')", False),
        ("${q1} = 1", False),
    ],
)
def test_evaluate_relevant(expression, expected):
    assert evaluate_relevant(expression, ANSWERS) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "${q1} == 'Y'",
        "${q1} = 'Y' and",
        "(${q1} = 'Y'",
        "q1 = 'Y'",
        "selected(${q1})",
        "${q1} = 'Y' extra",
    ],
)
def test_unreadable_expressions_raise_a_located_rule(expression):
    with pytest.raises(InstrumentError) as caught:
        evaluate_relevant(expression, ANSWERS)
    assert caught.value.code == "instrument.relevant_syntax"


def test_references_and_compared_codes():
    expression = "${a} = 'Y' and (not(${b} != '1') or selected(${c}, 'X'))"
    assert referenced_items(expression) == ["a", "b", "c"]
    assert compared_codes(expression) == [("a", "Y"), ("b", "1"), ("c", "X")]
