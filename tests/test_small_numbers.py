"""Funnels of regions and partially pooled estimates in the bundle (issue 15).

Known truth: the synthetic data make no outcome depend on region, so the store is built from
synthetic exports (one cycle, real ingest) and then one region is made to differ: in the North
West, three in four of the ethnic minority respondents who answered "never" to harassment from
the public are changed to "5" (chosen deterministically, by a hash of the pseudonymised
respondent).
The real plan (cut to two indicators) runs over the store; that region must be flagged above
the limits for ethnic minority staff. The disclosure tests check that no published row of the
new tables shows a cell under the threshold, that a cell suppressed in ``comparisons`` is
suppressed here too, that the audit covers the new tables through their links, and that no
published number depends on a suppressed cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.analysis.plan import load_plan
from toolkit.analysis.runner import BUNDLE_LAYOUTS, BUNDLE_LINKS, run_plan, small_numbers
from toolkit.analysis.small_numbers import (
    CELL,
    FUNNEL_LIMIT_COLUMNS,
    FUNNEL_UNIT_COLUMNS,
    POOLED_ESTIMATE_COLUMNS,
)
from toolkit.bundle import Bundle
from toolkit.disclosure.suppression import SuppressionPolicy, audit_disclosure
from toolkit.errors import InstrumentError
from toolkit.ingest.pipeline import ingest_survey_file
from toolkit.instruments.model import load_instrument
from toolkit.resources import analysis_dir, surveys_dir
from toolkit.store.database import ResponseStore
from toolkit.synth.responses import spec_for, write_platform_exports

THRESHOLD = 10
INDICATORS = ("harassment_public", "discrimination_colleagues")
PLAN = load_plan(analysis_dir() / "plan.yaml")
PLAN = PLAN.model_copy(
    update={"indicators": tuple(i for i in PLAN.indicators if i.name in INDICATORS)}
)
SHIFTED = ("harassment_public", "NW", "Ethnic minority")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    folder = tmp_path_factory.mktemp("small")
    culture = load_instrument(surveys_dir() / "culture.yaml")
    retention = load_instrument(surveys_dir() / "retention.yaml")
    exports = write_platform_exports(
        spec_for((2025,), 3000, 5), {"culture": culture, "retention": retention}, folder / "x"
    )
    with ResponseStore(folder / "ptw.duckdb") as store:
        for path in exports:
            survey, cycle, region = path.stem.split("_")
            if survey == "culture":
                ingest_survey_file(store, path, instrument=culture, cycle=int(cycle),
                                   region=region, secret=b"k" * 32)  # fmt: skip
        store.con.execute(
            "UPDATE responses_culture SET harassment_public = '5' WHERE region = 'NW' "
            "AND harassment_public = '1' AND ethnicity NOT LIKE 'W%' AND ethnicity <> '99' "
            "AND hash(respondent) % 4 <> 0"
        )
    with ResponseStore(folder / "ptw.duckdb", read_only=True) as store:
        return run_plan(PLAN, store=store, surveys_dir=surveys_dir(),
                        policy=SuppressionPolicy(threshold=THRESHOLD), plan_dir=analysis_dir())  # fmt: skip


def _published(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["suppressed"].astype(bool)]


def test_the_region_made_to_differ_is_flagged_above_the_limits(bundle: Bundle) -> None:
    units = bundle.table("funnel_units")
    assert list(units.columns) == list(FUNNEL_UNIT_COLUMNS)
    indicator, region, group = SHIFTED
    focal = _published(units[(units["indicator"] == indicator) & (units["group"] == group)])
    assert len(focal) >= 5  # most regions are large enough to place
    flags = focal.set_index("region")["flag"]
    assert flags[region] == "above 99.8%"
    assert (flags.drop(region) != "above 99.8%").all()
    comparisons = bundle.table("comparisons")
    england = comparisons[(comparisons["region"] == "England") & (comparisons["indicator"]
                          == indicator) & (comparisons["group"] == group)]  # fmt: skip
    assert focal["target"].to_numpy() == pytest.approx(england["estimate"].iloc[0], abs=1e-12)
    assert set(focal["kind"]) == {"proportion"}
    assert set(focal["adjust"]) <= {"additive", "none"}
    inside = focal[focal["flag"] == "inside"]
    assert (
        (inside["lower_95"] <= inside["estimate"]) & (inside["estimate"] <= inside["upper_95"])
    ).all()
    assert (focal["lower_998"] <= focal["lower_95"]).all()
    assert (focal["upper_95"] <= focal["upper_998"]).all()
    # The same region is not flagged for White staff: only the minority group was changed.
    white = _published(units[(units["indicator"] == indicator) & (units["group"] == "White")])
    assert white.set_index("region").loc[region, "flag"] != "above 99.8%"


def test_funnel_limits_are_curves_around_englands_rate(bundle: Bundle) -> None:
    limits = bundle.table("funnel_limits")
    assert list(limits.columns) == list(FUNNEL_LIMIT_COLUMNS)
    units = _published(bundle.table("funnel_units"))
    curves = limits.groupby(["indicator", "cycle", "dimension", "level", "group"])
    assert (
        curves.ngroups
        == units.groupby(["indicator", "cycle", "dimension", "level", "group"]).ngroups
    )
    for key, curve in curves:
        target = units.set_index(["indicator", "cycle", "dimension", "level", "group"]).loc[
            key, "target"
        ]
        upper = curve[(curve["side"] == "upper") & (curve["limit_level"] == "95%")]
        lower = curve[(curve["side"] == "lower") & (curve["limit_level"] == "95%")]
        assert len(upper) == PLAN.small_numbers.limit_points
        assert (np.diff(upper["limit"].to_numpy()) <= 1e-12).all()  # narrows as n grows
        assert (lower["limit"].to_numpy() <= np.atleast_1d(target)[0]).all()
        assert (upper["limit"].to_numpy() >= np.atleast_1d(target)[0]).all()


def test_pooled_estimates_shrink_regional_cells_and_cover_the_intersections(bundle: Bundle) -> None:
    pooled = bundle.table("pooled_estimates")
    assert list(pooled.columns) == list(POOLED_ESTIMATE_COLUMNS)
    shown = _published(pooled)
    assert set(shown["method"]) == {"glmm"}
    assert set(shown["dimension"]) == {"ethnicity", "disability", "ethnicity × disability",
                                       "ethnicity × sector"}  # fmt: skip
    national = shown[shown["region"] == "England"]
    assert set(national["dimension"]) == {"ethnicity × disability", "ethnicity × sector"}
    assert ((shown["ci_low"] <= shown["pooled"]) & (shown["pooled"] <= shown["ci_high"])).all()
    assert (shown["estimate"] == shown["events"] / shown["n"]).all()
    assert shown["converged"].astype(bool).all()
    # Partial pooling: the regional spread of each group's pooled rates is narrower than raw.
    regional = shown[(shown["region"] != "England") & (shown["dimension"] == "disability")]
    for _, cells in regional.groupby(["indicator", "group"]):
        assert cells["pooled"].std() < cells["estimate"].std()


def test_no_published_row_reveals_a_group_under_the_threshold(bundle: Bundle) -> None:
    for name in ("funnel_units", "pooled_estimates"):
        shown = _published(bundle.table(name))
        assert (shown["n"] >= THRESHOLD).all(), name
        hidden = bundle.table(name)[bundle.table(name)["suppressed"].astype(bool)]
        numbers = hidden.drop(columns=list(CELL)).select_dtypes("number")
        assert numbers.isna().all().all(), name


def test_a_suppressed_comparison_cell_is_suppressed_in_the_new_tables(bundle: Bundle) -> None:
    comparisons = bundle.table("comparisons")[[*CELL, "suppressed", "suppression_reason"]]
    for name in ("funnel_units", "pooled_estimates"):
        joined = bundle.table(name).merge(comparisons, on=list(CELL), suffixes=("", "_cmp"),
                                          validate="one_to_one")  # fmt: skip
        assert len(joined) == len(bundle.table(name))
        assert (joined["suppressed"] == joined["suppressed_cmp"]).all(), name
        assert joined["suppressed"].any(), f"{name}: no suppressed cell, the test shows nothing"
        hidden = joined[joined["suppressed"]]
        assert (hidden["suppression_reason"] == hidden["suppression_reason_cmp"]).all()


def test_the_audit_covers_the_new_tables_through_their_links(bundle: Bundle) -> None:
    tables = {name: bundle.table(name) for name in BUNDLE_LAYOUTS if name in bundle.tables}
    policy = SuppressionPolicy(threshold=THRESHOLD)
    hierarchy = bundle.table("group_hierarchy")
    links = [link for link in BUNDLE_LINKS if all(t in tables for t in link.tables)]
    assert audit_disclosure(tables, policy=policy, layouts=BUNDLE_LAYOUTS, links=links,
                            hierarchy=hierarchy).empty  # fmt: skip
    # Publish a pooled estimate for a cell suppressed in the comparisons: the audit objects.
    pooled = tables["pooled_estimates"].copy()
    row = pooled.index[pooled["suppressed"]][0]
    pooled.loc[row, ["suppressed", "suppression_reason", "n", "pooled"]] = [False, None, 12, 0.3]
    audit = audit_disclosure({**tables, "pooled_estimates": pooled}, policy=policy,
                             layouts=BUNDLE_LAYOUTS, links=links, hierarchy=hierarchy)  # fmt: skip
    assert (audit["table"] == "pooled_estimates").any() or (audit["table"] == "comparisons").any()
    assert not audit.empty


def test_no_published_number_depends_on_a_suppressed_cell(bundle: Bundle) -> None:
    """Refill every suppressed comparison cell with made-up counts: nothing published changes."""
    comparisons = bundle.table("comparisons").copy()
    hidden = comparisons["suppressed"].astype(bool)
    rng = np.random.default_rng(1)
    comparisons.loc[hidden, "n"] = rng.integers(1, THRESHOLD, hidden.sum())
    comparisons.loc[hidden, "events"] = 0
    comparisons.loc[hidden, "estimate"] = 0.0
    again = small_numbers(PLAN, comparisons)
    for name, table in again.tables.items():
        pd.testing.assert_frame_equal(_canonical(table), _canonical(bundle.table(name)),
                                      check_dtype=False)  # fmt: skip
    pd.testing.assert_frame_equal(
        _canonical(again.limits), _canonical(bundle.table("funnel_limits")), check_dtype=False
    )


def _canonical(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order (the bundle sorts its tables into the instruments' group order)."""
    keys = [c for c in ("survey", "cycle", "region", "indicator", "dimension", "level", "group",
                        "limit_level", "side", "denominator") if c in table.columns]  # fmt: skip
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def test_the_plan_names_only_its_own_indicators(tmp_path: Path) -> None:
    text = (analysis_dir() / "plan.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "plan.yaml"
    broken.write_text(text.replace("intend_leave_12m]", "intend_to_leave]"), encoding="utf-8")
    with pytest.raises(InstrumentError, match="intend_to_leave"):
        load_plan(broken)
    assert PLAN.small_numbers.pooling_method == "glmm"
    assert PLAN.small_numbers.funnels and PLAN.small_numbers.pooling
