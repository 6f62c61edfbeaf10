"""Sentences for the reports, generated from bundle tables (no hand-typed figures).

Every function takes bundle tables (already suppressed) and returns pandoc markdown. Text that
comes from data (group names, labels, reasons) is escaped with :func:`md_escape`, so a label
such as ``<script>`` is shown as text in every format. A suppressed row is named as suppressed
with its reason and never given a number. Columns are read by name; a table without a column
a sentence needs gives the "not available" sentence rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from toolkit import config

NOT_AVAILABLE = "not available in this bundle"
SUPPRESSED = "suppressed"
#: NHS England region codes used in bundles and their names, England included.
REGION_NAMES: dict[str, str] = {"England": "England", **config.REGION_NAMES}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~^$&\"'@:;=%])")


def md_escape(text: object) -> str:
    """``text`` as literal pandoc markdown: every ASCII punctuation mark backslash-escaped.

    Pandoc reads a backslash before any ASCII punctuation as the literal character, so HTML
    tags, emphasis, links and list markers in data are shown as typed (``<`` becomes ``&lt;``
    in HTML). Line breaks become spaces.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def attribute(text: object) -> str:
    """``text`` for a double-quoted pandoc attribute value (``fig-alt="..."``)."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')


def percent(value: float, digits: int = 1) -> str:
    """``0.341`` -> ``"34.1%"``; missing -> ``""``."""
    return "" if pd.isna(value) else f"{100 * value:.{digits}f}%"


def ratio(value: float) -> str:
    """``1.234`` -> ``"1.23"``; missing -> ``""``."""
    return "" if pd.isna(value) else f"{value:.2f}"


def is_suppressed(row: Mapping[str, object]) -> bool:
    """True when the row's ``suppressed`` flag is set (missing flag: not suppressed)."""
    flag = row.get("suppressed", False)
    return bool(flag) if not pd.isna(flag) else False


def readable_reason(reason: object) -> str:
    """A suppression reason for readers: bundle table names ("trend_gaps", quoted or not)
    become their workbook titles in double quotes ("Gaps by cycle"), other variable names
    plain words (keeping their quotes)."""
    from toolkit.report.excel import TABLE_TITLES

    def title(match: re.Match[str]) -> str:
        before, name, after = match.groups()
        if name not in TABLE_TITLES:
            return f"{before}{name.replace('_', ' ')}{after}"
        quoted = before == after == "'"
        return f'{"" if quoted else before}"{TABLE_TITLES[name][0]}"{"" if quoted else after}'

    return re.sub(r"('?)\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b('?)", title, str(reason))


def suppressed_text(row: Mapping[str, object]) -> str:
    """``"suppressed (reason)"`` for a suppressed row, reason escaped."""
    reason = row.get("suppression_reason")
    if not reason or pd.isna(reason):
        return SUPPRESSED
    return f"{SUPPRESSED} ({md_escape(readable_reason(reason))})"


def not_available(what: str) -> str:
    """The sentence a section shows when the bundle lacks its table."""
    return f"*{md_escape(what)}: {NOT_AVAILABLE}.*"


def bullet_list(lines: Iterable[str]) -> str:
    """Markdown bullet list (empty string for no lines)."""
    return "\n".join(f"- {line}" for line in lines)


def has_columns(table: pd.DataFrame, *columns: str) -> bool:
    """True when ``table`` has rows and every column in ``columns``."""
    return not table.empty and all(column in table.columns for column in columns)


# --- numbers by what they measure ----------------------------------------------------------

#: How a measure is written: a rate as %, a score on its scale, a time in its unit, a count as
#: a count, a ratio to two decimals.
KINDS = ("rate", "score", "time", "count", "ratio")


def measure_kind(measure: object) -> str:
    """The kind of a bundle ``measure`` description: ``"score"`` for a mean score (e.g. "mean
    score (0-10, ...)"), ``"time"`` for years or months, else ``"rate"``."""
    text = str(measure or "").lower()
    if "score" in text:
        return "score"
    if "years" in text or "months" in text:
        return "time"
    return "rate"


def value_text(value: object, kind: str, *, unit: str = "") -> str:
    """``value`` written as its ``kind`` says (see :data:`KINDS`); missing -> ``""``.

    rate 0.341 -> "34.1%"; score 5.802 -> "5.8" (``unit`` "out of 10" appended); time 2.5 ->
    "2.5 years" (``unit``); count 5000 -> "5,000"; ratio 1.234 -> "1.23".
    """
    if value is None or pd.isna(value):
        return ""
    number = float(value)  # type: ignore[arg-type]
    if kind == "rate":
        return percent(number)
    if kind == "count":
        return f"{round(number):,}"
    if kind == "ratio":
        return ratio(number)
    return f"{number:.1f} {unit}".strip()


def p_text(value: object) -> str:
    """A p-value for readers: "< 0.001", else two significant figures, trailing zero kept
    ("0.0062", "0.034", "0.10", "0.38"), as the BMJ asks of its authors."""
    if value is None or pd.isna(value):
        return ""
    number = float(value)  # type: ignore[arg-type]
    return "< 0.001" if number < 0.001 else f"{number:#.2g}"


def times_text(rl: float) -> str:
    """A relative likelihood in words: 1.28 -> "1.28 times as likely"."""
    return f"{ratio(rl)} times as likely"


def _flag(row: Mapping[str, object], column: str) -> bool:
    value = row.get(column)
    return bool(value) if value is not None and not pd.isna(value) else False


def band_text(row: Mapping[str, object], *, band: tuple[float, float]) -> str:
    """Where a comparison row stands against the band, from the bundle's ``outside_band`` flag.

    ``outside_band`` is true when the whole 95% interval lies outside the band; a point outside
    the band whose interval reaches into it is said to be "not clearly outside".
    """
    limits = f"the four-fifths convention ({band[0]:.2f}-{band[1]:.2f})"
    if _flag(row, "outside_band"):
        return f"its whole 95% interval lies outside {limits}"
    rl = row.get("rel_likelihood")
    if rl is not None and not pd.isna(rl) and not band[0] <= float(rl) <= band[1]:  # type: ignore[arg-type]
        return f"outside {limits}, but its interval reaches into it"
    return f"inside {limits}"


def comparison_sentence(row: Mapping[str, object], *, band: tuple[float, float]) -> str:
    """One comparison row as a sentence (group, rate and interval, against the reference).

    Published: "Asian: 34.1% (95% CI 30.2% to 38.3%) against 25.0% for White ... 1.36 times as
    likely (95% CI 1.15 to 1.61); adjusted p < 0.001; its whole 95% interval lies outside ...".
    Suppressed: "Asian: suppressed (reason)."
    """
    group = md_escape(row.get("group"))
    if is_suppressed(row):
        return f"{group}: {suppressed_text(row)}."
    text = f"{group}: {percent(row.get('estimate'))}"  # type: ignore[arg-type]
    if not pd.isna(row.get("ci_low")) and not pd.isna(row.get("ci_high")):
        text += f" (95% CI {percent(row['ci_low'])} to {percent(row['ci_high'])})"  # type: ignore[arg-type]
    rl = row.get("rel_likelihood")
    if rl is None or pd.isna(rl):
        return text + "."
    text += (
        f", {times_text(float(rl))} as {md_escape(row.get('reference_group'))} staff (95% CI "  # type: ignore[arg-type]
        f"{ratio(row.get('rl_ci_low'))} to {ratio(row.get('rl_ci_high'))})"  # type: ignore[arg-type]
    )
    if not pd.isna(row.get("p_adjusted")):
        text += f"; adjusted p {_p_clause(row.get('p_adjusted'))}"
    return f"{text}; {band_text(row, band=band)}."


def _p_clause(value: object) -> str:
    written = p_text(value)
    return written if written.startswith("<") else f"= {written}"


def suppression_summary(comparisons: pd.DataFrame, *, threshold: int) -> str:
    """The suppression policy, how many figures are suppressed, and each suppressed group
    named once (one line per dimension and group, with its reasons), so no group is silently
    dropped and the list stays short.
    """
    policy = (
        f"No figure in this report describes fewer than {threshold} respondents. Smaller groups "
        "are shown as *suppressed* with the reason; where a hidden figure could be worked out "
        "from the others, a second group is suppressed too (secondary suppression)."
    )
    if not has_columns(comparisons, "group", "suppressed"):
        return policy
    hidden = comparisons[comparisons["suppressed"].astype("boolean").fillna(False).astype(bool)]
    if hidden.empty:
        return policy + " No group is suppressed in this selection."
    keys = [c for c in ("dimension", "group") if c in hidden.columns]
    reasons = hidden.groupby(keys, sort=True)["suppression_reason"].agg(
        lambda values: "; ".join(sorted({readable_reason(v) for v in values.dropna()}))
    )
    lines = []
    for key, reason in reasons.items():
        dimension, group = key if isinstance(key, tuple) else ("", key)
        where = md_escape(str(dimension).replace("_", " ")).capitalize()
        said = f"{SUPPRESSED} ({md_escape(reason)})" if reason else SUPPRESSED
        lines.append(f"{where}: {md_escape(group)}, {said}")
    return (
        f"{policy} {len(hidden):,} figures are suppressed in this report's selection, "
        "in these groups:\n\n" + bullet_list(lines)
    )


def respondent_counts(profile: pd.DataFrame, *, cycle: int) -> dict[str, int]:
    """Respondents per survey in ``cycle``, each person counted once.

    An ``all`` dimension row ("All respondents") is used when the bundle has one; otherwise the
    published groups of one breakdown (one dimension at one level, "Not stated" included), the
    largest such total, since every breakdown counts the same people. Suppressed rows are left
    out, so the count is a published lower bound when a breakdown hides a group.
    """
    if not has_columns(profile, "n", "cycle", "dimension", "level"):
        return {}
    rows = profile[profile["cycle"] == cycle]
    rows = rows[~rows["suppressed"].astype("boolean").fillna(False).astype(bool)]
    if "survey" not in rows.columns:
        rows = rows.assign(survey="survey")
    counts: dict[str, int] = {}
    for survey, survey_rows in rows.groupby("survey", sort=True):
        total = survey_rows[survey_rows["dimension"] == "all"]["n"]
        if total.empty:
            total = survey_rows.groupby(["dimension", "level"])["n"].sum()
        if not total.empty:
            counts[str(survey)] = int(total.max())
    return counts


def respondents_sentence(counts: Mapping[str, int], *, cycle: int, where: str) -> str:
    """How many people answered each survey in ``cycle`` (``counts``: survey -> people)."""
    if not counts:
        return f"No published response counts for {md_escape(where)} in {cycle}."
    parts = [
        f"{n:,} people answered the {md_escape(survey)} survey" for survey, n in counts.items()
    ]
    return f"In {cycle}, in {md_escape(where)}, " + " and ".join(parts) + "."
