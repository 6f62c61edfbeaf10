"""Report jobs, the disclosure re-check before rendering, and the charts' handling of
suppressed rows (fast: no render)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.bundle import Bundle
from toolkit.errors import PtwError
from toolkit.report import charts
from toolkit.report import sentences as report_text
from toolkit.report.runner import REGIONS, check_bundle, disclosure_findings, report_jobs


def test_all_regions_is_national_seven_regions_and_trends():
    names = [job.output_name for job in report_jobs("national", all_regions=True)]
    assert names == ["national", *(f"regional-{code}" for code in REGIONS), "trends"]
    assert report_jobs("regional", region="LON")[0].region == "LON"
    with pytest.raises(PtwError, match="region"):
        report_jobs("regional")
    with pytest.raises(PtwError, match="unknown report"):
        report_jobs("board")


def test_disclosure_recheck_refuses_a_number_left_in_a_suppressed_row(bundle, tmp_path):
    assert disclosure_findings(bundle).empty  # the pipeline's bundle passes
    tables = {name: frame.copy() for name, frame in bundle.tables.items()}
    comparisons = tables["comparisons"]
    row = comparisons.index[comparisons["suppressed"]][0]
    comparisons.loc[row, "estimate"] = 0.5  # a leak: a number in a suppressed row
    with pytest.raises(PtwError, match="disclosure"):
        check_bundle(Bundle(tables=tables, manifest=bundle.manifest), where=tmp_path)


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "dimension": ["ethnicity"] * 3, "group": ["Asian", "Hidden group", "White"],
        "reference_group": ["White"] * 3, "is_reference": [False, False, True],
        "n": [40, np.nan, 400], "estimate": [0.3, np.nan, 0.2], "ci_low": [0.2, np.nan, 0.15],
        "ci_high": [0.4, np.nan, 0.25], "rel_likelihood": [1.5, np.nan, np.nan],
        "rl_ci_low": [1.1, np.nan, np.nan], "rl_ci_high": [2.0, np.nan, np.nan],
        "outside_band": [True, pd.NA, pd.NA], "suppressed": [False, True, False],
        "suppression_reason": [None, "primary: fewer than 10 respondents", None],
        "cycle": [2025, 2025, 2025], "indicator_label": ["Harassment"] * 3,
    })  # fmt: skip


def test_charts_never_draw_or_describe_suppressed_rows():
    rows = _rows()
    forest = charts.forest_plot(rows)
    assert list(forest.data["group"]) == ["Asian"]
    assert "Hidden" not in charts.forest_alt_text(rows, indicator_label="Harassment")
    assert "1.50 (95% CI 1.10 to 2.00)" in charts.forest_alt_text(
        rows, indicator_label="Harassment"
    )
    assert "Hidden group" not in set(charts.heat_map(rows, title="t").data["group"])
    assert "Hidden group" not in set(charts.trend_plot(rows, title="t").data["group"])
    assert "Hidden" not in charts.trend_alt_text(rows, subject="x")


def test_sentences_name_suppressed_groups_with_reason_and_escape_labels():
    rows = _rows().assign(group=["<b>Asian</b>", "Hidden group", "White"])
    text = report_text.gap_summary(rows.assign(indicator="h"), labels={"h": "Harassment"})
    assert "Hidden group: suppressed (primary\\: fewer than 10 respondents)." in text
    assert "\\<b\\>Asian\\</b\\>: 30.0% (95% CI 20.0% to 40.0%)" in text
    assert "relative likelihood 1.50 (95% CI 1.10 to 2.00), outside the four-fifths" in text
    assert "<b>" not in text
    assert report_text.not_available("Recruitment funnel").endswith(
        "not available in this bundle.*"
    )
