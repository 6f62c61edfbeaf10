"""Survey-design helpers shared by the statistics modules: domains, weights, strata, clusters.

A design is built once from a DataFrame (:func:`make_design`); domain estimates of a mean
(:func:`domain_means`) and their Taylor-linearised variances and covariances follow R's
``survey`` package exactly:

* The design is ``svydesign(ids = ~psu, strata = ~stratum, weights = ~w, nest = TRUE)``; without
  clusters every row is its own PSU (``ids = ~1``); without strata there is one stratum.
* A domain (e.g. "answered the item and belongs to group g") stays inside the full design: rows
  outside it contribute zero influence, and each stratum keeps the number of PSUs it has in the
  whole design, as ``svyby`` does on a subset of an uncalibrated design.
* Influence of a domain mean ``p_d = sum(w y d) / sum(w d)`` on row ``i``:
  ``z_i = w_i d_i (y_i - p_d) / sum(w d)``. With ``Z_hp`` the PSU totals of ``z`` in stratum ``h``
  (``n_h`` PSUs, zero for PSUs without domain rows)::

      var(p_d) = sum_h n_h / (n_h - 1) * sum_p (Z_hp - mean_h(Z))^2

  which, with weights only, is ``n/(n-1) * sum(w^2 (y - p)^2) / (sum w)^2`` (DOMAIN.md section
  5). Covariances between two domains use the same formula with the product of their PSU totals.
  A stratum with a single PSU contributes zero (R's ``lonely.psu = "remove"``).
* Design degrees of freedom of a domain: PSUs with positive weight in the domain minus the strata
  they lie in (R ``degf()`` of the domain's subset).

Everything is computed with ``numpy.bincount`` over integer codes: no Python loop over groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import product

import numpy as np
import pandas as pd

from toolkit.errors import PtwError

INTERSECTION_SEPARATOR = " × "
ALL_GROUP = "All"


@dataclass(frozen=True)
class Design:
    """A survey design over the rows of one DataFrame.

    Attributes:
        weights: sampling weight per row (ones when unweighted).
        psu: PSU code per row, ``0..n_psu_total-1``, unique across strata (``nest = TRUE``).
        psu_stratum: stratum code of each PSU.
        n_psu: number of PSUs in each stratum, counted over the whole design.
        weighted: whether weights, strata or clusters were given (design-based inference).
        rows_are_psus: no clusters were given, so PSU ``i`` is row ``i``.
    """

    weights: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    n_psu: np.ndarray
    weighted: bool
    rows_are_psus: bool


@dataclass(frozen=True)
class Domains:
    """Domain (group) membership of each row.

    Attributes:
        codes: domain code per row, ``-1`` for rows in no domain (missing grouping value).
        labels: label of each domain code; intersections are joined with ``" × "``.
        rows: number of rows of the data in each domain, answered or not.
        bins: ``codes`` with rows in no domain moved to the extra bin ``len(labels)``.
    """

    codes: np.ndarray
    labels: tuple[str, ...]
    rows: np.ndarray
    bins: np.ndarray


@dataclass(frozen=True)
class DomainMeans:
    """Per-domain estimates of the mean of an outcome (a proportion for a 0/1 outcome).

    Attributes:
        n: rows that answered (outcome not missing).
        events: unweighted sum of the outcome.
        weighted_n: sum of weights of answering rows.
        estimate: weighted mean ``sum(w y) / sum(w)`` (NaN when ``n == 0``).
        variance: linearised variance (NaN when unweighted or ``n == 0``).
        df: design degrees of freedom (NaN when unweighted).
        stratum_influence: totals of the influence function per domain and stratum (D x H).
        entry_domain, entry_psu, entry_influence: PSU totals of the influence function, one entry
            per (domain, PSU) pair that has answering rows, for clustered designs (empty when
            every row is its own PSU); used for covariances.
    """

    n: np.ndarray
    events: np.ndarray
    weighted_n: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    stratum_influence: np.ndarray
    entry_domain: np.ndarray
    entry_psu: np.ndarray
    entry_influence: np.ndarray


def level_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A column's integer codes (``-1`` = missing) and level labels as text: its categories in
    order if categorical, else its sorted values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(np.int64), [str(c) for c in column.cat.categories]
    codes, uniques = pd.factorize(column, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise PtwError naming the first of ``columns`` that ``data`` lacks."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise PtwError(
            code="stats.unknown_column",
            message="a column named in the analysis is not in the data",
            column=missing[0],
            expected=f"one of {list(data.columns)}",
            fix="check the column names passed to the statistics function",
        )


def coded_domains(codes: np.ndarray, labels: Sequence[str]) -> Domains:
    """Domains from a code per row (``-1``: in no domain) and each code's label.

    What :func:`make_domains` gives for a column whose levels are ``labels``, for a caller that
    has coded its rows already (integer keys combined arithmetically, never text per row).
    """
    bins = np.where(codes < 0, len(labels), codes) if codes.min(initial=0) < 0 else codes
    rows = np.bincount(bins, minlength=len(labels) + 1)[:-1]
    return Domains(codes, tuple(labels), rows, bins)


def make_domains(data: pd.DataFrame, group: str | Sequence[str] | Domains | None) -> Domains:
    """Domains from one grouping column, a list of columns (intersection) or none ("All").

    Levels of each column are its categories (if categorical) or its sorted observed values;
    an intersection has every combination of levels, labelled ``"a × b"``. Rows with a missing
    value in any grouping column are in no domain. Domains already made (e.g. by
    :func:`coded_domains`, one per row of ``data``) are used as they are.
    """
    if isinstance(group, Domains):
        return group
    if group is None:
        codes = np.zeros(len(data), dtype=np.int64)
        return Domains(codes, (ALL_GROUP,), np.array([len(data)]), codes)
    columns = [group] if isinstance(group, str) else list(group)
    require_columns(data, columns)
    codes, first_levels = level_codes(data[columns[0]])
    level_lists = [first_levels]
    for column in columns[1:]:
        column_codes, labels = level_codes(data[column])
        codes = np.where((codes < 0) | (column_codes < 0), -1, codes * len(labels) + column_codes)
        level_lists.append(labels)
    return coded_domains(codes, [INTERSECTION_SEPARATOR.join(c) for c in product(*level_lists)])


def _refuse_rows(bad: np.ndarray, values: np.ndarray, **fields: str) -> None:
    """Raise PtwError located at the first row where ``bad`` is True, if any."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PtwError(row=row + 1, value=values[row], **fields)


def _weights(data: pd.DataFrame, weights: str | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(data))
    require_columns(data, [weights])
    values = data[weights].to_numpy(dtype=float)
    _refuse_rows(
        ~np.isfinite(values) | (values < 0),
        values,
        code="stats.bad_weight",
        message="a survey weight is missing, negative or infinite",
        column=weights,
        expected="a finite weight >= 0 on every row",
        fix="repair or drop the rows before estimating, or recompute the weights",
    )
    return values


def make_design(
    data: pd.DataFrame,
    *,
    weights: str | None = None,
    strata: str | None = None,
    clusters: str | None = None,
) -> Design:
    """Build the design of ``data``: weights (default 1), optional strata and clusters (PSUs).

    Missing strata or cluster values raise :class:`PtwError`. PSU identifiers are nested in
    strata (the same cluster label in two strata is two PSUs).
    """
    w = _weights(data, weights)
    n = len(data)
    stratum = np.zeros(n, dtype=np.int64)
    if strata is not None:
        require_columns(data, [strata])
        stratum, _ = level_codes(data[strata])
    if clusters is None:
        psu_key = np.arange(n, dtype=np.int64)
    else:
        require_columns(data, [clusters])
        cluster, _ = level_codes(data[clusters])
        psu_key = np.where(cluster < 0, -1, stratum * (int(cluster.max(initial=0)) + 1) + cluster)
    for name, codes in ((strata, stratum), (clusters, psu_key)):
        if name is not None:
            _refuse_rows(
                codes < 0,
                data[name].to_numpy(),
                code="stats.missing_design_variable",
                message="a stratum or cluster identifier is missing",
                column=name,
                expected="a stratum and a cluster on every row",
                fix="fill in the design variables or drop those rows from the design",
            )
    if clusters is None:
        psu, psu_stratum = psu_key, stratum
    else:
        uniques, psu = np.unique(psu_key, return_inverse=True)
        psu_stratum = np.zeros(len(uniques), dtype=np.int64)
        psu_stratum[psu] = stratum
    n_psu = np.bincount(psu_stratum, minlength=int(stratum.max(initial=0)) + 1)
    weighted = weights is not None or strata is not None or clusters is not None
    return Design(w, psu.astype(np.int64), psu_stratum, n_psu, weighted, clusters is None)


def declared_levels(column: pd.Series) -> list[str]:
    """A grouping column's levels as text: its categories if categorical, else its sorted values."""
    return level_codes(column)[1]


def values_found(column: pd.Series, limit: int = 10) -> list[str]:
    """The distinct non-missing values of ``column`` as text, sorted, at most ``limit``."""
    return sorted({str(value) for value in column.dropna().unique()})[:limit]


def outcome_values(data: pd.DataFrame, outcome: str) -> np.ndarray:
    """The outcome column as floats (0/1, NaN = not answered).

    Any other value, text such as "Yes"/"No" included, raises PtwError located at its first row
    and listing the values found in the column.
    """
    require_columns(data, [outcome])
    raw = data[outcome]
    y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    unreadable = np.isnan(y) & raw.notna().to_numpy()
    bad = unreadable | (~np.isnan(y) & (y != 0) & (y != 1))
    if bad.any():
        raise PtwError(
            code="stats.outcome_not_binary",
            message="a binary outcome holds a value other than 0, 1 or missing",
            row=int(np.flatnonzero(bad)[0]) + 1,
            column=outcome,
            value=values_found(raw),
            expected="0, 1 or missing",
            fix="derive the indicator as 0/1 (favourable or adverse answer) before analysis",
        )
    return y


def require_reference(labels: Sequence[str], reference: str, group: str | Sequence[str]) -> int:
    """Index of ``reference`` among the group ``labels``; PtwError naming the levels if absent.

    ``labels`` are a grouping's levels (categories, or the values in the data); a declared
    category with no rows is a level, so it passes and is reported with a note downstream.
    """
    if reference in labels:
        return list(labels).index(reference)
    column = group if isinstance(group, str) else INTERSECTION_SEPARATOR.join(group)
    raise PtwError(
        code="stats.unknown_reference",
        message="the reference group is not a level of the grouping column",
        column=column,
        value=reference,
        expected=f"one of the levels found: {list(labels)[:20]}",
        fix="pass reference= exactly as the label appears in the data (case and spaces count)",
    )


def _stratum_scale(design: Design) -> np.ndarray:
    """``n_h / (n_h - 1)`` per stratum, 0 for a single-PSU stratum."""
    n_h = design.n_psu.astype(float)
    return np.divide(n_h, n_h - 1, out=np.zeros_like(n_h), where=n_h > 1)


def _psu_entries(
    domain: np.ndarray, design: Design, wy: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(domain, psu, sum w*y, sum w) per (domain, PSU) pair among rows with ``domain >= 0``."""
    inside = domain >= 0
    key = domain[inside] * len(design.psu_stratum) + design.psu[inside]
    uniques, inverse = np.unique(key, return_inverse=True)
    wy_total = np.bincount(inverse, weights=wy[inside])
    w_total = np.bincount(inverse, weights=w[inside])
    return uniques // len(design.psu_stratum), uniques % len(design.psu_stratum), wy_total, w_total


def _stratified_sum(
    entry_domain: np.ndarray,
    entry_psu: np.ndarray,
    product_values: np.ndarray,
    sum_a: np.ndarray,
    sum_b: np.ndarray,
    design: Design,
) -> np.ndarray:
    """``sum_h n_h/(n_h-1) (sum_p a b - sum_p a * sum_p b / n_h)`` per domain.

    ``product_values`` are the per-entry products ``a*b``; ``sum_a``/``sum_b`` are per
    (domain, stratum) totals of ``a`` and ``b`` laid out as ``domain * H + stratum``.
    """
    n_strata = len(design.n_psu)
    n_domains = len(sum_a) // n_strata
    cell = entry_domain * n_strata + design.psu_stratum[entry_psu]
    cross = np.bincount(cell, weights=product_values, minlength=n_domains * n_strata)
    n_h = np.tile(design.n_psu.astype(float), n_domains)
    centred = cross - sum_a * sum_b / n_h
    return (
        (centred * np.tile(_stratum_scale(design), n_domains))
        .reshape(n_domains, n_strata)
        .sum(axis=1)
    )


def _stratum_totals(
    entry_domain: np.ndarray,
    entry_psu: np.ndarray,
    values: np.ndarray,
    n_domains: int,
    design: Design,
) -> np.ndarray:
    n_strata = len(design.n_psu)
    cell = entry_domain * n_strata + design.psu_stratum[entry_psu]
    return np.bincount(cell, weights=values, minlength=n_domains * n_strata)


def _design_df(
    entry_domain: np.ndarray,
    entry_psu: np.ndarray,
    entry_w: np.ndarray,
    n_domains: int,
    design: Design,
) -> np.ndarray:
    """PSUs with positive weight in each domain minus the strata they lie in."""
    positive = entry_w > 0
    domain, psu = entry_domain[positive], entry_psu[positive]
    psus = np.bincount(domain, minlength=n_domains)
    strata_pairs = np.unique(domain * len(design.n_psu) + design.psu_stratum[psu])
    strata = np.bincount(strata_pairs // len(design.n_psu), minlength=n_domains)
    return (psus - strata).astype(float)


def stratified_variance(
    sum_squares: np.ndarray, stratum_influence: np.ndarray, design: Design
) -> np.ndarray:
    """``sum_h n_h/(n_h-1) (S2_dh - S1_dh^2 / n_h)`` per domain from D x H arrays."""
    n_h = design.n_psu.astype(float)
    return ((sum_squares - stratum_influence**2 / n_h) * _stratum_scale(design)).sum(axis=1)


def _row_psu_means(y: np.ndarray, bins: np.ndarray, n_domains: int, design: Design) -> DomainMeans:
    """Domain means of a 0/1 ``y`` when every row is a PSU: a few bincounts, no per-row work.

    ``sum_p z^2`` per (domain, stratum) expands to ``(sum w^2 y - 2p sum w^2 y + p^2 sum w^2) /
    W^2`` because ``y^2 = y``.
    """
    n_strata = len(design.n_psu)
    cells = bins if n_strata == 1 else bins * n_strata + design.psu_stratum
    w = design.weights
    wy = w * y

    def total(values: np.ndarray | None = None) -> np.ndarray:
        sums = np.bincount(cells, weights=values, minlength=(n_domains + 1) * n_strata)
        return sums.reshape(n_domains + 1, n_strata)[:n_domains]

    n_dh, events_dh, w_dh, wy_dh = total(), total(y), total(w), total(wy)
    w2_dh, w2y_dh = total(w * w), total(w * wy)
    positive_dh = total((w > 0).astype(float)) if (w <= 0).any() else n_dh
    weighted_n = w_dh.sum(axis=1)
    positive = weighted_n > 0
    estimate = np.divide(
        wy_dh.sum(axis=1), weighted_n, out=np.full(n_domains, np.nan), where=positive
    )
    p = np.where(positive, estimate, 0.0)[:, None]
    scale = np.where(positive, weighted_n, 1.0)[:, None]
    stratum_influence = (wy_dh - p * w_dh) / scale
    sum_squares = ((1 - 2 * p) * w2y_dh + p**2 * w2_dh) / scale**2  # y^2 = y for 0/1
    variance = np.where(
        positive, stratified_variance(sum_squares, stratum_influence, design), np.nan
    )
    df = (positive_dh.sum(axis=1) - (positive_dh > 0).sum(axis=1)).astype(float)
    empty = np.array([], dtype=np.int64)
    return DomainMeans(
        n_dh.sum(axis=1).astype(np.int64),
        events_dh.sum(axis=1),
        weighted_n,
        estimate,
        variance,
        df,
        stratum_influence,
        empty,
        empty,
        np.array([]),
    )


def _cluster_means(y: np.ndarray, bins: np.ndarray, n_domains: int, design: Design) -> DomainMeans:
    """Domain means in a clustered design, from (domain, PSU) totals."""
    domain = np.where(bins < n_domains, bins, -1)
    y0 = np.nan_to_num(y)
    w = design.weights
    n = np.bincount(bins, minlength=n_domains + 1)[:n_domains]
    events = np.bincount(bins, weights=y0, minlength=n_domains + 1)[:n_domains]
    entry_domain, entry_psu, entry_wy, entry_w = _psu_entries(domain, design, w * y0, w)
    weighted_n = np.bincount(entry_domain, weights=entry_w, minlength=n_domains)
    weighted_events = np.bincount(entry_domain, weights=entry_wy, minlength=n_domains)
    positive = weighted_n > 0
    estimate = np.divide(
        weighted_events, weighted_n, out=np.full(n_domains, np.nan), where=positive
    )
    safe_total = np.where(positive, weighted_n, 1.0)
    influence = (entry_wy - estimate[entry_domain] * entry_w) / safe_total[entry_domain]
    totals = _stratum_totals(entry_domain, entry_psu, influence, n_domains, design)
    variance = _stratified_sum(entry_domain, entry_psu, influence**2, totals, totals, design)
    variance = np.where(positive, variance, np.nan)
    df = _design_df(entry_domain, entry_psu, entry_w, n_domains, design)
    return DomainMeans(
        n,
        events,
        weighted_n,
        estimate,
        variance,
        df,
        totals.reshape(n_domains, len(design.n_psu)),
        entry_domain,
        entry_psu,
        influence,
    )


def domain_means(y: np.ndarray, domains: Domains, design: Design | None) -> DomainMeans:
    """Per-domain mean of ``y`` (NaN = not answered) with linearised variance when weighted.

    Inputs: ``y`` (float array), ``domains`` (from :func:`make_domains`), ``design`` (from
    :func:`make_design`, or None for simple random sampling without weights).
    Output: :class:`DomainMeans`; see the module docstring for the formulas.
    """
    n_domains = len(domains.labels)
    bins = np.where(np.isnan(y), n_domains, domains.bins)
    if design is not None and design.weighted:
        means = _row_psu_means if design.rows_are_psus else _cluster_means
        return means(y, bins, n_domains, design)
    n = np.bincount(bins, minlength=n_domains + 1)[:n_domains]
    events = np.bincount(bins, weights=y, minlength=n_domains + 1)[:n_domains]
    return count_means(events, n)


def count_means(events: np.ndarray, n: np.ndarray) -> DomainMeans:
    """Unweighted :class:`DomainMeans` from ``events`` out of ``n`` per domain.

    ``estimate = events / n`` (NaN when ``n == 0``); variance and df are NaN (no design).
    """
    n_domains = len(n)
    estimate = np.divide(events, n, out=np.full(n_domains, np.nan), where=n > 0)
    nan = np.full(n_domains, np.nan)
    empty = np.array([], dtype=np.int64)
    return DomainMeans(
        np.asarray(n).astype(np.int64),
        np.asarray(events, dtype=float),
        np.asarray(n, dtype=float),
        estimate,
        nan,
        nan,
        np.zeros((n_domains, 1)),
        empty,
        empty,
        np.array([]),
    )


def count_domains(
    counts: pd.DataFrame, *, events: str, n: str, group: str | Sequence[str] | None
) -> tuple[Domains, DomainMeans]:
    """Domains and unweighted means from a table of counts (one row per group, or several).

    Inputs: ``counts`` with an ``events`` column (how many had the outcome) and an ``n`` column
    (how many answered) per row; ``group`` as in :func:`make_domains`. Rows of the same group
    are added up; the result equals :func:`make_domains` + :func:`domain_means` on the counts
    expanded to ``events`` rows of 1 and ``n - events`` rows of 0 per row. Counts that are
    missing, negative, not whole, or with ``events > n`` raise PtwError.
    """
    require_columns(counts, [events, n])
    table = {}
    for column in (events, n):
        values = pd.to_numeric(counts[column], errors="coerce").to_numpy(dtype=float)
        _refuse_rows(
            ~np.isfinite(values) | (values < 0) | (values != np.round(values)),
            counts[column].to_numpy(),
            code="stats.bad_count",
            message="a count is missing, negative or not a whole number",
            column=column,
            expected="a whole number >= 0 on every row",
            fix="give counts of people; turn a percentage into events = round(percent * n / 100)",
        )
        table[column] = values
    _refuse_rows(
        table[events] > table[n],
        counts[events].to_numpy(),
        code="stats.events_above_base",
        message="more people had the outcome than answered",
        column=events,
        expected=f"at most the base in column {n!r}",
        fix="check that the base column is the number who answered",
    )
    domains = make_domains(counts, group)
    n_domains = len(domains.labels)
    n_total = np.bincount(domains.bins, weights=table[n], minlength=n_domains + 1)[:n_domains]
    event_total = np.bincount(domains.bins, weights=table[events], minlength=n_domains + 1)
    domains = replace(domains, rows=n_total.astype(np.int64))
    return domains, count_means(event_total[:n_domains], n_total.astype(np.int64))


def covariance_with(means: DomainMeans, reference: int, design: Design) -> np.ndarray:
    """Linearised covariance of every domain mean with the mean of domain ``reference``.

    The reference's PSU totals of influence are spread over all PSUs (zero elsewhere) and
    multiplied with each domain's totals in the same PSU; centring uses each stratum's PSU count.
    The entry for ``reference`` itself is its variance. When every row is its own PSU two
    domains share no PSU, so only the centring term remains.
    """
    n_domains = len(means.n)
    if design.rows_are_psus:
        n_h = design.n_psu.astype(float)
        cross = -(means.stratum_influence * means.stratum_influence[reference] / n_h)
        covariance = (cross * _stratum_scale(design)).sum(axis=1)
        covariance[reference] = means.variance[reference]
        return covariance
    is_ref = means.entry_domain == reference
    reference_by_psu = np.zeros(len(design.psu_stratum))
    reference_by_psu[means.entry_psu[is_ref]] = means.entry_influence[is_ref]
    totals = _stratum_totals(
        means.entry_domain, means.entry_psu, means.entry_influence, n_domains, design
    )
    n_strata = len(design.n_psu)
    reference_totals = np.tile(totals[reference * n_strata : (reference + 1) * n_strata], n_domains)
    products = means.entry_influence * reference_by_psu[means.entry_psu]
    return _stratified_sum(
        means.entry_domain, means.entry_psu, products, totals, reference_totals, design
    )


def psu_covariance(influence: np.ndarray, design: Design) -> np.ndarray:
    """Covariance matrix of several statistics from their row influence values (rows x k).

    Sums influence to PSU totals, centres them within each stratum over all its PSUs and scales
    by ``n_h / (n_h - 1)``: R ``svyrecvar`` for a one-stage with-replacement design.
    """
    n_psu_total = len(design.psu_stratum)
    psu_totals = np.column_stack(
        [np.bincount(design.psu, weights=column, minlength=n_psu_total) for column in influence.T]
    )
    stratum_sums = np.column_stack(
        [
            np.bincount(design.psu_stratum, weights=column, minlength=len(design.n_psu))
            for column in psu_totals.T
        ]
    )
    centred = psu_totals - stratum_sums[design.psu_stratum] / design.n_psu[design.psu_stratum, None]
    scale = _stratum_scale(design)[design.psu_stratum]
    return (centred * scale[:, None]).T @ centred


def domain_df(rows: np.ndarray, design: Design) -> float:
    """Design degrees of freedom of the rows selected by the boolean mask ``rows``."""
    positive = rows & (design.weights > 0)
    psus = np.unique(design.psu[positive])
    return float(len(psus) - len(np.unique(design.psu_stratum[psus])))
