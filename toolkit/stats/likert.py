"""Likert items: % favourable, answer distributions, mean scores, rank tests, ordinal models,
NHS Staff Survey scale scores and Cronbach's alpha.

Answers are numeric codes ``1..K`` (``K`` = the favourable end unless an item is reversed), NaN
when not answered; denominators are "of those who answered". Every function returns a tidy
DataFrame with fixed columns (or, for :func:`scale_scores`, a Series per respondent).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

from toolkit.errors import PtwError
from toolkit.stats import methods, pingouin_adapter
from toolkit.stats.design import (
    ALL_GROUP,
    Domains,
    make_design,
    make_domains,
    require_reference,
)
from toolkit.stats.models import (
    NEWTON_MAX_ITER,
    NEWTON_TOL,
    SEPARATED_LOG_ODDS,
    SEPARATED_SE,
    Fit,
    ModelSample,
    complete_cases,
    fit_table,
    model_factors,
    respondent_units,
)
from toolkit.stats.proportions import critical_value, proportions

FAVOURABLE_COLUMNS = (
    "group",
    "n",
    "favourable",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_method",
    "note",
)
DISTRIBUTION_COLUMNS = ("group", "level", "n", "share")
MEAN_COLUMNS = ("group", "n", "estimate", "sd", "se", "ci_low", "ci_high", "ci_method", "note")
RANK_TEST_COLUMNS = (
    "test",
    "group",
    "reference_group",
    "statistic",
    "dof",
    "p_value",
    "effect_size",
    "effect_size_name",
    "n",
    "note",
)
ALPHA_COLUMNS = ("alpha", "ci_low", "ci_high", "n", "n_items", "note")
NHS_POINTS = (0.0, 2.5, 5.0, 7.5, 10.0)
_FAVOURABLE = "__favourable__"


def _answers(data: pd.DataFrame, item: str) -> np.ndarray:
    """The item's answer codes as floats (NaN = not answered); text raises PtwError."""
    if item not in data.columns:
        raise PtwError(
            code="stats.unknown_column",
            message="the item is not in the data",
            column=item,
            fix="check the item name",
        )
    values = pd.to_numeric(data[item], errors="coerce")
    bad = values.isna() & data[item].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise PtwError(
            code="stats.likert_not_numeric",
            message="a Likert answer is not a numeric code",
            row=row + 1,
            column=item,
            value=data[item].iloc[row],
            expected="answer codes 1..K or missing",
            fix="code the answers with the instrument's choice list before analysis",
        )
    return values.to_numpy(dtype=float, na_value=np.nan)


def percent_favourable(
    data: pd.DataFrame,
    *,
    item: str,
    group: str | Sequence[str] | None = None,
    favourable: Sequence[float] = (4, 5),
    weights: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of those who answered ``item`` whose answer is in ``favourable``, per group.

    Inputs: ``data``; ``item`` (answer codes, NaN = not answered); ``group`` (column, columns for an
    intersection, or None for one group "All"); ``favourable`` (the codes counted, default the top
    two boxes); ``weights`` (survey weight column); ``level``.
    Output: :data:`FAVOURABLE_COLUMNS`. The estimate and interval come from
    :func:`toolkit.stats.proportions.proportions`: Wilson unweighted, and weighted the
    linearised logit interval of R ``svyciprop(method = "logit")``; ``ci_method`` names it.
    """
    answers = _answers(data, item)
    indicator = np.where(np.isnan(answers), np.nan, np.isin(answers, list(favourable)))
    table = proportions(
        data.assign(**{_FAVOURABLE: indicator}),
        outcome=_FAVOURABLE,
        group=group,
        weights=weights,
        level=level,
    )
    return table.rename(columns={"events": "favourable"})[list(FAVOURABLE_COLUMNS)]


def likert_distribution(
    data: pd.DataFrame,
    *,
    item: str,
    group: str | Sequence[str] | None = None,
    levels: Sequence[float],
) -> pd.DataFrame:
    """Count and share of each answer level per group (input to diverging stacked bars).

    Inputs: ``data``; ``item``; ``group`` (as in :func:`percent_favourable`); ``levels`` (the answer
    codes in scale order; other codes, e.g. "don't know", are left out of the denominator).
    Output: :data:`DISTRIBUTION_COLUMNS`, one row per group and level in the given order;
    ``share = n / (answers in levels)``, NaN for a group with no such answers
    (:func:`distribution_counts`).
    """
    answers = _answers(data, item)
    domains = make_domains(data, group)
    counts, shares = distribution_counts(answers, domains.codes, len(domains.labels), levels)
    n_levels = len(levels)
    return pd.DataFrame(
        {
            "group": np.repeat(domains.labels, n_levels),
            "level": np.tile(pd.Index(list(levels)).to_numpy(), len(domains.labels)),
            "n": counts.ravel(),
            "share": shares.ravel(),
        },
        columns=list(DISTRIBUTION_COLUMNS),
    )


def distribution_counts(
    answers: np.ndarray, codes: np.ndarray, n_groups: int, levels: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Answers at each of ``levels`` per group, and their shares, both ``(n_groups, levels)``.

    Inputs: ``answers`` codes (NaN = not answered); ``codes`` each row's group (-1 = none);
    ``levels`` the answer codes counted, in order. ``share = count / (answers in levels)`` within
    the group, NaN for a group with none.
    """
    level_code = pd.Index(list(levels)).get_indexer(answers)
    inside = (codes >= 0) & (level_code >= 0)
    n_levels = len(levels)
    combined = codes[inside] * n_levels + level_code[inside]
    counts = np.bincount(combined, minlength=n_groups * n_levels).reshape(n_groups, n_levels)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.full(counts.shape, np.nan), where=totals > 0)
    return counts, shares


def _weighted_mean_variance(
    y: np.ndarray, codes: np.ndarray, w: np.ndarray, estimate: np.ndarray, n_design: int
) -> np.ndarray:
    """Linearised variance of each domain's weighted mean, weights-only design.

    ``N/(N-1) * sum_d w^2 (y - mean_d)^2 / (sum_d w)^2`` with ``N`` the rows of the whole design:
    R ``svymean`` in a domain kept inside ``svydesign(ids = ~1, weights = ~w)`` declared on the
    whole data (the convention of :mod:`toolkit.stats.design`, whose ``domain_means`` variance
    assumes a 0/1 outcome).
    """
    n_domains = len(estimate)
    centred = y - estimate[codes]
    squares = np.bincount(codes, weights=(w * centred) ** 2, minlength=n_domains)
    weight_sum = np.bincount(codes, weights=w, minlength=n_domains)
    with np.errstate(divide="ignore", invalid="ignore"):
        return n_design / (n_design - 1) * squares / weight_sum**2


def mean_score(
    data: pd.DataFrame,
    *,
    item: str,
    group: str | Sequence[str] | Domains | None = None,
    weights: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean answer code (or any numeric score) per group with a t interval.

    Inputs: as :func:`percent_favourable`, without ``favourable``; ``group`` may also be
    :class:`~toolkit.stats.design.Domains` made for ``data``.
    Output: :data:`MEAN_COLUMNS`. Unweighted: sample mean, ``sd`` with divisor ``n - 1``,
    ``se = sd / sqrt(n)``, t on ``n - 1`` df (``ci_method`` "t"). Weighted: ``sum(w y) / sum(w)``,
    ``sd = sqrt(sum w (y - mean)^2 / sum w)``, linearised ``se`` as R ``svymean``
    (:func:`_weighted_mean_variance`), t on ``n - 1`` df, the domain's design df
    (``ci_method`` "taylor-t").
    """
    answers = _answers(data, item)
    domains = make_domains(data, group)
    w_all = make_design(data, weights=weights).weights
    answered = ~np.isnan(answers) & (domains.codes >= 0)
    codes, y, w = domains.codes[answered], answers[answered], w_all[answered]
    n_domains = len(domains.labels)
    n = np.bincount(codes, minlength=n_domains).astype(float)
    weight_sum = np.bincount(codes, weights=w, minlength=n_domains)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.bincount(codes, weights=w * y, minlength=n_domains) / weight_sum
        squares = np.bincount(codes, weights=w * (y - estimate[codes]) ** 2, minlength=n_domains)
        if weights is not None:
            sd = np.sqrt(squares / weight_sum)
            variance = _weighted_mean_variance(y, codes, w, estimate, len(data))
            method = methods.TAYLOR_T
        else:
            sd = np.sqrt(squares / (n - 1))
            variance, method = sd**2 / n, methods.T
        se = np.sqrt(variance)
        half = critical_value(level, np.where(n >= 2, n - 1, np.nan)) * se
    notes = np.where(n == 0, "no answers", np.where(n < 2, "one answer: no interval", ""))
    return pd.DataFrame(
        {
            "group": domains.labels,
            "n": n.astype(np.int64),
            "estimate": estimate,
            "sd": sd,
            "se": se,
            "ci_low": estimate - half,
            "ci_high": estimate + half,
            "ci_method": method,
            "note": notes,
        },
        columns=list(MEAN_COLUMNS),
    )


def _rank_row(
    test: str,
    group: str,
    reference: str,
    statistic: float,
    dof: float,
    p_value: float,
    effect: float,
    effect_name: str,
    n: int,
    note: str = "",
) -> dict[str, object]:
    return dict(
        zip(
            RANK_TEST_COLUMNS,
            (test, group, reference, statistic, dof, p_value, effect, effect_name, n, note),
            strict=True,
        )
    )


def _mann_whitney_rows(
    samples: dict[str, np.ndarray], group: str, reference: str
) -> list[dict[str, object]]:
    """Two rows (rank-biserial, CLES) for ``group`` vs ``reference``, or a note row."""
    x, y = samples.get(group, np.array([])), samples.get(reference, np.array([]))
    if len(x) == 0 or len(y) == 0:
        missing = reference if len(y) == 0 else group
        return [
            _rank_row(
                methods.MANN_WHITNEY,
                group,
                reference,
                np.nan,
                np.nan,
                np.nan,
                np.nan,
                "",
                len(x) + len(y),
                f'no answers in "{missing}": no test',
            )
        ]
    result = pingouin_adapter.mann_whitney(x, y)
    return [
        _rank_row(
            methods.MANN_WHITNEY,
            group,
            reference,
            result.u,
            np.nan,
            result.p_value,
            value,
            name,
            len(x) + len(y),
        )
        for name, value in (("rank_biserial", result.rank_biserial), ("cles", result.cles))
    ]


def rank_tests(
    data: pd.DataFrame,
    *,
    item: str,
    group: str | Sequence[str],
    reference: str | None = None,
) -> pd.DataFrame:
    """Rank tests of an ordinal item across groups, with effect sizes (via pingouin).

    Inputs: ``data``; ``item``; ``group`` (grouping column or columns); ``reference`` (compare each
    group with it; default: with exactly two groups, the first level).
    Output: :data:`RANK_TEST_COLUMNS`. With three or more groups answering, one Kruskal-Wallis
    row (``group`` "All", epsilon-squared). With a reference, for each other group two
    Mann-Whitney rows (two-sided; ``statistic`` is the group's U, R ``wilcox.test``'s W;
    effect sizes rank-biserial ``2U/(n1 n2) - 1`` and CLES ``U/(n1 n2)``, positive / above 0.5
    when the group answers higher than the reference). A group or reference without answers
    gives a row with a note.
    """
    answers = _answers(data, item)
    domains = make_domains(data, group)
    if reference is not None:
        require_reference(domains.labels, reference, group)
    answered = ~np.isnan(answers) & (domains.codes >= 0)
    labels = np.array(domains.labels, dtype=object)[domains.codes[answered]]
    values = answers[answered]
    samples = {
        label: values[labels == label] for label in domains.labels if (labels == label).any()
    }
    rows: list[dict[str, object]] = []
    if len(samples) >= 3:
        kw = pingouin_adapter.kruskal_wallis(values, labels)
        rows.append(
            _rank_row(
                methods.KRUSKAL_WALLIS,
                ALL_GROUP,
                "",
                kw.h,
                kw.dof,
                kw.p_value,
                kw.epsilon_squared,
                "epsilon_squared",
                kw.n,
            )
        )
    if reference is None and len(samples) == 2:
        reference = next(iter(samples))
    if reference is not None:
        for group in domains.labels:
            if group != reference:
                rows.extend(_mann_whitney_rows(samples, group, reference))
    if not rows:
        rows.append(
            _rank_row(
                "",
                ALL_GROUP,
                reference or "",
                np.nan,
                np.nan,
                np.nan,
                np.nan,
                "",
                len(values),
                "fewer than two groups answered: no test",
            )
        )
    return pd.DataFrame(rows, columns=list(RANK_TEST_COLUMNS))


def _cumulative_logit_derivatives(
    codes: np.ndarray, x: np.ndarray, beta: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Analytic gradient and Hessian of the cumulative-logit log-likelihood in ``(beta, cuts)``.

    Answer ``k`` (0-based of ``K``) has probability ``F(a) - F(b)`` with ``a = cut_k - x b``,
    ``b = cut_{k-1} - x b`` (``cut_{-1} = -inf``, ``cut_{K-1} = +inf``), ``F`` the logistic
    distribution (``F' = f``, ``f' = f (1 - 2F)``). With ``P = F(a) - F(b)``:
    ``l_a = f(a)/P``, ``l_b = -f(b)/P``, ``l_aa = f'(a)/P - l_a^2``, ``l_bb = -f'(b)/P - l_b^2``,
    ``l_ab = f(a) f(b) / P^2``, chained through ``da = (-x, e_k)`` and ``db = (-x, e_{k-1})``.
    """
    n_cuts = len(cuts)
    eta = x @ beta
    has_a, has_b = codes < n_cuts, codes > 0
    a = np.where(has_a, np.append(cuts, 0.0)[codes] - eta, 0.0)
    b = np.where(has_b, np.insert(cuts, 0, 0.0)[codes] - eta, 0.0)
    big_a, big_b = np.where(has_a, special.expit(a), 1.0), np.where(has_b, special.expit(b), 0.0)
    f_a, f_b = big_a * (1 - big_a), big_b * (1 - big_b)
    prob = big_a - big_b
    l_a, l_b = f_a / prob, -f_b / prob
    l_aa = f_a * (1 - 2 * big_a) / prob - l_a**2
    l_bb = -f_b * (1 - 2 * big_b) / prob - l_b**2
    l_ab = f_a * f_b / prob**2
    rows, p = np.arange(len(codes)), x.shape[1]
    jac_a = np.zeros((len(codes), p + n_cuts))
    jac_b = np.zeros_like(jac_a)
    jac_a[:, :p], jac_b[:, :p] = -x * has_a[:, None], -x * has_b[:, None]
    jac_a[rows[has_a], p + codes[has_a]] = 1.0
    jac_b[rows[has_b], p + codes[has_b] - 1] = 1.0
    gradient = jac_a.T @ l_a + jac_b.T @ l_b
    cross = (jac_a * l_ab[:, None]).T @ jac_b
    hessian = (
        (jac_a * l_aa[:, None]).T @ jac_a + (jac_b * l_bb[:, None]).T @ jac_b + cross + cross.T
    )
    return gradient, hessian


def _ordered_fit(y: np.ndarray, sample: ModelSample) -> Fit:
    """Proportional-odds (cumulative logit) fit of the kept respondents.

    statsmodels ``OrderedModel`` (no constant: the thresholds play its part) models
    ``P(Y <= k) = expit(cut_k - x b)``, as R ``MASS::polr``; ``exp(b)`` is the odds ratio of
    answering higher. Its BFGS fit is polished by Newton steps on the analytic derivatives
    (:func:`_cumulative_logit_derivatives`) until the largest step is below
    :data:`~toolkit.stats.models.NEWTON_TOL`, and standard errors come from the analytic
    Hessian: statsmodels' finite-difference Hessian is off by about 1e-6.
    """
    x = sample.design_matrix(intercept=False)
    if x.shape[1] == 0:
        return Fit(np.array([]), np.array([]), np.inf, True, np.array([], dtype=bool))
    codes = np.unique(y, return_inverse=True)[1]
    model = OrderedModel(codes, x, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", HessianInversionWarning)
        start = np.asarray(model.fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-4).params)
    p = x.shape[1]
    params = np.concatenate([start[:p], model.transform_threshold_params(start)[1:-1]])
    converged = False
    for _ in range(NEWTON_MAX_ITER):
        gradient, hessian = _cumulative_logit_derivatives(codes, x, params[:p], params[p:])
        step = np.linalg.lstsq(-hessian, gradient, rcond=None)[0]
        params = params + step
        if np.max(np.abs(step)) < NEWTON_TOL:
            converged = True
            break
    _, hessian = _cumulative_logit_derivatives(codes, x, params[:p], params[p:])
    covariance = np.linalg.pinv(-hessian)
    coef, se = params[:p], np.sqrt(np.clip(np.diag(covariance)[:p], 0, None))
    diverged = (np.abs(coef) > SEPARATED_LOG_ODDS) | ~(se < SEPARATED_SE) | (not converged)
    return Fit(coef, se, np.inf, converged, diverged)


def proportional_odds(
    data: pd.DataFrame,
    *,
    item: str,
    group: str,
    reference: str,
    covariates: Sequence[str] = (),
    references: Mapping[str, str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Proportional-odds model of an ordinal item on ``group`` (and covariates).

    Inputs: as :func:`toolkit.stats.models.logistic`, with the ordinal ``item`` (codes, NaN =
    not answered) as outcome; unweighted.
    Output: :data:`toolkit.stats.models.MODEL_COLUMNS`: odds ratios of a higher answer against
    the reference, Wald intervals on the normal distribution. A level whose every answer is at
    the bottom (or top) of the scale is separated: reported with a note and left out.
    """
    y = _answers(data, item)
    tables = []
    for model, factors in zip(
        ("unadjusted", "adjusted"),
        model_factors(data, group, reference, covariates, references),
        strict=True,
    ):
        if model == "adjusted" and len(factors) == 1:
            break
        rows = complete_cases(y, factors)
        units = respondent_units(y, factors, rows)
        answers = y[rows]
        tables.append(
            fit_table(
                model,
                units,
                factors,
                level,
                lambda sample, a=answers: _ordered_fit(a[sample.keep], sample),
            )
        )
    return pd.concat(tables, ignore_index=True)


def _scale_error(message: str, value: object, fix: str, column: str | None = None) -> PtwError:
    return PtwError(code="stats.bad_scale", message=message, column=column, value=value, fix=fix)


def scale_scores(
    data: pd.DataFrame,
    *,
    items: Sequence[str],
    reversed_items: Sequence[str] = (),
    min_answered: int,
    points: Sequence[float] = NHS_POINTS,
) -> pd.Series:
    """Per-respondent scale score, NHS Staff Survey style.

    Inputs: ``data``; ``items`` (answer codes ``1..K`` with ``K = len(points)``, code ``K`` the
    favourable end); ``reversed_items`` (negatively worded items: code ``c`` scores as
    ``K + 1 - c``); ``min_answered`` (fewest answered items for a score); ``points`` (score of
    codes ``1..K``, default 0, 2.5, 5, 7.5, 10).
    Output: Series aligned to ``data.index`` named "score": the mean of the answered items'
    points, NaN when fewer than ``min_answered`` were answered. A code outside ``1..K`` raises
    :class:`PtwError`.
    """
    unknown = [i for i in reversed_items if i not in items]
    if unknown:
        raise _scale_error(
            "a reversed item is not one of the scale's items",
            unknown[0],
            "list reversed items among the scale's items",
        )
    if not 1 <= min_answered <= len(items):
        raise _scale_error(
            "min_answered must be between 1 and the number of items",
            min_answered,
            f"choose 1..{len(items)}",
        )
    k = len(points)
    table = np.asarray(points, dtype=float)
    scored = np.empty((len(data), len(items)))
    for j, item in enumerate(items):
        codes = _answers(data, item)
        bad = ~np.isnan(codes) & ~np.isin(codes, np.arange(1, k + 1))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise PtwError(
                code="stats.bad_scale",
                message="an answer code is outside the scale",
                row=row + 1,
                column=item,
                value=codes[row],
                expected=f"codes 1..{k} or missing",
                fix="recode non-substantive answers (e.g. don't know) as missing",
            )
        index = np.where(np.isnan(codes), 0, codes).astype(int)
        if item in reversed_items:
            index = np.where(np.isnan(codes), 0, k + 1 - index)
        scored[:, j] = np.where(np.isnan(codes), np.nan, table[np.maximum(index - 1, 0)])
    answered = (~np.isnan(scored)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(answered[:, None] > 0, scored, 0.0), axis=1)
    return pd.Series(
        np.where(answered >= min_answered, mean, np.nan), index=data.index, name="score"
    )


def cronbach_alpha(
    data: pd.DataFrame, *, items: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Cronbach's alpha of a scale with Feldt's interval, listwise (via pingouin).

    Inputs: ``data``; ``items`` (numeric item columns, reversed items already reversed);
    ``level``.
    Output: one row of :data:`ALPHA_COLUMNS`; ``n`` is the number of complete respondents.
    Fewer than two items or two complete respondents give NaN and a note.
    """
    frame = pd.DataFrame({item: _answers(data, item) for item in items}, index=data.index)
    complete = int(frame.notna().all(axis=1).sum())
    if len(items) < 2 or complete < 2:
        row = {
            "alpha": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": complete,
            "n_items": len(items),
            "note": "needs at least two items and two complete answers",
        }
        return pd.DataFrame([row], columns=list(ALPHA_COLUMNS))
    result = pingouin_adapter.cronbach_alpha(frame, level=level)
    row = {
        "alpha": result.alpha,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "n": result.n,
        "n_items": result.n_items,
        "note": "",
    }
    return pd.DataFrame([row], columns=list(ALPHA_COLUMNS))
