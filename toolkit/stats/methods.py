"""The method labels written into result columns, defined once.

Every statistic that names its method in a column (``ci_method``, ``rl_ci_method``,
``diff_ci_method``, ``test``, ``adjust_method``, ``model``, ``ties``, ``method``) writes one of
these values, so tables from different functions concatenate and filter with one vocabulary.
Labels are lower case words joined by hyphens. :data:`DESCRIPTIONS` holds the one-line
plain-English meaning of each (listed in ``docs/api.md``).
"""

from __future__ import annotations

# Intervals for a proportion or a mean (ci_method)
WILSON = "wilson"
CLOPPER_PEARSON = "clopper-pearson"
LOGIT = "logit"
BETA = "beta"
T = "t"
TAYLOR_T = "taylor-t"
# Intervals for a relative likelihood (rl_ci_method)
KATZ_LOG = "katz-log"
LINEARISED_LOG = "linearised-log"
# Intervals for a difference of proportions (diff_ci_method)
NEWCOMBE = "newcombe-hybrid-score"
LINEARISED_WALD = "linearised-wald"
# Tests (test)
PEARSON_CHI_SQUARE = "pearson-chi-square"
FISHER_EXACT = "fisher-exact"
FISHER_MONTE_CARLO = "fisher-freeman-halton-monte-carlo"
RAO_SCOTT_F = "rao-scott-f"
MANN_WHITNEY = "mann-whitney"
KRUSKAL_WALLIS = "kruskal-wallis"
LOG_RANK = "log-rank"
# Multiplicity (adjust_method)
BENJAMINI_HOCHBERG = "benjamini-hochberg"
HOLM = "holm"
NO_ADJUSTMENT = "none"
# Models (model of a trend interaction) and Cox ties (ties)
LOGISTIC_MODEL_BASED = "logistic-model-based"
LOGISTIC_SANDWICH_T = "logistic-sandwich-t"
EFRON = "efron"
BRESLOW = "breslow"
# Power (method)
TWO_PROPORTION_NORMAL = "two-proportion-normal"
# Funnel plot control limits (limits_method) and their overdispersion adjustment (adjust)
ARCSINE = "arcsine"
EXACT_POISSON = "exact-poisson"
LOG_RATIO = "log"
MULTIPLICATIVE = "multiplicative"
ADDITIVE = "additive"
# Partial pooling (method) and its intervals (ci_method)
GLMM = "glmm"
BETA_BINOMIAL = "beta-binomial"
LAPLACE_PREDICTION = "laplace-prediction-variance"
BETA_POSTERIOR = "beta-posterior-quantiles"

DESCRIPTIONS: dict[str, str] = {
    WILSON: "Wilson score interval for a proportion; valid at 0 and at n events.",
    CLOPPER_PEARSON: "Exact (Clopper-Pearson) binomial interval from the beta distribution.",
    LOGIT: "Survey-weighted proportion, linearised SE, interval on the logit scale "
    "(R svyciprop logit).",
    BETA: "Survey-weighted proportion, Korn-Graubard beta interval on the effective sample size "
    "(R svyciprop beta).",
    T: "Mean with a Student t interval on n - 1 degrees of freedom.",
    TAYLOR_T: "Survey-weighted mean, linearised SE, Student t interval (R svymean).",
    KATZ_LOG: "Ratio of two rates, Katz log interval from the counts (unweighted).",
    LINEARISED_LOG: "Ratio of two survey-weighted rates, delta-method interval on the log scale.",
    NEWCOMBE: "Difference of two rates, Newcombe hybrid score interval from Wilson limits.",
    LINEARISED_WALD: "Difference of two survey-weighted rates, linearised Wald interval.",
    PEARSON_CHI_SQUARE: "Pearson chi-square test, no continuity correction; every expected "
    "count at least 5.",
    FISHER_EXACT: "Fisher's exact test of a 2 x 2 table (some expected count below 5).",
    FISHER_MONTE_CARLO: "Fisher-Freeman-Halton test of a larger table by seeded Monte Carlo.",
    RAO_SCOTT_F: "Survey-weighted chi-square, second-order Rao-Scott F test (R svychisq).",
    MANN_WHITNEY: "Mann-Whitney U rank test of one group against the reference, two-sided.",
    KRUSKAL_WALLIS: "Kruskal-Wallis rank test across three or more groups.",
    LOG_RANK: "Log-rank test that survival curves are equal (R survdiff).",
    BENJAMINI_HOCHBERG: "p-values adjusted to control the false discovery rate within a family.",
    HOLM: "p-values adjusted to control the family-wise error rate (Holm step-down).",
    NO_ADJUSTMENT: "p-values not adjusted for multiple comparisons.",
    LOGISTIC_MODEL_BASED: "Logistic regression (binomial GLM), model-based SEs, normal intervals.",
    LOGISTIC_SANDWICH_T: "Survey-weighted logistic regression, sandwich SEs, t(n - p) intervals "
    "(R svyglm).",
    EFRON: "Cox model with Efron's handling of tied event times (R coxph default).",
    BRESLOW: "Cox model with Breslow's handling of tied event times.",
    TWO_PROPORTION_NORMAL: "Minimum detectable difference of two proportions, normal "
    "approximation with the variance at the reference rate, two-sided.",
    ARCSINE: "Funnel limits for a proportion on the arcsine square-root scale (Spiegelhalter "
    "2005; FunnelPlotR).",
    EXACT_POISSON: "Funnel limits for a standardised ratio from exact Poisson quantiles.",
    LOG_RATIO: "Funnel limits for a standardised ratio on the log scale (overdispersed; SHMI).",
    MULTIPLICATIVE: "Funnel limits widened by the dispersion ratio phi (Spiegelhalter 2005).",
    ADDITIVE: "Funnel limits widened by a DerSimonian-Laird random-effects variance tau2.",
    GLMM: "Multilevel logistic model with random intercepts, Laplace maximum likelihood "
    "(R lme4::glmer).",
    BETA_BINOMIAL: "Empirical-Bayes beta-binomial: each rate shrunk towards a common beta prior.",
    LAPLACE_PREDICTION: "Interval of a pooled rate from the conditional mode and its Laplace "
    "prediction variance, on the logit scale.",
    BETA_POSTERIOR: "Interval of a pooled rate from the quantiles of its beta posterior.",
}


def both(diff_method: str, ratio_method: str) -> str:
    """One label for a table that gives a difference and a ratio with one method column:
    ``"<diff label> (diff); <ratio label> (ratio)"``."""
    return f"{diff_method} (diff); {ratio_method} (ratio)"
