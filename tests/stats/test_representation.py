"""Census 2021 benchmark aggregation and the representation ratio."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.stats.representation import (
    BENCHMARK_COLUMNS,
    RATIO_COLUMNS,
    load_census_benchmark,
    representation_ratio,
)

DATA = Path(__file__).resolve().parents[2] / "toolkit" / "data"
NHS_REGIONS = {
    "East of England",
    "London",
    "Midlands",
    "North East and Yorkshire",
    "North West",
    "South East",
    "South West",
}


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    return load_census_benchmark()


def population(table, region, level, group):
    row = table[(table["region"] == region) & (table["level"] == level) & (table["group"] == group)]
    assert len(row) == 1
    return row.iloc[0]


def test_benchmark_has_seven_nhs_regions_and_shares_sum_to_one(census):
    assert list(census.columns) == BENCHMARK_COLUMNS
    assert set(census["region"]) == NHS_REGIONS
    sums = census.groupby(["region", "level"])["share"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
    counts = census.groupby("level")["group"].nunique()
    assert counts.to_dict() == {"binary": 2, "detailed": 19, "grouped": 5}


def test_north_east_and_yorkshire_adds_two_ons_regions(census):
    """Known truth from the source file: North East White 2,462,720 plus Yorkshire and The
    Humber White, read here straight from the CSV."""
    raw = pd.read_csv(DATA / "census2021_ethnic_group_by_region.csv")
    white = raw[(raw["ethnic_group"] == "White")].set_index("area_name")["count"]
    assert white["North East"] == 2462720
    row = population(census, "North East and Yorkshire", "grouped", "White")
    assert row["population"] == white["North East"] + white["Yorkshire and The Humber"]
    midlands = population(census, "Midlands", "grouped", "White")["population"]
    assert midlands == white["East Midlands"] + white["West Midlands"]


def test_london_matches_published_figures(census):
    """ONS/gov.uk: London 46.2% Asian, Black, Mixed or Other; White British 36.8%."""
    assert population(census, "London", "binary", "Ethnic minority")["share"] == pytest.approx(
        0.4624, abs=5e-5
    )
    white_british = population(
        census, "London", "detailed", "English, Welsh, Scottish, Northern Irish or British"
    )
    assert white_british["population"] == 3239281
    assert white_british["census_label"].startswith("White: English")


def test_labels_use_england_wording_and_keep_the_census_label(census):
    asian = population(census, "London", "grouped", "Asian or Asian British")
    assert asian["census_label"] == "Asian, Asian British or Asian Welsh"
    population(census, "London", "detailed", "Any other Asian background")


def test_representation_ratio_formula(census):
    """ratio = (n / region total) / benchmark share; CI = Wilson limits / benchmark share."""
    sample = pd.DataFrame(
        {
            "region": ["London", "London"],
            "group": ["White", "Asian or Asian British"],
            "n": [60, 40],
        }
    )
    table = representation_ratio(sample)
    assert list(table.columns) == RATIO_COLUMNS
    asian = table.set_index("group").loc["Asian or Asian British"]
    share = population(census, "London", "grouped", "Asian or Asian British")["share"]
    assert asian["representation_ratio"] == pytest.approx(0.4 / share)
    # Wilson 95% interval for 40 of 100: (0.3094013, 0.4979974)
    assert asian["ci_low"] == pytest.approx(0.3094013 / share, abs=1e-6)
    assert asian["ci_high"] == pytest.approx(0.4979974 / share, abs=1e-6)


def test_user_benchmark_and_unknown_groups_are_notes():
    own = pd.DataFrame(
        {"region": ["ICB A", "ICB A"], "group": ["Disabled", "Not disabled"], "share": [0.2, 0.0]}
    )
    sample = pd.DataFrame(
        {"region": ["ICB A"] * 3, "group": ["Disabled", "Not disabled", "?"], "n": [10, 30, 0]}
    )
    table = representation_ratio(sample, benchmark=own).set_index("group")
    assert table.loc["Disabled", "representation_ratio"] == pytest.approx(0.25 / 0.2)
    assert np.isnan(table.loc["Not disabled", "representation_ratio"])
    assert "share is 0" in table.loc["Not disabled", "note"]
    assert "no benchmark share" in table.loc["?", "note"]
