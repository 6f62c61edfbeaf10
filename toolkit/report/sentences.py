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

import numpy as np
import pandas as pd

NOT_AVAILABLE = "not available in this bundle"
SUPPRESSED = "suppressed"
#: NHS England region codes used in bundles and their names.
REGION_NAMES: dict[str, str] = {
    "England": "England",
    "EOE": "East of England",
    "LON": "London",
    "MID": "Midlands",
    "NEY": "North East and Yorkshire",
    "NW": "North West",
    "SE": "South East",
    "SW": "South West",
}
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


def suppressed_text(row: Mapping[str, object]) -> str:
    """``"suppressed (reason)"`` for a suppressed row, reason escaped."""
    reason = row.get("suppression_reason")
    return f"{SUPPRESSED} ({md_escape(reason)})" if reason and not pd.isna(reason) else SUPPRESSED


def not_available(what: str) -> str:
    """The sentence a section shows when the bundle lacks its table."""
    return f"*{md_escape(what)}: {NOT_AVAILABLE}.*"


def bullet_list(lines: Iterable[str]) -> str:
    """Markdown bullet list (empty string for no lines)."""
    return "\n".join(f"- {line}" for line in lines)


def has_columns(table: pd.DataFrame, *columns: str) -> bool:
    """True when ``table`` has rows and every column in ``columns``."""
    return not table.empty and all(column in table.columns for column in columns)


def gap_sentence(row: Mapping[str, object], *, band: tuple[float, float] = (0.8, 1.25)) -> str:
    """One comparison row as a sentence.

    Published: "Group: 34.1% (95% CI 30.2% to 38.3%) against 25.0% for Reference; relative
    likelihood 1.36 (95% CI 1.15 to 1.61), outside the four-fifths convention (0.80-1.25)."
    Suppressed: "Group: suppressed (reason)."
    """
    group = md_escape(row.get("group"))
    if is_suppressed(row):
        return f"{group}: {suppressed_text(row)}."
    text = f"{group}: {percent(row.get('estimate'))}"
    if not pd.isna(row.get("ci_low")) and not pd.isna(row.get("ci_high")):
        text += f" (95% CI {percent(row['ci_low'])} to {percent(row['ci_high'])})"
    rl = row.get("rel_likelihood")
    if pd.isna(rl):
        note = row.get("note")
        return text + (f"; no relative likelihood ({md_escape(note)})." if note else ".")
    where = "inside" if band[0] <= float(rl) <= band[1] else "outside"
    return (
        f"{text} against the reference group {md_escape(row.get('reference_group'))}; relative "
        f"likelihood {ratio(rl)} (95% CI {ratio(row.get('rl_ci_low'))} to "
        f"{ratio(row.get('rl_ci_high'))}), {where} the four-fifths convention "
        f"({band[0]:.2f}-{band[1]:.2f})."
    )


def gap_summary(comparisons: pd.DataFrame, *, labels: Mapping[str, str]) -> str:
    """Bulleted summary of the non-reference rows of ``comparisons``, one line per row.

    Input: comparison rows of one cycle x region x dimension x level (any indicators).
    Output: "**Indicator** — sentence" lines; suppressed rows named with their reason.
    """
    needed = ("indicator", "group", "estimate", "suppressed")
    if not has_columns(comparisons, *needed):
        return not_available("Comparisons for this selection")
    rows = comparisons
    if "is_reference" in rows.columns:
        rows = rows[~rows["is_reference"].astype("boolean").fillna(False).astype(bool)]
    lines = [
        f"**{md_escape(labels.get(row['indicator'], row['indicator']))}**: {gap_sentence(row)}"
        for row in rows.to_dict(orient="records")
    ]
    return bullet_list(lines) or "No comparisons for this selection."


def largest_gaps(comparisons: pd.DataFrame, *, labels: Mapping[str, str], top: int = 5) -> str:
    """The ``top`` published comparisons furthest from equality (|log RL| largest), as bullets.

    Only rows whose 95% CI excludes 1 are listed; says so when there are none.
    """
    if not has_columns(comparisons, "rel_likelihood", "rl_ci_low", "rl_ci_high", "indicator"):
        return not_available("Relative likelihoods")
    data = comparisons[~comparisons["suppressed"].astype("boolean").fillna(False).astype(bool)]
    data = data.dropna(subset=["rel_likelihood", "rl_ci_low", "rl_ci_high"])
    data = data[(data["rl_ci_low"] > 1) | (data["rl_ci_high"] < 1)]
    if data.empty:
        return "No relative likelihood has a 95% confidence interval that excludes 1."
    distance = np.log(data["rel_likelihood"].astype(float)).abs()
    data = data.assign(distance=distance).sort_values(
        ["distance", "indicator", "group"], ascending=[False, True, True]
    )
    lines = []
    for row in data.head(top).to_dict(orient="records"):
        where = f"{md_escape(str(row.get('dimension', '')).replace('_', ' '))}, "
        label = md_escape(labels.get(row["indicator"], row["indicator"]))
        lines.append(f"**{label}** ({where.rstrip(', ')}): {gap_sentence(row)}")
    return bullet_list(lines)


def suppression_summary(comparisons: pd.DataFrame, *, threshold: int) -> str:
    """The suppression policy and every suppressed group of ``comparisons`` with its reason."""
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
    keys = [c for c in ("dimension", "group", "suppression_reason") if c in hidden.columns]
    distinct = hidden[keys].drop_duplicates().sort_values(keys)
    lines = [
        f"{md_escape(str(row.get('dimension', '')).replace('_', ' '))}: "
        f"{md_escape(row['group'])}, {suppressed_text(row)}"
        for row in distinct.to_dict(orient="records")
    ]
    return (
        f"{policy} Groups suppressed in at least one figure ({len(hidden)} rows):\n\n"
        + bullet_list(lines)
    )


def verdict_sentences(verdicts: pd.DataFrame, *, labels: Mapping[str, str]) -> str:
    """Plain-words trend verdicts ("gap narrowing", ...) per indicator and group, as bullets.

    Input: ``trend_interactions`` rows with ``group`` and ``verdict`` (optionally
    ``indicator``, ``dimension``, ``interaction``, ``ci_low``, ``ci_high``, ``reason``).
    """
    if not has_columns(verdicts, "group", "verdict"):
        return not_available("Trend verdicts")
    lines = []
    for row in verdicts.to_dict(orient="records"):
        head = md_escape(labels.get(row.get("indicator"), row.get("indicator") or "Indicator"))
        if is_suppressed(row):
            lines.append(f"**{head}**, {md_escape(row['group'])}: {suppressed_text(row)}.")
            continue
        text = f"**{head}**, {md_escape(row['group'])}: {md_escape(row['verdict'])}"
        if not pd.isna(row.get("interaction", float("nan"))) and "ci_low" in row:
            text += (
                f" (change in the log-odds gap per cycle {row['interaction']:.3f}, 95% CI "
                f"{row['ci_low']:.3f} to {row['ci_high']:.3f})"
            )
        lines.append(text + ".")
    return bullet_list(lines)


def change_sentences(changes: pd.DataFrame, *, labels: Mapping[str, str]) -> str:
    """Latest cycle against the previous one, per indicator, group and measure, as bullets.

    Input: ``trend_changes`` rows with ``group``, ``cycle``, ``previous_cycle``, ``measure``
    and ``change`` (proportion points; optionally ``p_value``, ``indicator``).
    """
    if not has_columns(changes, "group", "cycle", "previous_cycle", "change"):
        return not_available("Changes since the last cycle")
    lines = []
    for row in changes.to_dict(orient="records"):
        head = md_escape(labels.get(row.get("indicator"), row.get("indicator") or "Indicator"))
        what = md_escape(row.get("measure") or "rate")
        if is_suppressed(row):
            lines.append(f"**{head}**, {md_escape(row['group'])} ({what}): {suppressed_text(row)}.")
            continue
        change = row["change"]
        direction = "no change" if change == 0 else ("up" if change > 0 else "down")
        text = (
            f"**{head}**, {md_escape(row['group'])} ({what}): {direction} "
            f"{abs(100 * change):.1f} percentage points from {int(row['previous_cycle'])} to "
            f"{int(row['cycle'])}"
        )
        if not pd.isna(row.get("p_value", float("nan"))):
            text += f" (p = {row['p_value']:.3f})"
        lines.append(text + ".")
    return bullet_list(lines)


def respondents_sentence(profile: pd.DataFrame, *, cycle: int, where: str) -> str:
    """How many people responded in ``cycle`` (the largest published total of any dimension)."""
    if not has_columns(profile, "n", "cycle", "dimension"):
        return not_available("Response profile")
    rows = profile[(profile["cycle"] == cycle)]
    rows = rows[~rows["suppressed"].astype("boolean").fillna(False).astype(bool)]
    if rows.empty:
        return f"No published response counts for {md_escape(where)} in {cycle}."
    totals = rows.groupby(["survey", "dimension"] if "survey" in rows else ["dimension"])["n"].sum()
    per_survey = totals.groupby(level=0).max() if "survey" in rows else totals.max()
    if isinstance(per_survey, pd.Series):
        parts = [
            f"{int(n):,} to the {md_escape(survey)} survey" for survey, n in per_survey.items()
        ]
        return (
            f"In {cycle}, {md_escape(where)}: "
            + "; ".join(parts)
            + " (those who answered the equality questions)."
        )
    return f"In {cycle}, {int(per_survey):,} people responded in {md_escape(where)}."
