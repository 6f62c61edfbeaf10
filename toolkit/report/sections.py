"""Shared set-up and sections for the report templates (national, regional, trends, methods).

Templates receive one parameter, ``report_config``: the path of a JSON file with ``bundle``
(the results bundle folder) and ``region`` ("England" or a region code). Every section here
reads bundle tables only, returns pandoc markdown (printed by an ``output: asis`` cell) and
says plainly "not available in this bundle" when the bundle lacks the table it needs.

Figures: :func:`figure` saves the chart as a PNG beside the template (the render's own working
folder) and returns ``![caption](file){#fig-label fig-alt="..."}``, so the caption and the alt
text come from the data and both engines (builtin and Quarto) number and describe the figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from plotnine import ggplot

from toolkit.bundle import Bundle, read_bundle
from toolkit.report import charts, tables
from toolkit.report import sentences as text

NATIONAL = "England"
FIGURE_DIR = Path("figures")
#: Dimension, level and title of each equality breakdown shown per indicator.
BREAKDOWNS = (
    ("ethnicity", "binary", "Ethnicity (White / ethnic minority)"),
    ("ethnicity", "grouped", "Ethnic group"),
    ("disability", "binary", "Disability"),
    ("sector", "detailed", "Sector"),
    ("career_stage", "detailed", "Career stage"),
)
FOREST_LEVELS = {"ethnicity": "grouped", "disability": "binary", "sector": "detailed",
                 "career_stage": "detailed"}  # fmt: skip
INTERSECTIONS = ("ethnicity × disability", "ethnicity × sector")
TREND_DIMENSIONS = (("ethnicity", "binary"), ("disability", "binary"))


@dataclass(frozen=True)
class Report:
    """What every section needs: the bundle, the place and the cycles.

    Attributes:
        bundle: the results bundle.
        region: "England" or a region code; ``place``: its name for text.
        labels: indicator name -> label (from the plan).
        cycles: the bundle's cycles in order; ``latest`` the last.
        threshold: the suppression threshold; ``band``: the four-fifths convention band.
    """

    bundle: Bundle
    region: str
    place: str
    labels: dict[str, str]
    cycles: tuple[int, ...]
    threshold: int
    band: tuple[float, float]

    @property
    def latest(self) -> int:
        """The latest cycle in the bundle."""
        return self.cycles[-1]

    def table(self, name: str, *, region: str | None = None) -> pd.DataFrame:
        """Bundle table ``name`` restricted to ``region`` (default this report's) when it has
        a ``region`` column; empty when the bundle has no such table."""
        frame = self.bundle.table(name)
        where = region or self.region
        if "region" in frame.columns:
            frame = frame[frame["region"] == where]
        return frame


def load_report(report_config: str) -> Report:
    """Read the config file and the bundle it names; return the :class:`Report`."""
    config = json.loads(Path(report_config).read_text(encoding="utf-8"))
    bundle = read_bundle(Path(config["bundle"]))
    manifest = bundle.manifest
    plan = manifest.get("plan", {})
    region = str(config.get("region") or NATIONAL)
    return Report(
        bundle=bundle,
        region=region,
        place=text.REGION_NAMES.get(region, region),
        labels={ind["name"]: ind.get("label", ind["name"]) for ind in plan.get("indicators", [])},
        cycles=tuple(sorted(int(c) for c in manifest.get("cycles", []))),
        threshold=int(manifest.get("suppression", {}).get("threshold", 10)),
        band=tuple(plan.get("band", charts.BAND)),
    )


def figure(chart: ggplot, *, label: str, caption: str, alt: str) -> str:
    """Save ``chart`` as ``figures/fig-<label>.png`` and return its pandoc figure markdown."""
    slug = "fig-" + re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")
    FIGURE_DIR.mkdir(exist_ok=True)
    path = FIGURE_DIR / f"{slug}.png"
    chart.save(path, dpi=150, verbose=False)
    return (
        f"![{text.md_escape(caption)}]({path.as_posix()})"
        f'{{#{slug} fig-alt="{text.attribute(alt)}"}}'
    )


def _select(frame: pd.DataFrame, **values: object) -> pd.DataFrame:
    """Rows of ``frame`` where each named column equals its value (columns absent: no rows)."""
    if frame.empty or any(column not in frame.columns for column in values):
        return frame.iloc[0:0]
    mask = pd.Series(True, index=frame.index)
    for column, value in values.items():
        mask &= frame[column] == value
    return frame[mask]


def _html(table: object) -> str:
    """A great_tables table as a raw HTML block (pandoc turns it into a Word/typst table)."""
    return "```{=html}\n" + table.as_raw_html() + "\n```"  # type: ignore[attr-defined]


def _blocks(parts: Iterable[str]) -> str:
    return "\n\n".join(part for part in parts if part)


# --- summary and respondents ------------------------------------------------------------------


def summary(report: Report) -> str:
    """Respondents, the largest gaps whose CI excludes 1, and trend verdicts when present."""
    current = _select(report.table("comparisons"), cycle=report.latest)
    return _blocks([
        f"Results for the {report.latest} survey cycle, {text.md_escape(report.place)}.",
        text.respondents_sentence(report.table("response_profile"), cycle=report.latest,
                                  where=report.place),
        "The largest differences between groups whose 95% confidence interval excludes "
        "equality (relative likelihood 1):",
        text.largest_gaps(current[current["level"].isin(["binary", "detailed", "grouped"])]
                          if "level" in current else current, labels=report.labels),
    ])  # fmt: skip


def respondents(report: Report) -> str:
    """Who responded: chart and table of respondents per group; representation if present."""
    profile = _select(report.table("response_profile"), cycle=report.latest)
    if profile.empty:
        return text.not_available("Response profile")
    survey = sorted(profile["survey"].unique())[0] if "survey" in profile else None
    shown = profile[profile["survey"] == survey] if survey else profile
    wanted = pd.Series(
        list(zip(shown["dimension"], shown["level"], strict=True)), index=shown.index
    )
    shown = shown[wanted.isin(list(FOREST_LEVELS.items()))]
    subject = f"the {survey} survey, {report.place}, {report.latest}"
    chart = figure(
        charts.response_profile_plot(shown, title=f"Respondents by group, {report.latest}"),
        label=f"respondents-{report.region}",
        caption=f"Respondents to {subject}, by group. Suppressed groups are not drawn.",
        alt=charts.response_profile_alt_text(shown, subject=subject),
    )
    spec = tables.TableSpec((tables.Column("group", "Group", identifying=True),
                             tables.Column("n", "Respondents", "integer")))  # fmt: skip
    per_dimension = [
        _html(
            tables.bundle_table(rows, spec, title=f"Respondents by {dimension.replace('_', ' ')}")
        )
        for dimension, rows in shown.groupby("dimension", sort=True)
    ]
    return _blocks([chart, *per_dimension, representation(report)])


def representation(report: Report) -> str:
    """Respondents and the workforce against the population benchmark (``representation``).

    Nationally: the ethnic minority share in each region; in a regional report: every group
    of that region. Latest cycle, every source (each survey's respondents, the workforce).
    """
    frame = report.bundle.table("representation")
    if frame.empty:
        return text.not_available("Comparison with the workforce (representation)")
    frame = frame[(frame["cycle"] == frame["cycle"].max()) & (frame["level"] == "binary")]
    if report.region == "England":
        frame = frame[frame["group"] == "Ethnic minority"]
        label = frame["region"].map(lambda code: text.REGION_NAMES.get(code, code))
    else:
        frame = frame[frame["region"] == report.region]
        label = frame["group"].astype(str)
    frame = frame.assign(group=label + " (" + frame["source"].astype(str) + ")")
    spec = tables.TableSpec((
        tables.Column("group", "Region or group (source)", identifying=True),
        tables.Column("n", "People", "integer"),
        tables.Column("sample_share", "Share ethnic minority" if report.region == "England" else "Share", "percent"),
        tables.Column("benchmark_share", "Share in Census 2021", "percent"),
        tables.Column("representation_ratio", "Ratio (95% CI)", "ratio", ci=("ci_low", "ci_high")),
    ))  # fmt: skip
    return _html(
        tables.bundle_table(frame, spec, title="Representation against the Census 2021 population")
    )


# --- indicators -------------------------------------------------------------------------------


def indicators(report: Report) -> str:
    """Per indicator: a forest plot of the breakdowns and a rates table per breakdown."""
    current = _select(report.table("comparisons"), cycle=report.latest)
    if current.empty:
        return text.not_available("Comparisons")
    parts = []
    for name, label in report.labels.items():
        rows = current[current["indicator"] == name]
        if rows.empty:
            continue
        parts.append(f"### {text.md_escape(label)}")
        parts.append(_forest(report, rows, name, label))
        for dimension, level, title in BREAKDOWNS:
            shown = _select(rows, dimension=dimension, level=level)
            if not shown.empty:
                parts.append(
                    _html(tables.rates_table(shown, title=f"{title}: {label}, {report.latest}"))
                )
    return _blocks(parts)


def _forest(report: Report, rows: pd.DataFrame, name: str, label: str) -> str:
    chosen = pd.concat([_select(rows, dimension=d, level=lv) for d, lv in FOREST_LEVELS.items()])
    return figure(
        charts.forest_plot(chosen, band=report.band),
        label=f"forest-{name}-{report.region}",
        caption=f"Relative likelihood by group with 95% confidence intervals: {label}, "
        f"{report.place}, {report.latest}. Shaded: {charts.BAND_LABEL}. Suppressed groups are "
        "not drawn.",
        alt=charts.forest_alt_text(chosen, indicator_label=label),
    )


def intersections(report: Report) -> str:
    """Heat maps of relative likelihood for each intersection x indicator."""
    current = _select(report.table("comparisons"), cycle=report.latest)
    parts = []
    for dimension in INTERSECTIONS:
        rows = current[current["dimension"] == dimension] if "dimension" in current else current
        if rows.empty:
            parts.append(text.not_available(f"Intersection {dimension}"))
            continue
        rows = rows.assign(
            indicator_label=rows["indicator"].map(report.labels).fillna(rows["indicator"])
        )
        subject = f"{dimension}, {report.place}, {report.latest}"
        parts.append(figure(
            charts.heat_map(rows, title=f"Relative likelihood: {dimension}"),
            label=f"heat-{dimension}-{report.region}",
            caption=f"Relative likelihood against the reference group, {subject}. Empty tiles: "
            "suppressed or no comparison.",
            alt=charts.heat_map_alt_text(rows, subject=subject),
        ))  # fmt: skip
        parts.append(text.suppression_summary(rows, threshold=report.threshold))
    return _blocks(parts)


# --- retention --------------------------------------------------------------------------------

RETENTION_TABLES = (
    ("intention_to_leave", "Intention to leave", (
        tables.Column("indicator", "Measure", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("n", "Respondents", "integer"),
        tables.Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
    )),
    ("workforce_rates", "Turnover and stability", (
        tables.Column("measure", "Measure", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("n", "Headcount", "integer"),
        tables.Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
    )),
    ("survival_summary", "Time in post", (
        tables.Column("group", "Group", identifying=True),
        tables.Column("n", "Staff", "integer"),
        tables.Column("events", "Leavers", "integer"),
        tables.Column("median", "Median months (95% CI)", "number",
                      ci=("median_ci_low", "median_ci_high")),
    )),
    ("survival_cox", "Hazard of leaving (Cox model)", (
        tables.Column("level", "Group", identifying=True),
        tables.Column("reference_level", "Reference", identifying=True),
        tables.Column("hazard_ratio", "Hazard ratio (95% CI)", "ratio", ci=("ci_low", "ci_high")),
        tables.Column("p_value", "p", "number"),
    )),
    ("survival_logrank", "Log-rank test", (
        tables.Column("test", "Test", identifying=True),
        tables.Column("statistic", "Statistic", "number"),
        tables.Column("dof", "Degrees of freedom", "number"),
        tables.Column("p_value", "p", "number"),
    )),
    ("trainee_outcomes", "Trainee attrition and registration", (
        tables.Column("measure", "Measure", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("n", "Starters", "integer"),
        tables.Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
        tables.Column("rel_likelihood", "Relative likelihood (95% CI)", "ratio",
                      ci=("rl_ci_low", "rl_ci_high")),
    )),
    ("recruitment", "Recruitment funnel", (
        tables.Column("stage", "Stage", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("n", "Applicants", "integer"),
        tables.Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
        tables.Column("rel_likelihood", "Relative likelihood (95% CI)", "ratio",
                      ci=("rl_ci_low", "rl_ci_high")),
    )),
)  # fmt: skip


def retention(report: Report) -> str:
    """Intention to leave, turnover and stability, survival, trainees and recruitment."""
    parts = [survival_curves(report)]
    for name, title, columns in RETENTION_TABLES:
        frame = report.table(name)
        if "cycle" in frame.columns and not frame.empty:
            frame = frame[frame["cycle"] == frame["cycle"].max()]
        parts.append(f"### {title}")
        parts.append(
            _html(
                tables.bundle_table(
                    frame, tables.TableSpec(columns), title=f"{title}, {report.place}"
                )
            )
            if not frame.empty
            else text.not_available(title)
        )
    return _blocks(parts)


def survival_curves(report: Report) -> str:
    """Kaplan-Meier curves of time in post from ``survival_curves`` (first dimension shown)."""
    curves = report.table("survival_curves")
    if not text.has_columns(curves, "group", "time", "survival"):
        return text.not_available("Time in post (Kaplan-Meier curves)")
    if "dimension" in curves.columns:
        curves = curves[curves["dimension"] == sorted(curves["dimension"].unique())[0]]
    subject = f"time in post, {report.place}"
    return figure(
        charts.km_plot(curves, title="Still in post"),
        label=f"km-{report.region}",
        caption=f"Kaplan-Meier estimate of {subject}, with 95% confidence intervals.",
        alt=charts.km_alt_text(curves, subject=subject),
    )


# --- trends -----------------------------------------------------------------------------------


def trends(report: Report, *, indicators_shown: Iterable[str] | None = None) -> str:
    """Rates by group across all cycles (from comparisons) and the trend verdicts if present."""
    comparisons = report.table("comparisons")
    if len(report.cycles) < 2 or comparisons.empty:
        return "Only one survey cycle is in this bundle, so there is no trend to show."
    parts = []
    for name in indicators_shown or report.labels:
        label = report.labels.get(name, name)
        for dimension, level in TREND_DIMENSIONS:
            rows = _select(comparisons, indicator=name, dimension=dimension, level=level)
            subject = f"{label} by {dimension}, {report.place}"
            parts.append(figure(
                charts.trend_plot(rows, title=label),
                label=f"trend-{name}-{dimension}-{report.region}",
                caption=f"Rate by survey cycle with 95% confidence intervals: {subject}. "
                "Suppressed groups are not drawn.",
                alt=charts.trend_alt_text(rows, subject=subject),
            ))  # fmt: skip
    parts.append("### Is the gap narrowing?")
    parts.append(text.verdict_sentences(report.table("trend_interactions"), labels=report.labels))
    return _blocks(parts)


def changes(report: Report) -> str:
    """What changed since the last cycle (``trend_changes``)."""
    return text.change_sentences(report.table("trend_changes"), labels=report.labels)


def suppression(report: Report) -> str:
    """The suppression policy and the suppressed groups of the latest cycle."""
    current = _select(report.table("comparisons"), cycle=report.latest)
    return text.suppression_summary(current, threshold=report.threshold)


# --- region against England -------------------------------------------------------------------


def region_against_england(report: Report) -> str:
    """Each indicator's rate for all respondents in the region beside England's, latest cycle."""
    rows = []
    for region in (report.region, NATIONAL):
        selected = _select(report.table("comparisons", region=region), cycle=report.latest,
                           dimension="all")  # fmt: skip
        rows.append(selected.assign(group=text.REGION_NAMES.get(region, region)))
    frame = pd.concat(rows)
    if frame.empty:
        return text.not_available("Rates for all respondents")
    frame = frame.assign(indicator=frame["indicator"].map(report.labels).fillna(frame["indicator"]))
    frame = frame.sort_values(["indicator", "region"], kind="stable")
    spec = tables.TableSpec((
        tables.Column("indicator", "Indicator", identifying=True),
        tables.Column("group", "Area", identifying=True),
        tables.Column("n", "Respondents", "integer"),
        tables.Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
    ))  # fmt: skip
    return _html(tables.bundle_table(frame, spec, title=f"{report.place} against England, "
                                     f"{report.latest}"))  # fmt: skip


# --- methods ----------------------------------------------------------------------------------


def _frame_table(frame: pd.DataFrame, *, title: str) -> str:
    """A table of plain text columns (every column identifying: nothing is suppressed here)."""
    spec = tables.TableSpec(tuple(tables.Column(c, c.replace("_", " ").capitalize(),
                                                identifying=True) for c in frame.columns))  # fmt: skip
    return _html(tables.bundle_table(frame, spec, title=title))


def definitions(report: Report) -> str:
    """Each indicator of the plan: label, survey item, answers counted, direction, standards."""
    indicators_ = report.bundle.manifest.get("plan", {}).get("indicators", [])
    if not indicators_:
        return text.not_available("Indicator definitions")
    frame = pd.DataFrame([{
        "indicator": ind.get("label", ind["name"]),
        "survey_item": f"{ind.get('survey', '')}: {ind.get('item', '')}",
        "answers_counted": ", ".join(str(e) for e in ind.get("events", [])),
        "direction": ind.get("direction", ""),
        "standards": ", ".join(ind.get("standards", [])),
    } for ind in indicators_])  # fmt: skip
    return _frame_table(frame, title="Indicators")


def methods_used(report: Report) -> str:
    """The CI, test and multiplicity methods named in the comparisons, and the plan settings."""
    comparisons = report.bundle.table("comparisons")
    plan = report.bundle.manifest.get("plan", {})
    lines = [f"Confidence level: {100 * float(plan.get('level', 0.95)):.0f}%.",
             f"Band: {report.band[0]:.2f} to {report.band[1]:.2f} ({charts.BAND_LABEL}; a "
             "convention, not a WRES rule)."]  # fmt: skip
    multiplicity = plan.get("multiplicity", {})
    if multiplicity:
        lines.append(f"Multiple comparisons: {text.md_escape(multiplicity.get('method'))} within "
                     f"families of {text.md_escape(', '.join(multiplicity.get('family', [])))}.")  # fmt: skip
    for column, title in (("ci_method", "Interval methods"), ("rl_ci_method", "Relative likelihood intervals"),
                          ("diff_ci_method", "Gap intervals"), ("test", "Tests"),
                          ("adjust_method", "Adjustment methods")):  # fmt: skip
        if column in comparisons.columns:
            values = sorted(str(v) for v in comparisons[column].dropna().unique())
            lines.append(f"{title}: {text.md_escape('; '.join(values)) or 'none'}.")
    return text.bullet_list(lines)


def reference_groups(report: Report) -> str:
    """The reference group of each dimension and level."""
    comparisons = report.bundle.table("comparisons")
    if not text.has_columns(comparisons, "dimension", "level", "reference_group"):
        return text.not_available("Reference groups")
    frame = comparisons[["dimension", "level", "reference_group"]].dropna().drop_duplicates()
    return _frame_table(
        frame.sort_values(["dimension", "level"]).astype(str), title="Reference groups"
    )


def weights(report: Report) -> str:
    """The weighting the plan used."""
    spec = report.bundle.manifest.get("plan", {}).get("weights", {})
    method = spec.get("method", "none")
    if method == "none":
        return "Estimates are unweighted: each respondent counts once."
    return (f"Estimates are weighted ({text.md_escape(method)}, margins "
            f"{text.md_escape(spec.get('margins'))}, weights capped at {spec.get('cap')} times "
            "the mean); intervals use Taylor linearisation.")  # fmt: skip


def suppression_policy(report: Report) -> str:
    """The suppression policy from the manifest and the count of suppressed rows per table."""
    policy = report.bundle.manifest.get("suppression", {})
    log = report.bundle.table("suppression_log")
    counts = (log.groupby(["table", "suppression_reason"]).size().reset_index(name="rows")
              if text.has_columns(log, "table", "suppression_reason") else pd.DataFrame())  # fmt: skip
    head = (f"Minimum group size: {report.threshold} respondents; count rounding: "
            f"{text.md_escape(policy.get('rounding', 'none'))}. Secondary suppression protects "
            "every hidden cell from being worked out from totals, other rows or linked tables.")  # fmt: skip
    if counts.empty:
        return head
    return _blocks([head, _frame_table(counts.astype(str), title="Suppressed rows by reason")])


def provenance(report: Report) -> str:
    """Instrument versions, toolkit version, data time and the batches the bundle used."""
    manifest = report.bundle.manifest
    versions = manifest.get("instruments", {})
    lines = [f"Instrument {text.md_escape(name)}: version {text.md_escape(version)}."
             for name, version in sorted(versions.items())]  # fmt: skip
    lines.append(f"Toolkit version {text.md_escape(manifest.get('toolkit_version', 'unknown'))}; "
                 f"data as of {text.md_escape(manifest.get('data_as_of', 'unknown'))}.")  # fmt: skip
    batches = pd.DataFrame(manifest.get("batches", []))
    if batches.empty:
        return text.bullet_list(lines)
    keep = [c for c in ("survey", "cycle", "region", "accepted", "sha256") if c in batches.columns]
    batches = batches[keep].sort_values(keep[:3])
    if "sha256" in batches:
        batches["sha256"] = batches["sha256"].astype(str).str[:12]
    return _blocks(
        [text.bullet_list(lines), _frame_table(batches.astype(str), title="Data batches used")]
    )


def retention_trends(report: Report) -> str:
    """Intention to leave and workforce rates across cycles (lines with CIs), when present."""
    parts = []
    for name, title in (("intention_to_leave", "Intention to leave"),
                        ("workforce_rates", "Turnover and stability")):  # fmt: skip
        frame = report.table(name)
        if not text.has_columns(frame, "cycle", "group", "estimate", "ci_low", "ci_high"):
            parts.append(text.not_available(f"{title} over time"))
            continue
        measure = next((c for c in ("measure", "indicator") if c in frame.columns), None)
        for value, rows in frame.groupby(measure, sort=True) if measure else [(title, frame)]:
            subject = f"{title.lower()}, {value}, {report.place}"
            parts.append(figure(
                charts.trend_plot(rows, title=f"{title}: {value}"),
                label=f"trend-{name}-{value}-{report.region}",
                caption=f"{title} by cycle with 95% confidence intervals: {value}, {report.place}.",
                alt=charts.trend_alt_text(rows, subject=subject),
            ))  # fmt: skip
    return _blocks(parts)


# --- small numbers: regions compared and pooled estimates (issue 15) --------------------------

FUNNEL_KEYS = ("indicator", "cycle", "dimension", "level", "group")


def _funnels(report: Report) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(units, limits) of each latest-cycle funnel of a focal (non-reference) group, in the
    order of the plan's indicators; units labelled with region names."""
    units, limits = report.bundle.table("funnel_units"), report.bundle.table("funnel_limits")
    if not text.has_columns(units, *FUNNEL_KEYS, "region", "is_reference"):
        return []
    units = _select(units, cycle=report.latest, is_reference=False)
    units = units.assign(label=units["region"].map(lambda code: text.REGION_NAMES.get(code, code)))
    order = {name: position for position, name in enumerate(report.labels)}
    dimensions = {name: position for position, (name, _) in enumerate(TREND_DIMENSIONS)}
    found = []
    for key, rows in sorted(
        units.groupby(list(FUNNEL_KEYS), sort=True),
        key=lambda item: (order.get(item[0][0], 99), dimensions.get(item[0][2], 99)),
    ):
        if key[0] in report.labels:
            found.append((rows, _select(limits, **dict(zip(FUNNEL_KEYS, key, strict=True)))))
    return found


def _funnel_subject(report: Report, rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    return (f"{report.labels[first['indicator']]}: {str(first['group']).lower()} respondents "
            f"by region, {report.latest}")  # fmt: skip


def _position_sentence(row: pd.Series, *, group: str) -> str:
    """One region's position, e.g. "North West: 38.5% of ethnic minority respondents (26)
    against 29.6% in England; above the 99.8% limit."."""
    where = charts.flag_words(str(row["flag"]))
    return (
        f"{text.md_escape(row['label'])}: {text.percent(row['estimate'])} of "
        f"{text.md_escape(group.lower())} respondents ({int(row['n']):,}) against "
        f"{text.percent(row['target'])} in England; {where}."
    )


def _hidden_regions(rows: pd.DataFrame) -> str:
    hidden = rows[rows["suppressed"].astype(bool)]
    if hidden.empty:
        return ""
    names = ", ".join(text.md_escape(label) for label in hidden["label"])
    return f"Not placed (too few respondents, suppressed): {names}."


def regions_compared(report: Report) -> str:
    """National: a funnel plot per headline indicator and focal group (ethnic minority;
    disabled), and one sentence per region outside the 95% limits (or one saying none is)."""
    funnels = _funnels(report)
    if not funnels:
        return text.not_available("Funnel plots of regions")
    parts = []
    for units, limits in funnels:
        first = units.iloc[0]
        label, group = report.labels[first["indicator"]], str(first["group"])
        subject = _funnel_subject(report, units)
        parts.append(f"### {text.md_escape(label)}: {text.md_escape(group.lower())} respondents")
        parts.append(figure(
            charts.funnel_plot(units, limits, title=f"{label}: {group.lower()}"),
            label=f"funnel-{first['indicator']}-{first['dimension']}-{report.region}",
            caption=f"Funnel plot, {subject}. Line: England's rate; dashed: 95% limits; solid: "
            "99.8% limits. Suppressed regions are not drawn.",
            alt=charts.funnel_alt_text(units, subject=subject),
        ))  # fmt: skip
        shown = charts.funnel_rows(units)
        outside = shown[shown["flag"] != "inside"]
        sentences = [_position_sentence(row, group=group) for _, row in outside.iterrows()]
        parts.append(" ".join(sentences) if sentences else
                     f"No region is outside the 95% limits for {text.md_escape(group.lower())} "
                     "respondents: the differences between regions are within chance and the "
                     "usual spread between regions.")  # fmt: skip
        parts.append(_hidden_regions(units))
    return _blocks(parts)


def region_in_funnel(report: Report) -> str:
    """Regional: the region's position among regions, one sentence and the funnel plot with its
    point highlighted, per headline indicator and focal group."""
    funnels = _funnels(report)
    if not funnels:
        return text.not_available("Funnel plots of regions")
    parts = []
    for units, limits in funnels:
        first = units.iloc[0]
        label, group = report.labels[first["indicator"]], str(first["group"])
        own = units[units["region"] == report.region]
        parts.append(f"### {text.md_escape(label)}: {text.md_escape(group.lower())} respondents")
        if own.empty or own["suppressed"].astype(bool).any():
            parts.append(f"{text.md_escape(report.place)} has too few {text.md_escape(group.lower())} "
                         "respondents to place on the funnel plot (suppressed).")  # fmt: skip
        else:
            parts.append(_position_sentence(own.iloc[0], group=group))
        subject = _funnel_subject(report, units)
        parts.append(figure(
            charts.funnel_plot(units, limits, title=f"{label}: {group.lower()}",
                               highlight=report.place),
            label=f"funnel-{first['indicator']}-{first['dimension']}-{report.region}",
            caption=f"Funnel plot, {subject}, {report.place} highlighted. Line: England's rate; "
            "dashed: 95% limits; solid: 99.8% limits. Suppressed regions are not drawn.",
            alt=charts.funnel_alt_text(units, subject=subject, highlight=report.place),
        ))  # fmt: skip
    return _blocks(parts)


POOLED_SPEC = tables.TableSpec((
    tables.Column("indicator", "Indicator", identifying=True),
    tables.Column("group", "Group", identifying=True),
    tables.Column("n", "Respondents", "integer"),
    tables.Column("estimate", "Raw rate", "percent"),
    tables.Column("pooled", "Pooled rate (95% interval)", "percent", ci=("ci_low", "ci_high")),
))  # fmt: skip


def pooled_annex(report: Report) -> str:
    """Intersections: each cell's pooled rate beside its raw rate (latest cycle, this report's
    region), one compact table per intersection."""
    pooled = _select(report.table("pooled_estimates"), cycle=report.latest)
    if pooled.empty:
        return text.not_available("Pooled estimates")
    pooled = pooled[pooled["indicator"].isin(list(report.labels))]
    parts = []
    for dimension in INTERSECTIONS:
        rows = pooled[pooled["dimension"] == dimension]
        if rows.empty:
            parts.append(text.not_available(f"Pooled estimates for {dimension}"))
            continue
        order = {name: position for position, name in enumerate(report.labels)}
        rows = rows.assign(rank=rows["indicator"].map(order)).sort_values(["rank", "group"])
        rows = rows.assign(indicator=rows["indicator"].map(report.labels))
        parts.append(_html(tables.bundle_table(
            rows, POOLED_SPEC, title=f"Pooled and raw rates: {dimension}, {report.place}, "
            f"{report.latest}",
        )))  # fmt: skip
    methods = sorted(str(m) for m in pooled["model"].dropna().unique())
    if methods:
        parts.append("Models: " + "; ".join(f"`{m}`" for m in methods) + ".")
    return _blocks(parts)
