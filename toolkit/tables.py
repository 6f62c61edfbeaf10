"""Publication tables from bundle tables (great_tables: accessible HTML, real Word tables).

Functions take suppressed bundle tables, format them and return a ``GT`` object; a
suppressed row shows "suppressed" and its reason instead of numbers.
"""

from __future__ import annotations

import pandas as pd
from great_tables import GT

SUPPRESSED = "suppressed"


def _percent(value: float) -> str:
    return "" if pd.isna(value) else f"{100 * value:.1f}%"


def _ratio(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2f}"


def rates_table(comparisons: pd.DataFrame, *, title: str) -> GT:
    """Rates with 95% CIs and relative likelihoods by group for one indicator and dimension.

    Columns shown: group, respondents, rate, 95% CI, relative likelihood (95% CI), note.
    """
    rows = []
    for row in comparisons.itertuples():
        hidden = bool(row.suppressed)
        rows.append(
            {
                "Group": f"{row.group} (reference)" if row.is_reference else str(row.group),
                "Respondents": SUPPRESSED if hidden else f"{int(row.n):,}",
                "Rate": SUPPRESSED if hidden else _percent(row.estimate),
                "95% CI": "" if hidden else f"{_percent(row.ci_low)} to {_percent(row.ci_high)}",
                "Relative likelihood (95% CI)": ""
                if hidden or row.is_reference or pd.isna(row.rel_likelihood)
                else f"{_ratio(row.rel_likelihood)} ({_ratio(row.rl_ci_low)} to {_ratio(row.rl_ci_high)})",
                "Note": str(row.suppression_reason) if hidden else str(row.note or ""),
            }
        )
    return GT(pd.DataFrame(rows)).tab_header(title=title)
