"""Representation: the make-up of respondents or staff against a population benchmark.

The default benchmark is the real Census 2021 ethnic-group count (ONS table TS021, Crown
copyright, Open Government Licence v3.0; see ``toolkit/data/SOURCES.md``) for the nine English
ONS regions, added up to the seven NHS England regions with the lookup beside it (North East and
Yorkshire = North East + Yorkshire and The Humber; Midlands = East + West Midlands; the others
match one ONS region). NHS region borders follow ICBs and differ from ONS borders in a few places
(e.g. North Cumbria, Milton Keynes, Glossop), so the NHS-region figures are an approximation.

Census labels use the England and Wales wording ("Asian, Asian British or Asian Welsh"); the
benchmark's ``group`` carries ptw's England labels (``surveys/demographics.yaml``) and
``census_label`` the original. Levels: ``detailed`` (19), ``grouped`` (5) and ``binary`` (White,
Ethnic minority).

representation ratio = sample share / benchmark share, with the Wilson interval of the sample
share divided by the (fixed) benchmark share.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.proportions import wilson_interval

BENCHMARK_COLUMNS = ["region", "level", "group", "census_label", "population", "share"]
RATIO_COLUMNS = [
    "region",
    "group",
    "n",
    "sample_share",
    "benchmark_share",
    "representation_ratio",
    "ci_low",
    "ci_high",
    "ci_method",
    "note",
]
CENSUS_FILE = "census2021_ethnic_group_by_region.csv"
LOOKUP_FILE = "nhs_england_region_to_ons_region_lookup.csv"
# England wording for the Census labels that differ from ptw's (after the "Group: " prefix).
ENGLAND_LABELS = {
    "Asian, Asian British or Asian Welsh": "Asian or Asian British",
    "Black, Black British, Black Welsh, Caribbean or African": "Black, Black British, Caribbean or African",
    "Other Asian": "Any other Asian background",
    "Other Black": "Any other Black, Black British, or Caribbean background",
    "Other Mixed or Multiple ethnic groups": "Any other Mixed or Multiple ethnic background",
    "Other White": "Any other White background",
}
LEVELS = {"detailed": "detailed", "high-level": "grouped"}
WHITE = "White"
ETHNIC_MINORITY = "Ethnic minority"


def _read_packaged(name: str) -> pd.DataFrame:
    """A CSV shipped in ``toolkit/data`` (read through importlib.resources)."""
    with resources.files("toolkit").joinpath("data", name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def _england_label(census_label: str, level: str) -> str:
    """ptw's England label for a Census 2021 label (detailed labels lose their group prefix)."""
    label = census_label.split(": ", 1)[1] if level == "detailed" else census_label
    return ENGLAND_LABELS.get(label, label)


def load_census_benchmark() -> pd.DataFrame:
    """Census 2021 ethnic-group population per NHS England region.

    Returns:
        ``BENCHMARK_COLUMNS``: region (7 NHS England regions), level ("detailed", "grouped",
        "binary"), group (ptw label), census_label, population (sum over the region's ONS
        regions) and share = population / the region's usual residents.
    """
    census = _read_packaged(CENSUS_FILE)
    lookup = _read_packaged(LOOKUP_FILE)
    census = census.merge(
        lookup[["ons_region_code", "nhs_england_region"]],
        left_on="area_code",
        right_on="ons_region_code",
        validate="m:1",
    )
    totals = (
        census[census["ethnic_group_level"] == "total"].groupby("nhs_england_region")["count"].sum()
    )
    rows = census[census["ethnic_group_level"].isin(list(LEVELS))].copy()
    rows["level"] = rows["ethnic_group_level"].map(LEVELS)
    rows["group"] = [
        _england_label(label, level)
        for label, level in zip(rows["ethnic_group"], rows["level"], strict=True)
    ]
    table = (
        rows.groupby(["nhs_england_region", "level", "group", "ethnic_group"], sort=True)["count"]
        .sum()
        .reset_index()
        .rename(
            columns={
                "nhs_england_region": "region",
                "ethnic_group": "census_label",
                "count": "population",
            }
        )
    )
    table = pd.concat([table, _binary_level(table)], ignore_index=True)
    table["share"] = table["population"] / table["region"].map(totals)
    return table[BENCHMARK_COLUMNS].sort_values(["region", "level", "group"], ignore_index=True)


def _binary_level(table: pd.DataFrame) -> pd.DataFrame:
    """White vs Ethnic minority (all other groups), summed from the grouped level."""
    grouped = table[table["level"] == "grouped"]
    binary = np.where(grouped["group"] == WHITE, WHITE, ETHNIC_MINORITY)
    summed = grouped.groupby(["region", binary])["population"].sum().reset_index()
    summed.columns = ["region", "group", "population"]
    return summed.assign(level="binary", census_label=summed["group"])


def representation_ratio(
    sample_counts: pd.DataFrame,
    *,
    benchmark: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each group's share of the sample against its share of the benchmark population.

    Args:
        sample_counts: ``region, group, n``: counts of respondents or staff, one level of one
            dimension (e.g. the five ethnic groups), "Prefer not to say" left out. The sample
            share is n / the region's total n over these rows.
        benchmark: ``region, group, share`` (plus anything else), e.g. ICB populations or the
            workforce register; default :func:`load_census_benchmark`.
        level: confidence level of the Wilson interval.

    Returns:
        ``RATIO_COLUMNS``: representation_ratio = sample_share / benchmark_share, interval =
        Wilson(n, region total) / benchmark_share; NaN with a note when the benchmark has no
        share for the group or the share is 0.
    """
    for column in ("region", "group", "n"):
        if column not in sample_counts.columns:
            raise PtwError(
                code="stats.missing_column",
                message="sample counts lack a column",
                column=column,
                expected="region, group, n",
                fix="count respondents per region and group first",
            )
    bench = load_census_benchmark() if benchmark is None else benchmark
    shares = bench.drop_duplicates(["region", "group"]).set_index(["region", "group"])["share"]
    table = sample_counts[["region", "group", "n"]].copy()
    totals = table.groupby("region")["n"].transform("sum")
    table["sample_share"] = table["n"] / totals.where(totals > 0)
    keys = pd.MultiIndex.from_frame(table[["region", "group"]])
    table["benchmark_share"] = shares.reindex(keys).to_numpy()
    usable = table["benchmark_share"] > 0
    divisor = table["benchmark_share"].where(usable)
    low, high = wilson_interval(table["n"].to_numpy(), totals.to_numpy(), level)
    table["representation_ratio"] = table["sample_share"] / divisor
    table["ci_low"], table["ci_high"] = low / divisor, high / divisor
    table["ci_method"] = methods.WILSON
    table["note"] = np.where(
        table["benchmark_share"].isna(),
        "no benchmark share for this region and group",
        np.where(usable, "", "benchmark share is 0: ratio undefined"),
    )
    return table[RATIO_COLUMNS].reset_index(drop=True)
