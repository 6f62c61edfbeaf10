"""Comparisons of each group with a reference group: relative likelihood and difference.

Relative likelihood (RL) = rate(group) / rate(reference), the WRES/WDES convention
(DOMAIN.md section 3). Intervals:

* unweighted, ``rl_ci_method = "katz-log"``: ``exp(ln RL ± z sqrt(1/a - 1/n1 + 1/c - 1/n0))``
  with ``a`` of ``n1`` events in the group and ``c`` of ``n0`` in the reference; ``p_value`` is
  the Wald test of ``ln RL = 0`` on the same standard error. A zero count gives NaN and a note:
  no continuity correction and no cap.
* weighted, ``rl_ci_method = "linearised-log"``: delta method on the two domain means,
  ``var(ln RL) = v1/p1^2 + v0/p0^2 - 2 cov/(p1 p0)`` with the covariance from shared PSUs
  (R ``svyby(covmat = TRUE)`` + ``svycontrast(log(g/ref))``), normal quantile as R ``confint``.

Difference ``diff = p(group) - p(reference)`` is a difference of proportions (0.05 = 5
percentage points). Unweighted interval: Newcombe's hybrid score interval (method 10 of
Newcombe 1998, Wilson limits l, u): ``diff - sqrt((p1-l1)^2 + (u0-p0)^2)``,
``diff + sqrt((u1-p1)^2 + (p0-l0)^2)``. Weighted: linearised Wald, ``diff ± z sqrt(v1 + v0 -
2 cov)``.

``outside_band`` is True when the whole RL interval lies outside the band (default 0.80-1.25,
labelled "four-fifths convention"), False when it overlaps the band, NA when undefined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.design import (
    Design,
    DomainMeans,
    Domains,
    count_domains,
    covariance_with,
    domain_means,
    make_design,
    make_domains,
    outcome_values,
    require_reference,
)
from toolkit.stats.proportions import critical_value, wilson_interval

RELATIVE_LIKELIHOOD_COLUMNS = (
    "group",
    "reference_group",
    "is_reference",
    "n",
    "events",
    "weighted_n",
    "estimate",
    "reference_estimate",
    "rel_likelihood",
    "rl_ci_low",
    "rl_ci_high",
    "rl_ci_method",
    "p_value",
    "outside_band",
    "band_convention",
    "note",
)
DIFFERENCE_COLUMNS = (
    "group",
    "reference_group",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "diff_ci_method",
    "note",
)
FOUR_FIFTHS_BAND = (0.8, 1.25)


@dataclass(frozen=True)
class Comparison:
    """Group estimates, the reference's index (None if absent) and covariances with it."""

    domains: Domains
    means: DomainMeans
    design: Design
    reference: str
    reference_index: int | None
    covariance: np.ndarray

    def reference_value(self, values: np.ndarray) -> np.float64:
        """The entry of ``values`` at the reference group (NaN when the reference is absent)."""
        if self.reference_index is None:
            return np.float64(np.nan)
        return np.float64(values[self.reference_index])


def _compare(
    data: pd.DataFrame,
    outcome: str,
    group: str | Sequence[str],
    reference: str,
    design_columns: Mapping[str, str | None],
) -> Comparison:
    design = make_design(data, **design_columns)
    domains = make_domains(data, group)
    means = domain_means(outcome_values(data, outcome), domains, design)
    index = require_reference(domains.labels, reference, group)
    covariance = np.full(len(domains.labels), np.nan)
    if design.weighted and index is not None:
        covariance = covariance_with(means, index, design)
    return Comparison(domains, means, design, reference, index, covariance)


def _compare_counts(
    counts: pd.DataFrame, events: str, n: str, group: str | Sequence[str], reference: str
) -> Comparison:
    """The unweighted :class:`Comparison` of a table of counts (see ``design.count_domains``)."""
    domains, means = count_domains(counts, events=events, n=n, group=group)
    index = require_reference(domains.labels, reference, group)
    covariance = np.full(len(domains.labels), np.nan)
    return Comparison(domains, means, make_design(counts), reference, index, covariance)


def _reference_note(comparison: Comparison) -> str:
    """Why no group can be compared, or "" when the reference is usable."""
    if comparison.reference_index is None:
        return f"reference group {comparison.reference!r} not present"
    if comparison.means.n[comparison.reference_index] == 0:
        return f"reference group {comparison.reference!r} has no answers"
    return ""


def _comparison_notes(comparison: Comparison, zero_event_rule: bool) -> list[str]:
    """Per-group note; ``zero_event_rule`` adds the zero-count notes of a ratio."""
    shared = _reference_note(comparison)
    means = comparison.means
    reference_events = comparison.reference_value(means.events)
    reference_estimate = comparison.reference_value(means.estimate)
    notes = []
    for index, (n, events) in enumerate(zip(means.n, means.events, strict=True)):
        if index == comparison.reference_index:
            notes.append("reference group")
        elif shared:
            notes.append(shared)
        elif n == 0:
            notes.append("no answers in group")
        elif zero_event_rule and (reference_events == 0 or reference_estimate == 0):
            notes.append("reference rate is zero: ratio undefined")
        elif zero_event_rule and events == 0:
            notes.append("no events in group: log interval undefined")
        else:
            notes.append("")
    return notes


def log_ratio_se(comparison: Comparison) -> np.ndarray:
    """Standard error of ``ln RL`` per group: Katz unweighted, delta method weighted."""
    means = comparison.means
    if comparison.design.weighted:
        p1, p0 = means.estimate, comparison.reference_value(means.estimate)
        v0 = comparison.reference_value(means.variance)
        variance = means.variance / p1**2 + v0 / p0**2 - 2 * comparison.covariance / (p1 * p0)
    else:
        a, n1 = means.events, means.n
        c, n0 = comparison.reference_value(means.events), comparison.reference_value(means.n)
        variance = 1 / a - 1 / n1 + 1 / c - 1 / n0
    return np.sqrt(variance)


def band_label(band: tuple[float, float]) -> str:
    """ "four-fifths convention (0.80-1.25)" for the default band, else "configured band (...)"."""
    name = "four-fifths convention" if tuple(band) == FOUR_FIFTHS_BAND else "configured band"
    return f"{name} ({band[0]:.2f}-{band[1]:.2f})"


def outside_band(low: np.ndarray, high: np.ndarray, band: tuple[float, float]) -> pd.Series:
    """True where the interval lies wholly outside ``band``, False where it overlaps, NA if NaN."""
    outside = pd.Series((high < band[0]) | (low > band[1]), dtype="boolean")
    outside[np.isnan(low) | np.isnan(high)] = pd.NA
    return outside


def relative_likelihood(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str | Sequence[str],
    reference: str,
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    level: float = 0.95,
    band: tuple[float, float] = FOUR_FIFTHS_BAND,
) -> pd.DataFrame:
    """Relative likelihood of the outcome in each group of ``group`` against ``reference``.

    Inputs: ``data``; ``outcome`` a 0/1 column (NaN = not answered); ``group`` a column or list of
    columns (intersection); ``reference`` the label of the reference group (intersection labels
    joined with " × "); design columns; ``level``; ``band`` (low, high) for ``outside_band``.
    Output: one row per group, the reference included (RL 1, no interval), with columns
    :data:`RELATIVE_LIKELIHOOD_COLUMNS`. Formulas in the module docstring.
    """
    comparison = _compare(
        data,
        outcome,
        group,
        reference,
        {"weights": weights, "strata": strata, "clusters": clusters},
    )
    return relative_likelihood_table(comparison, level, band)


def relative_likelihood_from_counts(
    counts: pd.DataFrame,
    *,
    events: str,
    n: str,
    group: str | Sequence[str],
    reference: str,
    level: float = 0.95,
    band: tuple[float, float] = FOUR_FIFTHS_BAND,
) -> pd.DataFrame:
    """:func:`relative_likelihood` of a published table of counts (Katz log interval).

    Inputs: ``counts`` with one row per group (rows of the same group are added); ``events``
    the column counting people with the outcome; ``n`` the column counting those who answered;
    ``group``, ``reference``, ``level``, ``band`` as in :func:`relative_likelihood`.
    Output: exactly :func:`relative_likelihood` on the counts expanded to 0/1 rows, columns
    :data:`RELATIVE_LIKELIHOOD_COLUMNS`.
    """
    return relative_likelihood_table(
        _compare_counts(counts, events, n, group, reference), level, band
    )


def relative_likelihood_table(
    comparison: Comparison, level: float, band: tuple[float, float]
) -> pd.DataFrame:
    """The :data:`RELATIVE_LIKELIHOOD_COLUMNS` table of a comparison (module docstring)."""
    means = comparison.means
    reference = comparison.reference
    notes = _comparison_notes(comparison, zero_event_rule=True)
    reference_estimate = comparison.reference_value(means.estimate)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = means.estimate / reference_estimate
        log_se = log_ratio_se(comparison)
        z = critical_value(level)
        undefined = np.array([note != "" for note in notes])
        low = np.where(undefined, np.nan, np.exp(np.log(ratio) - z * log_se))
        high = np.where(undefined, np.nan, np.exp(np.log(ratio) + z * log_se))
        p_value = np.where(undefined, np.nan, 2 * stats.norm.sf(np.abs(np.log(ratio) / log_se)))
    ratio = np.where(np.isinf(ratio), np.nan, ratio)
    if comparison.reference_index is not None:
        ratio[comparison.reference_index] = 1.0
    return pd.DataFrame(
        {
            "group": list(comparison.domains.labels),
            "reference_group": reference,
            "is_reference": [label == reference for label in comparison.domains.labels],
            "n": means.n.astype(np.int64),
            "events": means.events.astype(np.int64),
            "weighted_n": means.weighted_n,
            "estimate": means.estimate,
            "reference_estimate": reference_estimate,
            "rel_likelihood": ratio,
            "rl_ci_low": low,
            "rl_ci_high": high,
            "rl_ci_method": methods.LINEARISED_LOG
            if comparison.design.weighted
            else methods.KATZ_LOG,
            "p_value": p_value,
            "outside_band": outside_band(low, high, band),
            "band_convention": band_label(band),
            "note": notes,
        },
        columns=list(RELATIVE_LIKELIHOOD_COLUMNS),
    )


def newcombe_interval(comparison: Comparison, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe hybrid score interval of ``p(group) - p(reference)`` (module docstring)."""
    means = comparison.means
    low1, high1 = wilson_interval(means.events, means.n, level)
    low0, high0 = (comparison.reference_value(bound) for bound in (low1, high1))
    p1, p0 = means.estimate, comparison.reference_value(means.estimate)
    diff = p1 - p0
    return (
        diff - np.sqrt((p1 - low1) ** 2 + (high0 - p0) ** 2),
        diff + np.sqrt((high1 - p1) ** 2 + (p0 - low0) ** 2),
    )


def wald_interval(comparison: Comparison, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearised Wald interval of ``p(group) - p(reference)``: ``diff ± z sqrt(v1 + v0 - 2 cov)``."""
    means = comparison.means
    diff = means.estimate - comparison.reference_value(means.estimate)
    variance = (
        means.variance + comparison.reference_value(means.variance) - 2 * comparison.covariance
    )
    half = critical_value(level) * np.sqrt(variance)
    return diff - half, diff + half


def difference(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str | Sequence[str],
    reference: str,
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Difference in proportions, group minus ``reference``, with a confidence interval.

    Inputs as :func:`relative_likelihood`. Output: one row per group (the reference with diff 0
    and no interval), columns :data:`DIFFERENCE_COLUMNS`. ``diff`` is a proportion difference:
    multiply by 100 for percentage points. ``diff_ci_method`` is "newcombe-hybrid-score"
    unweighted and "linearised-wald" weighted.
    """
    comparison = _compare(
        data,
        outcome,
        group,
        reference,
        {"weights": weights, "strata": strata, "clusters": clusters},
    )
    return difference_table(comparison, level)


def difference_from_counts(
    counts: pd.DataFrame,
    *,
    events: str,
    n: str,
    group: str | Sequence[str],
    reference: str,
    level: float = 0.95,
) -> pd.DataFrame:
    """:func:`difference` of a published table of counts (Newcombe hybrid score interval).

    Inputs as :func:`relative_likelihood_from_counts` without ``band``. Output: exactly
    :func:`difference` on the counts expanded to 0/1 rows, columns :data:`DIFFERENCE_COLUMNS`.
    """
    return difference_table(_compare_counts(counts, events, n, group, reference), level)


def difference_table(comparison: Comparison, level: float) -> pd.DataFrame:
    """The :data:`DIFFERENCE_COLUMNS` table of a comparison (module docstring)."""
    notes = _comparison_notes(comparison, zero_event_rule=False)
    weighted = comparison.design.weighted
    with np.errstate(invalid="ignore", divide="ignore"):
        interval = wald_interval if weighted else newcombe_interval
        low, high = interval(comparison, level)
    undefined = np.array([note != "" for note in notes])
    diff = comparison.means.estimate - comparison.reference_value(comparison.means.estimate)
    return pd.DataFrame(
        {
            "group": list(comparison.domains.labels),
            "reference_group": comparison.reference,
            "diff": diff,
            "diff_ci_low": np.where(undefined, np.nan, low),
            "diff_ci_high": np.where(undefined, np.nan, high),
            "diff_ci_method": methods.LINEARISED_WALD if weighted else methods.NEWCOMBE,
            "note": notes,
        },
        columns=list(DIFFERENCE_COLUMNS),
    )


@dataclass(frozen=True)
class StandardPreset:
    """A WRES / WDES relative-likelihood indicator, worded as the standard words it.

    Attributes:
        code: "WRES 2", "WRES 3", "WRES 4", "WDES 2" or "WDES 3".
        wording: the indicator's wording (DOMAIN.md section 3).
        outcome: what the 0/1 outcome records.
        numerator: role of the group whose rate is the numerator.
        denominator: role of the group whose rate is the denominator.
        protected_group: the role the standard protects.
        disadvantage: which side of 1 disadvantages the protected group.
    """

    code: str
    wording: str
    outcome: str
    numerator: str
    denominator: str
    protected_group: str
    disadvantage: str


STANDARD_PRESETS: tuple[StandardPreset, ...] = (
    StandardPreset(
        "WRES 2",
        "relative likelihood (RL) of White applicants being appointed from shortlisting "
        "compared to BME applicants",
        "appointed from shortlisting",
        "White",
        "BME",
        "BME",
        "above 1 disadvantages BME staff",
    ),
    StandardPreset(
        "WRES 3",
        "RL of BME staff entering the formal disciplinary process compared to White staff",
        "entered the formal disciplinary process",
        "BME",
        "White",
        "BME",
        "above 1 disadvantages BME staff",
    ),
    StandardPreset(
        "WRES 4",
        "RL of White staff accessing non-mandatory training and CPD compared to BME staff",
        "accessed non-mandatory training and CPD",
        "White",
        "BME",
        "BME",
        "above 1 disadvantages BME staff",
    ),
    StandardPreset(
        "WDES 2",
        "RL of non-disabled applicants appointed from shortlisting",
        "appointed from shortlisting",
        "non-disabled",
        "Disabled",
        "Disabled",
        "above 1 disadvantages Disabled staff",
    ),
    StandardPreset(
        "WDES 3",
        "RL of Disabled staff entering formal capability process",
        "entered the formal capability process",
        "Disabled",
        "non-disabled",
        "Disabled",
        "above 1 disadvantages Disabled staff",
    ),
)


def preset(code: str) -> StandardPreset:
    """The :class:`StandardPreset` with this code; unknown codes raise PtwError."""
    for candidate in STANDARD_PRESETS:
        if candidate.code == code:
            return candidate
    raise PtwError(
        code="stats.unknown_preset",
        message="no WRES/WDES relative-likelihood preset has this code",
        value=code,
        expected=", ".join(p.code for p in STANDARD_PRESETS),
        fix="use one of the listed codes",
    )


def standard_relative_likelihood(
    data: pd.DataFrame,
    *,
    preset_code: str,
    outcome: str,
    group: str,
    groups: Mapping[str, str],
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    level: float = 0.95,
    band: tuple[float, float] = FOUR_FIFTHS_BAND,
) -> pd.DataFrame:
    """One WRES/WDES relative likelihood with the standard's wording and direction.

    Inputs: ``preset_code`` (see :data:`STANDARD_PRESETS`); ``outcome`` the 0/1 column the
    indicator counts; ``group`` the grouping column; ``groups`` maps the preset's roles to
    labels in the data, e.g. ``{"White": "White", "BME": "Ethnic minority"}``.
    Output: one row, the numerator group against the denominator group, with the columns of
    :func:`relative_likelihood` followed by ``standard_code, wording, numerator, denominator,
    disadvantage``.
    """
    chosen = preset(preset_code)
    missing_roles = [role for role in (chosen.numerator, chosen.denominator) if role not in groups]
    if missing_roles:
        raise PtwError(
            code="stats.preset_roles",
            message=f"{chosen.code} needs a data label for each of its two groups",
            value=dict(groups),
            expected=f"keys {chosen.numerator!r} and {chosen.denominator!r}",
            fix="pass groups={role: label in the data} for both roles",
        )
    table = relative_likelihood(
        data,
        outcome=outcome,
        group=group,
        reference=groups[chosen.denominator],
        weights=weights,
        strata=strata,
        clusters=clusters,
        level=level,
        band=band,
    )
    row = table[table["group"] == groups[chosen.numerator]].reset_index(drop=True)
    if row.empty:
        row = pd.DataFrame(
            [
                {
                    "group": groups[chosen.numerator],
                    "reference_group": groups[chosen.denominator],
                    "is_reference": False,
                    "note": f"group {groups[chosen.numerator]!r} not present",
                }
            ],
            columns=table.columns,
        )
    return row.assign(
        standard_code=chosen.code,
        wording=chosen.wording,
        numerator=chosen.numerator,
        denominator=chosen.denominator,
        disadvantage=chosen.disadvantage,
    )
