"""The analysis plan (``analysis/plan.yaml``): a typed model and its loader.

The plan declares indicators (an item and the answers that count as the event, adverse or
favourable), dimensions with their levels, intersections, the confidence level, the
four-fifths band and the multiplicity family. Errors are reported as ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from toolkit.errors import InstrumentError
from toolkit.yaml_lines import load_with_lines


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndicatorSpec(_Strict):
    """A binary indicator: share of those answering whose answer is in ``events``."""

    name: str
    survey: str
    item: str
    label: str
    events: tuple[str, ...]
    direction: Literal["adverse", "favourable"]
    standards: tuple[str, ...] = ()


class DimensionSpec(_Strict):
    """A dimension to compare by, at the levels listed (coarsest first)."""

    name: str
    levels: tuple[str, ...]


class IntersectionSpec(_Strict):
    """Groups formed by crossing dimensions, at one level for each (or one level for all)."""

    dimensions: tuple[str, ...]
    level: str | None = None
    levels: tuple[str, ...] | None = None

    def level_of(self, index: int) -> str:
        """The level used for the ``index``-th dimension."""
        if self.levels:
            return self.levels[index]
        return self.level or "binary"

    @property
    def name(self) -> str:
        """e.g. ``ethnicity × disability``."""
        return " × ".join(self.dimensions)


class MultiplicitySpec(_Strict):
    """Which p-value adjustment, over which family of comparisons."""

    method: Literal["fdr_bh", "holm"] = "fdr_bh"
    family: tuple[str, ...] = ("survey", "cycle", "region", "dimension", "level")


class ModelsSpec(_Strict):
    """Adjusted comparisons: logistic regression of each indicator on each binary dimension."""

    dimensions: tuple[str, ...] = ("ethnicity", "disability")
    covariates: tuple[str, ...] = ("sector", "career_stage", "region")


class WeightsSpec(_Strict):
    """Survey weights.

    ``none``: every respondent counts once. ``raked``: weights raked (iterative proportional
    fitting) per cycle to the population totals in ``margins`` (a CSV with columns
    ``cycle`` (optional), ``variable``, ``level``, ``total``; path relative to the plan file),
    capped at ``cap`` times the mean weight (the NHS Staff Survey caps at 5).
    """

    method: Literal["none", "raked"] = "none"
    margins: str | None = None
    cap: float | None = 5.0


class Plan(_Strict):
    """An analysis plan."""

    name: str
    title: str
    level: float = 0.95
    band: tuple[float, float] = (0.8, 1.25)
    multiplicity: MultiplicitySpec = MultiplicitySpec()
    regions: bool = True
    dimensions: tuple[DimensionSpec, ...]
    intersections: tuple[IntersectionSpec, ...] = ()
    indicators: tuple[IndicatorSpec, ...]
    models: ModelsSpec = ModelsSpec()
    weights: WeightsSpec = WeightsSpec()

    @property
    def surveys(self) -> list[str]:
        """The surveys the indicators come from, in first-use order."""
        return list(dict.fromkeys(ind.survey for ind in self.indicators))


def load_plan(path: Path) -> Plan:
    """Load and validate an analysis plan.

    Raises:
        InstrumentError: located at ``file:line`` with the field and what is wrong.
    """
    located = load_with_lines(path)
    try:
        return Plan.model_validate(located.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InstrumentError(
            code="plan.invalid",
            message=f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
            file=str(path),
            line=located.line_of(tuple(first["loc"])),
            fix="see the comments in analysis/plan.yaml for the expected shape",
        ) from exc
