"""Reports read region by region: each number a reader sees is the bundle's, for the right area.

A small bundle is written with the columns the analysis writes: workforce rates for England
(everyone, ethnicity, disability and each region) and for two regions (everyone, ethnicity,
disability), response rates, trend verdicts (including "too few responses to say", published
and suppressed) and the group order of an intersection. Sections are called as the templates
call them, and their HTML is read as text (tags removed), as in the rendered-number audit.
Classes checked: a table that lists another region's rows or England's as the region's; a
response rate computed in the report instead of read from the bundle; verdict counts that do
not add up or list an untested gap as a change; intersections out of the bundle's order; a
ratio axis labelled on one side of 1 only; survival times without their unit.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from toolkit import config
from toolkit.bundle import Bundle, write_bundle
from toolkit.report import charts
from toolkit.report import sections as setup
from toolkit.report.excel import write_bundle_excel
from toolkit.report.sentences import REGION_NAMES, percent

YEAR = 2025
#: (region, dimension, level, group) -> (headcount at start, leavers, leaver rate, stability).
WORKFORCE = {
    ("England", "all", "all", "All staff"): (6000, 750, 0.1258, 0.8813),
    ("England", "ethnicity", "binary", "White"): (4700, 560, 0.1194, 0.8877),
    ("England", "ethnicity", "binary", "Ethnic minority"): (1030, 154, 0.1520, 0.8570),
    ("England", "disability", "binary", "Not disabled"): (5100, 597, 0.1169, 0.8889),
    ("England", "disability", "binary", "Disabled"): (700, 126, 0.1858, 0.8324),
    ("England", "region", "detailed", "London"): (1020, 143, 0.1422, 0.8660),
    ("England", "region", "detailed", "North West"): (775, 93, 0.1203, 0.8890),
    ("LON", "all", "all", "All staff"): (1020, 143, 0.1422, 0.8660),
    ("LON", "ethnicity", "binary", "White"): (567, 63, 0.1123, 0.8942),
    ("LON", "ethnicity", "binary", "Ethnic minority"): (415, 75, 0.1838, 0.8265),
    ("LON", "disability", "binary", "Not disabled"): (868, 117, 0.1372, 0.8721),
    ("LON", "disability", "binary", "Disabled"): (118, 22, 0.1880, 0.8136),
    ("NW", "all", "all", "All staff"): (775, 93, 0.1203, 0.8890),
    ("NW", "ethnicity", "binary", "White"): (673, 76, 0.1133, 0.8960),
    ("NW", "ethnicity", "binary", "Ethnic minority"): (79, 15, 0.1917, 0.8228),
    ("NW", "disability", "binary", "Not disabled"): (651, 73, 0.1117, 0.8966),
    ("NW", "disability", "binary", "Disabled"): (101, 18, 0.1868, 0.8317),
}
#: region -> (survey, respondents, headcount, response rate) in the latest cycle.
RESPONSE_RATES = {
    "England": (("culture", 5000, 5999, 0.833472), ("retention", 5000, 5999, 0.833472)),
    "LON": (("culture", 781, 1022, 0.764188), ("retention", 809, 1022, 0.791585)),
}
CROSSED = ("White × Not disabled", "White × Disabled", "Ethnic minority × Not disabled",
           "Ethnic minority × Disabled")  # fmt: skip


def _workforce() -> pd.DataFrame:
    rows = []
    for (region, dimension, level, group), (start, leavers, rate, stable) in WORKFORCE.items():
        rows.append(dict(year=YEAR, period="2025-04-01 to 2026-03-31", region=region,
                         dimension=dimension, level=level, group=group, n=start,
                         headcount_start=start, headcount_end=start, mean_headcount=float(start),
                         leavers=leavers, joiners=leavers, leaver_rate=rate, joiner_rate=rate,
                         stable_staff=round(stable * start), stability_index=stable, note="",
                         suppressed=False, suppression_reason=None))  # fmt: skip
    return pd.DataFrame(rows)


def _response_rates() -> pd.DataFrame:
    return pd.DataFrame([
        dict(survey=survey, cycle=YEAR, region=region, respondents=n, headcount=staff,
             headcount_date=f"{YEAR}-04-01", response_rate=rate, note="", suppressed=False)
        for region, surveys in RESPONSE_RATES.items() for survey, n, staff, rate in surveys
    ])  # fmt: skip


def _profile() -> pd.DataFrame:
    return pd.DataFrame([
        dict(survey=survey, cycle=YEAR, region=region, dimension="all", level="all",
             group="All respondents", n=n, suppressed=False, suppression_reason=None)
        for region, surveys in RESPONSE_RATES.items() for survey, n, _, _ in surveys
    ])  # fmt: skip


def _verdicts() -> pd.DataFrame:
    """England: 2 narrowing, 3 no clear change, 1 too few (published), 1 too few (suppressed)."""
    verdicts = ["gap narrowing", "gap narrowing", "no clear change", "no clear change",
                "no clear change", "too few responses to say", "too few responses to say"]  # fmt: skip
    rows = []
    for i, verdict in enumerate(verdicts):
        hidden = i == len(verdicts) - 1
        rows.append(dict(survey="culture", region="England", indicator=f"ind_{i}",
                         dimension="ethnicity", level="binary", group="Ethnic minority",
                         reference_group="White", cycles="2024-2025", interaction=None if hidden
                         else -0.3, p_value=None if hidden or verdict.startswith("too") else 0.01,
                         p_adjusted=None if hidden or verdict.startswith("too") else 0.02,
                         adjust_method="benjamini-hochberg", verdict=verdict, reason="",
                         suppressed=hidden, suppression_reason="withheld: small cell" if hidden
                         else None))  # fmt: skip
    return pd.DataFrame(rows)


def _group_order() -> pd.DataFrame:
    return pd.DataFrame([
        dict(dimension="ethnicity × disability", level="binary×binary", group=group,
             dimension_order=6, level_order=4, group_order=i + 1, is_reference=i == 0)
        for i, group in enumerate(CROSSED)
    ])  # fmt: skip


def _hierarchy() -> pd.DataFrame:
    """The hierarchy in the order the analysis crossed it (not the reading order)."""
    crossed = ["White × Disabled", "White × Not disabled", "Ethnic minority × Disabled",
               "Ethnic minority × Not disabled"]  # fmt: skip
    return pd.DataFrame([
        dict(dimension="ethnicity × disability", level="binary×binary", group=group,
             parent_dimension="ethnicity", parent_level="binary",
             parent_group=group.split(" × ")[0])
        for group in crossed
    ])  # fmt: skip


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = {"workforce_rates": _workforce(), "response_rates": _response_rates(),
              "response_profile": _profile(), "trend_interactions": _verdicts(),
              "group_order": _group_order(), "group_hierarchy": _hierarchy()}  # fmt: skip
    indicators = [{"name": f"ind_{i}", "label": f"Indicator {i}", "survey": "culture"}
                  for i in range(len(_verdicts()))]  # fmt: skip
    manifest = {"cycles": [2024, YEAR], "plan": {"indicators": indicators},
                "suppression": {"threshold": 10}}  # fmt: skip
    return write_bundle(Bundle(tables=tables, manifest=manifest),
                        tmp_path_factory.mktemp("by-region") / "bundle")  # fmt: skip


def _report(bundle_dir: Path, region: str) -> setup.Report:
    config = bundle_dir.parent / f"config-{region}.json"
    config.write_text(json.dumps({"bundle": str(bundle_dir), "region": region}), encoding="utf-8")
    return setup.load_report(str(config))


def _text(markdown: str) -> str:
    """What a reader sees of a section: tags, styles and markdown emphasis removed."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", markdown, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).replace("**", "").split())


def _rows(markdown: str) -> list[list[str]]:
    """The body rows (cell texts) of the one HTML table in a section."""
    body = markdown.split("<tbody", 1)[-1]
    return [[_text(c) for c in re.findall(r"<t[dh]\b.*?</t[dh]>", r, flags=re.S)]
            for r in re.findall(r"<tr\b.*?</tr>", body, flags=re.S)]  # fmt: skip


def _shown(region: str, group: str, dimension: str) -> list[str]:
    level = {"all": "all", "region": "detailed"}.get(dimension, "binary")
    start, leavers, rate, stable = WORKFORCE[(region, dimension, level, group)]
    return [f"{start:,}", f"{leavers:,}", percent(rate), percent(rate), percent(stable)]


def test_national_turnover_lists_each_group_once_with_englands_figures(bundle_dir):
    rows = _rows(setup.turnover(_report(bundle_dir, "England")))
    groups = [cells[0] for cells in rows]
    assert len(groups) == len(set(groups)), groups
    for (region, dimension, _, group), _ in WORKFORCE.items():
        if region == "England":
            assert rows[groups.index(group)][1:] == _shown(region, group, dimension), group


def test_regional_turnover_and_leaving_are_the_regions_with_england_beside(bundle_dir):
    report = _report(bundle_dir, "LON")
    rows = _rows(setup.turnover(report))
    areas, current = [], ""
    for cells in rows:
        current = cells[0] or current
        areas.append((current, cells[1], cells[2:]))
    assert [a for a, _, _ in areas] == ["London"] * 5 + ["England"] * 5
    for area, group, numbers in areas:
        region = "LON" if area == "London" else "England"
        dimension = next(d for (r, d, _, g) in WORKFORCE if r == region and g == group)
        assert numbers == _shown(region, group, dimension), (area, group)
    north_west = {f"{v[0]:,}" for k, v in WORKFORCE.items() if k[0] == "NW"}
    assert not north_west & {n for _, _, numbers in areas for n in numbers}
    leaving = _text(setup.key_findings(report, aim="retain"))
    minority = WORKFORCE[("LON", "ethnicity", "binary", "Ethnic minority")][2]
    white = WORKFORCE[("LON", "ethnicity", "binary", "White")][2]
    assert (
        f"{percent(minority)} of ethnic minority staff left against {percent(white)} of White staff"
    ) in leaving, leaving
    assert f"(England {percent(WORKFORCE[('England', 'all', 'all', 'All staff')][2])})" in leaving


@pytest.mark.parametrize("region", ["England", "LON"])
def test_response_rate_is_the_bundles(bundle_dir, region):
    said = _text(setup.context(_report(bundle_dir, region)))
    for survey, n, staff, rate in RESPONSE_RATES[region]:
        assert f"{survey} survey {n:,} ({percent(rate)})" in said, said
        assert f"hold {staff:,} pharmacy technicians" in said


def test_verdict_counts_add_up_and_only_changes_are_listed(bundle_dir):
    report = _report(bundle_dir, "England")
    lead = "Of 7 gaps tested across the 2024, 2025 survey cycles, 2 narrowed, 0 widened, "
    counts = "3 showed no clear change and 2 had too few responses to say."
    for said in (_text(setup.verdict_table(report)), _text(setup.trends_summary(report))):
        assert lead + counts in said, said
    rows = _rows(setup.verdict_table(report))
    assert len(rows) == 2
    assert all(cells[2].startswith("The gap has narrowed") for cells in rows), rows
    assert all("Benjamini-Hochberg-adjusted p = 0.020" in cells[3] for cells in rows), rows


def test_intersections_follow_the_bundles_group_order(bundle_dir):
    report = _report(bundle_dir, "England")
    shuffled = pd.DataFrame({"dimension": "ethnicity × disability", "level": "binary×binary",
                             "group": list(reversed(CROSSED))})  # fmt: skip
    assert list(setup.ordered(report, shuffled)["group"]) == list(CROSSED)


@pytest.mark.parametrize("limits", [(0.6, 2.1), (0.3, 3.6), (0.85, 1.2), (0.02, 40.0)])
def test_ratio_axes_are_labelled_on_both_sides_of_one_apart(limits):
    ticks = charts.ratio_breaks(limits)
    assert [t for t in ticks if t < 1] and [t for t in ticks if t > 1], ticks
    assert all(limits[0] <= t <= limits[1] for t in ticks)
    gaps = [math.log10(b / a) for a, b in itertools.pairwise(ticks)]
    assert min(gaps) >= math.log10(limits[1] / limits[0]) / 8, ticks  # labels never touch


def test_survival_alt_text_gives_times_in_their_unit():
    curves = pd.DataFrame({"group": ["White", "White", "Disabled"], "time": [0.5, 2.16667, 2.75],
                           "survival": [0.9, 0.76, 0.63]})  # fmt: skip
    alt = charts.km_alt_text(curves, subject="time in post", unit="years")
    assert "White 76% at 2.2 years" in alt and "Disabled 63% at 2.8 years" in alt, alt


def test_the_annex_names_the_workbook_sheets_that_hold_the_detailed_tables(bundle_dir, tmp_path):
    report = _report(bundle_dir, "England")
    rows = _rows(setup.annex(report))
    sheets = load_workbook(write_bundle_excel(report.bundle, tmp_path / "b.xlsx")).sheetnames
    listed = [cells[0] for cells in rows]
    assert listed and set(listed) <= set(sheets), (listed, sheets)
    turnover = next(cells for cells in rows if cells[0] == "Turnover")
    assert turnover[2] == str(sum(region == "England" for region, *_ in WORKFORCE))


def test_representation_lists_regions_in_the_configured_order_england_first(bundle_dir):
    report = _report(bundle_dir, "England")
    regions = ["England", *config.REGION_NAMES]
    report.bundle.tables["representation"] = pd.DataFrame([
        dict(source=source, cycle=YEAR, region=region, dimension="ethnicity", level="binary",
             group="Ethnic minority", n=50, sample_share=0.2, benchmark_share=0.25,
             representation_ratio=0.8, ci_low=0.6, ci_high=1.0, suppressed=False)
        for source in ("workforce", "respondents: retention", "respondents: culture")
        for region in sorted(regions, reverse=True)
    ])  # fmt: skip
    shown = [cells[0] for cells in _rows(setup.representation(report))]
    assert shown == [name for code in regions for name in (REGION_NAMES[code], "", "")], shown


def test_pooled_intersections_follow_the_bundles_group_order(bundle_dir):
    report = _report(bundle_dir, "England")
    pooled = pd.DataFrame([
        dict(cycle=YEAR, region="England", indicator="ind_0", dimension="ethnicity × disability",
             level="binary×binary", group=group, n=100, estimate=0.2, pooled=0.21, ci_low=0.1,
             ci_high=0.3, model="pooled", suppressed=False, suppression_reason=None)
        for group in sorted(CROSSED)
    ])  # fmt: skip
    report.bundle.tables["pooled_estimates"] = pooled
    rows = _rows(setup.pooled_annex(report))
    assert [cells[1] for cells in rows] == list(CROSSED), rows


def test_long_pooled_intersections_go_to_the_workbook_not_the_report(bundle_dir):
    report = _report(bundle_dir, "England")
    sizes = {"ethnicity × disability": 4, "ethnicity × sector": setup.POOLED_MAX_ROWS + 1}
    report.bundle.tables["pooled_estimates"] = pd.DataFrame([
        dict(cycle=YEAR, region="England", indicator="ind_0", dimension=dimension,
             level="binary×detailed", group=f"{dimension} {i}", n=100, estimate=0.2, pooled=0.21,
             ci_low=0.1, ci_high=0.3, model="pooled", suppressed=False, suppression_reason=None)
        for dimension, size in sizes.items() for i in range(size)
    ])  # fmt: skip
    said = setup.pooled_annex(report)
    groups = {cells[1] for cells in _rows(said)}
    assert groups == {f"ethnicity × disability {i}" for i in range(4)}, groups
    assert (f'ethnicity × sector (over {setup.POOLED_MAX_ROWS} rows) are in the Excel workbook, '
            'sheet "Pooled estimates"') in _text(said)  # fmt: skip


def test_a_pooled_indicator_with_every_cell_suppressed_is_named_not_tabled(bundle_dir):
    report = _report(bundle_dir, "England")
    report.bundle.tables["pooled_estimates"] = pd.DataFrame([
        dict(cycle=YEAR, region="England", indicator=indicator, dimension="ethnicity × disability",
             level="binary×binary", group=group, n=None if hidden else 100,
             estimate=None if hidden else 0.2, pooled=None if hidden else 0.21,
             ci_low=None if hidden else 0.1, ci_high=None if hidden else 0.3, model="pooled",
             suppressed=hidden, suppression_reason="primary: fewer than 10" if hidden else None)
        for indicator, hidden in (("ind_0", False), ("ind_1", True)) for group in CROSSED
    ])  # fmt: skip
    said = setup.pooled_annex(report)
    assert len(_rows(said)) == len(CROSSED)  # ind_0's cells only
    assert "suppressed (too few respondents) for 1 indicator(s), not tabled: Indicator 1." in _text(
        said
    )
