"""A researcher's own analysis with the ptw Python API.

Reads the culture survey from a workspace's store and asks three questions the default plan
does not:

1. After raking to the population's region and sector totals, how does the rate of
   harassment from the public differ by ethnicity x disability (weighted, Taylor-linearised
   intervals, as R's survey package computes them)?
2. Is the ethnic minority gap in harassment explained by sector, career stage and region
   (logistic regression, unadjusted and adjusted odds ratios)?
3. Do ethnic minority staff feel less valued by their organisation across the whole answer
   scale (proportional-odds model)?

Every result is a tidy DataFrame; nothing is published until it has passed
``toolkit.disclosure.suppression.suppress_small_cells``.

    python analysis/examples/custom_analysis.py --workspace out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from toolkit.config import load_workspace
from toolkit.disclosure.suppression import SuppressionPolicy, suppress_small_cells
from toolkit.instruments.dimensions import group_labels, intersect
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.stats import logistic, proportional_odds, relative_likelihood
from toolkit.stats.rake import rake
from toolkit.store.database import ResponseStore


def load_culture(workspace: Path) -> pd.DataFrame:
    """The latest cycle of culture responses with ethnicity and disability groups."""
    space = load_workspace(workspace)
    instrument = load_instrument(instrument_path(space.surveys_dir, "culture"))
    with ResponseStore(space.store_path, read_only=True) as store:
        answers = store.read_table("responses_culture")
    answers = answers[answers["cycle"] == answers["cycle"].max()].reset_index(drop=True)
    ethnicity = group_labels(answers, instrument, instrument.dimension("ethnicity"), "binary")
    disability = group_labels(answers, instrument, instrument.dimension("disability"), "binary")
    harassed = answers["harassment_public"].astype("string")
    return answers.assign(
        ethnicity=ethnicity,
        disability=disability,
        ethnicity_disability=intersect([ethnicity, disability]),
        harassed=harassed.isin(["2", "3", "4", "5"]).astype(float).where(harassed.notna()),
        valued=pd.to_numeric(answers["valued_by_organisation"], errors="coerce"),
    )


def population_margins(workspace: Path, cycle: int) -> pd.DataFrame:
    """Region and sector totals written by ``ptw demo`` (``variable, level, total``)."""
    margins = pd.read_csv(workspace / "exports" / "population_margins.csv", dtype={"level": str})
    return margins[margins["cycle"] == cycle][["variable", "level", "total"]]


def main() -> None:
    """Run the three analyses and print the (suppressed) results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("out"))
    args = parser.parse_args()

    data = load_culture(args.workspace)
    raking = rake(data, population_margins(args.workspace, int(data["cycle"].iloc[0])), cap=5)
    data["weight"] = raking.weights
    print(f"Raked: converged={raking.converged}, design effect {raking.design_effect:.2f}")

    weighted = relative_likelihood(
        data.dropna(subset=["ethnicity_disability"]),
        outcome="harassed",
        group="ethnicity_disability",
        reference="White × Not disabled",
        weights="weight",
    )
    print(suppress_small_cells(weighted, policy=SuppressionPolicy()).to_string())

    odds = logistic(
        data.dropna(subset=["ethnicity", "sector", "career_stage"]),
        outcome="harassed",
        group="ethnicity",
        reference="White",
        covariates=("sector", "career_stage", "region"),
    )
    print(odds[odds["variable"] == "ethnicity"].to_string())

    ordinal = proportional_odds(
        data.dropna(subset=["ethnicity", "valued"]),
        item="valued",
        group="ethnicity",
        reference="White",
    )
    print(ordinal.to_string())


if __name__ == "__main__":
    main()
