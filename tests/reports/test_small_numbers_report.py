"""The reports show issue 15's sections: regions compared (funnel plots), the region's own
position, and pooled estimates beside raw ones in the annex. Uses the rendered reports of
``conftest.py`` (axe-core runs on the same files in ``test_reports_render.py``)."""

from __future__ import annotations

import html
import re

from toolkit.report.charts import flag_words
from toolkit.report.sections import INTERSECTIONS, POOLED_MAX_ROWS
from toolkit.report.sentences import REGION_NAMES


def _text(page: str) -> str:
    """The page's visible text, tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _figures(page: str, prefix: str) -> list[str]:
    return re.findall(rf'<figure[^>]*id="{prefix}[^"]*".*?</figure>', page, flags=re.S)


def test_national_report_compares_regions_on_funnel_plots(rendered, bundle) -> None:
    page = rendered["national"]["html"].read_text(encoding="utf-8")
    assert "Regions compared" in page
    funnels = _figures(page, "fig-funnel-")
    units = bundle.table("funnel_units")
    latest = units[(units["cycle"] == units["cycle"].max()) & ~units["is_reference"].astype(bool)]
    expected = latest.groupby(["indicator", "dimension"]).ngroups
    assert expected >= 2 and len(funnels) == expected
    for figure in funnels:
        alt = html.unescape(re.search(r'alt="([^"]*)"', figure).group(1))
        assert alt.startswith("Funnel plot of") and "England's rate of" in alt
        assert re.search(r"\d+\.\d%", alt)
    # One sentence per region outside the 95% limits, or one saying none is.
    shown = latest[~latest["suppressed"].astype(bool)]
    outside = shown[shown["flag"] != "inside"]
    text = _text(page)
    for row in outside.itertuples():
        assert f"{REGION_NAMES[row.region]}: " in text
    none_sentences = text.count("No region is outside the 95% limits")
    funnels_with_none = sum(
        (rows["flag"] == "inside").all() for _, rows in shown.groupby(["indicator", "dimension"])
    )
    assert none_sentences == funnels_with_none


def test_regional_report_highlights_its_own_region(rendered, bundle) -> None:
    units = bundle.table("funnel_units")
    latest = units[(units["cycle"] == units["cycle"].max()) & ~units["is_reference"].astype(bool)]
    shown = latest[~latest["suppressed"].astype(bool)]
    code = shown["region"].value_counts().sort_index().idxmax()  # the most often placed region
    name = REGION_NAMES[code]
    page = next(f["html"] for key, f in rendered.items() if key.endswith(code))
    source = page.read_text(encoding="utf-8")
    text = _text(source)
    assert "The region among all regions" in text
    figures = _figures(source, "fig-funnel-")
    assert len(figures) == latest.groupby(["indicator", "dimension"]).ngroups
    own = shown[shown["region"] == code]
    assert not own.empty
    for row in own.itertuples():
        assert f"{name}: {100 * row.estimate:.1f}% of {row.group.lower()} respondents" in text
        assert flag_words(row.flag) in text
    alts = [html.unescape(re.search(r'alt="([^"]*)"', f).group(1)) for f in figures]
    placed = [alt for alt in alts if f"{name} " in alt]
    assert len(placed) == len(own)
    assert all(f"regions drawn: {name} " in alt for alt in placed)  # described first


def test_annex_shows_pooled_beside_raw_rates(rendered, bundle) -> None:
    text = _text(rendered["national"]["html"].read_text(encoding="utf-8"))
    assert "Annex: pooled estimates for intersections" in text
    pooled = bundle.table("pooled_estimates")
    latest = pooled[(pooled["region"] == "England") & (pooled["cycle"] == pooled["cycle"].max())]
    tabled = 0
    for dimension in INTERSECTIONS:
        shown = latest[(latest["dimension"] == dimension) & ~latest["suppressed"].astype(bool)
                       & latest["pooled"].notna()]  # fmt: skip
        if f"Pooled and raw rates: {dimension}, England" not in text:
            # short tables are printed; a long one is sent to the workbook; none is lost
            said = (f"{dimension} (over {POOLED_MAX_ROWS} rows) are in the Excel workbook" in text
                    or f"Every {dimension} cell is suppressed" in text)  # fmt: skip
            assert said, dimension
            continue
        tabled += 1
        assert "Pooled rate (95% interval)" in text and "Raw rate" in text
        row = shown.iloc[0]
        assert (
            f"{100 * row.pooled:.1f}% ({100 * row.ci_low:.1f}% to {100 * row.ci_high:.1f}%)" in text
        )
    assert tabled >= 1


def test_regional_annex_shows_the_regions_own_pooled_rates(rendered, bundle) -> None:
    """A regional report's annex tables the region's ethnic and disability groups, pooled
    across regions (its intersections are published for England only), never "not available"."""
    pooled = bundle.table("pooled_estimates")
    for code, name in (("LON", "London"), ("SW", "South West")):
        text = _text(rendered[f"regional-{code}"]["html"].read_text(encoding="utf-8"))
        annex = text[text.rindex("Annex: pooled estimates") :]  # the heading, not the contents
        assert "not available" not in annex
        own = pooled[(pooled["region"] == code) & (pooled["cycle"] == pooled["cycle"].max())
                     & ~pooled["suppressed"].astype(bool) & pooled["pooled"].notna()]  # fmt: skip
        assert set(own["dimension"]) == {"ethnicity", "disability"}
        for dimension, rows in own.groupby("dimension"):
            assert f"Pooled and raw rates: {dimension}, {name}" in annex
            row = rows.iloc[0]
            assert f"{100 * row.pooled:.1f}% ({100 * row.ci_low:.1f}% to" in annex
