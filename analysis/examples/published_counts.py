"""Comparisons from a published table of percentages and group sizes, without microdata.

Published survey results are aggregates: a percentage per group and the number of responses of
each group. ``toolkit.stats`` analyses them as counts with ``proportions_from_counts``,
``relative_likelihood_from_counts`` and ``difference_from_counts``, which give the same columns
and numbers as their row-based twins on the counts expanded to 0/1 rows.

The table is the Civil Service People Survey 2016 results by demographic group (Cabinet Office,
Open Government Licence v3.0), read where it is kept beside the repository,
``../shared/real-data/`` (see ``SOURCES.md`` there); it is never copied into the repository.
For each group it gives the number of responses and, per question, the percentage answering
"yes". Two approximations follow from the published form and are printed with the results:
events are ``round(percent * responses / 100)`` from whole percentages, and the base is every
response of the group, not only those who answered the question.

    python analysis/examples/published_counts.py
    python analysis/examples/published_counts.py --source PATH --dimension "Sex [J01]"
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from toolkit.stats import (
    difference_from_counts,
    proportions_from_counts,
    relative_likelihood_from_counts,
)

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / ".." / "shared" / "real-data" / "csps2016_results_by_demographic_groups.csv"
RESPONSES_ROW = "Number of responses"
QUESTIONS = {
    "discrimination": "E01.",
    "bullying or harassment": "E03.",
}


def read_published(path: Path) -> pd.DataFrame:
    """The raw grid as text: row 0 names each dimension over its first column, row 1 the groups."""
    return pd.read_csv(path, header=None, encoding="cp1252", dtype=str)


def dimension_columns(grid: pd.DataFrame, dimension: str) -> dict[str, int]:
    """Group label -> column of one dimension's block (it runs to the next dimension's name)."""
    names = grid.iloc[0].fillna("").str.strip().tolist()
    if dimension not in names:
        found = [name for name in names[1:] if name]
        raise SystemExit(f"dimension {dimension!r} not in the table; found: {found}")
    start = names.index(dimension)
    end = next((i for i in range(start + 1, len(names)) if names[i]), len(names))
    labels = grid.iloc[1, start:end]
    return {label.strip(): start + i for i, label in enumerate(labels) if isinstance(label, str)}


def number(text: str) -> float:
    """ "220,419" -> 220419.0 and "12%" -> 12.0."""
    return float(str(text).replace(",", "").replace("%", ""))


def counts_table(grid: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One row per question x group: group, responses (base), percent and events."""
    columns = dimension_columns(grid, dimension)
    first = grid.iloc[:, 0].fillna("").str.strip()
    responses = grid.loc[first == RESPONSES_ROW].iloc[0]
    rows = []
    for question, prefix in QUESTIONS.items():
        answers = grid.loc[first.str.startswith(prefix)].iloc[0]
        for group, column in columns.items():
            base = number(responses[column])
            percent = number(answers[column])
            rows.append(
                {
                    "question": question,
                    "group": group,
                    "responses": int(base),
                    "percent": percent,
                    "events": round(percent * base / 100),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    """Rates, relative likelihoods and differences per question for one dimension."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--dimension", default="Ethnicity - binary [J03]")
    parser.add_argument("--reference", default="White")
    args = parser.parse_args()

    counts = counts_table(read_published(args.source), args.dimension)
    print(f"Source: {args.source.name}; dimension {args.dimension!r}, reference {args.reference!r}")
    print("Approximate counts: events = round(percent x responses / 100), base = all responses")
    for question, table in counts.groupby("question", sort=False):
        options = {"events": "events", "n": "responses", "group": "group"}
        rates = proportions_from_counts(table, **options)
        ratios = relative_likelihood_from_counts(table, **options, reference=args.reference)
        gaps = difference_from_counts(table, **options, reference=args.reference)
        result = rates[["group", "n", "events", "estimate", "ci_low", "ci_high", "ci_method"]]
        result = result.merge(
            ratios[["group", "rel_likelihood", "rl_ci_low", "rl_ci_high", "rl_ci_method"]],
            on="group",
        ).merge(gaps[["group", "diff", "diff_ci_low", "diff_ci_high"]], on="group")
        print(f"\n{question}")
        print(result.to_string(index=False, float_format=lambda value: f"{value:.4f}"))


if __name__ == "__main__":
    main()
