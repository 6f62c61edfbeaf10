"""A suppressed row publishes no number: the check for tables that have no audit layout.

The contract (docs/architecture.md, Disclosure): a suppressed row keeps its identifying
columns and has every number blanked. ``suppression.assert_no_disclosure`` checks the tables it
suppresses, with their layouts (which columns are counts, which identify a row); this check is
for tables with a ``suppressed`` column and no layout, such as those the analysis derives after
that audit (``response_rates``), so `ptw analyse` seals no table that prints a number in a
suppressed row. Every float column counts as a number here, so pass only such tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from toolkit.disclosure.findings import raise_first_finding

FINDING_COLUMNS = ("table", "row", "column", "value", "problem")


def numbers_in_suppressed_rows(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every number left in a suppressed row: one row per cell, columns :data:`FINDING_COLUMNS`
    (``row`` is the 0-based row position); empty when every suppressed row is blank.

    A number is a non-missing value in a float column (counts and estimates are floats in a
    bundle, so a blanked cell is NaN); identifying columns (text, integer cycles) are kept.
    """
    found = []
    for name, frame in sorted(tables.items()):
        if "suppressed" not in frame.columns:
            continue
        hidden = frame["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        numbers = frame.loc[hidden].select_dtypes("floating")
        cells = numbers.reset_index(drop=True).stack().dropna()
        if cells.empty:
            continue
        positions = hidden.nonzero()[0][cells.index.get_level_values(0)]
        found.append(pd.DataFrame({
            "table": name, "row": positions, "column": cells.index.get_level_values(1),
            "value": cells.to_numpy(dtype=float), "problem": "a number left in a suppressed row",
        }))  # fmt: skip
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=FINDING_COLUMNS)


def assert_blanked(tables: Mapping[str, pd.DataFrame]) -> None:
    """Raise unless :func:`numbers_in_suppressed_rows` finds nothing in ``tables``.

    Raises:
        DisclosureError: ``disclosure.number_in_suppressed_row`` naming the first cell and how
            many there are (all of them in ``details["findings"]``).
    """
    raise_first_finding(
        numbers_in_suppressed_rows(tables),
        code="disclosure.number_in_suppressed_row",
        what="number(s) left in suppressed rows",
        fix="blank every number of a suppressed row before the table is published",
        details_key="findings",
    )
