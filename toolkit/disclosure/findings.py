"""The error that names the first of a table of disclosure findings.

Both checks of a release before it is sealed (:func:`toolkit.disclosure.suppression.assert_no_disclosure`
and :func:`toolkit.disclosure.blanks.assert_blanked`) report findings as a table with columns
``table, row, column, value`` (and ``problem``); this module turns such a table into one error.
"""

from __future__ import annotations

import math

import pandas as pd

from toolkit.errors import DisclosureError


def raise_first_finding(
    findings: pd.DataFrame, *, code: str, what: str, fix: str, details_key: str,
    with_problem: bool = False,
) -> None:  # fmt: skip
    """Raise :class:`DisclosureError` naming the first finding, unless there is none.

    Args:
        findings: one row per finding (``table``, 0-based ``row``, ``column``, ``value``, and
            ``problem`` when ``with_problem``).
        code: the error code; ``what``: the plural noun of the message ("disclosure
            problem(s)"); ``fix``: what to do; ``details_key``: where the whole table goes in
            the error's ``details``.
        with_problem: whether the message ends with the first finding's problem.
    """
    if findings.empty:
        return
    first = findings.iloc[0]
    message = f"{len(findings)} {what}; first in table {first['table']!r}"
    value = float(first["value"])
    raise DisclosureError(
        code=code,
        message=f"{message}: {first['problem']}" if with_problem else message,
        row=int(first["row"]) + 1,
        column=str(first["column"]),
        value=None if math.isnan(value) else value,
        fix=fix,
        details={details_key: findings},
    )
