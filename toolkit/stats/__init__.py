"""Equality statistics: one function per statistical question, tidy DataFrames out.

Every function takes its data first and everything else by keyword: the grouping column is
``group`` (a column, or a list of columns for an intersection, where that makes sense), the
reference group ``reference``. It returns a DataFrame whose columns never change with the
options; the method used is a value in a column, one of the labels of
:mod:`toolkit.stats.methods`. :func:`gap_trend` and :func:`kaplan_meier` return result objects
holding several DataFrames, given as a dict by their ``tables()`` method. Published aggregate
tables go through the ``*_from_counts`` twins. ``docs/api.md`` lists the API; each module's
docstring gives the formulas and sources.
"""

from toolkit.stats.association import association
from toolkit.stats.comparisons import (
    STANDARD_PRESETS,
    difference,
    difference_from_counts,
    relative_likelihood,
    relative_likelihood_from_counts,
    standard_relative_likelihood,
)
from toolkit.stats.funnel import FUNNEL_COLUMNS, FUNNEL_LIMIT_COLUMNS, funnel, funnel_limits
from toolkit.stats.likert import (
    cronbach_alpha,
    likert_distribution,
    mean_score,
    percent_favourable,
    proportional_odds,
    rank_tests,
    scale_scores,
)
from toolkit.stats.models import MODEL_COLUMNS, logistic
from toolkit.stats.multiplicity import adjust_p_values
from toolkit.stats.pooling import (
    POOLED_COLUMNS,
    POOLING_PARAMETER_COLUMNS,
    PooledEstimates,
    pooled_rates,
)
from toolkit.stats.power import minimum_detectable_difference
from toolkit.stats.proportions import proportions, proportions_from_counts
from toolkit.stats.representation import load_census_benchmark, representation_ratio
from toolkit.stats.survival import KaplanMeierResult, cox, kaplan_meier, logrank
from toolkit.stats.trends import GapTrend, gap_trend, verdicts_with_multiplicity
from toolkit.stats.workforce import (
    appointment_from_shortlisting,
    appointment_relative_likelihood,
    joiner_rate,
    leaver_rate,
    stability_index,
    time_in_post,
    trainee_outcomes,
    vacancy_rate,
    workforce_metrics,
)

__all__ = [
    "FUNNEL_COLUMNS",
    "FUNNEL_LIMIT_COLUMNS",
    "MODEL_COLUMNS",
    "POOLED_COLUMNS",
    "POOLING_PARAMETER_COLUMNS",
    "STANDARD_PRESETS",
    "GapTrend",
    "KaplanMeierResult",
    "PooledEstimates",
    "adjust_p_values",
    "appointment_from_shortlisting",
    "appointment_relative_likelihood",
    "association",
    "cox",
    "cronbach_alpha",
    "difference",
    "difference_from_counts",
    "funnel",
    "funnel_limits",
    "gap_trend",
    "joiner_rate",
    "kaplan_meier",
    "leaver_rate",
    "likert_distribution",
    "load_census_benchmark",
    "logistic",
    "logrank",
    "mean_score",
    "minimum_detectable_difference",
    "percent_favourable",
    "pooled_rates",
    "proportional_odds",
    "proportions",
    "proportions_from_counts",
    "rank_tests",
    "relative_likelihood",
    "relative_likelihood_from_counts",
    "representation_ratio",
    "scale_scores",
    "stability_index",
    "standard_relative_likelihood",
    "time_in_post",
    "trainee_outcomes",
    "vacancy_rate",
    "verdicts_with_multiplicity",
    "workforce_metrics",
]
