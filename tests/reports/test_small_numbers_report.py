"""The reports show issue 15's sections: regions compared (funnel plots), the region's own
position, and pooled estimates beside raw ones in the annex. Uses the rendered reports of
``conftest.py`` (axe-core runs on the same files in ``test_reports_render.py``)."""

from __future__ import annotations

import html
import re

from toolkit.report.charts import flag_words
from toolkit.report.sentences import REGION_NAMES


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
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
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
    code = "LON"
    page = next(f["html"] for name, f in rendered.items() if name.endswith(code))
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
    assert "The region among all regions" in text
    figures = _figures(page.read_text(encoding="utf-8"), "fig-funnel-")
    assert len(figures) == latest.groupby(["indicator", "dimension"]).ngroups
    own = latest[(latest["region"] == code) & ~latest["suppressed"].astype(bool)]
    for row in own.itertuples():
        words = flag_words(row.flag)
        assert f"London: {100 * row.estimate:.1f}% of {row.group.lower()} respondents" in text
        assert words in text
    first_alt = html.unescape(re.search(r'alt="([^"]*)"', figures[0]).group(1))
    assert "regions drawn: London " in first_alt  # the highlighted region is described first


def test_annex_shows_pooled_beside_raw_rates(rendered, bundle) -> None:
    page = rendered["national"]["html"].read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Annex: pooled estimates for intersections" in text
    assert "Pooled and raw rates: ethnicity × disability, England" in text
    assert "Pooled rate (95% interval)" in text and "Raw rate" in text
    pooled = bundle.table("pooled_estimates")
    shown = pooled[
        (pooled["region"] == "England")
        & (pooled["cycle"] == pooled["cycle"].max())
        & ~pooled["suppressed"].astype(bool)
        & pooled["pooled"].notna()
    ]
    assert not shown.empty
    row = shown.iloc[0]
    assert f"{100 * row.pooled:.1f}% ({100 * row.ci_low:.1f}% to {100 * row.ci_high:.1f}%)" in text
