"""Vectorised comparison sweep: rates, relative likelihoods, gaps and tests for many slices at once.

:func:`comparison_sweep` gives, for every outcome x slice (e.g. cycle x region) x grouping x
group, the numbers that :func:`~toolkit.stats.proportions.proportions`,
:func:`~toolkit.stats.comparisons.relative_likelihood`,
:func:`~toolkit.stats.comparisons.difference` and
:func:`~toolkit.stats.association.association` give per slice, without calling them per slice.

How:

* The rows are reduced once to *cells*: one cell per observed combination of slice, the group of
  every grouping and the stratum. For each outcome, three ``numpy.bincount`` over ``cell x answer``
  (answer 0, 1 or missing) give the sufficient statistics of every cell: respondents, and when
  weighted the sums of ``w`` and ``w^2`` (and the respondents with ``w > 0`` when some weights are
  zero). Each grouping's domains (slice x group) then add up cells.
* From those sums (:func:`domain_means_from_sums`): ``p = sum(w y) / sum(w)`` and the linearised
  variance ``sum_h n_h/(n_h-1) (S2_dh - S1_dh^2/n_h)`` with ``S1_dh = (sum_dh w y - p sum_dh w) /
  W_d`` and, since ``y^2 = y``, ``S2_dh = ((1 - 2p) sum_dh w^2 y + p^2 sum_dh w^2) / W_d^2``: the
  formulas of :mod:`toolkit.stats.design` for a design whose PSUs are its rows. Clustered designs
  go through :func:`~toolkit.stats.design.domain_means` per outcome and grouping (all slices at
  once). The covariance of each group's mean with its slice's reference mean (for the weighted
  RL and gap) comes from :func:`~toolkit.stats.design.covariance_with`, one call per outcome x
  slice x grouping.
* Intervals, ratios, gaps and notes then come from the array functions of
  :mod:`toolkit.stats.proportions` and :mod:`toolkit.stats.comparisons` applied to all rows at once.

Domains (the choice made here). Unweighted, a slice's numbers depend only on its counts, so they
equal a per-slice call on the subset. With a design (weights, strata, clusters), each slice x group
is a *domain of the full design*, as R ``svyby(~y, ~group + cycle, design, svymean)`` estimates
it: the stratum PSU counts ``n_h`` are those of the whole data (R pads a subset of an uncalibrated
design with zero PSUs), so the result equals ``proportions(data, y, by=[*split_by, group])`` on the
full data, not a per-slice call on the subset (which would treat the slice as the whole design).
With weights only, the two differ by the factor ``sqrt((N/(N-1)) / (n_s/(n_s-1)))`` on the standard
error (``N`` rows in all, ``n_s`` in the slice); PITFALLS.md ("Domain estimation") says why the full
design is right.

Which groups a slice lists: every category of a categorical grouping column, else the groups with
at least one row in the slice (as a per-slice call lists them). A reference group the slice does
not list is "not present".

Association per outcome x slice x grouping, among groups with answers (the rules of
:mod:`toolkit.stats.association`): Pearson chi-square (computed here in numpy for all tables at
once) when every expected count is at least 5; otherwise Fisher's exact test for a 2 x 2 table and
the Fisher-Freeman-Halton test by Monte Carlo for a larger one, both through the association
module's own table test, the latter with ``monte_carlo_tables`` tables drawn with its fixed seed
:data:`~toolkit.stats.association.MONTE_CARLO_SEED`. The Monte Carlo p-value has standard error
``sqrt(p (1 - p) / monte_carlo_tables)``, at most ``0.5 / sqrt(monte_carlo_tables)``: 0.005 at the
default 10,000 tables. With a design the test is the Rao-Scott F of
:func:`~toolkit.stats.association.association`, called per outcome x slice x grouping on the full
design with the rows outside the slice left out of the table (the same domain choice).

``note`` joins, with "; ", the distinct non-empty notes that proportions, relative_likelihood,
difference and (when run) association give for the row, in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.association import MIN_EXPECTED, unweighted_test
from toolkit.stats.association import association as association_test
from toolkit.stats.comparisons import (
    DIFFERENCE_COLUMNS,
    FOUR_FIFTHS_BAND,
    RELATIVE_LIKELIHOOD_COLUMNS,
    band_label,
    log_ratio_se,
    newcombe_interval,
    outside_band,
    wald_interval,
)
from toolkit.stats.design import (
    Design,
    DomainMeans,
    Domains,
    count_means,
    covariance_with,
    domain_means,
    make_design,
    make_domains,
    outcome_values,
    require_columns,
    stratified_variance,
)
from toolkit.stats.proportions import (
    PROPORTION_COLUMNS,
    critical_value,
    proportion_table,
    resolve_ci_method,
)

ALL_RESPONDENTS = "All respondents"
ALL = "all"
RATE_COLUMNS = tuple(c for c in PROPORTION_COLUMNS if c not in ("group", "df", "note"))
COMPARISON_COLUMNS = (
    *RELATIVE_LIKELIHOOD_COLUMNS[RELATIVE_LIKELIHOOD_COLUMNS.index("rel_likelihood") : -1],
    *(c for c in DIFFERENCE_COLUMNS if c not in ("group", "reference_group", "note")),
)
TEST_COLUMNS = ("test", "statistic", "dof", "test_p_value")
SWEEP_COLUMNS = (
    "outcome",
    "dimension",
    "level",
    "group",
    "reference_group",
    "is_reference",
    *RATE_COLUMNS,
    *COMPARISON_COLUMNS,
    *TEST_COLUMNS,
    "note",
)
"""Output columns; the ``split_by`` columns follow ``outcome``."""
DEFAULT_MONTE_CARLO_TABLES = 10_000
_ANSWERS = 3  # answer code per row: 0, 1, or 2 = not answered


@dataclass(frozen=True)
class Grouping:
    """One way of grouping respondents in the sweep.

    Attributes:
        column: data column with each respondent's group label (missing = in no group).
        reference: label of the reference group.
        dimension: equality dimension written into the output, e.g. "ethnicity".
        level: level of that dimension written into the output, e.g. "binary".
    """

    column: str
    reference: str
    dimension: str
    level: str


@dataclass(frozen=True)
class StratumSums:
    """Sufficient statistics of a 0/1 outcome over the answering rows of each domain x stratum.

    Every attribute is an array with one row per domain and one column per stratum: ``n``
    respondents, ``events`` respondents with outcome 1, ``w`` / ``wy`` sums of weights over
    respondents / events, ``w2`` / ``w2y`` sums of squared weights, ``positive`` respondents with
    a weight above zero.
    """

    n: np.ndarray
    events: np.ndarray
    w: np.ndarray
    wy: np.ndarray
    w2: np.ndarray
    w2y: np.ndarray
    positive: np.ndarray


def domain_means_from_sums(sums: StratumSums, design: Design) -> DomainMeans:
    """Domain means and linearised variances from :class:`StratumSums` (rows are the PSUs).

    Inputs: ``sums`` (domains x strata); ``design`` from :func:`~toolkit.stats.design.make_design`
    without clusters (its ``n_psu`` are the rows per stratum of the whole data).
    Output: :class:`~toolkit.stats.design.DomainMeans` equal to
    :func:`~toolkit.stats.design.domain_means` on the rows (formulas in the module docstring);
    without a design, counts and proportions only (variance and df NaN).
    """
    n = sums.n.sum(axis=1).astype(np.int64)
    events = sums.events.sum(axis=1)
    size = len(n)
    empty = np.array([], dtype=np.int64)
    if not design.weighted:
        nan = np.full(size, np.nan)
        estimate = np.divide(events, n, out=np.full(size, np.nan), where=n > 0)
        return DomainMeans(
            n,
            events,
            n.astype(float),
            estimate,
            nan,
            nan,
            np.zeros((size, 1)),
            empty,
            empty,
            np.array([]),
        )
    weighted_n = sums.w.sum(axis=1)
    has_weight = weighted_n > 0
    estimate = np.divide(
        sums.wy.sum(axis=1), weighted_n, out=np.full(size, np.nan), where=has_weight
    )
    p = np.where(has_weight, estimate, 0.0)[:, None]
    total = np.where(has_weight, weighted_n, 1.0)[:, None]
    influence = (sums.wy - p * sums.w) / total
    squares = ((1 - 2 * p) * sums.w2y + p**2 * sums.w2) / total**2
    variance = np.where(has_weight, stratified_variance(squares, influence, design), np.nan)
    df = (sums.positive.sum(axis=1) - (sums.positive > 0).sum(axis=1)).astype(float)
    return DomainMeans(
        n, events, weighted_n, estimate, variance, df, influence, empty, empty, np.array([])
    )


@dataclass(frozen=True)
class _Slices:
    """Slice code per row (-1 when a ``split_by`` value is missing) and one row of keys a slice."""

    codes: np.ndarray
    keys: pd.DataFrame


def _slices(data: pd.DataFrame, split_by: Sequence[str]) -> _Slices:
    """Observed combinations of the ``split_by`` columns, sorted."""
    if not split_by:
        return _Slices(np.zeros(len(data), dtype=np.int64), pd.DataFrame(index=range(1)))
    require_columns(data, split_by)
    grouped = data.groupby(list(split_by), sort=True, observed=True, dropna=True)
    codes = grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64)
    return _Slices(codes, grouped.size().index.to_frame(index=False))


@dataclass(frozen=True)
class _Layout:
    """The groups of one grouping (None: all respondents as one group).

    Attributes:
        grouping: the grouping, or None for the "All respondents" rows.
        codes: group code per row (-1 = no group).
        labels: group labels (categories in order, else sorted observed values).
        categorical: every category is listed in every slice.
    """

    grouping: Grouping | None
    codes: np.ndarray
    labels: tuple[str, ...]
    categorical: bool

    def reference_code(self) -> int:
        """Index of the reference label, -1 when it is not a label (or no grouping)."""
        if self.grouping is None or self.grouping.reference not in self.labels:
            return -1
        return self.labels.index(self.grouping.reference)


def _layouts(data: pd.DataFrame, groupings: Sequence[Grouping]) -> list[_Layout]:
    """All respondents first, then one layout per grouping."""
    everyone = _Layout(None, np.zeros(len(data), dtype=np.int64), (ALL_RESPONDENTS,), True)
    layouts = [everyone]
    for grouping in groupings:
        domains = make_domains(data, grouping.column)
        categorical = isinstance(data[grouping.column].dtype, pd.CategoricalDtype)
        layouts.append(_Layout(grouping, domains.codes, domains.labels, categorical))
    return layouts


@dataclass(frozen=True)
class _Cells:
    """Rows reduced to cells, one per observed (slice, group of every layout, stratum).

    Attributes:
        codes: cell code per row.
        slice_code, stratum: per cell.
        group_codes: per layout, the group code of each cell (-1 = no group).
    """

    codes: np.ndarray
    slice_code: np.ndarray
    stratum: np.ndarray
    group_codes: list[np.ndarray]


def _cells(slices: _Slices, layouts: Sequence[_Layout], stratum: np.ndarray) -> _Cells:
    """Joint code of slice, stratum and every grouping (mixed radix, compacted before overflow)."""
    key = np.zeros(len(stratum), dtype=np.int64)
    bound = 1
    for codes in (slices.codes, stratum, *(layout.codes for layout in layouts[1:])):
        radix = int(codes.max(initial=0)) + 2
        if bound * radix >= 2**62:
            key, uniques = pd.factorize(key)
            bound = len(uniques)
        key = key * radix + codes + 1
        bound *= radix
    cell, uniques = pd.factorize(key)
    representative = np.zeros(len(uniques), dtype=np.int64)
    representative[cell] = np.arange(len(cell))
    return _Cells(
        cell.astype(np.int64),
        slices.codes[representative],
        stratum[representative],
        [layout.codes[representative] for layout in layouts],
    )


@dataclass(frozen=True)
class _CellSums:
    """Per outcome x cell x answer (0, 1, not answered): rows, and sums of w, w^2, [w > 0]."""

    rows: np.ndarray
    count: np.ndarray
    w: np.ndarray
    w2: np.ndarray
    positive: np.ndarray


def _outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    """The outcome as floats: a numeric column holding only 0, 1 and missing is read as it is;
    anything else goes through :func:`~toolkit.stats.design.outcome_values` (which coerces text
    and raises the located error for other values)."""
    column = data[outcome]
    if pd.api.types.is_numeric_dtype(column.dtype):
        y = column.to_numpy(dtype=float, na_value=np.nan)
        if ((y == 0) | (y == 1) | np.isnan(y)).all():
            return y
    return outcome_values(data, outcome)


def _cell_sums(
    data: pd.DataFrame, outcomes: Sequence[str], cells: _Cells, design: Design
) -> _CellSums:
    """One bincount per outcome and statistic over ``cell x answer``."""
    n_cells = len(cells.slice_code)
    shape = (len(outcomes), n_cells, _ANSWERS)
    w = design.weights
    weighted_sums = [w, w * w] if design.weighted else []
    if design.weighted and (w <= 0).any():
        weighted_sums.append((w > 0).astype(float))
    sums = [np.zeros(shape) for _ in range(1 + len(weighted_sums))]
    base = cells.codes * _ANSWERS
    for index, outcome in enumerate(outcomes):
        y = _outcome(data, outcome)
        key = base + np.where(np.isnan(y), 2.0, y).astype(np.intp)
        for total, weight in zip(sums, [None, *weighted_sums], strict=True):
            total[index] = np.bincount(key, weights=weight, minlength=_ANSWERS * n_cells).reshape(
                n_cells, _ANSWERS
            )
    count = sums[0]
    w_sum, w2_sum = sums[1:3] if design.weighted else (count, count)
    positive = sums[3] if len(sums) > 3 else count
    return _CellSums(np.bincount(cells.codes, minlength=n_cells), count, w_sum, w2_sum, positive)


@dataclass(frozen=True)
class _LayoutEstimates:
    """One layout's domains (slice x group, group fastest) for every outcome.

    Attributes:
        means: one :class:`DomainMeans` per outcome.
        rows: rows of data per domain, answered or not.
    """

    means: list[DomainMeans]
    rows: np.ndarray


def _sums_estimates(
    cell_sums: _CellSums, cells: _Cells, index: int, n_slices: int, n_groups: int, design: Design
) -> _LayoutEstimates:
    """Add cells up to the layout's domains x strata, then :func:`domain_means_from_sums`."""
    n_strata = len(design.n_psu)
    group = cells.group_codes[index]
    inside = np.flatnonzero((cells.slice_code >= 0) & (group >= 0))
    target = (cells.slice_code[inside] * n_groups + group[inside]) * n_strata
    target += cells.stratum[inside]
    n_domains = n_slices * n_groups
    adder = sparse.csr_matrix(
        (np.ones(len(inside)), (target, inside)),
        shape=(n_domains * n_strata, len(cells.slice_code)),
    )
    n_outcomes = cell_sums.count.shape[0]

    def add(values: np.ndarray) -> np.ndarray:
        """(outcomes, cells, answers) -> (answers, outcomes * domains, strata)."""
        flat = values.transpose(1, 0, 2).reshape(len(cells.slice_code), -1)
        domain_sums = (adder @ flat).reshape(n_domains, n_strata, n_outcomes, _ANSWERS)
        return domain_sums.transpose(3, 2, 0, 1).reshape(_ANSWERS, -1, n_strata)

    count = add(cell_sums.count)
    w, w2 = (add(cell_sums.w), add(cell_sums.w2)) if design.weighted else (count, count)
    positive = count if cell_sums.positive is cell_sums.count else add(cell_sums.positive)
    sums = StratumSums(
        count[0] + count[1],
        count[1],
        w[0] + w[1],
        w[1],
        w2[0] + w2[1],
        w2[1],
        positive[0] + positive[1],
    )
    means = domain_means_from_sums(sums, design)
    rows = (adder @ cell_sums.rows.astype(float)).reshape(n_domains, n_strata).sum(axis=1)
    return _LayoutEstimates(_split(means, n_outcomes), rows.astype(np.int64))


def _split(means: DomainMeans, parts: int) -> list[DomainMeans]:
    """Cut means stacked outcome after outcome into one DomainMeans per outcome."""
    size = len(means.n) // parts
    empty = np.array([], dtype=np.int64)
    return [
        DomainMeans(
            *(getattr(means, name)[start : start + size] for name in _VECTOR_FIELDS),
            means.stratum_influence[start : start + size],
            empty,
            empty,
            np.array([]),
        )
        for start in range(0, size * parts, size)
    ]


def _concat(means: Sequence[DomainMeans]) -> DomainMeans:
    """Stack the per-domain vectors of several DomainMeans (influence totals left out)."""
    empty = np.array([], dtype=np.int64)
    return DomainMeans(
        *(np.concatenate([getattr(m, name) for m in means]) for name in _VECTOR_FIELDS),
        np.zeros((sum(len(m.n) for m in means), 1)),
        empty,
        empty,
        np.array([]),
    )


_VECTOR_FIELDS = ("n", "events", "weighted_n", "estimate", "variance", "df")


def _cluster_estimates(
    data: pd.DataFrame,
    outcomes: Sequence[str],
    slices: _Slices,
    layout: _Layout,
    design: Design,
) -> _LayoutEstimates:
    """Clustered designs: :func:`domain_means` per outcome over all slice x group domains."""
    n_groups = len(layout.labels)
    n_domains = len(slices.keys) * n_groups
    inside = (slices.codes >= 0) & (layout.codes >= 0)
    codes = np.where(inside, slices.codes * n_groups + layout.codes, -1)
    bins = np.where(inside, codes, n_domains)
    rows = np.bincount(bins, minlength=n_domains + 1)[:n_domains]
    domains = Domains(codes, tuple(map(str, range(n_domains))), rows, bins)
    means = [domain_means(outcome_values(data, outcome), domains, design) for outcome in outcomes]
    return _LayoutEstimates(means, rows)


def _estimates(
    data: pd.DataFrame,
    outcomes: Sequence[str],
    slices: _Slices,
    layouts: Sequence[_Layout],
    design: Design,
) -> list[_LayoutEstimates]:
    """Domain means of every layout: from cell sums, or per outcome for a clustered design."""
    if design.weighted and not design.rows_are_psus:
        return [_cluster_estimates(data, outcomes, slices, layout, design) for layout in layouts]
    cells = _cells(slices, layouts, design.psu_stratum)
    cell_sums = _cell_sums(data, outcomes, cells, design)
    return [
        _sums_estimates(cell_sums, cells, index, len(slices.keys), len(layout.labels), design)
        for index, layout in enumerate(layouts)
    ]


@dataclass(frozen=True)
class _SliceComparisons:
    """Every group of every slice against its own slice's reference group.

    Reads like :class:`toolkit.stats.comparisons.Comparison` (``means``, ``design``,
    ``covariance``, ``reference_value``) so that module's interval helpers apply to all slices at
    once; ``reference_index`` holds, per entry, the position of its reference (-1 = not listed).
    """

    means: DomainMeans
    design: Design
    covariance: np.ndarray
    reference_index: np.ndarray

    def reference_value(self, values: np.ndarray) -> np.ndarray:
        """``values`` at each entry's reference, NaN where the slice lists no reference."""
        taken = np.asarray(values, dtype=float)[np.maximum(self.reference_index, 0)]
        return np.where(self.reference_index >= 0, taken, np.nan)


@dataclass(frozen=True)
class _Settings:
    """Options of one sweep, passed down together."""

    design: Design
    design_columns: dict[str, str | None]
    ci_method: str
    level: float
    band: tuple[float, float]
    association: bool
    monte_carlo_tables: int
    test_min_n: int


@dataclass(frozen=True)
class _Shape:
    """Index of every entry of a layout: outcome x slice x group, group fastest."""

    outcomes: int
    slices: int
    groups: int

    def indices(self) -> np.ndarray:
        """Rows: outcome, slice and group index of each entry."""
        return np.indices((self.outcomes, self.slices, self.groups)).reshape(3, -1)


def _listed(layout: _Layout, estimates: _LayoutEstimates, shape: _Shape) -> np.ndarray:
    """Slices x groups: does the slice list the group (every category, else rows in the slice)."""
    return layout.categorical | (estimates.rows.reshape(shape.slices, shape.groups) > 0)


def _reference_covariance(
    estimates: _LayoutEstimates, present: np.ndarray, reference: int, shape: _Shape, design: Design
) -> np.ndarray:
    """Covariance of each domain mean with its slice's reference mean (NaN without a design)."""
    covariance = np.full(shape.outcomes * shape.slices * shape.groups, np.nan)
    if not design.weighted:
        return covariance
    for index, means in enumerate(estimates.means):
        for chosen in np.flatnonzero(present):
            start = chosen * shape.groups
            offset = index * shape.slices * shape.groups + start
            covariance[offset : offset + shape.groups] = covariance_with(
                means, start + reference, design
            )[start : start + shape.groups]
    return covariance


@dataclass(frozen=True)
class _Entries:
    """Every outcome x slice x group of every layout: layout after layout, then outcome, slice
    and group (fastest).

    Attributes:
        outcome, slice_code, layout, group: indices of each entry.
        listed: the slice lists the group (only listed entries become rows).
        labels: group label.
        reference_index: position of the entry of the slice's reference group (-1 = not listed).
        covariance: of the entry's mean with its reference's mean (NaN without a design).
        rows: rows of data in the domain, answered or not.
    """

    outcome: np.ndarray
    slice_code: np.ndarray
    layout: np.ndarray
    group: np.ndarray
    listed: np.ndarray
    labels: np.ndarray
    reference_index: np.ndarray
    covariance: np.ndarray
    rows: np.ndarray


def _entries(
    layouts: Sequence[_Layout],
    estimates: Sequence[_LayoutEstimates],
    shapes: Sequence[_Shape],
    design: Design,
) -> _Entries:
    """Index every entry and find its reference."""
    parts: list[dict[str, np.ndarray]] = []
    offset = 0
    for index, (layout, found, shape) in enumerate(zip(layouts, estimates, shapes, strict=True)):
        outcome, slice_, group = shape.indices()
        listed = _listed(layout, found, shape)
        reference = layout.reference_code()
        present = listed[:, reference] if reference >= 0 else np.zeros(shape.slices, dtype=bool)
        local = (outcome * shape.slices + slice_) * shape.groups + reference
        parts.append(
            {
                "outcome": outcome,
                "slice_code": slice_,
                "layout": np.full(len(outcome), index),
                "group": group,
                "listed": listed[slice_, group],
                "labels": np.asarray(layout.labels, dtype=object)[group],
                "reference_index": np.where(present[slice_], offset + local, -1),
                "covariance": _reference_covariance(found, present, reference, shape, design),
                "rows": np.tile(found.rows, shape.outcomes),
            }
        )
        offset += len(outcome)
    return _Entries(**{name: np.concatenate([part[name] for part in parts]) for name in parts[0]})


def _comparison_notes(
    comparisons: _SliceComparisons,
    is_reference: np.ndarray,
    reference: np.ndarray,
    zero_events: bool,
) -> np.ndarray:
    """The notes of relative_likelihood (``zero_events``) or difference, for every entry;
    ``reference`` holds each entry's reference label, quoted."""
    means = comparisons.means
    rules = [
        (is_reference, "reference group"),
        (comparisons.reference_index < 0, "reference group " + reference + " not present"),
        (
            comparisons.reference_value(means.n) == 0,
            "reference group " + reference + " has no answers",
        ),
        (means.n == 0, "no answers in group"),
    ]
    if zero_events:
        reference_events = comparisons.reference_value(means.events)
        reference_rate = comparisons.reference_value(means.estimate)
        rules += [
            (
                (reference_events == 0) | (reference_rate == 0),
                "reference rate is zero: ratio undefined",
            ),
            (means.events == 0, "no events in group: log interval undefined"),
        ]
    return np.select([rule for rule, _ in rules], [text for _, text in rules], default="")


def _comparison_columns(
    comparisons: _SliceComparisons,
    is_reference: np.ndarray,
    reference: np.ndarray,
    settings: _Settings,
) -> tuple[dict[str, object], np.ndarray, np.ndarray]:
    """Relative likelihood and difference columns, and the two functions' notes."""
    means = comparisons.means
    rl_notes = _comparison_notes(comparisons, is_reference, reference, zero_events=True)
    diff_notes = _comparison_notes(comparisons, is_reference, reference, zero_events=False)
    reference_rate = comparisons.reference_value(means.estimate)
    weighted = settings.design.weighted
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = means.estimate / reference_rate
        log_ratio, log_se = np.log(ratio), log_ratio_se(comparisons)
        half = critical_value(settings.level) * log_se
        undefined = rl_notes != ""
        rl_low = np.where(undefined, np.nan, np.exp(log_ratio - half))
        rl_high = np.where(undefined, np.nan, np.exp(log_ratio + half))
        p_value = np.where(undefined, np.nan, 2 * stats.norm.sf(np.abs(log_ratio / log_se)))
        interval = wald_interval if weighted else newcombe_interval
        diff_low, diff_high = interval(comparisons, settings.level)
    ratio = np.where(is_reference, 1.0, np.where(np.isinf(ratio), np.nan, ratio))
    no_gap = diff_notes != ""
    columns: dict[str, object] = {
        "rel_likelihood": ratio,
        "rl_ci_low": rl_low,
        "rl_ci_high": rl_high,
        "rl_ci_method": methods.LINEARISED_LOG if weighted else methods.KATZ_LOG,
        "p_value": p_value,
        "outside_band": outside_band(rl_low, rl_high, settings.band).array,
        "band_convention": band_label(settings.band),
        "diff": means.estimate - reference_rate,
        "diff_ci_low": np.where(no_gap, np.nan, diff_low),
        "diff_ci_high": np.where(no_gap, np.nan, diff_high),
        "diff_ci_method": methods.LINEARISED_WALD if weighted else methods.NEWCOMBE,
    }
    return columns, rl_notes, diff_notes


def _blank_columns(names: Sequence[str], size: int) -> dict[str, object]:
    """NaN for numbers, NA for text and flags: the columns a row does not carry."""
    text = {"rl_ci_method", "band_convention", "diff_ci_method", "test"}
    blank: dict[str, object] = {}
    for name in names:
        if name == "outside_band":
            blank[name] = np.full(size, pd.NA, dtype=object)
        else:
            blank[name] = np.full(
                size, None if name in text else np.nan, dtype=object if name in text else float
            )
    return blank


@dataclass(frozen=True)
class _TableTest:
    """One association result: test name, statistic, dof, p-value and note."""

    test: str
    statistic: float = np.nan
    dof: float = np.nan
    p_value: float = np.nan
    note: str = ""


@dataclass(frozen=True)
class _CountTables:
    """Unweighted outcome x group tables of every outcome x slice, with chi-square for all.

    Arrays have one entry per outcome x slice (``observed`` and ``answered`` add groups, and
    ``observed`` the answer 0 / 1).
    """

    observed: np.ndarray
    answered: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    min_expected: np.ndarray


def _count_tables(means: DomainMeans, listed: np.ndarray, shape: _Shape) -> _CountTables:
    """Pearson chi-square (no continuity correction) of every table at once."""
    n = means.n.reshape(shape.outcomes, shape.slices, shape.groups).astype(float)
    events = means.events.reshape(n.shape)
    answered = listed[None] & (n > 0)
    observed = np.stack([n - events, events], axis=-1) * answered[..., None]
    column_totals = observed.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (
            observed.sum(axis=-1)[..., None]
            * column_totals[..., None, :]
            / column_totals.sum(axis=-1)[..., None, None]
        )
        terms = np.where(answered[..., None], (observed - expected) ** 2 / expected, 0.0)
    statistic = terms.sum(axis=(-2, -1))
    min_expected = np.where(answered[..., None], expected, np.inf).min(axis=(-2, -1))
    p_value = stats.chi2.sf(statistic, answered.sum(axis=-1) - 1.0)
    return _CountTables(observed, answered, statistic, p_value, min_expected)


def _count_test(
    tables: _CountTables,
    at: tuple[int, int],
    listed: np.ndarray,
    labels: Sequence[str],
    settings: _Settings,
) -> _TableTest:
    """The association rules for one table (``at`` = outcome, slice); exact tests via scipy."""
    answered = tables.answered[at]
    dropped = [labels[g] for g in np.flatnonzero(listed & ~answered)]
    note = f"groups without answers left out: {', '.join(dropped)}" if dropped else ""
    observed = tables.observed[at][answered]
    if (observed.sum(axis=1) < settings.test_min_n).any():
        return _TableTest(
            "not run", note=f"a group has fewer than {settings.test_min_n} answers: no test"
        )
    if answered.sum() < 2:
        return _TableTest(
            methods.PEARSON_CHI_SQUARE, note="fewer than two groups with answers: no test"
        )
    if (observed.sum(axis=0) == 0).any():
        return _TableTest(
            methods.PEARSON_CHI_SQUARE, note="the outcome takes a single value: no test"
        )
    if tables.min_expected[at] >= MIN_EXPECTED:
        return _TableTest(
            methods.PEARSON_CHI_SQUARE,
            float(tables.statistic[at]),
            float(answered.sum() - 1),
            float(tables.p_value[at]),
            note,
        )
    exact = unweighted_test(observed, note, settings.monte_carlo_tables).iloc[0]
    return _TableTest(exact["test"], exact["statistic"], exact["dof"], exact["p_value"], note)


def _design_tests(
    frame: pd.DataFrame,
    outcomes: Sequence[str],
    slices: _Slices,
    layout: _Layout,
    listed: np.ndarray,
    settings: _Settings,
) -> list[_TableTest]:
    """Rao-Scott F per outcome x slice: the full design, rows outside the slice in no group."""
    results: dict[tuple[int, int], _TableTest] = {}
    for slice_index, slice_listed in enumerate(listed):
        position = np.cumsum(slice_listed) - 1
        inside = (slices.codes == slice_index) & (layout.codes >= 0)
        codes = np.where(inside, position[layout.codes], -1)
        labels = [label for label, keep in zip(layout.labels, slice_listed, strict=True) if keep]
        frame[_GROUP] = pd.Categorical.from_codes(codes, categories=labels)
        for outcome_index, outcome in enumerate(outcomes):
            row = association_test(
                frame,
                outcome=outcome,
                group=_GROUP,
                **settings.design_columns,
                monte_carlo_tables=settings.monte_carlo_tables,
            ).iloc[0]
            results[outcome_index, slice_index] = _TableTest(
                row["test"], row["statistic"], row["dof"], row["p_value"], row["note"]
            )
    return [results[key] for key in sorted(results)]


_GROUP = "_sweep_group"


def _test_columns(
    tests: list[_TableTest], entry: np.ndarray
) -> tuple[dict[str, object], list[str]]:
    """Test columns and notes per entry; ``entry`` maps each entry to its outcome x slice."""
    columns: dict[str, object] = {
        "test": np.array([tests[i].test for i in entry], dtype=object),
        "statistic": np.array([tests[i].statistic for i in entry], dtype=float),
        "dof": np.array([tests[i].dof for i in entry], dtype=float),
        "test_p_value": np.array([tests[i].p_value for i in entry], dtype=float),
    }
    return columns, [tests[i].note for i in entry]


def _association(
    frame: pd.DataFrame | None,
    outcomes: Sequence[str],
    slices: _Slices,
    layout: _Layout,
    means: DomainMeans,
    listed: np.ndarray,
    shape: _Shape,
    settings: _Settings,
) -> list[_TableTest]:
    """One test per outcome x slice, outcome-major."""
    if frame is not None:
        return _design_tests(frame, outcomes, slices, layout, listed, settings)
    tables = _count_tables(means, listed, shape)
    return [
        _count_test(tables, (o, s), listed[s], layout.labels, settings)
        for o in range(shape.outcomes)
        for s in range(shape.slices)
    ]


def _join_notes(*notes: Sequence[str]) -> list[str]:
    """The distinct non-empty notes of each row, in order, joined with "; "."""
    return ["; ".join(dict.fromkeys(n for n in row if n)) for row in zip(*notes, strict=True)]


def _as_column(values: object, size: int) -> np.ndarray:
    """A column as an array of ``size`` entries: scalars repeated, flags with NA as objects."""
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return values.to_numpy(dtype=object, na_value=pd.NA)
    if isinstance(values, np.ndarray | list):
        return np.asarray(values)
    return np.full(size, values, dtype=object)


def _group_comparisons(
    means: DomainMeans, entries: _Entries, layouts: Sequence[_Layout], settings: _Settings
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """Comparison columns, is_reference and the comparison notes; blank on "All respondents"."""
    comparisons = _SliceComparisons(
        means, settings.design, entries.covariance, entries.reference_index
    )
    grouped = entries.layout > 0
    is_reference = grouped & (entries.reference_index == np.arange(len(entries.layout)))
    quoted = [repr(layout.grouping.reference) if layout.grouping else "" for layout in layouts]
    reference = np.asarray(quoted, dtype=object)[entries.layout]
    found, rl_notes, diff_notes = _comparison_columns(
        comparisons, is_reference, reference, settings
    )
    size = len(grouped)
    blank = _blank_columns(COMPARISON_COLUMNS, size)
    columns = {
        name: np.where(grouped, _as_column(values, size), blank[name])
        for name, values in found.items()
    }
    notes = _join_notes(np.where(grouped, rl_notes, ""), np.where(grouped, diff_notes, ""))
    return columns, is_reference, notes


def _tests(
    data: _SweepData,
    layouts: Sequence[_Layout],
    estimates: Sequence[_LayoutEstimates],
    shapes: Sequence[_Shape],
    entries: _Entries,
    settings: _Settings,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Test columns and notes of every entry (blank for "All respondents" or when not asked)."""
    size = len(entries.layout)
    columns = _blank_columns(TEST_COLUMNS, size)
    notes = np.full(size, "", dtype=object)
    if not settings.association:
        return columns, notes
    for index in range(1, len(layouts)):
        layout, found, shape = layouts[index], estimates[index], shapes[index]
        chosen = entries.layout == index
        tests = _association(
            data.design_frame,
            data.outcomes,
            data.slices,
            layout,
            _concat(found.means),
            _listed(layout, found, shape),
            shape,
            settings,
        )
        found_columns, found_notes = _test_columns(
            tests, entries.outcome[chosen] * shape.slices + entries.slice_code[chosen]
        )
        for name, values in found_columns.items():
            columns[name][chosen] = values
        notes[chosen] = found_notes
    return columns, notes


@dataclass(frozen=True)
class _SweepData:
    """The data as the sweep reads it: outcomes, slices and, for design tests, a narrow copy
    (its group column is rewritten per slice)."""

    outcomes: tuple[str, ...]
    slices: _Slices
    design_frame: pd.DataFrame | None


def _table(
    data: _SweepData,
    layouts: Sequence[_Layout],
    estimates: Sequence[_LayoutEstimates],
    settings: _Settings,
) -> pd.DataFrame:
    """Rates, comparisons and tests of every listed entry, in the documented row order."""
    shapes = [
        _Shape(len(data.outcomes), len(data.slices.keys), len(layout.labels)) for layout in layouts
    ]
    entries = _entries(layouts, estimates, shapes, settings.design)
    means = _concat([m for found in estimates for m in found.means])
    empty = np.array([], dtype=np.int64)
    domains = Domains(empty, tuple(entries.labels), entries.rows, empty)
    rates = proportion_table(
        means, domains, settings.ci_method, settings.level, settings.design.weighted
    )
    comparisons, is_reference, comparison_notes = _group_comparisons(
        means, entries, layouts, settings
    )
    tests, test_notes = _tests(data, layouts, estimates, shapes, entries, settings)
    described = [layout.grouping for layout in layouts]
    columns: dict[str, np.ndarray] = {
        "outcome": np.asarray(data.outcomes, dtype=object)[entries.outcome],
        "dimension": np.asarray([g.dimension if g else ALL for g in described], dtype=object),
        "level": np.asarray([g.level if g else ALL for g in described], dtype=object),
        "group": entries.labels,
        "reference_group": np.asarray(
            [g.reference if g else None for g in described], dtype=object
        ),
        "is_reference": is_reference,
        **{name: rates[name].to_numpy() for name in RATE_COLUMNS},
        **comparisons,
        **tests,
        "note": np.asarray(_join_notes(rates["note"], comparison_notes, test_notes), dtype=object),
    }
    for name in ("dimension", "level", "reference_group"):
        columns[name] = columns[name][entries.layout]
    listed = np.flatnonzero(entries.listed)
    order = listed[
        np.lexsort(
            [getattr(entries, key)[listed] for key in ("group", "layout", "slice_code", "outcome")]
        )
    ]
    table = pd.DataFrame({name: columns[name][order] for name in SWEEP_COLUMNS})
    table["outside_band"] = table["outside_band"].astype("boolean")
    keys = data.slices.keys.iloc[entries.slice_code[order]].reset_index(drop=True)
    return pd.concat([table[["outcome"]], keys, table.drop(columns="outcome")], axis=1)


def comparison_sweep(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    groupings: Sequence[Grouping],
    split_by: Sequence[str] = ("cycle", "region"),
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    ci_method: str | None = None,
    level: float = 0.95,
    band: tuple[float, float] = FOUR_FIFTHS_BAND,
    association: bool = True,
    monte_carlo_tables: int = DEFAULT_MONTE_CARLO_TABLES,
    test_min_n: int = 0,
) -> pd.DataFrame:
    """Rates, relative likelihoods, gaps and tests for every outcome x slice x grouping x group.

    Inputs: ``data`` one row per respondent; ``outcomes`` 0/1 columns (NaN = not answered);
    ``groupings`` the :class:`Grouping` s to compare within; ``split_by`` columns whose observed
    combinations are the slices (empty: the whole data is one slice); design columns ``weights``,
    ``strata``, ``clusters`` (any of them: design-based, each slice x group a domain of the full
    design); ``ci_method`` as :func:`~toolkit.stats.proportions.proportions`; ``level``; ``band``
    for ``outside_band``; ``association`` whether to run the tests; ``test_min_n`` skips the
    (unweighted) test of a table in which a group has fewer answers (whose rows disclosure
    control will suppress, withholding the test anyway); ``monte_carlo_tables`` for
    the R x C Fisher test.
    Output: columns ``outcome``, the ``split_by`` columns, then :data:`SWEEP_COLUMNS` after
    ``outcome``; per outcome x slice an "All respondents" row (dimension and level "all", rate
    and interval only) followed by one row per grouping x listed group. Rows are ordered by
    outcome (as given), slice (sorted), grouping (as given) and group (label order). The numbers
    are those of proportions / relative_likelihood / difference / association (see the module
    docstring for the domain choice with a design).
    """
    design_columns = {"weights": weights, "strata": strata, "clusters": clusters}
    design = make_design(data, **design_columns)
    require_columns(data, outcomes)
    if not outcomes:
        raise PtwError(
            code="stats.no_outcomes",
            message="the comparison sweep was given no outcome columns",
            value=list(outcomes),
            expected="at least one 0/1 outcome column",
            fix="pass the indicator columns to compare",
        )
    settings = _Settings(
        design,
        design_columns,
        resolve_ci_method(ci_method, design.weighted),
        level,
        tuple(band),
        association,
        monte_carlo_tables,
        test_min_n,
    )
    slices = _slices(data, split_by)
    layouts = _layouts(data, groupings)
    estimates = _estimates(data, outcomes, slices, layouts, design)
    narrow = [*outcomes, *(c for c in design_columns.values() if c is not None)]
    frame = data[list(dict.fromkeys(narrow))].copy() if association and design.weighted else None
    return _table(_SweepData(tuple(outcomes), slices, frame), layouts, estimates, settings)


def count_relative_likelihoods(
    events: np.ndarray,
    n: np.ndarray,
    reference_index: np.ndarray,
    reference: Sequence[str],
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Unweighted relative likelihoods of many groups from their counts, each group against the
    reference of its own stratum (e.g. a cohort or year of one area and grouping), all at once.

    Inputs: per entry, ``events`` of ``n`` (a listed group with no rows is 0 of 0),
    ``reference_index`` the entry of its stratum's reference group (-1 when the stratum lists
    none; the reference's own entry points at itself) and ``reference`` that group's label.
    Output: per entry ``rel_likelihood, rl_ci_low, rl_ci_high, p_value, note``, the numbers
    and note :func:`~toolkit.stats.comparisons.relative_likelihood` gives the group in a call on
    its stratum's rows (Katz log interval; RL 1 and no interval for the reference).
    """
    size = len(n)
    comparisons = _SliceComparisons(
        count_means(np.asarray(events, dtype=float), np.asarray(n)),
        make_design(pd.DataFrame(index=range(size))),
        np.full(size, np.nan),
        np.asarray(reference_index, dtype=np.int64),
    )
    settings = _Settings(
        comparisons.design, {}, resolve_ci_method(None, False), level, FOUR_FIFTHS_BAND, False, 0, 0
    )
    quoted = np.asarray([repr(label) for label in reference], dtype=object)
    is_reference = comparisons.reference_index == np.arange(size)
    columns, rl_notes, _ = _comparison_columns(comparisons, is_reference, quoted, settings)
    names = ("rel_likelihood", "rl_ci_low", "rl_ci_high", "p_value")
    return pd.DataFrame({**{name: columns[name] for name in names}, "note": rl_notes})
