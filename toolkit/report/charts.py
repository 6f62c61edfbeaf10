"""The chart library: plotnine charts with one theme (DESIGN.md decision 6).

Every chart function takes a bundle table (already suppressed) and returns a ``ggplot``; none
computes statistics or saves files. Rows flagged ``suppressed`` are never drawn and never
appear in labels or alt text: :func:`published` removes them first, and the report names them
in its text with their reasons. Each chart has a companion ``*_alt_text`` function that
describes it from the same published rows, so alt text is generated from the data.

Columns are read by name; a table lacking a column a chart needs yields an empty chart frame
rather than an error (bundles grow over time, see ``toolkit.report.sentences``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    annotate,
    coord_flip,
    element_blank,
    element_text,
    facet_wrap,
    geom_col,
    geom_hline,
    geom_label,
    geom_line,
    geom_point,
    geom_pointrange,
    geom_ribbon,
    geom_segment,
    geom_step,
    geom_text,
    geom_tile,
    ggplot,
    labs,
    scale_color_manual,
    scale_fill_gradient2,
    scale_fill_manual,
    scale_linetype_manual,
    scale_x_continuous,
    scale_y_continuous,
    scale_y_log10,
    theme,
    theme_minimal,
)

# Okabe-Ito: a colour-blind-safe qualitative palette (black last, for the reference group).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Diverging Likert colours, disagree (vermillion) -> neutral (grey) -> agree (blue).
LIKERT_COLOURS = ("#B2432F", "#E69F7A", "#BBBBBB", "#7FB2D9", "#0072B2")
BAND = (0.8, 1.25)
BAND_LABEL = "four-fifths convention (0.80-1.25)"
#: A4 text width is about 6.3 in: a 7 in figure is shown at 90%, so 10 pt text prints at 9 pt
#: and the smallest text (9.5 pt tile labels) at over 8 pt.
FIGURE_SIZE = (7.0, 4.5)
CI_TEXT = "95% CI"
#: Heat-map colours: favourable for the group (blue) -> equal (white) -> unfavourable (vermillion).
FAVOURABLE, UNFAVOURABLE = PALETTE[0], PALETTE[1]
FOREST_INSIDE = "interval reaches into the band"
FOREST_OUTSIDE = "whole interval outside the band"
FOREST_COLOURS = (
    "Vermillion: the whole 95% interval lies outside the band; blue: the interval reaches into it."
)


def ptw_theme() -> theme:
    """The one theme: minimal, text readable at A4 width (>= 8 pt printed), no minor grid."""
    return theme_minimal(base_size=11) + theme(
        figure_size=FIGURE_SIZE,
        panel_grid_minor=element_blank(),
        plot_title=element_text(size=12, weight="bold", ha="left"),
        plot_title_position="plot",
        axis_text=element_text(size=10),
        axis_title=element_text(size=10),
        legend_position="bottom",
        legend_text=element_text(size=10),
        strip_text=element_text(size=10, weight="bold"),
    )


def wrap(text: object, width: int = 28) -> str:
    """``text`` broken onto lines of at most ``width`` characters (for axis labels)."""
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _ordered(values: pd.Series, *, reverse: bool = False) -> pd.Categorical:
    """``values`` as a categorical in their order of first appearance (reversed for flipped
    axes, so the first row is drawn at the top)."""
    levels = list(dict.fromkeys(values))
    return pd.Categorical(values, categories=levels[::-1] if reverse else levels, ordered=True)


def published(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that may be drawn: those not flagged ``suppressed`` (all rows if no such column)."""
    if "suppressed" not in table.columns:
        return table
    return table[~table["suppressed"].astype("boolean").fillna(False).astype(bool)]


def _with_columns(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Published rows with every column in ``columns`` present and not missing."""
    data = published(table)
    if any(column not in data.columns for column in columns):
        return data.iloc[0:0].reindex(columns=list(dict.fromkeys([*data.columns, *columns])))
    return data.dropna(subset=list(columns)).copy()


def _label(frame: pd.DataFrame) -> pd.Series:
    """Row labels: the ``label`` column when the table has one, else ``dimension: group``
    (``group`` alone when there is no dimension column)."""
    if "label" in frame.columns:
        return frame["label"].astype(str)
    group = frame["group"].astype(str)
    if "dimension" not in frame.columns:
        return group
    return frame["dimension"].astype(str).str.replace("_", " ") + ": " + group


def _ci(low: float, high: float) -> str:
    return f"{CI_TEXT} {low:.2f} to {high:.2f}"


# --- forest plot -------------------------------------------------------------------------------

#: Tick ladders for a relative likelihood on a log axis, coarsest first. The coarsest ladder
#: that labels both sides of 1 is used, so ticks stay far apart for the axis's span and
#: their labels never run together.
RATIO_LADDERS = (
    (0.01, 0.1, 1.0, 10.0, 100.0),
    (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0),
    (0.25, 0.35, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0),
    (0.6, 0.75, 1.0, 1.3, 1.7),
    (0.8, 0.9, 1.0, 1.1, 1.25),
)


def ratio_breaks(limits: Sequence[float]) -> list[float]:
    """Ticks for a log ratio axis spanning ``limits`` (data units): the coarsest ladder of
    :data:`RATIO_LADDERS` with a tick on each side of 1 (mizani's log breaks leave a range such
    as 0.6 to 2 labelled only 0.6, 0.7 and 1), else the coarsest with two ticks in range."""
    low, high = float(min(limits)), float(max(limits))
    inside = [[t for t in ladder if low <= t <= high] for ladder in RATIO_LADDERS]
    for ticks in inside:
        if any(t < 1 for t in ticks) and any(t > 1 for t in ticks):
            return ticks
    return next((ticks for ticks in inside if len(ticks) >= 2), inside[-1])


_FOREST = ("rel_likelihood", "rl_ci_low", "rl_ci_high", "group")


def forest_rows(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The rows a forest plot draws: published, non-reference, with a relative likelihood."""
    data = _with_columns(comparisons, _FOREST)
    if "is_reference" in data.columns:
        data = data[~data["is_reference"].astype("boolean").fillna(False).astype(bool)]
    return data


def forest_plot(
    comparisons: pd.DataFrame, *, title: str | None = None, band: tuple[float, float] = BAND
) -> ggplot:
    """Relative likelihood with its 95% CI per group on a log scale; the band shaded and labelled.

    Input: comparison rows (``COMPARISON_COLUMNS``) of one indicator x cycle x region, any
    dimensions, in the order to draw them (top first); an optional ``label`` column names the
    rows. Reference rows, suppressed rows and rows without a ratio are not drawn.
    Output: a ggplot; rows whose whole interval lies outside ``band`` (the bundle's
    ``outside_band``) are drawn in vermillion, the others in blue (no legend: the caption,
    :data:`FOREST_COLOURS`, says so, since a legend centred under a panel with long labels is
    clipped).
    """
    data = forest_rows(comparisons)
    data["label"] = _ordered(_label(data).map(lambda text: wrap(text, 60)), reverse=True)
    outside = (
        data["outside_band"] if "outside_band" in data.columns else pd.Series(False, data.index)
    )
    data["position"] = np.where(
        outside.astype("boolean").fillna(False), FOREST_OUTSIDE, FOREST_INSIDE
    )
    chart = ggplot(data, aes(x="label", y="rel_likelihood", ymin="rl_ci_low", ymax="rl_ci_high"))
    chart += [
        annotate(
            "rect",
            xmin=-np.inf,
            xmax=np.inf,
            ymin=band[0],
            ymax=band[1],
            alpha=0.15,
            fill="#999999",
        ),
        geom_hline(yintercept=1.0, color="#555555"),
        geom_hline(yintercept=list(band), linetype="dashed", color="#777777"),
        geom_pointrange(aes(color="position", group=1)),  # one draw call for all points
        scale_y_log10(breaks=ratio_breaks, labels=lambda values: [f"{v:g}" for v in values]),
        scale_color_manual(
            values={FOREST_INSIDE: PALETTE[0], FOREST_OUTSIDE: PALETTE[1]},
            breaks=[FOREST_INSIDE, FOREST_OUTSIDE],
        ),
        coord_flip(),
        labs(x="", y="Relative likelihood (log scale)", color="", title=title),
        ptw_theme(),
        theme(
            legend_position="none",
            figure_size=(7.0, max(2.5, 1.3 + 0.22 * data["label"].nunique())),
        ),
    ]
    return chart


def forest_alt_text(comparisons: pd.DataFrame, *, indicator_label: str) -> str:
    """Alt text for :func:`forest_plot` from its published rows (largest ratios first)."""
    data = forest_rows(comparisons).sort_values("rel_likelihood", ascending=False)
    if data.empty:
        return f"No relative likelihoods can be shown for {indicator_label}."
    parts = [
        f"{label} {row.rel_likelihood:.2f} ({_ci(row.rl_ci_low, row.rl_ci_high)})"
        for label, row in zip(_label(data), data.itertuples(), strict=True)
    ]
    return (
        f"Forest plot of relative likelihood for {indicator_label} against each reference group, "
        f"with the {BAND_LABEL} band shaded. {len(parts)} groups drawn: {'; '.join(parts)}."
    )


# --- heat map ----------------------------------------------------------------------------------


def heat_map(
    comparisons: pd.DataFrame, *, title: str, x: str = "group", y: str = "indicator_label"
) -> ggplot:
    """Relative likelihood as coloured tiles, ``x`` columns by ``y`` rows (default: group by
    indicator label).

    Input: comparison rows with ``rel_likelihood``, the ``x`` and ``y`` columns and optionally
    ``direction`` ("adverse" or "favourable": what a higher rate means for the group), in the
    order to draw them. Tiles are labelled with the ratio (one decimal) and coloured by how far
    it is from 1 on a log scale: vermillion where the group fares worse than its reference
    (a higher rate of an adverse outcome, a lower rate of a favourable one), blue where it
    fares better, so colour never says "lower" where lower is worse (the caption says so; no
    legend). Suppressed rows and rows without a ratio leave an empty tile.
    """
    data = _with_columns(comparisons, ("rel_likelihood", x, y))
    data = data[data["rel_likelihood"] > 0]
    favourable = (
        data["direction"].eq("favourable") if "direction" in data.columns
        else pd.Series(False, data.index)
    )  # fmt: skip
    log_rl = np.log2(data["rel_likelihood"].astype(float))
    data["worse"] = np.clip(np.where(favourable, -log_rl, log_rl), -1.5, 1.5)
    data["text"] = data["rel_likelihood"].map(lambda value: f"{value:.1f}")
    data[y] = _ordered(data[y].map(lambda text: wrap(text, 40)), reverse=True)
    column = _column_inches(data[y], columns=data[x].nunique())
    width, label_size = _chars_across(column), _tile_text_size(column)
    words = max((len(word) for label in data[x].astype(str) for word in label.split()), default=0)
    slanted = words > width  # a word wider than its column: slant the labels, never overprint
    data[x] = _ordered(data[x].astype(str) if slanted else data[x].map(lambda t: wrap(t, width)))
    rows = data[y].nunique()
    chart = ggplot(data, aes(x=x, y=y, fill="worse"))
    chart += [
        geom_tile(color="white"),
        geom_text(aes(label="text"), size=label_size),
        scale_fill_gradient2(
            low=FAVOURABLE, mid="#F7F7F7", high=UNFAVOURABLE, midpoint=0, limits=(-1.5, 1.5)
        ),
        labs(x="", y="", title=title),
        ptw_theme(),
        theme(
            legend_position="none",
            figure_size=(7.0, min(9.0, 1.6 + 0.42 * rows)),
        ),
        theme(axis_text_x=element_text(rotation=45, ha="right")) if slanted else theme(),
    ]
    return chart


#: Axis text size (points, :func:`ptw_theme`) and an average character's width as a share of it.
AXIS_PT, AXIS_CHAR_EM = 10.0, 0.62


def _column_inches(row_labels: pd.Series, *, columns: int, width: float = 7.0) -> float:
    """The width of one column of a heat map ``width`` inches wide whose rows carry
    ``row_labels`` (their longest line takes the left of the figure)."""
    longest = max((len(line) for label in row_labels.astype(str) for line in label.split("\n")),
                  default=0)  # fmt: skip
    panel = width - 0.3 - longest * AXIS_PT * AXIS_CHAR_EM / 72
    return max(panel, 0.0) / max(columns, 1)


def _chars_across(inches: float) -> int:
    """How many axis-text characters fit across ``inches`` (at least one)."""
    return max(1, int(inches / (AXIS_PT * AXIS_CHAR_EM / 72)))


def _tile_text_size(column_inches: float) -> float:
    """Points for a tile's label ("1.0", about 2.6 average characters) to take at most 85% of
    its column: the axis size when it fits, smaller in a many-column map (never overprinting)."""
    return min(AXIS_PT, 0.85 * column_inches * 72 / (2.6 * AXIS_CHAR_EM))


def heat_map_alt_text(
    comparisons: pd.DataFrame, *, subject: str, x: str = "group", y: str = "indicator_label"
) -> str:
    """Alt text for :func:`heat_map`: the size of the grid and its extreme cells."""
    data = _with_columns(comparisons, ("rel_likelihood", x, y))
    if data.empty:
        return f"No relative likelihoods can be shown for {subject}."
    ordered = data.sort_values("rel_likelihood")
    low, high = ordered.iloc[0], ordered.iloc[-1]
    return (
        f"Heat map of relative likelihood for {subject}: {data[y].nunique()} rows by "
        f"{data[x].nunique()} columns. Highest: {high[x]}, {high[y]}, "
        f"{high['rel_likelihood']:.2f}. Lowest: {low[x]}, {low[y]}, "
        f"{low['rel_likelihood']:.2f}."
    )


# --- trend lines -------------------------------------------------------------------------------


def trend_plot(
    per_cycle: pd.DataFrame,
    *,
    title: str,
    value: str = "estimate",
    percent: bool = True,
    y_label: str | None = None,
) -> ggplot:
    """One line per group across cycles with its 95% CI as a ribbon.

    Input: rows with ``cycle``, ``group``, ``value``, ``ci_low``, ``ci_high`` (a rate, a score,
    a gap or a relative likelihood; ``percent`` scales proportions to %; ``y_label`` names the
    axis, by default "%" for a rate).
    """
    data = _with_columns(per_cycle, ("cycle", "group", value, "ci_low", "ci_high"))
    data["group"] = _ordered(data["group"])
    scale = 100.0 if percent else 1.0
    for column in (value, "ci_low", "ci_high"):
        data[column] = data[column].astype(float) * scale
    data["cycle"] = data["cycle"].astype(int)
    cycles = sorted(data["cycle"].unique())
    chart = ggplot(data, aes(x="cycle", y=value, color="group", fill="group", group="group"))
    chart += [
        geom_ribbon(aes(ymin="ci_low", ymax="ci_high"), alpha=0.15, color="none"),
        geom_line(size=1),
        geom_point(size=2),
        scale_x_continuous(breaks=cycles, labels=[str(c) for c in cycles]),
        scale_color_manual(values=list(PALETTE)),
        scale_fill_manual(values=list(PALETTE)),
        labs(
            x="Survey cycle",
            y=y_label or ("% of respondents" if percent else "Value"),
            color="",
            fill="",
            title=title,
        ),
        ptw_theme(),
    ]
    return chart


def trend_alt_text(
    per_cycle: pd.DataFrame, *, subject: str, value: str = "estimate", percent: bool = True
) -> str:
    """Alt text for :func:`trend_plot`: each group's first and latest value."""
    data = _with_columns(per_cycle, ("cycle", "group", value, "ci_low", "ci_high"))
    if data.empty:
        return f"No trend can be shown for {subject}."
    scale, unit = (100.0, "%") if percent else (1.0, "")
    parts = []
    for group, rows in data.sort_values("cycle").groupby("group", sort=True):
        first, last = rows.iloc[0], rows.iloc[-1]
        parts.append(
            f"{group} {scale * first[value]:.1f}{unit} in {int(first['cycle'])} and "
            f"{scale * last[value]:.1f}{unit} in {int(last['cycle'])}"
        )
    return f"Line chart of {subject} by survey cycle with 95% CI ribbons: {'; '.join(parts)}."


def gap_trend_plot(gaps: pd.DataFrame, *, title: str, ncol: int = 3) -> ggplot:
    """Small multiples: each indicator's relative likelihood by cycle, one line per comparison.

    Input: ``trend_gaps``-shaped rows (non-reference) with ``cycle``, ``indicator_label``,
    ``comparison`` (e.g. "Ethnic minority vs White"), ``rel_likelihood``, ``rl_ci_low`` and
    ``rl_ci_high``, in the order to draw the panels. A line at 1 marks equality.
    """
    data = _with_columns(
        gaps,
        ("cycle", "indicator_label", "comparison", "rel_likelihood", "rl_ci_low", "rl_ci_high"),
    )
    data["cycle"] = data["cycle"].astype(int)
    data["indicator_label"] = _ordered(data["indicator_label"].map(lambda t: wrap(t, 24)))
    data["comparison"] = _ordered(data["comparison"])
    cycles = sorted(data["cycle"].unique())
    panels = max(1, data["indicator_label"].nunique())
    chart = ggplot(
        data,
        aes(
            x="cycle",
            y="rel_likelihood",
            color="comparison",
            fill="comparison",
            group="comparison",
        ),
    )
    chart += [
        geom_hline(yintercept=1.0, color="#555555"),
        geom_ribbon(aes(ymin="rl_ci_low", ymax="rl_ci_high"), alpha=0.15, color="none"),
        geom_line(size=0.8),
        geom_point(size=1.5),
        facet_wrap("indicator_label", ncol=ncol),
        scale_x_continuous(
            breaks=cycles, labels=[f"'{c % 100:02d}" for c in cycles], expand=(0.12, 0)
        ),
        scale_y_log10(labels=lambda values: [f"{v:g}" for v in values]),
        scale_color_manual(values=list(PALETTE)),
        scale_fill_manual(values=list(PALETTE)),
        labs(x="Survey cycle", y="Relative likelihood (log scale)", color="", fill="", title=title),
        ptw_theme(),
        theme(
            figure_size=(7.0, min(9.5, 1.5 + 1.9 * -(-panels // ncol))),
            strip_text=element_text(size=9, weight="bold"),
            axis_text=element_text(size=9),
        ),
    ]
    return chart


def gap_trend_alt_text(gaps: pd.DataFrame, *, subject: str) -> str:
    """Alt text for :func:`gap_trend_plot`: each line's first and latest relative likelihood."""
    data = _with_columns(
        gaps,
        ("cycle", "indicator_label", "comparison", "rel_likelihood", "rl_ci_low", "rl_ci_high"),
    )
    if data.empty:
        return f"No trend can be shown for {subject}."
    parts = []
    for (label, comparison), rows in data.sort_values("cycle").groupby(
        ["indicator_label", "comparison"], sort=False
    ):
        first, last = rows.iloc[0], rows.iloc[-1]
        parts.append(f"{label}, {comparison}: {first['rel_likelihood']:.2f} in "
                     f"{int(first['cycle'])}, {last['rel_likelihood']:.2f} in {int(last['cycle'])}")  # fmt: skip
    return f"Small-multiple line charts of relative likelihood by cycle for {subject}: {'; '.join(parts)}."


# --- Kaplan-Meier ------------------------------------------------------------------------------


def km_plot(curves: pd.DataFrame, *, title: str, time_label: str = "Time in post") -> ggplot:
    """Kaplan-Meier survival curves per group (steps) with 95% CI ribbons.

    Input: rows with ``group``, ``time``, ``survival``, ``ci_low``, ``ci_high``
    (``toolkit.stats.survival.CURVE_COLUMNS``), groups in the order to list them (legend and
    colours follow it); ``time_label`` names the time axis with the unit the bundle's times
    are in (e.g. "Years in post").
    """
    data = _with_columns(curves, ("group", "time", "survival"))
    data["group"] = _ordered(data["group"])
    if "ci_low" in data.columns and "ci_high" in data.columns:
        data["ci_low"] = data["ci_low"].fillna(data["survival"])
        data["ci_high"] = data["ci_high"].fillna(data["survival"])
    chart = ggplot(data, aes(x="time", y="survival", color="group", group="group"))
    if {"ci_low", "ci_high"} <= set(data.columns):
        chart += geom_ribbon(aes(ymin="ci_low", ymax="ci_high", fill="group"), alpha=0.12,
                             color="none")  # fmt: skip
    chart += [
        geom_step(size=1),
        scale_color_manual(values=list(PALETTE)),
        scale_fill_manual(values=list(PALETTE)),
        scale_y_continuous(
            limits=(0, 1), labels=lambda values: [f"{100 * v:.0f}%" for v in values]
        ),
        labs(x=time_label, y="Still in post", color="", fill="", title=title),
        ptw_theme(),
    ]
    return chart


def km_alt_text(curves: pd.DataFrame, *, subject: str, unit: str = "") -> str:
    """Alt text for :func:`km_plot`: each group's share still in post at its last time
    (one decimal place, followed by ``unit``, e.g. "years")."""
    data = _with_columns(curves, ("group", "time", "survival"))
    if data.empty:
        return f"No survival curves can be shown for {subject}."
    last = [rows.iloc[-1] for _, rows in data.sort_values("time").groupby("group", sort=True)]
    parts = [f"{row['group']} {100 * row['survival']:.0f}% at " + f"{row['time']:.1f} {unit}".strip()
             for row in last]  # fmt: skip
    return (
        f"Kaplan-Meier curves of {subject} with 95% CI ribbons; still in post: {'; '.join(parts)}."
    )


# --- Likert bars -------------------------------------------------------------------------------


def likert_bars(distribution: pd.DataFrame, *, title: str, levels: Sequence[str]) -> ggplot:
    """Diverging stacked bars: each group's answer shares, disagree left of 0, agree right.

    Input: rows with ``group``, ``level`` (an answer in ``levels``, ordered most negative
    first) and ``share`` (0-1). The middle answer of an odd scale is split across zero.
    """
    data = _with_columns(distribution, ("group", "level", "share"))
    data = data[data["level"].isin(levels)]
    rank = {level: position for position, level in enumerate(levels)}
    middle = (len(levels) - 1) / 2
    data["rank"] = data["level"].map(rank)
    data["signed"] = np.where(data["rank"] < middle, -1.0, 1.0) * 100 * data["share"]
    halves = data[data["rank"] == middle]
    negative_middle = halves.assign(signed=-halves["signed"] / 2)
    data = pd.concat([data[data["rank"] != middle], negative_middle,
                      halves.assign(signed=halves["signed"] / 2)])  # fmt: skip
    data["level"] = pd.Categorical(data["level"], categories=list(levels), ordered=True)
    colours = dict(zip(levels, _likert_colours(len(levels)), strict=True))
    chart = ggplot(data, aes(x="group", y="signed", fill="level"))
    chart += [
        geom_col(width=0.7),
        geom_hline(yintercept=0, color="#333333"),
        coord_flip(),
        scale_fill_manual(values=colours, breaks=list(levels)),
        labs(x="", y="% of respondents (disagree left, agree right)", fill="", title=title),
        ptw_theme(),
    ]
    return chart


def _likert_colours(count: int) -> list[str]:
    positions = np.linspace(0, len(LIKERT_COLOURS) - 1, count).round().astype(int)
    return [LIKERT_COLOURS[p] for p in positions]


def likert_alt_text(distribution: pd.DataFrame, *, subject: str, levels: Sequence[str]) -> str:
    """Alt text for :func:`likert_bars`: per group, the share in the top half of the scale."""
    data = _with_columns(distribution, ("group", "level", "share"))
    agree = set(levels[(len(levels) + 1) // 2 :])
    if data.empty:
        return f"No answers can be shown for {subject}."
    shares = data[data["level"].isin(agree)].groupby("group", sort=True)["share"].sum()
    parts = [f"{group} {100 * share:.0f}%" for group, share in shares.items()]
    return f"Diverging bar chart of answers to {subject}; agreeing: {'; '.join(parts)}."


# --- funnel plot --------------------------------------------------------------------------------

_FUNNEL = ("n", "estimate", "target", "flag")
#: Line types of the control limits, by limit level.
FUNNEL_LINES = {"95%": "dashed", "99.8%": "solid"}
FUNNEL_HIGHLIGHT = "this region"


def funnel_rows(units: pd.DataFrame) -> pd.DataFrame:
    """The units a funnel plot draws: published, with a rate, a target and a flag.

    Input: ``funnel_units`` rows of one funnel (``toolkit.analysis.small_numbers``); a
    ``label`` column names the points (default the ``region`` column).
    """
    data = _with_columns(units, _FUNNEL)
    if "label" not in data.columns:
        data["label"] = data["region"].astype(str) if "region" in data.columns else ""
    return data


def flag_words(flag: str) -> str:
    """ "inside the 95% limits", or e.g. "above the 99.8% limit"."""
    if flag == "inside":
        return "inside the 95% limits"
    side, level = flag.split(" ", 1)
    return f"{side} the {level} limit"


#: Funnel plot size (inches) and the panel inside it the label placement assumes: the figure
#: less the axis text and titles (left, bottom), a one-line title (top) and the legend (bottom).
FUNNEL_SIZE = (7.0, 3.4)
FUNNEL_PANEL = (6.2, 2.1)
#: Label text: size in points and the width of an average character of the theme's sans-serif
#: font as a share of that size (DejaVu Sans: about 0.6; rounded up so estimates err wide).
LABEL_PT = 8.0
LABEL_CHAR_EM = 0.62
#: Gap between a point and its label, and the point's radius, in inches.
LABEL_GAP, POINT_RADIUS = 0.06, 0.05


@dataclass(frozen=True)
class _Box:
    """A rectangle in panel inches (left, bottom, right, top)."""

    left: float
    bottom: float
    right: float
    top: float

    def overlaps(self, other: _Box) -> bool:
        return not (self.right <= other.left or other.right <= self.left
                    or self.top <= other.bottom or other.top <= self.bottom)  # fmt: skip

    def inside(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.bottom >= 0 and self.right <= width and self.top <= height


def place_labels(
    points: pd.DataFrame, *, x_range: tuple[float, float], y_range: tuple[float, float],
    panel: tuple[float, float] = FUNNEL_PANEL, size_pt: float = LABEL_PT,
) -> pd.DataFrame:  # fmt: skip
    """Where each point's label goes so that no two labels, and no label and point, overlap.

    Input: ``points`` with ``x``, ``y`` (data units, inside ``x_range`` and ``y_range``, the
    panel's limits) and ``label``, in the order to place them (first placed, first served).
    Each label's box is estimated from its characters (:data:`LABEL_CHAR_EM`) at ``size_pt``
    in a panel of ``panel`` inches. Candidates, nearest first: above, below, right, left, then
    stacked further above and below. A label takes the first candidate inside the panel that
    overlaps no placed label and no point; if none does, the one overlapping the fewest.
    Output: ``points`` with ``label_x``, ``label_y`` (the label's centre, data units) and
    ``leader`` (True when the label sits away from its point, so a line joins them).
    """
    width, height = panel
    sx = width / (x_range[1] - x_range[0])
    sy = height / (y_range[1] - y_range[0])
    xs = ((points["x"].astype(float) - x_range[0]) * sx).tolist()
    ys = ((points["y"].astype(float) - y_range[0]) * sy).tolist()
    dots = [_Box(x - POINT_RADIUS, y - POINT_RADIUS, x + POINT_RADIUS, y + POINT_RADIUS)
            for x, y in zip(xs, ys, strict=True)]  # fmt: skip
    line = size_pt * 1.25 / 72
    placed: list[_Box] = []
    centres, leaders = [], []
    for x, y, label in zip(xs, ys, points["label"].astype(str), strict=True):
        w, h = len(label) * size_pt * LABEL_CHAR_EM / 72, line
        candidates = [(x, y + LABEL_GAP + h / 2, False), (x, y - LABEL_GAP - h / 2, False),
                      (x + LABEL_GAP + POINT_RADIUS + w / 2, y, False),
                      (x - LABEL_GAP - POINT_RADIUS - w / 2, y, False)]  # fmt: skip
        for step in range(1, 7):
            candidates += [(x, y + LABEL_GAP + h / 2 + step * h, True),
                           (x, y - LABEL_GAP - h / 2 - step * h, True)]  # fmt: skip
        boxes = [_Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for cx, cy, _ in candidates]
        clashes = [sum(box.overlaps(o) for o in [*placed, *dots]) + (0 if box.inside(width, height)
                   else len(dots) + len(placed) + 1) for box in boxes]  # fmt: skip
        best = clashes.index(min(clashes))
        placed.append(boxes[best])
        centres.append(candidates[best][:2])
        leaders.append(candidates[best][2])
    return points.assign(
        label_x=[x_range[0] + cx / sx for cx, _ in centres],
        label_y=[y_range[0] + cy / sy for _, cy in centres],
        leader=leaders,
    )


def funnel_plot(
    units: pd.DataFrame, limits: pd.DataFrame, *, title: str, highlight: str | None = None
) -> ggplot:
    """Regions' rates against their respondents, with England's rate and control limits.

    Inputs: ``funnel_units`` rows of one indicator x cycle x dimension x group (labelled points)
    and the matching ``funnel_limits`` rows (curves: 95% dashed, 99.8% solid). ``highlight``
    names the ``label`` of a point to draw apart (a regional report's own region). The target
    is the horizontal line. Rates are shown in %. Every point is labelled where its label
    overlaps no other label or point (:func:`place_labels`: the highlighted region first, then
    those outside the limits, then by size); a label set apart is joined to its point by a line.
    """
    data = funnel_rows(units)
    curves = _with_columns(limits, ("denominator", "limit", "limit_level", "side"))
    curves["limit"] = 100 * curves["limit"].astype(float)
    curves["curve"] = curves["limit_level"].astype(str) + " " + curves["side"].astype(str)
    data["estimate"] = 100 * data["estimate"].astype(float)
    outside = data["flag"].ne("inside")
    data["position"] = np.where(outside, "outside the 95% limits", "inside the 95% limits")
    colours = {"inside the 95% limits": PALETTE[0], "outside the 95% limits": PALETTE[1]}
    if highlight is not None:
        data["position"] = np.where(data["label"] == highlight, FUNNEL_HIGHLIGHT, "other regions")
        colours = {"other regions": "#777777", FUNNEL_HIGHLIGHT: PALETTE[1]}
    x_range = (
        0.0,
        1.06 * max([*data["n"].astype(float), *curves["denominator"].astype(float), 1.0]),
    )
    values = [*data["estimate"], *curves["limit"], 0.0]
    y_range = (min(values), max(values) + 8.0)
    first = (data["label"] != highlight).astype(int) if highlight is not None else 0
    order = data.assign(first=first, inside=(~outside).astype(int), size=-data["n"].astype(float))
    order = order.sort_values(["first", "inside", "size", "label"], kind="stable")
    labels = place_labels(order.assign(x=order["n"], y=order["estimate"]),
                          x_range=x_range, y_range=y_range)  # fmt: skip
    leaders = labels[labels["leader"]]
    target = 100 * float(data["target"].iloc[0]) if not data.empty else None
    chart = ggplot(data, aes(x="n", y="estimate"))
    if target is not None:
        chart += geom_hline(yintercept=target, color="#333333")
    if not leaders.empty:
        chart += geom_segment(aes(x="n", y="estimate", xend="label_x", yend="label_y"),
                              data=leaders, color="#999999", size=0.3)  # fmt: skip
    chart += [
        geom_line(
            aes(x="denominator", y="limit", group="curve", linetype="limit_level"),
            data=curves,
            color="#555555",
        ),
        geom_point(aes(color="position"), size=3),
        geom_label(
            aes(x="label_x", y="label_y", label="label"),
            data=labels,
            size=LABEL_PT,
            label_size=0,
            label_padding=0.1,
            fill="white",
        ),
        scale_color_manual(values=colours),
        scale_linetype_manual(values=FUNNEL_LINES, name="control limit"),
        scale_x_continuous(limits=x_range, expand=(0, 0)),
        scale_y_continuous(limits=y_range, expand=(0, 0)),
        labs(x="Respondents in the group", y="Rate (%)", color="", title=title),
        ptw_theme(),
        theme(figure_size=FUNNEL_SIZE),
    ]
    return chart


def funnel_alt_text(units: pd.DataFrame, *, subject: str, highlight: str | None = None) -> str:
    """Alt text for :func:`funnel_plot`: England's rate and each drawn region's rate, size and
    position against the limits (the ``highlight`` region first)."""
    data = funnel_rows(units)
    if data.empty:
        return f"No regions can be placed on a funnel plot for {subject}."
    if highlight is not None:
        data = data.assign(first=data["label"] != highlight).sort_values(["first", "label"])
    parts = [
        f"{row.label} {100 * row.estimate:.1f}% of {int(row.n):,}, {flag_words(row.flag)}"
        for row in data.itertuples()
    ]
    return (
        f"Funnel plot of {subject}: each region's rate against its number of respondents, with "
        f"England's rate of {100 * float(data['target'].iloc[0]):.1f}% as a line and 95% "
        f"(dashed) and 99.8% (solid) control limits. {len(parts)} regions drawn: "
        f"{'; '.join(parts)}."
    )
