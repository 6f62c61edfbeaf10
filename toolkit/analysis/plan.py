"""The analysis plan (``analysis/plan.yaml``): a typed model and its loader.

The plan declares indicators (an item and the answers that count as the event, adverse or
favourable), dimensions with their levels, intersections, the confidence level, the
four-fifths band and the multiplicity family. Errors are reported as ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from toolkit.errors import InstrumentError
from toolkit.instruments.dimensions import Crossing
from toolkit.instruments.yaml_lines import load_with_lines


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ProgrammeAim = Literal["train", "retain", "reform"]
PROGRAMME_AIMS: tuple[ProgrammeAim, ...] = ("train", "retain", "reform")
"""The programme's three priorities, in its order (seed text: Train, Retain, Reform)."""


class IndicatorSpec(_Strict):
    """A binary indicator: share of those answering whose answer is in ``events``.

    Attributes:
        direction: whether the event is adverse or favourable for the people who report it.
            The relative likelihood is always rate(group) / rate(reference); ``direction`` says
            whether a value above 1 disadvantages the group (adverse) or favours it.
        standards: every standard or source the indicator mirrors (WRES 5, WDES 4a, ...).
        standard_label: the one label a report prints beside the indicator, e.g.
            "WRES 4 analogue" (empty = join ``standards``).
        programme_aim: the programme aim the indicator informs (train, retain, reform), so a
            report can frame its key findings by the programme's three aims.
        not_compared_by: dimensions or intersections (``ethnicity × sector``) the indicator is
            not compared by: a dimension because the question is asked of one of its groups only
            (WDES 8 is asked of disabled staff only: no disabled vs non-disabled comparison),
            so intersections with it are left out too; an intersection because its cells
            within the group asked would be too small to publish.
        asked_of: who is asked, when not everyone (e.g. "Disabled staff"), for the report.
    """

    name: str
    survey: str
    item: str
    label: str
    events: tuple[str, ...]
    direction: Literal["adverse", "favourable"]
    standards: tuple[str, ...] = ()
    standard_label: str = ""
    programme_aim: ProgrammeAim | None = None
    not_compared_by: tuple[str, ...] = ()
    asked_of: str = ""

    def compared_by(self, dimension: str) -> bool:
        """Whether this indicator is compared by ``dimension`` (an intersection's name such as
        ``ethnicity × disability`` is compared only if it and each of its dimensions are)."""
        parts = {dimension, *dimension.split(" × ")}
        return not parts & set(self.not_compared_by)


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

    def crossing(self) -> Crossing:
        """The intersection as the instruments' hierarchy describes it."""
        levels = tuple(self.level_of(i) for i in range(len(self.dimensions)))
        return Crossing(name=self.name, dimensions=self.dimensions, levels=levels)


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


class DimensionLevel(_Strict):
    """One dimension at one level, e.g. ``{name: ethnicity, level: binary}``."""

    name: str
    level: str


def _dims(*pairs: tuple[str, str]) -> tuple[DimensionLevel, ...]:
    return tuple(DimensionLevel(name=name, level=level) for name, level in pairs)


class OverTimeSpec(_Strict):
    """The ``over_time`` section of ``analysis/plan.yaml``.

    Attributes:
        indicators: plan indicator names that get trends; None = every plan indicator.
        trend_dimensions: dimensions and levels compared across cycles.
        min_n: fewest responses per cycle in a group and in the reference for a trend verdict
            (raised to the suppression threshold when lower).
        weights: optional survey weight column for the trend models (design-based SEs).
        regional_dimensions: dimensions and levels of the over-time tables of each NHS England
            region (trends, intention to leave, workforce rates, time in post, trainee
            outcomes; recruitment always has its standards' groups). England has every
            dimension of ``trend_dimensions`` and ``record_dimensions``; a region only these,
            because finer groups of one region are mostly under the threshold.
        multiplicity_method: p-value adjustment of the trend interactions.
        multiplicity_family: columns of ``trend_interactions`` that define one family
            (default: one family per survey x region x dimension x level, so a region's verdicts
            are adjusted among themselves, never with England's or another region's).
        retention_survey: the survey holding the intention-to-leave items.
        leaving_items: items reported in ``intention_to_leave`` (their ``outcome`` codes count).
        leaving_scale: the combined score (an instrument scale), NHS 0-10 scoring.
        record_dimensions: dimensions of the workforce rates and trainee outcomes.
        survival_dimensions: dimensions of the time-in-post curves, Cox and log-rank.
        km_times: years at which S(t) is reported.
        km_grid_months: spacing of the published Kaplan-Meier grid.
        ties: Cox ties method (``efron`` as R's coxph, or ``breslow``).
        years: workforce years; None = the survey cycles (or, without responses, the records'
            cycles). Year Y runs from the 1st of ``year_start_month`` in Y for twelve months.
        year_start_month: 4 = NHS financial years (April to March).
        benchmark: CSV with ``region, group, share`` (and optional ``level``) to use instead of
            the packaged Census 2021 benchmark.
        representation_levels: ethnicity levels compared with the benchmark.
        recruitment_standards: appointment-from-shortlisting presets reported.
    """

    indicators: tuple[str, ...] | None = None
    trend_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"),
        ("ethnicity", "grouped"),
        ("disability", "binary"),
        ("sector", "detailed"),
        ("career_stage", "detailed"),
    )
    regional_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"), ("disability", "binary")
    )
    min_n: int = 30
    weights: str | None = None
    multiplicity_method: Literal["fdr_bh", "holm"] = "fdr_bh"
    multiplicity_family: tuple[str, ...] = ("region", "dimension", "level")
    retention_survey: str = "retention"
    leaving_items: tuple[str, ...] = ("think_leaving", "look_new_job", "leave_asap",
                                      "intend_leave_12m")  # fmt: skip
    leaving_scale: str = "thinking_about_leaving"
    record_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"),
        ("ethnicity", "grouped"),
        ("disability", "binary"),
        ("sector", "detailed"),
        ("career_stage", "detailed"),
        ("region", "detailed"),
    )
    survival_dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"), ("disability", "binary")
    )
    km_times: tuple[float, ...] = (1.0, 2.0, 3.0)
    km_grid_months: int = 1
    ties: Literal["efron", "breslow"] = "efron"
    years: tuple[int, ...] | None = None
    year_start_month: int = 4
    benchmark: Path | None = None
    representation_levels: tuple[str, ...] = ("binary", "grouped")
    recruitment_standards: tuple[Literal["WRES 2", "WDES 2"], ...] = ("WRES 2", "WDES 2")


class SmallNumbersSpec(_Strict):
    """The ``small_numbers`` section of ``analysis/plan.yaml``: is a region or a small group
    really different, or is it noise? (funnel plots and partially pooled estimates, issue 15).

    Attributes:
        indicators: plan indicators that get funnels and pooled estimates (the headline ones);
            None = every plan indicator. Names must be plan indicators.
        dimensions: binary comparisons whose groups are placed on a funnel per region, and
            whose region x group cells get pooled estimates.
        funnels: whether to write ``funnel_units`` and ``funnel_limits``.
        funnel_adjust: over-dispersion allowance of the control limits: ``additive``
            (random-effects tau-squared, DerSimonian-Laird), ``multiplicative`` (phi) or
            ``none`` (Poisson-binomial limits only); applied only when phi > 1.
        funnel_trim: how z-scores are trimmed before phi is estimated (``winsorise`` or
            ``truncate``); None = FunnelPlotR's choice (winsorise for proportions).
        limit_points: points on each control-limit curve in ``funnel_limits``.
        pooling: whether to write ``pooled_estimates``.
        pooling_method: ``glmm`` (multilevel logistic model) or ``beta-binomial`` (empirical
            Bayes, one common prior).
        intersections: also pool the cells of every plan intersection (nationally and by
            region).
    """

    indicators: tuple[str, ...] | None = None
    dimensions: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"), ("disability", "binary")
    )
    funnels: bool = True
    funnel_adjust: Literal["additive", "multiplicative", "none"] = "additive"
    funnel_trim: Literal["winsorise", "truncate"] | None = None
    limit_points: int = 200
    pooling: bool = True
    pooling_method: Literal["glmm", "beta-binomial"] = "glmm"
    intersections: bool = True


class Plan(_Strict):
    """An analysis plan.

    Attributes:
        regions: also compare groups within each NHS England region.
        regional_levels: the dimensions (or intersections, e.g. ``ethnicity × sector`` at
            ``binary×detailed``) and levels compared within a region; England has every
            dimension, level and intersection of the plan. As in the regional WRES and WDES
            (White and BME staff, disabled and non-disabled staff), a region's finer groups
            (sectors, detailed ethnicities, intersections) are mostly under the suppression
            threshold, and publishing them beside England's would let England minus the regions
            recover the small ones: they are published nationally only.
    """

    name: str
    title: str
    level: float = 0.95
    band: tuple[float, float] = (0.8, 1.25)
    multiplicity: MultiplicitySpec = MultiplicitySpec()
    regions: bool = True
    regional_levels: tuple[DimensionLevel, ...] = _dims(
        ("ethnicity", "binary"),
        ("disability", "binary"),
        ("career_stage", "detailed"),
    )
    dimensions: tuple[DimensionSpec, ...]
    intersections: tuple[IntersectionSpec, ...] = ()
    indicators: tuple[IndicatorSpec, ...]
    models: ModelsSpec = ModelsSpec()
    weights: WeightsSpec = WeightsSpec()
    over_time: OverTimeSpec = OverTimeSpec()
    small_numbers: SmallNumbersSpec = SmallNumbersSpec()

    @model_validator(mode="after")
    def _small_numbers_indicators_exist(self) -> Plan:
        unknown = set(self.small_numbers.indicators or ()) - {i.name for i in self.indicators}
        if unknown:
            raise ValueError(
                f"small_numbers.indicators names {sorted(unknown)}, which are not plan indicators"
            )
        return self

    def compared_in_regions(self, dimension: str, level: str) -> bool:
        """Whether groups of ``dimension`` at ``level`` are compared within each region."""
        return self.regions and any(
            d.name == dimension and d.level == level for d in self.regional_levels
        )

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
