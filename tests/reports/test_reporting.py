"""Report jobs and the charts' handling of suppressed rows (fast: no render). The release gate
before rendering is tested in ``tests/disclosure/test_release_gates.py``."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from toolkit.bundle import Bundle
from toolkit.errors import PtwError
from toolkit.report import charts, sections
from toolkit.report import sentences as report_text
from toolkit.report.runner import REGIONS, report_jobs
from toolkit.report.sentences import REGION_NAMES


def test_all_regions_is_national_seven_regions_and_trends():
    names = [job.output_name for job in report_jobs("national", all_regions=True)]
    assert names == ["national", *(f"regional-{code}" for code in REGIONS), "trends"]
    assert report_jobs("regional", region="LON")[0].region == "LON"
    with pytest.raises(PtwError, match="region"):
        report_jobs("regional")
    with pytest.raises(PtwError, match="covers England"):
        report_jobs("national", region="LON")  # never silently the national report
    with pytest.raises(PtwError, match="unknown region"):
        report_jobs("regional", region="Wales")


@pytest.mark.parametrize("region", ["LON", "lon", "London", "london"])
def test_region_code_or_name_alone_means_the_regional_report(region):
    (job,) = report_jobs(None, region=region)
    assert (job.template, job.region, job.output_name) == ("regional", "LON", "regional-LON")
    assert report_jobs("regional", region=region) == [job]
    assert report_jobs(None, region="North East & Yorkshire")[0].region == "NEY"
    assert report_jobs(None)[0].template == "national"
    with pytest.raises(PtwError, match="unknown report"):
        report_jobs("board")


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
    forest = charts.forest_plot(rows)
    assert list(forest.data["position"]) == [charts.FOREST_OUTSIDE]  # from outside_band
    assert "Hidden group" not in set(charts.trend_plot(rows, title="t").data["group"])
    assert "Hidden" not in charts.trend_alt_text(rows, subject="x")


def test_sentences_name_suppressed_groups_with_reason_and_escape_labels():
    rows = _rows().assign(group=["<b>Asian</b>", "Hidden group", "White"])
    said = [report_text.comparison_sentence(row, band=(0.8, 1.25))
            for row in rows.to_dict(orient="records")]  # fmt: skip
    assert said[1] == "Hidden group: suppressed (primary\\: fewer than 10 respondents)."
    assert said[0].startswith("\\<b\\>Asian\\</b\\>: 30.0% (95% CI 20.0% to 40.0%), 1.50 times")
    assert "1.50 times as likely as White staff (95% CI 1.10 to 2.00)" in said[0]
    assert "<b>" not in said[0]
    summary = report_text.suppression_summary(rows, threshold=10)
    assert "Ethnicity: Hidden group, suppressed (primary\\: fewer than 10 respondents)" in summary


def test_band_wording_follows_the_bundles_outside_band_flag():
    row = {"rel_likelihood": 1.38, "rl_ci_low": 1.249, "rl_ci_high": 1.53, "outside_band": False}
    assert "but its interval reaches into it" in report_text.band_text(row, band=(0.8, 1.25))
    row = {**row, "rl_ci_low": 1.30, "outside_band": True}
    assert report_text.band_text(row, band=(0.8, 1.25)).startswith("its whole 95% interval")
    row = {"rel_likelihood": 1.1, "outside_band": False}
    assert report_text.band_text(row, band=(0.8, 1.25)).startswith("inside")


@pytest.mark.parametrize(
    ("measure", "value", "expected"),
    [("% with the outcome", 0.3412, "34.1%"),
     ("mean score (0-10, higher = less likely to leave)", 5.802, "5.8 out of 10"),
     ("median years in post", 2.5, "2.5 years")],
)  # fmt: skip
def test_values_are_written_as_what_they_measure(measure, value, expected):
    kind = report_text.measure_kind(measure)
    unit = {"score": "out of 10", "time": "years"}.get(kind, "")
    assert report_text.value_text(value, kind, unit=unit) == expected
    assert report_text.value_text(5000, "count") == "5,000"


def test_p_values_are_written_for_readers():
    assert report_text.p_text(3.1e-13) == "< 0.001"
    assert report_text.p_text(0.0062) == "0.0062"
    assert report_text.p_text(0.034) == "0.034"  # two significant figures at every size
    assert report_text.p_text(0.1) == "0.10"
    assert report_text.p_text(0.38) == "0.38"
    assert report_text.p_text(1.0) == "1.0"


def test_respondents_are_counted_once_not_once_per_breakdown():
    profile = pd.DataFrame({
        "survey": "culture", "cycle": 2025, "suppressed": False,
        "dimension": ["ethnicity"] * 5 + ["disability"] * 2,
        "level": ["binary", "binary", "grouped", "grouped", "grouped", "binary", "binary"],
        "group": ["White", "Ethnic minority", "White", "Asian", "Black", "Disabled", "Not disabled"],
        "n": [80, 20, 80, 12, 8, 10, 90],
    })  # fmt: skip
    assert report_text.respondent_counts(profile, cycle=2025) == {"culture": 100}
    everyone = profile.iloc[:1].assign(dimension="all", level="all", group="All", n=104)
    assert report_text.respondent_counts(pd.concat([profile, everyone]), cycle=2025) == {
        "culture": 104
    }
    assert report_text.not_available("Recruitment funnel").endswith(
        "not available in this bundle.*"
    )


def _label_boxes(placed: pd.DataFrame, *, x_range, y_range) -> list[tuple[float, ...]]:
    """Each placed label's box in panel inches, as :func:`charts.place_labels` sizes it."""
    width, height = charts.FUNNEL_PANEL
    sx, sy = width / (x_range[1] - x_range[0]), height / (y_range[1] - y_range[0])
    boxes = []
    for row in placed.itertuples():
        w = len(row.label) * charts.LABEL_PT * charts.LABEL_CHAR_EM / 72
        h = charts.LABEL_PT * 1.25 / 72
        cx, cy = (row.label_x - x_range[0]) * sx, (row.label_y - y_range[0]) * sy
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return boxes


def test_funnel_labels_never_overprint_even_when_points_crowd():
    """Seven regions within a few respondents and a point of each other (as on the demo's
    funnels, where "Midlands", "London" and "North East and Yorkshire" overprinted)."""
    names = list(REGION_NAMES.values())[1:]
    points = pd.DataFrame({"x": [100 + i for i in range(7)], "y": [30 + 0.2 * i for i in range(7)],
                           "label": names})  # fmt: skip
    x_range, y_range = (0.0, 120.0), (0.0, 100.0)
    placed = charts.place_labels(points, x_range=x_range, y_range=y_range)
    boxes = _label_boxes(placed, x_range=x_range, y_range=y_range)
    for a, b in itertools.combinations(boxes, 2):
        apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        assert apart, (a, b)
    assert placed["leader"].any()  # some labels had to move away: joined to their points
    assert (placed["label_x"] > 0).all() and (placed["label_y"] < 100).all()


def test_funnel_plot_labels_every_drawn_region_once():
    units = pd.DataFrame({"region": list(REGION_NAMES)[1:], "n": [90, 95, 100, 98, 97, 99, 96],
                          "estimate": [0.30, 0.31, 0.30, 0.32, 0.29, 0.30, 0.31], "target": 0.3,
                          "flag": ["inside"] * 6 + ["above 95%"], "suppressed": False})  # fmt: skip
    units = units.assign(label=units["region"].map(REGION_NAMES))
    limits = pd.DataFrame({"denominator": [10.0, 100.0] * 2, "limit": [0.6, 0.4, 0.1, 0.2],
                           "limit_level": "95%", "side": ["upper"] * 2 + ["lower"] * 2})  # fmt: skip
    chart = charts.funnel_plot(units, limits, title="Crowded", highlight="London")
    (labelled,) = [layer.geom.data for layer in chart.layers
                   if type(layer.geom).__name__ == "geom_label"]  # fmt: skip
    assert sorted(labelled["label"]) == sorted(units["label"])
    assert labelled["label"].iloc[0] == "London"  # the highlighted region is placed first
    chart.draw()


def test_a_reason_naming_a_table_reads_as_its_workbook_title_in_one_pair_of_quotes():
    reason = "secondary: the same cell is suppressed in linked table 'trend_gaps'"
    assert report_text.readable_reason(reason) == (
        'secondary: the same cell is suppressed in linked table "Gaps by cycle"'
    )
    assert report_text.readable_reason("see trend_gaps and 'some_column'") == (
        "see \"Gaps by cycle\" and 'some column'"
    )


def test_adjusted_models_with_every_row_suppressed_is_a_sentence_not_a_crash():
    models = pd.DataFrame({
        "survey": "culture", "cycle": 2025, "region": "England", "indicator": "harassment",
        "dimension": "ethnicity", "level": "binary", "group": "Ethnic minority",
        "model": ["adjusted", "unadjusted"], "odds_ratio": np.nan, "ci_low": np.nan,
        "ci_high": np.nan, "p_value": np.nan, "suppressed": True,
    })  # fmt: skip
    report = sections.Report(
        bundle=Bundle(tables={"models": models}, manifest={"cycles": [2025]}), region="England",
        place="England", labels={}, cycles=(2025,), threshold=10, band=(0.8, 1.25),
    )  # fmt: skip
    assert sections.adjusted_models(report) == (
        "Every adjusted comparison is suppressed: the groups are too small to publish for "
        "England in 2025."
    )


def test_a_regions_adjusted_models_name_its_own_covariates_and_put_england_beside():
    def fits(region: str, odds: list[float], covariates: str, suppressed: list[bool]):
        return pd.DataFrame({
            "survey": "culture", "cycle": 2025, "region": region, "indicator": "harassment",
            "dimension": ["ethnicity", "ethnicity", "disability", "disability"], "level": "binary",
            "group": ["Ethnic minority", "Ethnic minority", "Disabled", "Disabled"],
            "model": ["adjusted", "unadjusted"] * 2, "odds_ratio": odds,
            "ci_low": [o / 2 for o in odds], "ci_high": [o * 2 for o in odds], "p_value": 0.2,
            "covariates": [covariates, ""] * 2, "suppressed": suppressed,
        })  # fmt: skip

    models = pd.concat([
        fits("England", [1.5, 1.6, 1.23, 1.3], "sector, career_stage, region", [False] * 2 + [True] * 2),
        fits("LON", [2.75, 2.5, 1.75, 1.8], "sector, career_stage", [False] * 4),
    ])  # fmt: skip
    report = sections.Report(
        bundle=Bundle(tables={"models": models}, manifest={
            "cycles": [2025], "plan": {"models": {"covariates": ["sector", "career_stage", "region"]}},
        }), region="LON", place="London", labels={"harassment": "Harassment"}, cycles=(2025,),
        threshold=10, band=(0.8, 1.25), indicators={"harassment": {}},
    )  # fmt: skip
    page = sections.adjusted_models(report)
    assert page.startswith("Adjusted for sector, career stage, the difference remains")
    assert "England: adjusted odds ratio (95% CI)" in page
    assert "2.75" in page and "1.50" in page  # London's and England's adjusted odds ratios
    assert (
        "1.23" not in page and "0.61" not in page
    )  # England's suppressed cell is not printed beside London's


def test_heat_map_tile_labels_keep_apart_with_many_columns():
    """The ethnicity x sector map: 16 groups (labels of up to 40 characters a line) by 16
    numbered indicator columns. Drawn and laid out for real; between neighbouring tile labels
    there must be at least a third of a label's width (at 10 pt they ran together: 2.6 pt)."""
    groups = [f"Ethnic minority × Integrated care board or commissioning {i}" for i in range(16)]
    rows = pd.DataFrame([{"group": g, "indicator_number": str(k), "rel_likelihood": 1.0 + k / 10}
                         for g in groups for k in range(1, 17)])  # fmt: skip
    figure = charts.heat_map(rows, title="t", x="indicator_number", y="group").draw()
    canvas = FigureCanvasAgg(figure)
    figure.savefig(io.BytesIO(), format="png")  # lays the figure out as the report saves it
    renderer = canvas.get_renderer()
    labels = [t for ax in figure.axes for t in ax.texts if t.get_text().count(".") == 1]
    assert len(labels) == 16 * 16
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: (b.y0, b.x0))
    gaps = [right.x0 - left.x1 for left, right in itertools.pairwise(boxes)
            if abs(left.y0 - right.y0) < 1]  # fmt: skip
    widths = [box.x1 - box.x0 for box in boxes]
    assert len(gaps) == 16 * 15
    assert min(gaps) >= max(widths) / 3
