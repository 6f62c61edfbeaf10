"""The chart library: plotnine charts with one theme (DESIGN.md decision 6).

Every function takes bundle tables (already suppressed) and returns a ``ggplot``; none
computes statistics or saves files. Suppressed rows are dropped from the marks and named
in the caption by the report, so a chart never shows a suppressed group.
"""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    annotate,
    coord_flip,
    element_blank,
    element_text,
    geom_hline,
    geom_point,
    geom_pointrange,
    ggplot,
    labs,
    scale_color_manual,
    scale_y_log10,
    theme,
    theme_minimal,
)

# Okabe-Ito: a colour-blind-safe qualitative palette.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
BAND_LABEL = "four-fifths convention (0.80-1.25)"


def ptw_theme() -> theme:
    """The one theme: minimal, large readable text at A4 width, no minor grid."""
    return theme_minimal(base_size=11) + theme(
        figure_size=(7.5, 4.5),
        panel_grid_minor=element_blank(),
        plot_title=element_text(size=12, weight="bold"),
        legend_position="bottom",
    )


def published(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that may be drawn: not suppressed and with a value."""
    return table[~table["suppressed"].fillna(False).astype(bool)]


def forest_plot(
    comparisons: pd.DataFrame, *, title: str, band: tuple[float, float] = (0.8, 1.25)
) -> ggplot:
    """Relative likelihood with its CI per group (log scale), the band shaded.

    Args:
        comparisons: comparison rows of one indicator x cycle x region (any dimensions);
            the reference rows and suppressed rows are not drawn.
        title: chart title.
        band: the four-fifths convention band drawn as dashed lines.
    """
    data = published(comparisons)
    data = data[~data["is_reference"] & data["rel_likelihood"].notna()].copy()
    data["label"] = data["dimension"].str.replace("_", " ") + ": " + data["group"].astype(str)
    data["position"] = (
        data["outside_band"].map({True: "outside band", False: "inside band"}).fillna("inside band")
    )
    return (
        ggplot(
            data,
            aes(
                x="label", y="rel_likelihood", ymin="rl_ci_low", ymax="rl_ci_high", color="position"
            ),
        )
        + annotate(
            "rect",
            xmin=-float("inf"),
            xmax=float("inf"),
            ymin=band[0],
            ymax=band[1],
            alpha=0.12,
            fill="#999999",
        )
        + geom_hline(yintercept=1.0, linetype="solid", color="#555555")
        + geom_hline(yintercept=band, linetype="dashed", color="#777777")
        + geom_pointrange()
        + geom_point(size=2)
        + scale_y_log10()
        + scale_color_manual(values={"inside band": PALETTE[0], "outside band": PALETTE[1]})
        + coord_flip()
        + labs(x="", y="Relative likelihood vs reference group (log scale)", color="", title=title)
        + ptw_theme()
    )


def forest_alt_text(comparisons: pd.DataFrame, *, indicator_label: str) -> str:
    """Alt text describing a forest plot from its data (largest relative likelihoods first)."""
    data = published(comparisons)
    data = data[~data["is_reference"] & data["rel_likelihood"].notna()].sort_values(
        "rel_likelihood", ascending=False
    )
    if data.empty:
        return f"No comparisons can be shown for {indicator_label}."
    parts = [
        f"{row.group} {row.rel_likelihood:.2f} (95% CI {row.rl_ci_low:.2f} to {row.rl_ci_high:.2f})"
        for row in data.head(4).itertuples()
    ]
    return (
        f"Forest plot of relative likelihood for {indicator_label} against each reference group. "
        f"Largest: {'; '.join(parts)}."
    )
