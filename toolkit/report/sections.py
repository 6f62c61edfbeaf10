"""Shared set-up and sections for the report templates (national, regional, trends, methods).

Templates receive one parameter, ``report_config``: the path of a JSON file with ``bundle``
(the results bundle folder), ``region`` ("England" or a region code), optionally ``surveys``
(the instrument folder: labels, category order and programme aims) and ``publication`` (date,
contact, next update, methods link, whether the data are synthetic). Every section here reads
bundle tables only, returns pandoc markdown (printed by an ``output: asis`` cell) and says
plainly what the bundle lacks when it lacks a table or a region's rows. A regional report shows
its region's figures, with England's beside them and labelled as England's; never England's
figures as the region's, and never another region's.

Figures: :func:`figure` saves the chart as a PNG beside the template (the render's own working
folder) and returns ``![caption](file){#fig-label fig-alt="..."}``, so the caption and the alt
text come from the data and both engines (builtin and Quarto) number and describe the figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from plotnine import ggplot

from toolkit.bundle import Bundle, read_bundle
from toolkit.instruments.model import Instrument, instrument_path, load_instrument
from toolkit.report import charts, figures, tables
from toolkit.report import sentences as text
from toolkit.report.excel import TABLE_TITLES, workbook_contents
from toolkit.resources import surveys_dir

NATIONAL = "England"
FIGURE_DIR = Path("figures")
#: Reader-facing names of the equality dimensions.
DIMENSION_TITLES = {"ethnicity": "Ethnic group", "disability": "Disability", "sector": "Sector",
                    "career_stage": "Career stage", "region": "Region", "all": "Everyone"}  # fmt: skip
#: The breakdowns drawn per indicator (in this order): dimension, level.
FOREST_LEVELS = (("ethnicity", "binary"), ("ethnicity", "grouped"), ("disability", "binary"),
                 ("sector", "detailed"), ("career_stage", "detailed"))  # fmt: skip
#: The headline comparisons (WRES and WDES): dimension, level, and how the groups are named.
HEADLINES = (("ethnicity", "binary", "ethnic minority", "White"),
             ("disability", "binary", "disabled", "not disabled"))  # fmt: skip
#: The workbook sheets (bundle tables) the annex points to, in the order it lists them.
ANNEX_SHEETS = ("comparisons", "pooled_estimates", "models", "intention_to_leave",
                "workforce_rates", "survival_summary", "trainee_outcomes", "recruitment",
                "trend_gaps", "trend_interactions", "trend_changes")  # fmt: skip
INTERSECTIONS = ("ethnicity × disability", "ethnicity × sector")
#: The longest pooled-estimates table the report prints; a longer one is in the workbook only.
POOLED_MAX_ROWS = 40
#: The programme's three aims, in order, and the survey instruments read for labels.
AIMS = {"train": "Train", "retain": "Retain", "reform": "Reform"}
INSTRUMENTS = ("culture", "retention")
#: The rule for a wider finding: enough people, a clear difference after the multiplicity
#: adjustment, and a whole 95% interval outside the four-fifths band.
WIDER_MIN_N = 100
WIDER_ALPHA = 0.05
WIDER_TOP = 6
SIGNIFICANCE = 0.05
#: ``ptw.toml`` [publication] defaults (``ptw init`` writes the same).
PUBLICATION_DEFAULTS = {"publisher": "NHS England", "contact": "your regional pharmacy "
                        "workforce equality lead", "published": "", "next_update": "",
                        "methods": "methods.html", "synthetic": False}  # fmt: skip


@dataclass(frozen=True)
class Report:
    """What every section needs: the bundle, the place and the cycles.

    Attributes:
        bundle: the results bundle.
        region: "England" or a region code; ``place``: its name for text.
        labels: indicator name -> label (from the plan).
        indicators: indicator name -> its plan entry with ``aim`` (train, retain or reform,
            from the instrument item's programme) added.
        cycles: the bundle's cycles in order; ``latest`` the last.
        threshold: the suppression threshold; ``band``: the four-fifths convention band.
        order: (dimension, level) -> groups in the instrument's order; ``references`` the
            reference group of each (from the instrument).
        scale_labels: scale name -> its label in the instrument; ``item_labels`` the same for
            questions.
        publication: [publication] settings (date, contact, next update, methods, synthetic).
    """

    bundle: Bundle
    region: str
    place: str
    labels: dict[str, str]
    cycles: tuple[int, ...]
    threshold: int
    band: tuple[float, float]
    indicators: dict[str, dict[str, object]] = field(default_factory=dict)
    order: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    references: dict[tuple[str, str], str] = field(default_factory=dict)
    scale_labels: dict[str, str] = field(default_factory=dict)
    item_labels: dict[str, str] = field(default_factory=dict)
    publication: dict[str, object] = field(default_factory=dict)
    _tables: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict, init=False,
                                                         repr=False, compare=False)  # fmt: skip

    @property
    def latest(self) -> int:
        """The latest cycle in the bundle."""
        return self.cycles[-1]

    @property
    def previous(self) -> int | None:
        """The cycle before the latest, if any."""
        return self.cycles[-2] if len(self.cycles) > 1 else None

    @property
    def regional(self) -> bool:
        """True for a region's report."""
        return self.region != NATIONAL

    def table(self, name: str, *, region: str | None = None) -> pd.DataFrame:
        """Bundle table ``name`` restricted to ``region`` (default this report's) when it has
        a ``region`` column; empty when the bundle has no such table.

        Each (table, region) is cut once per report: the sections ask for the same rows
        hundreds of times (one indicator, group or cycle at a time). The bundle does not change
        while a report renders, and pandas' copy-on-write keeps the shared frame unchanged
        whatever a caller does with it."""
        where = region or self.region
        key = (name, where)
        if key not in self._tables:
            frame = self.bundle.table(name)
            if "region" in frame.columns:
                frame = frame[frame["region"] == where]
            self._tables[key] = frame
        return self._tables[key]

    def has_region_rows(self, name: str) -> bool:
        """True when table ``name`` has rows for this report's region (always, nationally,
        for a table without a ``region`` column)."""
        frame = self.bundle.table(name)
        if frame.empty:
            return False
        if "region" not in frame.columns:
            return not self.regional
        return bool((frame["region"] == self.region).any())


def load_report(report_config: str) -> Report:
    """Read the config file and the bundle it names; return the :class:`Report`."""
    config = json.loads(Path(report_config).read_text(encoding="utf-8"))
    bundle = read_bundle(Path(config["bundle"]))
    figures.configure(cache=config.get("figure_cache"), workers=config.get("figure_workers"))
    manifest = bundle.manifest
    plan = manifest.get("plan", {})
    region = str(config.get("region") or NATIONAL)
    instruments = _instruments(Path(config.get("surveys") or surveys_dir()))
    indicators = {ind["name"]: {**ind, "aim": _aim(ind, instruments)}
                  for ind in plan.get("indicators", [])}  # fmt: skip
    return Report(
        bundle=bundle,
        region=region,
        place=text.REGION_NAMES.get(region, region),
        labels={name: str(ind.get("label", name)) for name, ind in indicators.items()},
        cycles=tuple(sorted(int(c) for c in manifest.get("cycles", []))),
        threshold=int(manifest.get("suppression", {}).get("threshold", 10)),
        band=tuple(plan.get("band", charts.BAND)),
        indicators=indicators,
        order=_category_order(instruments, bundle),
        references={
            (d.name, level): group
            for inst in instruments.values()
            for d in inst.dimensions
            for level, group in d.reference.items()
        },
        scale_labels={
            scale.name: scale.label for inst in instruments.values() for scale in inst.scales
        },
        item_labels={item.name: item.label for inst in instruments.values() for item in inst.items},
        publication={**PUBLICATION_DEFAULTS, **(config.get("publication") or {})},
    )


def _instruments(folder: Path) -> dict[str, Instrument]:
    found = {}
    for name in INSTRUMENTS:
        if (folder / f"{name}.yaml").exists():
            found[name] = load_instrument(instrument_path(folder, name))
    return found


def _aim(indicator: Mapping[str, object], instruments: Mapping[str, Instrument]) -> str:
    """The programme aim of an indicator: its own ``aim``, else its item's first programme
    aim in the instrument, else retain (experience at work)."""
    if indicator.get("aim") in AIMS:
        return str(indicator["aim"])
    instrument = instruments.get(str(indicator.get("survey")))
    item = instrument.item_map.get(str(indicator.get("item"))) if instrument else None
    aims = [aim for aim in getattr(item, "programme", ()) if aim in AIMS]
    return aims[0] if aims else "retain"


def _category_order(
    instruments: Mapping[str, Instrument], bundle: Bundle
) -> dict[tuple[str, str], list[str]]:
    """(dimension, level) -> groups in questionnaire order, from the instruments, then the
    bundle's ``group_order`` (intersections: each of the first dimension's groups crossed
    with the second's in instrument order), then its group hierarchy."""
    order: dict[tuple[str, str], list[str]] = {}
    for instrument in instruments.values():
        for dimension in instrument.dimensions:
            for level in dimension.levels:
                key = (dimension.name, level)
                if key in order:
                    continue
                if dimension.derived:
                    order[key] = list(dimension.categories.get(level, ()))
                elif dimension.item:
                    labels = [c.label if level == "detailed" else c.groups.get(level, c.label)
                              for c in instrument.choices(dimension.item) if not c.missing]  # fmt: skip
                    order[key] = list(dict.fromkeys(labels))
    listed = bundle.table("group_order")
    if text.has_columns(listed, "dimension", "level", "group", "group_order"):
        listed = listed.sort_values("group_order", kind="stable")
        for (dimension, level), rows in listed.groupby(["dimension", "level"], sort=False):
            order.setdefault((dimension, level), list(dict.fromkeys(rows["group"])))
    hierarchy = bundle.table("group_hierarchy")
    if text.has_columns(hierarchy, "dimension", "level", "group"):
        for (dimension, level), rows in hierarchy.groupby(["dimension", "level"], sort=False):
            order.setdefault((dimension, level), list(dict.fromkeys(rows["group"])))
    order[("region", "detailed")] = [n for c, n in text.REGION_NAMES.items() if c != NATIONAL]
    return order


def ordered(report: Report, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in reading order: everyone first, dimensions as :data:`FOREST_LEVELS` lists them, then the
    reference group first, then the instrument's order (a ``group_order`` column, when the
    bundle has one, wins); groups the instrument does not list go last, alphabetically."""
    if frame.empty or "group" not in frame.columns:
        return frame
    dims = [d for d, _ in FOREST_LEVELS]
    dimension = frame["dimension"] if "dimension" in frame.columns else pd.Series("", frame.index)
    level = frame["level"] if "level" in frame.columns else pd.Series("", frame.index)
    named = pd.Series([report.references.get((d, lv)) == g for d, lv, g in
                       zip(dimension, level, frame["group"], strict=True)], index=frame.index)  # fmt: skip
    reference = (frame["is_reference"].astype("boolean").fillna(False).astype(bool)
                 if "is_reference" in frame.columns else named)  # fmt: skip
    if "group_order" in frame.columns:
        rank = pd.to_numeric(frame["group_order"], errors="coerce").fillna(1e6)
    else:
        rank = pd.Series([
            (report.order.get((d, lv), []).index(g) if g in report.order.get((d, lv), []) else 1e6)
            for d, lv, g in zip(dimension, level, frame["group"], strict=True)
        ], index=frame.index)  # fmt: skip
    keys = pd.DataFrame({
        "dim": [-1 if d == "all" else dims.index(d) if d in dims else len(dims) for d in dimension],
        "level": level.astype(str), "ref": (~reference).astype(int), "rank": rank,
        "name": frame["group"].astype(str),
    }, index=frame.index)  # fmt: skip
    order = keys.sort_values(["dim", "level", "ref", "rank", "name"], kind="stable").index
    return frame.loc[order]


def figure(chart: ggplot, *, label: str, caption: str, alt: str) -> str:
    """Save ``chart`` as ``figures/fig-<label>.png`` and return its pandoc figure markdown."""
    slug = "fig-" + re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")
    FIGURE_DIR.mkdir(exist_ok=True)
    path = FIGURE_DIR / f"{slug}.png"
    figures.save(chart, path, dpi=150)
    return (
        f"![{text.md_escape(caption)}]({path.as_posix()})"
        f'{{#{slug} width="100%" fig-alt="{text.attribute(alt)}"}}'
    )


def region_rank(code: object) -> int:
    """A region's place in the configured order (``toolkit.config.REGION_NAMES``), England
    first; an unknown code last."""
    order = list(text.REGION_NAMES)
    return order.index(code) if code in order else len(order)


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


def _published(frame: pd.DataFrame) -> pd.DataFrame:
    if "suppressed" not in frame.columns:
        return frame
    return frame[~frame["suppressed"].astype("boolean").fillna(False).astype(bool)]


def _first(frame: pd.DataFrame) -> Mapping[str, object] | None:
    return frame.iloc[0].to_dict() if not frame.empty else None


def plain_group(name: object) -> str:
    """A group name inside a sentence: "Ethnic minority" -> "ethnic minority", while names
    that are proper nouns or ethnic groups keep their capital ("White", "Asian ...")."""
    words = str(name)
    keep = ("White", "Asian", "Black", "Mixed", "Other ethnic", "Arab", "Indian", "Irish")
    return words if words.startswith(keep) else words[:1].lower() + words[1:]


def _upper_first(words: str) -> str:
    """``words`` with its first letter a capital and the rest untouched (not ``capitalize``,
    which lowers "White" and "CI")."""
    return words[:1].upper() + words[1:]


def _first_only(labels: pd.Series) -> list[str]:
    """``labels`` with each run of repeats blanked after its first row (grouped tables)."""
    shown, previous = [], None
    for label in labels.astype(str):
        shown.append(label if label != previous else "")
        previous = label
    return shown


def _lacks(report: Report, what: str) -> str:
    """The sentence for a table the bundle holds for England but not for this region."""
    return (f"*{text.md_escape(what)}: this results bundle has no figures for "
            f"{text.md_escape(report.place)}; England's are in the national report.*")  # fmt: skip


def _region_rows(report: Report, name: str, what: str) -> tuple[pd.DataFrame, str]:
    """Table ``name`` for this report's region, or empty with the sentence saying why."""
    if report.bundle.table(name).empty:
        return report.bundle.table(name), text.not_available(what)
    if not report.has_region_rows(name):
        return report.bundle.table(name).iloc[0:0], _lacks(report, what)
    return report.table(name), ""


# --- front matter: publication details --------------------------------------------------------


def publication(report: Report) -> str:
    """Publication date, next update, contact, the methods link and, for synthetic data, a
    warning that the figures describe no real people."""
    settings = report.publication
    published = _date(settings.get("published")) or date.today()
    next_update = str(settings.get("next_update") or "") or (
        f"{published.replace(year=published.year + 1):%B %Y} (expected)"
    )
    lines = [
        f"**Published:** {published:%-d %B %Y} by {text.md_escape(settings['publisher'])}.",
        f"**Next update:** {text.md_escape(next_update)}.",
        f"**Contact:** {text.md_escape(settings['contact'])}.",
        f"**Data:** {', '.join(str(c) for c in report.cycles)} survey cycles; latest "
        f"{report.latest}. **Methods:** definitions, statistical methods and suppression are "
        f"in the [methods report]({settings['methods']}).",
    ]
    parts = ["\n\n".join(lines)]
    if settings.get("synthetic"):
        parts.insert(0, "::: {.callout-warning}\n## Synthetic demonstration data\n\nEvery "
                     "figure in this report comes from synthetic data generated by `ptw demo`. "
                     "It describes no real people and is not an official statistic.\n:::")  # fmt: skip
    return _blocks(parts)


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# --- key findings -----------------------------------------------------------------------------


def _headline_rows(report: Report, indicator: str, *, cycle: int, region: str) -> list[dict]:
    """The published non-reference headline rows (ethnic minority, disabled) of an indicator."""
    current = _select(report.table("comparisons", region=region), cycle=cycle, indicator=indicator)
    rows = []
    for dimension, level, _, _ in HEADLINES:
        chosen = _select(current, dimension=dimension, level=level)
        if "is_reference" in chosen.columns:
            chosen = chosen[~chosen["is_reference"].astype("boolean").fillna(False).astype(bool)]
        rows.extend(chosen.to_dict(orient="records"))
    return rows


def _reference_rate(report: Report, row: Mapping[str, object], *, region: str) -> object:
    reference = _select(report.table("comparisons", region=region), cycle=row["cycle"],
                        indicator=row["indicator"], dimension=row["dimension"],
                        level=row["level"], group=row["reference_group"])  # fmt: skip
    first = _first(reference)
    return None if first is None or text.is_suppressed(first) else first.get("estimate")


def _previous_rl(report: Report, row: Mapping[str, object], *, region: str) -> object:
    if report.previous is None:
        return None
    earlier = _select(report.table("comparisons", region=region), cycle=report.previous,
                      indicator=row["indicator"], dimension=row["dimension"],
                      level=row["level"], group=row["group"])  # fmt: skip
    first = _first(earlier)
    return None if first is None or text.is_suppressed(first) else first.get("rel_likelihood")


def _change_words(report: Report, row: Mapping[str, object]) -> str:
    """Since the last cycle, in words: the relative likelihood then, and whether the bundle's
    test of the change in the gap (``trend_changes``, measure "gap") found a clear change after
    the multiplicity adjustment (``p_adjusted`` below 0.05)."""
    before = _previous_rl(report, row, region=report.region)
    if before is None or pd.isna(before):
        return ""
    words = f"{text.ratio(before)} in {report.previous}"  # type: ignore[arg-type]
    change = _first(_select(report.table("trend_changes"), indicator=row["indicator"],
                            dimension=row["dimension"], level=row["level"], group=row["group"],
                            cycle=report.latest, measure="gap"))  # fmt: skip
    if change is None or text.is_suppressed(change) or pd.isna(change.get("p_adjusted")):
        return words
    if float(change["p_adjusted"]) < SIGNIFICANCE:  # type: ignore[arg-type]
        return f"{words}: a clear change, adjusted p {text._p_clause(change['p_adjusted'])}"
    return f"{words}: no clear change"


def headline_sentence(report: Report, row: Mapping[str, object]) -> str:
    """One headline comparison in plain words, e.g. "ethnic minority staff 34.1% against White
    staff 26.7%: 1.28 times as likely (95% CI 1.14 to 1.43; 1.46 in 2024: a clear change)"."""
    names = {(d, lv): (group, reference) for d, lv, group, reference in HEADLINES}
    group, reference = names.get((row["dimension"], row["level"]),
                                 (str(row["group"]), str(row["reference_group"])))  # fmt: skip
    if text.is_suppressed(row):
        return f"{group}: {text.suppressed_text(row)}"
    reference_rate = _reference_rate(report, row, region=report.region)
    said = f"{group} {text.percent(row['estimate'])}"  # type: ignore[arg-type]
    if reference_rate is not None and not pd.isna(reference_rate):
        said += f" against {reference} {text.percent(reference_rate)}"  # type: ignore[arg-type]
    rl = row.get("rel_likelihood")
    if rl is None or pd.isna(rl):
        return said
    details = [f"95% CI {text.ratio(row['rl_ci_low'])} to {text.ratio(row['rl_ci_high'])}"]  # type: ignore[arg-type]
    if report.regional:
        england = _first(_select(report.table("comparisons", region=NATIONAL), cycle=row["cycle"],
                                 indicator=row["indicator"], dimension=row["dimension"],
                                 level=row["level"], group=row["group"]))  # fmt: skip
        if england is not None and not text.is_suppressed(england):
            details.append(f"England {text.ratio(england['rel_likelihood'])}")  # type: ignore[arg-type]
    change = _change_words(report, row)
    if change:
        details.append(change)
    return f"{said}: {text.times_text(float(rl))} ({'; '.join(details)})"  # type: ignore[arg-type]


def _indicator_line(report: Report, name: str) -> str:
    rows = _headline_rows(report, name, cycle=report.latest, region=report.region)
    if not rows:
        return ""
    label = text.md_escape(report.labels.get(name, name))
    return f"**{label}**: " + "; ".join(headline_sentence(report, row) for row in rows) + "."


def key_findings(report: Report, *, aim: str) -> str:
    """The key findings for one programme aim (train, retain or reform), as bullets.

    One line per headline indicator of that aim (ethnic minority against White and disabled
    against not disabled, with the change since the last cycle); Train adds trainee attrition,
    registration and appointment from shortlisting; Retain adds leaving and time in post.
    """
    lines = [_indicator_line(report, name) for name, ind in report.indicators.items()
             if ind["aim"] == aim]  # fmt: skip
    if aim == "train":
        lines += _train_lines(report)
    if aim == "retain":
        lines += _leaving_lines(report)
    lines = [line for line in lines if line]
    if not lines:
        return (f"*This results bundle holds no {AIMS[aim]} indicators for "
                f"{text.md_escape(report.place)}.*")  # fmt: skip
    return text.bullet_list(lines)


def _train_lines(report: Report) -> list[str]:
    trainees, missing = _region_rows(report, "trainee_outcomes", "Trainee attrition")
    if missing:
        return [missing]
    latest = trainees[trainees["cohort"] == trainees["cohort"].max()] if "cohort" in trainees \
        else trainees  # fmt: skip
    lines = []
    for dimension, level, group, reference in HEADLINES:
        rows = _select(latest, dimension=dimension, level=level)
        row = _first(rows[rows["group"] != rows["reference_group"]]) if not rows.empty else None
        ref = _first(rows[rows["group"] == rows["reference_group"]]) if not rows.empty else None
        if row is None or ref is None:
            continue
        if text.is_suppressed(row) or text.is_suppressed(ref):
            hidden = row if text.is_suppressed(row) else ref
            lines.append(f"**Trainee attrition ({int(row['cohort'])} cohort)**: {group} against "
                         f"{reference} trainees {text.suppressed_text(hidden)}.")  # fmt: skip
            continue
        lines.append(
            f"**Trainee attrition ({int(row['cohort'])} cohort)**: {text.percent(row['attrition'])} "
            f"of {group} trainees withdrew against {text.percent(ref['attrition'])} of {reference} "
            f"trainees ({text.times_text(row['attrition_rl'])}, 95% CI "
            f"{text.ratio(row['attrition_rl_ci_low'])} to {text.ratio(row['attrition_rl_ci_high'])}); "
            f"{text.percent(row['conversion'])} against {text.percent(ref['conversion'])} "
            "registered within 6 months of the planned end."
        )  # fmt: skip
    recruitment, missing = _region_rows(report, "recruitment", "Recruitment")
    if missing:
        return [*lines, missing]
    latest = recruitment[recruitment["year"] == recruitment["year"].max()]
    for row in _published(latest).to_dict(orient="records"):
        if pd.isna(row.get("rel_likelihood")):
            continue
        lines.append(
            f"**Appointment from shortlisting ({text.md_escape(row['standard'])}, "
            f"{int(row['year'])})**: {text.md_escape(plain_group(row['group']))} applicants were "
            f"{text.times_text(row['rel_likelihood'])} to be appointed as "
            f"{text.md_escape(plain_group(row['reference_group']))} applicants ("
            f"{text.percent(row['rate'])} against {text.percent(_reference_value(latest, row))}; "
            f"95% CI {text.ratio(row['rl_ci_low'])} to {text.ratio(row['rl_ci_high'])})."
        )  # fmt: skip
    return lines


def _reference_value(
    frame: pd.DataFrame, row: Mapping[str, object], column: str = "rate"
) -> object:
    match = _first(frame[(frame["group"] == row["reference_group"])
                         & (frame["dimension"] == row["dimension"])])  # fmt: skip
    return None if match is None else match.get(column)


def _leaving_lines(report: Report) -> list[str]:
    lines = []
    own = _published(_workforce_latest(report, report.region))
    england = _published(_workforce_latest(report, NATIONAL)) if report.regional else own
    if text.has_columns(own, "group", "leaver_rate", "stability_index"):
        parts = []
        for dimension, level, group, reference in HEADLINES:
            rows = _select(own, dimension=dimension, level=level)
            mine = _first(rows[rows["group"].str.lower() == group.lower()])
            theirs = _first(rows[rows["group"].str.lower() == reference.lower()])
            if mine and theirs:
                parts.append(f"{text.percent(mine['leaver_rate'])} of {group} staff left "
                             f"against {text.percent(theirs['leaver_rate'])} of {reference} staff")  # fmt: skip
        everyone = _first(_select(own, dimension="all"))
        whole = _first(_select(england, dimension="all"))
        if everyone and whole and report.regional:
            parts.append(f"{text.percent(everyone['leaver_rate'])} of all staff left (England "
                         f"{text.percent(whole['leaver_rate'])}); stability index "
                         f"{text.percent(everyone['stability_index'])} (England "
                         f"{text.percent(whole['stability_index'])})")  # fmt: skip
        if parts:
            lines.append(f"**Leaving ({int(own['year'].max())})**: " + "; ".join(parts) + ".")
    cox, missing = _region_rows(report, "survival_cox", "Hazard of leaving")
    if missing:
        return [*lines, missing] if not report.bundle.table("survival_cox").empty else lines
    for row in _published(cox).to_dict(orient="records"):
        if row.get("is_reference") or pd.isna(row.get("hazard_ratio")):
            continue
        clear = (
            "a clear difference" if float(row["p_value"]) < SIGNIFICANCE else "no clear difference"
        )
        lines.append(
            f"**Time in post**: {text.md_escape(plain_group(row['group']))} staff left at "
            f"{text.ratio(row['hazard_ratio'])} times the rate of "
            f"{text.md_escape(plain_group(row['reference_group']))} staff (hazard ratio, 95% CI "
            f"{text.ratio(row['ci_low'])} to {text.ratio(row['ci_high'])}; p "
            f"{text._p_clause(row['p_value'])}: {clear})."
        )  # fmt: skip
    return lines


def wider_findings(report: Report) -> str:
    """Robust findings beyond the headline comparisons, chosen by the stated rule.

    Rule: groups of at least :data:`WIDER_MIN_N` people, adjusted p below :data:`WIDER_ALPHA`,
    and the whole 95% interval outside the four-fifths band (``outside_band``); the
    :data:`WIDER_TOP` furthest from equality, latest cycle, this report's region.
    """
    current = _published(_select(report.table("comparisons"), cycle=report.latest))
    headline = {(d, lv) for d, lv, _, _ in HEADLINES}
    if current.empty:
        return text.not_available("Comparisons")
    keep = current[[(d, lv) not in headline and d != "all"
                    for d, lv in zip(current["dimension"], current["level"], strict=True)]]  # fmt: skip
    keep = keep[(keep["n"] >= WIDER_MIN_N) & (keep["p_adjusted"] < WIDER_ALPHA)
                & keep["outside_band"].astype("boolean").fillna(False).astype(bool)]  # fmt: skip
    if keep.empty:
        return "No other group meets the rule in this cycle."
    keep = keep.assign(distance=np.log(keep["rel_likelihood"].astype(float)).abs())
    keep = keep.sort_values(["distance", "indicator", "group"], ascending=[False, True, True])
    lines = [
        f"**{text.md_escape(report.labels.get(row['indicator'], row['indicator']))}** "
        f"({DIMENSION_TITLES.get(row['dimension'], text.md_escape(row['dimension'])).lower()}): "
        + text.comparison_sentence(row, band=report.band)
        for row in keep.head(WIDER_TOP).to_dict(orient="records")
    ]
    more = len(keep) - WIDER_TOP
    tail = (f"\n\n{more} more comparison(s) meet the rule; the Excel workbook holds every "
            "group (see the annex).") if more > 0 else ""  # fmt: skip
    return text.bullet_list(lines) + tail


# --- context and data -------------------------------------------------------------------------


def context(report: Report) -> str:
    """Who responded (each person once), the response rate against the workforce records,
    respondents by group (chart and one table) and representation against the population."""
    profile = _select(report.table("response_profile"), cycle=report.latest)
    if profile.empty:
        return text.not_available("Response profile")
    counts = respondent_counts(report)
    parts = [text.respondents_sentence(counts, cycle=report.latest, where=report.place),
             _response_rate(report)]  # fmt: skip
    survey = next(iter(counts), None)
    shown = profile[profile["survey"] == survey] if survey and "survey" in profile else profile
    wanted = [(d, lv) in FOREST_LEVELS and (d, lv) != ("ethnicity", "binary")
              for d, lv in zip(shown["dimension"], shown["level"], strict=True)]  # fmt: skip
    shown = ordered(report, shown[wanted])
    shown = shown.assign(dimension_label=shown["dimension"].map(DIMENSION_TITLES))
    subject = f"the {survey} survey, {report.place}, {report.latest}"
    shown = shown.assign(dimension_label=_first_only(shown["dimension_label"]))
    spec = tables.TableSpec((tables.Column("dimension_label", "Breakdown", identifying=True),
                             tables.Column("group", "Group", identifying=True),
                             tables.Column("n", "Respondents", "integer")),
                            note_column="table_note")  # fmt: skip
    parts.append(_html(tables.bundle_table(shown, spec, title=f"Respondents by group, {subject}")))
    parts.append(representation(report))
    return _blocks(parts)


def respondents(report: Report) -> str:
    """One sentence: how many people answered each survey in the latest cycle (each once)."""
    return text.respondents_sentence(respondent_counts(report), cycle=report.latest,
                                     where=report.place)  # fmt: skip


def respondent_counts(report: Report) -> dict[str, int]:
    """People who answered each survey in the latest cycle in this report's area, each once.

    From the response profile's "All respondents" row when the bundle has one; else the
    manifest's batches (responses accepted per survey, cycle and region, also published in the
    methods report); else the largest published breakdown total (a lower bound).
    """
    profile = report.table("response_profile")
    if not _select(profile, dimension="all").empty:
        return text.respondent_counts(profile, cycle=report.latest)
    batches = [b for b in report.bundle.manifest.get("batches", [])
               if b.get("kind", "survey") == "survey" and b.get("survey")
               and int(b.get("cycle", 0)) == report.latest
               and (not report.regional or b.get("region") == report.region)]  # fmt: skip
    if batches:
        counts: dict[str, int] = {}
        for batch in sorted(batches, key=lambda b: str(b["survey"])):
            counts[str(batch["survey"])] = counts.get(str(batch["survey"]), 0) + int(
                batch["accepted"]
            )
        return counts
    return text.respondent_counts(profile, cycle=report.latest)


def _response_rate(report: Report) -> str:
    """Respondents against the staff in post, from the bundle's ``response_rates`` (this
    report's area, latest cycle; headcount from the workforce records at the survey date)."""
    rates = _published(_select(report.table("response_rates"), cycle=report.latest))
    if not text.has_columns(rates, "survey", "respondents", "headcount", "response_rate"):
        return "*Response rate: the bundle has no workforce headcount to compare with.*"
    rows = [r for r in rates.sort_values("survey").to_dict(orient="records")
            if not pd.isna(r["headcount"]) and not pd.isna(r["response_rate"])]  # fmt: skip
    if not rows:
        return "*Response rate: the bundle has no workforce headcount for this area.*"
    said = "; ".join(f"{r['survey']} survey {int(r['respondents']):,} "
                     f"({text.percent(r['response_rate'])})" for r in rows)  # fmt: skip
    dates = sorted({str(r["headcount_date"]) for r in rows if r.get("headcount_date")})
    when = f"on {_date_words(dates[0])}" if len(dates) == 1 else "at each survey"
    return (f"The workforce records hold {int(rows[0]['headcount']):,} pharmacy technicians in "
            f"post in {text.md_escape(report.place)} {when}; responses as a share of that "
            f"headcount (response rate): {said}.")  # fmt: skip


def _date_words(value: str) -> str:
    """An ISO date as "1 April 2025" (the value itself when it is not a date)."""
    day = _date(value)
    return f"{day:%-d %B %Y}" if day else text.md_escape(value)


def representation(report: Report) -> str:
    """Respondents and the workforce against the population benchmark (``representation``).

    Nationally: the ethnic minority share in each region; in a regional report: every group
    of that region. Latest cycle, every source (each survey's respondents, the workforce).
    """
    frame = report.bundle.table("representation")
    if frame.empty:
        return text.not_available("Comparison with the workforce (representation)")
    frame = frame[(frame["cycle"] == frame["cycle"].max()) & (frame["level"] == "binary")]
    sources = {name: rank for rank, name in enumerate(sorted(frame["source"].astype(str).unique()))}
    frame = frame.assign(source_rank=frame["source"].astype(str).map(sources))
    if not report.regional:
        frame = frame[frame["group"] == "Ethnic minority"]
        frame = frame.assign(region_rank=frame["region"].map(region_rank))
        frame = frame.sort_values(["region_rank", "source_rank"], kind="stable")
        frame = frame.assign(
            area=_first_only(frame["region"].map(lambda c: text.REGION_NAMES.get(c, c)))
        )
        first = ("area", "Region")
    else:
        frame = ordered(report, frame[frame["region"] == report.region]).assign(area=report.place)
        frame = frame.assign(group=_first_only(frame["group"]))
        first = ("group", "Group")
    frame = frame.assign(source=frame["source"].astype(str).str.replace("_", " ").str.capitalize())
    spec = tables.TableSpec((
        tables.Column(first[0], first[1], identifying=True),
        tables.Column("source", "Source", identifying=True),
        tables.Column("n", "Ethnic minority people" if not report.regional else "People", "integer"),
        tables.Column("sample_share", "Share ethnic minority" if not report.regional else "Share", "percent"),
        tables.Column("benchmark_share", "Share in Census 2021", "percent"),
        tables.Column("representation_ratio", "Ratio (95% CI)", "ratio", ci=("ci_low", "ci_high")),
    ), note_column="table_note")  # fmt: skip
    return _html(tables.bundle_table(
        frame, spec, title=f"Representation against the Census 2021 population, "
        f"{report.place}"))  # fmt: skip


# --- each indicator ---------------------------------------------------------------------------


def _forest_rows(report: Report, rows: pd.DataFrame) -> pd.DataFrame:
    chosen = ordered(report, pd.concat([_select(rows, dimension=d, level=lv)
                                        for d, lv in FOREST_LEVELS]))  # fmt: skip
    names = {("ethnicity", "binary"): "Ethnicity", ("ethnicity", "grouped"): "Ethnic group"}
    title = [names.get((d, lv), DIMENSION_TITLES.get(d, d))
             for d, lv in zip(chosen["dimension"], chosen["level"], strict=True)]  # fmt: skip
    return chosen.assign(label=[f"{t}: {g}" for t, g in zip(title, chosen["group"], strict=True)])


def _finding_title(report: Report, name: str) -> str:
    """A chart title that states the finding: the headline ratios of the latest cycle."""
    rows = _headline_rows(report, name, cycle=report.latest, region=report.region)
    said = [f"{plain_group(row['group'])} staff {text.ratio(row['rel_likelihood'])} times as likely"
            for row in rows if not text.is_suppressed(row) and not pd.isna(row.get("rel_likelihood"))]  # fmt: skip
    label = report.labels.get(name, name)
    return f"{label}: " + (" and ".join(said) if said else "no headline comparison published")


def indicators(report: Report, *, aim: str | None = None) -> str:
    """Per indicator (of ``aim``, or all): one sentence, one forest plot, one compact table.

    The sentence names the standards the indicator mirrors, who is asked when not everyone
    is (the plan's ``asked_of``: WDES 8 is asked of disabled staff only), and gives the
    headline comparisons; the chart every breakdown; the table the
    ethnicity and disability rows (with England's relative likelihood in a regional report).
    Detailed groups are in the Excel workbook (:func:`annex` lists its sheets).
    """
    current = _select(report.table("comparisons"), cycle=report.latest)
    if current.empty:
        return text.not_available("Comparisons")
    parts = []
    for name, indicator in report.indicators.items():
        rows = current[current["indicator"] == name]
        if (aim and indicator["aim"] != aim) or rows.empty:
            continue
        label = report.labels.get(name, name)
        standards = ", ".join(str(s) for s in indicator.get("standards", []) or [])
        asked = str(indicator.get("asked_of") or "")
        parts.append(f"### {text.md_escape(label)}")
        line = _indicator_line(report, name)
        parts.append((f"Mirrors {text.md_escape(standards)}. " if standards else "")
                     + (f"Asked of {text.md_escape(asked.lower())} only. " if asked else "")
                     + (_upper_first(line.split("**: ", 1)[-1]) if line else ""))  # fmt: skip
        chosen = _forest_rows(report, rows)
        parts.append(figure(
            charts.forest_plot(chosen, band=report.band, title=charts.wrap(_finding_title(report, name), 62)),
            label=f"forest-{name}-{report.region}",
            caption=f"{label}{_asked(asked)}, {report.place}, {report.latest}: relative "
            "likelihood against each reference group with 95% confidence intervals. Shaded: "
            f"{charts.BAND_LABEL}. {charts.FOREST_COLOURS} Suppressed groups are not drawn.",
            alt=charts.forest_alt_text(chosen, indicator_label=label),
        ))  # fmt: skip
        parts.append(_compact_table(report, rows, label, asked))
    if not parts:
        return (f"*This results bundle holds no {AIMS.get(aim or '', '')} indicators for "
                f"{text.md_escape(report.place)}.*")  # fmt: skip
    return _blocks(parts)


def _asked(asked: str) -> str:
    """`` (asked of disabled staff only)`` for an item asked of a subgroup, else nothing."""
    return f" (asked of {asked.lower()} only)" if asked else ""


def _compact_table(report: Report, rows: pd.DataFrame, label: str, asked: str) -> str:
    shown = ordered(report, pd.concat([_select(rows, dimension=d, level=lv)
                                       for d, lv, _, _ in HEADLINES]))  # fmt: skip
    columns = list(tables.RATES.columns)
    if report.regional:
        england = _select(report.table("comparisons", region=NATIONAL), cycle=report.latest,
                          indicator=rows["indicator"].iloc[0])  # fmt: skip
        england = _published(england).set_index(["dimension", "level", "group"])
        keys = list(zip(shown["dimension"], shown["level"], shown["group"], strict=True))
        shown = shown.assign(england_rl=[england["rel_likelihood"].get(k, np.nan) for k in keys],
                             england_estimate=[england["estimate"].get(k, np.nan) for k in keys])  # fmt: skip
        columns += [tables.Column("england_estimate", "England rate", "percent"),
                    tables.Column("england_rl", "England relative likelihood", "ratio")]  # fmt: skip
    spec = tables.TableSpec(tuple(columns), note_column="table_note")
    return _html(tables.rates_table(shown, title=f"{label}{_asked(asked)}: ethnicity and "
                                    f"disability, {report.place}, {report.latest}", spec=spec))  # fmt: skip


def adjusted_models(report: Report) -> str:
    """Does the gap remain after sector, career stage and region? One table of odds ratios,
    unadjusted and adjusted, for the headline comparisons of every indicator; in a region's
    report, England's adjusted odds ratio beside the region's."""
    models, missing = _region_rows(report, "models", "Adjusted models")
    if missing:
        return missing
    models = _select(models, cycle=report.latest) if "cycle" in models else models
    england = _select(report.table("models", region=NATIONAL), cycle=report.latest,
                      model="adjusted") if report.regional else models.iloc[0:0]  # fmt: skip
    if models.empty:
        return text.not_available("Adjusted models for the latest cycle")
    if models["suppressed"].all():
        return ("Every adjusted comparison is suppressed: the groups are too small to publish "
                f"for {report.place} in {report.latest}.")  # fmt: skip
    keys = ["indicator", "dimension", "level", "group"]
    wide = models.pivot_table(index=keys, columns="model", aggfunc="first",
                              values=["odds_ratio", "ci_low", "ci_high", "p_value"])  # fmt: skip
    wide.columns = [f"{value}_{model}" for value, model in wide.columns]
    wide = wide.reset_index()
    flags = models.groupby(keys)["suppressed"].any().reset_index()
    wide = wide.merge(flags, on=keys)
    beside: tuple[tables.Column, ...] = ()
    if not england.empty:
        national = _published(england)[[*keys, "odds_ratio", "ci_low", "ci_high"]].rename(
            columns={"odds_ratio": "odds_ratio_england", "ci_low": "ci_low_england",
                     "ci_high": "ci_high_england"})  # fmt: skip
        wide = wide.merge(national, on=keys, how="left")  # suppressed in England: blank
        beside = (tables.Column("odds_ratio_england", "England: adjusted odds ratio (95% CI)",
                                "ratio", ci=("ci_low_england", "ci_high_england")),)  # fmt: skip
    wide["indicator_label"] = wide["indicator"].map(report.labels).fillna(wide["indicator"])
    wide["rank"] = wide["indicator"].map({n: i for i, n in enumerate(report.indicators)})
    wide = wide.sort_values(["rank", "dimension"], ascending=[True, False])
    remains = wide[(wide.get("ci_low_adjusted", 0) > 1) | (wide.get("ci_high_adjusted", 2) < 1)]
    # the covariates the fits used, in the plan's order (a region's fits drop region)
    used = {c.strip() for value in models.loc[models["model"].eq("adjusted"), "covariates"]
            .dropna().astype(str) for c in value.split(",")}  # fmt: skip
    planned = report.bundle.manifest.get("plan", {}).get("models", {}).get("covariates", [])
    covariates = ", ".join(str(c).replace("_", " ") for c in planned if c in used)
    spec = tables.TableSpec((
        tables.Column("indicator_label", "Indicator", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("odds_ratio_unadjusted", "Odds ratio (95% CI)", "ratio",
                      ci=("ci_low_unadjusted", "ci_high_unadjusted")),
        tables.Column("odds_ratio_adjusted", "Adjusted odds ratio (95% CI)", "ratio",
                      ci=("ci_low_adjusted", "ci_high_adjusted")),
        tables.Column("p_value_adjusted", "p (adjusted model)", "p"),
        *beside,
    ), note_column="table_note")  # fmt: skip
    lead = (f"Adjusted for {text.md_escape(covariates)}, the difference remains (the adjusted "
            f"interval excludes 1) in {len(remains)} of {len(wide)} comparisons. An odds ratio "
            "above 1 means the group is more likely to report the outcome than its reference "
            "(White; not disabled).")  # fmt: skip
    return _blocks([lead, _html(tables.bundle_table(
        wide, spec, title=f"Ethnic minority and disabled staff: odds ratios before and after "
        f"adjustment, {report.place}, {report.latest}"))])  # fmt: skip


def intersections(report: Report) -> str:
    """Heat maps of relative likelihood for each intersection x indicator."""
    current = _select(report.table("comparisons"), cycle=report.latest)
    parts = []
    for dimension in INTERSECTIONS:
        rows = current[current["dimension"] == dimension] if "dimension" in current else current
        if rows.empty:
            parts.append(text.not_available(f"Intersection {dimension}"))
            continue
        rows = ordered(report, rows)
        rows = rows.assign(
            indicator_label=rows["indicator"].map(report.labels).fillna(rows["indicator"]),
            direction=rows["indicator"].map(lambda n: report.indicators.get(n, {}).get("direction")),
            rank=rows["indicator"].map({n: i for i, n in enumerate(report.indicators)}),
        ).sort_values("rank", kind="stable")  # fmt: skip
        reference = rows["reference_group"].dropna()
        against = reference.iloc[0] if not reference.empty else "the reference group"
        subject = f"{dimension.replace('_', ' ')}, {report.place}, {report.latest}"
        many = rows["group"].nunique() > 8
        # Many groups: groups as rows and numbered indicator columns (the caption is the key).
        # Numbered 1, 2, ... over the indicators drawn (one with no comparison leaves no gap).
        drawn = [n for n in report.indicators if n in set(rows["indicator"])]
        numbers = {n: str(i + 1) for i, n in enumerate(drawn)}
        rows = rows.assign(indicator_number=rows["indicator"].map(numbers))
        x, y = ("indicator_number", "group") if many else ("group", "indicator_label")
        key = "; ".join(f"{numbers[n]} {report.labels[n]}" for n in drawn)
        parts.append(figure(
            charts.heat_map(rows, title=f"{dimension.capitalize()}: relative likelihood "
                            f"against {against}", x=x, y=y),
            label=f"heat-{dimension}-{report.region}",
            caption=f"Relative likelihood against {against}, {subject}, rounded to one decimal "
            "place; vermillion where the group fares worse, blue where it fares better. Empty "
            "tiles: suppressed or no comparison." + (f" Columns: {key}." if many else ""),
            alt=charts.heat_map_alt_text(rows, subject=subject, x=x, y=y),
        ))  # fmt: skip
    return _blocks(parts)


# --- retention --------------------------------------------------------------------------------


def intention_to_leave(report: Report) -> str:
    """Intention to leave: each item's % agreeing and the 0-10 score, ethnicity and disability.

    Rates come from ``intention_to_leave`` (with the score) when the bundle has this region's
    rows, else from the region's comparisons (rates only, the score said to be missing).
    """
    frame, missing = _region_rows(report, "intention_to_leave", "Intention to leave score")
    if frame.empty:
        return missing or text.not_available("Intention to leave")
    frame = frame[frame["cycle"] == frame["cycle"].max()]
    wanted = {("all", "all"), *((h[0], h[1]) for h in HEADLINES)}
    frame = ordered(report, frame[[(d, lv) in wanted for d, lv in
                                   zip(frame["dimension"], frame["level"], strict=True)]])  # fmt: skip
    items = list(dict.fromkeys(frame["indicator"]))
    frame = frame.assign(item_rank=frame["indicator"].map(items.index),
                         everyone=(frame["dimension"] != "all").astype(int))  # fmt: skip
    frame = frame.sort_values(["item_rank", "everyone"], kind="stable")
    kind = frame["measure"].map(text.measure_kind)
    frame = frame.assign(
        measure_label=[
            report.scale_labels.get(n, report.labels.get(n, str(n).replace("_", " ")))
            for n in frame["indicator"]
        ],
        shown=[
            text.value_text(v, k, unit="out of 10" if k == "score" else "")
            for v, k in zip(frame["estimate"], kind, strict=True)
        ],
        interval=[
            f"{text.value_text(lo, k)} to {text.value_text(hi, k)}" if not pd.isna(lo) else ""
            for lo, hi, k in zip(frame["ci_low"], frame["ci_high"], kind, strict=True)
        ],
        what=["mean score (0 to 10)" if k == "score" else "% agreeing" for k in kind],
    )
    frame = frame.assign(measure_label=_first_only(frame["measure_label"]),
                         what=[w if m else "" for w, m in zip(frame["what"], _first_only(frame["measure_label"]), strict=True)])  # fmt: skip
    spec = tables.TableSpec((
        tables.Column("measure_label", "Question or score", identifying=True),
        tables.Column("what", "Measure", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("n", "Respondents", "integer"),
        tables.Column("shown", "Value"),
        tables.Column("interval", "95% CI"),
    ), note_column="table_note")  # fmt: skip
    return _html(tables.bundle_table(frame, spec, title=f"Intention to leave, {report.place}, "
                                     f"{int(frame['cycle'].max())}"))  # fmt: skip


def _workforce_latest(report: Report, region: str) -> pd.DataFrame:
    """``workforce_rates`` for ``region`` in the latest year: everyone and the headline groups
    (and, nationally, each region), in reading order, with the area named."""
    rates = report.table("workforce_rates", region=region)
    if rates.empty:
        return rates
    latest = rates[rates["year"] == rates["year"].max()]
    wanted = {("all", "all"), *((h[0], h[1]) for h in HEADLINES)}
    if region == NATIONAL and not report.regional:
        wanted.add(("region", "detailed"))
    latest = latest[[(d, lv) in wanted for d, lv in
                     zip(latest["dimension"], latest["level"], strict=True)]]  # fmt: skip
    return ordered(report, latest).assign(area=text.REGION_NAMES.get(region, region))


def turnover(report: Report) -> str:
    """Leaver rate, joiner rate and stability index by group (latest year) from the workforce
    records; a regional report shows its region's rows, then England's for comparison."""
    rates = report.bundle.table("workforce_rates")
    if not text.has_columns(rates, "year", "leaver_rate", "stability_index"):
        return text.not_available("Turnover and stability")
    if report.regional and not report.has_region_rows("workforce_rates"):
        return _lacks(report, "Turnover and stability")
    areas = (report.region, NATIONAL) if report.regional else (NATIONAL,)
    shown = pd.concat([_workforce_latest(report, area) for area in areas])
    year = int(shown["year"].max())
    spec = tables.TableSpec((
        *((tables.Column("area", "Area", identifying=True),) if report.regional else ()),
        tables.Column("group", "Group", identifying=True),
        tables.Column("headcount_start", "Staff at start", "integer"),
        tables.Column("leavers", "Leavers", "integer"),
        tables.Column("leaver_rate", "Leaver rate", "percent"),
        tables.Column("joiner_rate", "Joiner rate", "percent"),
        tables.Column("stability_index", "Stability index", "percent"),
    ), note_column="table_note")  # fmt: skip
    if report.regional:
        shown = shown.assign(area=_first_only(shown["area"]))
    return _html(tables.bundle_table(
        shown, spec, title=f"Turnover and stability, {report.place}, {year}"))  # fmt: skip


def _time_unit(report: Report) -> str:
    """The unit of the bundle's times in post ("years" or "months"), from the summary's
    statistic names (e.g. "median years in post"); "" when the bundle does not say."""
    summary = report.bundle.table("survival_summary")
    names = " ".join(str(s) for s in summary.get("statistic", pd.Series(dtype=str)).unique())
    return "years" if "years" in names else "months" if "months" in names else ""


def time_in_post(report: Report) -> str:
    """Kaplan-Meier curves, the share still in post at each reported time, the Cox hazard
    ratios and the log-rank test (from the workforce records)."""
    curves, missing = _region_rows(report, "survival_curves", "Time in post")
    if missing:
        return missing
    unit = _time_unit(report)
    parts = []
    for dimension, level, _, _ in HEADLINES:
        rows = ordered(report, _select(curves, dimension=dimension, level=level))
        if rows.empty:
            continue
        subject = f"time in post by {DIMENSION_TITLES[dimension].lower()}, {report.place}"
        parts.append(figure(
            charts.km_plot(rows, title=f"Still in post by {DIMENSION_TITLES[dimension].lower()}",
                           time_label=f"{unit.capitalize()} in post" if unit else "Time in post"),
            label=f"km-{dimension}-{report.region}",
            caption=f"Kaplan-Meier estimate of {subject}, with 95% confidence intervals"
            + (f"; time in {unit}." if unit else "."),
            alt=charts.km_alt_text(rows, subject=subject, unit=unit),
        ))  # fmt: skip
    summary = report.table("survival_summary")
    if text.has_columns(summary, "statistic", "time", "estimate"):
        still = summary[summary["statistic"] == "still in post"]
        wide = still.pivot_table(index=["dimension", "level", "group"], columns="time",
                                 values="estimate", aggfunc="first")  # fmt: skip
        wide.columns = [f"at_{t:g}" for t in wide.columns]
        base = summary.drop_duplicates(["dimension", "level", "group"])[
            ["dimension", "level", "group", "n", "events", "suppressed", "suppression_reason"]
        ]
        frame = ordered(report, base.merge(wide.reset_index(), on=["dimension", "level", "group"]))
        columns = [
            tables.Column("group", "Group", identifying=True),
            tables.Column("n", "Staff", "integer"),
            tables.Column("events", "Leavers", "integer"),
        ]
        columns += [tables.Column(c, f"Still in post after {c[3:]} "
                                  f"{(unit or '').rstrip('s') if c[3:] == '1' else unit or ''}".strip(), "percent")
                    for c in wide.columns if frame[c].notna().any()]  # fmt: skip
        parts.append(_html(tables.bundle_table(frame, tables.TableSpec(tuple(columns), note_column="table_note"),
                                               title=f"Still in post, {report.place}")))  # fmt: skip
    cox = report.table("survival_cox")
    if text.has_columns(cox, "group", "hazard_ratio"):
        cox = ordered(report, cox)
        logrank = report.table("survival_logrank")
        notes = [f"{DIMENSION_TITLES.get(r['dimension'], r['dimension'])}: log-rank test "
                 f"p {text._p_clause(r['p_value'])}" for r in _published(logrank).to_dict(orient="records")]  # fmt: skip
        spec = tables.TableSpec((
            tables.Column("group", "Group", identifying=True),
            tables.Column("n", "Staff", "integer"), tables.Column("events", "Leavers", "integer"),
            tables.Column("hazard_ratio", "Hazard ratio (95% CI)", "ratio", ci=("ci_low", "ci_high")),
            tables.Column("p_value", "p", "p"),
        ), note_column="table_note")  # fmt: skip
        ties = ", ".join(
            sorted(method_name(t) for t in cox.get("ties", pd.Series(dtype=str)).dropna().unique())
        )
        parts.append(_html(tables.rates_table(
            cox, spec=spec, title=f"Hazard of leaving (Cox model, {ties} method for ties), {report.place}",
            source_note="; ".join(notes) or None)))  # fmt: skip
    return _blocks(parts)


def trainees(report: Report) -> str:
    """Trainee attrition and registration by ethnicity and disability, latest cohort."""
    frame, missing = _region_rows(report, "trainee_outcomes", "Trainee attrition and registration")
    if missing:
        return missing
    cohort = int(frame["cohort"].max())
    latest = frame[frame["cohort"] == cohort]
    wanted = {("all", "all"), *((h[0], h[1]) for h in HEADLINES)}
    latest = ordered(report, latest[[(d, lv) in wanted for d, lv in
                                     zip(latest["dimension"], latest["level"], strict=True)]])  # fmt: skip
    latest = latest.assign(is_reference=latest["group"] == latest["reference_group"])
    spec = tables.TableSpec((
        tables.Column("group", "Group", identifying=True),
        tables.Column("starters", "Starters", "integer"),
        tables.Column("withdrawals", "Withdrew", "integer"),
        tables.Column("attrition", "Attrition (95% CI)", "percent", ci=("attrition_ci_low", "attrition_ci_high")),
        tables.Column("attrition_rl", "Relative likelihood of withdrawing (95% CI)", "ratio",
                      ci=("attrition_rl_ci_low", "attrition_rl_ci_high")),
        tables.Column("registered_within_6m", "Registered within 6 months", "integer"),
        tables.Column("conversion", "Registration rate (95% CI)", "percent",
                      ci=("conversion_ci_low", "conversion_ci_high")),
    ), note_column="table_note")  # fmt: skip
    return _html(tables.rates_table(latest, spec=spec, title=f"Trainees starting in {cohort}: "
                                    f"attrition and registration, {report.place}"))  # fmt: skip


def recruitment(report: Report) -> str:
    """Appointment from shortlisting by year (WRES 2, WDES 2), with relative likelihoods."""
    frame, missing = _region_rows(report, "recruitment", "Recruitment")
    if missing:
        return missing
    frame = ordered(report, frame[frame["dimension"] != "all"])
    frame = frame.sort_values(["standard", "year"], kind="stable")
    frame = frame.assign(year=frame["year"].astype(int).astype(str))
    spec = tables.TableSpec((
        tables.Column("standard", "Standard", identifying=True),
        tables.Column("year", "Year", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("shortlisted", "Shortlisted", "integer"),
        tables.Column("appointed", "Appointed", "integer"),
        tables.Column("rate", "Appointed (95% CI)", "percent", ci=("ci_low", "ci_high")),
        tables.Column("rel_likelihood", "Relative likelihood (95% CI)", "ratio", ci=("rl_ci_low", "rl_ci_high")),
    ), note_column="table_note")  # fmt: skip
    wording = "; ".join(f"{s}: {w}" for s, w in frame.dropna(subset=["wording"])
                        .drop_duplicates("standard")[["standard", "wording"]].itertuples(index=False))  # fmt: skip
    return _html(tables.rates_table(frame, spec=spec, title=f"Appointment from shortlisting, "
                                    f"{report.place}", source_note=wording or None))  # fmt: skip


# --- trends -----------------------------------------------------------------------------------


def _verdicts(report: Report) -> pd.DataFrame:
    return _published(report.table("trend_interactions"))


#: The verdicts that say a gap changed, in the words a reader sees.
CHANGED = {"gap narrowing": "narrowed", "gap widening": "widened"}


def _verdict_counts(report: Report) -> str:
    """How many gaps were tested and what each verdict was, counted over every row of the
    region's ``trend_interactions`` (suppressed rows counted as "too few responses to say"),
    so the parts add up to the whole."""
    rows = report.table("trend_interactions")
    verdicts = rows["verdict"].where(~rows["suppressed"].astype("boolean").fillna(False)
                                     .astype(bool), "too few responses to say")  # fmt: skip
    counts = verdicts.value_counts()
    parts = [f"{int(counts.get(v, 0))} {w}" for v, w in CHANGED.items()]
    parts.append(f"{int(counts.get('no clear change', 0))} showed no clear change")
    others = {str(v): int(n) for v, n in counts.items() if v not in {*CHANGED, "no clear change"}}
    parts += [f"{n} had {text.md_escape(v)}" if v.startswith("too few") else
              f"{n}: {text.md_escape(v)}" for v, n in others.items()]  # fmt: skip
    cycles = ", ".join(str(c) for c in report.cycles)
    return (
        f"Of {len(rows)} gaps tested across the {cycles} survey cycles, "
        f"{', '.join(parts[:-1])} and {parts[-1]}."
    )


def verdict_words(report: Report, row: Mapping[str, object]) -> str:
    """A verdict in plain words with the first and latest relative likelihoods, e.g. "The gap
    has narrowed: ethnic minority staff were 1.76 times as likely as White staff in 2023 and
    1.28 times in 2025"."""
    gaps = _published(_select(report.table("trend_gaps"), indicator=row["indicator"],
                              dimension=row["dimension"], level=row["level"], group=row["group"]))  # fmt: skip
    verdict = str(row["verdict"])
    head = {"gap narrowing": "The gap has narrowed", "gap widening": "The gap has widened"}.get(
        verdict, verdict.capitalize()
    )
    if gaps.empty:
        return head
    first, last = gaps.sort_values("cycle").iloc[0], gaps.sort_values("cycle").iloc[-1]
    return (f"{head}: {text.md_escape(plain_group(row['group']))} staff were "
            f"{text.ratio(first['rel_likelihood'])} times as likely as "
            f"{text.md_escape(plain_group(row['reference_group']))} staff in {int(first['cycle'])} and "
            f"{text.ratio(last['rel_likelihood'])} times in {int(last['cycle'])}")  # fmt: skip


def verdict_table(report: Report) -> str:
    """One table of the gaps that changed (narrowing or widening), in plain words, with the
    test that decided each; the comparisons with no clear change are counted, not listed."""
    verdicts = _verdicts(report)
    if report.regional and not report.has_region_rows("trend_interactions"):
        return _lacks(report, "Tests of whether each gap is narrowing")
    if not text.has_columns(verdicts, "verdict", "group"):
        return text.not_available("Trend verdicts")
    changed = ordered(report, verdicts[verdicts["verdict"].isin(list(CHANGED))])
    changed = changed.assign(
        indicator_label=changed["indicator"].map(report.labels).fillna(changed["indicator"]),
        words=[verdict_words(report, row) for row in changed.to_dict(orient="records")],
        test=[f"group × cycle interaction, {method_name(row['adjust_method'])}-adjusted "
              f"p {text._p_clause(row['p_adjusted'])}" for row in changed.to_dict(orient="records")],
        dimension_label=changed["dimension"].map(DIMENSION_TITLES),
    )  # fmt: skip
    lead = _verdict_counts(report) + " Only the gaps that changed are listed."
    if changed.empty:
        return lead
    spec = tables.TableSpec((
        tables.Column("indicator_label", "Indicator", identifying=True),
        tables.Column("dimension_label", "Breakdown", identifying=True),
        tables.Column("words", "What changed", identifying=True),
        tables.Column("test", "Decided by", identifying=True),
    ), note_column="table_note")  # fmt: skip
    return _blocks([lead, _html(tables.bundle_table(changed, spec, title=f"Gaps that changed, "
                                                    f"{report.place}"))])  # fmt: skip


def gap_trends(report: Report) -> str:
    """Small multiples: each indicator's relative likelihood for ethnic minority and disabled
    staff across cycles (``trend_gaps`` nationally, the region's comparisons regionally)."""
    if len(report.cycles) < 2:
        return "Only one survey cycle is in this bundle, so there is no trend to show."
    source = (
        report.table("trend_gaps")
        if report.has_region_rows("trend_gaps")
        else report.table("comparisons")
    )
    frames = []
    for dimension, level, group, reference in HEADLINES:
        rows = _select(source, dimension=dimension, level=level)
        if "is_reference" in rows:
            rows = rows[~rows["is_reference"].astype("boolean").fillna(False).astype(bool)]
        frames.append(rows.assign(comparison=f"{group.capitalize()} vs {reference}"))
    data = pd.concat(frames)
    data = data.assign(indicator_label=data["indicator"].map(report.labels).fillna(data["indicator"]),
                       rank=data["indicator"].map({n: i for i, n in enumerate(report.indicators)}))  # fmt: skip
    data = data.sort_values(["rank", "cycle"], kind="stable")
    if charts.forest_rows(data).empty:
        return (f"*No relative likelihood for ethnic minority or disabled staff in "
                f"{text.md_escape(report.place)} can be published for any cycle (suppressed).*")  # fmt: skip
    subject = f"ethnic minority and disabled staff, {report.place}"
    return figure(
        charts.gap_trend_plot(data, title=f"Relative likelihood by survey cycle, {report.place}"),
        label=f"gap-trends-{report.region}",
        caption=f"Relative likelihood of each outcome for {subject}, by survey cycle, with 95% "
        "confidence intervals; 1 is equality. Suppressed points are not drawn.",
        alt=charts.gap_trend_alt_text(data, subject=subject),
    )


def changes(report: Report) -> str:
    """Clear changes since the last cycle (adjusted p below 0.05, group rates and gaps) as one
    table; the rest counted, with how many an unadjusted 0.05 would have listed."""
    frame = _published(report.table("trend_changes"))
    if report.regional and not report.has_region_rows("trend_changes"):
        return _lacks(report, "Tests of change since the last cycle")
    if not text.has_columns(frame, "change", "p_value", "p_adjusted", "measure"):
        return text.not_available("Changes since the last cycle")
    clear = ordered(report, frame[frame["p_adjusted"] < SIGNIFICANCE])
    unadjusted = int((frame["p_value"] < SIGNIFICANCE).sum())
    named = frame["adjust_method"].dropna().unique()
    method = f"the {method_name(named[0])} adjustment" if len(named) else "adjustment"
    lead = (f"{len(frame)} rates and gaps were compared with the previous cycle. {len(clear)} "
            f"changed clearly: p below {SIGNIFICANCE} after {method} within each survey, cycle, "
            "area, dimension level and measure (the adjusted p governs; without the adjustment "
            f"{unadjusted} would pass, some by chance alone). The others are not listed; "
            "whether a gap is narrowing over all cycles is decided by the test above.")  # fmt: skip
    if clear.empty:
        return lead
    clear = clear.assign(
        indicator_label=clear["indicator"].map(report.labels).fillna(clear["indicator"]),
        what=[("gap to " + plain_group(r)) if m == "gap" else "rate" for m, r in zip(clear["measure"], clear["reference_group"], strict=True)],
        words=[f"{'up' if c > 0 else 'down'} {abs(100 * c):.1f} percentage points, {int(p)} to {int(y)}"
               for c, p, y in zip(clear["change"], clear["previous_cycle"], clear["cycle"], strict=True)],
    )  # fmt: skip
    spec = tables.TableSpec((
        tables.Column("indicator_label", "Indicator", identifying=True),
        tables.Column("group", "Group", identifying=True),
        tables.Column("what", "Measure", identifying=True),
        tables.Column("words", "Change", identifying=True),
        tables.Column("p_adjusted", "Adjusted p", "p"),
    ), note_column="table_note")  # fmt: skip
    return _blocks([lead, _html(tables.bundle_table(clear, spec, title=f"Clear changes since the "
                                                    f"last cycle, {report.place}"))])  # fmt: skip


def trends_summary(report: Report) -> str:
    """The trends report's own summary: how many gaps narrowed, widened or did not clearly
    change, and the headline (ethnic minority, disabled) gaps that changed, in plain words."""
    verdicts = _verdicts(report)
    if not text.has_columns(verdicts, "verdict", "group"):
        return text.not_available("Trend verdicts")
    lead = _verdict_counts(report)
    headline = {(d, lv) for d, lv, _, _ in HEADLINES}
    lines = [f"**{text.md_escape(report.labels.get(row['indicator'], row['indicator']))}**: "
             f"{verdict_words(report, row)}."
             for row in verdicts.to_dict(orient="records")
             if (row["dimension"], row["level"]) in headline and row["verdict"] in CHANGED]  # fmt: skip
    return _blocks([lead, text.bullet_list(lines)])


def retention_trends(report: Report) -> str:
    """Leaver rate and stability index by year (workforce records) and the intention-to-leave
    score by cycle, by ethnicity and disability, as lines with 95% CIs where the bundle has them."""
    parts = []
    score = report.table("intention_to_leave")
    if text.has_columns(score, "cycle", "measure", "estimate"):
        scored = score[score["measure"].map(text.measure_kind) == "score"]
        for dimension, level, _, _ in HEADLINES:
            rows = ordered(report, _select(scored, dimension=dimension, level=level))
            if rows.empty:
                continue
            name = report.scale_labels.get(
                str(rows["indicator"].iloc[0]), "Intention to leave score"
            )
            subject = f"{name} by {DIMENSION_TITLES[dimension].lower()}, {report.place}"
            parts.append(figure(
                charts.trend_plot(rows, title=charts.wrap(subject, 70), percent=False,
                                  y_label="Mean score (0 to 10)"),
                label=f"trend-score-{dimension}-{report.region}",
                caption=f"{subject}: mean score by survey cycle with 95% confidence intervals.",
                alt=charts.trend_alt_text(rows, subject=subject, percent=False),
            ))  # fmt: skip
    rates = report.table("workforce_rates")
    if text.has_columns(rates, "year", "leaver_rate"):
        for dimension, level, _, _ in HEADLINES:
            rows = ordered(report, _published(_select(rates, dimension=dimension, level=level)))
            rows = rows.assign(cycle=rows["year"], estimate=rows["leaver_rate"],
                               ci_low=rows["leaver_rate"], ci_high=rows["leaver_rate"])  # fmt: skip
            subject = f"leaver rate by {DIMENSION_TITLES[dimension].lower()}, {report.place}"
            parts.append(figure(
                charts.trend_plot(rows, title=_upper_first(subject),
                                  y_label="Leavers as % of average headcount"),
                label=f"trend-leavers-{dimension}",
                caption=f"{_upper_first(subject)}, by year (workforce records; counts, so no interval).",
                alt=charts.trend_alt_text(rows, subject=subject),
            ))  # fmt: skip
    return _blocks(parts) or text.not_available("Retention over time")


# --- regional comparison and annex ------------------------------------------------------------


def regional_comparison(report: Report) -> str:
    """National report only: each region's relative likelihood for ethnic minority and for
    disabled staff on every indicator (heat maps, region x indicator)."""
    comparisons = _select(report.bundle.table("comparisons"), cycle=report.latest)
    if comparisons.empty or "region" not in comparisons:
        return text.not_available("Regional comparisons")
    parts = []
    for dimension, level, group, reference in HEADLINES:
        rows = _select(comparisons, dimension=dimension, level=level)
        rows = rows[
            (rows["region"] != NATIONAL)
            & ~rows["is_reference"].astype("boolean").fillna(False).astype(bool)
        ]
        rows = rows.assign(
            group=rows["region"].map(text.REGION_NAMES),
            indicator_label=rows["indicator"].map(report.labels).fillna(rows["indicator"]),
            direction=rows["indicator"].map(lambda n: report.indicators.get(n, {}).get("direction")),
            rank=rows["indicator"].map({n: i for i, n in enumerate(report.indicators)}),
        ).sort_values(["rank", "region"], kind="stable")  # fmt: skip
        subject = f"{group} against {reference} staff by region, {report.latest}"
        parts.append(figure(
            charts.heat_map(rows, title=f"{group.capitalize()} against {reference} staff, by region",
                            x="group", y="indicator_label"),
            label=f"regions-{dimension}",
            caption=f"Relative likelihood, {subject}, rounded to one decimal place; vermillion "
            "where the group fares worse. Empty tiles: suppressed.",
            alt=charts.heat_map_alt_text(rows, subject=subject),
        ))  # fmt: skip
    return _blocks(parts)


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
    frame = frame.assign(indicator_label=frame["indicator"].map(report.labels).fillna(frame["indicator"]),
                         rank=frame["indicator"].map({n: i for i, n in enumerate(report.indicators)}),
                         home=(frame["region"] != report.region).astype(int))  # fmt: skip
    frame = frame.sort_values(["rank", "home"], kind="stable")
    spec = tables.TableSpec((
        tables.Column("indicator_label", "Indicator", identifying=True),
        tables.Column("group", "Area", identifying=True),
        tables.Column("n", "Respondents", "integer"),
        tables.Column("estimate", "Rate (95% CI)", "percent", ci=("ci_low", "ci_high")),
    ), note_column="table_note")  # fmt: skip
    return _html(tables.bundle_table(frame, spec, title=f"{report.place} against England, "
                                     f"everyone, {report.latest}"))  # fmt: skip


def annex(report: Report) -> str:
    """Where the detailed tables are: the Excel workbook's sheets (``ptw export --excel``),
    with this report's rows in each (sheets without any are not listed). The report itself
    keeps one compact table per indicator; every indicator by every group (detailed ethnic
    groups, sectors, career stages, intersections), the tests across all groups and every
    other bundle table are in the workbook, whose sheets are listed here as
    :func:`toolkit.report.excel.workbook_contents` names them."""
    contents = workbook_contents(report.bundle)
    contents = contents[contents["table"].isin(ANNEX_SHEETS)]
    if contents.empty:
        return text.not_available("Detailed tables")
    here = [len(report.table(name)) if report.has_region_rows(name) else 0
            for name in contents["table"]]  # fmt: skip
    contents = contents.assign(rows=here, rank=contents["table"].map(ANNEX_SHEETS.index))
    contents = contents[contents["rows"] > 0]  # a sheet with none of this area's rows: not listed
    spec = tables.TableSpec((
        tables.Column("sheet", "Sheet", identifying=True),
        tables.Column("what_it_holds", "What it holds", identifying=True),
        tables.Column("rows", f"Rows for {report.place}", "integer", identifying=True),
    ), note_column="table_note")  # fmt: skip
    return _html(tables.bundle_table(
        contents.sort_values("rank"), spec,
        title=f"Detailed tables in the Excel workbook, {report.place}"))  # fmt: skip


def suppression(report: Report) -> str:
    """The suppression policy and the suppressed groups of the latest cycle (named once)."""
    current = _select(report.table("comparisons"), cycle=report.latest)
    return text.suppression_summary(current, threshold=report.threshold)


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
        "question": f"{str(ind.get('survey', '')).capitalize()} survey: "
        f"{report.item_labels.get(str(ind.get('item')), str(ind.get('item', '')).replace('_', ' '))}",
        "answers_counted": ", ".join(str(e) for e in ind.get("events", [])),
        "direction": ind.get("direction", ""),
        "standards": ", ".join(ind.get("standards", [])),
    } for ind in indicators_])  # fmt: skip
    return _frame_table(frame, title="Indicators")


#: Method names as the bundle records them -> as a reader knows them.
METHOD_NAMES = {"fdr_bh": "Benjamini-Hochberg", "benjamini-hochberg": "Benjamini-Hochberg",
                "holm": "Holm", "wilson": "Wilson score", "bonferroni": "Bonferroni",
                "pearson-chi-square": "Pearson's chi-square test",
                "fisher-exact": "Fisher's exact test",
                "fisher-freeman-halton-monte-carlo": "Fisher-Freeman-Halton exact test (Monte Carlo)",
                "katz-log": "Katz log", "newcombe-hybrid-score": "Newcombe hybrid score",
                "efron": "Efron", "breslow": "Breslow", "log-rank": "log-rank test"}  # fmt: skip


def method_name(name: object) -> str:
    """A bundle method name for readers: ``fdr_bh`` -> "Benjamini-Hochberg", else the name with
    underscores and hyphens as spaces."""
    return METHOD_NAMES.get(str(name), str(name).replace("_", " ").replace("-", " "))


def methods_used(report: Report) -> str:
    """The CI, test and multiplicity methods named in the comparisons, and the plan settings."""
    comparisons = report.bundle.table("comparisons")
    plan = report.bundle.manifest.get("plan", {})
    lines = [f"Confidence level: {100 * float(plan.get('level', 0.95)):.0f}%.",
             f"Band: {report.band[0]:.2f} to {report.band[1]:.2f} ({charts.BAND_LABEL}; a "
             "convention, not a WRES rule)."]  # fmt: skip
    multiplicity = plan.get("multiplicity", {})
    if multiplicity:
        family = ", ".join(str(f).replace("_", " ") for f in multiplicity.get("family", []))
        lines.append(f"Multiple comparisons: {text.md_escape(method_name(multiplicity.get('method')))} "
                     f"within families of {text.md_escape(family)}.")  # fmt: skip
    for column, title in (("ci_method", "Interval methods"), ("rl_ci_method", "Relative likelihood intervals"),
                          ("diff_ci_method", "Gap intervals"), ("test", "Tests"),
                          ("adjust_method", "Adjustment methods")):  # fmt: skip
        if column in comparisons.columns:
            values = sorted(method_name(v) for v in comparisons[column].dropna().unique())
            lines.append(f"{title}: {text.md_escape('; '.join(values)) or 'none'}.")
    return text.bullet_list(lines)


def reference_groups(report: Report) -> str:
    """The reference group of each dimension and level."""
    comparisons = report.bundle.table("comparisons")
    if not text.has_columns(comparisons, "dimension", "level", "reference_group"):
        return text.not_available("Reference groups")
    frame = comparisons[["dimension", "level", "reference_group"]].dropna().drop_duplicates()
    frame = frame.assign(
        dimension=frame["dimension"].map(DIMENSION_TITLES).fillna(frame["dimension"])
    )
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
    titles = {name: title for name, (title, _) in TABLE_TITLES.items()}
    counts = counts.assign(suppression_reason=counts["suppression_reason"].map(
        lambda reason: re.sub(r"\b[a-z]+(?:_[a-z0-9]+)+\b",
                              lambda m: f'"{titles.get(m.group(0), m.group(0).replace("_", " "))}"',
                              str(reason))))  # fmt: skip
    counts = counts.assign(table=counts["table"].map(
        lambda name: TABLE_TITLES.get(name, (str(name).replace("_", " ").capitalize(),))[0]))  # fmt: skip
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
    dimensions = {headline[0]: position for position, headline in enumerate(HEADLINES)}
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


def _funnel_finding(units: pd.DataFrame, *, own: str | None = None) -> str:
    """A funnel plot's title, its finding: where region ``own`` sits (regional), else which
    regions lie outside the 95% limits, e.g. "East of England above the 95% limit"."""
    shown = charts.funnel_rows(units)
    if own is not None:
        mine = shown[shown["label"] == own]
        return (f"{own}: {charts.flag_words(str(mine['flag'].iloc[0]))}" if not mine.empty
                else f"{own}: too few respondents to place (suppressed)")  # fmt: skip
    outside = shown[shown["flag"] != "inside"]
    if outside.empty:
        return "No region is outside the 95% limits"
    return "; ".join(f"{row.label} {charts.flag_words(str(row.flag))}"
                     for row in outside.itertuples())  # fmt: skip


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
            charts.funnel_plot(units, limits, title=charts.wrap(_funnel_finding(units), 80)),
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
            charts.funnel_plot(units, limits, highlight=report.place,
                               title=charts.wrap(_funnel_finding(units, own=report.place), 80)),
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
    """Each cell's pooled rate beside its raw rate (latest cycle, this report's region): the
    intersections nationally, the region's ethnic and disability groups (pooled across
    regions) in a regional report. One compact table per breakdown of at most
    :data:`POOLED_MAX_ROWS` rows; a longer one is named with the workbook sheet that holds it.
    An indicator whose every cell is suppressed is named, not tabled as rows of "suppressed"."""
    pooled = _select(report.table("pooled_estimates"), cycle=report.latest)
    if pooled.empty:
        return text.not_available("Pooled estimates")
    pooled = pooled[pooled["indicator"].isin(list(report.labels))]
    order = {name: position for position, name in enumerate(report.labels)}
    parts, elsewhere = [], []
    for dimension in list(dict.fromkeys(pooled["dimension"])) if report.regional else INTERSECTIONS:
        rows = pooled[pooled["dimension"] == dimension]
        if rows.empty:
            parts.append(text.not_available(f"Pooled estimates for {dimension}"))
            continue
        rows = ordered(report, rows.assign(rank=rows["indicator"].map(order)))
        rows = rows.sort_values("rank", kind="stable")
        shown = set(_published(rows)["indicator"])
        hidden = [report.labels[n] for n in dict.fromkeys(rows["indicator"]) if n not in shown]
        rows = rows[rows["indicator"].isin(shown)]
        rows = rows.assign(indicator=_first_only(rows["indicator"].map(report.labels)))
        if len(rows) > POOLED_MAX_ROWS:
            elsewhere.append(dimension)
        elif not rows.empty:
            parts.append(_html(tables.bundle_table(
                rows, POOLED_SPEC, title=f"Pooled and raw rates: {dimension}, {report.place}, "
                f"{report.latest}",
            )))  # fmt: skip
        if hidden:
            parts.append(f"Every {text.md_escape(dimension)} cell is suppressed (too few "
                         f"respondents) for {len(hidden)} indicator(s), not tabled: "
                         f"{text.md_escape('; '.join(hidden))}.")  # fmt: skip
    if elsewhere:
        parts.append(f"The pooled estimates for {' and '.join(elsewhere)} (over {POOLED_MAX_ROWS} "
                     f"rows) are in the Excel workbook, sheet "
                     f"\"{_sheet(report, 'pooled_estimates')}\".")  # fmt: skip
    methods = sorted(str(m) for m in pooled["model"].dropna().unique())
    if methods:
        parts.append("Models: " + "; ".join(f"`{m}`" for m in methods) + ".")
    return _blocks(parts)


def _sheet(report: Report, table: str) -> str:
    """The workbook sheet that holds bundle table ``table`` (``ptw export --excel``)."""
    contents = workbook_contents(report.bundle)
    return str(contents.loc[contents["table"] == table, "sheet"].iloc[0])
