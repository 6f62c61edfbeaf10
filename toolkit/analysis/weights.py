"""Survey weights for a plan: none, or raked per cycle to population margins.

The margins file (CSV) has columns ``variable``, ``level``, ``total`` and optionally
``cycle`` (rows without a cycle apply to every cycle). Levels are the stored answer codes
(e.g. region ``LON``, sector ``COMM``). Raking is iterative proportional fitting
(:func:`toolkit.stats.rake.rake`), capped at ``cap`` times the mean weight.

:func:`plan_weights` returns the weight of every respondent and a ``weighting`` table for
the bundle: survey, cycle, method, respondents, iterations, converged, design_effect,
effective_sample_size, max_weight_ratio (largest weight / mean weight).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.analysis.plan import WeightsSpec
from toolkit.errors import PtwError
from toolkit.stats.rake import rake

WEIGHTING_COLUMNS = (
    "survey", "cycle", "method", "respondents", "iterations", "converged", "design_effect",
    "effective_sample_size", "max_weight_ratio",
)  # fmt: skip


def read_margins(path: Path) -> pd.DataFrame:
    """The margins file as a DataFrame (``cycle`` is NA when the file has none)."""
    if not path.exists():
        raise PtwError(
            code="weights.no_margins_file",
            message="the plan asks for raked weights but the margins file does not exist",
            file=str(path),
            fix="write a CSV with columns variable, level, total (and optionally cycle), or set weights: none",
        )
    margins = pd.read_csv(path, dtype={"level": str, "variable": str})
    if "cycle" not in margins:
        margins["cycle"] = pd.NA
    return margins


def plan_weights(
    spec: WeightsSpec, answers: pd.DataFrame, *, survey: str, plan_dir: Path
) -> tuple[pd.Series | None, pd.DataFrame]:
    """Weights for ``answers`` (one row per respondent, with ``cycle``) under ``spec``.

    Returns:
        ``(weights, weighting)``: weights aligned to ``answers.index`` (``None`` when the
        plan uses no weights) and the diagnostics table (:data:`WEIGHTING_COLUMNS`).
    """
    if spec.method == "none":
        return None, pd.DataFrame(columns=list(WEIGHTING_COLUMNS))
    if spec.margins is None:
        raise PtwError(
            code="weights.no_margins",
            message="raked weights need a margins file",
            fix="set weights.margins in the analysis plan to a CSV of population totals",
        )
    margins = read_margins(plan_dir / spec.margins)
    weights = pd.Series(1.0, index=answers.index)
    rows = []
    for cycle, part in answers.groupby("cycle", sort=True):
        targets = margins[margins["cycle"].isna() | (margins["cycle"] == cycle)]
        result = rake(part, targets[["variable", "level", "total"]], cap=spec.cap)
        weights.loc[part.index] = result.weights
        rows.append(
            {
                "survey": survey,
                "cycle": int(cycle),
                "method": f"raked to {', '.join(sorted(targets['variable'].unique()))}"
                + (f", capped at {spec.cap} x mean" if spec.cap else ""),
                "respondents": len(part),
                "iterations": result.iterations,
                "converged": result.converged,
                "design_effect": result.design_effect,
                "effective_sample_size": result.effective_sample_size,
                "max_weight_ratio": float(result.weights.max() / result.weights.mean()),
            }
        )
    return weights, pd.DataFrame(rows, columns=list(WEIGHTING_COLUMNS))
